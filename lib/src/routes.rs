//! The route table: every route of the API and the operation (one Lambda each) that serves it.
//! `local-api` routes with it and `template.yaml` is checked against it.

use std::collections::HashMap;

/// Base path of every route.
pub const BASE_PATH: &str = "/api/v1.0";

/// One API operation; each is its own Lambda function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `GET /customerGroups`
    ListGroups,
    /// `GET /customerGroups/{id}`, by reference too.
    ShowGroup,
    /// `POST /customerGroups`
    CreateGroup,
    /// `PUT /customerGroups/{id}`, by reference too.
    UpdateGroup,
    /// `POST /customerGroups/reference/{reference}`
    UpsertGroup,
    /// `DELETE /customerGroups/{id}`, by reference too.
    DeleteGroup,
    /// `GET /customers`
    ListCustomers,
    /// `GET /customers/{id}`, by reference too.
    ShowCustomer,
    /// `POST /customers`
    CreateCustomer,
    /// `POST|PUT /customers/{id}`, `PUT /customers/reference/{reference}`
    UpdateCustomer,
    /// `POST /customers/reference/{reference}`
    UpsertCustomer,
    /// `DELETE /customers/{id}`, by reference too.
    DeleteCustomer,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 12] = [
        Operation::ListGroups,
        Operation::ShowGroup,
        Operation::CreateGroup,
        Operation::UpdateGroup,
        Operation::UpsertGroup,
        Operation::DeleteGroup,
        Operation::ListCustomers,
        Operation::ShowCustomer,
        Operation::CreateCustomer,
        Operation::UpdateCustomer,
        Operation::UpsertCustomer,
        Operation::DeleteCustomer,
    ];

    /// Whether the operation shows or stores customer logos.
    pub fn uses_logos(self) -> bool {
        matches!(
            self,
            Operation::ListCustomers
                | Operation::ShowCustomer
                | Operation::CreateCustomer
                | Operation::UpdateCustomer
                | Operation::UpsertCustomer
                | Operation::DeleteCustomer
        )
    }

    /// Whether a request of the operation with `method` may carry an `Idempotency-Key`: the POST
    /// routes that write (create, upsert, partial update by POST).
    pub fn takes_idempotency_key(self, method: &str) -> bool {
        method == "POST"
            && matches!(
                self,
                Operation::CreateGroup
                    | Operation::UpsertGroup
                    | Operation::CreateCustomer
                    | Operation::UpdateCustomer
                    | Operation::UpsertCustomer
            )
    }

    /// The name of the function binary (and SAM function) serving the operation.
    pub fn function_name(self) -> &'static str {
        match self {
            Operation::ListGroups => "group-list",
            Operation::ShowGroup => "group-show",
            Operation::CreateGroup => "group-create",
            Operation::UpdateGroup => "group-update",
            Operation::UpsertGroup => "group-upsert",
            Operation::DeleteGroup => "group-delete",
            Operation::ListCustomers => "customer-list",
            Operation::ShowCustomer => "customer-show",
            Operation::CreateCustomer => "customer-create",
            Operation::UpdateCustomer => "customer-update",
            Operation::UpsertCustomer => "customer-upsert",
            Operation::DeleteCustomer => "customer-delete",
        }
    }
}

/// One route: method, path template (`{name}` = one path segment) and operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Full path template, e.g. `/api/v1.0/customerGroups/{id}`.
    pub path: String,
    /// The operation serving it.
    pub operation: Operation,
}

