//! What the stand-in keeps: users, their credentials, workflows and logs,
//! in memory.

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A user as the stand-in stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeUser {
    /// The generated id.
    pub user_id: String,
    /// The unique username.
    pub username: String,
    /// The full name, if one was given.
    pub full_name: Option<String>,
}

/// A credential as the stand-in stores it: one user's connection to an
/// app. Deleting the user does not delete its credentials (nothing in the
/// vendor's reference says it would), which is why an offboarding deletes
/// them one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeCredential {
    /// The generated id.
    pub credential_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The app, such as `shopify`.
    pub app: String,
}

/// A workflow of a user, as the stand-in stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeWorkflow {
    /// The generated id.
    pub workflow_id: String,
    /// The user it runs for.
    pub user_id: String,
    /// Whether it is active; `PUT /users/{userId}/deactivate-workflows`
    /// turns off every workflow of the user.
    pub active: bool,
}

/// A log of a workflow run for a user, as the stand-in stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeLog {
    /// The generated id.
    pub log_id: String,
    /// The user it ran for.
    pub user_id: String,
    /// The workflow that ran.
    pub workflow_id: String,
}

#[derive(Default)]
pub(crate) struct Store {
    pub(crate) users: BTreeMap<String, FakeUser>,
    pub(crate) credentials: BTreeMap<String, FakeCredential>,
    pub(crate) workflows: BTreeMap<String, FakeWorkflow>,
    /// In the order they were made.
    pub(crate) logs: Vec<FakeLog>,
    pub(crate) logs_deleted: Vec<String>,
    next_id: u64,
}

/// A new id of 24 hex digits, as the API's look, starting with `prefix`.
pub(crate) fn next_id(store: &mut Store, prefix: &str) -> String {
    store.next_id += 1;
    format!("{prefix}{:020x}", store.next_id)
}

pub(crate) fn insert(store: &mut Store, username: &str, full_name: Option<&str>) -> String {
    let user_id = next_id(store, "65f0");
    store.users.insert(
        user_id.clone(),
        FakeUser {
            user_id: user_id.clone(),
            username: username.to_owned(),
            full_name: full_name.map(str::to_owned),
        },
    );
    user_id
}

impl Store {
    /// Whether a user other than `except` has `username`.
    pub(crate) fn username_taken(&self, username: &str, except: Option<&str>) -> bool {
        self.users
            .values()
            .any(|u| u.username == username && Some(u.user_id.as_str()) != except)
    }
}

pub(crate) fn user_json(user: &FakeUser) -> Value {
    let mut v = json!({ "userId": user.user_id, "username": user.username });
    if let Some(name) = &user.full_name {
        v["fullName"] = json!(name);
    }
    v
}

/// Finds a user by id or, as the real API allows, by username.
pub(crate) fn find<'a>(store: &'a Store, key: &str) -> Option<&'a FakeUser> {
    store
        .users
        .get(key)
        .or_else(|| store.users.values().find(|u| u.username == key))
}
