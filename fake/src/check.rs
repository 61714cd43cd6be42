//! What the spec asks of a request, checked for every operation alike
//! before any handler, from the operation table: required parameters, the
//! type and the allowed values of each, a path variable the vendor declares
//! in the query, and the JSON body against its schema. A request the spec
//! does not allow is answered 400 `{"message": ...}`, naming the parameter
//! or the body's JSON pointer, never a value it held. A request the spec
//! allows passes, whatever the stand-in would rather have.

use crate::message;
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use runalloy_embedded::{OPERATIONS, Operation, Param};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The spec's operation for `method` on `path`, if any.
pub(crate) fn operation(method: &Method, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.method == method.as_str() && op.matches_path(path))
}

/// The 400 for a request the spec does not allow, if it is one. A path no
/// operation fits is left to the router's 404.
pub(crate) fn refusal(method: &Method, uri: &Uri, body: &[u8]) -> Option<Response> {
    let op = operation(method, uri.path())?;
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let bad = |why: String| Some(message(StatusCode::BAD_REQUEST, &why));
    for param in op.params {
        let value: Option<String> = match param.location {
            "query" => query
                .iter()
                .find(|(name, _)| name == param.name)
                .map(|(_, v)| v.clone()),
            "path" => op
                .path_value(uri.path(), param.name)
                .map(|v| v.into_owned()),
            _ => continue,
        };
        match value {
            None if param.required => return bad(format!("{} is required", param.name)),
            None => {}
            Some(value) => {
                if let Some(why) = misfit(param, &value) {
                    return bad(format!("{} {why}", param.name));
                }
            }
        }
    }
    // The vendor's document declares it in the query too, as required.
    for name in op.also_in_query {
        if !query.iter().any(|(n, _)| n == name) {
            return bad(format!("{name} is required in the query"));
        }
    }
    let spec_body = op.body?;
    if body.is_empty() {
        return spec_body
            .required
            .then(|| message(StatusCode::BAD_REQUEST, "a JSON body is required"));
    }
    let Ok(sent) = serde_json::from_slice::<Value>(body) else {
        return bad("Request body must be JSON".to_owned());
    };
    let validator = validators().get(op.id)?;
    let first = validator.iter_errors(&sent).next()?;
    let at = first.instance_path().to_string();
    let at = if at.is_empty() { "/" } else { &at };
    // A field left out is named, as the API names it; nothing else the
    // body held is repeated.
    if let jsonschema::error::ValidationErrorKind::Required { property } = first.kind()
        && let Some(name) = property.as_str()
    {
        return bad(match at {
            "/" => format!("{name} is required"),
            at => format!("{name} is required at `{at}`"),
        });
    }
    bad(format!("the body does not fit the spec's schema at `{at}`"))
}

/// Why `value` is not what `param` allows, if it is not.
fn misfit(param: &Param, value: &str) -> Option<String> {
    let fits = match param.kind {
        // Any size unless a format bounds it.
        "integer" => match param.format {
            "int32" => value.parse::<i32>().is_ok(),
            "int64" => value.parse::<i64>().is_ok(),
            _ => {
                let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            }
        },
        "number" => value.parse::<f64>().is_ok_and(f64::is_finite),
        "boolean" => matches!(value, "true" | "false"),
        _ => true,
    };
    if !fits {
        return Some(match param.format {
            "" => format!("must be of type {}", param.kind),
            format => format!("must be of type {} ({format})", param.kind),
        });
    }
    if !param.values.is_empty() && !param.values.contains(&value) {
        return Some(format!("must be one of {}", param.values.join(", ")));
    }
    None
}

/// A validator for each operation's request body, made once.
fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static VALIDATORS: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        OPERATIONS
            .iter()
            .filter_map(|op| {
                let schema: Value = serde_json::from_str(op.body?.schema).ok()?;
                let validator = jsonschema::draft7::new(&as_json_schema(schema)).ok()?;
                Some((op.id, validator))
            })
            .collect()
    })
}

/// An OpenAPI 3.0 schema as JSON Schema: `nullable: true` is a `null` in
/// `type`. Its other annotations (`example`) JSON Schema ignores.
fn as_json_schema(schema: Value) -> Value {
    match schema {
        Value::Object(mut map) => {
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(kind)) = map.get("type").cloned()
            {
                map.insert("type".into(), serde_json::json!([kind, "null"]));
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, as_json_schema(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(as_json_schema).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_is_a_null_in_type() {
        let schema = serde_json::json!({"type": "object", "properties": {
            "a": {"type": "string", "nullable": true}, "b": {"type": "string"}}});
        let converted = as_json_schema(schema);
        assert_eq!(
            converted["properties"]["a"]["type"],
            serde_json::json!(["string", "null"])
        );
        assert_eq!(converted["properties"]["b"]["type"], "string");
    }
}
