//! [`ClientBuilder`]: its settings, and `build`, which checks them and
//! puts the client together from the other rooms of `client/`.

use super::base_url::check_base_url;
use super::proxy::ProxyChoice;
use super::{Client, DEFAULT_BASE_URL};
use crate::transport::api_key::ApiKey;
use crate::transport::send::{self, Transport};
use crate::{Error, RetryPolicy, api};
use std::fmt;
use std::time::Duration;

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
    pub(super) api_key: Option<String>,
    pub(super) base_url: String,
    pub(super) attempt_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) retry: RetryPolicy,
    pub(super) user_agent_suffix: Option<String>,
    pub(super) max_body_bytes: usize,
    pub(super) proxy: ProxyChoice,
    pub(super) max_rate: Option<f64>,
    pub(super) observer: Option<send::ObserverRef>,
    /// The caller's own HTTP client, if given.
    pub(super) own_http: Option<OwnHttp>,
    /// The shared limiter's store, as given (it may hold a password).
    #[cfg(feature = "redis")]
    pub(super) limiter: Option<String>,
}

/// The caller's own HTTP client, asserted unwind safe, so that the builder
/// stays `UnwindSafe` as it was: it only holds the client to hand it over,
/// and a panic leaves no state of ours half-changed.
pub(super) struct OwnHttp(std::panic::AssertUnwindSafe<reqwest::Client>);

impl Clone for OwnHttp {
    fn clone(&self) -> Self {
        OwnHttp(std::panic::AssertUnwindSafe(self.0.0.clone()))
    }
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
            .field("own_http_client", &self.own_http.is_some())
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
            own_http: None,
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
    /// The store keeps the fleet's flow-control state, and each process
    /// decides on it with the same code that decides alone, updating it
    /// with a compare-and-set on the store's clock: one slow start for the
    /// fleet, one pace; a 429 seen by any process lowers the fleet's pace,
    /// a `Retry-After` holds every process, and a fixed cap
    /// ([`ClientBuilder::max_requests_per_second`]) caps the whole fleet.
    /// The store holds no API key: its key is a SHA-256 of the origin and
    /// the key's fingerprint, and expires a day after its last use (the
    /// limit learned is remembered that long). When the store fails, the
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

    /// Sends every request through `http`, your own `reqwest::Client`: for
    /// your own connector, DNS, proxy logic, TLS roots or middleware.
    ///
    /// The crate's guarantees hold over it: the key and the API version
    /// are added to each request for the base URL's origin only, never as
    /// default headers; every attempt gets the attempt timeout (and no more
    /// than the deadline leaves); retries, the deadline and flow control
    /// apply; and reqwest drops the `Authorization` header on any redirect
    /// to another host or port, whatever your client's redirect policy.
    ///
    /// What the builder would otherwise set on the client no longer
    /// applies, and is yours to set on `http`: TLS roots and the crate's
    /// TLS setup, the connect timeout, redirects followed only within the
    /// base URL's origin (your client's policy applies instead), the
    /// user agent and the proxy. [`ClientBuilder::build`] refuses
    /// [`ClientBuilder::proxy`], [`ClientBuilder::no_proxy`] and
    /// [`ClientBuilder::user_agent_suffix`] together with it, rather than
    /// ignore them.
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .pool_max_idle_per_host(4)
    ///     .build()
    ///     .unwrap();
    /// let client = runalloy_embedded::Client::builder()
    ///     .api_key("k")
    ///     .http_client(http)
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.own_http = Some(OwnHttp(std::panic::AssertUnwindSafe(http)));
        self
    }

    /// Refuses the settings that only the crate's own HTTP client takes.
    fn check_own_http_settings(&self) -> Result<(), Error> {
        let refused = |what: &str| {
            Err(Error::InvalidInput(format!(
                "{what} cannot be applied to your own HTTP client (http_client): set it on the reqwest::Client"
            )))
        };
        match self.proxy {
            ProxyChoice::Explicit(_) => return refused("a proxy"),
            ProxyChoice::Direct => return refused("no_proxy"),
            ProxyChoice::Environment => {}
        }
        if self.user_agent_suffix.is_some() {
            return refused("a user-agent suffix");
        }
        Ok(())
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
        let (http, client_timeout) = match self.own_http.take() {
            Some(OwnHttp(std::panic::AssertUnwindSafe(own))) => {
                self.check_own_http_settings()?;
                // Its own timeout is not known: every request sets the
                // attempt's.
                (own, Duration::ZERO)
            }
            None => (self.make_http_client(&base)?, self.attempt_timeout),
        };
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let flow = self.flow_control(&base, &key)?;
        let transport = Transport {
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
            client_timeout,
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
}
