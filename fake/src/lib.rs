//! A local stand-in for Alloy's Embedded API, for tests, examples and the
//! quickstart of [`runalloy_embedded`], built on that crate's public API
//! only: its operation table ([`runalloy_embedded::OPERATIONS`]) drives the
//! routes it answers from the spec's examples.
//!
//! It listens on `127.0.0.1` on a free port and answers every operation of
//! the spec. The Users operations keep users in memory, and so do a user's
//! credentials and workflows (list and delete, deactivate) and its logs
//! (`get-logs` and `get-workflow-logs`, paged as the vendor documents them,
//! and deleted with the user's logs); every other operation checks its
//! required query parameters and body, then answers with the spec's example
//! of its success response. For tests it can inject 500s and 429s, keep a
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

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use runalloy_embedded::{OPERATIONS, Operation};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// governor's token bucket, as the client's fixed cap uses it.
type Governor = governor::DefaultDirectRateLimiter;

/// A bucket refilled at `rate` per second (fractions allowed) holding
/// `burst`; `None` for a rate that is not finite and positive.
fn token_bucket(rate: f64, burst: NonZeroU32) -> Option<Governor> {
    let period = Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| !p.is_zero())?;
    let quota = governor::Quota::with_period(period)?.allow_burst(burst);
    Some(governor::RateLimiter::direct(quota))
}

/// The spec's operation for `method` on `path`, if any.
fn operation(method: &axum::http::Method, path: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|op| op.method == method.as_str() && op.matches_path(path))
}

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
struct Store {
    users: BTreeMap<String, FakeUser>,
    credentials: BTreeMap<String, FakeCredential>,
    workflows: BTreeMap<String, FakeWorkflow>,
    /// In the order they were made.
    logs: Vec<FakeLog>,
    logs_deleted: Vec<String>,
    next_id: u64,
}

/// Misbehaviour on cue, for tests: 500s and users that stay readable.
#[derive(Default)]
struct Faults {
    /// The share of requests answered 500, and the seed that picks them.
    share: Option<(f64, u64)>,
    /// The share answered 429 without `Retry-After`, and its seed.
    throttle_share: Option<(f64, u64)>,
    /// `METHOD /path` answered 500 every time.
    always: Vec<String>,
    /// Users whose delete is confirmed but not done.
    undeletable: Vec<String>,
    /// Every request admitted past the key check, as `METHOD /path?query`,
    /// when recording is on.
    received: Option<Vec<String>>,
}

struct Shared {
    api_key: String,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    limit: Option<(Governor, RateLimit)>,
    served: AtomicU64,
    throttled: AtomicU64,
}

/// A rate limit for the stand-in: a token bucket refilled at `per_second`
/// and holding `burst` requests, which answers `429 {"message": "Too Many
/// Requests"}` over it, as hosted APIs do.
///
/// ```
/// use runalloy_embedded_fake::RateLimit;
///
/// let limit = RateLimit::per_second(2.5);
/// assert_eq!((limit.burst, limit.retry_after), (3, true));
/// let strict = RateLimit::per_second(10.0).burst(1).without_retry_after();
/// assert_eq!((strict.burst, strict.retry_after), (1, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests per second, fractions allowed.
    pub per_second: f64,
    /// Requests accepted at once after a quiet spell.
    pub burst: u32,
    /// Whether a 429 carries `Retry-After` (whole seconds, at least 1).
    pub retry_after: bool,
}

impl RateLimit {
    /// `per_second`, with a burst of as many (at least 1) and `Retry-After`.
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32,
            retry_after: true,
        }
    }

    /// Sets the burst (at least 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Answers 429 without `Retry-After`.
    pub fn without_retry_after(mut self) -> Self {
        self.retry_after = false;
        self
    }
}

impl Shared {
    fn store(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked cannot leave the map half-written: every
        // change is a single insert or remove. Keep serving.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
        Self::start_inner(api_key.into(), None).await
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
        let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
        let bucket = token_bucket(limit.per_second, burst)
            .ok_or_else(|| std::io::Error::other("the rate limit must be a positive rate"))?;
        Self::start_inner(api_key.into(), Some((bucket, limit))).await
    }

