//! `cargo xtask spec diff OLD NEW`: what an upgrade changes, for callers.
//!
//! Both specs go through the build's own normalisation first
//! (the `runalloy-embedded-normalise` crate), so the comparison sees what progenitor sees: no
//! `Authorization` or `x-api-version` parameters, path variables in the
//! path, no error responses, and response enums read as strings.
//!
//! # The rule
//!
//! A change is **breaking** when code that compiled against the generated
//! Rust API may stop compiling, or a call that worked may start failing.
//! The generated API is progenitor's builder interface (a setter per
//! parameter, `send()` last), and every generated struct and enum is
//! `#[non_exhaustive]` (built through its builder, matched with `..`), so:
//!
//! | change | breaking? | why |
//! |---|---|---|
//! | operation added | no | a new method |
//! | operation removed, or its method or path changed | yes | the method is gone, or calls go elsewhere |
//! | optional parameter added | no | a new setter; calls without it still send |
//! | required parameter added | yes | `send()` fails until the caller sets it |
//! | parameter removed | yes | its setter is gone |
//! | parameter moved (`in`) | yes | the wire contract changed |
//! | optional parameter made required | yes | calls that left it out now fail |
//! | required parameter made optional | no | the setter takes the same values |
//! | parameter or field retyped | yes | the setter or the field takes another type |
//! | optional request-body field added | no | a new builder setter; the body type is non-exhaustive |
//! | required request-body field added | yes | `send()` fails until the caller sets it |
//! | request-body field removed, made required or made optional | yes | setters and fields change |
//! | request body added | only if required | the builder's `body` setter is new |
//! | response field added | no | the response type is non-exhaustive |
//! | response field removed, made optional or made required | yes | readers see another type |
//! | enum value added | no | request enums are non-exhaustive; response enums decode as strings |
//! | request enum value removed | yes | the variant is gone |
//! | response enum value removed | no | responses decode enums as strings |
//! | success status, `x-api-version` default or server changed | yes | |
//!
//! `semver:` is `major` with a breaking change, `minor` with only
//! non-breaking ones, and `patch` with none that the rules see.
//!
//! **Notes** list what a reviewer of an upgrade must see but callers'
//! code cannot: an error response (a non-2xx status) the spec documents
//! that the other no longer does, or newly does. None is breaking: the
//! build generates no error responses, and every non-2xx reaches the
//! caller as one `Error` with its status and message.
//! `cargo xtask spec semver-proof` checks these verdicts against
//! `cargo-semver-checks` on crates generated from both specs.

use runalloy_embedded_normalise as normalise;

use crate::{Problem, read_yaml_as_json};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One change, for one operation (or the whole spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Whether callers' code may break.
    pub breaking: bool,
    /// The operation id, or `(spec)` for the spec as a whole.
    pub operation: String,
    /// `METHOD /path` of the operation, or empty.
    pub at: String,
    /// What changed.
    pub what: String,
}

/// Every change found, breaking ones first, and the notes.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In the order found: operations by id, and within each, path, query,
    /// body, response.
    pub changes: Vec<Change>,
    /// Documented error responses dropped or added, by operation id and
    /// status; never breaking (their `breaking` is false), and not counted
    /// in `semver`.
    pub notes: Vec<Change>,
}

impl Report {
    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.breaking)
    }

    /// `major`, `minor` or `patch`.
    pub fn semver(&self) -> &'static str {
        if self.is_breaking() {
            "major"
        } else if self.changes.is_empty() {
            "patch"
        } else {
            "minor"
        }
    }

    fn group(&self, breaking: bool) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.breaking == breaking)
    }

    /// The report as text: `breaking:` and `non-breaking:` groups, one line
    /// per change, and `semver: ...` last.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (title, breaking) in [("breaking", true), ("non-breaking", false)] {
            out.push_str(title);
            out.push_str(":\n");
            let mut any = false;
            for c in self.group(breaking) {
                any = true;
                let at = if c.at.is_empty() {
                    String::new()
                } else {
                    format!(" {}", c.at)
                };
                out.push_str(&format!("  {}{at}: {}\n", c.operation, c.what));
            }
            if !any {
                out.push_str("  (none)\n");
            }
        }
        if !self.notes.is_empty() {
            out.push_str("notes (not breaking: every non-2xx reaches the caller as one Error):\n");
            for c in &self.notes {
                out.push_str(&format!("  {} {}: {}\n", c.operation, c.at, c.what));
            }
        }
        out.push_str(&format!("semver: {}\n", self.semver()));
        out
    }

    /// The report as JSON: `{"breaking": [...], "nonBreaking": [...],
    /// "notes": [...], "semver": "..."}`.
    pub fn json(&self) -> Value {
        let item = |c: &Change| json!({"operation": c.operation, "at": c.at, "change": c.what});
        let list = |breaking| self.group(breaking).map(item).collect::<Vec<_>>();
        json!({
            "breaking": list(true),
            "nonBreaking": list(false),
            "notes": self.notes.iter().map(item).collect::<Vec<_>>(),
            "semver": self.semver(),
        })
    }
}

