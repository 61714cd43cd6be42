//! The single send path under every generated operation.
//!
//! progenitor calls [`ClientHooks`] around each request. `pre` drops the
//! generator's stray `api-version` header, refuses a path that escaped its
//! template, and only then adds the key and the API version, to a request
//! for the configured origin; `exec` retries, bounds time and body size, and
//! traces. Because these are hooks, they apply to every operation in the
//! spec, with no code per operation.
//!
//! The key is added here, per request, and never set as a default header of
//! the inner `reqwest::Client`: the generated client hands that client out
//! (`ClientInfo::client()`), and anything sent on it must not carry the key.

use crate::api;
use crate::flow::{FlowControl, Turn};
use crate::retry::{Decision, RetryPolicy};
use crate::spec::Operation;
use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Request, Response, ResponseBuilderExt, StatusCode};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// Per-client settings that the hooks read: the generated client's inner
/// value. Built only by [`crate::ClientBuilder`].
///
/// Public only because the generated client names it (`ClientInfo::inner`);
/// it is not re-exported, so no caller can name it, and it may change in
/// any release.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Transport {
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    /// How many path segments the base URL has: 1 for `https://h/v1`.
    pub(crate) base_segments: usize,
    /// Shared by every clone of the client.
    pub(crate) flow: Arc<FlowControl>,
    /// `Bearer <key>`, marked sensitive so that no `Debug` prints it.
    pub(crate) authorization: HeaderValue,
    /// The base URL's origin: the only one the key and version are sent to.
    pub(crate) origin: url::Origin,
}

/// The header that carries the API version.
const API_VERSION_HEADER: HeaderName = HeaderName::from_static("x-api-version");

/// Where a body buffer starts, whatever `Content-Length` claims: a header
/// can lie, so memory grows only with the bytes that arrive.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

tokio::task_local! {
    /// What the transport saw during one wrapped call; read by the error
    /// mapping, which progenitor gives neither the status nor the attempts.
    static CALL: CallRecord;
}

#[derive(Default)]
struct CallRecord {
    operation: Cell<&'static str>,
    attempts: Cell<u32>,
    status: Cell<Option<StatusCode>>,
    /// The last response body read, as the API sent it.
    body: Cell<Option<Bytes>>,
}

/// What one call did at the wire.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallSummary {
    pub operation: &'static str,
    pub attempts: u32,
    pub status: Option<StatusCode>,
}

/// Runs `call` while recording what the transport does for it; returns
/// beside its output the summary and the last body read.
pub(crate) async fn recorded<F: Future>(call: F) -> (F::Output, CallSummary, Option<Bytes>) {
    let (out, summary, body) = CALL
        .scope(CallRecord::default(), async {
            let out = call.await;
            let (summary, body) = CALL.with(|r| {
                let summary = CallSummary {
                    operation: r.operation.get(),
                    attempts: r.attempts.get(),
                    status: r.status.get(),
                };
                (summary, r.body.take())
            });
            (out, summary, body)
        })
        .await;
    // Hand the body to an enclosing `capture_last_body`, if any.
    if let Some(body) = &body {
        record(|outer| outer.body.set(Some(body.clone())));
    }
    (out, summary, body)
}

/// Runs `call`, any of the client's methods, and returns beside its output
/// the body of the last response it read, exactly as the API sent it.
///
/// The CLI prints this, so that its stdout is the API's own JSON rather
/// than the decoded type encoded again.
///
/// ```no_run
/// # async fn demo(client: runalloy_embedded::Client) {
/// let (user, body) = runalloy_embedded::capture_last_body(client.get_user("u-1")).await;
/// if user.is_ok() {
///     println!("{}", String::from_utf8_lossy(&body.unwrap_or_default()));
/// }
/// # }
/// ```
pub async fn capture_last_body<F: Future>(call: F) -> (F::Output, Option<Bytes>) {
    let (out, body) = CALL
        .scope(CallRecord::default(), async {
            let out = call.await;
            (out, CALL.with(|r| r.body.take()))
        })
        .await;
    // An enclosing capture sees the same body.
    if let Some(body) = &body {
        record(|outer| outer.body.set(Some(body.clone())));
    }
    (out, body)
}

fn record(update: impl FnOnce(&CallRecord)) {
    // Outside `recorded` (a caller using `api()` directly) there is nothing
    // to record into, and nothing needs it.
    let _ = CALL.try_with(update);
}