    async fn start_inner(
        api_key: String,
        limit: Option<(Governor, RateLimit)>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            api_key,
            store: Mutex::new(Store::default()),
            faults: Mutex::new(Faults::default()),
            limit,
            served: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/users", get(list_users).post(create_user))
            .route("/users/", axum::routing::post(create_user))
            .route("/users/batch", axum::routing::post(create_users))
            .route(
                "/users/{user_id}",
                get(get_user).delete(delete_user).put(update_user),
            )
            .route("/users/{user_id}/logs", delete(delete_logs))
            .route(
                "/users/{user_id}/deactivate-workflows",
                axum::routing::put(deactivate_workflows),
            )
            .route("/credentials/users/{user_id}", get(list_credentials))
            .route("/logs", get(get_logs))
            .route("/workflows/{workflow_id}/logs", get(get_workflow_logs))
            .route(
                "/users/{user_id}/credentials/{credential_id}",
                delete(delete_credential),
            )
            .fallback(any_operation)
            .layer(axum::middleware::from_fn_with_state(shared.clone(), admit))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
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
        self.shared.faults().share = Some((share.clamp(0.0, 1.0), seed));
    }

    /// Answers `share` (0 to 1) of the requests that pass the key, version
    /// and rate checks with `429 {"message": "Too Many Requests"}` and no
    /// `Retry-After`, doing nothing: a noisy gateway, with no limit behind
    /// it. Counted in [`FakeAlloy::requests_throttled`].
    pub fn throttle_share(&self, share: f64, seed: u64) {
        self.shared.faults().throttle_share = Some((share.clamp(0.0, 1.0), seed));
    }

    /// Answers every `method` request to `path` (no query) with a 500,
    /// doing nothing.
    pub fn fail_always(&self, method: &str, path: &str) {
        self.shared
            .faults()
            .always
            .push(format!("{} {path}", method.to_ascii_uppercase()));
    }

    /// Ends every fault set by [`FakeAlloy::fail_share`],
    /// [`FakeAlloy::throttle_share`] and [`FakeAlloy::fail_always`].
    pub fn clear_faults(&self) {
        let mut faults = self.shared.faults();
        faults.share = None;
        faults.throttle_share = None;
        faults.always.clear();
    }

    /// Confirms every delete of the user `user_id` with
    /// `{"success": true}` but keeps the user readable, as a broken
    /// deployment might.
    pub fn keep_readable(&self, user_id: &str) {
        self.shared.faults().undeletable.push(user_id.to_owned());
    }

    /// Starts recording each request that passes the key check, as
    /// `METHOD /path?query` ([`FakeAlloy::received`]).
    pub fn record_requests(&self) {
        self.shared.faults().received.get_or_insert_with(Vec::new);
    }

    /// The requests recorded since [`FakeAlloy::record_requests`], in the
    /// order they arrived.
    pub fn received(&self) -> Vec<String> {
        self.shared.faults().received.clone().unwrap_or_default()
    }

    /// Requests answered so far, refusals included.
    pub fn requests_served(&self) -> u64 {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Requests answered 429 by the rate limit.
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

/// A new id of 24 hex digits, as the API's look, starting with `prefix`.
fn next_id(store: &mut Store, prefix: &str) -> String {
    store.next_id += 1;
    format!("{prefix}{:020x}", store.next_id)
}

fn insert(store: &mut Store, username: &str, full_name: Option<&str>) -> String {
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

/// The request body as JSON, or the 400 the API answers when it is not.
fn json_body(body: &[u8]) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|_| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            "Request body must be JSON",
        ))
    })
}

impl Store {
    /// Whether a user other than `except` has `username`.
    fn username_taken(&self, username: &str, except: Option<&str>) -> bool {
        self.users
            .values()
            .any(|u| u.username == username && Some(u.user_id.as_str()) != except)
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({ "message": text }))).into_response()
}

