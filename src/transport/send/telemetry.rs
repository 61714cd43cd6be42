//! What a call tells the service around it: one tracing span per call with
//! OpenTelemetry's HTTP client names, metrics through the `metrics` facade
//! (feature `metrics`), and the events of an [`Observer`]. Never the key,
//! the concrete path or a query value: the path template stands for them.

use crate::transport::observer::{CallEvent, EventKind, Observer};
use crate::transport::spec::Operation;
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;
use tracing::field::Empty;

/// One call's telemetry, made in `exec` and fed by the attempt loop.
pub(super) struct Telemetry<'a> {
    span: tracing::Span,
    operation_id: &'static str,
    template: &'static str,
    method: Method,
    observer: Option<&'a dyn Observer>,
    /// Microseconds waited for turns (an atomic: the call's future may
    /// move between threads).
    flow_wait_us: AtomicU64,
    /// The last attempt's number, and its status (0: no response), which
    /// the span records once, when the call ends.
    last_attempt: AtomicU32,
    last_status: AtomicU32,
}

impl<'a> Telemetry<'a> {
    /// The call's span, `{METHOD} {url.template}` as OpenTelemetry names
    /// it (through `otel.name`; a tracing span's own name is fixed).
    ///
    /// Numbers are recorded as `i64`, the integer type OpenTelemetry
    /// exporters carry (tracing-opentelemetry writes any other as text).
    /// Each field is recorded once, with its final value, when the call
    /// ends; what each attempt saw goes in events.
    pub(super) fn start(
        operation_id: &'static str,
        operation: Option<&'static Operation>,
        request: &reqwest::Request,
        observer: Option<&'a dyn Observer>,
    ) -> Self {
        let template = operation.map_or("", |op| op.path);
        let url = request.url();
        let span = tracing::info_span!(
            "alloy.request",
            otel.name = %format_args!("{} {template}", request.method()),
            otel.kind = "client",
            http.request.method = %request.method(),
            url.template = template,
            server.address = url.host_str().unwrap_or_default(),
            server.port = i64::from(url.port_or_known_default().unwrap_or_default()),
            alloy.operation_id = operation_id,
            http.response.status_code = Empty,
            error.type = Empty,
            http.request.resend_count = Empty,
            alloy.flow_wait_ms = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        );
        Self {
            span,
            operation_id,
            template,
            method: request.method().clone(),
            observer,
            flow_wait_us: AtomicU64::new(0),
            last_attempt: AtomicU32::new(0),
            last_status: AtomicU32::new(0),
        }
    }

    pub(super) fn span(&self) -> &tracing::Span {
        &self.span
    }

    fn event(
        &self,
        kind: EventKind,
        attempt: u32,
        status: Option<StatusCode>,
        wait: Option<Duration>,
    ) {
        if let Some(observer) = self.observer {
            observer.on_event(&CallEvent {
                kind,
                operation_id: self.operation_id,
                method: self.method.as_str(),
                path_template: self.template,
                attempt,
                status: status.map(|s| s.as_u16()),
                wait,
            });
        }
    }

    /// Attempt `attempt` is about to be sent.
    pub(super) fn request(&self, attempt: u32) {
        self.event(EventKind::Request, attempt, None, None);
    }

