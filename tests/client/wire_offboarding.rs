//! The user-scoped Credentials and Workflows methods an offboarding uses,
//! as the server receives them.

use crate::common;

use common::{TEST_KEY, TestServer, client, json};
use runalloy_embedded::API_VERSION;

fn assert_headers(r: &common::Recorded) {
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(r.header("x-api-version"), Some(API_VERSION));
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn list_user_credentials_gets_the_credentials_path() {
    let server = TestServer::always(json(
        200,
        r#"{"data":[{"credentialId":"66fb066c3793749b64c214bc","type":"shopify","name":"Shopify"}]}"#,
    ))
    .await;
    let listed = client(&server.url())
        .list_user_credentials("u@x.com")
        .await
        .unwrap();
    assert_eq!(
        listed.data[0].credential_id.as_deref(),
        Some("66fb066c3793749b64c214bc")
    );
    assert_eq!(listed.data[0].type_.as_deref(), Some("shopify"));
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("GET", "/credentials/users/u%40x.com")
    );
    assert_headers(r);
}

#[tokio::test]
async fn delete_credential_puts_both_ids_in_their_places() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let done = client(&server.url())
        .delete_credential("u-1", "c;1")
        .await
        .unwrap();
    assert_eq!(done.success, Some(true));
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("DELETE", "/users/u-1/credentials/c%3B1")
    );
    assert_headers(r);
}

#[tokio::test]
async fn deactivate_user_workflows_puts_without_a_body() {
    let server = TestServer::always(json(200, r#"{"message":"Success"}"#)).await;
    let done = client(&server.url())
        .deactivate_user_workflows("u-1")
        .await
        .unwrap();
    assert_eq!(done.message.as_deref(), Some("Success"));
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("PUT", "/users/u-1/deactivate-workflows")
    );
    assert_headers(r);
}

#[tokio::test]
async fn bad_ids_are_refused_before_sending() {
    let server = TestServer::always(json(200, "{}")).await;
    let c = client(&server.url());
    assert_eq!(
        c.delete_credential("u-1", "")
            .await
            .unwrap_err()
            .to_string(),
        "invalid input: the credential id is empty; nothing was sent"
    );
    assert_eq!(
        c.delete_credential("", "c").await.unwrap_err().to_string(),
        "invalid input: the user id is empty; nothing was sent"
    );
    assert_eq!(
        c.list_user_credentials("a\\b")
            .await
            .unwrap_err()
            .to_string(),
        "invalid input: the user id contains `\\`, which URLs read as `/`; nothing was sent"
    );
    assert_eq!(
        c.deactivate_user_workflows(" ")
            .await
            .unwrap_err()
            .to_string(),
        "invalid input: the user id is only whitespace; nothing was sent"
    );
    assert!(server.requests().is_empty());
}
