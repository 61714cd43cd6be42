//! Normalisation of Alloy's OpenAPI document before progenitor sees it, for
//! the build of `runalloy-embedded`, its maintainer tools (`cargo xtask
//! spec`) and their tests: one crate, so each reads the spec the same way.
//!
//! The vendor's spec has defects that make progenitor 0.15 panic or generate
//! a client that misbehaves (see `openapi/README.md` for the list). This
//! module rewrites the document, as plain JSON, into something progenitor can
//! generate, and records every rewrite it makes. A document it cannot repair
//! yields a [`SpecError`] naming the operation and the problem, so the build
//! fails with a sentence instead of a panic deep inside the generator.
//!
//! It is tested by `tests/normalise.rs` beside it, and depends on nothing but
//! `serde_json`: it is a build-dependency.

mod downgrade;
pub mod restate_31;

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// HTTP methods that an OpenAPI path item may hold.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The header that carries the key, as the wrapper sends it.
pub const AUTHORIZATION_HEADER: &str = "authorization";

/// The header that carries the API version, as the wrapper sends it.
pub const API_VERSION_HEADER: &str = "x-api-version";

/// Header parameters that the hand-written wrapper sends itself, so the
/// normaliser removes them from every operation. The library's build
/// writes the same list into the client (`WRAPPER_HEADERS`), which refuses
/// them as a view's extra headers: one list for both.
pub const WRAPPER_HEADERS: [&str; 2] = [AUTHORIZATION_HEADER, API_VERSION_HEADER];

/// The extension on an operation that lists the path parameters the
/// vendor's document declares in the query; the client sends each in both
/// places.
pub const ALSO_IN_QUERY: &str = "x-runalloy-also-in-query";

/// A problem in the spec that normalisation cannot repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// One operation of the normalised spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The spec's `operationId`.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template after normalisation, such as `/users/{userId}`.
    pub path: String,
    /// The spec's `summary`, or empty.
    pub summary: String,
    /// The parameters left after normalisation, in the spec's order.
    pub params: Vec<Param>,
    /// The JSON request body, if the operation takes one.
    pub body: Option<Body>,
    /// The success response's example named `Result` (else the first by
    /// name, else the media type's `example`), as JSON text.
    pub example: Option<String>,
    /// Path parameters that the vendor's document declares `in: query`:
    /// each is sent in the path and, from the same value, in the query.
    pub also_in_query: Vec<String>,
    /// How a paged operation walks its pages: our `x-runalloy-paging`
    /// extension, as the spec gives it (build.rs checks it).
    pub paging: Option<Value>,
}

/// One parameter of an [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name on the wire, such as `userId`.
    pub name: String,
    /// `path`, `query` or `header`.
    pub location: String,
    /// Whether the spec requires it (path parameters always are).
    pub required: bool,
    /// The schema's `type`, such as `string` or `integer`; empty if none.
    pub kind: String,
    /// The values of a string enum, if it is one.
    pub values: Vec<String>,
}

/// The JSON request body of an [`Operation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// Whether the spec marks the body `required: true`.
    pub required: bool,
    /// The body's schema with local `$ref`s resolved, as JSON text.
    pub schema: String,
}

/// The result of [`normalise`].
#[derive(Debug, Clone)]
pub struct Normalised {
    /// The rewritten document, ready for `openapiv3` and progenitor.
    pub spec: Value,
    /// The API version the wrapper sends in `x-api-version`.
    pub api_version: String,
    /// Every operation, sorted by id.
    pub operations: Vec<Operation>,
    /// One human-readable line per rewrite made.
    pub rewrites: Vec<String>,
}

/// Rewrites `spec` (an OpenAPI 3.0 document as JSON) so that progenitor can
/// generate a correct client from it.
pub fn normalise(spec: Value) -> Result<Normalised, SpecError> {
    let (spec, rewrites) = to_openapi_30(spec)?;
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let api_version = api_version(&spec, &components)?.ok_or_else(no_version_header)?;
    normalise_30(spec, api_version, rewrites)
}

