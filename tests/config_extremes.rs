//! Extreme settings (`Duration::MAX` deadlines, waits and timeouts, huge
//! `Retry-After` values) work without overflowing an `Instant` or panicking.

mod common;

use common::{TestServer, json, with_header};
use runalloy_embedded::{Client, Error, RetryPolicy};
use std::time::{Duration, Instant};

fn unbounded() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::MAX,
        max_retry_after: Duration::MAX,
        deadline: Duration::MAX,
    }
}

#[tokio::test]
async fn duration_max_everywhere_works() {
    let server = TestServer::sequence(vec![
        json(503, r#"{"message":"busy"}"#),
        json(200, r#"{"success":true}"#),
    ])
    .await;
    let client = Client::builder()
        .api_key("k")
        .base_url(server.url())
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .retry_policy(unbounded())
        .build()
        .unwrap();
    let deleted = client.delete_user("u1").await.unwrap();
    assert!(deleted.success);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_huge_backoff_ceiling_does_not_panic() {
    // Many retries push the exponential past any Duration; the wait is
    // capped by the deadline instead.
    let server = TestServer::always(json(500, r#"{"message":"down"}"#)).await;
    let client = Client::builder()
        .api_key("k")
        .base_url(server.url())
        .retry_policy(RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::MAX,
            deadline: Duration::from_millis(300),
            ..unbounded()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.delete_user("u1").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_retry_after_beyond_any_instant_ends_the_call_at_its_deadline() {
    let server = TestServer::always(with_header(
        json(429, r#"{"message":"slow down"}"#),
        "retry-after",
        "18446744073709551615",
    ))
    .await;
    let client = Client::builder()
        .api_key("k")
        .base_url(server.url())
        .retry_policy(RetryPolicy {
            deadline: Duration::from_secs(2),
            ..unbounded()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_user("u1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    // Held, not retried in a loop until the deadline.
    assert_eq!(err.attempts(), 1, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
