//! template.yaml against the code: one source of truth for routes, every function's required
//! environment, and the table definition from infra/table.json.

use std::collections::BTreeSet;

use customer_api::openapi;
use customer_api::routes::{Operation, routes};
use customer_api::settings::required_env;
use customer_api::store::dynamo::TableDefinition;
use yaml_rust2::{Yaml, YamlLoader};

/// The function serving the OpenAPI document.
const DOCUMENT: &str = "api-document";

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

fn functions(template: &Yaml) -> Vec<(String, &Yaml)> {
    let resources = template["Resources"].as_hash().expect("Resources");
    resources
        .values()
        .filter(|resource| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|resource| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("a Binary");
            (binary.to_owned(), resource)
        })
        .collect()
}

/// A function's API Gateway routes.
fn http_events(function: &Yaml) -> Vec<Yaml> {
    let events = function["Properties"]["Events"]
        .as_hash()
        .cloned()
        .unwrap_or_default();
    events
        .values()
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .cloned()
        .collect()
}

fn binaries() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/Cargo.toml"))
        .expect("manifest");
    manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .filter(|name| *name != "functions")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_route_has_its_function_and_local_api_serves_the_same_table() {
    let template = template();
    let mut deployed = BTreeSet::new();
    for (binary, function) in functions(&template) {
        for event in http_events(function) {
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().expect("Method").to_owned();
            let path = properties["Path"].as_str().expect("Path").to_owned();
            assert!(
                deployed.insert((method, path, binary.clone())),
                "route declared twice"
            );
        }
    }
    let mut served: BTreeSet<(String, String, String)> = routes()
        .into_iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path,
                r.operation.function_name().to_owned(),
            )
        })
        .collect();
    served.insert(("GET".to_owned(), openapi::PATH.to_owned(), DOCUMENT.to_owned()));
    assert_eq!(
        deployed, served,
        "template.yaml routes differ from the route table local-api serves"
    );
}

#[test]
fn every_function_binary_is_deployed_and_every_deployed_function_exists() {
    let template = template();
    let deployed: BTreeSet<String> = functions(&template)
        .into_iter()
        .map(|(binary, _)| binary)
        .collect();
    assert_eq!(
        deployed,
        binaries(),
        "functions/Cargo.toml binaries vs template.yaml functions"
    );
    let mut expected: BTreeSet<String> = Operation::ALL
        .iter()
        .map(|op| op.function_name().to_owned())
        .collect();
    expected.insert("logo-resizer".to_owned());
    expected.insert(DOCUMENT.to_owned());
    assert_eq!(
        deployed, expected,
        "one function per operation, plus the resizer and the document"
    );
}