/// Compares the specs in two files.
pub fn diff_files(old: &Path, new: &Path) -> Result<Report, Problem> {
    diff_specs(read_yaml_as_json(old)?, read_yaml_as_json(new)?).map_err(|(which, why)| {
        Problem::Read {
            file: if which == Side::Old { old } else { new }
                .display()
                .to_string(),
            why,
        }
    })
}

/// Which input a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The first spec.
    Old,
    /// The second spec.
    New,
}

/// Compares two specs given as JSON values.
pub fn diff_specs(old: Value, new: Value) -> Result<Report, (Side, String)> {
    // Read before normalisation, which drops every error response.
    let (old_errors, new_errors) = (error_statuses(&old), error_statuses(&new));
    let old_servers = old.get("servers").cloned().unwrap_or(Value::Null);
    let new_servers = new.get("servers").cloned().unwrap_or(Value::Null);
    let mut old =
        normalise::normalise_any_versioning(old).map_err(|e| (Side::Old, not_usable(e)))?;
    let mut new =
        normalise::normalise_any_versioning(new).map_err(|e| (Side::New, not_usable(e)))?;
    // Schemas shared through `#/components/...` are compared where they are
    // used, so a change to one is reported for every operation using it.
    for n in [&mut old, &mut new] {
        let components = n.spec.get("components").cloned().unwrap_or(Value::Null);
        n.spec["paths"] = normalise::inline_refs(&n.spec["paths"], &components, 0);
    }
    let mut report = Report::default();
    let mut spec_change = |what: String| {
        report.changes.push(Change {
            breaking: true,
            operation: "(spec)".to_owned(),
            at: String::new(),
            what,
        })
    };
    let scheme = |n: &normalise::Normalised, servers: &Value| {
        if n.api_version.is_empty() {
            format!("the server URL's path ({})", server_urls(servers))
        } else {
            format!("the x-api-version header ({})", n.api_version)
        }
    };
    match (old.api_version.is_empty(), new.api_version.is_empty()) {
        (false, false) if old.api_version != new.api_version => spec_change(format!(
            "x-api-version default changed from {} to {}",
            old.api_version, new.api_version
        )),
        (false, false) | (true, true) => {}
        _ => spec_change(format!(
            "versioning changed from {} to {}",
            scheme(&old, &old_servers),
            scheme(&new, &new_servers)
        )),
    }
    if old_servers != new_servers {
        spec_change(format!(
            "servers changed from {old_servers} to {new_servers}"
        ));
    }

    let ids: BTreeSet<&str> = old
        .operations
        .iter()
        .chain(&new.operations)
        .map(|o| o.id.as_str())
        .collect();
    for id in ids {
        let before = old.operations.iter().find(|o| o.id == id);
        let after = new.operations.iter().find(|o| o.id == id);
        let mut changes = Changes::default();
        match (before, after) {
            (Some(_), None) => changes.breaking("operation removed".to_owned()),
            (None, Some(_)) => changes.safe("operation added".to_owned()),
            (Some(b), Some(a)) => {
                compare_operation(b, &old.spec, a, &new.spec, &mut changes);
            }
            (None, None) => {}
        }
        let shown = after.or(before);
        let at = shown.map_or(String::new(), |o| format!("{} {}", o.method, o.path));
        report
            .changes
            .extend(changes.0.into_iter().map(|(breaking, what)| Change {
                breaking,
                operation: id.to_owned(),
                at: at.clone(),
                what,
            }));
    }
    // Breaking first, each group in the order found.
    report.changes.sort_by_key(|c| !c.breaking);
    report.notes = error_notes(&old_errors, &new_errors, &new);
    Ok(report)
}

/// The documented non-2xx statuses of each operation, by operation id, as
/// the document says them (before normalisation).
fn error_statuses(spec: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let paths = spec.get("paths").and_then(Value::as_object);
    for item in paths.into_iter().flat_map(|p| p.values()) {
        for method in normalise::METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let statuses = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|r| r.keys())
                .filter(|status| !status.starts_with('2'))
                .cloned();
            found.entry(id.to_owned()).or_default().extend(statuses);
        }
    }
    found
}

