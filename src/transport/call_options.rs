//! Per-call options: a view of a client that shares its connection pool and
//! flow control, with its own timeout, attempts, deadline or headers.

use crate::{Client, Error};
use reqwest::header::{HeaderName, HeaderValue};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a view made by [`Client::with_options`] changes for the calls made
/// through it. Anything not set is the client's own.
///
/// ```
/// use std::time::Duration;
/// use runalloy_embedded::{CallOptions, Client};
///
/// let client = Client::builder().api_key("k").build().unwrap();
/// let urgent = client.with_options(
///     CallOptions::new()
///         .timeout(Duration::from_secs(2))
///         .max_attempts(1)
///         .header("x-request-id", "req-42"),
/// );
/// # let _ = urgent;
/// // Headers the client owns are refused.
/// let err = CallOptions::new().header("Authorization", "Bearer other").check().unwrap_err();
/// assert!(err.to_string().contains("`authorization` is set by the client"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// How long one attempt may take.
    pub timeout: Option<Duration>,
    /// Requests sent in all, the first included (see
    /// [`RetryPolicy::max_attempts`](crate::RetryPolicy::max_attempts)).
    pub max_attempts: Option<u32>,
    /// The whole call, every attempt and wait included.
    pub deadline: Option<Duration>,
    /// Extra headers, as given.
    headers: Vec<(String, String)>,
}

/// Header names only: a value may be a token.
impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("CallOptions")
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("deadline", &self.deadline)
            .field("headers", &names)
            .finish()
    }
}

/// Headers the client sets itself, which no option may replace: the ones
/// the spec's normaliser leaves to the client, and `host`.
fn reserved(name: &str) -> bool {
    name == "host" || crate::transport::spec::WRAPPER_HEADERS.contains(&name)
}

impl CallOptions {
    /// No change: every setting is the client's.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long one attempt may take, body included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Requests sent in all, the first included; `1` sends one.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// The whole call's deadline, counted from when it is made.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// A header sent on every request of the view, such as a request id.
    /// `Authorization`, `x-api-version` and `Host` are the client's and are
    /// refused.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether every option is acceptable; the error names the first that
    /// is not. A view made with an unacceptable option fails each of its
    /// calls with that error, before sending.
    pub fn check(&self) -> Result<(), Error> {
        self.resolve().map(|_| ())
    }

    /// The headers, parsed, or the first refusal.
    fn resolve(&self) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
        let refuse = |why: String| Err(Error::InvalidInput(format!("call options: {why}")));
        if let Err(why) =
            crate::transport::limits::check(self.max_attempts, &[self.timeout, self.deadline])
        {
            return refuse(why.to_owned());
        }
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let Ok(parsed) = HeaderName::from_bytes(name.as_bytes()) else {
                return refuse(format!(
                    "`{}` is not a header name",
                    crate::escape_controls(name)
                ));
            };
            if reserved(parsed.as_str()) {
                return refuse(format!("`{parsed}` is set by the client"));
            }
            let Ok(mut value) = HeaderValue::from_str(value) else {
                // The value is not repeated: it may be a secret.
                return refuse(format!(
                    "the value of `{parsed}` is not a valid header value"
                ));
            };
            value.set_sensitive(true);
            headers.push((parsed, value));
        }
        Ok(headers)
    }
}

impl Client {
    /// A view of this client for calls that need other settings: it shares
    /// the connection pool and the flow control (one limit, one pool), and
    /// changes only what `options` sets, for the calls made through it. It
    /// applies to every method, [`Client::call`] and
    /// [`Client::call_operation`]. Cheap: no connection is opened.
    ///
    /// An option that is not acceptable ([`CallOptions::check`]) makes
    /// every call of the view fail with [`Error::InvalidInput`], sending
    /// nothing.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// use std::time::Duration;
    /// use runalloy_embedded::CallOptions;
    ///
    /// let user = client
    ///     .with_options(CallOptions::new().timeout(Duration::from_secs(2)).max_attempts(1))
    ///     .get_user("6323d7c9122ae69742a5d0a2")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Client {
        let mut transport = self.transport().clone();
        match options.resolve() {
            Ok(headers) => {
                if let Some(timeout) = options.timeout {
                    transport.attempt_timeout = timeout;
                }
                if let Some(attempts) = options.max_attempts {
                    transport.retry.max_attempts = attempts;
                }
                if let Some(deadline) = options.deadline {
                    transport.retry.deadline = deadline;
                }
                if !headers.is_empty() {
                    let mut all = transport.headers.to_vec();
                    all.extend(headers);
                    transport.headers = Arc::from(all);
                }
            }
            Err(Error::InvalidInput(why)) => transport.refusal = Some(Arc::from(why)),
            Err(other) => transport.refusal = Some(Arc::from(other.to_string())),
        }
        self.with_transport(transport)
    }
}