    /// Attempt `attempt` got `status` (or, `None`, no response) after
    /// `took`.
    pub(super) fn response(&self, attempt: u32, status: Option<StatusCode>, took: Duration) {
        tracing::debug!(
            attempt = i64::from(attempt),
            status = status.map(|s| i64::from(s.as_u16())),
            latency_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX),
            "response"
        );
        self.last_attempt.store(attempt, Ordering::Relaxed);
        self.last_status.store(
            status.map_or(0, |s| u32::from(s.as_u16())),
            Ordering::Relaxed,
        );
        #[cfg(feature = "metrics")]
        metrics::histogram!(
            "http.client.request.duration",
            "http.request.method" => self.method.as_str().to_owned(),
            "http.response.status_code" => status.map_or_else(|| "none".to_owned(), |s| s.as_u16().to_string()),
            "alloy.operation_id" => self.operation_id,
        )
        .record(took.as_secs_f64());
        let kind = if status.is_some() {
            EventKind::Response
        } else {
            EventKind::Failed
        };
        self.event(kind, attempt, status, None);
    }

    /// The API throttled attempt `attempt`, asking every call to hold for
    /// `hold` (its `Retry-After`, if it sent one).
    pub(super) fn throttled(&self, attempt: u32, status: StatusCode, hold: Option<Duration>) {
        #[cfg(feature = "metrics")]
        metrics::counter!("alloy.client.throttled", "alloy.operation_id" => self.operation_id)
            .increment(1);
        self.event(EventKind::Throttle, attempt, Some(status), hold);
    }

    /// Attempt `attempt` will be sent again, after `wait` if known.
    pub(super) fn retry(&self, attempt: u32, wait: Option<Duration>) {
        tracing::debug!(
            attempt = i64::from(attempt),
            wait_ms = wait.map(|w| i64::try_from(w.as_millis()).unwrap_or(i64::MAX)),
            "retrying"
        );
        #[cfg(feature = "metrics")]
        metrics::counter!("alloy.client.retries", "alloy.operation_id" => self.operation_id)
            .increment(1);
        self.event(EventKind::Retry, attempt, None, wait);
    }

    /// The call waited `waited` for a turn from flow control.
    pub(super) fn flow_waited(&self, waited: Duration) {
        self.flow_wait_us
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::histogram!("alloy.client.flow_wait.duration", "alloy.operation_id" => self.operation_id)
            .record(waited.as_secs_f64());
    }

    /// Records how the call ended, each field once: the last status, the
    /// resends (when there were any), the flow wait, and when it failed
    /// `error.type` (the status code for an HTTP error, else the kind of
    /// failure) with the span's status `ERROR` and a description that
    /// names no id.
    pub(super) fn finish(&self, outcome: Result<StatusCode, &'static str>) {
        let wait_ms = self.flow_wait_us.load(Ordering::Relaxed) / 1000;
        self.span.record(
            "alloy.flow_wait_ms",
            i64::try_from(wait_ms).unwrap_or(i64::MAX),
        );
        let status = self.last_status.load(Ordering::Relaxed);
        if status != 0 {
            self.span
                .record("http.response.status_code", i64::from(status));
        }
        let resends = self.last_attempt.load(Ordering::Relaxed).saturating_sub(1);
        if resends > 0 {
            self.span
                .record("http.request.resend_count", i64::from(resends));
        }
        let failure = match outcome {
            Ok(status) if status.is_client_error() || status.is_server_error() => Some((
                status.as_str().to_owned(),
                format!("HTTP {}", status.as_u16()),
            )),
            Ok(_) => None,
            Err(kind) => Some((kind.to_owned(), failure_description(kind).to_owned())),
        };
        if let Some((kind, description)) = failure {
            self.span.record("error.type", kind.as_str());
            // The code first: tracing-opentelemetry reads a description as
            // an error status of its own, and a later code would blank it.
            self.span.record("otel.status_code", "ERROR");
            self.span
                .record("otel.status_description", description.as_str());
        }
    }
}

/// The span's status description for a call that got no answer it could
/// give.
fn failure_description(kind: &str) -> &'static str {
    match kind {
        "timeout" => "no response before the attempt's timeout",
        "connect" => "the connection could not be made",
        "deadline" => "the call's deadline ended it",
        _ => "the connection failed",
    }
}

/// The kind of failure of a call that got no response, as `error.type`.
pub(super) fn failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// The time since `then` (zero if it is still ahead).
pub(super) fn since(then: Instant) -> Duration {
    Instant::now().saturating_duration_since(then)
}
