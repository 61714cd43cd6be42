//! The operations the stand-in keeps no state for, answered with the
//! spec's example of their success response.

use crate::{check, message};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Every operation without a handler of its own: the spec's example of
/// its success response (the request was checked on the way in,
/// `crate::check`); a path no operation fits is the router's 404.
pub(crate) async fn any_operation(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let Some(op) = check::operation(&method, path) else {
        return message(StatusCode::NOT_FOUND, &format!("Cannot {method} {path}"));
    };
    let example = op
        .example
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| json!({}));
    Json(example).into_response()
}
