//! A local stand-in for Alloy's Embedded API, for tests, examples and the
//! quickstart of [`runalloy_embedded`], built on that crate's public API
//! only: its operation table ([`runalloy_embedded::OPERATIONS`]) is what it
//! checks every request against, and what answers the operations it keeps
//! no state for, from the spec's examples. The routes of the operations it
//! keeps state for are written by hand (`handlers/`).
//!
//! It listens on `127.0.0.1` on a free port (or the one given) and answers
//! every operation of the spec. Every request is first checked as the spec
//! says (`check.rs`): required parameters, their types and allowed values,
//! the JSON body against its schema; what the spec does not allow is 400
//! `{"message": ...}`, and what it allows passes. The Users operations keep
//! users in memory, and so do a user's credentials and workflows (list and
//! delete, deactivate) and its logs (`get-logs` and `get-workflow-logs`,
//! paged as the vendor documents them, and deleted with the user's logs);
//! every other operation answers with the spec's example of its success
//! response. The `runalloy-embedded-fake` binary serves it on its own. For tests it can inject 500s and 429s, keep a
//! deleted user readable, and record what it received. It answers like the
//! real API: 401 `{"message": "Unauthorized"}` without the right
//! `Authorization: Bearer <key>`, 400 without the right `x-api-version`, 404
//! `{"message": "User not found"}` for unknown users.
//! [`FakeAlloy::start_rate_limited`] puts it behind a token bucket that
//! answers 429, as hosted APIs do.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use runalloy_embedded::Client;
//! use runalloy_embedded_fake::FakeAlloy;
//!
//! let fake = FakeAlloy::start("test-key").await?;
//! let client = Client::builder()
//!     .api_key("test-key")
//!     .base_url(fake.base_url())
//!     .build()?;
//! let created = client.create_user("jane@example.com", None).await?;
//! let id = created.user_id.unwrap();
//! client.erase_user(&id).await;
//! assert!(client.get_user(&id).await.unwrap_err().is_api_not_found());
//! assert_eq!(fake.logs_deleted(), vec![id]);
//! # Ok(()) }
//! ```

mod admit;
mod check;
mod controls;
mod examples;
mod handlers;
mod limit;
mod store;

pub use limit::RateLimit;
pub use store::{FakeCredential, FakeLog, FakeUser, FakeWorkflow};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use controls::Controls;
use handlers::{logs, users};
use limit::Governor;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use store::{Store, insert, next_id};
use tokio::sync::oneshot;

pub(crate) struct Shared {
    pub(crate) api_key: String,
    store: Mutex<Store>,
    controls: Mutex<Controls>,
    pub(crate) limit: Option<(Governor, RateLimit)>,
    pub(crate) served: AtomicU64,
    pub(crate) throttled: AtomicU64,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked cannot leave the map half-written: every
        // change is a single insert or remove. Keep serving.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn controls(&self) -> MutexGuard<'_, Controls> {
        self.controls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `{"message": text}`, the API's one error shape.
pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// A running stand-in. It stops when dropped.
pub struct FakeAlloy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeAlloy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAlloy")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeAlloy {
    /// Starts the stand-in on `127.0.0.1`, accepting `api_key`.
    pub async fn start(api_key: impl Into<String>) -> std::io::Result<Self> {
        Self::start_inner(api_key.into(), None, 0).await
    }

    /// Starts the stand-in on `127.0.0.1:port` (`0`: a free port), with a
    /// rate limit if `limit` is given: what the `runalloy-embedded-fake`
    /// binary runs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded_fake::{FakeAlloy, RateLimit};
    ///
    /// let fake = FakeAlloy::start_on("k", 0, Some(RateLimit::per_second(10.0))).await?;
    /// assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok(()) }
    /// ```
    pub async fn start_on(
        api_key: impl Into<String>,
        port: u16,
        limit: Option<RateLimit>,
    ) -> std::io::Result<Self> {
        let limit = limit.map(limit::bucket_of).transpose()?;
        Self::start_inner(api_key.into(), limit, port).await
    }