impl ClientHooks<Transport> for api::Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let operation = crate::spec::operation(info.operation_id);
        record(|r| {
            r.operation
                .set(operation.map_or(info.operation_id, |op| op.id))
        });
        // progenitor sends `api-version: <info.version>`; Alloy's header is
        // `x-api-version`, added below.
        request.headers_mut().remove("api-version");
        let transport = self.inner();
        if let Some(op) = operation {
            let base_segments = transport.base_segments;
            check_path(base_segments, request.url(), op)
                .map_err(progenitor_client::Error::InvalidRequest)?;
            encode_parameters_strictly(base_segments, request.url_mut(), op);
            copy_path_parameters_to_query(base_segments, request.url_mut(), op);
        }
        // Generated requests always go to the base URL; the check keeps the
        // key on it even if that ever changes.
        if request.url().origin() == transport.origin {
            let headers = request.headers_mut();
            headers.insert(AUTHORIZATION, transport.authorization.clone());
            headers.insert(
                API_VERSION_HEADER,
                HeaderValue::from_static(crate::API_VERSION),
            );
        }
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let span = tracing::debug_span!(
            "alloy",
            operation = crate::spec::spec_id(info.operation_id),
            method = %request.method(),
            path = request.url().path(),
            attempt = tracing::field::Empty,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.inner()
            .send(self.client(), request)
            .instrument(span)
            .await
    }
}