/// [`normalise`], for reading a spec rather than generating from it: a spec
/// that names its version in the path of its server URL (as 2024-03 did,
/// with no `x-api-version`) is read too, with an empty `api_version`.
pub fn normalise_any_versioning(spec: Value) -> Result<Normalised, SpecError> {
    let (spec, rewrites) = to_openapi_30(spec)?;
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let api_version = api_version(&spec, &components)?.unwrap_or_default();
    normalise_30(spec, api_version, rewrites)
}

/// The document as OpenAPI 3.0, which progenitor reads: a 3.0.x document as
/// it is, a 3.1.x one brought down (see `downgrade.rs`), with the
/// rewrites that took.
pub fn to_openapi_30(mut spec: Value) -> Result<(Value, Vec<String>), SpecError> {
    let version = spec
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut rewrites = Vec::new();
    if version.starts_with("3.1.") {
        downgrade::downgrade(&mut spec, &mut rewrites).map_err(|why| {
            SpecError(format!(
                "the OpenAPI {version} document cannot be brought down to 3.0: {why}"
            ))
        })?;
        rewrites.push(format!(
            "brought OpenAPI {version} down to {}, which progenitor 0.15 reads",
            downgrade::DOWNGRADED_TO
        ));
    } else if !version.starts_with("3.0.") {
        return Err(SpecError(format!(
            "the spec declares `openapi: {version}`; only OpenAPI 3.0.x and 3.1.x are read"
        )));
    }
    Ok((spec, rewrites))
}

/// [`normalise`] of a 3.0 document whose API version is known.
fn normalise_30(
    mut spec: Value,
    api_version: String,
    mut rewrites: Vec<String>,
) -> Result<Normalised, SpecError> {
    let components = spec.get("components").cloned().unwrap_or(Value::Null);

    let paths = match spec.get_mut("paths").and_then(Value::as_object_mut) {
        Some(paths) => paths,
        None => return Err(SpecError("the spec has no `paths` object".into())),
    };
    merge_trailing_slash_paths(paths, &mut rewrites)?;

    let mut operations = Vec::new();
    let mut seen_ids = BTreeMap::new();
    for (path, item) in paths.iter_mut() {
        let item = item
            .as_object_mut()
            .ok_or_else(|| SpecError(format!("path `{path}` is not an object")))?;
        if item.contains_key("$ref") {
            return Err(SpecError(format!(
                "path `{path}` is a `$ref` to another document, which progenitor cannot follow"
            )));
        }
        let shared_params = item.remove("parameters");
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    SpecError(format!(
                        "{} {path}: the operation has no operationId",
                        method.to_uppercase()
                    ))
                })?;
            let place = format!("operation `{id}` ({} {path})", method.to_uppercase());
            if let Some(other) = seen_ids.insert(id.clone(), place.clone()) {
                return Err(SpecError(format!(
                    "{place}: operationId `{id}` is also used by {other}"
                )));
            }
            // Path-level parameters apply to every operation of the path;
            // copy them in so that each operation is self-contained.
            if let Some(Value::Array(shared)) = &shared_params {
                let params = op
                    .entry("parameters")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(params) = params {
                    params.extend(shared.iter().cloned());
                }
            }
            note_missing_version_header(op, &components, &place, &mut rewrites);
            normalise_parameters(op, path, &components, &place, &mut rewrites)?;
            normalise_request_body(op, &place, &mut rewrites)?;
            normalise_responses(op, &place, &mut rewrites)?;
            drop_response_defaults(op, &place, &mut rewrites);
            decode_string_examples(op, &place, &mut rewrites);
            open_response_enums(op, &place, &mut rewrites);
            operations.push(describe(op, id, method, path, &components));
        }
    }
    operations.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Normalised {
        spec,
        api_version,
        operations,
        rewrites,
    })
}

/// Finds the default of the `x-api-version` header parameter, wherever it is
/// declared; `None` if there is none. Every declaration must agree.
fn api_version(spec: &Value, components: &Value) -> Result<Option<String>, SpecError> {
    let mut found = BTreeSet::new();
    let mut consider = |param: &Value| {
        let param = resolve(param, components);
        let is_version = param.get("in").and_then(Value::as_str) == Some("header")
            && param
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case("x-api-version"));
        if is_version && let Some(default) = param.pointer("/schema/default") {
            found.insert(scalar_text(default));
        }
    };
    if let Some(params) = components.get("parameters").and_then(Value::as_object) {
        params.values().for_each(&mut consider);
    }
    for item in spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
    {
        let ops = METHODS.iter().filter_map(|m| item.get(*m));
        for params in ops
            .chain(std::iter::once(item))
            .filter_map(|o| o.get("parameters").and_then(Value::as_array))
        {
            params.iter().for_each(&mut consider);
        }
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(version), None) if !version.is_empty() => Ok(Some(version)),
        (Some(a), Some(b)) => Err(SpecError(format!(
            "the spec's x-api-version parameters disagree on the default: `{a}` and `{b}`"
        ))),
        _ => Ok(None),
    }
}

