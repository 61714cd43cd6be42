//! `cargo xtask spec diff`: one test per rule on pairs of small specs, and
//! the 2026-03 rehearsal, asserted in full.

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use xtask::diff::{Side, diff_specs};

/// A spec with one operation, `GET /things/{id}` (`get-thing`), unless
/// `edit` changes it.
fn spec(edit: impl FnOnce(&mut Value)) -> Value {
    let mut spec = json!({
        "openapi": "3.0.1",
        "info": {"title": "Embedded 2025-09", "version": "5.0"},
        "servers": [{"url": "https://production.runalloy.com"}],
        "paths": {"/things/{id}": {"post": {
            "operationId": "get-thing",
            "parameters": [
                {"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string"}},
                {"$ref": "#/components/parameters/xApiVersion"},
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "page", "in": "query", "schema": {"type": "integer"}},
                {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}}
            ],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}, "note": {"type": "string"}}
            }}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "count": {"type": "integer"},
                    "mode": {"type": "string", "enum": ["cli", "manual"]}
                }
            }}}}}
        }}},
        "components": {"parameters": {"xApiVersion": {
            "name": "x-api-version", "in": "header", "required": true,
            "schema": {"type": "string", "default": "2025-09"}
        }}}
    });
    edit(&mut spec);
    spec
}

fn op(spec: &mut Value) -> &mut Value {
    &mut spec["paths"]["/things/{id}"]["post"]
}

fn params(spec: &mut Value) -> &mut Vec<Value> {
    op(spec)["parameters"].as_array_mut().unwrap()
}

fn body(spec: &mut Value) -> &mut Value {
    &mut op(spec)["requestBody"]["content"]["application/json"]["schema"]
}

fn response(spec: &mut Value) -> &mut Value {
    &mut op(spec)["responses"]["200"]["content"]["application/json"]["schema"]
}

/// The report of changing the base spec with `edit`, minus its last line,
/// as `(breaking lines, non-breaking lines, semver)`.
fn changes(edit: impl FnOnce(&mut Value)) -> (Vec<String>, Vec<String>, String) {
    let report = diff_specs(spec(|_| {}), spec(edit)).unwrap();
    let line = |c: &xtask::diff::Change| format!("{} {}: {}", c.operation, c.at, c.what);
    (
        report
            .changes
            .iter()
            .filter(|c| c.breaking)
            .map(line)
            .collect(),
        report
            .changes
            .iter()
            .filter(|c| !c.breaking)
            .map(line)
            .collect(),
        report.semver().to_owned(),
    )
}

fn breaking(edit: impl FnOnce(&mut Value)) -> String {
    let (breaking, safe, semver) = changes(edit);
    assert_eq!(
        (breaking.len(), safe.len(), semver.as_str()),
        (1, 0, "major"),
        "{breaking:?} {safe:?}"
    );
    breaking[0].clone()
}

fn non_breaking(edit: impl FnOnce(&mut Value)) -> String {
    let (breaking, safe, semver) = changes(edit);
    assert_eq!(
        (breaking.len(), safe.len(), semver.as_str()),
        (0, 1, "minor"),
        "{breaking:?} {safe:?}"
    );
    safe[0].clone()
}

const AT: &str = "get-thing POST /things/{id}";

#[test]
fn no_change_is_a_patch() {
    assert_eq!(changes(|_| {}), (vec![], vec![], "patch".to_owned()));
}

#[test]
fn operations_removed_added_or_moved() {
    let (b, s, semver) = changes(|spec| {
        let thing = spec["paths"]["/things/{id}"].take();
        spec["paths"] = json!({"/other/{id}": {"post": thing["post"].clone()}});
        spec["paths"]["/other/{id}"]["post"]["operationId"] = json!("get-other");
    });
    assert_eq!(b, [format!("{AT}: operation removed")]);
    assert_eq!(s, ["get-other POST /other/{id}: operation added"]);
    assert_eq!(semver, "major");
    assert_eq!(
        breaking(|spec| {
            let thing = spec["paths"]["/things/{id}"]["post"].take();
            spec["paths"]["/things/{id}"] = json!({"put": thing});
        }),
        "get-thing PUT /things/{id}: moved from POST /things/{id} to PUT /things/{id}"
    );
}

