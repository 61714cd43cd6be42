//! The call record: what the send path saw during one call (its operation,
//! attempts, last status and last body), kept in a task-local so that the
//! error mapping and `capture_last_body` can read what progenitor does not
//! hand back.

use super::cut::Cut;
use bytes::Bytes;
use reqwest::StatusCode;
use std::cell::Cell;

tokio::task_local! {
    /// What the transport saw during one wrapped call; read by the error
    /// mapping, which progenitor gives neither the status nor the attempts.
    static CALL: CallRecord;
}

#[derive(Default)]
pub(crate) struct CallRecord {
    /// The spec's id of the operation called (the generated name if the
    /// spec has none).
    pub(crate) operation: Cell<&'static str>,
    /// The operation, looked up once by the `pre` hook for the hooks after
    /// it.
    pub(crate) spec: Cell<Option<&'static crate::Operation>>,
    pub(crate) attempts: Cell<u32>,
    pub(crate) status: Cell<Option<StatusCode>>,
    /// Set when the call's deadline cut a wait short.
    pub(crate) cut: Cell<Option<Cut>>,
    /// The last response body read, as the API sent it.
    pub(crate) body: Cell<Option<Bytes>>,
}

/// What one call did at the wire.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallSummary {
    pub operation: &'static str,
    pub attempts: u32,
    pub status: Option<StatusCode>,
    /// Set when the call's deadline cut a wait short.
    pub cut: Option<Cut>,
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
                    cut: r.cut.get(),
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

/// The operation the `pre` hook looked up for this call, if the call is
/// recorded.
pub(crate) fn recorded_operation() -> Option<&'static crate::Operation> {
    CALL.try_with(|r| r.spec.get()).ok().flatten()
}

pub(crate) fn record(update: impl FnOnce(&CallRecord)) {
    // Outside `recorded` (a caller using `api()` directly) there is nothing
    // to record into, and nothing needs it.
    let _ = CALL.try_with(update);
}