/// The checks the real API makes before any handler.
async fn admit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    shared.served.fetch_add(1, Ordering::Relaxed);
    let refused = refusal(&shared, request.headers())
        .or_else(|| throttle(&shared))
        .or_else(|| missing_query_copy(request.method(), request.uri()))
        .or_else(|| fault(&shared, request.method(), request.uri()));
    match refused {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// The 429 of the rate limit, if the request is over it.
fn throttle(shared: &Shared) -> Option<Response> {
    use governor::clock::Clock;
    let (limiter, limit) = shared.limit.as_ref()?;
    let not_until = limiter.check().err()?;
    shared.throttled.fetch_add(1, Ordering::Relaxed);
    let mut response = message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if limit.retry_after {
        // The limiter's own clock: another clock's instants do not compare.
        let wait = not_until.wait_time_from(limiter.clock().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from(secs.max(1)));
    }
    Some(response)
}

/// The 400 for a request that leaves out a parameter the vendor's document
/// declares in the query of a path that also names it (`userId` of
/// `delete-logs-for-a-user`): the stand-in reads the query, as such a server
/// might, and wants the same value there as in the path.
fn missing_query_copy(method: &axum::http::Method, uri: &axum::http::Uri) -> Option<Response> {
    let op = operation(method, uri.path())?;
    for name in op.also_in_query {
        let in_path = op.path_value(uri.path(), name);
        let in_query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v);
        if in_path.is_none() || in_query != in_path {
            return Some(message(
                StatusCode::BAD_REQUEST,
                &format!("{name} is required in the query, with the value in the path"),
            ));
        }
    }
    None
}

/// Records the request, then the 500 of an injected fault, if it is one.
fn fault(shared: &Shared, method: &axum::http::Method, uri: &axum::http::Uri) -> Option<Response> {
    let mut faults = shared.faults();
    if let Some(received) = faults.received.as_mut() {
        received.push(format!("{method} {uri}"));
    }
    let served = shared.served.load(Ordering::Relaxed);
    if faults
        .throttle_share
        .is_some_and(|(share, seed)| unit_interval(seed.rotate_left(17) ^ served) < share)
    {
        shared.throttled.fetch_add(1, Ordering::Relaxed);
        return Some(message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
    }
    let by_share = faults
        .share
        .is_some_and(|(share, seed)| unit_interval(seed ^ served) < share);
    let by_path = faults.always.iter().any(|f| {
        f.strip_prefix(method.as_str())
            .and_then(|f| f.strip_prefix(' '))
            == Some(uri.path())
    });
    (by_share || by_path)
        .then(|| message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// A number in [0, 1) from `x`, evenly spread (SplitMix64's finaliser): a
/// few lines where a random-number crate would be a dependency for one call.
fn unit_interval(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
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

fn user_json(user: &FakeUser) -> Value {
    let mut v = json!({ "userId": user.user_id, "username": user.username });
    if let Some(name) = &user.full_name {
        v["fullName"] = json!(name);
    }
    v
}

/// Finds a user by id or, as the real API allows, by username.
fn find<'a>(store: &'a Store, key: &str) -> Option<&'a FakeUser> {
    store
        .users
        .get(key)
        .or_else(|| store.users.values().find(|u| u.username == key))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "parentWorkflowId")]
    parent_workflow_id: Option<String>,
}

async fn list_users(State(shared): State<Arc<Shared>>, Query(query): Query<ListQuery>) -> Response {
    // The stand-in has no workflows, so no user belongs to one.
    let data: Vec<Value> = match query.parent_workflow_id {
        Some(_) => Vec::new(),
        None => shared.store().users.values().map(user_json).collect(),
    };
    Json(json!({ "data": data })).into_response()
}

async fn create_user(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
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
        return message(StatusCode::BAD_REQUEST, "Username already exists");
    }
    let user_id = insert(&mut store, username, full_name);
    Json(json!({ "userId": user_id })).into_response()
}