#[test]
fn parameters() {
    assert_eq!(
        breaking(|s| params(s).push(
            json!({"name": "userId", "in": "query", "required": true, "schema": {"type": "string"}})
        )),
        format!("{AT}: parameter `userId` added as required (query)")
    );
    assert_eq!(
        non_breaking(|s| params(s)
            .push(json!({"name": "userId", "in": "query", "schema": {"type": "string"}}))),
        format!("{AT}: parameter `userId` added, optional (query); a new setter")
    );
    assert_eq!(
        breaking(|s| {
            params(s).remove(3);
        }),
        format!("{AT}: parameter `page` (query) removed")
    );
    assert_eq!(
        breaking(|s| params(s)[3]["required"] = json!(true)),
        format!("{AT}: parameter `page` made required")
    );
    assert_eq!(
        breaking(|s| {
            params(s)[3]["in"] = json!("header");
        }),
        format!("{AT}: parameter `page` moved from query to header")
    );
    assert_eq!(
        breaking(|s| params(s)[3]["schema"] = json!({"type": "string"})),
        format!("{AT}: parameter `page` retyped from integer to string")
    );
    assert_eq!(
        breaking(|s| params(s)[4]["schema"]["enum"] = json!(["asc"])),
        format!("{AT}: parameter `order`: enum value `desc` removed")
    );
    assert_eq!(
        non_breaking(|s| params(s)[4]["schema"]["enum"] = json!(["asc", "desc", "random"])),
        format!(
            "{AT}: parameter `order`: enum value `random` added (the generated enum is non-exhaustive)"
        )
    );
    // Required to optional: the base spec is the new side here.
    let required = spec(|s| params(s)[3]["required"] = json!(true));
    let report = diff_specs(required, spec(|_| {})).unwrap();
    assert_eq!(report.semver(), "minor");
    assert_eq!(
        report.changes[0].what,
        "parameter `page` made optional (its setter takes the same values)"
    );
}

#[test]
fn request_body_properties() {
    assert_eq!(
        breaking(|s| {
            body(s)["properties"]["email"] = json!({"type": "string"});
            body(s)["required"] = json!(["name", "email"]);
        }),
        format!("{AT}: body.email added as required")
    );
    assert_eq!(
        non_breaking(|s| body(s)["properties"]["email"] = json!({"type": "string"})),
        format!("{AT}: body.email added, optional; a new builder setter")
    );
    assert_eq!(
        breaking(|s| {
            body(s)["properties"]
                .as_object_mut()
                .unwrap()
                .remove("note");
        }),
        format!("{AT}: body.note removed")
    );
    assert_eq!(
        breaking(|s| body(s)["properties"]["note"] = json!({"type": "object"})),
        format!("{AT}: body.note retyped from string to object")
    );
}

#[test]
fn response_properties() {
    assert_eq!(
        breaking(|s| {
            response(s)["properties"]
                .as_object_mut()
                .unwrap()
                .remove("count");
        }),
        format!("{AT}: response.count removed")
    );
    assert_eq!(
        breaking(|s| response(s)["properties"]["count"] = json!({"type": "string"})),
        format!("{AT}: response.count retyped from integer to string")
    );
    assert_eq!(
        breaking(|s| response(s)["required"] = json!([])),
        format!("{AT}: response.id made optional (the generated field becomes an Option)")
    );
    assert_eq!(
        non_breaking(|s| response(s)["properties"]["label"] = json!({"type": "string"})),
        format!("{AT}: response.label added")
    );
    assert_eq!(
        non_breaking(
            |s| response(s)["properties"]["mode"]["enum"] = json!(["cli", "manual", "webhook"])
        ),
        format!(
            "{AT}: response.mode: enum value `webhook` added (responses decode enums as strings)"
        )
    );
}

#[test]
fn a_shared_component_schema_is_compared_where_it_is_used() {
    let shared = |s: &mut Value, count: &str| {
        s["components"]["schemas"] =
            json!({"Thing": {"type": "object", "properties": {"count": {"type": count}}}});
        *response(s) = json!({"$ref": "#/components/schemas/Thing"});
    };
    let report = diff_specs(
        spec(|s| shared(s, "integer")),
        spec(|s| shared(s, "string")),
    )
    .unwrap();
    let lines: Vec<String> = report
        .changes
        .iter()
        .map(|c| format!("{} {}", c.operation, c.what))
        .collect();
    assert_eq!(
        lines,
        ["get-thing response.count retyped from integer to string"]
    );
}

