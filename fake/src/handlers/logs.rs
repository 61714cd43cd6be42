//! `get-logs` and `get-workflow-logs`, paged as the vendor documents them.

use crate::store::FakeLog;
use crate::{Shared, message};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogsQuery {
    associated_user_id: Option<String>,
    workflow_id: Option<String>,
    skip: Option<String>,
    limit: Option<String>,
}

/// `get-logs`: the logs, filtered, from `skip`, `limit` at a time (10 by
/// default), with the `pagination` its page documents.
pub(crate) async fn get_logs(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<LogsQuery>,
) -> Response {
    let store = shared.store();
    let matching: Vec<&FakeLog> = store
        .logs
        .iter()
        .filter(|l| {
            q.associated_user_id
                .as_ref()
                .is_none_or(|u| &l.user_id == u)
        })
        .filter(|l| q.workflow_id.as_ref().is_none_or(|w| &l.workflow_id == w))
        .collect();
    // Any integer is valid as the spec has it: a negative skip is 0, a
    // limit under 1 is 1.
    let skip = usize::try_from(whole(q.skip.as_deref(), 0)).unwrap_or(0);
    let limit = usize::try_from(whole(q.limit.as_deref(), 10).max(1)).unwrap_or(usize::MAX);
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(limit)
        .map(|l| {
            json!({
                "_id": l.log_id,
                "message": "executionSuccess",
                "userId": l.user_id,
                "forgeWorkflowId": l.workflow_id,
                "createdAt": "2025-04-29T17:44:10.432Z",
            })
        })
        .collect();
    Json(json!({
        "notifications": page,
        "lastFetched": "2025-04-29T17:46:38.237Z",
        "pagination": {
            "totalItems": matching.len(),
            "totalPages": matching.len().div_ceil(limit),
            "currentPage": skip / limit + 1,
            "pageSize": limit,
        },
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkflowLogsQuery {
    user_id: Option<String>,
    page: Option<String>,
    limit: Option<String>,
}

/// `get-workflow-logs`: one workflow's runs, page `page` (from 1) of
/// `limit` (10 by default, at most 30, as its page says).
pub(crate) async fn get_workflow_logs(
    State(shared): State<Arc<Shared>>,
    Path(workflow_id): Path<String>,
    Query(q): Query<WorkflowLogsQuery>,
) -> Response {
    // An empty segment names no workflow: the router's 404, as for any
    // path no operation fits.
    if workflow_id.is_empty() {
        return message(StatusCode::NOT_FOUND, "Cannot GET /workflows//logs");
    }
    let store = shared.store();
    let limit = usize::try_from(whole(q.limit.as_deref(), 10).clamp(1, 30)).unwrap_or(30);
    let page = usize::try_from(whole(q.page.as_deref(), 1)).unwrap_or(0);
    let skip = page.saturating_sub(1).saturating_mul(limit);
    let data: Vec<Value> = store
        .logs
        .iter()
        .filter(|l| l.workflow_id == workflow_id)
        .filter(|l| q.user_id.as_ref().is_none_or(|u| &l.user_id == u))
        .skip(skip)
        .take(limit)
        .map(|l| {
            json!({
                "executionId": l.log_id,
                "startedAt": "2025-04-29T17:44:10.336Z",
                "stoppedAt": "2025-04-29T17:44:10.432Z",
                "finished": true,
            })
        })
        .collect();
    Json(json!({ "data": data })).into_response()
}

/// An integer parameter (checked as one on the way in, `crate::check`),
/// `default` when absent; one past `i64`'s range is its nearest end.
fn whole(value: Option<&str>, default: i64) -> i64 {
    match value {
        None => default,
        Some(text) => text.parse().unwrap_or(if text.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        }),
    }
}
