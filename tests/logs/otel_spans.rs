//! The spans of calls as the real OpenTelemetry pipeline exports them
//! (`tracing-opentelemetry` into the SDK's in-memory exporter): names,
//! kinds, attribute types, status, each attribute once, and no id.

use crate::common::{Reply, TestServer, client, dead_url, json};
use opentelemetry::trace::{SpanKind, Status, TracerProvider};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

const ID: &str = "jane-4711";

/// The spans exported while `calls` ran.
async fn exported<F: Future<Output = ()>>(calls: F) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        calls.await;
    }
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

/// The one span named `name`.
fn the_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "spans named {name}: {spans:#?}");
    found[0]
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// Every attribute once, and nothing that holds the id.
fn assert_clean(span: &SpanData) {
    let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "an attribute recorded twice: {span:#?}");
    let all = format!("{span:?}");
    assert!(!all.contains(ID), "the id leaked into the span: {all}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_call_that_fails_exports_one_span_with_typed_attributes_and_an_error_status() {
    let server = TestServer::sequence(vec![
        json(503, "{}"),
        json(503, "{}"),
        json(404, r#"{"message":"User not found"}"#),
    ])
    .await;
    let url = server.url();
    let spans = exported(async {
        let _ = client(&url).get_user(ID).await;
    })
    .await;
    let span = the_span(&spans, "GET /users/{userId}");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_clean(span);
    let port: i64 = url.rsplit(':').next().unwrap().parse().unwrap();
    let expect = [
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.template", "/users/{userId}"),
        KeyValue::new("server.address", "127.0.0.1"),
        KeyValue::new("server.port", port),
        KeyValue::new("alloy.operation_id", "get-a-user"),
        KeyValue::new("http.response.status_code", 404_i64),
        KeyValue::new("http.request.resend_count", 2_i64),
        KeyValue::new("error.type", "404"),
    ];
    for kv in expect {
        assert_eq!(
            attribute(span, kv.key.as_str()),
            Some(&kv.value),
            "{}: {span:#?}",
            kv.key
        );
    }
    assert!(
        matches!(attribute(span, "alloy.flow_wait_ms"), Some(Value::I64(_))),
        "{span:#?}"
    );
    assert_eq!(span.status, Status::error("HTTP 404"));
    // What each attempt saw is an event of its own.
    let responses = span.events.iter().filter(|e| e.name == "response").count();
    assert_eq!(responses, 3, "{span:#?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_that_succeeds_has_no_error_and_no_resend_count() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let url = server.url();
    let spans = exported(async {
        client(&url).delete_user(ID).await.unwrap();
    })
    .await;
    let span = the_span(&spans, "DELETE /users/{userId}");
    assert_clean(span);
    assert_eq!(
        attribute(span, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(attribute(span, "http.request.resend_count"), None);
    assert_eq!(attribute(span, "error.type"), None);
    assert_eq!(span.status, Status::Unset);
}

#[tokio::test(flavor = "current_thread")]
async fn a_transport_failure_is_an_error_without_a_status_code() {
    let dead = dead_url().await;
    let closing = TestServer::always(Reply::Close).await;
    let closing_url = closing.url();
    let spans = exported(async {
        let _ = client(&dead).get_user(ID).await;
        let _ = client(&closing_url).get_user(ID).await;
    })
    .await;
    let calls: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "GET /users/{userId}")
        .collect();
    assert_eq!(calls.len(), 2, "{spans:#?}");
    let kinds: Vec<Option<&Value>> = calls.iter().map(|s| attribute(s, "error.type")).collect();
    assert_eq!(
        kinds,
        [
            Some(&Value::from("connect")),
            Some(&Value::from("transport"))
        ]
    );
    for span in calls {
        assert_clean(span);
        assert_eq!(attribute(span, "http.response.status_code"), None);
        assert!(matches!(span.status, Status::Error { .. }), "{span:#?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_the_deadline_ended_says_so() {
    use crate::common::{builder, with_header};
    use runalloy_embedded::RetryPolicy;
    use std::time::Duration;
    let server = TestServer::always(with_header(json(429, "{}"), "retry-after", "30")).await;
    let url = server.url();
    let spans = exported(async {
        let err = builder(&url)
            .retry_policy(
                RetryPolicy::default()
                    .max_retry_after(Duration::from_secs(60))
                    .deadline(Duration::from_secs(2)),
            )
            .build()
            .unwrap()
            .get_user(ID)
            .await
            .unwrap_err();
        assert!(err.deadline_exceeded().is_some(), "{err:?}");
    })
    .await;
    let span = the_span(&spans, "GET /users/{userId}");
    assert_clean(span);
    assert_eq!(
        attribute(span, "error.type"),
        Some(&Value::from("deadline"))
    );
    assert_eq!(
        attribute(span, "http.response.status_code"),
        Some(&Value::I64(429))
    );
    assert_eq!(span.status, Status::error("the call's deadline ended it"));
}
