//! Erase and offboarding outcomes as JSON: a service answers "what happened
//! to this erasure" with `serde_json::to_value(&outcome)`, in the shape of
//! the command line's report lines, with no body, path or query value.

use crate::common;

use common::{Recorded, Reply, TestServer, client, json};
use runalloy_embedded::{OutcomeStatus, PartStatus};
use serde_json::json;

fn offboarding(r: &Recorded) -> Reply {
    match (r.method.as_str(), r.path()) {
        ("PUT", "/users/u-1/deactivate-workflows") => json(200, r#"{"message":"Success"}"#),
        ("GET", "/credentials/users/u-1") => json(200, r#"{"data":[{"credentialId":"c-1"}]}"#),
        ("DELETE", "/users/u-1/logs") => json(200, r#"{"message":"Success"}"#),
        ("DELETE", "/users/u-1") => json(200, r#"{"success":true}"#),
        ("DELETE", "/users/u-1/credentials/c-1") => json(200, r#"{"success":true}"#),
        _ => json(404, r#"{"message":"Cannot route"}"#),
    }
}

#[tokio::test]
async fn an_erased_user_serialises_as_its_report_line() {
    let server = TestServer::start(|_, r| offboarding(r)).await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert_eq!(outcome.status(), OutcomeStatus::Done);
    assert_eq!(outcome.logs.status(), PartStatus::Deleted);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({"userId": "u-1", "status": "erased", "logs": "deleted", "user": "deleted"})
    );
}

#[tokio::test]
async fn a_failed_erase_serialises_its_error_without_the_body() {
    let server = TestServer::start(|_, r| match r.path() {
        "/users/u-1/logs" => json(200, r#"{"message":"Success"}"#),
        _ => json(403, r#"{"message":"Forbidden","user":"jane@example.com"}"#),
    })
    .await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert_eq!(outcome.status(), OutcomeStatus::Failed);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({
            "userId": "u-1",
            "status": "failed",
            "logs": "deleted",
            "user": "failed",
            "error": {
                "message": "request failed: delete-a-user DELETE /users/{userId}: HTTP 403 Forbidden: \
                            Forbidden after 1 attempt(s)",
                "httpStatus": 403,
                "attempts": 1
            }
        })
    );
}

#[tokio::test]
async fn an_unconfirmed_erase_says_so() {
    let server = TestServer::start(|_, r| match r.path() {
        "/users/u-1/logs" => json(200, "{}"),
        _ => json(200, r#"{"success":true}"#),
    })
    .await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    let value = serde_json::to_value(&outcome).unwrap();
    assert_eq!(value["status"], "unconfirmed");
    assert_eq!(value["logs"], "unconfirmed");
    assert_eq!(value["user"], "skipped");
    assert_eq!(value["error"]["httpStatus"], 200);
}

#[tokio::test]
async fn an_offboarded_user_serialises_every_step() {
    let server = TestServer::start(|_, r| offboarding(r)).await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    assert_eq!(outcome.status(), OutcomeStatus::Done);
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({
            "userId": "u-1",
            "status": "offboarded",
            "workflows": "done",
            "credentialsListed": "done",
            "credentials": [{"credentialId": "c-1", "outcome": "deleted"}],
            "logs": "deleted",
            "user": "deleted"
        })
    );
}

#[tokio::test]
async fn a_stopped_offboarding_serialises_what_was_skipped() {
    let server = TestServer::start(|_, r| match r.path() {
        "/users/u-1/deactivate-workflows" => json(500, r#"{"message":"down"}"#),
        _ => offboarding(r),
    })
    .await;
    let outcome = client(&server.url()).offboard_user("u-1").await;
    let value = serde_json::to_value(&outcome).unwrap();
    assert_eq!(value["status"], "failed");
    assert_eq!(value["workflows"], "failed");
    assert_eq!(value["credentialsListed"], "skipped");
    assert_eq!(value["credentials"], json!([]));
    assert_eq!(
        (&value["logs"], &value["user"]),
        (&json!("skipped"), &json!("skipped"))
    );
    assert_eq!(value["error"]["httpStatus"], 500);
    assert_eq!(value["error"]["attempts"], 3);
}

#[test]
fn statuses_serialise_as_the_reports_strings() {
    let all = [
        (PartStatus::Deleted, "deleted"),
        (PartStatus::Done, "done"),
        (PartStatus::AlreadyGone, "already_gone"),
        (PartStatus::DoneEarlier, "done_earlier"),
        (PartStatus::Skipped, "skipped"),
        (PartStatus::Unconfirmed, "unconfirmed"),
        (PartStatus::Failed, "failed"),
    ];
    for (status, text) in all {
        assert_eq!(serde_json::to_value(status).unwrap(), json!(text));
        assert_eq!(status.as_str(), text);
        assert_eq!(
            serde_json::from_value::<PartStatus>(json!(text)).unwrap(),
            status
        );
    }
    assert_eq!(OutcomeStatus::Done.as_erase_str(), "erased");
    assert_eq!(OutcomeStatus::Done.as_offboard_str(), "offboarded");
    assert_eq!(OutcomeStatus::Failed.as_offboard_str(), "failed");
}