#[test]
fn every_required_variable_is_set_for_its_function() {
    let template = template();
    let globals: BTreeSet<String> = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_hash()
        .map(|vars| {
            vars.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for (binary, function) in functions(&template) {
        let own: BTreeSet<String> = function["Properties"]["Environment"]["Variables"]
            .as_hash()
            .map(|vars| {
                vars.keys()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if binary == DOCUMENT {
            continue;
        }
        let operation = Operation::ALL.into_iter().find(|op| op.function_name() == binary);
        for variable in required_env(operation) {
            assert!(
                own.contains(variable) || globals.contains(variable),
                "{binary} needs {variable}, which template.yaml does not set"
            );
        }
    }
}

#[test]
fn the_table_is_the_one_in_infra() {
    let template = template();
    let table = &template["Resources"]["Table"]["Properties"];
    let infra = TableDefinition::from_infra();
    let names = |list: &Yaml, key: &str| -> Vec<String> {
        list.as_vec()
            .expect("a list")
            .iter()
            .map(|item| item[key].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        names(&table["AttributeDefinitions"], "AttributeName"),
        infra
            .attribute_definitions
            .iter()
            .map(|a| a.attribute_name.clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        names(&table["KeySchema"], "AttributeName"),
        infra
            .key_schema
            .iter()
            .map(|k| k.attribute_name.clone())
            .collect::<Vec<_>>()
    );
    let indexes = table["GlobalSecondaryIndexes"].as_vec().expect("GSIs");
    assert_eq!(indexes.len(), infra.global_secondary_indexes.len());
    for (deployed, wanted) in indexes.iter().zip(&infra.global_secondary_indexes) {
        assert_eq!(deployed["IndexName"].as_str(), Some(wanted.index_name.as_str()));
        assert_eq!(
            names(&deployed["KeySchema"], "AttributeName"),
            wanted
                .key_schema
                .iter()
                .map(|k| k.attribute_name.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            deployed["Projection"]["ProjectionType"].as_str(),
            Some(wanted.projection.projection_type.as_str())
        );
        let included: Vec<String> = deployed["Projection"]["NonKeyAttributes"]
            .as_vec()
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(included, wanted.projection.non_key_attributes);
    }
    assert_eq!(table["BillingMode"].as_str(), Some(infra.billing_mode.as_str()));
    let ttl = &infra.time_to_live_specification;
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(ttl.attribute_name.as_str())
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(ttl.enabled)
    );
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

/// Only the document is public: every API route goes through the JWT authorizer, and the
/// document's function may call nothing.
#[test]
fn only_the_document_skips_the_authorizer_and_it_has_no_permissions() {
    let template = template();
    for (binary, function) in functions(&template) {
        for event in http_events(function) {
            let authorizer = event["Properties"]["Auth"]["Authorizer"].as_str();
            let public = binary == DOCUMENT;
            assert_eq!(
                authorizer == Some("NONE"),
                public,
                "{binary}: authorizer {authorizer:?}"
            );
        }
        if binary == DOCUMENT {
            let policies = function["Properties"]["Policies"].as_vec().expect("policies");
            assert!(policies.is_empty(), "{binary} has permissions: {policies:?}");
        }
    }
}

#[test]
fn read_only_functions_cannot_write_and_only_logo_functions_touch_s3() {
    let template = template();
    let writes = [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "s3:PutObject",
        "s3:DeleteObject",
    ];
    for (binary, function) in functions(&template) {
        let policies = function["Properties"]["Policies"]
            .as_vec()
            .expect("inline policies");
        let actions: Vec<String> = policies
            .iter()
            .flat_map(|p| p["Statement"].as_vec().cloned().unwrap_or_default())
            .flat_map(|s| s["Action"].as_vec().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let operation = Operation::ALL.into_iter().find(|op| op.function_name() == binary);
        if matches!(
            operation,
            Some(
                Operation::ListGroups
                    | Operation::ShowGroup
                    | Operation::ListCustomers
                    | Operation::ShowCustomer
            )
        ) {
            assert!(
                !actions.iter().any(|a| writes.contains(&a.as_str())),
                "{binary} can write: {actions:?}"
            );
        }
        let uses_s3 = actions.iter().any(|a| a.starts_with("s3:"));
        let may_use_s3 = binary == "logo-resizer"
            || matches!(
                operation,
                Some(
                    Operation::CreateCustomer
                        | Operation::UpdateCustomer
                        | Operation::UpsertCustomer
                        | Operation::DeleteCustomer
                )
            );
        assert!(!uses_s3 || may_use_s3, "{binary} touches S3: {actions:?}");
        assert!(
            !actions.iter().any(|a| a.ends_with(":*")),
            "{binary} has a wildcard action"
        );
    }
}

/// The DynamoDB operations a client sends, as IAM actions (`dynamodb:Query`, ...).
#[derive(Debug, Clone, Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<BTreeSet<String>>>);

impl Recorder {
    fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for Recorder {
    fn name(&self) -> &'static str {
        "record-dynamodb-operations"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<
            '_,
        >,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // DynamoDB's JSON protocol names the operation in `X-Amz-Target: DynamoDB_20120810.<Name>`.
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let mut actions = self.0.lock().expect("lock");
        match target.rsplit_once('.') {
            // IAM has no action for a transaction: it authorizes each item's own action.
            Some((_, "TransactWriteItems")) => {
                let body: serde_json::Value = context
                    .request()
                    .body()
                    .bytes()
                    .and_then(|bytes| serde_json::from_slice(bytes).ok())
                    .unwrap_or_default();
                for item in body["TransactItems"].as_array().into_iter().flatten() {
                    for kind in item.as_object().into_iter().flat_map(|o| o.keys()) {
                        let action = match kind.as_str() {
                            "ConditionCheck" => "ConditionCheckItem".to_owned(),
                            other => format!("{other}Item"),
                        };
                        actions.insert(format!("dynamodb:{action}"));
                    }
                }
            }
            Some((_, operation)) => {
                actions.insert(format!("dynamodb:{operation}"));
            }
            None => {}
        }
        Ok(())
    }
}

/// The actions `binary`'s policies allow.
fn allowed(template: &Yaml, binary: &str) -> BTreeSet<String> {
    functions(template)
        .into_iter()
        .filter(|(name, _)| name == binary)
        .flat_map(|(_, function)| {
            function["Properties"]["Policies"]
                .as_vec()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|p| p["Statement"].as_vec().cloned().unwrap_or_default())
        .flat_map(|s| s["Action"].as_vec().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

/// Every DynamoDB operation a function sends, for each kind of request it serves (list plans
/// included: pages fetched by key, narrow reads, cursors, relinks), is one its IAM policy allows.
/// The test server enforces no IAM, so without this a missing action fails only in AWS.
#[tokio::test]
async fn every_function_may_call_what_it_calls() {
    use api_tests::{Adapter, ENTITY1, TestApi, TestStore, fresh_table};
    use customer_api::store::DynamoStore;

    let template = template();
    let (client, table) = fresh_table().await;
    let recorder = Recorder::default();
    let config = client.config().to_builder().interceptor(recorder.clone()).build();
    let recording = aws_sdk_dynamodb::Client::from_conf(config);
    let store = TestStore {
        store: std::sync::Arc::new(DynamoStore::new(recording.clone(), table.clone(), 1)),
        dir: None,
        table: Some(table),
    };
    let api = TestApi::over(store, Adapter::Dynamo, false).await;
    const JSON: &str = "application/json";
    const FORM: &str = "application/x-www-form-urlencoded";
    let requests: &[(&str, &str, &str, &str)] = &[
        (
            "POST",
            "/api/v1.0/customerGroups",
            r#"{"reference": "G1", "name": "Alpha"}"#,
            JSON,
        ),
        (
            "POST",
            "/api/v1.0/customerGroups/reference/G2",
            r#"{"name": "Beta"}"#,
            JSON,
        ),
        (
            "PUT",
            "/api/v1.0/customerGroups/reference/G2",
            r#"{"reference": "G2", "name": "Beta 2"}"#,
            JSON,
        ),
        ("GET", "/api/v1.0/customerGroups/1", "", JSON),
        ("GET", "/api/v1.0/customerGroups?sort=name", "", JSON),
        (
            "GET",
            "/api/v1.0/customerGroups?sort=lastUpdated&offset=1",
            "",
            JSON,
        ),
        (
            "GET",
            "/api/v1.0/customerGroups?name=*a*&paging=cursor&max=1",
            "",
            JSON,
        ),
        (
            "POST",
            "/api/v1.0/customers",
            "reference=P&name=Parent&categoryId=G1",
            FORM,
        ),
        (
            "POST",
            "/api/v1.0/customers",
            "reference=C&name=Child&categoryId=G1&parentCustomer=P",
            FORM,
        ),
        (
            "POST",
            "/api/v1.0/customers/reference/U",
            "name=Upserted&categoryId=G2",
            FORM,
        ),
        (
            "PUT",
            "/api/v1.0/customers/reference/C",
            "categoryId=G2&parentCustomer=U&isActive=false",
            FORM,
        ),
        ("GET", "/api/v1.0/customers/reference/C", "", JSON),
        ("GET", "/api/v1.0/customers?sort=name&isActive=false", "", JSON),
        (
            "GET",
            "/api/v1.0/customers?categoryReference=G*&name=*a*",
            "",
            JSON,
        ),
        (
            "GET",
            "/api/v1.0/customers?isActive=true&paging=cursor&max=1",
            "",
            JSON,
        ),
        ("GET", "/api/v1.0/customers?name=*e*&sort=lastUpdated", "", JSON),
        ("DELETE", "/api/v1.0/customers/reference/C", "", JSON),
        ("DELETE", "/api/v1.0/customerGroups/reference/G1", "", JSON),
        ("POST", "/api/v1.0/customers", "reference=K&name=Keyed", FORM),
        (
            "POST",
            "/api/v1.0/customers/reference/K",
            "name=Keyed again",
            FORM,
        ),
        (
            "POST",
            "/api/v1.0/customerGroups",
            r#"{"reference": "G3", "name": "Keyed"}"#,
            JSON,
        ),
        ("DELETE", "/api/v1.0/customerGroups/reference/G3", "", JSON),
    ];
    for (at, (method, path, body, content_type)) in requests.iter().enumerate() {
        recorder.take();
        // The last requests also carry an Idempotency-Key (its items are kept in the table).
        let key = format!("key-{at}");
        let headers: &[(&str, &str)] = match *method == "POST" && at >= requests.len() - 4 {
            true => &[("idempotency-key", key.as_str())],
            false => &[],
        };
        let reply = api
            .call_with(
                method,
                path,
                Some(ENTITY1),
                body.as_bytes(),
                content_type,
                headers,
            )
            .await;
        let expected = if *method == "DELETE" && path.contains("customerGroups") {
            400
        } else {
            0
        };
        assert!(
            reply.status < 300 || reply.status == expected,
            "{method} {path}: {} {:?}",
            reply.status,
            reply.body
        );
        let (route, _) =
            customer_api::routes::find(method, path.split('?').next().unwrap_or(path)).expect("a route");
        let binary = route.operation.function_name();
        let called = recorder.take();
        let allowed = allowed(&template, binary);
        let refused: Vec<&String> = called.difference(&allowed).collect();
        assert!(
            refused.is_empty(),
            "{binary} sends {refused:?} ({method} {path}), which template.yaml does not allow"
        );
    }

    // Every API function opens its DynamoDB connection during init.
    recorder.take();
    customer_api::aws::warm_up(Some(&recording), None).await;
    let warm_up = recorder.take();
    assert!(!warm_up.is_empty(), "the warm-up calls DynamoDB");
    for operation in customer_api::Operation::ALL {
        let binary = operation.function_name();
        let allowed = allowed(&template, binary);
        let refused: Vec<&String> = warm_up.difference(&allowed).collect();
        assert!(
            refused.is_empty(),
            "{binary}'s init sends {refused:?}, which template.yaml does not allow"
        );
    }
}
