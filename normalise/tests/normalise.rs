//! The spec normalisation that the library's build runs, tested on its own:
//! each rewrite, and a clear error for each spec it cannot repair.

use runalloy_embedded_normalise::restate_31;
use runalloy_embedded_normalise::{SpecError, normalise};
use serde_json::{Value, json};

/// The library's checked-in spec: the one YAML file in the repository's
/// `openapi/`, as the build finds it.
fn checked_in() -> Value {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi");
    let mut specs = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"));
    let spec = specs.next().expect("a spec in openapi/");
    assert!(specs.next().is_none(), "one spec in openapi/");
    serde_norway::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap()
}

fn error_of(spec: Value) -> String {
    match normalise(spec) {
        Err(SpecError(why)) => why,
        Ok(_) => panic!("expected the spec to be refused"),
    }
}

fn op<'a>(spec: &'a Value, path: &str, method: &str) -> &'a Value {
    &spec["paths"][path][method]
}

#[test]
fn the_checked_in_spec_yields_the_38_operations_of_the_2025_09_pages() {
    let n = normalise(checked_in()).unwrap();
    let ops: Vec<(&str, &str, &str)> = n
        .operations
        .iter()
        .map(|o| (o.id.as_str(), o.method.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("activate-a-workflow", "PUT", "/workflows/activate"),
            ("batch-create-users", "POST", "/users/batch"),
            (
                "complete-installation",
                "POST",
                "/headless/completeInstallation"
            ),
            ("create-a-credential", "POST", "/headless/credentials"),
            ("create-a-user", "POST", "/users"),
            (
                "credential-medata-by-app",
                "GET",
                "/metadata/credentials/{credentialName}"
            ),
            ("deactivate-a-workflow", "PUT", "/workflows/deactivate"),
            (
                "delete-a-credential",
                "DELETE",
                "/users/{userId}/credentials/{credentialId}"
            ),
            ("delete-a-user", "DELETE", "/users/{userId}"),
            ("delete-logs-for-a-user", "DELETE", "/users/{userId}/logs"),
            ("delete-workflow", "DELETE", "/workflows/{workflowId}"),
            (
                "disable-all-workflows-for-a-user",
                "PUT",
                "/users/{userId}/deactivate-workflows"
            ),
            ("edit-installation", "POST", "/headless/editInstallation"),
            ("find-a-workflow", "GET", "/workflows/{workflowId}"),
            ("generate-jwt-token", "GET", "/users/{userId}/token"),
            ("generate-oauth-link", "GET", "/headless/oauthUrl"),
            ("get-a-user", "GET", "/users/{userId}"),
            ("get-an-integration", "GET", "/integrations/{integrationId}"),
            ("get-app-actions-usage", "GET", "/analytics/usage"),
            ("get-credential-metadata", "GET", "/metadata/credentials"),
            (
                "get-detail-usage-time",
                "GET",
                "/analytics/detail-usage-time"
            ),
            (
                "get-detail-usage-user",
                "GET",
                "/analytics/detail-usage-user"
            ),
            ("get-logs", "GET", "/logs"),
            ("get-logs-by-id", "GET", "/logs/{id}"),
            (
                "get-workflow-analytics",
                "GET",
                "/workflows/{workflowId}/analytics"
            ),
            (
                "get-workflow-errors",
                "GET",
                "/workflows/{workflowId}/errors"
            ),
            ("get-workflow-logs", "GET", "/workflows/{workflowId}/logs"),
            ("getAllInstallations", "GET", "/installations"),
            ("getInstallation", "GET", "/installations/{installationId}"),
            ("list-all-users", "GET", "/users"),
            ("list-events", "GET", "/events"),
            ("list-integrations", "GET", "/integrations"),
            (
                "list-user-credentials",
                "GET",
                "/credentials/users/{userId}"
            ),
            (
                "list-users-by-workflowid",
                "GET",
                "/workflows/{workflowId}/users"
            ),
            ("run-event", "POST", "/run/event"),
            ("run-workflow", "POST", "/run/workflow"),
            ("start-installation", "POST", "/headless/startInstallation"),
            ("update-a-user", "PUT", "/users/{userId}"),
        ]
    );
    assert_eq!(n.api_version, "2025-09");
}

#[test]
fn the_token_operations_query_user_id_becomes_a_path_parameter() {
    let n = normalise(checked_in()).unwrap();
    assert_query_variable_became_path(&n, "generate-jwt-token", "/users/{userId}/token", "get");
}

