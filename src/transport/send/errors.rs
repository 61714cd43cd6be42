//! What a generated method's failure means to the caller: progenitor's
//! error, with what the send path saw of the call ([`CallSummary`]), mapped
//! to the crate's [`Error`]. One function per kind of failure.

use super::body::body_limit_exceeded;
use super::cut::Cut;
use super::record::CallSummary;
use crate::transport::error::{ApiFailure, DeadlineExceeded, DecodeFault, Error, excerpt};
use crate::transport::wait::Wait;

/// Maps what a generated method returned, with what the transport saw and
/// the last body it read (`body`), if any.
pub(crate) async fn from_generated<E>(
    error: progenitor_client::Error<E>,
    call: CallSummary,
    body: Option<&[u8]>,
) -> Error {
    use progenitor_client::Error as G;
    if let Some(cut) = call.cut {
        return deadline_exceeded(cut, &call, body);
    }
    match error {
        G::InvalidRequest(why) | G::Custom(why) => Error::InvalidInput(why),
        G::CommunicationError(e) | G::InvalidUpgrade(e) | G::ResponseBodyError(e) => {
            transport(e, &call)
        }
        G::InvalidResponsePayload(payload, source) => Error::Undecodable {
            operation: call.operation,
            status: call.status.unwrap_or_default(),
            excerpt: excerpt(&payload),
            source: Box::new(DecodeFault::of(&source)),
            attempts: call.attempts,
        },
        G::ErrorResponse(value) => Error::from_response(
            call.operation,
            value.status(),
            value.headers(),
            body.unwrap_or_default(),
            call.attempts,
        ),
        G::UnexpectedResponse(response) => unexpected(response, &call).await,
    }
}

/// The deadline cut the call: the wait that did not fit, and the last
/// answer if one had arrived.
fn deadline_exceeded(cut: Cut, call: &CallSummary, body: Option<&[u8]>) -> Error {
    let last_response = match (cut.answered, call.status) {
        (true, Some(status)) => Some(*ApiFailure::boxed(
            call.operation,
            status,
            &reqwest::header::HeaderMap::new(),
            body.unwrap_or_default(),
            call.attempts,
        )),
        _ => None,
    }
    .map(|mut failure| {
        // The wait the API asked for is the one the cut names.
        if let Wait::RetryAfter(wait) = cut.wait {
            failure.retry_after = Some(wait);
        }
        failure
    });
    Error::DeadlineExceeded(Box::new(DeadlineExceeded {
        operation: call.operation,
        wait: cut.wait,
        left: cut.left,
        attempts: call.attempts,
        last_response,
    }))
}

/// No response, or none read whole: a body past the size limit, a
/// timeout, or another transport failure.
fn transport(source: reqwest::Error, call: &CallSummary) -> Error {
    // reqwest's errors name the URL, which holds ids and query values.
    let source = source.without_url();
    let (operation, attempts) = (call.operation, call.attempts);
    if let Some(limit) = body_limit_exceeded(&source) {
        Error::ResponseTooLarge {
            operation,
            status: call.status.unwrap_or_default(),
            limit,
            attempts,
        }
    } else if source.is_timeout() {
        Error::Timeout {
            operation,
            attempts,
            source: Box::new(source),
        }
    } else {
        Error::Transport {
            operation,
            attempts,
            source: Box::new(source),
        }
    }
}

/// A status the spec does not document for the operation, by its status
/// and body.
async fn unexpected(response: reqwest::Response, call: &CallSummary) -> Error {
    let status = response.status();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(body) => Error::from_response(call.operation, status, &headers, &body, call.attempts),
        Err(e) => transport(e, call),
    }
}
