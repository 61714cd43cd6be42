//! Logs at every level never show the API key or an id, reqwest's and
//! hyper's own logging included; the spans of calls export through the real
//! OpenTelemetry bridge as its HTTP client conventions define them. Its own
//! binary: capturing logs is process-wide (the `log` bridge, and tracing's
//! per-callsite interest cache), so tests running beside it in one process
//! would race with it.

use runalloy_embedded_test_support as common;

use common::{Reply, TEST_KEY, TestServer, client, dead_url, json};
use std::io::Write;
use std::sync::{Arc, Mutex};

mod no_id;
mod otel_spans;
#[cfg(feature = "redis")]
mod store_warning;

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

impl Capture {
    /// Captures every event at `level` and above on this thread, as the
    /// fmt layer writes them, until the guard is dropped.
    fn start(level: tracing::Level) -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// What was captured so far.
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
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
    let (capture, _guard) = Capture::start(tracing::Level::TRACE);
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

    let logs = capture.text();
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
