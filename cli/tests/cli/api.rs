//! `runalloy-embedded api list` and `api call`, run as a user would.

use crate::common;

use common::operations::{assert_received, example, sample_body};
use common::{TEST_KEY, TestServer, json};
use runalloy_embedded::OPERATIONS;
use runalloy_embedded_fake::FakeAlloy;
use serde_json::Value;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

fn cli(base_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
    cmd.args(args)
        .env("ALLOY_API_KEY", TEST_KEY)
        .env("ALLOY_BASE_URL", base_url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn api_list_shows_every_operation_and_its_parameters_without_a_key() {
    let mut cmd = cli("http://127.0.0.1:9", &["api", "list"]);
    cmd.env_remove("ALLOY_API_KEY");
    let (code, stdout, stderr) = run(cmd).await;
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stdout.lines().peekable();
    for op in OPERATIONS {
        let head = lines.next().unwrap_or_default();
        assert_eq!(
            head,
            format!("{}  {} {}  {}", op.id, op.method, op.path, op.summary)
        );
        for p in op.params {
            let line = lines.next().unwrap_or_default();
            let required = if p.required { "required" } else { "optional" };
            assert!(
                line.starts_with(&format!(
                    "    --param {}=...  {}, {required}, {}",
                    p.name, p.location, p.kind
                )),
                "{}: {line}",
                op.id
            );
        }
        if let Some(paging) = op.paging {
            assert_eq!(
                lines.next().unwrap_or_default(),
                format!(
                    "    --all  paged: every page, {} items a page, as JSON Lines",
                    paging.page_size
                )
            );
        }
        if let Some(body) = op.body {
            let required = if body.required {
                "required"
            } else {
                "optional"
            };
            assert_eq!(
                lines.next(),
                Some(format!("    --body JSON  {required}").as_str())
            );
            // Then one line per top-level field of the body.
            let schema = op.request_schema().unwrap();
            for _ in schema["properties"].as_object().unwrap() {
                let field = lines.next().unwrap_or_default();
                assert!(field.starts_with("        "), "{}: {field}", op.id);
            }
        }
    }
    assert_eq!(lines.next(), None);
    assert!(stdout.contains("--param sortOrder=...  query, optional, string: asc|desc"));
}

#[tokio::test]
async fn api_list_json_lists_the_same_operations() {
    let (code, stdout, _) = run(cli("http://127.0.0.1:9", &["api", "list", "--json"])).await;
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = OPERATIONS.iter().map(|o| o.id).collect();
    assert_eq!(ids, expected);
    let delete = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "delete-a-credential")
        .unwrap();
    assert_eq!(
        delete["params"][0],
        serde_json::json!({"name": "credentialId", "in": "path", "required": true, "type": "string", "values": []})
    );
}

#[tokio::test]
async fn bad_input_exits_2_naming_the_operation_and_parameter_and_sends_nothing() {
    let server = TestServer::always(json(200, "{}")).await;
    let url = server.url();
    let cases: [(&[&str], &str); 9] = [
        (
            &["api", "call", "delete-a-credential", "--param", "userId=u"],
            "error: invalid input: delete-a-credential: the required path parameter `credentialId` is missing; nothing was sent",
        ),
        (
            &["api", "call", "list-events", "--param", "userId=u"],
            "error: invalid input: list-events: `userId` is not a parameter of it (it takes: none); nothing was sent",
        ),
        (
            &["api", "call", "run-event", "--body", "{event: 1}"],
            "error: invalid input: run-event: the body is not JSON: key must be a string at line 1 column 2; nothing was sent",
        ),
        (
            &[
                "api",
                "call",
                "run-event",
                "--body",
                r#"{"event":"e","userId":"u"}"#,
            ],
            "error: invalid input: run-event: the request body does not match the operation's schema: /data: a required field is missing; nothing was sent",
        ),
        (
            &["api", "call", "list-events", "--body", "{}"],
            "error: invalid input: list-events: GET /events takes no request body; nothing was sent",
        ),
        (
            &["api", "call", "get-a-user", "--param", "userId=.."],
            "error: invalid input: get-a-user: path parameter `userId`: is `.` or `..`, which would address another endpoint; nothing was sent",
        ),
        (
            &["api", "call", "drop-tables"],
            "error: invalid input: `drop-tables` is not an operation of the spec; `runalloy-embedded api list` shows them; nothing was sent",
        ),
        (
            &[
                "api",
                "call",
                "run-event",
                "--body",
                "@/nonexistent/body.json",
            ],
            "error: invalid input: run-event: cannot read the body from /nonexistent/body.json: No such file or directory (os error 2); nothing was sent",
        ),
        (
            &["api", "call", "get-a-user", "--param", "userId"],
            "error: invalid value 'userId' for '--param <NAME=VALUE>': `userId` is not NAME=VALUE",
        ),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = run(cli(&url, args)).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr.lines().next(), Some(expected), "{args:?}");
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_body_can_come_from_a_file_or_standard_input() {
    let server =
        TestServer::always(json(200, r#"{"message":"Event successfully triggered"}"#)).await;
    let body = r#"{"event":"Customer Created","userId":"u-1","data":{"name":"Gregg"}}"#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, body).unwrap();
    let at_file = format!("@{}", file.display());
    let (code, stdout, stderr) = run(cli(
        &server.url(),
        &["api", "call", "run-event", "--body", &at_file],
    ))
    .await;
    assert_eq!(
        (code, stdout.as_str()),
        (0, "{\"message\":\"Event successfully triggered\"}\n"),
        "{stderr}"
    );

    let mut cmd = cli(&server.url(), &["api", "call", "run-event", "--body", "-"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for r in &seen {
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("POST", "/run/event")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&r.body).unwrap(),
            serde_json::from_str::<Value>(body).unwrap()
        );
    }
}

#[tokio::test]
async fn an_api_error_exits_1_with_the_status_and_message() {
    let server = TestServer::always(json(
        403,
        r#"{"message":"User is not authorized to install integrations for this account"}"#,
    ))
    .await;
    let (code, stdout, stderr) = run(cli(
        &server.url(),
        &[
            "api",
            "call",
            "start-installation",
            "--body",
            r#"{"userId":"u","integrationId":"i"}"#,
        ],
    ))
    .await;
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert_eq!(
        stderr.trim_end(),
        "error: request failed: start-installation POST /headless/startInstallation: HTTP 403 Forbidden: User is not authorized to install integrations for this account after 1 attempt(s)"
    );
    assert!(!stderr.contains(TEST_KEY));
}

#[tokio::test]
async fn api_call_include_prints_the_status_line_and_headers_before_the_body() {
    let server = TestServer::always(common::with_header(
        json(200, r#"{"userId":"u-1","username":"jane@example.com"}"#),
        "x-request-id",
        "req-9",
    ))
    .await;
    let (code, stdout, stderr) = run(cli(
        &server.url(),
        &["api", "call", "get-a-user", "--param", "userId=u-1", "-i"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let (head, body) = stdout
        .split_once("\n\n")
        .expect("a blank line after the head");
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"));
    let headers: Vec<&str> = lines.collect();
    assert!(headers.contains(&"x-request-id: req-9"), "{headers:?}");
    assert!(
        headers.contains(&"content-type: application/json"),
        "{headers:?}"
    );
    assert_eq!(
        body.trim_end(),
        r#"{"userId":"u-1","username":"jane@example.com"}"#
    );
    // --include with --all is refused.
    let (code, _, stderr) = run(cli(
        &server.url(),
        &["api", "call", "get-logs", "--all", "--include"],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn an_error_names_the_request_id_the_api_sent() {
    let server = TestServer::always(common::with_header(
        json(500, r#"{"message":"boom"}"#),
        "x-amzn-requestid",
        "amzn-42",
    ))
    .await;
    let (code, _, stderr) = run(cli(&server.url(), &["users", "get", "u-1"])).await;
    assert_eq!(code, 1);
    assert!(
        stderr.trim_end().ends_with("(request id amzn-42)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn api_call_against_the_stand_in_changes_a_user() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let id = fake.insert_user("jane@example.com", Some("Jane Doe"));
    let param = format!("userId={id}");
    let (code, stdout, stderr) = run(cli(
        &fake.base_url(),
        &[
            "api",
            "call",
            "update-a-user",
            "--param",
            &param,
            "--body",
            r#"{"fullName":"Jane Smith"}"#,
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let user: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(user["fullName"], "Jane Smith");
    assert_eq!(fake.users()[0].full_name.as_deref(), Some("Jane Smith"));
}

#[tokio::test]
async fn every_operation_through_api_call_sends_exactly_its_request() {
    for op in OPERATIONS {
        let server = TestServer::always(json(200, &example(op))).await;
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
        cmd.args(["api", "call", op.id])
            .env("ALLOY_API_KEY", TEST_KEY)
            .env("ALLOY_BASE_URL", server.url())
            .env_remove("RUST_LOG");
        for (name, value) in common::operations::sample_params(op) {
            cmd.arg("--param").arg(format!("{name}={value}"));
        }
        if let Some(body) = sample_body(op) {
            cmd.arg("--body").arg(body.to_string());
        }
        let out = cmd.output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", op.id);
        // stdout is the API's JSON as it arrived.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}\n", example(op)),
            "{}",
            op.id
        );
        let seen = server.requests();
        assert_eq!(seen.len(), 1, "{}", op.id);
        assert_received(op, &seen[0]);
    }
}

fn offline(args: &[&str]) -> Command {
    let mut cmd = cli("http://127.0.0.1:9", args);
    cmd.env_remove("ALLOY_API_KEY");
    cmd
}

#[tokio::test]
async fn api_schema_prints_the_body_and_response_schemas_without_a_key() {
    let (code, stdout, stderr) = run(offline(&["api", "schema", "create-a-user"])).await;
    assert_eq!(code, 0, "{stderr}");
    let both: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(both["operation"], "create-a-user");
    assert_eq!(both["body"]["required"], serde_json::json!(["username"]));
    assert_eq!(both["body"]["properties"]["username"]["type"], "string");
    assert!(both["response"]["$schema"].is_string(), "{stdout}");

    let (code, stdout, _) = run(offline(&["api", "schema", "create-a-user", "--body"])).await;
    assert_eq!(code, 0);
    let body: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(body, both["body"]);
    let (code, stdout, _) = run(offline(&["api", "schema", "get-a-user", "--response"])).await;
    assert_eq!(code, 0);
    let response: Value = serde_json::from_str(&stdout).unwrap();
    assert!(response["properties"]["userId"].is_object(), "{stdout}");

    // No body to describe, or no such operation: bad input.
    let (code, stdout, stderr) = run(offline(&["api", "schema", "get-a-user", "--body"])).await;
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr.trim(),
        "error: invalid input: get-a-user takes no request body; nothing was sent"
    );
    let (code, _, stderr) = run(offline(&["api", "schema", "get-everything"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`get-everything` is not an operation"),
        "{stderr}"
    );
}

#[tokio::test]
async fn api_list_shows_each_bodys_fields_and_its_json_carries_the_schema() {
    let (code, stdout, stderr) = run(offline(&["api", "list"])).await;
    assert_eq!(code, 0, "{stderr}");
    let create = stdout
        .split_once("\ncreate-a-user ")
        .map(|(_, rest)| rest)
        .unwrap();
    let lines: Vec<&str> = create.lines().skip(1).take(3).collect();
    assert_eq!(
        lines,
        [
            "    --body JSON  required",
            "        fullName  string, optional",
            "        username  string, required",
        ]
    );
    assert!(
        stdout.contains("        users  array of object, required"),
        "batch-create-users: {stdout}"
    );

    let (code, stdout, _) = run(offline(&["api", "list", "--json"])).await;
    assert_eq!(code, 0);
    let ops: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    for op in &ops {
        let id = op["id"].as_str().unwrap();
        let spec = OPERATIONS.iter().find(|o| o.id == id).unwrap();
        match spec.request_schema() {
            Some(schema) => assert_eq!(op["body"]["schema"], schema, "{id}"),
            None => assert!(op["body"].is_null(), "{id}"),
        }
    }
}

#[tokio::test]
async fn api_call_refuses_a_body_that_does_not_fit_naming_the_pointer() {
    let server = TestServer::always(json(200, "{}")).await;
    let cases = [
        (
            r#"{"username": 7}"#,
            "/username: expected a string, got a number",
        ),
        (
            r#"{"fullName": "Jane"}"#,
            "/username: a required field is missing",
        ),
    ];
    for (body, says) in cases {
        let (code, stdout, stderr) = run(cli(
            &server.url(),
            &["api", "call", "create-a-user", "--body", body],
        ))
        .await;
        assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
        assert_eq!(
            stderr.trim(),
            format!(
                "error: invalid input: create-a-user: the request body does not match the \
                 operation's schema: {says}; nothing was sent"
            )
        );
    }
    let (code, _, stderr) = run(cli(
        &server.url(),
        &[
            "api",
            "call",
            "batch-create-users",
            "--body",
            r#"{"users": [{"username": "a"}, {"username": ["b"]}]}"#,
        ],
    ))
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/users/1/username: expected a string, got an array"),
        "{stderr}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

/// `get-logs` over 23 logs in pages, failing with a 500 at `fail_at`.
fn paged_logs(fail_at: Option<usize>) -> impl Fn(usize, &common::Recorded) -> common::Reply {
    move |_, r| {
        let url = url::Url::parse(&format!("http://h{}", r.target)).unwrap();
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let skip: usize = q["skip"].parse().unwrap();
        let limit: usize = q["limit"].parse().unwrap();
        if Some(skip) == fail_at {
            return json(500, r#"{"message":"down"}"#);
        }
        let items: Vec<Value> = (skip..23.min(skip + limit))
            .map(|i| serde_json::json!({"_id": format!("log-{i}")}))
            .collect();
        json(
            200,
            &serde_json::json!({
                "notifications": items,
                "pagination": {"totalPages": 3, "totalItems": 23, "pageSize": limit}
            })
            .to_string(),
        )
    }
}

#[tokio::test]
async fn api_call_all_prints_every_item_of_every_page_as_json_lines() {
    let server = TestServer::start(paged_logs(None)).await;
    let (code, stdout, stderr) = run(cli(
        &server.url(),
        &[
            "api",
            "call",
            "get-logs",
            "--param",
            "associatedUserId=u-1",
            "--all",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let ids: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..23).map(|i| format!("log-{i}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(server.requests().len(), 3);

    // A failure after the first page: its items, then the error, exit 1.
    let failing = TestServer::start(paged_logs(Some(10))).await;
    let (code, stdout, stderr) =
        run(cli(&failing.url(), &["api", "call", "get-logs", "--all"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout.lines().count(), 10);
    assert!(
        stderr.starts_with("error: page 2: server error: get-logs GET /logs: HTTP 500"),
        "{stderr}"
    );

    // Not a paged operation: bad input, nothing sent.
    let (code, _, stderr) = run(cli(
        &failing.url(),
        &["api", "call", "list-events", "--all"],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("declares no paging"), "{stderr}");
}
