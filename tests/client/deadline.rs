//! Bounds that hold: the deadline covers every wait (a held `Retry-After`,
//! the cap's pacing, the backoff) and ends the call at once when a wait
//! cannot fit; `max_attempts` counts every request; `attempts()` is what was
//! sent; errors carry no concrete path, query value or body.

use crate::common;

use common::{Reply, TestServer, builder, json, with_header};
use runalloy_embedded::{Client, Error, RetryPolicy, Wait};
use std::time::{Duration, Instant};

const KEY: &str = "deadline-key";

/// A client for quick reads: 2 s per attempt, one attempt, 2 s in all.
fn quick(base_url: &str) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(base_url)
        .timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::none().deadline(Duration::from_secs(2)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_retry_after_of_30_s_fails_a_2_s_call_at_once_and_the_next_one_too() {
    use runalloy_embedded_fake::{FakeAlloy, RateLimit};

    // One request every 30 s: the second is refused with `Retry-After: 30`.
    let fake = FakeAlloy::start_rate_limited(KEY, RateLimit::per_second(1.0 / 30.0).burst(1))
        .await
        .unwrap();
    let id = fake.insert_user("jane@example.com", None);
    let client = Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .timeout(Duration::from_secs(2))
        .retry_policy(
            RetryPolicy::default()
                .retry_throttled_until_deadline(true)
                .deadline(Duration::from_secs(2)),
        )
        .build()
        .unwrap();
    client.get_user(&id).await.unwrap();

    // The 429's hold does not fit: the call ends when it arrives.
    let started = Instant::now();
    let err = client.get_user(&id).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert_eq!(cut.wait, Wait::RetryAfter(Duration::from_secs(30)));
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.is_timeout());
    assert!(
        err.to_string().starts_with(
            "get-a-user GET /users/{userId}: the API asked to wait 30 s; the deadline leaves 2.0 s; \
             the last answer was HTTP 429 Too Many Requests"
        ),
        "{err}"
    );

    // The next call meets the held Retry-After before sending anything.
    let started = Instant::now();
    let err = client.get_user(&id).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    let cut = err.deadline_exceeded().expect("the deadline ended it");
    assert!(
        matches!(cut.wait, Wait::RetryAfter(d) if d > Duration::from_secs(29)),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 0, "nothing was sent");
    assert_eq!(err.status(), None);
    assert_eq!(
        (fake.requests_served(), fake.requests_throttled()),
        (2, 1),
        "the last call sent nothing"
    );
}

#[tokio::test]
async fn a_cap_whose_next_turn_is_past_the_deadline_fails_at_once_and_sends_nothing() {
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let client = builder(&server.url())
        .max_requests_per_second(0.5)
        .retry_policy(RetryPolicy::none().deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    client.get_user("u").await.unwrap();
    let started = Instant::now();
    let err = client.get_user("u").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    let Some(Wait::RateCap(wait)) = err.deadline_exceeded().map(|c| c.wait) else {
        panic!("not cut by the cap: {err:?}");
    };
    assert!(wait > Duration::from_millis(1500), "{wait:?}");
    assert_eq!(err.attempts(), 0);
    assert!(
        err.to_string()
            .starts_with("get-a-user GET /users/{userId}: the rate cap gives the next turn in "),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);

    // A deadline with room for the turn waits for it.
    let patient = builder(&server.url())
        .max_requests_per_second(5.0)
        .retry_policy(RetryPolicy::none().deadline(Duration::from_secs(1)))
        .build()
        .unwrap();
    patient.get_user("u").await.unwrap();
    patient.get_user("u").await.unwrap();
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn none_against_a_server_that_always_throttles_sends_one_request() {
    let server = TestServer::always(with_header(
        json(429, r#"{"message":"Too Many Requests"}"#),
        "retry-after",
        "1",
    ))
    .await;
    let err = quick(&server.url()).get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn throttles_count_against_max_attempts_by_default() {
    let server = TestServer::always(with_header(
        json(429, r#"{"message":"Too Many Requests"}"#),
        "retry-after",
        "0",
    ))
    .await;
    let c = builder(&server.url())
        .retry_policy(common::fast_retries().max_attempts(2))
        .build()
        .unwrap();
    let err = c.get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(err.attempts(), 2);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_empty_200_reports_the_one_request_sent() {
    let server = TestServer::always(Reply::Respond {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: vec![],
    })
    .await;
    let err = quick(&server.url()).get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Undecodable { .. }), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(
        err.to_string(),
        "get-a-user GET /users/{userId}: HTTP 200 OK: the response body (empty body) could not \
         be decoded: JSON cut short at line 1 column 0 after 1 attempt(s)"
    );
}

#[tokio::test]
async fn an_undecodable_body_is_not_quoted() {
    let server = TestServer::always(json(
        200,
        r#"{"userId": 7, "username": "jane@example.com"}"#,
    ))
    .await;
    let err = quick(&server.url()).get_user("u").await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("jane"), "{text}");
        assert!(text.contains("does not fit the spec's schema"), "{text}");
    }
}

#[tokio::test]
async fn a_timeout_on_get_logs_names_no_query_value_and_no_concrete_path() {
    let server = TestServer::always(Reply::Delay(
        Duration::from_secs(5),
        Box::new(json(200, "{}")),
    ))
    .await;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.url())
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .call(|api| api.get_logs().associated_user_id("jane-doe-4711").send())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    let seen = server.requests();
    assert!(seen[0].target.contains("associatedUserId=jane-doe-4711"));
    for text in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(!text.contains("jane-doe-4711"), "{text}");
        assert!(!text.contains("associatedUserId"), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
    }
    assert!(
        err.to_string()
            .starts_with("get-logs GET /logs: timed out after 1 attempt(s)"),
        "{err}"
    );

    // The same for a concrete path: the id is not in the error.
    let err = client.get_user("jane-doe-4711").await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("jane-doe-4711"), "{text}");
    }
}
