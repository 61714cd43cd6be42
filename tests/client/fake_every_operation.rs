//! The stand-in answers every operation of the spec, behind the same key
//! and version checks, with a body that decodes as the operation's type.

use crate::common;

use common::operations::{example, sample_call, sample_params, sample_value};
use common::{TEST_KEY, client};
use runalloy_embedded::{Error, OPERATIONS, OperationCall};
use runalloy_embedded_fake::FakeAlloy;
use serde_json::Value;

#[tokio::test]
async fn every_operation_is_answered_with_its_documented_shape() {
    for op in OPERATIONS {
        let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
        // The Users operations look users up by id or username; the sample
        // `userId` is a username here.
        let mut call = sample_call(op);
        if op
            .params
            .iter()
            .any(|p| p.name == "userId" && p.location == "path")
        {
            let user = fake.insert_user(&sample_value(op, "userId"), Some("Jane Doe"));
            // The user's credentials are kept too: delete one that exists.
            if op.params.iter().any(|p| p.name == "credentialId") {
                let id = fake.insert_credential(&user, "shopify");
                call = OperationCall::new(op.id).unwrap();
                for (name, value) in sample_params(op) {
                    let value = if name == "credentialId" {
                        id.clone()
                    } else {
                        value
                    };
                    call = call.param(&name, value).unwrap();
                }
            }
        }
        let value = client(&fake.base_url())
            .call_operation(&call)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", op.id));
        // Operations without state of their own answer with the spec's
        // example; the Users ones, a user's credentials and logs, with what
        // they acted on.
        let stateful = [
            "batch-create-users",
            "create-a-user",
            "delete-a-credential",
            "delete-a-user",
            "get-logs",
            "get-workflow-logs",
            "list-user-credentials",
            "get-a-user",
            "list-all-users",
            "update-a-user",
        ];
        if !stateful.contains(&op.id) {
            let documented: Value = serde_json::from_str(&example(op)).unwrap();
            assert_eq!(value, documented, "{}", op.id);
        }
    }
}

#[tokio::test]
async fn every_operation_refuses_a_wrong_key() {
    let fake = FakeAlloy::start("another-key").await.unwrap();
    for op in OPERATIONS {
        let err = client(&fake.base_url())
            .call_operation(&sample_call(op))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized(_)), "{}: {err}", op.id);
    }
}

#[tokio::test]
async fn what_the_spec_requires_is_checked_as_the_api_would() {
    // The client never sends these; a hand-made request shows the stand-in
    // holds other clients to the spec too.
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let http = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Option<&str>| {
        let mut request = http
            .request(method, format!("{}{path}", fake.base_url()))
            .bearer_auth(TEST_KEY)
            .header("x-api-version", runalloy_embedded::API_VERSION);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        request.send()
    };
    let cases = [
        (
            reqwest::Method::GET,
            "/integrations",
            None,
            400,
            r#"{"message":"userId is required"}"#,
        ),
        (
            reqwest::Method::POST,
            "/run/event",
            Some(r#"{"event":"e","userId":"u"}"#),
            400,
            r#"{"message":"data is required"}"#,
        ),
        (
            reqwest::Method::POST,
            "/run/event",
            Some("not json"),
            400,
            r#"{"message":"Request body must be JSON"}"#,
        ),
        (
            reqwest::Method::GET,
            "/workflows//logs",
            None,
            404,
            r#"{"message":"Cannot GET /workflows//logs"}"#,
        ),
        (
            reqwest::Method::GET,
            "/nothing-here",
            None,
            404,
            r#"{"message":"Cannot GET /nothing-here"}"#,
        ),
    ];
    for (method, path, body, status, answer) in cases {
        let response = send(method, path, body).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.text().await.unwrap(), answer, "{path}");
    }
}
