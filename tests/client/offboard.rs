//! `Client::offboard_user`: workflows off, credentials deleted, logs, then
//! the user, each step reported, and nothing past a failure.

use crate::common;

use common::{Recorded, Reply, TestServer, client, json};
use runalloy_embedded::{Error, OutcomeStatus, PartOutcome};

fn happy(r: &Recorded) -> Reply {
    match (r.method.as_str(), r.path()) {
        ("PUT", "/users/u-1/deactivate-workflows") => json(200, r#"{"message":"Success"}"#),
        ("GET", "/credentials/users/u-1") => json(
            200,
            r#"{"data":[{"credentialId":"c-1","type":"shopify"},{"credentialId":"c-2","type":"netsuite"}]}"#,
        ),
        ("DELETE", "/users/u-1/logs") => json(200, r#"{"message":"Success"}"#),
        ("DELETE", _) => json(200, r#"{"success":true}"#),
        _ => json(404, r#"{"message":"Cannot route"}"#),
    }
}

/// [`happy`], except that `target` gets `reply`.
async fn happy_except(target: &'static str, reply: Reply) -> TestServer {
    TestServer::start(move |_, r| {
        if r.path() == target {
            reply.clone()
        } else {
            happy(r)
        }
    })
    .await
}

fn sent(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

#[tokio::test]
async fn every_step_runs_in_order_and_is_reported() {
    let server = TestServer::start(|_, r| happy(r)).await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert!(outcome.is_offboarded(), "{:?}", outcome.error());
    assert_eq!(
        sent(&server),
        [
            "PUT /users/u-1/deactivate-workflows",
            "GET /credentials/users/u-1",
            "DELETE /users/u-1/credentials/c-1",
            "DELETE /users/u-1/credentials/c-2",
            "DELETE /users/u-1/logs?userId=u-1",
            "DELETE /users/u-1",
        ]
    );
    assert_eq!(outcome.workflows.as_str(), "done");
    assert_eq!(outcome.credentials_listed.as_str(), "done");
    let credentials: Vec<(&str, &str)> = outcome
        .credentials
        .iter()
        .map(|(id, o)| (id.as_str(), o.as_str()))
        .collect();
    assert_eq!(credentials, [("c-1", "deleted"), ("c-2", "deleted")]);
    assert_eq!(
        (outcome.erase.logs.as_str(), outcome.erase.user.as_str()),
        ("deleted", "deleted")
    );
}

#[tokio::test]
async fn a_failed_credential_stops_before_the_next_one_and_the_erase() {
    let server = happy_except(
        "/users/u-1/credentials/c-1",
        json(400, r#"{"message":"Credential is in use"}"#),
    )
    .await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert!(!outcome.is_offboarded());
    assert_eq!(
        sent(&server),
        [
            "PUT /users/u-1/deactivate-workflows",
            "GET /credentials/users/u-1",
            "DELETE /users/u-1/credentials/c-1",
        ]
    );
    assert_eq!(outcome.credentials.len(), 1);
    assert!(matches!(
        outcome.credentials[0].1,
        PartOutcome::Failed(Error::Api(_))
    ));
    assert_eq!(
        (outcome.erase.logs.as_str(), outcome.erase.user.as_str()),
        ("skipped", "skipped")
    );
    assert_eq!(
        outcome.error().map(|e| e.to_string()),
        Some("request failed: delete-a-credential DELETE /users/{userId}/credentials/{credentialId}: HTTP 400 Bad Request: Credential is in use after 1 attempt(s)".to_owned())
    );
}

#[tokio::test]
async fn a_refused_key_stops_at_the_first_step() {
    let server = TestServer::always(json(401, r#"{"message":"Unauthorized"}"#)).await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert_eq!(sent(&server), ["PUT /users/u-1/deactivate-workflows"]);
    assert!(matches!(
        outcome.workflows,
        PartOutcome::Failed(Error::Unauthorized(_))
    ));
    assert_eq!(outcome.credentials_listed.as_str(), "skipped");
    assert!(outcome.credentials.is_empty());
    assert_eq!(outcome.erase.user.as_str(), "skipped");
}

#[tokio::test]
async fn a_user_already_gone_counts_as_offboarded() {
    let server = TestServer::start(|_, r| {
        if r.target == "/users" {
            json(200, r#"{"data":[]}"#)
        } else {
            json(404, r#"{"message":"User not found"}"#)
        }
    })
    .await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert!(outcome.is_offboarded(), "{:?}", outcome.error());
    assert_eq!(outcome.workflows.as_str(), "already_gone");
    assert_eq!(outcome.credentials_listed.as_str(), "already_gone");
    // The base URL is proven once, at the first 404, for every step.
    assert_eq!(
        sent(&server),
        [
            "PUT /users/u-1/deactivate-workflows",
            "GET /users",
            "GET /credentials/users/u-1",
            "DELETE /users/u-1/logs?userId=u-1",
            "DELETE /users/u-1",
        ]
    );
}

#[tokio::test]
async fn a_bad_id_sends_nothing() {
    let server = TestServer::always(json(200, "{}")).await;
    let outcome = client(&server.url()).offboard_user("..").await;
    assert!(matches!(
        outcome.workflows,
        PartOutcome::Failed(Error::InvalidInput(_))
    ));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_credential_listed_without_an_id_is_a_failure_not_a_success() {
    let server = happy_except(
        "/credentials/users/u-1",
        json(
            200,
            r#"{"data":[{"credentialId":"c-1"},{"type":"shopify"}]}"#,
        ),
    )
    .await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert!(!outcome.is_offboarded());
    assert_eq!(
        sent(&server),
        [
            "PUT /users/u-1/deactivate-workflows",
            "GET /credentials/users/u-1",
            "DELETE /users/u-1/credentials/c-1",
        ]
    );
    let credentials: Vec<(&str, &str)> = outcome
        .credentials
        .iter()
        .map(|(id, o)| (id.as_str(), o.as_str()))
        .collect();
    assert_eq!(credentials, [("c-1", "deleted"), ("", "failed")]);
    assert_eq!(outcome.erase.user.as_str(), "skipped");
    assert_eq!(
        outcome.error().map(|e| e.to_string()),
        Some("not Alloy's API: GET /credentials/users/{userId} listed a credential without a credentialId, so it cannot be deleted".to_owned())
    );
}

#[tokio::test]
async fn a_credential_list_that_lists_nothing_at_all_is_not_read_as_none() {
    // `{}` would decode as an empty list: "no credentials", and the user
    // offboarded with its credentials still live.
    let server = happy_except("/credentials/users/u-1", json(200, "{}")).await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert!(!outcome.is_offboarded());
    assert_eq!(outcome.status(), OutcomeStatus::Unconfirmed);
    assert_eq!(outcome.credentials_listed.as_str(), "unconfirmed");
    assert!(outcome.credentials.is_empty());
    assert_eq!(outcome.erase.logs.as_str(), "skipped");
    assert_eq!(
        outcome.error().map(ToString::to_string).as_deref(),
        Some(
            "list-user-credentials GET /credentials/users/{userId}: HTTP 200 OK: the API did not \
             confirm it (body of 2 characters, not shown) after 1 attempt(s)"
        )
    );
    assert_eq!(
        sent(&server),
        [
            "PUT /users/u-1/deactivate-workflows",
            "GET /credentials/users/u-1",
        ]
    );
}
