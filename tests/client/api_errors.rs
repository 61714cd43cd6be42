//! What the caller gets when the API says no, or says something odd.

use crate::common;

use common::{TestServer, client, json, with_header};
use runalloy_embedded::{Error, Wait};
use std::time::Duration;

#[tokio::test]
async fn a_401_reaches_the_caller_as_its_message_never_as_success() {
    let server = TestServer::always(json(401, r#"{"message":"Unauthorized"}"#)).await;
    let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.message(), Some("Unauthorized"));
    assert_eq!(err.attempts(), 1);
    assert_eq!(
        err.to_string(),
        "unauthorized: delete-a-user DELETE /users/{userId}: HTTP 401 Unauthorized: Unauthorized after 1 attempt(s)"
    );
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn an_undocumented_404_keeps_its_message() {
    let server = TestServer::always(json(404, r#"{"message":"User not found"}"#)).await;
    let err = client(&server.url()).get_user("nobody").await.unwrap_err();
    assert!(err.is_any_404(), "{err:?}");
    assert_eq!(err.message(), Some("User not found"));
    assert_eq!(
        err.to_string(),
        "not found: get-a-user GET /users/{userId}: HTTP 404 Not Found: User not found after 1 attempt(s)"
    );
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn a_persistent_500_is_a_server_error_with_its_message_after_every_attempt() {
    let server = TestServer::always(json(500, r#"{"message":"database on fire"}"#)).await;
    let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(err.message(), Some("database on fire"));
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests().len(), 3);
    assert!(
        err.to_string()
            .contains("HTTP 500 Internal Server Error: database on fire after 3 attempt(s)")
    );
}

#[tokio::test]
async fn a_200_whose_body_is_not_json_is_undecodable_with_status_and_excerpt() {
    let server = TestServer::always(common::Reply::Respond {
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: b"OK, deleted".to_vec(),
    })
    .await;
    // Any operation's generic mapping; the deletes read such a body as
    // unconfirmed (see wire_users.rs).
    let err = client(&server.url()).get_user("u-1").await.unwrap_err();
    match &err {
        Error::Undecodable {
            operation,
            status,
            excerpt,
            ..
        } => {
            assert_eq!(*operation, "get-a-user");
            assert_eq!(status.as_u16(), 200);
            assert_eq!(excerpt, "OK, deleted");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    assert_eq!(
        server.requests().len(),
        1,
        "an undecodable 2xx is not retried"
    );
}

#[tokio::test]
async fn success_false_from_delete_is_an_error() {
    let server = TestServer::always(json(200, r#"{"success":false}"#)).await;
    let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    // The body is kept for a program to read, never shown.
    assert_eq!(
        err.to_string(),
        "the API did not do it: delete-a-user DELETE /users/{userId}: HTTP 200 OK \
         (body of 17 characters, not shown) after 1 attempt(s)"
    );
    assert_eq!(
        err.api_failure().unwrap().body_excerpt,
        r#"{"success":false}"#
    );
}

#[tokio::test]
async fn an_html_502_is_a_server_error_with_an_excerpt() {
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = TestServer::always(common::Reply::Respond {
        status: 502,
        headers: vec![("content-type".into(), "text/html".into())],
        body: page.as_bytes().to_vec(),
    })
    .await;
    let err = client(&server.url()).get_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(err.message(), None);
    assert_eq!(err.api_failure().unwrap().body_excerpt, page);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_400_is_reported_with_its_message_and_not_retried() {
    let server = TestServer::always(json(400, r#"{"message":"Username already exists"}"#)).await;
    let err = client(&server.url())
        .create_user("dup", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(err.message(), Some("Username already exists"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_429_with_a_long_retry_after_stops_and_carries_it() {
    let server = TestServer::always(with_header(
        json(429, r#"{"message":"slow down"}"#),
        "retry-after",
        "3600",
    ))
    .await;
    let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::RateLimited(_)), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(err.message(), Some("slow down"));
    assert_eq!(
        server.requests().len(),
        1,
        "a Retry-After beyond the cap ends the retries"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_reading_it_all() {
    let server = TestServer::always(json(
        200,
        &format!(r#"{{"message":"{}"}}"#, "x".repeat(4096)),
    ))
    .await;
    let c = common::builder(&server.url())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = c.delete_user_logs("u").await.unwrap_err();
    assert!(
        matches!(err, Error::ResponseTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
}

#[tokio::test]
async fn an_undocumented_2xx_is_reported_with_its_status() {
    let server = TestServer::always(common::Reply::Respond {
        status: 204,
        headers: vec![],
        body: vec![],
    })
    .await;
    let err = client(&server.url()).get_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(204));
    assert_eq!(
        err.to_string(),
        "request failed: get-a-user GET /users/{userId}: HTTP 204 No Content after 1 attempt(s)"
    );
    assert_eq!(server.requests().len(), 1);
}

/// What each public question on `Error` answers, for every kind of failure.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Answers {
    any_404: bool,
    api_not_found: bool,
    auth: bool,
    connect: bool,
    timeout: bool,
    unconfirmed: bool,
    still_readable: bool,
    invalid_input: bool,
    rate_limited: bool,
    retryable: bool,
    has_api_failure: bool,
}

fn answers(err: &Error) -> Answers {
    Answers {
        any_404: err.is_any_404(),
        api_not_found: err.is_api_not_found(),
        auth: err.is_auth_failure(),
        connect: err.is_connect(),
        timeout: err.is_timeout(),
        unconfirmed: err.is_unconfirmed(),
        still_readable: err.is_still_readable(),
        invalid_input: err.is_invalid_input(),
        rate_limited: err.is_rate_limited(),
        retryable: err.is_retryable(),
        has_api_failure: err.api_failure().is_some(),
    }
}

/// Every public question on `Error`, asked of every kind of failure, each
/// answered both ways somewhere in the table.
#[tokio::test]
async fn every_question_on_an_error_is_answered_both_ways() {
    use common::{Reply, builder, dead_url};
    use runalloy_embedded::{OperationCall, RetryPolicy};
    let once = |url: &str| {
        builder(url)
            .timeout(Duration::from_millis(300))
            .retry_policy(RetryPolicy::none().deadline(Duration::from_secs(2)))
            .build()
            .unwrap()
    };
    let none = Answers::default();
    let http = Answers {
        has_api_failure: true,
        ..none
    };
    let mut cases: Vec<(&str, Error, Answers)> = Vec::new();
    for (name, reply, expected) in [
        (
            "429",
            json(429, r#"{"message":"slow down"}"#),
            Answers {
                rate_limited: true,
                retryable: true,
                ..http
            },
        ),
        (
            "500",
            json(500, r#"{"message":"boom"}"#),
            Answers {
                retryable: true,
                ..http
            },
        ),
        (
            "api 404",
            json(404, r#"{"message":"User not found"}"#),
            Answers {
                any_404: true,
                api_not_found: true,
                ..http
            },
        ),
        (
            "gateway 404",
            json(404, r#"{"message":"Not Found"}"#),
            Answers {
                any_404: true,
                ..http
            },
        ),
        (
            "401",
            json(401, r#"{"message":"Unauthorized"}"#),
            Answers { auth: true, ..http },
        ),
        (
            "403",
            json(403, r#"{"message":"Forbidden"}"#),
            Answers { auth: true, ..http },
        ),
        ("400", json(400, r#"{"message":"bad"}"#), http),
        (
            "unconfirmed",
            json(200, "{}"),
            Answers {
                unconfirmed: true,
                ..http
            },
        ),
        ("undecodable", json(200, "not json"), none),
        (
            "timeout",
            Reply::Delay(Duration::from_secs(1), Box::new(json(200, "{}"))),
            Answers {
                timeout: true,
                retryable: true,
                ..none
            },
        ),
        (
            "reset",
            Reply::Close,
            Answers {
                retryable: true,
                ..none
            },
        ),
    ] {
        let server = TestServer::always(reply).await;
        let err = match name {
            "unconfirmed" => once(&server.url()).delete_user("u").await.unwrap_err(),
            _ => once(&server.url()).get_user("u").await.unwrap_err(),
        };
        cases.push((name, err, expected));
    }
    let err = once(&dead_url().await).get_user("u").await.unwrap_err();
    let refused = Answers {
        connect: true,
        retryable: true,
        ..none
    };
    cases.push(("refused", err, refused));
    // A Retry-After the deadline cannot hold.
    let err = retry_after_past_the_deadline(429).await;
    assert!(matches!(err, Error::DeadlineExceeded(_)), "{err:?}");
    let cut = Answers {
        timeout: true,
        rate_limited: true,
        retryable: true,
        ..none
    };
    cases.push(("deadline of a 429", err, cut));
    // A 503's Retry-After the deadline cannot hold: the API throttled too.
    let err = retry_after_past_the_deadline(503).await;
    assert!(
        matches!(
            err.deadline_exceeded().map(|c| c.wait),
            Some(Wait::RetryAfter(_))
        ),
        "{err:?}"
    );
    cases.push(("deadline of a 503's Retry-After", err, cut));
    // A 500's backoff past the deadline: not a throttle. The jitter's draw
    // is seeded, and the backoff's window (an hour) dwarfs the deadline.
    let server = TestServer::always(json(500, "{}")).await;
    fastrand::seed(11);
    let err = builder(&server.url())
        .retry_policy(
            RetryPolicy::default()
                .base_delay(Duration::from_secs(3600))
                .max_delay(Duration::from_secs(3600))
                .deadline(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
        .get_user("u")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.deadline_exceeded().map(|c| c.wait),
            Some(Wait::Backoff(_))
        ),
        "{err:?}"
    );
    let backoff_cut = Answers {
        timeout: true,
        retryable: true,
        ..none
    };
    cases.push(("deadline of a 500's backoff", err, backoff_cut));
    // A page's failure answers as its cause.
    let server = TestServer::always(json(429, "{}")).await;
    let c = once(&server.url());
    let mut pages = std::pin::pin!(c.paginate(OperationCall::new("get-logs").unwrap()));
    let err = futures::StreamExt::next(&mut pages)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::Page { page: 1, .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.attempts(), 1);
    let page = Answers {
        rate_limited: true,
        retryable: true,
        ..http
    };
    cases.push(("page of a 429", err, page));
    cases.push((
        "invalid input",
        Error::InvalidInput("x".into()),
        Answers {
            invalid_input: true,
            ..none
        },
    ));
    cases.push((
        "still readable",
        Error::StillReadable,
        Answers {
            still_readable: true,
            ..none
        },
    ));
    cases.push(("not the api", Error::NotTheApi("x".into()), none));
    for (name, err, expected) in cases {
        assert_eq!(answers(&err), expected, "{name}: {err:?}");
    }
}

#[tokio::test]
async fn a_long_body_is_said_to_be_longer_than_what_was_kept() {
    let long = format!("<html>{}</html>", "x".repeat(400));
    let server = TestServer::always(json(502, &long)).await;
    let err = client(&server.url()).get_user("u").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "server error: get-a-user GET /users/{userId}: HTTP 502 Bad Gateway \
         (body of 300+ characters, not shown) after 3 attempt(s)"
    );
    let short = TestServer::always(json(502, "<html>bad gateway</html>")).await;
    let err = client(&short.url()).get_user("u").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "server error: get-a-user GET /users/{userId}: HTTP 502 Bad Gateway \
         (body of 24 characters, not shown) after 3 attempt(s)"
    );
}

#[tokio::test]
async fn an_api_failures_debug_shows_its_facts_and_never_its_body() {
    let body = r#"{"message":"boom","email":"jane@example.com"}"#;
    let server = TestServer::always(json(400, body)).await;
    let err = client(&server.url()).get_user("u").await.unwrap_err();
    let failure = err.api_failure().unwrap();
    let shown = format!("{failure:?}");
    assert_eq!(
        shown,
        format!(
            "ApiFailure {{ operation: \"get-a-user\", status: 400, message: Some(\"boom\"), \
             retry_after: None, body_excerpt: <body of {} characters, not shown>, attempts: 1, \
             headers: {{}} }}",
            body.len()
        )
    );
    assert!(!shown.contains("jane@example.com"), "{shown}");
}

/// The deprecated question still answers as it did: any 404.
#[tokio::test]
#[allow(deprecated)]
async fn is_not_found_is_still_any_404() {
    for (status, any_404) in [(404, true), (500, false), (401, false)] {
        let server = TestServer::always(json(status, r#"{"message":"x"}"#)).await;
        let err = client(&server.url()).get_user("u").await.unwrap_err();
        assert_eq!(err.is_not_found(), any_404, "{status}");
        assert_eq!(err.is_not_found(), err.is_any_404(), "{status}");
    }
}

#[test]
fn control_characters_are_written_as_escapes_and_plain_text_is_kept() {
    use runalloy_embedded::escape_controls;
    use std::borrow::Cow;
    assert_eq!(escape_controls("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
    assert_eq!(escape_controls("line\rover"), "line\\rover");
    assert!(matches!(
        escape_controls("plain text"),
        Cow::Borrowed("plain text")
    ));
    assert!(matches!(escape_controls("a\tb"), Cow::Owned(_)));
}

/// The error of a `status` that asks for 30 s, against a 2 s deadline.
async fn retry_after_past_the_deadline(status: u16) -> Error {
    let server = TestServer::always(with_header(json(status, "{}"), "retry-after", "30")).await;
    common::builder(&server.url())
        .retry_policy(
            runalloy_embedded::RetryPolicy::default()
                .max_retry_after(Duration::from_secs(60))
                .deadline(Duration::from_secs(2)),
        )
        .build()
        .unwrap()
        .get_user("u")
        .await
        .unwrap_err()
}
