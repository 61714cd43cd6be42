//! Sample arguments for any operation of the spec, made from the operation
//! table alone, and what the server must receive for them.

use crate::{Recorded, TEST_KEY};
use runalloy_embedded::{API_VERSION, Operation, OperationCall, USER_AGENT};
use serde_json::{Value, json};

/// A parameter value that needs percent-encoding in a path (`@`) and that
/// names its parameter, so that a swapped pair of parameters shows.
pub fn sample_value(op: &Operation, name: &str) -> String {
    let Some(p) = op.params.iter().find(|p| p.name == name) else {
        return String::new();
    };
    if let Some(first) = p.values.first() {
        return (*first).to_owned();
    }
    match p.kind {
        "integer" => "7".to_owned(),
        "number" => "2.5".to_owned(),
        "boolean" => "true".to_owned(),
        _ if p.location == "path" => format!("{}@1", p.name),
        _ => format!("{} value", p.name),
    }
}

/// Every parameter of `op`, required and optional, with its sample value.
pub fn sample_params(op: &Operation) -> Vec<(String, String)> {
    op.params
        .iter()
        .map(|p| (p.name.to_owned(), sample_value(op, p.name)))
        .collect()
}

/// A body with every property the schema names, recursively.
pub fn sample_body(op: &Operation) -> Option<Value> {
    let schema: Value = serde_json::from_str(op.body?.schema).unwrap();
    Some(sample(&schema, "v"))
}

fn sample(schema: &Value, name: &str) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => match schema.get("properties").and_then(Value::as_object) {
            Some(props) => props
                .iter()
                .map(|(k, v)| (k.clone(), sample(v, k)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            None => json!({ "free": ["form", 1] }),
        },
        Some("array") => json!([sample(&schema["items"], name)]),
        Some("integer") => json!(3),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("string") => json!(format!("{name}-sample")),
        _ => json!({ "any": name }),
    }
}

/// The call of `op` with every sample parameter and body.
pub fn sample_call(op: &Operation) -> OperationCall {
    let mut call = OperationCall::new(op.id).unwrap();
    for (name, value) in sample_params(op) {
        call = call.param(&name, value).unwrap();
    }
    if let Some(body) = sample_body(op) {
        call = call.body(body).unwrap();
    }
    call
}

/// The path the server must see for the sample parameters: each value in
/// its template slot, with `@` percent-encoded.
pub fn expected_path(op: &Operation) -> String {
    let mut path = op.path.to_owned();
    for p in op.params.iter().filter(|p| p.location == "path") {
        let value = sample_value(op, p.name).replace('@', "%40");
        path = path.replace(&format!("{{{}}}", p.name), &value);
    }
    path
}

/// The query pairs the server must see, sorted: the query parameters, and
/// the path parameters the vendor's document also declares in the query,
/// each with its path value.
pub fn expected_query(op: &Operation) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = op
        .params
        .iter()
        .filter(|p| p.location == "query" || op.also_in_query.contains(&p.name))
        .map(|p| (p.name.to_owned(), sample_value(op, p.name)))
        .collect();
    pairs.sort();
    pairs
}

/// The query pairs of a request target, decoded and sorted.
pub fn query_of(target: &str) -> Vec<(String, String)> {
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    pairs.sort();
    pairs
}

/// The body the stand-in or test server answers `op` with: its example.
pub fn example(op: &Operation) -> String {
    op.example.unwrap_or("{}").to_owned()
}

/// Asserts that `r` is exactly the sample call of `op`.
pub fn assert_received(op: &Operation, r: &Recorded) {
    let id = op.id;
    assert_eq!(r.method, op.method, "{id}");
    assert_eq!(
        r.target.split('?').next(),
        Some(expected_path(op).as_str()),
        "{id}"
    );
    assert_eq!(query_of(&r.target), expected_query(op), "{id}");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str()),
        "{id}"
    );
    assert_eq!(r.header("x-api-version"), Some(API_VERSION), "{id}");
    assert_eq!(r.header("user-agent"), Some(USER_AGENT), "{id}");
    assert_eq!(r.header("accept"), Some("application/json"), "{id}");
    let mut expected_headers = vec![
        "accept",
        "authorization",
        "host",
        "user-agent",
        "x-api-version",
    ];
    match sample_body(op) {
        Some(body) => {
            expected_headers.extend(["content-length", "content-type"]);
            expected_headers.sort();
            assert_eq!(r.header("content-type"), Some("application/json"), "{id}");
            let sent: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(sent, body, "{id}: the body on the wire");
        }
        None => assert!(r.body.is_empty(), "{id}: a body was sent"),
    }
    assert_eq!(r.header_names(), expected_headers, "{id}");
}
