//! `Client::call_operation`: what is refused before sending, and what the
//! caller gets back when the API answers badly.

use crate::common;

use common::{TestServer, client, json};
use runalloy_embedded::{Error, OperationCall};
use serde_json::json;

fn refusal(result: Result<OperationCall, Error>) -> String {
    match result.and_then(|call| call.check().map(|()| call)) {
        Err(Error::InvalidInput(why)) => why,
        Err(other) => panic!("expected InvalidInput, got {other}"),
        Ok(_) => panic!("expected the call to be refused"),
    }
}

#[test]
fn bad_calls_are_refused_naming_the_operation_and_the_parameter() {
    let new = OperationCall::new;
    assert_eq!(
        refusal(new("delete-everything")),
        "`delete-everything` is not an operation of the spec; `runalloy-embedded api list` shows them"
    );
    assert_eq!(
        refusal(new("delete-a-credential").and_then(|c| c.param("userID", "u"))),
        "delete-a-credential: `userID` is not a parameter of it (it takes: credentialId, userId)"
    );
    assert_eq!(
        refusal(new("delete-a-credential").and_then(|c| c.param("userId", "u"))),
        "delete-a-credential: the required path parameter `credentialId` is missing"
    );
    assert_eq!(
        refusal(new("delete-workflow").and_then(|c| c.param("workflowId", "w"))),
        "delete-workflow: the required query parameter `userId` is missing"
    );
    assert_eq!(
        refusal(new("get-a-user").and_then(|c| c.param("userId", "a")?.param("userId", "b"))),
        "get-a-user: parameter `userId` is given twice"
    );
    for (value, why) in [
        ("", "is empty"),
        ("..", "is `.` or `..`, which would address another endpoint"),
        ("a\\b", "contains `\\`, which URLs read as `/`"),
        ("a\nb", "contains a control character"),
    ] {
        assert_eq!(
            refusal(new("getInstallation").and_then(|c| c.param("installationId", value))),
            format!("getInstallation: path parameter `installationId`: {why}")
        );
    }
    assert_eq!(
        refusal(new("list-events").and_then(|c| c.body(json!({})))),
        "list-events: GET /events takes no request body"
    );
    assert_eq!(
        refusal(new("edit-installation")),
        "edit-installation: the request body is required"
    );
    assert_eq!(
        refusal(new("run-event").and_then(|c| c.body(json!({"event": "e", "userId": "u"})))),
        "run-event: the request body does not match the operation's schema: /data: a required field is missing"
    );
    assert_eq!(
        refusal(
            new("get-workflow-logs").and_then(|c| c.param("workflowId", "w")?.param("page", "two"))
        ),
        "get-workflow-logs: parameter `page` must be a value of type integer, not \"two\" (invalid digit found in string)"
    );
    let bad_enum = refusal(new("get-logs").and_then(|c| c.param("sortOrder", "sideways")));
    assert!(
        bad_enum.starts_with(
            "get-logs: parameter `sortOrder` must be one of asc, desc, not \"sideways\""
        ),
        "{bad_enum}"
    );
}

/// The overlay makes every request body required (openapi/README.md):
/// update-a-user changes nothing without one.
#[test]
fn a_body_left_out_is_refused_where_the_spec_requires_it() {
    let call = OperationCall::new("update-a-user")
        .unwrap()
        .param("userId", "u-1")
        .unwrap();
    let err = call.check().unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}

#[tokio::test]
async fn nothing_is_sent_for_a_refused_call() {
    let server = TestServer::always(json(200, "{}")).await;
    let call = OperationCall::new("run-event")
        .unwrap()
        .body(json!({"event": 1, "userId": "u", "data": {}}))
        .unwrap();
    let err = client(&server.url())
        .call_operation(&call)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_response_that_does_not_decode_as_the_operations_type_is_undecodable() {
    let server = TestServer::always(json(200, r#"{"totalWorkflowRuns":"many"}"#)).await;
    let call = OperationCall::new("get-workflow-analytics")
        .unwrap()
        .param("workflowId", "w")
        .unwrap();
    let err = client(&server.url())
        .call_operation(&call)
        .await
        .unwrap_err();
    match &err {
        Error::Undecodable {
            operation,
            status,
            excerpt,
            ..
        } => {
            assert_eq!(
                (*operation, status.as_u16()),
                ("get-workflow-analytics", 200)
            );
            assert_eq!(excerpt, r#"{"totalWorkflowRuns":"many"}"#);
        }
        other => panic!("expected Undecodable, got {other}"),
    }
}

#[tokio::test]
async fn api_errors_name_the_operation_and_the_status() {
    let server = TestServer::always(json(401, r#"{"message":"Unauthorized"}"#)).await;
    let call = OperationCall::new("list-events").unwrap();
    let err = client(&server.url())
        .call_operation(&call)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "unauthorized: list-events GET /events: HTTP 401 Unauthorized: Unauthorized after 1 attempt(s)"
    );
}

#[tokio::test]
async fn the_token_decodes_as_an_object_or_a_bare_string() {
    for body in [r#"{"token":"a.b.c"}"#, r#""a.b.c""#] {
        let server = TestServer::always(json(200, body)).await;
        let call = OperationCall::new("generate-jwt-token")
            .unwrap()
            .param("userId", "u")
            .unwrap();
        let value = client(&server.url()).call_operation(&call).await.unwrap();
        assert_eq!(value.to_string(), body);
    }
}
