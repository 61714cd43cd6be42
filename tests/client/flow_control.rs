//! One flow controller per client: a throttle seen by one call holds back
//! every clone, and throttled retries, when the policy retries them until
//! the deadline, do not use up the attempts.

use crate::common;

use common::{TestServer, builder, client, fast_retries, json, with_header};
use runalloy_embedded::{Error, RetryPolicy, Wait};
use std::time::{Duration, Instant};

fn too_many(retry_after: &str) -> common::Reply {
    with_header(
        json(429, r#"{"message":"Too Many Requests"}"#),
        "retry-after",
        retry_after,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_seen_by_one_clone_delays_the_others_next_request() {
    let server = TestServer::start(|n, _| {
        if n == 0 {
            too_many("2")
        } else {
            json(200, r#"{"userId":"u"}"#)
        }
    })
    .await;
    let first = client(&server.url());
    let second = first.clone();
    let throttled = tokio::spawn(async move { first.get_user("a").await });
    while server.requests().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the 429 arrive, then call through the other clone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    second.get_user("b").await.unwrap();
    throttled.await.unwrap().unwrap();

    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    let b = seen.iter().find(|r| r.target == "/users/b").unwrap();
    let gap = b.at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(1900),
        "the other clone went after {gap:?}"
    );
    assert!(gap < Duration::from_millis(3500), "{gap:?}");
    let stats = second.flow_stats();
    assert_eq!(stats.throttled, 1);
    assert!(stats.held_back >= Duration::from_millis(1900), "{stats:?}");
}

#[tokio::test]
async fn a_throttled_retry_until_the_deadline_does_not_use_up_the_attempts() {
    let server = TestServer::sequence(vec![too_many("1"), json(200, r#"{"success":true}"#)]).await;
    let c = builder(&server.url())
        .retry_policy(RetryPolicy::none().retry_throttled_until_deadline(true))
        .build()
        .unwrap();
    c.delete_user("u").await.unwrap();
    assert_eq!(server.requests().len(), 2);

    // A 500 still uses the one attempt.
    let failing =
        TestServer::sequence(vec![json(500, "{}"), json(200, r#"{"success":true}"#)]).await;
    let c = builder(&failing.url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(matches!(c.delete_user("u").await, Err(Error::Server(_))));
    assert_eq!(failing.requests().len(), 1);
}

#[tokio::test]
async fn only_the_deadline_ends_throttled_retries() {
    let server = TestServer::always(too_many("1")).await;
    let c = builder(&server.url())
        .retry_policy(
            fast_retries()
                .retry_throttled_until_deadline(true)
                .deadline(Duration::from_secs(3)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = c.get_user("u").await.unwrap_err();
    // Sent at 0, 1 and 2 s; the hold after the third ends at the deadline.
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert!(matches!(cut.wait, Wait::RetryAfter(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert!(err.attempts() >= 3, "{err:?}");
    assert_eq!(err.attempts() as usize, server.requests().len());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_throttled_post_is_not_retried_but_still_holds_the_client() {
    let server = TestServer::start(|n, _| {
        if n == 0 {
            too_many("1")
        } else {
            json(200, r#"{"data":[]}"#)
        }
    })
    .await;
    let c = client(&server.url());
    let err = c.create_user("jane", None).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(err.attempts(), 1);
    c.list_users(None).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_client_never_throttled_reports_nothing() {
    let server = TestServer::always(json(200, r#"{"data":[]}"#)).await;
    let c = client(&server.url());
    for _ in 0..5 {
        c.list_users(None).await.unwrap();
    }
    let stats = c.flow_stats();
    assert_eq!(
        (stats.throttled, stats.held_back, stats.pace),
        (0, Duration::ZERO, None)
    );
    assert!(!stats.holding);
}
