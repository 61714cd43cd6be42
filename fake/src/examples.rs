//! The operations the stand-in keeps no state for, answered with the
//! spec's example of their success response.

use crate::{check, message};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every operation without a handler of its own: the spec's example of
/// its success response (the request was checked on the way in,
/// `crate::check`); a path no operation fits is the router's 404, and a
/// method no operation of the path takes is 405 with `Allow`.
pub(crate) async fn any_operation(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let Some(op) = check::operation(&method, path) else {
        return not_here(&method, path);
    };
    let example = op
        .example
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| json!({}));
    Json(example).into_response()
}

/// The 405 for a path the spec knows under other methods, naming them in
/// `Allow`; else the router's 404.
fn not_here(method: &axum::http::Method, path: &str) -> Response {
    // A path the spec names as it is (`/workflows/activate`) is not also
    // a template's (`/workflows/{workflowId}`).
    let matching = |literal: bool| -> Vec<&'static str> {
        runalloy_embedded::OPERATIONS
            .iter()
            .filter(|op| op.matches_path(path) && (!literal || op.path == path))
            .map(|op| op.method)
            .collect()
    };
    let literal = matching(true);
    let allowed = if literal.is_empty() {
        matching(false)
    } else {
        literal
    };
    if allowed.is_empty() {
        return message(StatusCode::NOT_FOUND, &format!("Cannot {method} {path}"));
    }
    let mut response = message(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("{method} is not allowed here"),
    );
    if let Ok(allow) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
        response
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    response
}
