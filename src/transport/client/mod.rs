//! The client (this file), its builder (`builder.rs`) and the builder's
//! jobs, a file each: the environment (`env.rs`), the base-URL rule
//! (`base_url.rs`), the proxy choice (`proxy.rs`), the `reqwest::Client`
//! setup (`http.rs`) and the wiring of flow control and its store
//! (`flow.rs`).

mod base_url;
mod builder;
mod env;
mod flow;
mod http;
mod proxy;

pub use builder::ClientBuilder;

use crate::transport::send::flow::FlowStats;
use crate::transport::send::{self, Transport};
use crate::{API_VERSION, Error, api};
use progenitor_client::ResponseValue;
use std::fmt;

/// Alloy's production API.
pub const DEFAULT_BASE_URL: &str = "https://production.runalloy.com";
/// The environment variable that holds the API key.
pub const ENV_API_KEY: &str = "ALLOY_API_KEY";
/// The environment variable that overrides the base URL.
pub const ENV_BASE_URL: &str = "ALLOY_BASE_URL";
/// The environment variable that names a shared limiter's store
/// (`redis://...`; read by [`ClientBuilder::from_env`] with the `redis`
/// feature).
pub const ENV_LIMITER_URL: &str = "ALLOY_LIMITER_URL";
/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("runalloy-embedded/", env!("CARGO_PKG_VERSION"));

/// A client for Alloy's Embedded API.
///
/// Cheap to clone: clones share one connection pool. Every request carries
/// `Authorization: Bearer <key>`, `x-api-version` (from the spec) and
/// `User-Agent: runalloy-embedded/<version>`, and goes through the retry
/// policy.
///
/// ```
/// use runalloy_embedded::Client;
///
/// let client = Client::builder()
///     .api_key("my-key")
///     .base_url("http://127.0.0.1:8080")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
/// let shown = format!("{client:?}");
/// assert!(!shown.contains("my-key"));
/// assert!(shown.contains("max_requests_per_second: None"));
/// ```
#[derive(Clone)]
pub struct Client {
    api: api::Client,
    base_url: String,
    key_fingerprint: String,
    /// Set once the base URL proved to be the API
    /// ([`Client::verify_api_access`]); shared by clones and views, which
    /// have the same base URL.
    proven: std::sync::Arc<tokio::sync::OnceCell<()>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = &self.api.inner;
        let flow = transport.flow.stats();
        let mut out = f.debug_struct("Client");
        out.field("base_url", &self.base_url)
            .field("api_version", &API_VERSION)
            .field("api_key", &"<redacted>")
            .field("attempt_timeout", &transport.attempt_timeout)
            .field("retry", &transport.retry)
            .field("max_requests_per_second", &flow.max_rate);
        // Whether a store is configured, never its URL (it may hold a
        // password).
        #[cfg(feature = "redis")]
        out.field(
            "limiter",
            &flow
                .limiter
                .map(|l| if l.shared { "shared" } else { "fallen back" }),
        );
        out.finish()
    }
}

impl Client {
    /// Starts a builder with production defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `ALLOY_API_KEY` and, if set,
    /// `ALLOY_BASE_URL`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), runalloy_embedded::Error> {
    /// let client = runalloy_embedded::Client::from_env()?;
    /// client.delete_user("6323d7c9122ae69742a5d0a2").await?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<Self, Error> {
        Self::builder().from_env()?.build()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A short fingerprint of the API key
    /// ([`ApiKey::fingerprint`](crate::ApiKey::fingerprint)), for records
    /// that must tell keys apart without holding one.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }

    /// What the client's flow control has done: throttled responses, time
    /// held back, the current pace. Shared by every clone.
    pub fn flow_stats(&self) -> FlowStats {
        self.api.inner.flow.stats()
    }

    /// The settings the send path reads.
    pub(crate) fn transport(&self) -> &Transport {
        &self.api.inner
    }

    /// This client with another transport (a view's settings), on the same
    /// connection pool and flow control.
    pub(crate) fn with_transport(&self, transport: Transport) -> Client {
        use progenitor_client::ClientInfo;
        Client {
            api: api::Client::new_with_client(&self.base_url, self.api.client().clone(), transport),
            base_url: self.base_url.clone(),
            key_fingerprint: self.key_fingerprint.clone(),
            proven: self.proven.clone(),
        }
    }

    /// The proof, made once, that the base URL is the API.
    pub(crate) fn proven(&self) -> &tokio::sync::OnceCell<()> {
        &self.proven
    }

    /// Why the shared limiter's store last failed, if it ever did: the
    /// cause, without any password. See [`ClientBuilder::limiter`].
    #[cfg(feature = "redis")]
    pub fn limiter_failure(&self) -> Option<String> {
        self.api.inner.flow.limiter_failure()
    }

    /// The generated client, for calling any operation of the spec directly.
    /// It carries the same headers and retry policy; its errors are
    /// progenitor's. Prefer [`Client::call`], which maps them to [`Error`].
    pub fn api(&self) -> &api::Client {
        &self.api
    }

    /// Calls any generated operation and maps its outcome to [`Error`].
    ///
    /// This is how every operation in the spec is callable with no
    /// hand-written code per operation.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let users = client.call(|api| api.list_all_users().send()).await?;
    /// for user in users.data {
    ///     println!("{:?}", user.user_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn call<'a, F, Fut, T, E>(&'a self, operation: F) -> Result<T, Error>
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let (result, _, _) = self.call_recorded(operation).await;
        result.map(ResponseValue::into_inner)
    }

    /// [`Client::call`], keeping the response: its `status()`, its
    /// `headers()` (a request id, rate-limit headers) and the decoded body
    /// (`into_inner()`). Errors are mapped as `call` maps them, and keep
    /// the headers that help a support ticket ([`Error::request_id`],
    /// [`crate::ApiFailure::headers`]).
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let response = client.call_raw(|api| api.list_all_users().send()).await?;
    /// let request_id = response.headers().get("x-request-id").cloned();
    /// println!("HTTP {} ({request_id:?})", response.status());
    /// for user in response.into_inner().data {
    ///     println!("{:?}", user.user_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn call_raw<'a, F, Fut, T, E>(
        &'a self,
        operation: F,
    ) -> Result<ResponseValue<T>, Error>
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.call_recorded(operation).await.0
    }

    /// [`Client::call`], keeping the response's status and headers, what
    /// the transport did, and the last body read as the server sent it.
    pub(crate) async fn call_recorded<'a, F, Fut, T, E>(
        &'a self,
        operation: F,
    ) -> (
        Result<ResponseValue<T>, Error>,
        send::CallSummary,
        Option<bytes::Bytes>,
    )
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        // Boxed where it is made: the generated future is over 3 KiB, and
        // unboxed every wrapper around it (the task-local scope, this
        // function, erase) would copy it again on each move.
        let call = Box::pin(operation(&self.api));
        let (result, summary, body) = send::recorded(call).await;
        let result = match result {
            Ok(value) => Ok(value),
            Err(error) => Err(send::from_generated(error, summary, body.as_deref()).await),
        };
        (result, summary, body)
    }
}
