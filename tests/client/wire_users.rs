//! Each Users operation, as the server receives it: method, path, query,
//! headers and body, exactly.

use crate::common;

use common::{Recorded, Reply, TEST_KEY, TestServer, client, json};
use runalloy_embedded::{API_VERSION, Error, PartOutcome, USER_AGENT};

/// The headers every request carries. `host` is HTTP/1.1's own and `accept`
/// is the generated code's; the client adds exactly the other three.
const STANDARD_HEADERS: [&str; 5] = [
    "accept",
    "authorization",
    "host",
    "user-agent",
    "x-api-version",
];

/// Asserts the standard headers' values, and that they are all there is.
fn assert_exact_headers(r: &Recorded) {
    assert_standard_headers(r);
    assert_eq!(r.header_names(), STANDARD_HEADERS);
}

fn assert_standard_headers(r: &Recorded) {
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(r.header("x-api-version"), Some(API_VERSION));
    assert_eq!(r.header("user-agent"), Some(USER_AGENT));
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(
        r.header("api-version"),
        None,
        "progenitor's stray header leaked"
    );
}

#[tokio::test]
async fn delete_user_sends_exactly_delete_users_id_with_three_headers() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let out = client(&server.url())
        .delete_user("6323d7c9122ae69742a5d0a2")
        .await
        .unwrap();
    assert_eq!(out.success, Some(true));

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "DELETE");
    assert_eq!(r.target, "/users/6323d7c9122ae69742a5d0a2");
    assert_exact_headers(r);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn delete_logs_puts_the_id_in_the_path_and_in_the_query() {
    let server = TestServer::always(json(200, r#"{"message":"Success"}"#)).await;
    let out = client(&server.url()).delete_user_logs("u-1").await.unwrap();
    assert_eq!(out.message.as_deref(), Some("Success"));

    let r = &server.requests()[0];
    assert_eq!(r.method, "DELETE");
    // The vendor's document declares `userId` in the query of a path that
    // names it: the same value goes in both places.
    assert_eq!(r.target, "/users/u-1/logs?userId=u-1");
    assert_exact_headers(r);
}

#[tokio::test]
async fn the_token_request_carries_the_id_in_the_path_and_in_the_query() {
    let server = TestServer::always(json(200, r#"{"token":"a.b.c"}"#)).await;
    client(&server.url())
        .call(|api| api.generate_jwt_token().user_id("jane@example.com").send())
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.target,
        "/users/jane%40example.com/token?userId=jane%40example.com"
    );
    assert_exact_headers(r);
}

/// Success statuses and bodies that confirm nothing, with how the error
/// names the body (its size, never its text).
const UNCONFIRMING: [(u16, &str, &str); 5] = [
    (200, "{}", "body of 2 characters, not shown"),
    (
        200,
        r#"{"message":"ok"}"#,
        "body of 16 characters, not shown",
    ),
    (200, "null", "body of 4 characters, not shown"),
    (
        200,
        r#"{"success":"true"}"#,
        "body of 18 characters, not shown",
    ),
    (204, "", "empty body"),
];

fn reply(status: u16, body: &str) -> Reply {
    Reply::Respond {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn a_user_delete_counts_only_when_the_api_says_success_true() {
    for (status, body, quoted) in UNCONFIRMING {
        let server = TestServer::always(reply(status, body)).await;
        let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
        assert!(err.is_unconfirmed(), "{status} {body}: {err:?}");
        assert_eq!(err.api_failure().unwrap().body_excerpt, body);
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let reason = if status == 204 { "No Content" } else { "OK" };
        assert_eq!(
            err.to_string(),
            format!(
                "delete-a-user DELETE /users/{{userId}}: HTTP {status} {reason}: the API did not \
                 confirm it ({quoted}) after 1 attempt(s)"
            ),
            "{status} {body}"
        );
        assert_eq!(server.requests().len(), 1, "a 2xx is never retried");
    }

    let server = TestServer::always(json(200, r#"{"success":false}"#)).await;
    let err = client(&server.url()).delete_user("u-1").await.unwrap_err();
    assert!(matches!(err, Error::Rejected(_)), "{err:?}");
}

#[tokio::test]
async fn a_logs_delete_counts_only_with_the_documented_message() {
    // `{"message": "ok"}` is the documented shape, so it confirms.
    let unconfirming = UNCONFIRMING
        .iter()
        .filter(|(_, body, _)| !body.contains("message"));
    for &(status, body, _) in unconfirming.chain(&[(200, r#"{"success":true}"#, "")]) {
        let server = TestServer::always(reply(status, body)).await;
        let err = client(&server.url())
            .delete_user_logs("u-1")
            .await
            .unwrap_err();
        assert!(err.is_unconfirmed(), "{status} {body}: {err:?}");
        assert!(
            err.to_string()
                .starts_with("delete-logs-for-a-user DELETE /users/{userId}/logs: HTTP ")
                && err.to_string().contains("the API did not confirm it"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_erase_answered_with_200_empty_is_unconfirmed_not_erased() {
    let server = TestServer::always(json(200, "{}")).await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert!(!outcome.is_erased());
    assert_eq!(
        outcome.status(),
        runalloy_embedded::OutcomeStatus::Unconfirmed
    );
    assert!(
        matches!(outcome.logs, PartOutcome::Unconfirmed(_)),
        "{outcome:?}"
    );
    assert!(matches!(outcome.user, PartOutcome::Skipped), "{outcome:?}");
    assert!(outcome.error().is_some_and(Error::is_unconfirmed));
    // The user was not deleted after logs that were not confirmed.
    assert_eq!(server.requests().len(), 1);

    // Logs confirmed, the user's answer not: still not erased.
    let server = TestServer::start(|_, r| {
        if r.path().ends_with("/logs") {
            json(200, r#"{"message":"Success"}"#)
        } else {
            json(200, r#"{"message":"ok"}"#)
        }
    })
    .await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert_eq!(
        outcome.status(),
        runalloy_embedded::OutcomeStatus::Unconfirmed
    );
    assert!(matches!(outcome.logs, PartOutcome::Deleted));
    assert!(matches!(outcome.user, PartOutcome::Unconfirmed(_)));
}

#[tokio::test]
async fn get_user_decodes_a_user_without_username() {
    let server = TestServer::always(json(
        200,
        r#"{"userId":"u-1","fullName":"William Jackson","extra":1}"#,
    ))
    .await;
    let user = client(&server.url()).get_user("u-1").await.unwrap();
    assert_eq!(user.user_id, "u-1");
    assert_eq!(user.full_name.as_deref(), Some("William Jackson"));
    assert_eq!(user.username, None);

    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("GET", "/users/u-1")
    );
    assert_standard_headers(r);
}

#[tokio::test]
async fn list_users_sends_the_workflow_filter_as_a_query() {
    let server = TestServer::always(json(
        200,
        r#"{"data":[{"userId":"a","fullName":"A"},{"userId":"b","username":"b@x","fullName":"B"}]}"#,
    ))
    .await;
    let c = client(&server.url());
    let all = c.list_users(None).await.unwrap();
    assert_eq!(all.data.len(), 2);
    assert_eq!(all.data[0].username, None);
    c.list_users(Some("wf 1&x")).await.unwrap();

    let seen = server.requests();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("GET", "/users")
    );
    assert_eq!(seen[1].target, "/users?parentWorkflowId=wf+1%26x");
    seen.iter().for_each(assert_standard_headers);
}

#[tokio::test]
async fn create_user_posts_json_to_users() {
    let server = TestServer::always(json(200, r#"{"userId":"xyz123abc098754"}"#)).await;
    let created = client(&server.url())
        .create_user("jane@example.com", Some("Jane Doe"))
        .await
        .unwrap();
    assert_eq!(created.user_id.as_deref(), Some("xyz123abc098754"));

    let r = &server.requests()[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/users"));
    assert_standard_headers(r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"username": "jane@example.com", "fullName": "Jane Doe"})
    );
}

#[tokio::test]
async fn create_user_without_full_name_omits_the_field() {
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    client(&server.url())
        .create_user("jane", None)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&server.requests()[0].body).unwrap();
    assert_eq!(body, serde_json::json!({"username": "jane"}));
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    client(&format!("{}/proxy/alloy/", server.url()))
        .delete_user("u-1")
        .await
        .unwrap();
    assert_eq!(server.requests()[0].target, "/proxy/alloy/users/u-1");
}

#[tokio::test]
async fn user_agent_suffix_is_appended() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = common::builder(&server.url())
        .user_agent_suffix("acme-offboarding/2.1")
        .build()
        .unwrap();
    c.delete_user("u").await.unwrap();
    assert_eq!(
        server.requests()[0].header("user-agent"),
        Some(format!("{USER_AGENT} acme-offboarding/2.1").as_str())
    );
}

#[tokio::test]
async fn update_user_puts_only_the_fields_given() {
    let server = TestServer::always(json(
        200,
        r#"{"userId":"u-1","fullName":"Jane Smith","username":"jane"}"#,
    ))
    .await;
    let user = client(&server.url())
        .update_user("u-1", None, Some("Jane Smith"))
        .await
        .unwrap();
    assert_eq!(user.full_name.as_deref(), Some("Jane Smith"));
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("PUT", "/users/u-1")
    );
    assert_standard_headers(r);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, serde_json::json!({"fullName": "Jane Smith"}));
}

#[tokio::test]
async fn create_users_posts_the_batch_and_returns_the_refused() {
    let server = TestServer::always(json(
        200,
        r#"{"message":"success","invalidUsers":[{"username":"alreadyexists123"}]}"#,
    ))
    .await;
    let created = client(&server.url())
        .create_users([
            ("demo@runalloy.com", Some("Gregg Mojica")),
            ("alreadyexists123", None),
        ])
        .await
        .unwrap();
    assert_eq!(created.invalid_users.len(), 1);
    assert_eq!(
        created.invalid_users[0].username.as_deref(),
        Some("alreadyexists123")
    );
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/users/batch")
    );
    assert_standard_headers(r);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"users": [
            {"username": "demo@runalloy.com", "fullName": "Gregg Mojica"},
            {"username": "alreadyexists123"}
        ]})
    );
}

#[tokio::test]
async fn bad_updates_and_batches_are_refused_before_sending() {
    let server = TestServer::always(json(200, "{}")).await;
    let c = client(&server.url());
    let refusal = |e: runalloy_embedded::Error| e.to_string();
    assert_eq!(
        refusal(c.update_user("u-1", None, None).await.unwrap_err()),
        "invalid input: neither a username nor a full name was given to update; nothing was sent"
    );
    assert_eq!(
        refusal(c.update_user("u-1", Some(" "), None).await.unwrap_err()),
        "invalid input: the username is empty; nothing was sent"
    );
    assert_eq!(
        refusal(c.update_user("..", Some("x"), None).await.unwrap_err()),
        "invalid input: the user id is `.` or `..`, which would address another endpoint; nothing was sent"
    );
    assert_eq!(
        refusal(c.create_users(std::iter::empty()).await.unwrap_err()),
        "invalid input: the batch holds no users; nothing was sent"
    );
    let names: Vec<String> = (0..1001).map(|i| format!("user-{i}")).collect();
    assert_eq!(
        refusal(
            c.create_users(names.iter().map(|n| (n.as_str(), None)))
                .await
                .unwrap_err()
        ),
        "invalid input: the batch holds 1001 users; the API takes at most 1000 at a time; nothing was sent"
    );
    assert_eq!(
        refusal(c.create_users([("a", None), ("", None)]).await.unwrap_err()),
        "invalid input: user 2 of the batch has an empty username; nothing was sent"
    );
    assert!(server.requests().is_empty());
}