async fn get_user(State(shared): State<Arc<Shared>>, Path(user_id): Path<String>) -> Response {
    match find(&shared.store(), &user_id) {
        Some(user) => Json(user_json(user)).into_response(),
        None => message(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn delete_user(State(shared): State<Arc<Shared>>, Path(user_id): Path<String>) -> Response {
    let undeletable = shared.faults().undeletable.clone();
    on_user(&shared, &user_id, |store, id| {
        if !undeletable.iter().any(|u| u == id) {
            store.users.remove(id);
        }
        json!({ "success": true })
    })
}

async fn deactivate_workflows(
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

async fn list_credentials(
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

async fn delete_credential(
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

async fn delete_logs(State(shared): State<Arc<Shared>>, Path(user_id): Path<String>) -> Response {
    on_user(&shared, &user_id, |store, id| {
        store.logs.retain(|log| log.user_id != id);
        store.logs_deleted.push(id.to_owned());
        json!({ "message": "Success" })
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogsQuery {
    associated_user_id: Option<String>,
    workflow_id: Option<String>,
    skip: Option<usize>,
    limit: Option<usize>,
}

/// `get-logs`: the logs, filtered, from `skip`, `limit` at a time (10 by
/// default), with the `pagination` its page documents.
async fn get_logs(State(shared): State<Arc<Shared>>, Query(q): Query<LogsQuery>) -> Response {
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
    let (skip, limit) = (q.skip.unwrap_or(0), q.limit.unwrap_or(10).max(1));
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
struct WorkflowLogsQuery {
    user_id: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
}

/// `get-workflow-logs`: one workflow's runs, page `page` (from 1) of
/// `limit` (10 by default, at most 30, as its page says).
async fn get_workflow_logs(
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
    let limit = q.limit.unwrap_or(10).clamp(1, 30);
    let skip = q.page.unwrap_or(1).saturating_sub(1) * limit;
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

/// Runs `action` on the user `key` names, or answers 404.
fn on_user(shared: &Shared, key: &str, action: impl FnOnce(&mut Store, &str) -> Value) -> Response {
    let mut store = shared.store();
    match find(&store, key).map(|u| u.user_id.clone()) {
        Some(id) => Json(action(&mut store, &id)).into_response(),
        None => message(StatusCode::NOT_FOUND, "User not found"),
    }
}

async fn update_user(
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
        return message(StatusCode::BAD_REQUEST, "Username already exists");
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
/// the vendor's example shows.
async fn create_users(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
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
    if invalid.len() == users.len() {
        return message(StatusCode::BAD_REQUEST, "No valid users provided");
    }
    Json(json!({ "message": "success", "invalidUsers": invalid })).into_response()
}

/// Every operation without a handler of its own: checks what the spec
/// requires, then answers with the spec's example.
async fn any_operation(
    method: axum::http::Method,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path();
    let Some(op) = operation(&method, path) else {
        return message(StatusCode::NOT_FOUND, &format!("Cannot {method} {path}"));
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    for param in op
        .params
        .iter()
        .filter(|p| p.required && p.location == "query")
    {
        if !query
            .iter()
            .any(|(name, value)| name == param.name && !value.is_empty())
        {
            return message(
                StatusCode::BAD_REQUEST,
                &format!("{} is required", param.name),
            );
        }
    }
    if let Some(spec_body) = op.body {
        let sent: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) if body.is_empty() && !spec_body.required => Value::Null,
            Err(_) => return message(StatusCode::BAD_REQUEST, "Request body must be JSON"),
        };
        let schema: Value = serde_json::from_str(spec_body.schema).unwrap_or(Value::Null);
        let required = schema.get("required").and_then(Value::as_array);
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            if sent.get(name).is_none_or(Value::is_null) {
                return message(StatusCode::BAD_REQUEST, &format!("{name} is required"));
            }
        }
    }
    let example = op
        .example
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .unwrap_or_else(|| json!({}));
    Json(example).into_response()
}
