//! The Users operations and what hangs off a user (credentials, workflows
//! off, logs deleted), kept in the store.

use crate::store::{Store, find, insert, user_json};
use crate::{Shared, message};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The request body as JSON, or the 400 the API answers when it is not.
fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|_| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            "Request body must be JSON",
        ))
    })
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(rename = "parentWorkflowId")]
    parent_workflow_id: Option<String>,
}

pub(crate) async fn list_users(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ListQuery>,
) -> Response {
    // The stand-in has no workflows, so no user belongs to one.
    let data: Vec<Value> = match query.parent_workflow_id {
        Some(_) => Vec::new(),
        None => shared.store().users.values().map(user_json).collect(),
    };
    Json(json!({ "data": data })).into_response()
}

pub(crate) async fn create_user(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(refused) => return *refused,
    };
    let Some(username) = body.get("username").and_then(Value::as_str) else {
        return message(StatusCode::BAD_REQUEST, "username is required");
    };
    let full_name = body.get("fullName").and_then(Value::as_str);
    let mut store = shared.store();
    if store.username_taken(username, None) {
        return message(StatusCode::CONFLICT, "Username already exists");
    }
    let user_id = insert(&mut store, username, full_name);
    Json(json!({ "userId": user_id })).into_response()
}

pub(crate) async fn get_user(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
) -> Response {
    match find(&shared.store(), &user_id) {
        Some(user) => Json(user_json(user)).into_response(),
        None => message(StatusCode::NOT_FOUND, "User not found"),
    }
}

pub(crate) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
) -> Response {
    let undeletable = shared.controls().undeletable.clone();
    on_user(&shared, &user_id, |store, id| {
        if !undeletable.iter().any(|u| u == id) {
            store.users.remove(id);
        }
        json!({ "success": true })
    })
}

pub(crate) async fn deactivate_workflows(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
) -> Response {
    on_user(&shared, &user_id, |store, id| {
        for workflow in store.workflows.values_mut().filter(|w| w.user_id == id) {
            workflow.active = false;
        }
        json!({ "message": "Success" })
    })
}

pub(crate) async fn list_credentials(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
) -> Response {
    on_user(&shared, &user_id, |store, id| {
        let data: Vec<Value> = store
            .credentials
            .values()
            .filter(|c| c.user_id == id)
            .map(|c| {
                json!({
                    "credentialId": c.credential_id,
                    "type": c.app,
                    "name": format!("{} credential", c.app),
                    "createdAt": "2024-09-30T20:13:32.491Z",
                    "updatedAt": "2024-09-30T20:13:32.522Z",
                })
            })
            .collect();
        json!({ "data": data })
    })
}

pub(crate) async fn delete_credential(
    State(shared): State<Arc<Shared>>,
    Path((user_id, credential_id)): Path<(String, String)>,
) -> Response {
    let mut store = shared.store();
    let Some(id) = find(&store, &user_id).map(|u| u.user_id.clone()) else {
        return message(StatusCode::NOT_FOUND, "User not found");
    };
    match store.credentials.get(&credential_id) {
        Some(c) if c.user_id == id => {
            store.credentials.remove(&credential_id);
            Json(json!({ "success": true })).into_response()
        }
        _ => message(StatusCode::NOT_FOUND, "Credential not found"),
    }
}

pub(crate) async fn delete_logs(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
) -> Response {
    on_user(&shared, &user_id, |store, id| {
        store.logs.retain(|log| log.user_id != id);
        store.logs_deleted.push(id.to_owned());
        json!({ "message": "Success" })
    })
}

/// Runs `action` on the user `key` names, or answers 404.
fn on_user(shared: &Shared, key: &str, action: impl FnOnce(&mut Store, &str) -> Value) -> Response {
    let mut store = shared.store();
    match find(&store, key).map(|u| u.user_id.clone()) {
        Some(id) => Json(action(&mut store, &id)).into_response(),
        None => message(StatusCode::NOT_FOUND, "User not found"),
    }
}

pub(crate) async fn update_user(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Request body must be a JSON object",
            );
        }
    };
    let mut store = shared.store();
    let Some(id) = find(&store, &user_id).map(|u| u.user_id.clone()) else {
        return message(StatusCode::NOT_FOUND, "User not found");
    };
    if let Some(username) = body.get("username").and_then(Value::as_str)
        && store.username_taken(username, Some(&id))
    {
        return message(StatusCode::CONFLICT, "Username already exists");
    }
    let Some(user) = store.users.get_mut(&id) else {
        return message(StatusCode::NOT_FOUND, "User not found");
    };
    if let Some(username) = body.get("username").and_then(Value::as_str) {
        user.username = username.to_owned();
    }
    if let Some(full_name) = body.get("fullName").and_then(Value::as_str) {
        user.full_name = Some(full_name.to_owned());
    }
    Json(user_json(user)).into_response()
}

/// `POST /users/batch`: creates every valid user and lists the others, as
/// the vendor's example shows; a batch with none valid (or none at all)
/// creates nothing and lists them all.
pub(crate) async fn create_users(
    State(shared): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(v) => v,
        Err(refused) => return *refused,
    };
    let Some(users) = body.get("users").and_then(Value::as_array) else {
        return message(StatusCode::BAD_REQUEST, "users is required");
    };
    if users.len() > runalloy_embedded::MAX_BATCH_USERS {
        return message(StatusCode::BAD_REQUEST, "Limited to 1000 users at a time");
    }
    let mut store = shared.store();
    let mut invalid = Vec::new();
    for user in users {
        let full_name = user.get("fullName").and_then(Value::as_str);
        match user.get("username").and_then(Value::as_str) {
            Some(name) if !store.username_taken(name, None) => {
                insert(&mut store, name, full_name);
            }
            _ => invalid.push(user.clone()),
        }
    }
    Json(json!({ "message": "success", "invalidUsers": invalid })).into_response()
}