    /// Starts the stand-in with a rate limit on every request that passes
    /// the key and version checks.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded_fake::{FakeAlloy, RateLimit};
    ///
    /// let fake = FakeAlloy::start_rate_limited("k", RateLimit::per_second(5.0)).await?;
    /// let client = runalloy_embedded::Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// client.list_users(None).await?;
    /// assert_eq!((fake.requests_served(), fake.requests_throttled()), (1, 0));
    /// # Ok(()) }
    /// ```
    pub async fn start_rate_limited(
        api_key: impl Into<String>,
        limit: RateLimit,
    ) -> std::io::Result<Self> {
        Self::start_inner(api_key.into(), Some(limit::bucket_of(limit)?), 0).await
    }

    async fn start_inner(
        api_key: String,
        limit: Option<(Governor, RateLimit)>,
        port: u16,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            api_key,
            store: Mutex::new(Store::default()),
            controls: Mutex::new(Controls::default()),
            limit,
            served: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/users", get(users::list_users).post(users::create_user))
            .route("/users/", axum::routing::post(users::create_user))
            .route("/users/batch", axum::routing::post(users::create_users))
            .route(
                "/users/{user_id}",
                get(users::get_user)
                    .delete(users::delete_user)
                    .put(users::update_user),
            )
            .route("/users/{user_id}/logs", delete(users::delete_logs))
            .route(
                "/users/{user_id}/deactivate-workflows",
                axum::routing::put(users::deactivate_workflows),
            )
            .route("/credentials/users/{user_id}", get(users::list_credentials))
            .route("/logs", get(logs::get_logs))
            .route(
                "/workflows/{workflow_id}/logs",
                get(logs::get_workflow_logs),
            )
            .route(
                "/users/{user_id}/credentials/{credential_id}",
                delete(users::delete_credential),
            )
            .fallback(examples::any_operation)
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                admit::admit,
            ))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stop.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the fake Alloy server stopped");
            }
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// The base URL to give the client, such as `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a user directly, as if created earlier, and returns its id.
    pub fn insert_user(&self, username: &str, full_name: Option<&str>) -> String {
        insert(&mut self.shared.store(), username, full_name)
    }

    /// Every stored user, ordered by id.
    pub fn users(&self) -> Vec<FakeUser> {
        self.shared.store().users.values().cloned().collect()
    }

    /// Adds a credential for the user `user_id` (which need not exist), as
    /// if connected earlier, and returns its id.
    pub fn insert_credential(&self, user_id: &str, app: &str) -> String {
        let mut store = self.shared.store();
        let credential_id = next_id(&mut store, "66fb");
        store.credentials.insert(
            credential_id.clone(),
            FakeCredential {
                credential_id: credential_id.clone(),
                user_id: user_id.to_owned(),
                app: app.to_owned(),
            },
        );
        credential_id
    }

    /// Stores a log of a run of `workflow_id` for `user_id`, after the
    /// others, and returns its id.
    pub fn insert_log(&self, user_id: &str, workflow_id: &str) -> String {
        let mut store = self.shared.store();
        let log_id = next_id(&mut store, "6811");
        store.logs.push(FakeLog {
            log_id: log_id.clone(),
            user_id: user_id.to_owned(),
            workflow_id: workflow_id.to_owned(),
        });
        log_id
    }

    /// Every stored log, in the order they were made.
    pub fn logs(&self) -> Vec<FakeLog> {
        self.shared.store().logs.clone()
    }

    /// Every stored credential, ordered by id; a deleted user's stay.
    pub fn credentials(&self) -> Vec<FakeCredential> {
        self.shared.store().credentials.values().cloned().collect()
    }

    /// Adds an active workflow for the user `user_id` and returns its id.
    pub fn insert_workflow(&self, user_id: &str) -> String {
        let mut store = self.shared.store();
        let workflow_id = next_id(&mut store, "64aa");
        store.workflows.insert(
            workflow_id.clone(),
            FakeWorkflow {
                workflow_id: workflow_id.clone(),
                user_id: user_id.to_owned(),
                active: true,
            },
        );
        workflow_id
    }

    /// Every stored workflow, ordered by id.
    pub fn workflows(&self) -> Vec<FakeWorkflow> {
        self.shared.store().workflows.values().cloned().collect()
    }

    /// Answers `share` (0 to 1) of the requests that pass the key, version
    /// and rate checks with `500 {"message": "Internal Server Error"}`,
    /// doing nothing. Which ones is decided by `seed` and the order of
    /// arrival, so a run with one request at a time repeats exactly.
    pub fn fail_share(&self, share: f64, seed: u64) {
        self.shared.controls().share = Some((share.clamp(0.0, 1.0), seed));
    }

    /// Answers `share` (0 to 1) of the requests that pass the key, version
    /// and rate checks with `429 {"message": "Too Many Requests"}` and no
    /// `Retry-After`, doing nothing: a noisy gateway, with no limit behind
    /// it. Counted in [`FakeAlloy::requests_throttled`].
    pub fn throttle_share(&self, share: f64, seed: u64) {
        self.shared.controls().throttle_share = Some((share.clamp(0.0, 1.0), seed));
    }

    /// Answers the requests arriving at `positions` (0 for the first that
    /// passes the key, version and rate checks from now on) with `429
    /// {"message": "Too Many Requests"}` and no `Retry-After`, doing
    /// nothing: a noisy gateway whose random positions the caller draws
    /// from a source of its own. Counted in
    /// [`FakeAlloy::requests_throttled`].
    ///
    /// ```
    /// # async fn demo() -> std::io::Result<()> {
    /// let fake = runalloy_embedded_fake::FakeAlloy::start("key").await?;
    /// fake.throttle_at([0, 7, 40]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn throttle_at(&self, positions: impl IntoIterator<Item = u64>) {
        self.shared.controls().throttle_at = Some((positions.into_iter().collect(), 0));
    }

    /// Answers every `method` request to `path` (no query) with a 500,
    /// doing nothing.
    pub fn fail_always(&self, method: &str, path: &str) {
        self.shared
            .controls()
            .always
            .push(format!("{} {path}", method.to_ascii_uppercase()));
    }

    /// Ends every fault set by [`FakeAlloy::fail_share`],
    /// [`FakeAlloy::throttle_share`], [`FakeAlloy::throttle_at`] and
    /// [`FakeAlloy::fail_always`].
    pub fn clear_faults(&self) {
        let mut controls = self.shared.controls();
        controls.share = None;
        controls.throttle_share = None;
        controls.throttle_at = None;
        controls.always.clear();
    }

    /// Confirms every delete of the user `user_id` with
    /// `{"success": true}` but keeps the user readable, as a broken
    /// deployment might.
    pub fn keep_readable(&self, user_id: &str) {
        self.shared.controls().undeletable.push(user_id.to_owned());
    }

    /// Starts recording each request that passes the key check, as
    /// `METHOD /path?query` ([`FakeAlloy::received`]).
    pub fn record_requests(&self) {
        self.shared.controls().received.get_or_insert_with(Vec::new);
    }

    /// The requests recorded since [`FakeAlloy::record_requests`], in the
    /// order they arrived.
    pub fn received(&self) -> Vec<String> {
        self.shared.controls().received.clone().unwrap_or_default()
    }

    /// Requests answered so far, refusals included.
    pub fn requests_served(&self) -> u64 {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Requests answered 429: by the rate limit, and by the share set with
    /// [`FakeAlloy::throttle_share`].
    pub fn requests_throttled(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// The ids whose logs were deleted, in order.
    pub fn logs_deleted(&self) -> Vec<String> {
        self.shared.store().logs_deleted.clone()
    }
}

impl Drop for FakeAlloy {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}
