//! The checks the real API makes before any handler: the key, the
//! version, the rate limit, what the spec asks of the request, and the
//! faults a test injected.

use crate::{Shared, check, controls, limit, message};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The largest request body the stand-in reads.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The checks the real API makes before any handler.
pub(crate) async fn admit(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    shared.served.fetch_add(1, Ordering::Relaxed);
    if let Some(refused) = refusal(&shared, request.headers()).or_else(|| limit::throttle(&shared))
    {
        return refused;
    }
    // The body is read here, checked against the spec, and handed on.
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return message(StatusCode::BAD_REQUEST, "Request body too large");
    };
    let refused = check::refusal(&parts.method, &parts.uri, &body)
        .or_else(|| controls::fault(&shared, &parts.method, &parts.uri));
    match refused {
        Some(refused) => refused,
        None => next.run(Request::from_parts(parts, body.into())).await,
    }
}

fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, key)| {
            scheme.eq_ignore_ascii_case("bearer") && key == shared.api_key
        });
    if !authorized {
        return Some(message(StatusCode::UNAUTHORIZED, "Unauthorized"));
    }
    let version = headers.get("x-api-version").and_then(|v| v.to_str().ok());
    if version != Some(runalloy_embedded::API_VERSION) {
        return Some(message(
            StatusCode::BAD_REQUEST,
            "Missing or unsupported x-api-version header",
        ));
    }
    None
}