impl Transport {
    /// Sends `request`, retrying as the policy says, within its deadline,
    /// each attempt when the flow controller gives it a turn.
    ///
    /// A throttled response (`429`, or `503` with `Retry-After`) slows the
    /// whole client and is retried when the controller allows, without
    /// using up the call's attempts: the server did not process it. Only the
    /// deadline ends those retries. The deadline starts when the first
    /// attempt leaves, so time spent queued for a first turn (at most the
    /// concurrency over the pace) does not count against it.
    async fn send(&self, client: &reqwest::Client, request: Request) -> reqwest::Result<Response> {
        let method = request.method().clone();
        let span = tracing::Span::current();
        let mut turn = self.flow.acquire(None).await.unwrap_or_else(Turn::now);
        // A deadline too far to represent (`Duration::MAX`) means none.
        let deadline = Instant::now().checked_add(self.retry.deadline);
        let mut original = request;
        // Attempts that count against `max_attempts`, and all sends.
        let (mut attempt, mut sends) = (0u32, 0u32);
        loop {
            sends += 1;
            // Keep a copy for the next attempt; a body that cannot be copied
            // (a stream) is sent once.
            let (mut current, spare) = match original.try_clone() {
                Some(copy) => (copy, Some(original)),
                None => (original, None),
            };
            let remaining = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            *current.timeout_mut() = Some(self.attempt_timeout.min(remaining));

            let started = Instant::now();
            let result = match client.execute(current).await {
                Ok(response) => self.buffer(response).await,
                Err(e) => Err(e),
            };
            let latency_ms = started.elapsed().as_millis() as u64;
            let status = result.as_ref().ok().map(Response::status);
            record(|r| {
                r.attempts.set(sends);
                r.status.set(status);
            });
            span.record("attempt", sends);
            span.record("latency_ms", latency_ms);
            if let Some(s) = status {
                span.record("status", s.as_u16());
            }

            let throttled = match &result {
                Ok(response) => {
                    let throttle = self.throttle(response);
                    match throttle {
                        Some(wait) => self.flow.throttled(turn, wait),
                        None => self.flow.succeeded(turn),
                    }
                    throttle.is_some()
                }
                Err(_) => {
                    drop(turn);
                    false
                }
            };
            if !throttled {
                attempt += 1;
            }
            let decision = match &result {
                Ok(response) => {
                    let status = response.status();
                    tracing::debug!(
                        attempt = sends,
                        status = status.as_u16(),
                        latency_ms,
                        "response"
                    );
                    self.retry
                        .after_status(&method, status, response.headers(), attempt.max(1))
                }
                Err(error) => {
                    tracing::debug!(attempt = sends, latency_ms, error = %error, "request failed");
                    self.retry.after_error(&method, error, attempt)
                }
            };
            let (Decision::RetryAfter(wait), Some(next)) = (decision, spare) else {
                return result;
            };
            if !throttled {
                if attempt >= self.retry.max_attempts {
                    return result;
                }
                let wakes = Instant::now().checked_add(wait);
                if let Some(deadline) = deadline
                    && wakes.is_none_or(|at| at >= deadline)
                {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "no time left for another attempt"
                    );
                    return result;
                }
                tracing::debug!(wait_ms = wait.as_millis() as u64, "retrying");
                tokio::time::sleep(wait).await;
            }
            // A throttled attempt waits here, with every other call, for the
            // hold the server asked for and then for its paced turn.
            turn = match self.flow.acquire(deadline).await {
                Some(turn) => turn,
                None => {
                    tracing::debug!("no turn before the deadline");
                    return result;
                }
            };
            original = next;
        }
    }

    /// The `Retry-After` (capped by the policy) of a response that
    /// throttled, as `Some(None)` when it sent none; `None` if it did not
    /// throttle.
    fn throttle(&self, response: &Response) -> Option<Option<Duration>> {
        let wait = crate::retry::retry_after(response.headers());
        match response.status() {
            StatusCode::TOO_MANY_REQUESTS => {}
            StatusCode::SERVICE_UNAVAILABLE if wait.is_some() => {}
            _ => return None,
        }
        Some(wait.map(|w| w.min(self.retry.max_retry_after)))
    }

    /// Reads the whole body now, so that a connection cut mid-body is a
    /// retryable transport error and an endless body cannot exhaust memory.
    async fn buffer(&self, mut response: Response) -> reqwest::Result<Response> {
        let limit = self.max_body_bytes;
        let declared = response.content_length();
        let mut body = BytesMut::with_capacity(initial_capacity(declared, limit));
        let mut too_large = declared.is_some_and(|d| d > limit as u64);
        while !too_large {
            match response.chunk().await? {
                Some(chunk) if body.len() + chunk.len() > limit => too_large = true,
                Some(chunk) => body.extend_from_slice(&chunk),
                None => break,
            }
        }
        // Keep the URL: without it reqwest parses a placeholder URL for every
        // rebuilt response, which costs more than the rest of this function.
        let mut rebuilt = http::Response::builder()
            .status(response.status())
            .version(response.version())
            .url(response.url().clone());
        if let Some(headers) = rebuilt.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let body = if too_large {
            record(|r| r.body.set(None));
            // Reading this body fails with `BodyLimitExceeded`, which the
            // error mapping reports as `Error::ResponseTooLarge`.
            let failing =
                futures::stream::once(async move { Err::<Bytes, _>(BodyLimitExceeded(limit)) });
            reqwest::Body::wrap_stream(failing)
        } else {
            let body = body.freeze();
            record(|r| r.body.set(Some(body.clone())));
            reqwest::Body::from(body)
        };
        match rebuilt.body(body) {
            Ok(rebuilt) => Ok(Response::from(rebuilt)),
            // Unreachable: status and version came from a valid response.
            Err(_) => Ok(response),
        }
    }
}

/// How many bytes to reserve for a body that declares `declared` bytes,
/// under `limit`: what it declares, but never more than
/// [`INITIAL_BODY_CAPACITY`], since the declaration may be a lie.
fn initial_capacity(declared: Option<u64>, limit: usize) -> usize {
    let declared = declared.map_or(0, |d| usize::try_from(d).unwrap_or(usize::MAX));
    declared.min(limit).min(INITIAL_BODY_CAPACITY)
}

/// The body was longer than [`Transport::max_body_bytes`].
#[derive(Debug)]
struct BodyLimitExceeded(usize);

impl fmt::Display for BodyLimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body exceeded {} bytes", self.0)
    }
}

impl std::error::Error for BodyLimitExceeded {}

/// The limit, if `error` was caused by [`BodyLimitExceeded`].
pub(crate) fn body_limit_exceeded(error: &reqwest::Error) -> Option<usize> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(c) = cause {
        if let Some(BodyLimitExceeded(limit)) = c.downcast_ref() {
            return Some(*limit);
        }
        cause = c.source();
    }
    None
}

