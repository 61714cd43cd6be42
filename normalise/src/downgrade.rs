//! Brings an OpenAPI 3.1 document down to 3.0, which progenitor 0.15 reads
//! (progenitor issues #762 and #1268).
//!
//! Each rule is a rewrite that 3.0 can say the same way, recorded in the
//! rewrites list with the JSON pointer it applied at:
//!
//! - `type: [T, "null"]` becomes `type: T` with `nullable: true`;
//! - a schema's `examples` array becomes `example` (its first value);
//! - `const: x` becomes `enum: [x]`;
//! - a numeric `exclusiveMinimum`/`exclusiveMaximum` becomes `minimum`/`maximum`
//!   with the boolean 3.0 form;
//! - a `$ref` with annotations beside it (`description`, `summary`, `title`,
//!   `example`, `deprecated`, `readOnly`, `writeOnly`) keeps the reference and
//!   drops the annotations, which 3.0 ignores there; any other keyword beside a
//!   `$ref` is kept by wrapping the reference in `allOf`;
//! - `$comment`, `$id`, `$schema` and `$anchor` are dropped;
//! - 3.1-only top-level fields are dropped: `webhooks` (a client sends
//!   none), `jsonSchemaDialect` when it names OpenAPI 3.1's own dialect,
//!   `info.summary`, `info.license.identifier`, `components.pathItems`.
//!
//! What 3.0 cannot say is an error naming its JSON pointer, never a guess or a
//! silent drop: JSON Schema 2020-12 tuples (`prefixItems`, and `items` given
//! as a list), another `jsonSchemaDialect`, a schema of several non-null
//! types, and the keywords 3.0 has no form for (`if`/`then`/`else`,
//! `dependentSchemas`, `unevaluatedProperties`, `$dynamicRef`, `$defs`, ...).

use crate::pointer_segment as escape;
use serde_json::{Map, Value, json};

/// OpenAPI 3.1's default schema dialect: a document that names it says
/// nothing a 3.0 reader needs.
pub const OAS_31_DIALECT: &str = "https://spec.openapis.org/oas/3.1/dialect/base";

/// The version a downgraded document declares.
pub const DOWNGRADED_TO: &str = "3.0.3";

/// Keywords of JSON Schema 2020-12 that OpenAPI 3.0 has no form for.
const UNSUPPORTED: [&str; 16] = [
    "prefixItems",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "patternProperties",
    "propertyNames",
    "$dynamicRef",
    "$dynamicAnchor",
    "$defs",
];

