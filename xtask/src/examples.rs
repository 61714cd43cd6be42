//! Every example in an assembled spec must agree with its schema.
//!
//! A tool that serves examples (Stoplight Prism in mock mode, a docs
//! renderer) hands them out as the API's answers, and our own client must
//! decode them; an example that contradicts its schema (JSON text inside a
//! string where the schema says object, say) fails both. This check finds
//! each example (a media type's or a parameter's `example` and
//! `examples.*.value`, and a schema's own `example`) and validates it with
//! the `jsonschema` crate against its schema, `$ref`s resolved. OpenAPI
//! 3.0's schema dialect is read as JSON Schema: `nullable: true` becomes a
//! `null` in `type`, and the annotations JSON Schema does not know are left
//! for the validator to ignore.

use runalloy_embedded_normalise::{METHODS, inline_refs, pointer_segment as escape};
use serde_json::{Map, Value, json};

/// One example that does not match its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// `operation \`id\` (METHOD /path)`, or `components` for a shared one.
    pub place: String,
    /// The JSON pointer of the example in the document.
    pub pointer: String,
    /// What the validator said.
    pub why: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the example at `{}` does not match its schema: {}",
            self.place, self.pointer, self.why
        )
    }
}

/// Every example of `spec` (an assembled OpenAPI 3.0 document, as JSON)
/// that its schema refuses.
pub fn check(spec: &Value) -> Vec<Mismatch> {
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let mut found = Vec::new();
    let paths = spec.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"].as_str().unwrap_or("?");
            let place = format!("operation `{id}` ({} {path})", method.to_uppercase());
            let at = format!("/paths/{}/{method}", escape(path));
            let check_here = |holder: &Value, pointer: String| -> Vec<Mismatch> {
                examples_of(holder, &pointer)
                    .into_iter()
                    .filter_map(|(example, example_at)| {
                        let why = refusal(&holder["schema"], example, &components)?;
                        Some(Mismatch {
                            place: place.clone(),
                            pointer: example_at,
                            why,
                        })
                    })
                    .collect()
            };
            for (i, param) in op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                found.extend(check_here(param, format!("{at}/parameters/{i}")));
            }
            let media = |base: &Value, base_at: String| -> Vec<(Value, String)> {
                base.get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(m, v)| (v.clone(), format!("{base_at}/content/{}", escape(m))))
                    .collect()
            };
            let mut holders = media(&op["requestBody"], format!("{at}/requestBody"));
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                holders.extend(media(
                    response,
                    format!("{at}/responses/{}", escape(status)),
                ));
            }
            for (holder, holder_at) in holders {
                found.extend(check_here(&holder, holder_at.clone()));
                schema_examples(
                    &holder["schema"],
                    &format!("{holder_at}/schema"),
                    &components,
                    &mut |why, pointer| {
                        found.push(Mismatch {
                            place: place.clone(),
                            pointer,
                            why,
                        })
                    },
                );
            }
        }
    }
    found
}

/// The `example` and each `examples.*.value` of a parameter or media type,
/// with their pointers.
fn examples_of<'a>(holder: &'a Value, at: &str) -> Vec<(&'a Value, String)> {
    let mut out = Vec::new();
    if let Some(example) = holder.get("example") {
        out.push((example, format!("{at}/example")));
    }
    for (name, example) in holder
        .get("examples")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(value) = example.get("value") {
            out.push((value, format!("{at}/examples/{}/value", escape(name))));
        }
    }
    out
}

/// Checks the `example` a schema gives itself, and those of the schemas
/// inside it.
fn schema_examples(
    schema: &Value,
    at: &str,
    components: &Value,
    report: &mut dyn FnMut(String, String),
) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(example) = object.get("example")
        && let Some(why) = refusal(schema, example, components)
    {
        report(why, format!("{at}/example"));
    }
    if let Some(props) = object.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            schema_examples(
                prop,
                &format!("{at}/properties/{}", escape(name)),
                components,
                report,
            );
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get(key) {
            schema_examples(inner, &format!("{at}/{key}"), components, report);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        for (i, inner) in object
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            schema_examples(inner, &format!("{at}/{key}/{i}"), components, report);
        }
    }
}

/// Why `schema` refuses `instance`, if it does.
fn refusal(schema: &Value, instance: &Value, components: &Value) -> Option<String> {
    if schema.is_null() {
        return None;
    }
    let schema = as_json_schema(&inline_refs(schema, components, 0));
    let validator = match jsonschema::draft7::new(&schema) {
        Ok(v) => v,
        Err(e) => return Some(format!("its schema is not valid JSON Schema: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("{e} (at `{at}`)")
            }
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// An OpenAPI 3.0 schema as JSON Schema: `nullable: true` allows `null`;
/// `example` and `x-` keys, which JSON Schema ignores anyway, are dropped.
fn as_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut out: Map<String, Value> = object
                .iter()
                .filter(|(k, _)| {
                    k.as_str() != "example" && !k.starts_with("x-") && k.as_str() != "nullable"
                })
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        // Maps of names to schemas, or example data: only
                        // their values are schemas.
                        "properties" => Value::Object(
                            v.as_object()
                                .into_iter()
                                .flatten()
                                .map(|(n, s)| (n.clone(), as_json_schema(s)))
                                .collect(),
                        ),
                        "enum" | "default" | "required" => v.clone(),
                        _ => as_json_schema(v),
                    };
                    (k.clone(), v)
                })
                .collect();
            if object.get("nullable") == Some(&json!(true))
                && let Some(t) = out.get("type").cloned()
            {
                out.insert("type".into(), json!([t, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(list) => Value::Array(list.iter().map(as_json_schema).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use serde_json::json;

    fn spec_with(media: serde_json::Value) -> serde_json::Value {
        json!({"openapi": "3.0.1", "paths": {"/x": {"put": {
            "operationId": "put-x",
            "responses": {"200": {"content": {"application/json": media}}}
        }}}})
    }

    #[test]
    fn json_written_as_a_string_is_refused_where_the_schema_says_object() {
        let found = check(&spec_with(json!({
            "schema": {"type": "object", "properties": {"activated": {"type": "boolean"}}},
            "examples": {"Result": {"value": "{\"activated\": false}"}}
        })));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "operation `put-x` (PUT /x): the example at \
             `/paths/~1x/put/responses/200/content/application~1json/examples/Result/value` \
             does not match its schema: \"{\\\"activated\\\": false}\" is not of type \"object\""
        );
    }

    #[test]
    fn matching_examples_nullable_values_and_schema_examples_pass_or_are_named() {
        let ok = check(&spec_with(json!({
            "schema": {"type": "object", "properties": {
                "n": {"type": "integer", "nullable": true, "example": 3}}},
            "example": {"n": null}
        })));
        assert!(ok.is_empty(), "{ok:?}");
        let wrong = check(&spec_with(json!({
            "schema": {"type": "object", "properties": {"n": {"type": "integer", "example": "three"}}}
        })));
        assert_eq!(wrong.len(), 1);
        assert_eq!(
            wrong[0].pointer,
            "/paths/~1x/put/responses/200/content/application~1json/schema/properties/n/example"
        );
    }
}