/// The error for a spec that names no API version in a header.
fn no_version_header() -> SpecError {
    SpecError(
        "the spec declares no `x-api-version` header parameter with a `schema.default`; \
         the client takes the API version it sends from there"
            .into(),
    )
}

/// A YAML scalar such as `2025-09` may arrive as a string or, for other
/// versions, as a number; both are written back as text.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Follows a local `#/components/parameters/...` reference, if any.
fn resolve<'a>(param: &'a Value, components: &'a Value) -> &'a Value {
    match param.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/components/")
            .and_then(|rest| components.pointer(&format!("/{rest}")))
            .unwrap_or(param),
        None => param,
    }
}

/// Moves the operations of `/x/` onto `/x`: the vendor publishes
/// `POST /users/` beside `GET /users`, and its quick start uses `/users`.
fn merge_trailing_slash_paths(
    paths: &mut Map<String, Value>,
    rewrites: &mut Vec<String>,
) -> Result<(), SpecError> {
    let slashed: Vec<String> = paths
        .keys()
        .filter(|p| p.len() > 1 && p.ends_with('/'))
        .cloned()
        .collect();
    for from in slashed {
        let to = from.trim_end_matches('/').to_owned();
        let Some(Value::Object(moving)) = paths.remove(&from) else {
            continue;
        };
        let target = paths
            .entry(to.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(target) = target else {
            return Err(SpecError(format!("path `{to}` is not an object")));
        };
        for (key, value) in moving {
            if target.contains_key(&key) {
                return Err(SpecError(format!(
                    "path `{from}` and path `{to}` both declare `{key}`; \
                     they cannot be merged into one path"
                )));
            }
            rewrites.push(format!(
                "moved `{} {from}` to `{to}` (trailing slash dropped)",
                key.to_uppercase()
            ));
            target.insert(key, value);
        }
    }
    Ok(())
}

/// Strips the wrapper's headers and repairs path variables declared in the
/// wrong place.
fn normalise_parameters(
    op: &mut Map<String, Value>,
    path: &str,
    components: &Value,
    place: &str,
    rewrites: &mut Vec<String>,
) -> Result<(), SpecError> {
    let template_vars = template_variables(path, place)?;
    let params = match op.remove("parameters") {
        Some(Value::Array(params)) => params,
        Some(_) => return Err(SpecError(format!("{place}: `parameters` is not a list"))),
        None => Vec::new(),
    };
    // Template variables the operation declares `in: path` (the overlay
    // adds them where the vendor declares them only in the query).
    let in_path: BTreeSet<String> = params
        .iter()
        .map(|p| resolve(p, components))
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut kept = Vec::new();
    let mut also_in_query = Vec::new();
    for param in params {
        let resolved = resolve(&param, components);
        let name = resolved.get("name").and_then(Value::as_str).unwrap_or("");
        let location = resolved.get("in").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() || location.is_empty() {
            return Err(SpecError(format!(
                "{place}: a parameter has no `name` or `in` (or its `$ref` does not resolve)"
            )));
        }
        if location == "header" && WRAPPER_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            rewrites.push(format!(
                "{place}: removed header parameter `{name}`; the wrapper sends it"
            ));
            continue;
        }
        let mut param = resolved.clone();
        if template_vars.contains(name) && location == "query" && in_path.contains(name) {
            // Declared in both places: the generated client takes it once,
            // in the path, and the value is sent in the query too.
            rewrites.push(format!(
                "{place}: `{name}` is declared both in the path and in the query; \
                 the client takes it once and sends it in both"
            ));
            also_in_query.push(json!(name));
            continue;
        }
        if template_vars.contains(name) && location == "query" {
            // Both readings of the document must find the value: a server
            // that routes on the path, and one that reads the query.
            rewrites.push(format!(
                "{place}: `{name}` is a path template variable declared `in: query`; \
                 it is now a required path parameter, and its value is sent in the query too"
            ));
            param["in"] = json!("path");
            param["required"] = json!(true);
            also_in_query.push(json!(name));
        } else if template_vars.contains(name) && location != "path" {
            rewrites.push(format!(
                "{place}: `{name}` is a path template variable declared `in: {location}`; \
                 it is now a required path parameter"
            ));
            param["in"] = json!("path");
            param["required"] = json!(true);
        } else if location == "path" && !template_vars.contains(name) {
            return Err(SpecError(format!(
                "{place}: path parameter `{name}` does not appear in the path template"
            )));
        }
        kept.push(param);
    }
    every_variable_declared(&template_vars, &kept, place)?;
    if !kept.is_empty() {
        op.insert("parameters".into(), Value::Array(kept));
    }
    if !also_in_query.is_empty() {
        op.insert(ALSO_IN_QUERY.into(), Value::Array(also_in_query));
    }
    Ok(())
}