/// A note for each error response an operation in both documents dropped
/// or added, in operation order.
fn error_notes(
    old: &BTreeMap<String, BTreeSet<String>>,
    new: &BTreeMap<String, BTreeSet<String>>,
    new_spec: &normalise::Normalised,
) -> Vec<Change> {
    let mut notes = Vec::new();
    for (id, before) in old {
        let Some(after) = new.get(id) else {
            continue;
        };
        let at = new_spec
            .operations
            .iter()
            .find(|o| &o.id == id)
            .map_or(String::new(), |o| format!("{} {}", o.method, o.path));
        let mut note = |what: String| {
            notes.push(Change {
                breaking: false,
                operation: id.clone(),
                at: at.clone(),
                what,
            })
        };
        for status in before.difference(after) {
            note(format!("the documented {status} response is dropped"));
        }
        for status in after.difference(before) {
            note(format!("a {status} response is documented"));
        }
    }
    notes
}

/// The server URLs of a spec's `servers`, joined.
fn server_urls(servers: &Value) -> String {
    let urls: Vec<&str> = servers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["url"].as_str())
        .collect();
    if urls.is_empty() {
        "none".to_owned()
    } else {
        urls.join(", ")
    }
}

fn not_usable(e: normalise::SpecError) -> String {
    format!("not a spec the build can use: {e}")
}

/// The changes of one operation: `(breaking, what)`.
#[derive(Default)]
struct Changes(Vec<(bool, String)>);

impl Changes {
    fn breaking(&mut self, what: String) {
        self.0.push((true, what));
    }
    fn safe(&mut self, what: String) {
        self.0.push((false, what));
    }
}

/// Who builds a schema's values: the caller (a request) or the API (a
/// response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

fn operation_value<'a>(spec: &'a Value, op: &normalise::Operation) -> &'a Value {
    &spec["paths"][op.path.as_str()][op.method.to_lowercase()]
}

fn compare_operation(
    b: &normalise::Operation,
    old_spec: &Value,
    a: &normalise::Operation,
    new_spec: &Value,
    changes: &mut Changes,
) {
    if (b.method.as_str(), b.path.as_str()) != (a.method.as_str(), a.path.as_str()) {
        changes.breaking(format!(
            "moved from {} {} to {} {}",
            b.method, b.path, a.method, a.path
        ));
    }
    let old_op = operation_value(old_spec, b);
    let new_op = operation_value(new_spec, a);
    compare_parameters(b, old_op, a, new_op, changes);
    compare_request_bodies(old_op, new_op, changes);
    compare_responses(old_op, new_op, changes);
}