/// Refuses a URL whose path no longer matches the operation's template.
///
/// The URL parser resolves `.` and `..` segments and reads `\` as `/`, and an
/// empty parameter leaves an empty segment, so such ids would reach another
/// endpoint (`DELETE /users/..` becomes `DELETE /`). Comparing the final path
/// with the template catches all of them, for every operation.
fn check_path(base_segments: usize, url: &reqwest::Url, op: &Operation) -> Result<(), String> {
    let matches = op.path_fits(url_segments(url, base_segments));
    if matches {
        Ok(())
    } else {
        Err(format!(
            "{}: a path parameter is empty, `.` or `..`, or contains `\\`, \
             so the request would go to `{}` instead of `{}`",
            op.id,
            url.path(),
            op.path
        ))
    }
}

/// Characters left as they are in a path parameter: RFC 3986's unreserved
/// set. Everything else is percent-encoded.
const PATH_PARAMETER: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Re-encodes each path parameter so that only unreserved characters stay
/// literal.
///
/// progenitor escapes only `/`, `?`, `#`, `%` and space, so `victim;x` would
/// leave as `/users/victim;x`, which servers that read `;` (or `,`, `=`,
/// `@`) as structure route to `victim`. The parameter is decoded once (undoing
/// progenitor's and the URL parser's escapes) and encoded again. Runs after
/// [`check_path`], so the segments line up with the template.
fn encode_parameters_strictly(base_segments: usize, url: &mut reqwest::Url, op: &Operation) {
    // Each URL segment beside its template segment; the base URL's own
    // segments have none.
    let templates =
        || std::iter::repeat_n(None, base_segments).chain(op.path.split('/').skip(1).map(Some));
    let is_parameter = |t: Option<&str>| t.is_some_and(|t| t.starts_with('{'));
    // `Cow::from` borrows, and allocates nothing, when no byte needs
    // encoding: so it is for most ids (hex, uuids).
    let needs_encoding = |segment: &str| {
        let encoded = percent_encoding::percent_encode(segment.as_bytes(), PATH_PARAMETER);
        matches!(Cow::from(encoded), Cow::Owned(_))
    };
    let needed = url
        .path()
        .split('/')
        .skip(1)
        .zip(templates())
        .any(|(segment, t)| is_parameter(t) && needs_encoding(segment));
    if !needed {
        return;
    }
    let mut path = String::with_capacity(url.path().len() + 16);
    for (segment, t) in url.path().split('/').skip(1).zip(templates()) {
        path.push('/');
        if is_parameter(t) {
            let raw: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
            path.extend(percent_encoding::percent_encode(&raw, PATH_PARAMETER));
        } else {
            path.push_str(segment);
        }
    }
    url.set_path(&path);
}

/// Adds each of the operation's [`Operation::also_in_query`] parameters to
/// the query, with the value its path segment carries (decoded, then
/// encoded again as a query value). The vendor's document declares these
/// in the query of a path that names them, so the value goes in both places
/// and a server that reads either finds it. Runs after [`check_path`].
fn copy_path_parameters_to_query(base_segments: usize, url: &mut reqwest::Url, op: &Operation) {
    if op.also_in_query.is_empty() {
        return;
    }
    let pairs: Vec<(&str, String)> = op
        .also_in_query
        .iter()
        .filter_map(|name| {
            let value = op.path_value(url_segments(url, base_segments), name)?;
            Some((*name, value.into_owned()))
        })
        .collect();
    let mut query = url.query_pairs_mut();
    for (name, value) in &pairs {
        query.append_pair(name, value);
    }
}

/// The URL's path segments after the base URL's own.
fn url_segments(url: &reqwest::Url, base_segments: usize) -> impl Iterator<Item = &str> {
    url.path().split('/').skip(1 + base_segments)
}

#[cfg(test)]
mod tests {
    use super::{INITIAL_BODY_CAPACITY, initial_capacity};

    #[test]
    fn a_declared_length_reserves_at_most_the_initial_capacity() {
        // (declared, limit) -> reserved
        let table = [
            (None, 16 << 20, 0),
            (Some(10), 16 << 20, 10),
            (Some(4_000_000_000), usize::MAX, INITIAL_BODY_CAPACITY),
            (Some(u64::MAX), usize::MAX, INITIAL_BODY_CAPACITY),
            (Some(100_000), 1_000, 1_000),
        ];
        for (declared, limit, reserved) in table {
            assert_eq!(
                initial_capacity(declared, limit),
                reserved,
                "{declared:?} under {limit}"
            );
        }
    }
}