#[test]
fn operations_without_the_version_header_are_noted_and_still_send_it() {
    let n = normalise(checked_in()).unwrap();
    let noted: Vec<&String> = n
        .rewrites
        .iter()
        .filter(|r| r.contains("declares no x-api-version header"))
        .collect();
    assert_eq!(noted.len(), 2, "{noted:?}");
    assert!(
        noted[0].starts_with("operation `get-logs` (GET /logs)"),
        "{noted:?}"
    );
    assert!(
        noted[1].starts_with("operation `get-logs-by-id` (GET /logs/{id})"),
        "{noted:?}"
    );
}

#[test]
fn an_example_written_as_a_json_string_becomes_that_json() {
    let spec = minimal(
        json!("2025-09"),
        json!({"operationId": "o",
            "parameters": [{"name": "userId", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"type": "object"},
            "examples": {
                "Result": {"value": "{\n  \"activated\": false\n}"},
                "Token": {"value": "XXXX.YYYY.ZZZZ"},
                "Broken": {"value": "{\"a\": 1,}"}
            },
            "example": "[1, 2]"
        }}}}}),
    );
    let n = normalise(spec).unwrap();
    let media = &n.spec["paths"]["/users/{userId}"]["get"]["responses"]["200"]["content"]["application/json"];
    assert_eq!(
        media["examples"]["Result"]["value"],
        json!({"activated": false})
    );
    // A bare string, and text that is not valid JSON, stay as published.
    assert_eq!(media["examples"]["Token"]["value"], json!("XXXX.YYYY.ZZZZ"));
    assert_eq!(media["examples"]["Broken"]["value"], json!("{\"a\": 1,}"));
    assert_eq!(media["example"], json!([1, 2]));
    assert_eq!(
        n.operations[0].example.as_deref(),
        Some(r#"{"activated":false}"#)
    );
    // The checked-in spec has one: deactivate-a-workflow's, from 2024-03.
    let n = normalise(checked_in()).unwrap();
    let deactivate = n
        .operations
        .iter()
        .find(|o| o.id == "deactivate-a-workflow")
        .unwrap();
    assert_eq!(
        deactivate.example.as_deref(),
        Some(r#"{"activated":false}"#)
    );
}

#[test]
fn response_enums_are_opened_and_request_enums_kept() {
    let n = normalise(checked_in()).unwrap();
    let mode = &op(&n.spec, "/logs/{id}", "get")["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]["data"]["properties"]["executionMode"];
    assert_eq!(
        mode,
        &json!({"type": "string", "example": "cli", "x-runalloy-enum":
            ["cli", "error", "internal", "manual", "retry", "trigger", "webhook"]})
    );
    assert!(n.rewrites.iter().any(|r| r.contains("get-logs-by-id")
        && r.contains("enum at `/data/executionMode` is read as any string")));
    // A query enum checks what is sent, so it stays closed.
    let sort_by = &op(&n.spec, "/logs", "get")["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sortBy")
        .unwrap()["schema"]["enum"];
    assert_eq!(
        sort_by,
        &json!(["createdAt", "completedAt", "message", "userId"])
    );
}

#[test]
fn the_operation_table_records_parameters_and_bodies() {
    let n = normalise(checked_in()).unwrap();
    let logs = n
        .operations
        .iter()
        .find(|o| o.id == "get-workflow-logs")
        .unwrap();
    let params: Vec<(&str, &str, bool, &str)> = logs
        .params
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.location.as_str(),
                p.required,
                p.kind.as_str(),
            )
        })
        .collect();
    assert_eq!(
        params,
        [
            ("workflowId", "path", true, "string"),
            ("userId", "query", false, "string"),
            ("page", "query", false, "integer"),
            ("limit", "query", false, "integer"),
            ("order", "query", false, "string"),
        ]
    );
    assert!(logs.body.is_none());
    let edit = n
        .operations
        .iter()
        .find(|o| o.id == "edit-installation")
        .unwrap();
    let body = edit.body.as_ref().unwrap();
    assert!(body.required);
    let schema: Value = serde_json::from_str(&body.schema).unwrap();
    assert_eq!(schema["required"], json!(["userId", "integrationId"]));
    let update = n
        .operations
        .iter()
        .find(|o| o.id == "update-a-user")
        .unwrap();
    // Every body is required, by our overlay (openapi/README.md).
    assert!(update.body.as_ref().unwrap().required);
}