#[test]
fn success_status_version_and_server() {
    assert_eq!(
        breaking(|s| {
            let ok = op(s)["responses"]["200"].take();
            op(s)["responses"] = json!({"201": ok});
        }),
        format!("{AT}: success status changed from 200 to 201")
    );
    assert_eq!(
        breaking(
            |s| s["components"]["parameters"]["xApiVersion"]["schema"]["default"] =
                json!("2026-03")
        ),
        "(spec) : x-api-version default changed from 2025-09 to 2026-03"
    );
    assert_eq!(
        breaking(|s| s["servers"][0]["url"] = json!("https://eu.runalloy.com")),
        "(spec) : servers changed from [{\"url\":\"https://production.runalloy.com\"}] to [{\"url\":\"https://eu.runalloy.com\"}]"
    );
}

#[test]
fn a_spec_the_build_cannot_use_is_named() {
    let broken = spec(|s| s["openapi"] = json!("2.0"));
    let (side, why) = diff_specs(spec(|_| {}), broken).unwrap_err();
    assert_eq!(side, Side::New);
    assert_eq!(
        why,
        "not a spec the build can use: the spec declares `openapi: 2.0`; \
         only OpenAPI 3.0.x and 3.1.x are read"
    );
    // A 3.1 schema that 3.0 cannot express is named by its pointer.
    let tuple = spec(|s| {
        s["openapi"] = json!("3.1.0");
        body(s)["properties"]["pair"] =
            json!({"type": "array", "prefixItems": [{"type": "string"}]});
    });
    let (side, why) = diff_specs(tuple, spec(|_| {})).unwrap_err();
    assert_eq!(side, Side::Old);
    assert!(
        why.ends_with(
            "`/paths/~1things~1{id}/post/requestBody/content/application~1json/schema/properties/pair/prefixItems` \
             uses `prefixItems`, which OpenAPI 3.0 cannot express"
        ),
        "{why}"
    );
}

