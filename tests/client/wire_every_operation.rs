//! Every operation of the spec, as the server receives it: method, path,
//! query, headers and body, through `Client::call_operation` (which calls
//! the generated method through `Client::call`); the CLI's tests do the same
//! through `api call`.
//! Driven by `OPERATIONS`, so an operation added to the spec is tested here
//! with no new code.

use crate::common;

use common::operations::{assert_received, example, sample_call};
use common::{TestServer, client, json};
use runalloy_embedded::OPERATIONS;
use serde_json::Value;

#[tokio::test]
async fn every_operation_through_the_client_sends_exactly_its_request() {
    for op in OPERATIONS {
        let server = TestServer::always(json(200, &example(op))).await;
        let value = client(&server.url())
            .call_operation(&sample_call(op))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", op.id));
        let seen = server.requests();
        assert_eq!(seen.len(), 1, "{}", op.id);
        assert_received(op, &seen[0]);
        // The example decodes as the operation's type and back, losing
        // nothing that the spec describes.
        let served: Value = serde_json::from_str(&example(op)).unwrap();
        assert_eq!(value, served, "{}: decoded response", op.id);
    }
}

/// A generated method called directly through `Client::call`, as the
/// server receives it.
#[tokio::test]
async fn every_generated_operation_is_callable_through_call() {
    let server = TestServer::always(json(200, r#"{"message":"Success"}"#)).await;
    let c = client(&server.url());
    let out = c
        .call(|api| api.delete_logs_for_a_user().user_id("u-9").send())
        .await
        .unwrap();
    assert_eq!(out.message.as_deref(), Some("Success"));
    let r = &server.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("DELETE", "/users/u-9/logs?userId=u-9")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {}", common::TEST_KEY).as_str())
    );
    assert_eq!(
        r.header("x-api-version"),
        Some(runalloy_embedded::API_VERSION)
    );
}
