//! A callback for each step of a call, for services that want one rather
//! than tracing: set with [`ClientBuilder::observer`](crate::ClientBuilder::observer).

use std::time::Duration;

/// Hears every step of every call of a client. Called inline on the send
/// path, so keep it quick (count, or hand off to a channel).
///
/// Any `Fn(&CallEvent)` is an observer:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use runalloy_embedded::{CallEvent, Client, EventKind};
///
/// let throttles = Arc::new(AtomicU64::new(0));
/// let seen = throttles.clone();
/// let client = Client::builder()
///     .api_key("k")
///     .observer(move |event: &CallEvent<'_>| {
///         if event.kind == EventKind::Throttle {
///             seen.fetch_add(1, Ordering::Relaxed);
///         }
///     })
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
pub trait Observer: Send + Sync + 'static {
    /// One step of a call.
    fn on_event(&self, event: &CallEvent<'_>);
}

impl<F: Fn(&CallEvent<'_>) + Send + Sync + 'static> Observer for F {
    fn on_event(&self, event: &CallEvent<'_>) {
        self(event)
    }
}

/// One step of a call. It holds the operation, never the key, the
/// concrete path or a query value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallEvent<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The spec's operation id, such as `get-a-user`.
    pub operation_id: &'a str,
    /// The HTTP method.
    pub method: &'a str,
    /// The path template, such as `/users/{userId}`.
    pub path_template: &'a str,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The response's status, for [`EventKind::Response`] and
    /// [`EventKind::Throttle`].
    pub status: Option<u16>,
    /// The wait: the backoff before a [`EventKind::Retry`] (`None` when
    /// the retry waits for a turn from flow control), the hold a
    /// [`EventKind::Throttle`] asked for.
    pub wait: Option<Duration>,
}

/// The steps of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// An attempt is about to be sent.
    Request,
    /// An attempt got a response.
    Response,
    /// An attempt got no response (a timeout, a connection failure).
    Failed,
    /// The API throttled an attempt (429, or 503 with `Retry-After`).
    Throttle,
    /// The attempt will be sent again.
    Retry,
}