#[test]
fn wrapper_headers_are_stripped_and_other_parameters_kept() {
    let n = normalise(checked_in()).unwrap();
    for o in &n.operations {
        let params = op(&n.spec, &o.path, &o.method.to_lowercase())["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for p in &params {
            assert_ne!(p["in"], "header", "{}: {p}", o.id);
        }
    }
    let list = &op(&n.spec, "/users", "get")["parameters"];
    assert_eq!(
        list,
        &json!([{
            "name": "parentWorkflowId",
            "in": "query",
            "description": "You can pass a parentWorkflowId if you wish to list users for a specific workflow.",
            "schema": {"type": "string"}
        }])
    );
}

#[test]
fn delete_logs_user_id_becomes_a_path_parameter() {
    let n = normalise(checked_in()).unwrap();
    assert_query_variable_became_path(
        &n,
        "delete-logs-for-a-user",
        "/users/{userId}/logs",
        "delete",
    );
}

/// `userId`, declared `in: query` on a path with `{userId}` (by the
/// vendor) and `in: path` (by our overlay, for a valid document), is now
/// the operation's one parameter, a required path parameter, and the
/// rewrite says so.
fn assert_query_variable_became_path(
    n: &runalloy_embedded_normalise::Normalised,
    id: &str,
    path: &str,
    method: &str,
) {
    let params = &op(&n.spec, path, method)["parameters"];
    assert_eq!(params.as_array().map(Vec::len), Some(1), "{id}");
    assert_eq!(
        (
            params[0]["name"].as_str(),
            params[0]["in"].as_str(),
            params[0]["required"].as_bool()
        ),
        (Some("userId"), Some("path"), Some(true)),
        "{id}"
    );
    assert!(
        n.rewrites.iter().any(|r| r.contains(id)
            && r.contains("declared both in the path and in the query")
            && r.contains("sends it in both")),
        "{id}"
    );
    // Recorded, so that the client sends the value in the query as well.
    assert_eq!(
        op(&n.spec, path, method)[runalloy_embedded_normalise::ALSO_IN_QUERY],
        json!(["userId"]),
        "{id}"
    );
    let table = n.operations.iter().find(|o| o.id == id).unwrap();
    assert_eq!(table.also_in_query, ["userId"], "{id}");
}

/// A vendor document that declares a path variable only in the query (as
/// 2025-09 does, DEFECTS.md D3) is still repaired without the overlay.
#[test]
fn a_path_variable_declared_only_in_the_query_becomes_a_path_parameter() {
    let mut op = get_user_op();
    op["parameters"][0]["in"] = json!("query");
    op["parameters"][0]["required"] = json!(false);
    let n = normalise(minimal(json!("2025-09"), op)).unwrap();
    let params = &n.spec["paths"]["/users/{userId}"]["get"]["parameters"];
    assert_eq!(params.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (params[0]["in"].as_str(), params[0]["required"].as_bool()),
        (Some("path"), Some(true))
    );
    assert!(
        n.rewrites
            .iter()
            .any(|r| r.contains("declared `in: query`") && r.contains("sent in the query too"))
    );
    let table = n.operations.iter().find(|o| o.id == "get-a-user").unwrap();
    assert_eq!(table.also_in_query, ["userId"]);
}

#[test]
fn only_the_query_declared_path_variables_are_sent_twice() {
    let n = normalise(checked_in()).unwrap();
    let twice: Vec<&str> = n
        .operations
        .iter()
        .filter(|o| !o.also_in_query.is_empty())
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(twice, ["delete-logs-for-a-user", "generate-jwt-token"]);
}

#[test]
fn response_defaults_are_dropped_so_a_missing_field_is_not_a_confirmation() {
    let n = normalise(checked_in()).unwrap();
    let success = &op(&n.spec, "/users/{userId}", "delete")["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"]["success"];
    assert_eq!(success, &json!({"type": "boolean", "example": true}));
    assert!(n.rewrites.iter().any(|r| r
        == "operation `delete-a-user` (DELETE /users/{userId}): the `200` response's default \
            at `/success` (true) is dropped; a field the server did not send reads as absent"));
    // None is left in any response; the rest of the document keeps its own.
    let mut left = Vec::new();
    find_defaults(&n.spec["paths"], "", &mut left);
    assert!(
        left.iter().all(|at| !at.contains("/responses/")),
        "{left:?}"
    );

    // A request's default says what the API assumes when it is left out,
    // and stays; a nested response default goes.
    let mut op = get_user_op();
    op["parameters"][0] = json!({"name": "userId", "in": "path", "required": true,
        "schema": {"type": "string"}});
    op["parameters"].as_array_mut().unwrap().push(
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10}}),
    );
    op["responses"]["200"]["content"] = json!({"application/json": {"schema": {
        "type": "object",
        "properties": {"data": {"type": "array", "items": {"type": "object",
            "properties": {"active": {"type": "boolean", "default": false}}}}}
    }}});
    let n = normalise(minimal(json!("2025-09"), op)).unwrap();
    let get = &n.spec["paths"]["/users/{userId}"]["get"];
    assert_eq!(get["parameters"][1]["schema"]["default"], json!(10));
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"]
            ["properties"]["active"],
        json!({"type": "boolean"})
    );
    assert!(
        n.rewrites
            .iter()
            .any(|r| r.contains("default at `/data/items/active` (false) is dropped")),
        "{:?}",
        n.rewrites
    );
}

