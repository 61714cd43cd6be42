//! No concrete path, query value or id in any log event, at any level, for
//! every kind of failure a call can meet, in the crate's own events and in
//! reqwest's and hyper's.

use super::{Capture, assert_no_key};
use crate::common::{Reply, TEST_KEY, TestServer, builder, dead_url, json, with_header};
use runalloy_embedded::{Client, RetryPolicy};
use std::time::Duration;

/// The id every call carries, in its path or its query.
const ID: &str = "jane-4711-secret-id";

fn quick(url: &str) -> Client {
    builder(url)
        .timeout(Duration::from_millis(300))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(10))
                .deadline(Duration::from_secs(3)),
        )
        .build()
        .unwrap()
}

/// Every call the crate makes with the id, against `url`.
async fn every_call(url: &str) {
    let c = quick(url);
    let _ = c.get_user(ID).await;
    let _ = c.erase_user(ID).await;
    let _ = c.offboard_user(ID).await;
    let _ = c.verify_user_gone(ID).await;
    let _ = c.export_user(ID).await;
}

#[tokio::test(flavor = "current_thread")]
async fn no_id_at_trace_level_whatever_fails() {
    let (capture, _guard) = Capture::start(tracing::Level::TRACE);
    // reqwest and hyper-util log through the `log` crate as well.
    let _ = tracing_log::LogTracer::init();

    let faults: Vec<(&str, Reply)> = vec![
        ("refused", Reply::Close),
        (
            "timeout",
            Reply::Delay(Duration::from_secs(2), Box::new(json(200, "{}"))),
        ),
        ("cut mid body", Reply::CutMidBody),
        ("html 404", json(404, "<html>404</html>")),
        ("api 404", json(404, r#"{"message":"User not found"}"#)),
        ("500", json(500, r#"{"message":"boom"}"#)),
        (
            "429",
            with_header(json(429, r#"{"message":"slow down"}"#), "retry-after", "60"),
        ),
        ("unconfirmed", json(200, "{}")),
        ("not json", json(200, "not json at all")),
        (
            "redirect",
            with_header(json(302, ""), "location", "http://127.0.0.2:9/elsewhere"),
        ),
    ];
    for (_, reply) in faults {
        let server = TestServer::always(reply).await;
        every_call(&server.url()).await;
    }
    every_call(&dead_url().await).await;
    let too_large = TestServer::always(json(200, &"x".repeat(4096))).await;
    let c = builder(&too_large.url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let _ = c.get_user(ID).await;

    let logs = capture.text();
    for expected in ["request failed", "response", "retrying", "get-a-user"] {
        assert!(logs.contains(expected), "no `{expected}` event: {logs}");
    }
    assert!(
        logs.contains("reqwest") || logs.contains("hyper"),
        "no HTTP-stack logs: {logs}"
    );
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(ID)).collect();
    assert!(leaks.is_empty(), "the id leaked into: {leaks:#?}");
    assert!(!logs.contains(TEST_KEY));
    assert_no_key(&logs);
}
