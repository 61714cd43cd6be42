//! Extreme settings (`Duration::MAX` deadlines, waits and timeouts, huge
//! `Retry-After` values) work without overflowing an `Instant` or panicking.

use crate::common;

use common::{TestServer, json, with_header};
use runalloy_embedded::{Client, Error, RetryPolicy, Wait};
use std::time::{Duration, Instant};

fn unbounded() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::MAX)
        .max_retry_after(Duration::MAX)
        .deadline(Duration::MAX)
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
    assert_eq!(deleted.success, Some(true));
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
        .retry_policy(
            unbounded()
                .max_attempts(100)
                .base_delay(Duration::MAX)
                .deadline(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.delete_user("u1").await.unwrap_err();
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert!(matches!(cut.wait, Wait::Backoff(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(err.message(), None, "the cut is the error, not the 500");
    assert_eq!(err.attempts(), 1);
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
        .retry_policy(unbounded().deadline(Duration::from_secs(2)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_user("u1").await.unwrap_err();
    // Ended at once: the hold (capped at 30 days) does not fit in 2 s.
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert!(
        matches!(cut.wait, Wait::RetryAfter(d) if d > Duration::from_secs(86_400)),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.attempts(), 1, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

/// A head declaring 4 GB, then 10 bytes of body, then the connection closes.
fn lying_length() -> common::Reply {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                content-length: 4000000000\r\n\r\n{\"userId\":";
    common::Reply::Raw(head.as_bytes().to_vec())
}

#[tokio::test]
async fn a_lying_content_length_is_a_cut_body_not_a_4_gb_buffer() {
    let server = TestServer::always(lying_length()).await;
    // No limit: only the bytes that arrive are held (the buffer starts at
    // most 64 KiB; send/body.rs unit-tests the reservation).
    let c = common::builder(&server.url())
        .max_response_bytes(usize::MAX)
        .build()
        .unwrap();
    let err = c.get_user("u1").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.attempts(), 3, "a cut body is retried: {err}");
    assert!(
        err.to_string()
            .starts_with("get-a-user GET /users/{userId}: transport failure after 3 attempt(s): "),
        "{err}"
    );

    // Under the default limit, a declared 4 GB is refused before reading.
    let server = TestServer::always(lying_length()).await;
    let err = common::client(&server.url())
        .get_user("u1")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "get-a-user GET /users/{userId}: HTTP 200 OK: the response body exceeded 16777216 bytes \
         and was not read after 1 attempt(s)"
    );
}