/// Annotations 3.0 ignores beside a `$ref`.
const REF_ANNOTATIONS: [&str; 7] = [
    "description",
    "summary",
    "title",
    "example",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords whose value is one subschema.
const SUBSCHEMA: [&str; 3] = ["items", "additionalProperties", "not"];

/// Keywords whose value is a list of subschemas.
const SUBSCHEMA_LISTS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// Rewrites `spec`, an OpenAPI 3.1.x document, as 3.0.3. `Err` holds the
/// JSON pointer of what cannot be brought down, and why.
pub fn downgrade(spec: &mut Value, rewrites: &mut Vec<String>) -> Result<(), String> {
    let Some(root) = spec.as_object_mut() else {
        return Err("the document is not an object".to_owned());
    };
    if let Some(dialect) = root.remove("jsonSchemaDialect") {
        if dialect != json!(OAS_31_DIALECT) {
            return Err(format!(
                "`/jsonSchemaDialect` is {dialect}: schemas of another dialect cannot be \
                 brought down to OpenAPI 3.0"
            ));
        }
        rewrites.push(
            "dropped `/jsonSchemaDialect`, OpenAPI 3.1's own dialect (OpenAPI 3.1 to 3.0)"
                .to_owned(),
        );
    }
    if let Some(webhooks) = root.remove("webhooks") {
        let count = webhooks.as_object().map_or(0, Map::len);
        rewrites.push(format!(
            "dropped `/webhooks` ({count} declared): OpenAPI 3.0 has none, and a client \
             sends no webhook (OpenAPI 3.1 to 3.0)"
        ));
    }
    for (pointer, parent, key) in [
        ("/info/summary", "/info", "summary"),
        ("/info/license/identifier", "/info/license", "identifier"),
        ("/components/pathItems", "/components", "pathItems"),
    ] {
        let removed = spec
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .and_then(|o| o.remove(key));
        if removed.is_some() {
            rewrites.push(format!(
                "dropped `{pointer}`, which OpenAPI 3.0 does not have (OpenAPI 3.1 to 3.0)"
            ));
        }
    }
    walk_document(spec, "", rewrites)?;
    spec["openapi"] = json!(DOWNGRADED_TO);
    Ok(())
}

/// Walks the parts of the document that are not schemas, and brings down
/// every schema found in them: a `schema` value, and each of
/// `components.schemas`.
fn walk_document(value: &mut Value, at: &str, rewrites: &mut Vec<String>) -> Result<(), String> {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                let here = format!("{at}/{}", escape(key));
                if key == "schema" {
                    schema(inner, &here, rewrites)?;
                } else if at == "/components" && key == "schemas" {
                    if let Some(schemas) = inner.as_object_mut() {
                        for (name, s) in schemas.iter_mut() {
                            schema(s, &format!("{here}/{}", escape(name)), rewrites)?;
                        }
                    }
                } else if key == "examples" || key == "example" {
                    // Example values are data, not schemas.
                } else {
                    walk_document(inner, &here, rewrites)?;
                }
            }
        }
        Value::Array(list) => {
            for (i, inner) in list.iter_mut().enumerate() {
                walk_document(inner, &format!("{at}/{i}"), rewrites)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Brings one schema, and every schema inside it, down to 3.0.
fn schema(value: &mut Value, at: &str, rewrites: &mut Vec<String>) -> Result<(), String> {
    let Some(object) = value.as_object_mut() else {
        // `true`/`false` schemas have no 3.0 form.
        return match value {
            Value::Bool(_) => Err(format!(
                "`{at}` is a boolean schema, which OpenAPI 3.0 cannot express"
            )),
            _ => Ok(()),
        };
    };
    refuse_unsupported(object, at)?;
    drop_identifiers(object, at, rewrites);
    type_list(object, at, rewrites)?;
    examples_list(object, at, rewrites);
    const_to_enum(object, at, rewrites);
    exclusive_bounds(object, at, rewrites);
    ref_siblings(object, at, rewrites);
    subschemas(object, at, rewrites)
}

/// Records a rewrite at `at`.
fn note(rewrites: &mut Vec<String>, at: &str, what: String) {
    rewrites.push(format!("`{at}`: {what} (OpenAPI 3.1 to 3.0)"));
}

/// The keywords and forms 3.0 has none for: an error naming where.
fn refuse_unsupported(object: &Map<String, Value>, at: &str) -> Result<(), String> {
    if let Some(keyword) = UNSUPPORTED.iter().find(|k| object.contains_key(**k)) {
        return Err(format!(
            "`{at}/{}` uses `{keyword}`, which OpenAPI 3.0 cannot express",
            escape(keyword)
        ));
    }
    if object.get("items").is_some_and(Value::is_array) {
        return Err(format!(
            "`{at}/items` is a list (a tuple), which OpenAPI 3.0 cannot express"
        ));
    }
    if object.get("type") == Some(&json!("null")) {
        return Err(format!(
            "`{at}/type` is `null`, which OpenAPI 3.0 cannot express"
        ));
    }
    Ok(())
}

/// `$comment`, `$id`, `$schema` and `$anchor` are dropped.
fn drop_identifiers(object: &mut Map<String, Value>, at: &str, rewrites: &mut Vec<String>) {
    for keyword in ["$comment", "$id", "$schema", "$anchor"] {
        if object.remove(keyword).is_some() {
            note(rewrites, at, format!("dropped `{keyword}`"));
        }
    }
}

/// `type: [T, "null"]` becomes `type: T, nullable: true`; a list of one
/// type, that type. Several types, or only `null`, cannot be said.
fn type_list(
    object: &mut Map<String, Value>,
    at: &str,
    rewrites: &mut Vec<String>,
) -> Result<(), String> {
    let Some(Value::Array(types)) = object.get("type") else {
        return Ok(());
    };
    let nullable = types.iter().any(|t| t == "null");
    let others: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
    match others.as_slice() {
        [one] => {
            let one = one.clone();
            object.insert("type".into(), one.clone());
            if nullable {
                object.insert("nullable".into(), json!(true));
                note(
                    rewrites,
                    at,
                    format!("`type: [{one}, \"null\"]` is now `type: {one}, nullable: true`"),
                );
            } else {
                note(
                    rewrites,
                    at,
                    format!("`type: [{one}]` is now `type: {one}`"),
                );
            }
            Ok(())
        }
        [] => Err(format!(
            "`{at}/type` allows only `null`, which OpenAPI 3.0 cannot express"
        )),
        _ => Err(format!(
            "`{at}/type` allows several types ({}), which OpenAPI 3.0 cannot express as one",
            others
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A schema's `examples` list becomes `example`, its first value.
fn examples_list(object: &mut Map<String, Value>, at: &str, rewrites: &mut Vec<String>) {
    let Some(Value::Array(examples)) = object.get("examples") else {
        return;
    };
    let first = examples.first().cloned();
    object.remove("examples");
    if let Some(first) = first {
        object.entry("example").or_insert(first);
    }
    note(
        rewrites,
        at,
        "the `examples` list is now `example` (its first value)".to_owned(),
    );
}

/// `const: x` becomes `enum: [x]`.
fn const_to_enum(object: &mut Map<String, Value>, at: &str, rewrites: &mut Vec<String>) {
    if let Some(constant) = object.remove("const") {
        note(
            rewrites,
            at,
            format!("`const: {constant}` is now a one-value `enum`"),
        );
        object.insert("enum".into(), json!([constant]));
    }
}

/// A numeric `exclusiveMinimum`/`exclusiveMaximum` becomes the bound with
/// 3.0's boolean form; with both, the tighter of the two holds.
fn exclusive_bounds(object: &mut Map<String, Value>, at: &str, rewrites: &mut Vec<String>) {
    for (exclusive, bound, tighter) in [
        ("exclusiveMinimum", "minimum", 1.0),
        ("exclusiveMaximum", "maximum", -1.0),
    ] {
        let Some(limit) = object.get(exclusive).and_then(Value::as_f64) else {
            continue;
        };
        let limit_value = object.get(exclusive).cloned().unwrap_or(Value::Null);
        let keep_bound = object
            .get(bound)
            .and_then(Value::as_f64)
            .is_some_and(|b| (b - limit) * tighter > 0.0);
        if keep_bound {
            object.remove(exclusive);
        } else {
            object.insert(bound.into(), limit_value.clone());
            object.insert(exclusive.into(), json!(true));
        }
        note(
            rewrites,
            at,
            format!("numeric `{exclusive}: {limit_value}` is now the 3.0 form"),
        );
    }
}

/// Annotations beside a `$ref` are dropped (3.0 ignores them there); any
/// other keyword beside it is kept by wrapping the reference in `allOf`.
fn ref_siblings(object: &mut Map<String, Value>, at: &str, rewrites: &mut Vec<String>) {
    if !object.contains_key("$ref") || object.len() == 1 {
        return;
    }
    let siblings: Vec<String> = object.keys().filter(|k| *k != "$ref").cloned().collect();
    if siblings
        .iter()
        .all(|k| REF_ANNOTATIONS.contains(&k.as_str()))
    {
        object.retain(|k, _| k == "$ref");
        note(
            rewrites,
            at,
            format!("dropped `{}` beside `$ref`", siblings.join("`, `")),
        );
    } else {
        let reference = object.remove("$ref").unwrap_or(Value::Null);
        object.insert("allOf".into(), json!([{ "$ref": reference }]));
        note(
            rewrites,
            at,
            format!(
                "`$ref` with `{}` beside it is now `allOf: [$ref]`",
                siblings.join("`, `")
            ),
        );
    }
}

/// Every schema inside this one, each brought down the same way.
fn subschemas(
    object: &mut Map<String, Value>,
    at: &str,
    rewrites: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(Value::Object(props)) = object.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            schema(prop, &format!("{at}/properties/{}", escape(name)), rewrites)?;
        }
    }
    for key in SUBSCHEMA {
        if let Some(inner) = object.get_mut(key) {
            schema(inner, &format!("{at}/{key}"), rewrites)?;
        }
    }
    for key in SUBSCHEMA_LISTS {
        if let Some(Value::Array(list)) = object.get_mut(key) {
            for (i, inner) in list.iter_mut().enumerate() {
                schema(inner, &format!("{at}/{key}/{i}"), rewrites)?;
            }
        }
    }
    Ok(())
}
