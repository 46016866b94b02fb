//! Group operations: HTTP request in, domain call, documented response out.

use lambda_http::{Body, Request, Response};

use super::{
    App, DELETED, ListBody, body, json_response, path, precondition, query, reference_target, tagged, target,
};
use crate::error::ApiError;
use crate::groups::{GroupInput, Groups, LIST_SPEC};
use crate::list::ListQuery;
use crate::model::Organization;

pub(super) async fn list(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let sealer = app.sealer(org, "customerGroups");
    let list_query = ListQuery::parse_paged(&LIST_SPEC, query(request), &sealer)?;
    let (paging, data) = Groups::new(app.groups(), org)
        .list(&list_query, &path(request), &sealer)
        .await?;
    Ok(json_response(200, &ListBody { paging, data }))
}

pub(super) async fn show(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let group = Groups::new(app.groups(), org).show(&target(request)?).await?;
    Ok(tagged(200, &group, group.record().version))
}

pub(super) async fn create(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let input = GroupInput::from_json(body(request))?;
    let group = Groups::new(app.groups(), org).create(input).await?;
    Ok(tagged(201, &group, group.record().version))
}

pub(super) async fn update(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(request)?;
    let precondition = precondition(request)?;
    let input = GroupInput::from_json(body(request))?;
    let group = Groups::new(app.groups(), org)
        .update(&target, input, precondition.as_ref())
        .await?;
    Ok(tagged(200, &group, group.record().version))
}

pub(super) async fn upsert(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let reference = reference_target(request)?;
    let precondition = precondition(request)?;
    let input = GroupInput::from_json(body(request))?;
    let (group, created) = Groups::new(app.groups(), org)
        .upsert(&reference, input, precondition.as_ref())
        .await?;
    Ok(tagged(
        if created { 201 } else { 200 },
        &group,
        group.record().version,
    ))
}

pub(super) async fn delete(
    app: &App,
    org: &Organization,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(request)?;
    let precondition = precondition(request)?;
    Groups::new(app.groups(), org)
        .delete(&target, precondition.as_ref())
        .await?;
    Ok(json_response(200, &DELETED))
}
