//! Retries, timeouts and faults: each case ends in a specific error or a
//! success, within a bounded time, with the right number of requests.

use crate::common;

use common::{Reply, TestServer, client, dead_url, fast_retries, json, with_header};
use runalloy_embedded::{Error, Wait};
use std::time::{Duration, Instant};

fn ok_delete() -> Reply {
    json(200, r#"{"success":true}"#)
}

#[tokio::test]
async fn two_503s_then_200_succeeds_on_the_third_attempt() {
    let server = TestServer::sequence(vec![json(503, "{}"), json(503, "{}"), ok_delete()]).await;
    let out = client(&server.url()).delete_user("u").await.unwrap();
    assert_eq!(out.success, Some(true));
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_429_with_retry_after_2_waits_2_seconds() {
    let server = TestServer::sequence(vec![
        with_header(json(429, r#"{"message":"slow down"}"#), "retry-after", "2"),
        ok_delete(),
    ])
    .await;
    client(&server.url()).delete_user("u").await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_secs(2), "retried after {gap:?}");
    assert!(gap < Duration::from_millis(3500), "waited {gap:?}");
}

#[tokio::test]
async fn a_persistent_503_stops_after_max_attempts() {
    let server = TestServer::always(json(503, r#"{"message":"maintenance"}"#)).await;
    let c = common::builder(&server.url())
        .retry_policy(fast_retries().max_attempts(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!((err.attempts(), err.message()), (5, Some("maintenance")));
    assert_eq!(server.requests().len(), 5);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn post_is_not_retried_once_sent() {
    let server = TestServer::always(json(503, "{}")).await;
    let err = client(&server.url())
        .create_user("jane", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(server.requests().len(), 1);

    let server = TestServer::always(Reply::Close).await;
    let err = client(&server.url())
        .create_user("jane", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_slow_server_is_a_timeout_within_bounded_time() {
    let server =
        TestServer::always(Reply::Delay(Duration::from_secs(5), Box::new(ok_delete()))).await;
    let c = common::builder(&server.url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.delete_user("u").await.unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests().len(), 3);
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert!(
        err.to_string()
            .starts_with("delete-a-user DELETE /users/{userId}: timed out after 3 attempt(s)"),
        "{err}"
    );
}

/// The client's own timeout is the attempt timeout; a deadline that leaves
/// less must cut the attempt itself, not wait out the attempt timeout.
#[tokio::test]
async fn a_deadline_shorter_than_the_attempt_timeout_cuts_the_attempt() {
    let server =
        TestServer::always(Reply::Delay(Duration::from_secs(10), Box::new(ok_delete()))).await;
    let c = common::builder(&server.url())
        .timeout(Duration::from_secs(30))
        .retry_policy(fast_retries().deadline(Duration::from_millis(400)))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.delete_user("u").await.unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 1, "{err:?}");
    assert_eq!(server.requests().len(), 1);
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "took {took:?}"
    );
}

#[tokio::test]
async fn the_overall_deadline_bounds_the_call() {
    let server = TestServer::always(with_header(json(503, "{}"), "retry-after", "1")).await;
    let c = common::builder(&server.url())
        .retry_policy(
            fast_retries()
                .max_attempts(50)
                .deadline(Duration::from_millis(1500)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.get_user("u").await.unwrap_err();
    // The second Retry-After does not fit in what is left: the call ends
    // then, keeping the 503 it last got.
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert_eq!(cut.wait, Wait::RetryAfter(Duration::from_secs(1)));
    assert!(cut.left < Duration::from_millis(600), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.attempts(), 2);
    assert!(
        started.elapsed() < Duration::from_millis(1600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.requests().len(),
        2,
        "one wait of 1 s fits in 1.5 s, two do not"
    );
}

#[tokio::test]
async fn a_connection_cut_mid_response_is_retried() {
    let server = TestServer::sequence(vec![Reply::CutMidBody, ok_delete()]).await;
    client(&server.url()).delete_user("u").await.unwrap();
    assert_eq!(server.requests().len(), 2);

    let server = TestServer::always(Reply::CutMidBody).await;
    let err = client(&server.url()).delete_user("u").await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_connection_closed_before_the_response_is_retried() {
    let server = TestServer::sequence(vec![Reply::Close, Reply::Close, ok_delete()]).await;
    client(&server.url()).delete_user("u").await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    let started = Instant::now();
    let err = client(&dead_url().await)
        .delete_user("u")
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Connection refused"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_endless_body_is_cut_off_at_the_limit() {
    let server = TestServer::always(Reply::Endless).await;
    let c = common::builder(&server.url())
        .max_response_bytes(1 << 20)
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.get_user("u").await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 1048576, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        server.requests().len(),
        1,
        "an oversized body is not retried"
    );
}
