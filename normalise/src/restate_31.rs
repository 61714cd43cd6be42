//! Rewrites an OpenAPI 3.0 document as the vendor's tooling would export it
//! in OpenAPI 3.1: the same API, said the 3.1 way, so that the tests and the
//! spec pipeline (`cargo xtask spec restate-openapi31`) can prove that the 3.1
//! path generates the same client. Not a vendor file, and not a general
//! converter: it knows the forms our spec uses.

use serde_json::{Value, json};

/// `spec` (3.0) as 3.1.0: `nullable` folded into `type`, schema `example`
/// as an `examples` list, a one-value string `enum` as `const`, and the
/// 3.1-only top-level fields a 3.1 export carries.
pub fn to_openapi_31(spec: &Value) -> Value {
    let mut out = spec.clone();
    walk(&mut out, false);
    out["openapi"] = json!("3.1.0");
    out["jsonSchemaDialect"] = json!("https://spec.openapis.org/oas/3.1/dialect/base");
    out["webhooks"] = json!({});
    out
}

fn walk(value: &mut Value, in_schema: bool) {
    match value {
        Value::Object(object) => {
            if in_schema {
                if object.remove("nullable") == Some(json!(true))
                    && let Some(t) = object.get("type").cloned()
                {
                    object.insert("type".into(), json!([t, "null"]));
                }
                if let Some(example) = object.remove("example") {
                    object.insert("examples".into(), json!([example]));
                }
                if let Some(Value::Array(values)) = object.get("enum")
                    && values.len() == 1
                {
                    let only = values[0].clone();
                    object.remove("enum");
                    object.insert("const".into(), only);
                }
            }
            for (key, inner) in object.iter_mut() {
                let child_is_schema = match key.as_str() {
                    "schema" | "items" | "additionalProperties" | "not" => true,
                    "properties" | "schemas" | "allOf" | "anyOf" | "oneOf" => {
                        // Their values (or list items) are schemas.
                        match inner {
                            Value::Object(o) => o.values_mut().for_each(|s| walk(s, true)),
                            Value::Array(a) => a.iter_mut().for_each(|s| walk(s, true)),
                            _ => {}
                        }
                        continue;
                    }
                    "example" | "examples" => continue,
                    _ => false,
                };
                walk(inner, child_is_schema);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| walk(v, false)),
        _ => {}
    }
}
