//! Reading a response body whole, within the client's size limit, before
//! the attempt loop judges the response.

use super::record::record;
use bytes::{Bytes, BytesMut};
use reqwest::{Response, ResponseBuilderExt};
use std::fmt;

/// Where a body buffer starts, whatever `Content-Length` claims: a header
/// can lie, so memory grows only with the bytes that arrive.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

tokio::task_local! {
    /// A lower body limit for the calls of one future (see
    /// [`with_body_limit`]).
    static LIMIT: usize;
}

/// Runs `call` with bodies limited to `limit` bytes, or the client's own
/// limit if that is lower: for a call that needs only the start of what
/// may be a large body.
pub(crate) async fn with_body_limit<F: Future>(limit: usize, call: F) -> F::Output {
    LIMIT.scope(limit, call).await
}

/// The limit for a body: the client's, or a lower one set for this call.
pub(super) fn limit_for_this_call(client_limit: usize) -> usize {
    LIMIT
        .try_with(|limit| client_limit.min(*limit))
        .unwrap_or(client_limit)
}

/// Reads the whole body now, so that a connection cut mid-body is a
/// retryable transport error and an endless body cannot exhaust memory.
pub(super) async fn buffer(mut response: Response, limit: usize) -> reqwest::Result<Response> {
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

/// How many bytes to reserve for a body that declares `declared` bytes,
/// under `limit`: what it declares, but never more than
/// [`INITIAL_BODY_CAPACITY`], since the declaration may be a lie.
fn initial_capacity(declared: Option<u64>, limit: usize) -> usize {
    let declared = declared.map_or(0, |d| usize::try_from(d).unwrap_or(usize::MAX));
    declared.min(limit).min(INITIAL_BODY_CAPACITY)
}

/// The body was longer than the client's limit.
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