/// Parameters removed, moved, made required or optional, retyped, added.
fn compare_parameters(
    b: &normalise::Operation,
    old_op: &Value,
    a: &normalise::Operation,
    new_op: &Value,
    changes: &mut Changes,
) {
    let param = |op: &Value, name: &str| -> Value {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    for p in &b.params {
        match a.params.iter().find(|q| q.name == p.name) {
            None => changes.breaking(format!("parameter `{}` ({}) removed", p.name, p.location)),
            Some(q) => {
                if p.location != q.location {
                    changes.breaking(format!(
                        "parameter `{}` moved from {} to {}",
                        p.name, p.location, q.location
                    ));
                }
                match (p.required, q.required) {
                    (false, true) => {
                        changes.breaking(format!("parameter `{}` made required", p.name))
                    }
                    (true, false) => changes.safe(format!(
                        "parameter `{}` made optional (its setter takes the same values)",
                        p.name
                    )),
                    _ => {}
                }
                compare_schema(
                    &param(old_op, &p.name)["schema"],
                    &param(new_op, &p.name)["schema"],
                    &format!("parameter `{}`", p.name),
                    Direction::Request,
                    changes,
                );
            }
        }
    }
    for q in &a.params {
        if !b.params.iter().any(|p| p.name == q.name) {
            if q.required {
                changes.breaking(format!(
                    "parameter `{}` added as required ({})",
                    q.name, q.location
                ));
            } else {
                changes.safe(format!(
                    "parameter `{}` added, optional ({}); a new setter",
                    q.name, q.location
                ));
            }
        }
    }
}

/// The JSON request body removed, added, or its schema changed.
fn compare_request_bodies(old_op: &Value, new_op: &Value, changes: &mut Changes) {
    let body = |op: &Value| {
        op.pointer("/requestBody/content/application~1json/schema")
            .cloned()
    };
    let body_required = |op: &Value| op.pointer("/requestBody/required") == Some(&json!(true));
    match (body(old_op), body(new_op)) {
        (Some(_), None) => changes.breaking("request body removed".to_owned()),
        (None, Some(_)) if body_required(new_op) => {
            changes.breaking("request body added as required".to_owned())
        }
        (None, Some(_)) => changes.safe("request body added, optional; a new setter".to_owned()),
        (Some(x), Some(y)) => compare_schema(&x, &y, "body", Direction::Request, changes),
        (None, None) => {}
    }
}

/// The success statuses, and each one's response schema.
fn compare_responses(old_op: &Value, new_op: &Value, changes: &mut Changes) {
    let successes = |op: &Value| -> Vec<String> {
        op["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(status, _)| status.clone())
            .filter(|s| s.starts_with('2'))
            .collect()
    };
    let (old_statuses, new_statuses) = (successes(old_op), successes(new_op));
    if old_statuses != new_statuses {
        changes.breaking(format!(
            "success status changed from {} to {}",
            old_statuses.join(", "),
            new_statuses.join(", ")
        ));
        return;
    }
    for status in &old_statuses {
        let schema = |op: &Value| {
            op["responses"][status]
                .pointer("/content/application~1json/schema")
                .cloned()
                .unwrap_or(Value::Null)
        };
        compare_schema(
            &schema(old_op),
            &schema(new_op),
            "response",
            Direction::Response,
            changes,
        );
    }
}

/// A schema's type as text: `string`, `integer (int32)`, `any JSON`...
fn kind(schema: &Value) -> String {
    if schema.is_null() {
        return "no body".to_owned();
    }
    let base = match schema.get("type").and_then(Value::as_str) {
        Some(t) => t.to_owned(),
        None if schema.get("oneOf").is_some() => "one of several types".to_owned(),
        None if schema.get("properties").is_some() => "object".to_owned(),
        None => "any JSON".to_owned(),
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base} ({format})"),
        None => base,
    }
}

fn enum_values(schema: &Value, key: &str) -> BTreeSet<String> {
    schema[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn required(schema: &Value) -> BTreeSet<String> {
    enum_values(schema, "required")
}

fn compare_schema(old: &Value, new: &Value, at: &str, dir: Direction, changes: &mut Changes) {
    let (old_kind, new_kind) = (kind(old), kind(new));
    if old_kind != new_kind {
        changes.breaking(format!("{at} retyped from {old_kind} to {new_kind}"));
        return;
    }
    // Enum values: non-exhaustive in requests, strings in responses.
    for (key, response_side) in [("enum", false), ("x-runalloy-enum", true)] {
        let (before, after) = (enum_values(old, key), enum_values(new, key));
        for gone in before.difference(&after) {
            let what = format!("{at}: enum value `{gone}` removed");
            if response_side || dir == Direction::Response {
                changes.safe(format!("{what} (responses decode enums as strings)"));
            } else {
                changes.breaking(what);
            }
        }
        for added in after.difference(&before) {
            let why = if response_side || dir == Direction::Response {
                " (responses decode enums as strings)"
            } else {
                " (the generated enum is non-exhaustive)"
            };
            changes.safe(format!("{at}: enum value `{added}` added{why}"));
        }
    }
    if old_kind == "array" {
        compare_schema(
            &old["items"],
            &new["items"],
            &format!("{at}[]"),
            dir,
            changes,
        );
        return;
    }
    let props = |s: &Value| s["properties"].as_object().cloned().unwrap_or_default();
    let (old_props, new_props) = (props(old), props(new));
    let (old_required, new_required) = (required(old), required(new));
    for (name, old_prop) in &old_props {
        let field = format!("{at}.{name}");
        let Some(new_prop) = new_props.get(name) else {
            changes.breaking(format!("{field} removed"));
            continue;
        };
        match (old_required.contains(name), new_required.contains(name)) {
            (true, false) => changes.breaking(format!(
                "{field} made optional (the generated field becomes an Option)"
            )),
            (false, true) => changes.breaking(format!(
                "{field} made required (the generated field is no longer an Option)"
            )),
            _ => {}
        }
        compare_schema(old_prop, new_prop, &field, dir, changes);
    }
    for name in new_props.keys().filter(|n| !old_props.contains_key(*n)) {
        let field = format!("{at}.{name}");
        match (dir, new_required.contains(name)) {
            (Direction::Response, _) => changes.safe(format!("{field} added")),
            (Direction::Request, true) => changes.breaking(format!("{field} added as required")),
            (Direction::Request, false) => {
                changes.safe(format!("{field} added, optional; a new builder setter"))
            }
        }
    }
}
