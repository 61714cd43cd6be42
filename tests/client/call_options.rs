//! `Client::with_options`: a view with its own timeout, attempts, deadline
//! and headers, on the client's pool and flow control, leaving the client's
//! own settings as they were.

use crate::common;

use common::{Reply, TEST_KEY, TestServer, builder, client, json, with_header};
use runalloy_embedded::{CallOptions, Error, OperationCall};
use std::time::{Duration, Instant};

#[tokio::test]
async fn max_attempts_applies_to_the_view_only() {
    let server = TestServer::always(json(500, r#"{"message":"down"}"#)).await;
    let c = client(&server.url());
    let one = c.with_options(CallOptions::new().max_attempts(1));
    let err = one.get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests().len(), 1);
    // The client keeps its three.
    let err = c.get_user("u").await.unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn the_views_timeout_holds_and_the_clients_is_untouched() {
    let server = TestServer::always(Reply::Delay(
        Duration::from_millis(600),
        Box::new(json(200, r#"{"userId":"u"}"#)),
    ))
    .await;
    let c = client(&server.url());
    let quick = c.with_options(
        CallOptions::new()
            .timeout(Duration::from_millis(150))
            .max_attempts(1),
    );
    let started = Instant::now();
    let err = quick.get_user("u").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    // The client's own 2 s timeout lets the slow answer through.
    c.get_user("u").await.unwrap();
    // A view may also wait longer than the client would.
    let short = builder(&server.url())
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert!(short.get_user("u").await.unwrap_err().is_timeout());
    let patient = short.with_options(CallOptions::new().timeout(Duration::from_secs(2)));
    patient.get_user("u").await.unwrap();
}

#[tokio::test]
async fn the_views_deadline_ends_its_calls() {
    let server = TestServer::always(with_header(json(503, "{}"), "retry-after", "1")).await;
    let c = client(&server.url());
    let started = Instant::now();
    let err = c
        .with_options(CallOptions::new().deadline(Duration::from_millis(500)))
        .get_user("u")
        .await
        .unwrap_err();
    assert!(err.deadline_exceeded().is_some(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn extra_headers_are_sent_by_the_view_alone() {
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let c = client(&server.url());
    let tagged = c.with_options(CallOptions::new().header("X-Request-Id", "req-42"));
    tagged.get_user("u").await.unwrap();
    c.get_user("u").await.unwrap();
    let call = OperationCall::new("get-a-user")
        .unwrap()
        .param("userId", "u")
        .unwrap();
    tagged.call_operation(&call).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].header("x-request-id"), Some("req-42"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(seen[1].header("x-request-id"), None);
    assert_eq!(seen[2].header("x-request-id"), Some("req-42"));
    assert!(!format!("{:?}", CallOptions::new().header("x-token", "s3cret")).contains("s3cret"));
}

#[tokio::test]
async fn headers_the_client_owns_are_refused_and_nothing_is_sent() {
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let c = client(&server.url());
    for (name, says) in [
        ("Authorization", "`authorization` is set by the client"),
        ("X-API-Version", "`x-api-version` is set by the client"),
        ("host", "`host` is set by the client"),
        ("bad header", "`bad header` is not a header name"),
    ] {
        let options = CallOptions::new().header(name, "x");
        let expected = format!("invalid input: call options: {says}; nothing was sent");
        assert_eq!(options.check().unwrap_err().to_string(), expected);
        let err = c.with_options(options).get_user("u").await.unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    let err = c
        .with_options(CallOptions::new().max_attempts(0))
        .get_user("u")
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_view_shares_the_clients_flow_control() {
    let server = TestServer::sequence(vec![
        with_header(json(429, "{}"), "retry-after", "1"),
        json(200, r#"{"userId":"u"}"#),
    ])
    .await;
    let c = client(&server.url());
    let view = c.with_options(CallOptions::new().max_attempts(1));
    assert!(matches!(
        view.get_user("u").await,
        Err(Error::RateLimited(_))
    ));
    assert_eq!(c.flow_stats().throttled, 1, "the client saw the view's 429");
    let started = Instant::now();
    c.get_user("u").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
}