/// Refuses a path template variable that no `in: path` parameter of
/// `kept` declares.
fn every_variable_declared(
    template_vars: &BTreeSet<String>,
    kept: &[Value],
    place: &str,
) -> Result<(), SpecError> {
    for var in template_vars {
        let declared = kept.iter().any(|p| {
            p.get("name").and_then(Value::as_str) == Some(var.as_str())
                && p.get("in").and_then(Value::as_str) == Some("path")
        });
        if !declared {
            return Err(SpecError(format!(
                "{place}: the path template variable `{{{var}}}` has no parameter"
            )));
        }
    }
    Ok(())
}

/// The `{name}` variables of a path template.
fn template_variables(path: &str, place: &str) -> Result<BTreeSet<String>, SpecError> {
    let mut vars = BTreeSet::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| SpecError(format!("{place}: unbalanced `{{` in the path template")))?;
        vars.insert(after[..close].to_owned());
        rest = &after[close + 1..];
    }
    Ok(vars)
}

/// progenitor accepts exactly one request media type, and needs a schema.
fn normalise_request_body(
    op: &mut Map<String, Value>,
    place: &str,
    rewrites: &mut Vec<String>,
) -> Result<(), SpecError> {
    let Some(content) = op
        .get_mut("requestBody")
        .and_then(|b| b.get_mut("content"))
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    if content.len() > 1 {
        let Some(json_body) = content.get("application/json").cloned() else {
            return Err(SpecError(format!(
                "{place}: the request body offers several media types and none is application/json"
            )));
        };
        rewrites.push(format!(
            "{place}: kept only the application/json request body of {} media types",
            content.len()
        ));
        content.clear();
        content.insert("application/json".into(), json_body);
    }
    for (media, body) in content.iter() {
        if body.get("schema").is_none() {
            return Err(SpecError(format!(
                "{place}: the `{media}` request body has no schema"
            )));
        }
    }
    Ok(())
}

/// Routes every non-2xx response through the wrapper's single error path and
/// makes the success responses something progenitor can generate.
fn normalise_responses(
    op: &mut Map<String, Value>,
    place: &str,
    rewrites: &mut Vec<String>,
) -> Result<(), SpecError> {
    let responses = op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| SpecError(format!("{place}: the operation has no `responses`")))?;
    let has_success = responses.keys().any(|k| is_success(k));
    let dropped: Vec<String> = responses
        .keys()
        .filter(|k| !is_success(k) && (has_success || k.as_str() != "default"))
        .cloned()
        .collect();
    for status in dropped {
        responses.remove(&status);
        // Each inline response schema is named `{OperationId}Response` and
        // the first registered wins, so a 401 `{message}` would otherwise be
        // decoded as the 200 type. Error statuses are read by the wrapper.
        rewrites.push(format!(
            "{place}: removed the `{status}` response; the wrapper decodes every non-2xx response"
        ));
    }

    let mut kinds = BTreeSet::new();
    for (status, response) in responses.iter_mut() {
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            kinds.insert("none".to_owned());
            continue;
        };
        for (media, body) in content.iter_mut() {
            let is_json = media == "application/json" || media.starts_with("application/json;");
            if is_json && body.get("schema").is_none() {
                body["schema"] = json!({});
                rewrites.push(format!(
                    "{place}: the `{status}` {media} response has no schema; it now decodes as any JSON value"
                ));
            }
        }
        let kind = match content
            .iter()
            .find(|(m, _)| *m == "application/json" || m.starts_with("application/json;"))
        {
            Some((_, body)) => format!("json:{}", body["schema"]),
            None if content.is_empty() => "none".to_owned(),
            None => "raw".to_owned(),
        };
        kinds.insert(kind);
    }
    if kinds.len() > 1 {
        // progenitor asserts a single success type per operation. Raw bytes
        // keep every body, whichever status brings it.
        for response in responses.values_mut() {
            response["content"] = json!({ "application/octet-stream": {} });
        }
        rewrites.push(format!(
            "{place}: its success responses differ in kind or schema; they are now returned as raw bytes"
        ));
    }
    Ok(())
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

