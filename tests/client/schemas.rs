//! The JSON Schemas of every operation's request body and success response,
//! made by schemars from the generated types, checked against the assembled
//! spec; and a body that does not fit, refused naming the JSON pointer of
//! the field at fault.

use runalloy_embedded::{Error, OPERATIONS, OperationCall};
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn names(schema: &Value, key: &str) -> BTreeSet<String> {
    match &schema[key] {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn every_body_schema_has_the_specs_properties_and_required_fields() {
    let mut with_body = 0;
    for op in OPERATIONS {
        match (op.body, op.request_schema()) {
            (Some(body), Some(schema)) => {
                with_body += 1;
                let spec: Value = serde_json::from_str(body.schema).unwrap();
                assert_eq!(schema["type"], "object", "{}", op.id);
                assert!(schema["$schema"].is_string(), "{}", op.id);
                assert_eq!(
                    names(&schema, "properties"),
                    names(&spec, "properties"),
                    "{}: the generated type's fields against the spec's",
                    op.id
                );
                assert_eq!(
                    names(&schema, "required"),
                    names(&spec, "required"),
                    "{}",
                    op.id
                );
            }
            (None, None) => {}
            (body, schema) => panic!(
                "{}: spec body {:?}, generated schema {:?}",
                op.id,
                body.is_some(),
                schema.is_some()
            ),
        }
    }
    assert_eq!(with_body, 11, "the spec's operations with a body");
}

#[test]
fn every_operation_has_a_response_schema_that_is_json_schema() {
    assert_eq!(OPERATIONS.len(), 38);
    for op in OPERATIONS {
        let schema = op
            .response_schema()
            .unwrap_or_else(|| panic!("{}: no response schema", op.id));
        assert!(schema["$schema"].is_string(), "{}", op.id);
        assert!(schema["title"].is_string(), "{}", op.id);
    }
    let get_user = OPERATIONS.iter().find(|op| op.id == "get-a-user").unwrap();
    let schema = get_user.response_schema().unwrap();
    assert!(names(&schema, "properties").contains("userId"), "{schema}");
}

fn refusal(operation: &str, body: Value) -> String {
    match OperationCall::new(operation).and_then(|c| c.body(body)?.check()) {
        Err(Error::InvalidInput(why)) => why,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn a_body_that_does_not_fit_is_refused_naming_the_pointer_at_fault() {
    let prefix = "the request body does not match the operation's schema: ";
    let cases = [
        (
            "create-a-user",
            json!({"username": 7}),
            "/username: expected a string, got a number",
        ),
        (
            "create-a-user",
            json!({"fullName": "Jane"}),
            "/username: a required field is missing",
        ),
        (
            "batch-create-users",
            json!({"users": [{"username": "a"}, {"username": true}]}),
            "/users/1/username: expected a string, got a boolean",
        ),
        (
            "run-event",
            json!({"event": "e", "userId": "u", "data": []}),
            "/data: expected an object, got an array",
        ),
        (
            "create-a-user",
            json!("jane"),
            "/: expected an object, got a string",
        ),
    ];
    for (operation, body, says) in cases {
        assert_eq!(
            refusal(operation, body),
            format!("{operation}: {prefix}{says}"),
        );
    }
}