/// Path prefixes serving customer groups: `customerCategories` is the same resource.
const GROUP_COLLECTIONS: [&str; 2] = ["customerGroups", "customerCategories"];

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    let mut routes = Vec::new();
    let mut add = |collection: &str, method, suffix: &str, operation| {
        routes.push(Route {
            method,
            path: format!("{BASE_PATH}/{collection}{suffix}"),
            operation,
        })
    };
    for groups in GROUP_COLLECTIONS {
        add(groups, "GET", "", Operation::ListGroups);
        add(groups, "POST", "", Operation::CreateGroup);
        add(groups, "GET", "/{id}", Operation::ShowGroup);
        add(groups, "GET", "/reference/{reference}", Operation::ShowGroup);
        add(groups, "PUT", "/{id}", Operation::UpdateGroup);
        add(groups, "PUT", "/reference/{reference}", Operation::UpdateGroup);
        add(groups, "POST", "/reference/{reference}", Operation::UpsertGroup);
        add(groups, "DELETE", "/{id}", Operation::DeleteGroup);
        add(groups, "DELETE", "/reference/{reference}", Operation::DeleteGroup);
    }
    let customers = "customers";
    add(customers, "GET", "", Operation::ListCustomers);
    add(customers, "POST", "", Operation::CreateCustomer);
    add(customers, "GET", "/{id}", Operation::ShowCustomer);
    add(
        customers,
        "GET",
        "/reference/{reference}",
        Operation::ShowCustomer,
    );
    add(customers, "POST", "/{id}", Operation::UpdateCustomer);
    add(customers, "PUT", "/{id}", Operation::UpdateCustomer);
    add(
        customers,
        "PUT",
        "/reference/{reference}",
        Operation::UpdateCustomer,
    );
    add(
        customers,
        "POST",
        "/reference/{reference}",
        Operation::UpsertCustomer,
    );
    add(customers, "DELETE", "/{id}", Operation::DeleteCustomer);
    add(
        customers,
        "DELETE",
        "/reference/{reference}",
        Operation::DeleteCustomer,
    );
    routes
}

impl Route {
    /// The path parameters if `path` (already split from its query) matches this template.
    /// Segments are percent-decoded, as API Gateway does for path parameters.
    pub fn matches(&self, path: &str) -> Option<HashMap<String, String>> {
        let mut params = HashMap::new();
        let mut segments = path.split('/');
        for template in self.path.split('/') {
            let segment = segments.next()?;
            match template.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !segment.is_empty() => {
                    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                    params.insert(name.to_owned(), decoded.into_owned());
                }
                Some(_) => return None,
                None if template == segment => {}
                None => return None,
            }
        }
        segments.next().is_none().then_some(params)
    }
}

/// The route table, built once per process (`local-api` matches every request against it).
fn table() -> &'static [Route] {
    static TABLE: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    TABLE.get_or_init(routes)
}

/// The route serving `method` and `path`, with its path parameters.
pub fn find(method: &str, path: &str) -> Option<(Route, HashMap<String, String>)> {
    table()
        .iter()
        .filter(|route| route.method == method)
        .find_map(|route| route.matches(path).map(|params| (route.clone(), params)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_route_and_routes_are_unique() {
        let routes = routes();
        for operation in Operation::ALL {
            assert!(routes.iter().any(|r| r.operation == operation), "{operation:?}");
        }
        for (i, a) in routes.iter().enumerate() {
            for b in &routes[i + 1..] {
                assert!(a.method != b.method || a.path != b.path, "duplicate {a:?}");
            }
        }
    }

    #[test]
    fn matching_extracts_decoded_parameters() {
        let (route, params) =
            find("GET", "/api/v1.0/customerCategories/reference/Ref%2001+x").expect("route");
        assert_eq!(route.operation, Operation::ShowGroup);
        assert_eq!(params["reference"], "Ref 01+x");
        let (route, params) = find("DELETE", "/api/v1.0/customerGroups/12").expect("route");
        assert_eq!(
            (route.operation, params["id"].as_str()),
            (Operation::DeleteGroup, "12")
        );
        assert!(find("PATCH", "/api/v1.0/customerGroups/12").is_none());
        assert!(find("GET", "/api/v1.0/customerGroups/12/extra").is_none());
        assert!(find("GET", "/api/v1.0/customerGroups/").is_none());
    }
}
