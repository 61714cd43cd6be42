//! The `runalloy-embedded` binary, run as a user would, against the
//! stand-in and the recording test server.

use crate::common;

use common::{Reply, TEST_KEY, TestServer, json};
use runalloy_embedded_fake::FakeAlloy;
use std::time::Duration;
use tokio::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn run(base_url: &str, key: Option<&str>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
    cmd.args(args)
        .env_remove("ALLOY_API_KEY")
        .env_remove("RUST_LOG")
        .env("ALLOY_BASE_URL", base_url);
    if let Some(key) = key {
        cmd.env("ALLOY_API_KEY", key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("the CLI hung")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn stdout_json(r: &Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_commands_round_trip_against_the_stand_in() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let base = fake.base_url();
    let key = Some(TEST_KEY);

    let created = stdout_json(
        &run(
            &base,
            key,
            &[
                "users",
                "create",
                "--username",
                "jane@example.com",
                "--full-name",
                "Jane Doe",
            ],
            &[],
        )
        .await,
    );
    let id = created["userId"].as_str().unwrap().to_owned();

    let user = stdout_json(&run(&base, key, &["users", "get", &id], &[]).await);
    assert_eq!(
        user,
        serde_json::json!({"userId": id, "username": "jane@example.com", "fullName": "Jane Doe"})
    );
    let listed = stdout_json(&run(&base, key, &["users", "list"], &[]).await);
    assert_eq!(listed["data"][0]["userId"], id.as_str());
    let filtered = stdout_json(
        &run(
            &base,
            key,
            &["users", "list", "--parent-workflow-id", "wf"],
            &[],
        )
        .await,
    );
    assert_eq!(
        filtered,
        serde_json::json!({"data": []}),
        "no users in that workflow"
    );

    let logs = stdout_json(&run(&base, key, &["users", "delete-logs", &id], &[]).await);
    assert_eq!(logs, serde_json::json!({"message": "Success"}));
    let deleted = stdout_json(&run(&base, key, &["users", "delete", &id], &[]).await);
    assert_eq!(deleted, serde_json::json!({"success": true}));
    assert_eq!(fake.logs_deleted(), vec![id.clone()]);
    assert!(fake.users().is_empty());

    let gone = run(&base, key, &["users", "get", &id], &[]).await;
    assert_eq!(gone.code, 1);
    assert!(gone.stdout.is_empty());
    assert_eq!(
        gone.stderr.trim(),
        "error: not found: get-a-user GET /users/{userId}: HTTP 404 Not Found: User not found after 1 attempt(s)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_prints_the_401_and_its_message() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let r = run(&fake.base_url(), Some("wrong-key"), &["users", "list"], &[]).await;
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "error: unauthorized: list-all-users GET /users: HTTP 401 Unauthorized: Unauthorized after 1 attempt(s)"
    );
    assert!(!r.stderr.contains("wrong-key"));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_input_exits_2_and_sends_nothing() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let base = server.url();
    let key = Some(TEST_KEY);
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["users", "delete", ".."],
            key,
            "the user id is `.` or `..`",
        ),
        (
            vec!["users", "delete-logs", ""],
            key,
            "the user id is empty",
        ),
        (vec!["users", "get", "a\\b"], key, "contains `\\`"),
        (
            vec!["users", "create", "--username", ""],
            key,
            "the username is empty",
        ),
        (
            vec!["users", "delete", "u"],
            None,
            "ALLOY_API_KEY is not set",
        ),
        (
            vec!["users", "delete", "u"],
            Some("bad\nkey"),
            "control character",
        ),
        (
            vec!["--timeout", "0", "users", "delete", "u"],
            key,
            "not between 0 and 86400",
        ),
        (
            vec!["--timeout", "soon", "users", "delete", "u"],
            key,
            "not a number of seconds",
        ),
        (vec!["users", "remove", "u"], key, "unrecognized subcommand"),
        (vec!["users", "delete"], key, "required"),
    ];
    for (args, key, expected) in cases {
        let r = run(&base, key, &args, &[]).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
    }
    let r = run(
        "http://alloy.example.com",
        key,
        &["users", "delete", "u"],
        &[],
    )
    .await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("plain http is allowed only to a loopback host"),
        "{}",
        r.stderr
    );
    assert!(server.requests().is_empty(), "sent {:?}", server.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_flag_bounds_each_attempt() {
    let server = TestServer::always(Reply::Delay(
        Duration::from_secs(10),
        Box::new(json(200, "{}")),
    ))
    .await;
    let started = std::time::Instant::now();
    let r = run(
        &server.url(),
        Some(TEST_KEY),
        &["--timeout", "0.3", "users", "get", "u"],
        &[],
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("get-a-user GET /users/{userId}: timed out after 3 attempt(s)"),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_longer_than_the_deadline_raises_the_deadline() {
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let r = run(
        &server.url(),
        Some(TEST_KEY),
        &["--timeout", "300", "users", "get", "u"],
        &[("RUST_LOG", "info")],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("deadline_secs=900")
            && r.stderr.contains("--timeout raises each call's deadline"),
        "{}",
        r.stderr
    );
    let r = run(
        &server.url(),
        Some(TEST_KEY),
        &["--timeout", "5", "users", "get", "u"],
        &[("RUST_LOG", "info")],
    )
    .await;
    assert!(!r.stderr.contains("deadline"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_logs_show_operation_attempt_status_and_latency_but_never_the_key() {
    for level in ["debug", "trace"] {
        let server =
            TestServer::sequence(vec![json(503, "{}"), json(200, r#"{"success":true}"#)]).await;
        let r = run(
            &server.url(),
            Some(TEST_KEY),
            &["users", "delete", "u"],
            &[("RUST_LOG", level)],
        )
        .await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        for needle in [
            "alloy.operation_id=\"delete-a-user\"",
            "attempt=1",
            "attempt=2",
            "status=503",
            "status=200",
            "latency_ms=",
        ] {
            assert!(
                r.stderr.contains(needle),
                "{level}: missing {needle} in {}",
                r.stderr
            );
        }
        assert!(
            !r.stderr.contains(TEST_KEY) && !r.stdout.contains(TEST_KEY),
            "{level}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stdout_is_the_apis_json_exactly_unknown_fields_included() {
    let body = r#"{"userId":"u","fullName":"A","extra":{"nested":[1,2]},"username":null}"#;
    let server = TestServer::always(json(200, body)).await;
    let r = run(&server.url(), Some(TEST_KEY), &["users", "get", "u"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, format!("{body}\n"));
}
