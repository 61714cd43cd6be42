//! `ClientBuilder::http_client`: the caller's own `reqwest::Client`, and
//! the crate's guarantees over it, at the wire.

use crate::common;

use common::{TEST_KEY, TestServer, builder, json, with_header};
use runalloy_embedded::Error;
use std::time::{Duration, Instant};

/// A client of the caller's own making: reqwest's defaults (redirects
/// followed, no timeout).
fn own() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn the_key_goes_to_the_origin_and_never_across_a_redirect_to_another() {
    let elsewhere = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let location = format!("{}/users/u", elsewhere.url());
    let server = TestServer::always(with_header(json(307, "{}"), "location", &location)).await;
    let client = builder(&server.url()).http_client(own()).build().unwrap();
    // The caller's policy follows the redirect; reqwest drops the key.
    client.delete_user("u").await.unwrap();
    let first = &server.requests()[0];
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(
        first.header("x-api-version"),
        Some(runalloy_embedded::API_VERSION)
    );
    let moved = elsewhere.requests();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].target, "/users/u");
    assert_eq!(
        moved[0].header("authorization"),
        None,
        "the key went to another origin"
    );
}

#[tokio::test]
async fn a_request_to_another_origin_carries_no_key() {
    // The generated client hands out the HTTP client it was given; what
    // is sent on it carries neither the key nor the version.
    use progenitor_client::ClientInfo;
    let server = TestServer::always(json(200, "{}")).await;
    let client = builder("https://api.example.invalid")
        .http_client(own())
        .build()
        .unwrap();
    client
        .api()
        .client()
        .get(server.url())
        .send()
        .await
        .unwrap();
    let seen = &server.requests()[0];
    assert_eq!(seen.header("authorization"), None);
    assert_eq!(seen.header("x-api-version"), None);
}

#[tokio::test]
async fn retries_and_flow_control_apply() {
    let server = TestServer::sequence(vec![
        json(503, r#"{"message":"busy"}"#),
        with_header(json(429, "{}"), "retry-after", "0"),
        json(200, r#"{"success":true}"#),
    ])
    .await;
    let client = builder(&server.url()).http_client(own()).build().unwrap();
    client.delete_user("u").await.unwrap();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(client.flow_stats().throttled, 1);
}

#[tokio::test]
async fn the_attempt_timeout_applies_though_the_client_has_none() {
    let server = TestServer::always(common::Reply::Delay(
        Duration::from_secs(30),
        Box::new(json(200, "{}")),
    ))
    .await;
    let client = builder(&server.url())
        .timeout(Duration::from_millis(300))
        .retry_policy(runalloy_embedded::RetryPolicy::none())
        .http_client(own())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_timeout());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn settings_made_for_the_crates_own_client_are_refused_not_ignored() {
    let cases = [
        (
            builder("http://127.0.0.1:1").proxy("http://127.0.0.1:3128"),
            "a proxy",
        ),
        (builder("http://127.0.0.1:1").no_proxy(), "no_proxy"),
        (
            builder("http://127.0.0.1:1").user_agent_suffix("mine/1"),
            "a user-agent suffix",
        ),
    ];
    for (b, what) in cases {
        let err = b.http_client(own()).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid input: {what} cannot be applied to your own HTTP client (http_client): set it on the reqwest::Client; nothing was sent"
            )
        );
        assert!(err.is_invalid_input());
    }
    // Debug says one was given, and nothing of it.
    let b = builder("http://127.0.0.1:1").http_client(own());
    assert!(format!("{b:?}").contains("own_http_client: true"), "{b:?}");
}

#[test]
fn the_builder_stays_unwind_safe_with_one() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    unwind_safe(&builder("http://127.0.0.1:1").http_client(own()));
}