fn run(args: &[&str]) -> (i32, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(root)
        .args(["spec", "diff"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const OURS: &str = "openapi/embedded-2025-09.yaml";
const REHEARSAL: &str = "xtask/tests/data/embedded-2026-03.yaml";

#[test]
fn the_2026_03_rehearsal_report_in_full() {
    let (code, stdout, stderr) = run(&[OURS, REHEARSAL]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stdout,
        "breaking:\n\
         \x20 (spec): x-api-version default changed from 2025-09 to 2026-03\n\
         \x20 find-a-workflow GET /workflows/{workflowId}: response.data.version retyped from integer to string\n\
         \x20 get-workflow-analytics GET /workflows/{workflowId}/analytics: operation removed\n\
         \x20 get-workflow-logs GET /workflows/{workflowId}/logs: parameter `userId` made required\n\
         non-breaking:\n\
         \x20 list-apps GET /metadata/apps: operation added\n\
         semver: major\n"
    );
    let (code, stdout, _) = run(&[OURS, REHEARSAL, "--format", "json"]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report,
        json!({
            "breaking": [
                {"operation": "(spec)", "at": "", "change": "x-api-version default changed from 2025-09 to 2026-03"},
                {"operation": "find-a-workflow", "at": "GET /workflows/{workflowId}", "change": "response.data.version retyped from integer to string"},
                {"operation": "get-workflow-analytics", "at": "GET /workflows/{workflowId}/analytics", "change": "operation removed"},
                {"operation": "get-workflow-logs", "at": "GET /workflows/{workflowId}/logs", "change": "parameter `userId` made required"}
            ],
            "nonBreaking": [
                {"operation": "list-apps", "at": "GET /metadata/apps", "change": "operation added"}
            ],
            "notes": [],
            "semver": "major"
        })
    );
}

#[test]
fn exit_codes_0_without_breaking_changes_and_2_for_unreadable_input() {
    let (code, stdout, _) = run(&[OURS, OURS]);
    assert_eq!(
        (code, stdout.as_str()),
        (
            0,
            "breaking:\n  (none)\nnon-breaking:\n  (none)\nsemver: patch\n"
        )
    );
    // Going back from the rehearsal adds an operation and removes one:
    // breaking too, and the other way round from above.
    let (code, _, _) = run(&[REHEARSAL, OURS]);
    assert_eq!(code, 1);
    let (code, stdout, stderr) = run(&[OURS, "no/such/spec.yaml"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        "error: no/such/spec.yaml: No such file or directory (os error 2)\n"
    );
    let (code, _, stderr) = run(&[OURS, "README.md"]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: README.md: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

use runalloy_embedded_normalise::restate_31;

fn load(relative: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    xtask::read_yaml_as_json(&path).unwrap()
}

#[test]
fn the_same_api_said_in_openapi_3_1_is_a_patch() {
    let ours = load(OURS);
    let report = diff_specs(ours.clone(), restate_31::to_openapi_31(&ours)).unwrap();
    assert_eq!(
        report.text(),
        "breaking:\n  (none)\nnon-breaking:\n  (none)\nsemver: patch\n"
    );
}

/// The vendor's complete previous version, OpenAPI 3.1.0, versioned in the
/// path of its server URL: a copy of the vendor's document, kept as a test
/// fixture (relative to the repository's root, where `run` runs).
const OLDER: &str = "xtask/tests/spec/fixtures/embedded-2024-03.json";

#[test]
fn from_2024_03_the_scheme_change_is_breaking_and_every_operation_added_or_removed_is_named() {
    let (code, stdout, stderr) = run(&[OLDER, OURS]);
    assert_eq!(code, 1, "{stderr}");
    let breaking = stdout
        .split("non-breaking:")
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        breaking.contains(
            "  (spec): versioning changed from the server URL's path \
             (https://embedded.runalloy.com/2024-03/) to the x-api-version header (2025-09)\n"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("semver: major\n"));

    let ids = |spec: &Value| -> std::collections::BTreeSet<String> {
        spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
            .collect()
    };
    let (older, ours) = (ids(&load(OLDER)), ids(&load(OURS)));
    let removed: Vec<&String> = older.difference(&ours).collect();
    let added: Vec<&String> = ours.difference(&older).collect();
    assert!(!removed.is_empty() && !added.is_empty());
    for id in removed {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  {id} ")) && l.ends_with(": operation removed")),
            "{id} not named as removed:\n{stdout}"
        );
    }
    for id in added {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("  {id} ")) && l.ends_with(": operation added")),
            "{id} not named as added:\n{stdout}"
        );
    }
}

#[test]
fn an_error_response_dropped_or_added_is_a_note_not_a_change() {
    let with_400 = spec(|s| {
        op(s)["responses"]["400"] = json!({"description": "bad"});
    });
    let report = diff_specs(with_400.clone(), spec(|_| {})).unwrap();
    assert!(report.changes.is_empty(), "{:?}", report.changes);
    assert_eq!(report.semver(), "patch");
    assert_eq!(
        report.text(),
        "breaking:\n  (none)\nnon-breaking:\n  (none)\n\
         notes (not breaking: every non-2xx reaches the caller as one Error):\n\
         \x20 get-thing POST /things/{id}: the documented 400 response is dropped\n\
         semver: patch\n"
    );
    let report = diff_specs(spec(|_| {}), with_400).unwrap();
    assert_eq!(
        report.json()["notes"],
        json!([{"operation": "get-thing", "at": "POST /things/{id}",
                "change": "a 400 response is documented"}])
    );
}

/// The vendor's own 2025-09 documents, as they were before our overlay: the
/// assembled spec with every error response our overlay documents taken
/// out (the seed's 401 of delete-a-user is the vendor's).
fn vendors_2025_09() -> Value {
    let mut spec = load(OURS);
    for item in spec["paths"].as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            let ours = op["operationId"] != "delete-a-user";
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.retain(|status, _| status == "200" || (status == "401" && !ours));
            }
        }
    }
    spec
}

#[test]
fn from_2024_03_every_documented_error_response_the_vendor_dropped_is_noted() {
    let report = diff_specs(load(OLDER), vendors_2025_09()).unwrap();
    let notes: Vec<String> = report
        .notes
        .iter()
        .map(|c| format!("{}: {}", c.operation, c.what))
        .collect();
    assert_eq!(
        notes,
        [
            "batch-create-users: the documented 400 response is dropped",
            "batch-create-users: the documented 401 response is dropped",
            "complete-installation: the documented 400 response is dropped",
            "create-a-user: the documented 401 response is dropped",
            "credential-medata-by-app: the documented 400 response is dropped",
            "get-an-integration: the documented 400 response is dropped",
            "get-workflow-errors: the documented 400 response is dropped",
            "list-all-users: the documented 401 response is dropped",
            "list-events: the documented 400 response is dropped",
            "list-integrations: the documented 400 response is dropped",
            "list-users-by-workflowid: the documented 400 response is dropped",
            "start-installation: the documented 400 response is dropped",
            "update-a-user: the documented 401 response is dropped",
        ]
    );
    assert!(report.notes.iter().all(|c| !c.breaking));
}