fn find_defaults(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{k}");
                if k == "default" {
                    found.push(here.clone());
                }
                find_defaults(v, &here, found);
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                find_defaults(v, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn non_2xx_responses_are_removed_so_401_cannot_become_success() {
    let n = normalise(checked_in()).unwrap();
    let responses = op(&n.spec, "/users/{userId}", "delete")["responses"]
        .as_object()
        .unwrap();
    assert_eq!(responses.keys().collect::<Vec<_>>(), ["200"]);
    assert!(
        n.rewrites
            .iter()
            .any(|r| r.contains("removed the `401` response"))
    );
}

#[test]
fn the_trailing_slash_path_is_merged() {
    let n = normalise(checked_in()).unwrap();
    assert!(n.spec["paths"].get("/users/").is_none());
    assert!(op(&n.spec, "/users", "post").is_object());
    assert!(op(&n.spec, "/users", "get").is_object());
}

fn minimal(version: Value, op: Value) -> Value {
    json!({
        "openapi": "3.0.1",
        "info": {"title": "t", "version": "5.0"},
        "paths": {"/users/{userId}": {"get": op}},
        "components": {"parameters": {"xApiVersion": {
            "name": "x-api-version", "in": "header", "required": true,
            "schema": {"type": "string", "default": version}
        }}}
    })
}

fn get_user_op() -> Value {
    json!({
        "operationId": "get-a-user",
        "parameters": [
            {"name": "userId", "in": "path", "required": true, "schema": {"type": "string"}},
            {"$ref": "#/components/parameters/xApiVersion"}
        ],
        "responses": {"200": {"description": "ok"}}
    })
}

#[test]
fn the_api_version_follows_the_spec() {
    // A spec for another version: this is what build.rs exports as
    // API_VERSION, which the client sends in x-api-version (tests/client/api_version.rs).
    let n = normalise(minimal(json!("2026-03"), get_user_op())).unwrap();
    assert_eq!(n.api_version, "2026-03");
}

#[test]
fn a_spec_without_a_version_default_is_refused() {
    let mut spec = minimal(json!("x"), get_user_op());
    spec["components"]["parameters"]["xApiVersion"]["schema"]
        .as_object_mut()
        .unwrap()
        .remove("default");
    assert!(error_of(spec).contains("no `x-api-version` header parameter with a `schema.default`"));
}

#[test]
fn disagreeing_versions_are_refused() {
    let mut o = get_user_op();
    o["parameters"].as_array_mut().unwrap().push(json!({
        "name": "x-api-version", "in": "header", "schema": {"type": "string", "default": "2024-03"}
    }));
    assert!(error_of(minimal(json!("2025-09"), o)).contains("disagree"));
}

#[test]
fn json_without_schema_decodes_as_any_value() {
    let mut o = get_user_op();
    o["responses"]["200"]["content"] = json!({"application/json": {}});
    let n = normalise(minimal(json!("v"), o)).unwrap();
    assert_eq!(
        op(&n.spec, "/users/{userId}", "get")["responses"]["200"]["content"]["application/json"]["schema"],
        json!({})
    );
}

#[test]
fn mixed_success_kinds_become_raw_bytes() {
    let mut o = get_user_op();
    o["responses"] = json!({
        "200": {"description": "json", "content": {"application/json": {"schema": {"type": "object"}}}},
        "204": {"description": "none"}
    });
    let n = normalise(minimal(json!("v"), o)).unwrap();
    let responses = &op(&n.spec, "/users/{userId}", "get")["responses"];
    assert_eq!(
        responses["200"]["content"],
        json!({"application/octet-stream": {}})
    );
    assert_eq!(
        responses["204"]["content"],
        json!({"application/octet-stream": {}})
    );
}

#[test]
fn unrepairable_specs_name_the_operation_and_the_problem() {
    let mut no_id = get_user_op();
    no_id.as_object_mut().unwrap().remove("operationId");
    assert_eq!(
        error_of(minimal(json!("v"), no_id)),
        "GET /users/{userId}: the operation has no operationId"
    );

    let mut no_param = get_user_op();
    no_param["parameters"].as_array_mut().unwrap().remove(0);
    assert_eq!(
        error_of(minimal(json!("v"), no_param)),
        "operation `get-a-user` (GET /users/{userId}): the path template variable `{userId}` has no parameter"
    );

    let mut dup = minimal(json!("v"), get_user_op());
    dup["paths"]["/users/{userId}"]["delete"] = get_user_op();
    assert!(error_of(dup).contains("operationId `get-a-user` is also used by"));

    let mut v2 = minimal(json!("v"), get_user_op());
    v2["openapi"] = json!("2.0");
    assert!(error_of(v2).contains("only OpenAPI 3.0.x and 3.1.x are read"));

    let mut no_responses = get_user_op();
    no_responses.as_object_mut().unwrap().remove("responses");
    assert!(
        error_of(minimal(json!("v"), no_responses))
            .contains("get-a-user` (GET /users/{userId}): the operation has no `responses`")
    );
}

mod openapi_31 {
    //! OpenAPI 3.1 in, 3.0 to progenitor: each rule on its own, what cannot
    //! be brought down, and the checked-in spec said the 3.1 way.

    use super::{checked_in, error_of, get_user_op, minimal, normalise};
    use serde_json::{Value, json};

    use super::restate_31;

    /// A 3.1 spec whose `get-a-user` answers 200 with `schema`.
    fn with_response_schema(schema: Value) -> Value {
        let mut op = get_user_op();
        op["responses"]["200"]["content"] = json!({"application/json": {"schema": schema}});
        let mut spec = minimal(json!("2025-09"), op);
        spec["openapi"] = json!("3.1.0");
        spec
    }

    /// The normalised 200 schema of [`with_response_schema`], and the rewrites.
    fn brought_down(schema: Value) -> (Value, Vec<String>) {
        let n = normalise(with_response_schema(schema)).unwrap();
        assert_eq!(n.spec["openapi"], json!("3.0.3"));
        let out = n.spec["paths"]["/users/{userId}"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"]
            .clone();
        (out, n.rewrites)
    }

    fn noted(rewrites: &[String], text: &str) -> bool {
        rewrites.iter().any(|r| r.contains(text))
    }

    #[test]
    fn a_type_list_with_null_becomes_nullable() {
        let (s, rewrites) = brought_down(json!({"type": "object", "properties": {
            "name": {"type": ["string", "null"]}}}));
        assert_eq!(
            s["properties"]["name"],
            json!({"type": "string", "nullable": true})
        );
        assert!(
            noted(
                &rewrites,
                "`/paths/~1users~1{userId}/get/responses/200/content/application~1json/schema/properties/name`: \
             `type: [\"string\", \"null\"]` is now `type: \"string\", nullable: true`"
            ),
            "{rewrites:?}"
        );
    }

    #[test]
    fn an_examples_list_becomes_example() {
        let (s, rewrites) = brought_down(json!({"type": "string", "examples": ["a", "b"]}));
        assert_eq!(s, json!({"type": "string", "example": "a"}));
        assert!(noted(&rewrites, "the `examples` list is now `example`"));
    }

    #[test]
    fn const_becomes_a_one_value_enum() {
        let (s, rewrites) = brought_down(json!({"type": "string", "const": "ok"}));
        assert_eq!(s["x-runalloy-enum"], json!(["ok"]), "{s}"); // then opened, as every response enum
        assert!(noted(
            &rewrites,
            "`const: \"ok\"` is now a one-value `enum`"
        ));
    }

    #[test]
    fn numeric_exclusive_bounds_take_the_3_0_form() {
        let (s, _) =
            brought_down(json!({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}));
        assert_eq!(
            s,
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true,
                   "maximum": 10, "exclusiveMaximum": true})
        );
        // With an inclusive bound that is tighter, that one holds.
        let (s, _) = brought_down(json!({"type": "integer", "minimum": 5, "exclusiveMinimum": 0}));
        assert_eq!(s, json!({"type": "integer", "minimum": 5}));
    }

    #[test]
    fn a_ref_keeps_its_target_and_loses_its_annotations() {
        let mut spec = with_response_schema(json!({"$ref": "#/components/schemas/User",
            "description": "the user"}));
        spec["components"]["schemas"] = json!({"User": {"type": "object",
            "properties": {"id": {"type": "string"}}}});
        let n = normalise(spec).unwrap();
        let s = &n.spec["paths"]["/users/{userId}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(s, &json!({"$ref": "#/components/schemas/User"}));
        assert!(noted(&n.rewrites, "dropped `description` beside `$ref`"));

        // Any other keyword beside it is kept, through allOf.
        let (s, _) = brought_down(json!({"$ref": "#/components/schemas/User", "nullable": true}));
        assert_eq!(
            s,
            json!({"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": true})
        );
    }

    #[test]
    fn top_level_3_1_fields_are_dropped_with_a_note() {
        let mut spec = with_response_schema(json!({"type": "object"}));
        spec["webhooks"] = json!({"userDeleted": {"post": {}}});
        spec["jsonSchemaDialect"] = json!("https://spec.openapis.org/oas/3.1/dialect/base");
        spec["info"]["summary"] = json!("Embedded");
        let n = normalise(spec).unwrap();
        for gone in ["webhooks", "jsonSchemaDialect"] {
            assert!(n.spec.get(gone).is_none(), "{gone}");
        }
        assert!(n.spec["info"].get("summary").is_none());
        assert!(noted(&n.rewrites, "dropped `/webhooks` (1 declared)"));
        assert!(noted(&n.rewrites, "dropped `/jsonSchemaDialect`"));
        assert!(noted(&n.rewrites, "dropped `/info/summary`"));
        assert!(noted(&n.rewrites, "brought OpenAPI 3.1.0 down to 3.0.3"));
    }

    #[test]
    fn what_3_0_cannot_say_is_an_error_naming_its_pointer() {
        let at = "/paths/~1users~1{userId}/get/responses/200/content/application~1json/schema";
        let cases = [
            (
                json!({"type": "array", "prefixItems": [{"type": "string"}]}),
                format!("`{at}/prefixItems` uses `prefixItems`, which OpenAPI 3.0 cannot express"),
            ),
            (
                json!({"type": "array", "items": [{"type": "string"}]}),
                format!("`{at}/items` is a list (a tuple), which OpenAPI 3.0 cannot express"),
            ),
            (
                json!({"type": ["string", "integer"]}),
                format!(
                    "`{at}/type` allows several types (\"string\", \"integer\"), which OpenAPI 3.0 cannot express as one"
                ),
            ),
            (
                json!({"type": "object", "properties": {"a": {"if": {"type": "string"}}}}),
                format!("`{at}/properties/a/if` uses `if`, which OpenAPI 3.0 cannot express"),
            ),
        ];
        for (schema, why) in cases {
            assert_eq!(
                error_of(with_response_schema(schema)),
                format!("the OpenAPI 3.1.0 document cannot be brought down to 3.0: {why}")
            );
        }
        let mut other_dialect = with_response_schema(json!({"type": "object"}));
        other_dialect["jsonSchemaDialect"] = json!("https://json-schema.org/draft/2020-12/schema");
        assert!(
            error_of(other_dialect).contains(
                "`/jsonSchemaDialect` is \"https://json-schema.org/draft/2020-12/schema\""
            )
        );
        let mut four = with_response_schema(json!({"type": "object"}));
        four["openapi"] = json!("4.0.0");
        assert_eq!(
            error_of(four),
            "the spec declares `openapi: 4.0.0`; only OpenAPI 3.0.x and 3.1.x are read"
        );
    }

    #[test]
    fn the_checked_in_spec_said_in_3_1_normalises_to_the_same_document() {
        let thirty = checked_in();
        let thirty_one = restate_31::to_openapi_31(&thirty);
        assert_ne!(thirty_one, thirty);
        assert_eq!(thirty_one["openapi"], json!("3.1.0"));
        let (a, b) = (normalise(thirty).unwrap(), normalise(thirty_one).unwrap());
        // progenitor reads only `spec`: the same document generates the
        // same Rust (.ci/spec-checks builds both and compares the output).
        let mut b_spec = b.spec.clone();
        b_spec["openapi"] = a.spec["openapi"].clone();
        assert_eq!(b_spec, a.spec);
        assert_eq!(b.operations, a.operations);
        assert_eq!(b.api_version, a.api_version);
    }
}
