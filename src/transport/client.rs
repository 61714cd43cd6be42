//! The client and its builder.

use crate::transport::api_key::ApiKey;
use crate::transport::send::flow::{FlowControl, FlowStats};
use crate::transport::send::{self, Transport};
use crate::{API_VERSION, Error, RetryPolicy, api};
use progenitor_client::ResponseValue;
use reqwest::Url;
use reqwest::header::HeaderValue;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

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

    /// A short fingerprint of the API key ([`ApiKey::fingerprint`]), for
    /// records that must tell keys apart without holding one.
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
            Err(error) => Err(Error::from_generated(error, summary, body.as_deref()).await),
        };
        (result, summary, body)
    }
}

/// Configures a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use runalloy_embedded::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_key("my-key")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(3))
///     .retry_policy(RetryPolicy::default().max_attempts(5))
///     .user_agent_suffix("acme-offboarding/2.1")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "https://production.runalloy.com");
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: String,
    attempt_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent_suffix: Option<String>,
    max_body_bytes: usize,
    proxy: ProxyChoice,
    max_rate: Option<f64>,
    observer: Option<send::ObserverRef>,
    /// The shared limiter's store, as given (it may hold a password).
    #[cfg(feature = "redis")]
    limiter: Option<String>,
}

/// Where requests go on their way to the API.
#[derive(Clone)]
enum ProxyChoice {
    /// The environment's proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`),
    /// except for a plain-http loopback base URL, which is always direct.
    Environment,
    /// Direct, whatever the environment says.
    Direct,
    /// The proxy at this URL, set by the caller. It may carry a user and
    /// password, so it is never printed whole.
    Explicit(String),
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyChoice::Environment => f.write_str("Environment"),
            ProxyChoice::Direct => f.write_str("Direct"),
            // Scheme, host and port only: never a user, password or path.
            ProxyChoice::Explicit(text) => match Url::parse(text) {
                Ok(url) => write!(
                    f,
                    "Explicit({}://{}:{})",
                    url.scheme(),
                    url.host_str().unwrap_or(""),
                    url.port_or_known_default().unwrap_or(0)
                ),
                Err(_) => f.write_str("Explicit(<not a URL>)"),
            },
        }
    }
}

/// The proxy at `text`, with any user and password sent as
/// `Proxy-Authorization` (marked sensitive) rather than kept in a URL that
/// reqwest's `Debug` would print.
fn explicit_proxy(text: &str) -> Result<reqwest::Proxy, Error> {
    // The text itself is not repeated: it might carry a password.
    let invalid = |why: &str| Error::InvalidInput(format!("the proxy URL is refused: {why}"));
    let mut url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&format!(
            "scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode);
    // Infallible for http(s) URLs with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let proxy = reqwest::Proxy::custom(move |_| Some(url.clone()));
    Ok(if user.is_empty() && password.is_none() {
        proxy
    } else {
        proxy.basic_auth(&user, password.as_deref().unwrap_or(""))
    })
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("proxy", &self.proxy)
            .field("max_rate", &self.max_rate)
            .field("observer", &self.observer)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            attempt_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent_suffix: None,
            max_body_bytes: 16 * 1024 * 1024,
            proxy: ProxyChoice::Environment,
            max_rate: None,
            observer: None,
            #[cfg(feature = "redis")]
            limiter: None,
        }
    }
}

impl ClientBuilder {
    /// The fixed caps [`ClientBuilder::max_requests_per_second`] accepts, in
    /// requests per second: from one every 1,000 s to a million a second.
    pub const MAX_RATES: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

    /// The API key, sent as `Authorization: Bearer <key>`. Required.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The base URL; production by default. It must be https, unless its
    /// host is loopback (for tests and the bundled stand-in).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How long one attempt may take, body included (30 s by default).
    /// It is also the timeout of requests sent directly on the generated
    /// client's `reqwest::Client`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// How long connecting may take (10 s by default).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy, which also holds the overall deadline.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Text appended to the `User-Agent`, such as `my-app/1.2`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The largest response body accepted (16 MiB by default; at least 1).
    /// A body's buffer grows with the bytes that arrive, whatever its
    /// `Content-Length` claims.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Never sends more than `rate` requests per second, over every clone
    /// and every operation; fractions are allowed (`2.5` is 150 a minute).
    /// Requests leave evenly spaced. Within [`ClientBuilder::MAX_RATES`].
    ///
    /// Without it the client still slows down by itself when the API
    /// answers `429`; set it when you know your limit, to waste no request
    /// finding it.
    ///
    /// ```
    /// let client = runalloy_embedded::Client::builder()
    ///     .api_key("my-key")
    ///     .max_requests_per_second(2.5)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.flow_stats().max_rate, Some(2.5));
    /// assert!(runalloy_embedded::Client::builder()
    ///     .api_key("my-key")
    ///     .max_requests_per_second(0.0)
    ///     .build()
    ///     .is_err());
    /// ```
    pub fn max_requests_per_second(mut self, rate: f64) -> Self {
        self.max_rate = Some(rate);
        self
    }

