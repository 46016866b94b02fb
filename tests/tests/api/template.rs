//! template.yaml against the code: one source of truth for routes, every function's required
//! environment, and the table definition from infra/table.json.

use std::collections::BTreeSet;

use customer_api::routes::{Operation, routes};
use customer_api::settings::required_env;
use customer_api::store::dynamo::TableDefinition;
use yaml_rust2::{Yaml, YamlLoader};

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
        let events = function["Properties"]["Events"]
            .as_hash()
            .cloned()
            .unwrap_or_default();
        for event in events.values().filter(|e| e["Type"].as_str() == Some("HttpApi")) {
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().expect("Method").to_owned();
            let path = properties["Path"].as_str().expect("Path").to_owned();
            assert!(
                deployed.insert((method, path, binary.clone())),
                "route declared twice"
            );
        }
    }
    let served: BTreeSet<(String, String, String)> = routes()
        .into_iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path,
                r.operation.function_name().to_owned(),
            )
        })
        .collect();
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
    assert_eq!(deployed, expected, "one function per operation, plus the resizer");
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
