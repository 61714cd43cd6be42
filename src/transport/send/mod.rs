//! The single send path under every generated operation.
//!
//! progenitor calls [`ClientHooks`] around each request. `pre` drops the
//! generator's stray `api-version` header, refuses a path that escaped its
//! template, and only then adds the key and the API version, to a request
//! for the configured origin; `exec` retries, bounds time and body size, and
//! traces; `post` turns a call that the deadline cut short (marked on the
//! response `exec` returns, see `crate::transport::deadline`) into an error. Because
//! these are hooks, they apply to every operation in the spec, with no code
//! per operation.
//!
//! One room per job:
//! - this file: the per-client settings ([`Transport`]) and the hooks;
//! - `attempts`: the attempt loop, its decisions apart from its sending;
//! - `retry`: the [`RetryPolicy`] (which failures are retried, the waits,
//!   the deadline);
//! - `classify`: what an outcome means (final, retry after a wait, or
//!   throttled), from the response's facts (read once, `Answer`) and the
//!   policy; `attempts` turns that verdict into what the loop does next;
//! - `body`: reading a body whole within the size limit;
//! - `paths`: the path checks and strict encoding before a request leaves;
//! - `record`: what one call did, for the error mapping and
//!   `capture_last_body`;
//! - `telemetry`: what a call tells the service around it (its span, the
//!   metrics, the observer's events).
//!
//! The key is added here, per request, and never set as a default header of
//! the inner `reqwest::Client`: the generated client hands that client out
//! (`ClientInfo::client()`), and anything sent on it must not carry the key.

mod attempts;
mod body;
mod classify;
mod cut;
mod errors;
pub(crate) mod flow;
mod paths;
mod record;
mod retry;
mod telemetry;

pub(crate) use body::with_body_limit;
pub(crate) use errors::from_generated;
pub(crate) use paths::{MAX_PATH_VALUE_BYTES, check_path_value};
pub use record::capture_last_body;
pub(crate) use record::{CallSummary, recorded};
pub use retry::RetryPolicy;

use crate::api;
use cut::Cut;
use flow::FlowControl;
use paths::prepare_path;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use record::record;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Request, Response};
use std::sync::Arc;
use std::time::Duration;
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
    /// One attempt's timeout, for this client or view.
    pub(crate) attempt_timeout: Duration,
    /// The inner `reqwest::Client`'s own timeout: a request whose attempt
    /// needs another sets its own.
    pub(crate) client_timeout: Duration,
    /// Headers a view adds to each request ([`crate::CallOptions`]).
    pub(crate) headers: Arc<[(HeaderName, HeaderValue)]>,
    /// Why a view's options were refused: each of its calls fails with it.
    pub(crate) refusal: Option<Arc<str>>,
    /// Hears each step of each call.
    pub(crate) observer: Option<ObserverRef>,
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

/// The client's observer, shared by its clones and views. Asserted unwind
/// safe, so that holding one keeps the builder and the client
/// `UnwindSafe` as they were: an observer only hears events, and a panic in
/// it leaves no state of ours half-changed.
pub(crate) struct ObserverRef(pub(crate) std::panic::AssertUnwindSafe<Arc<dyn crate::Observer>>);

impl Clone for ObserverRef {
    fn clone(&self) -> Self {
        ObserverRef(std::panic::AssertUnwindSafe(Arc::clone(&self.0)))
    }
}

impl std::fmt::Debug for ObserverRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// Whether `url` has `origin`, compared field by field: `Url::origin`
/// allocates a copy of the scheme and host for every request.
fn same_origin(url: &reqwest::Url, origin: &url::Origin) -> bool {
    use url::Host;
    let url::Origin::Tuple(scheme, host, port) = origin else {
        // An opaque origin equals only itself, never a URL's.
        return false;
    };
    url.scheme() == scheme
        && url.port_or_known_default() == Some(*port)
        && match (url.host(), host) {
            (Some(Host::Domain(a)), Host::Domain(b)) => a == b,
            (Some(Host::Ipv4(a)), Host::Ipv4(b)) => a == *b,
            (Some(Host::Ipv6(a)), Host::Ipv6(b)) => a == *b,
            _ => false,
        }
}

/// The operation of `info`: the one the `pre` hook looked up and recorded.
/// Only a call that nothing records (made through `api()` directly, outside
/// any `capture_last_body`) is looked up again; the name is compared in
/// case such calls run side by side inside one capture.
fn this_operation(info: &OperationInfo) -> Option<&'static crate::Operation> {
    record::recorded_operation()
        .filter(|op| op.rust_name == info.operation_id)
        .or_else(|| crate::transport::spec::operation(info.operation_id))
}

/// The header progenitor adds, which Alloy does not read.
const STRAY_VERSION_HEADER: HeaderName = HeaderName::from_static("api-version");

/// The header that carries the API version (the normaliser's name for it).
const API_VERSION_HEADER: HeaderName =
    HeaderName::from_static(crate::transport::spec::API_VERSION_HEADER);

impl ClientHooks<Transport> for api::Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let operation = crate::transport::spec::operation(info.operation_id);
        record(|r| {
            r.operation
                .set(operation.map_or(info.operation_id, |op| op.id));
            r.spec.set(operation);
        });
        // progenitor sends `api-version: <info.version>`; Alloy's header is
        // `x-api-version`, added below.
        request.headers_mut().remove(STRAY_VERSION_HEADER);
        let transport = self.inner();
        if let Some(why) = &transport.refusal {
            return Err(progenitor_client::Error::InvalidRequest(why.to_string()));
        }
        if let Some(op) = operation {
            prepare_path(transport.base_segments, request.url_mut(), op)
                .map_err(progenitor_client::Error::InvalidRequest)?;
        }
        // Generated requests always go to the base URL; the check keeps the
        // key on it even if that ever changes.
        if same_origin(request.url(), &transport.origin) {
            let headers = request.headers_mut();
            for (name, value) in transport.headers.iter() {
                headers.insert(name, value.clone());
            }
            headers.insert(AUTHORIZATION, transport.authorization.clone());
            headers.insert(
                API_VERSION_HEADER,
                HeaderValue::from_static(crate::API_VERSION),
            );
        }
        Ok(())
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<Response>,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        // The deadline cut the call: the response (a stand-in, or the last
        // answer) is not the outcome; the cut is.
        let cut = result
            .as_ref()
            .ok()
            .and_then(|response| response.extensions().get::<Cut>().copied());
        let Some(cut) = cut else {
            return Ok(());
        };
        record(|r| r.cut.set(Some(cut)));
        let id = this_operation(info).map_or(info.operation_id, |op| op.id);
        Err(progenitor_client::Error::Custom(cut.describe(id)))
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let operation = this_operation(info);
        let transport = self.inner();
        let telemetry = telemetry::Telemetry::start(
            operation.map_or(info.operation_id, |op| op.id),
            operation,
            &request,
            transport.observer.as_ref().map(|o| &**o.0),
        );
        let span = telemetry.span().clone();
        transport
            .send(self.client(), request, &telemetry)
            .instrument(span)
            .await
    }
}