    /// Shares one API limit with every process that holds the same key
    /// against the same base URL, through the Redis or Valkey store at
    /// `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`, or `rediss://` for TLS).
    ///
    /// Admission is GCRA in one Lua script per request, on the store's
    /// clock; a 429 seen by any process lowers the fleet's pace, a
    /// `Retry-After` holds every process, and a fixed cap
    /// ([`ClientBuilder::max_requests_per_second`]) caps the whole fleet.
    /// The store holds no API key: its key is a SHA-256 of the origin and
    /// the key's fingerprint, and expires. When the store fails, the
    /// process keeps to its own flow control (within 250 ms per
    /// admission), warns once, and rejoins when the store answers.
    ///
    /// A URL that does not parse is refused by [`ClientBuilder::build`],
    /// without repeating it (it may hold a password); nothing is sent
    /// before the first call.
    ///
    /// ```
    /// let client = runalloy_embedded::Client::builder()
    ///     .api_key("my-key")
    ///     .limiter("redis://:s3cret@127.0.0.1:6379/0")
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("s3cret"));
    /// let err = runalloy_embedded::Client::builder()
    ///     .api_key("my-key")
    ///     .limiter("memcached://:s3cret@host")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(!err.to_string().contains("s3cret"));
    /// ```
    #[cfg(feature = "redis")]
    pub fn limiter(mut self, url: impl Into<String>) -> Self {
        self.limiter = Some(url.into());
        self
    }

    /// Calls `observer` at each step of each call (request, response,
    /// throttle, retry), with the operation, method, path template,
    /// attempt, status and wait; never the key. See [`crate::Observer`].
    pub fn observer(mut self, observer: impl crate::Observer) -> Self {
        self.observer = Some(send::ObserverRef(std::panic::AssertUnwindSafe(
            std::sync::Arc::new(observer),
        )));
        self
    }

    /// Sends every request through `proxy`, whatever the environment says.
    ///
    /// By default the environment's proxies (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `NO_PROXY`) are used for https base URLs, where a proxy sees only an
    /// encrypted tunnel. A plain-http loopback base URL (the stand-in, a
    /// test server) never goes through an environment proxy, which would
    /// otherwise read the key in clear. A proxy set here is used even then:
    /// only set one you trust with the key.
    ///
    /// The URL is `http://` or `https://`, and may carry a user and
    /// password (`http://user:secret@proxy:3128`); they are sent as
    /// `Proxy-Authorization`, and no `Debug` output or error shows them.
    ///
    /// ```
    /// let builder = runalloy_embedded::Client::builder()
    ///     .api_key("my-key")
    ///     .proxy("http://ops:s3cret@proxy.internal:3128");
    /// assert!(!format!("{builder:?}").contains("s3cret"));
    /// let client = builder.build().unwrap();
    /// # let _ = client;
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Explicit(url.into());
        self
    }

    /// Connects directly, ignoring the environment's proxies.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Reads `ALLOY_API_KEY` (required) and `ALLOY_BASE_URL` (optional).
    #[allow(clippy::wrong_self_convention)]
    pub fn from_env(mut self) -> Result<Self, Error> {
        match std::env::var(ENV_API_KEY) {
            Ok(key) => self.api_key = Some(key),
            Err(std::env::VarError::NotPresent) => {
                return Err(Error::InvalidInput(format!("{ENV_API_KEY} is not set")));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::InvalidInput(format!(
                    "{ENV_API_KEY} is not valid UTF-8"
                )));
            }
        }
        if let Ok(url) = std::env::var(ENV_BASE_URL)
            && !url.is_empty()
        {
            self.base_url = url;
        }
        #[cfg(feature = "redis")]
        if let Ok(url) = std::env::var(ENV_LIMITER_URL)
            && !url.is_empty()
        {
            self.limiter = Some(url);
        }
        Ok(self)
    }

    /// Checks everything and builds the client. Nothing is sent.
    pub fn build(mut self) -> Result<Client, Error> {
        let key = ApiKey::new(self.api_key.take().unwrap_or_default())?;
        let base = check_base_url(&self.base_url)?;
        self.check_limits()?;
        // The key and the version are not default headers: the transport
        // adds them to each request for the base URL's origin (see
        // `send/mod.rs`), so that the inner client carries neither.
        let authorization = key.bearer_header()?;
        let http = self.http_client(&base)?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let flow = self.flow_control(&base, &key)?;
        let transport = Transport {
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
            client_timeout: self.attempt_timeout,
            headers: std::sync::Arc::from([]),
            refusal: None,
            observer: self.observer,
            max_body_bytes: self.max_body_bytes,
            base_segments: base
                .path_segments()
                .map_or(0, |s| s.filter(|s| !s.is_empty()).count()),
            flow: std::sync::Arc::new(flow),
            authorization,
            origin: base.origin(),
        };
        Ok(Client {
            api: api::Client::new_with_client(&base_url, http, transport),
            base_url,
            key_fingerprint: key.fingerprint(),
            proven: Default::default(),
        })
    }

    /// Refuses a rate, a body limit, an attempt count or a timeout that
    /// cannot work.
    fn check_limits(&self) -> Result<(), Error> {
        if let Some(rate) = self.max_rate
            && !Self::MAX_RATES.contains(&rate)
        {
            return Err(Error::InvalidInput(format!(
                "max_requests_per_second must be between {} and {}",
                Self::MAX_RATES.start(),
                Self::MAX_RATES.end()
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(Error::InvalidInput(
                "max_response_bytes must be at least 1".into(),
            ));
        }
        crate::transport::limits::check(
            Some(self.retry.max_attempts),
            &[
                Some(self.attempt_timeout),
                Some(self.connect_timeout),
                Some(self.retry.deadline),
            ],
        )
        .map_err(|why| Error::InvalidInput(why.to_owned()))
    }

    /// The inner `reqwest::Client`: the user agent, the proxy choice, the
    /// timeouts, and redirects followed only within `base`'s origin.
    fn http_client(&self, base: &url::Url) -> Result<reqwest::Client, Error> {
        let user_agent = match &self.user_agent_suffix {
            Some(suffix) => format!("{USER_AGENT} {suffix}"),
            None => USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| {
            Error::InvalidInput("the user-agent suffix is not a valid header value".into())
        })?;
        let redirect_origin = base.origin();
        #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
        {
            // reqwest's `rustls-no-provider` uses the process's default
            // provider; make it ring unless the program chose one. An `Err`
            // means one is installed already, which is what we want.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let mut http = reqwest::Client::builder();
        #[cfg(any(feature = "native-tls", feature = "rustls", feature = "rustls-ring"))]
        {
            let tls = super::tls::shared().map_err(|why| {
                Error::InvalidInput(format!("cannot build the HTTP client: TLS: {why}"))
            })?;
            http = http.use_preconfigured_tls(tls);
        }
        http = match &self.proxy {
            ProxyChoice::Explicit(url) => http.proxy(explicit_proxy(url)?),
            ProxyChoice::Direct => http.no_proxy(),
            ProxyChoice::Environment if base.scheme() == "http" => http.no_proxy(),
            ProxyChoice::Environment => http,
        };
        http.user_agent(user_agent)
            .connect_timeout(self.connect_timeout)
            // Every attempt's timeout, unless the call's deadline leaves
            // less (the send path then sets it on the request). Set here
            // rather than on every request, which would give every request
            // a map of extensions to hold it.
            .timeout(self.attempt_timeout)
            // The key must never travel to another origin, so only
            // same-origin redirects are followed.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 || attempt.url().origin() != redirect_origin {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))
    }

    /// Flow control for the client: the fixed cap if set, and the fleet's
    /// limit through the store when a limiter URL is set.
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    fn flow_control(&self, base: &url::Url, key: &ApiKey) -> Result<FlowControl, Error> {
        let flow = FlowControl::new(self.max_rate);
        #[cfg(feature = "redis")]
        if let Some(url) = &self.limiter {
            let shared = send::flow::redis::SharedLimit::new(
                url,
                &base.origin().ascii_serialization(),
                &key.fingerprint(),
                self.max_rate,
            )
            .map_err(|why| Error::InvalidInput(format!("the limiter URL is refused: {why}")))?;
            return Ok(flow.with_shared(shared));
        }
        Ok(flow)
    }
}

/// Accepts https anywhere and http only on loopback, so that the key never
/// crosses a network in clear text.
fn check_base_url(text: &str) -> Result<Url, Error> {
    // The text itself is not repeated: it might carry credentials.
    let invalid = |why: &str| Error::InvalidInput(format!("the base URL is refused: {why}"));
    let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "plain http is allowed only to a loopback host; use https",
            ));
        }
        other => return Err(invalid(&format!("scheme `{other}` is not http or https"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url)
}
