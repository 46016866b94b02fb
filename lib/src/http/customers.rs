//! Customer operations: form or multipart request in, domain call, documented response out.

use lambda_http::{Body, Request, Response};

use super::{
    App, DELETED, ListBody, body, content_type, json_response, path, precondition, query, reference_target,
    tagged, target,
};
use crate::customers::{CustomerInput, Customers, LIST_SPEC};
use crate::error::ApiError;
use crate::form::FormData;
use crate::list::ListQuery;
use crate::model::Organization;

async fn customers<'a>(app: &'a App, org: &'a Organization) -> Result<Customers<'a>, ApiError> {
    Ok(Customers::new(
        app.store(),
        app.logos(),
        app.references(org).await?,
        org,
    ))
}

async fn input(request: &Request) -> Result<CustomerInput, ApiError> {
    let form = FormData::parse(content_type(request), body(request), CustomerInput::knows).await?;
    CustomerInput::from_form(&form)
}

pub(super) async fn list(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let sealer = app.sealer(org, "customers");
    let list_query = ListQuery::parse_paged(&LIST_SPEC, query(request), &sealer)?;
    let (paging, data) = customers(app, org)
        .await?
        .list(list_query, &path(request), &sealer)
        .await?;
    Ok(json_response(200, &ListBody { paging, data }))
}

pub(super) async fn show(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let customer = customers(app, org).await?.show(&target(request)?).await?;
    Ok(tagged(200, &customer, customer.record().version))
}

pub(super) async fn create(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let input = input(request).await?;
    let customer = customers(app, org).await?.create(input).await?;
    Ok(tagged(201, &customer, customer.record().version))
}

pub(super) async fn update(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(request)?;
    let precondition = precondition(request)?;
    let input = input(request).await?;
    let customer = customers(app, org)
        .await?
        .update(&target, input, precondition.as_ref())
        .await?;
    Ok(tagged(200, &customer, customer.record().version))
}

pub(super) async fn upsert(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let reference = reference_target(request)?;
    let precondition = precondition(request)?;
    let input = input(request).await?;
    let (customer, created) = customers(app, org)
        .await?
        .upsert(&reference, input, precondition.as_ref())
        .await?;
    let status = if created { 201 } else { 200 };
    Ok(tagged(status, &customer, customer.record().version))
}

pub(super) async fn delete(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(request)?;
    let precondition = precondition(request)?;
    customers(app, org)
        .await?
        .delete(&target, precondition.as_ref())
        .await?;
    Ok(json_response(200, &DELETED))
}