/// The vendor leaves the `x-api-version` reference off some operations (the
/// logs ones). The wrapper sends the header on every request anyway, as the
/// API's version is one for the whole spec; the note makes that visible.
fn note_missing_version_header(
    op: &Map<String, Value>,
    components: &Value,
    place: &str,
    rewrites: &mut Vec<String>,
) {
    let declares = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|params| {
            params.iter().any(|p| {
                let p = resolve(p, components);
                p.get("in").and_then(Value::as_str) == Some("header")
                    && p.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case("x-api-version"))
            })
        });
    if !declares {
        rewrites.push(format!(
            "{place}: declares no x-api-version header; the wrapper sends the spec's version anyway"
        ));
    }
}

/// The vendor's pages often give an example as JSON written into a string
/// (`value: "{\"message\": \"Success\"}"`). Such a string that parses as a
/// JSON object or array is replaced by what it holds; any other string (a
/// bare token, or text that is not valid JSON) is kept.
fn decode_string_examples(op: &mut Map<String, Value>, place: &str, rewrites: &mut Vec<String>) {
    for (status, media) in response_media(op) {
        let mut slots: Vec<&mut Value> = Vec::new();
        for (key, value) in media.iter_mut() {
            match (key.as_str(), value) {
                ("example", value) => slots.push(value),
                ("examples", Value::Object(examples)) => {
                    slots.extend(examples.values_mut().filter_map(|e| e.get_mut("value")))
                }
                _ => {}
            }
        }
        for slot in slots {
            let Value::String(text) = slot else { continue };
            if let Ok(parsed @ (Value::Object(_) | Value::Array(_))) =
                serde_json::from_str::<Value>(text)
            {
                *slot = parsed;
                rewrites.push(format!(
                    "{place}: the `{status}` example was JSON written as a string; it is now that JSON"
                ));
            }
        }
    }
}

/// A `default` in a response schema fills a field the server never sent:
/// the vendor's `success: {default: true}` would read `{}` as a deletion.
/// Response defaults are therefore dropped, so that a missing field decodes
/// as absent (`None`); request defaults, which say what the API assumes, are
/// kept.
fn drop_response_defaults(op: &mut Map<String, Value>, place: &str, rewrites: &mut Vec<String>) {
    walk_response_schemas(op, &mut |status, schema, at| {
        if let Some(default) = schema.remove("default") {
            rewrites.push(format!(
                "{place}: the `{status}` response's default at `{at}` ({default}) is dropped; \
                 a field the server did not send reads as absent"
            ));
        }
    });
}

/// `key` as one segment of a JSON pointer (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A schema object, as JSON.
type Schema = Map<String, Value>;

/// Calls `visit` on every schema of every response of `op`, with the
/// response's status and where the schema is (`/` for the top).
fn walk_response_schemas(
    op: &mut Map<String, Value>,
    visit: &mut dyn FnMut(&str, &mut Schema, &str),
) {
    for (status, media) in response_media(op) {
        if let Some(schema) = media.get_mut("schema") {
            walk_schemas(schema, "", &mut |object, at| {
                visit(&status, object, if at.is_empty() { "/" } else { at })
            });
        }
    }
}

