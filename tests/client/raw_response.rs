//! `Client::call_raw` (the status, headers and decoded body of any call),
//! and what an error keeps of the response's headers.

use crate::common;

use common::{TestServer, client, json, with_header};

#[tokio::test]
async fn call_raw_sees_the_status_headers_and_typed_body() {
    let server = TestServer::always(with_header(
        with_header(
            json(200, r#"{"userId":"u-1","username":"jane@example.com"}"#),
            "x-request-id",
            "req-7",
        ),
        "ratelimit-remaining",
        "41",
    ))
    .await;
    let c = client(&server.url());
    let response = c
        .call_raw(|api| api.get_a_user().user_id("u-1").send())
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "req-7");
    assert_eq!(response.headers()["ratelimit-remaining"], "41");
    let user = response.into_inner();
    assert_eq!(user.user_id, "u-1");
    assert_eq!(server.requests()[0].target, "/users/u-1");
}

#[tokio::test]
async fn an_error_keeps_the_request_id_and_rate_limit_headers_and_drops_cookies() {
    let mut reply = json(500, r#"{"message":"Internal Server Error"}"#);
    for (name, value) in [
        ("X-Request-Id", "req-500"),
        ("cf-ray", "8f2a-AMS"),
        ("x-ratelimit-remaining", "0"),
        ("Set-Cookie", "session=s3cr3t-cookie"),
        ("www-authenticate", "Bearer realm=\"s3cr3t-realm\""),
        ("x-internal-token", "s3cr3t-token"),
    ] {
        reply = with_header(reply, name, value);
    }
    let server = TestServer::always(reply).await;
    let c = common::builder(&server.url())
        .retry_policy(runalloy_embedded::RetryPolicy::none())
        .build()
        .unwrap();
    let err = c.delete_user("u").await.unwrap_err();
    assert_eq!(err.request_id(), Some("req-500"));
    let failure = err.api_failure().unwrap();
    let kept: Vec<(&str, &str)> = failure
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    assert_eq!(
        kept,
        [
            ("x-request-id", "req-500"),
            ("cf-ray", "8f2a-AMS"),
            ("x-ratelimit-remaining", "0")
        ]
    );
    let shown = format!("{err:?} {failure:?} {err}");
    assert!(shown.contains("req-500"), "{shown}");
    for secret in ["s3cr3t-cookie", "s3cr3t-realm", "s3cr3t-token"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn an_error_without_a_request_id_has_none() {
    let server = TestServer::always(json(404, r#"{"message":"User not found"}"#)).await;
    let err = client(&server.url()).get_user("u").await.unwrap_err();
    assert_eq!(err.request_id(), None);
    assert!(err.api_failure().unwrap().headers().is_empty());
    // An error that holds no response has no request id either.
    let err = runalloy_embedded::Error::InvalidInput("x".into());
    assert_eq!(err.request_id(), None);
}
