//! Every operation of the spec, as the server receives it: method, path,
//! query, headers and body, through `Client::call_operation` (which calls
//! the generated method through `Client::call`) and through `api call`.
//! Driven by `OPERATIONS`, so an operation added to the spec is tested here
//! with no new code.

mod common;

use common::operations::{
    example, expected_path, expected_query, query_of, sample_body, sample_call,
};
use common::{Recorded, TEST_KEY, TestServer, client, json};
use runalloy_embedded::{API_VERSION, OPERATIONS, Operation, USER_AGENT};
use serde_json::Value;

/// Asserts that `r` is exactly the sample call of `op`.
fn assert_received(op: &Operation, r: &Recorded) {
    let id = op.id;
    assert_eq!(r.method, op.method, "{id}");
    assert_eq!(
        r.target.split('?').next(),
        Some(expected_path(op).as_str()),
        "{id}"
    );
    assert_eq!(query_of(&r.target), expected_query(op), "{id}");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str()),
        "{id}"
    );
    assert_eq!(r.header("x-api-version"), Some(API_VERSION), "{id}");
    assert_eq!(r.header("user-agent"), Some(USER_AGENT), "{id}");
    assert_eq!(r.header("accept"), Some("application/json"), "{id}");
    let mut expected_headers = vec![
        "accept",
        "authorization",
        "host",
        "user-agent",
        "x-api-version",
    ];
    match sample_body(op) {
        Some(body) => {
            expected_headers.extend(["content-length", "content-type"]);
            expected_headers.sort();
            assert_eq!(r.header("content-type"), Some("application/json"), "{id}");
            let sent: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(sent, body, "{id}: the body on the wire");
        }
        None => assert!(r.body.is_empty(), "{id}: a body was sent"),
    }
    assert_eq!(r.header_names(), expected_headers, "{id}");
}

#[tokio::test]
async fn every_operation_through_the_client_sends_exactly_its_request() {
    for op in OPERATIONS {
        let server = TestServer::always(json(200, &example(op))).await;
        let value = client(&server.url())
            .call_operation(&sample_call(op))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", op.id));
        let seen = server.requests();
        assert_eq!(seen.len(), 1, "{}", op.id);
        assert_received(op, &seen[0]);
        // The example decodes as the operation's type and back, losing
        // nothing that the spec describes.
        let served: Value = serde_json::from_str(&example(op)).unwrap();
        assert_eq!(value, served, "{}: decoded response", op.id);
    }
}

#[cfg(feature = "cli")]
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
