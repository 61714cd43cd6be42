//! Logs at every level never show the API key, reqwest's and hyper's own
//! logging included; the span of a call carries OpenTelemetry's names. Its
//! own binary: capturing logs is process-wide (the `log` bridge, and
//! tracing's per-callsite interest cache), so tests running beside it in
//! one process would race with it.

use runalloy_embedded_test_support as common;

use common::{Reply, TEST_KEY, TestServer, client, dead_url, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(TEST_KEY), "the key leaked into: {text}");
    assert!(
        !text.contains("5ecret"),
        "part of the key leaked into: {text}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn logs_at_trace_level_never_show_the_key() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // reqwest and hyper-util log through the `log` crate as well.
    let _ = tracing_log::LogTracer::init();

    let server = TestServer::sequence(vec![
        json(503, "{}"),
        Reply::Close,
        json(200, r#"{"success":true}"#),
    ])
    .await;
    client(&server.url()).delete_user("u").await.unwrap();
    let _ = client(&dead_url().await).get_user("u").await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("delete-a-user"),
        "the test captured nothing: {logs}"
    );
    assert!(logs.contains("attempt"), "{logs}");
    assert!(
        logs.contains("reqwest") || logs.contains("hyper"),
        "no HTTP-stack logs: {logs}"
    );
    assert_no_key(&logs);
}

/// A span's name and its fields (name, value as text), in the order set.
type SpanFields = (String, Vec<(String, String)>);

/// Every span opened, with its fields.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SpanFields>>>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Vec::new();
        attrs.record(&mut Fields(&mut fields));
        let mut spans = self.0.lock().unwrap();
        spans.push((attrs.metadata().name().to_owned(), fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(spans.len() - 1);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(index) = ctx
            .span(id)
            .and_then(|s| s.extensions().get::<usize>().copied())
        else {
            return;
        };
        values.record(&mut Fields(&mut self.0.lock().unwrap()[index].1));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn one_span_per_call_with_opentelemetrys_http_client_names() {
    use tracing_subscriber::layer::SubscriberExt;
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::sequence(vec![
        json(503, "{}"),
        json(404, r#"{"message":"User not found"}"#),
    ])
    .await;
    let _ = client(&server.url()).get_user("jane-4711").await;

    let spans = spans.0.lock().unwrap().clone();
    let calls: Vec<_> = spans.iter().filter(|(n, _)| n == "alloy.request").collect();
    assert_eq!(calls.len(), 1, "{spans:?}");
    let fields = &calls[0].1;
    let get = |name: &str| {
        fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    assert_eq!(get("otel.name"), Some("GET /users/{userId}"));
    assert_eq!(get("otel.kind"), Some("client"));
    assert_eq!(get("http.request.method"), Some("GET"));
    assert_eq!(get("url.template"), Some("/users/{userId}"));
    assert_eq!(get("server.address"), Some("127.0.0.1"));
    assert_eq!(get("server.port"), Some(port.as_str()));
    assert_eq!(get("alloy.operation_id"), Some("get-a-user"));
    assert_eq!(get("http.response.status_code"), Some("404"));
    assert_eq!(get("error.type"), Some("404"));
    assert_eq!(get("http.request.resend_count"), Some("1"));
    assert!(get("alloy.flow_wait_ms").is_some(), "{fields:?}");
    let all = format!("{spans:?}");
    assert!(!all.contains("jane-4711"), "{all}");
    assert_no_key(&all);
}