/// Calls `visit` on `schema` and on every schema inside it (properties,
/// items, additional properties, `oneOf`/`anyOf`/`allOf`), each with where
/// it is below `at` (`/data/name` for a property `name` of `data`).
fn walk_schemas(
    schema: &mut Value,
    at: &str,
    visit: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    visit(object, at);
    if let Some(Value::Object(props)) = object.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            walk_schemas(prop, &format!("{at}/{name}"), visit);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            walk_schemas(inner, &format!("{at}/{key}"), visit);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(list)) = object.get_mut(key) {
            for (i, inner) in list.iter_mut().enumerate() {
                walk_schemas(inner, &format!("{at}/{key}/{i}"), visit);
            }
        }
    }
}

/// Every media type of every response of `op`, beside its status.
fn response_media(op: &mut Map<String, Value>) -> Vec<(String, &mut Map<String, Value>)> {
    op.get_mut("responses")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|responses| responses.iter_mut())
        .filter_map(|(status, response)| {
            let content = response.get_mut("content")?.as_object_mut()?;
            Some((status, content))
        })
        .flat_map(|(status, content)| {
            content
                .values_mut()
                .filter_map(Value::as_object_mut)
                .map(move |media| (status.clone(), media))
        })
        .collect()
}

/// A closed string enum in a response would make the whole response fail to
/// decode the day the API adds a value. Response enums are therefore read as
/// plain strings; request enums stay closed, since they check what is sent.
fn open_response_enums(op: &mut Map<String, Value>, place: &str, rewrites: &mut Vec<String>) {
    walk_response_schemas(op, &mut |status, object, at| {
        if object.get("type").and_then(Value::as_str) == Some("string")
            && let Some(values) = object.remove("enum")
        {
            // Kept beside, for `cargo xtask spec diff` and readers;
            // progenitor ignores `x-` keys.
            object.insert("x-runalloy-enum".into(), values);
            rewrites.push(format!(
                "{place}: the `{status}` response's enum at `{at}` is read as any string, \
                 so a value added later still decodes"
            ));
        }
    });
}

/// What the operation table records about a normalised operation.
fn describe(
    op: &Map<String, Value>,
    id: String,
    method: &str,
    path: &str,
    components: &Value,
) -> Operation {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| Param {
            name: text(p.get("name")),
            location: text(p.get("in")),
            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
            kind: text(p.pointer("/schema/type")),
            values: p
                .pointer("/schema/enum")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        })
        .collect();
    let body = op.get("requestBody").and_then(|b| {
        let schema = b.pointer("/content/application~1json/schema")?;
        Some(Body {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema: inline_refs(schema, components, 0).to_string(),
        })
    });
    let example = op
        .get("responses")
        .and_then(Value::as_object)
        .and_then(|r| r.iter().find(|(status, _)| is_success(status)))
        .and_then(|(_, r)| r.pointer("/content/application~1json"))
        .and_then(|media| {
            media
                .get("examples")
                .and_then(Value::as_object)
                // The vendor names its example `Result`; otherwise the first
                // by name.
                .and_then(|e| e.get("Result").or_else(|| e.values().next()))
                .and_then(|e| e.get("value"))
                .or_else(|| media.get("example"))
        })
        .map(Value::to_string);
    let also_in_query = op
        .get(ALSO_IN_QUERY)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    Operation {
        id,
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(op.get("summary")),
        params,
        body,
        example,
        also_in_query,
        paging: op.get(PAGING).cloned(),
    }
}

/// Our extension that declares how an operation pages.
pub const PAGING: &str = "x-runalloy-paging";

/// `schema` with local `#/components/...` references replaced by what they
/// name, to a bounded depth (a recursive schema stays a reference below it).
pub fn inline_refs(schema: &Value, components: &Value, depth: usize) -> Value {
    match schema {
        Value::Object(object) => {
            if let Some(target) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/"))
                .and_then(|rest| components.pointer(&format!("/{rest}")))
                && depth < 16
            {
                return inline_refs(target, components, depth + 1);
            }
            Value::Object(
                object
                    .iter()
                    .map(|(k, v)| (k.clone(), inline_refs(v, components, depth)))
                    .collect(),
            )
        }
        Value::Array(list) => Value::Array(
            list.iter()
                .map(|v| inline_refs(v, components, depth))
                .collect(),
        ),
        other => other.clone(),
    }
}
