//! The one error type every call returns, and how generated errors map to it.

use crate::transport::wait::{Secs, Wait};
use reqwest::StatusCode;
use std::fmt;
use std::time::Duration;

/// How many characters of a response body an error keeps.
const EXCERPT_CHARS: usize = 300;

/// The cause of an [`Error`], boxed so that no dependency's error type (such
/// as `reqwest::Error`) is part of this crate's public API. Ask the error
/// itself ([`Error::is_timeout`], [`Error::is_connect`]) or walk
/// [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a call.
///
/// Match on the variants, or ask the questions (`status()`, `message()`,
/// `retry_after()`, `attempts()`, `is_timeout()`...) that keep working when
/// new variants arrive. No variant holds the API key.
///
/// Its `Display` and `Debug` name the operation and its path template
/// (`get-a-user GET /users/{userId}`), the status and the API's `message`:
/// never the concrete path, a query value or a body, which may hold
/// personal data. The caller knows which id it passed; the body's start is
/// kept in [`ApiFailure::body_excerpt`] for a program that chooses to read
/// it.
///
/// ```
/// use runalloy_embedded::{Client, Error};
///
/// let err = Client::builder().api_key("").build().unwrap_err();
/// assert!(matches!(err, Error::InvalidInput(_)));
/// assert_eq!(err.to_string(), "invalid input: the API key is empty; nothing was sent");
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input was refused before anything was sent.
    #[error("invalid input: {0}; nothing was sent")]
    InvalidInput(String),
    /// HTTP 401: the API key is wrong or missing.
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ApiFailure>),
    /// HTTP 404: no such user (or other resource).
    #[error("not found: {0}")]
    NotFound(Box<ApiFailure>),
    /// HTTP 429, after the retries the policy allows.
    #[error("rate limited: {0}")]
    RateLimited(Box<ApiFailure>),
    /// HTTP 5xx, after the retries the policy allows.
    #[error("server error: {0}")]
    Server(Box<ApiFailure>),
    /// Any other status: 400, 403, 409, a 2xx the spec does not document
    /// (such as 204), or a redirect to another origin, which is not followed.
    #[error("request failed: {0}")]
    Api(Box<ApiFailure>),
    /// A 2xx whose body says the operation did not happen, such as
    /// `{"success": false}` from delete.
    #[error("the API did not do it: {0}")]
    Rejected(Box<ApiFailure>),
    /// A 2xx that does not confirm the operation happened: the methods
    /// whose outcome an erase or offboarding counts want the API's own
    /// confirmation (`{"success": true}` from the user delete,
    /// `{"message": "..."}` from the logs delete, the `data` list from the
    /// credential list), and this answer, such as `200 {}`, `200 null` or
    /// `204`, gave none. What
    /// happened on the server is unknown; treat it as not done.
    #[error(
        "{}: HTTP {}: the API did not confirm it ({}) after {} attempt(s)",
        Named(.0.operation), .0.status, BodySize(&.0.body_excerpt), .0.attempts
    )]
    Unconfirmed(Box<ApiFailure>),
    /// The call's deadline ended it: the next wait (a `Retry-After`, the
    /// backoff, a turn from flow control) would have ended past it, so the
    /// call stopped at once rather than sleep into the deadline.
    #[error("{0}")]
    DeadlineExceeded(Box<DeadlineExceeded>),
    /// No response in time: the attempt's timeout, or the overall deadline
    /// during an attempt.
    #[error("{}: timed out after {attempts} attempt(s): {}", Named(.operation), chain(.source))]
    #[non_exhaustive]
    Timeout {
        /// The spec's operation id.
        operation: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The underlying error.
        source: BoxError,
    },
    /// The connection failed: refused, reset, closed early, DNS, TLS.
    #[error("{}: transport failure after {attempts} attempt(s): {}", Named(.operation), chain(.source))]
    #[non_exhaustive]
    Transport {
        /// The spec's operation id.
        operation: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The underlying error.
        source: BoxError,
    },
    /// A 2xx arrived whose body is not what the spec describes.
    #[error(
        "{}: HTTP {status}: the response body ({}) could not be decoded: {source} after {attempts} attempt(s)",
        Named(.operation), BodySize(.excerpt)
    )]
    #[non_exhaustive]
    Undecodable {
        /// The spec's operation id.
        operation: &'static str,
        /// The response status.
        status: StatusCode,
        /// The first characters of the body (never shown by `Display` or
        /// `Debug`).
        excerpt: String,
        /// Why decoding failed: where in the body, and what kind of fault,
        /// never the values it held.
        source: BoxError,
        /// Requests sent.
        attempts: u32,
    },
    /// The base URL answered, but not as Alloy's API does, so nothing that
    /// depends on its answers (such as reading a 404 as "already gone") was
    /// done.
    #[error("not Alloy's API: {0}")]
    NotTheApi(String),
    /// After its delete was confirmed, the user could still be read: `GET
    /// /users/{userId}` answered 200 (see [`Client::verify_user_gone`](crate::Client::verify_user_gone)).
    #[error(
        "the user is still readable after its delete was confirmed (get-a-user GET /users/{{userId}} answered 200)"
    )]
    StillReadable,
    /// A page of a paged listing ([`Client::paginate`](crate::Client::paginate))
    /// failed; the items of the pages before it were given.
    #[error("page {page}: {source}")]
    #[non_exhaustive]
    Page {
        /// The page that failed, from 1.
        page: u32,
        /// Why it failed.
        source: Box<Error>,
    },
    /// The response body was larger than the client accepts.
    #[error(
        "{}: HTTP {status}: the response body exceeded {limit} bytes and was not read after {attempts} attempt(s)",
        Named(.operation)
    )]
    #[non_exhaustive]
    ResponseTooLarge {
        /// The spec's operation id.
        operation: &'static str,
        /// The response status.
        status: StatusCode,
        /// The configured limit.
        limit: usize,
        /// Requests sent.
        attempts: u32,
    },
}

/// What `Debug` shows: the variant and what `Display` says, which holds no
/// path, query value or body.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Error::InvalidInput(_) => "InvalidInput",
            Error::Unauthorized(_) => "Unauthorized",
            Error::NotFound(_) => "NotFound",
            Error::RateLimited(_) => "RateLimited",
            Error::Server(_) => "Server",
            Error::Api(_) => "Api",
            Error::Rejected(_) => "Rejected",
            Error::Unconfirmed(_) => "Unconfirmed",
            Error::DeadlineExceeded(_) => "DeadlineExceeded",
            Error::Timeout { .. } => "Timeout",
            Error::Transport { .. } => "Transport",
            Error::Undecodable { .. } => "Undecodable",
            Error::NotTheApi(_) => "NotTheApi",
            Error::StillReadable => "StillReadable",
            Error::Page { .. } => "Page",
            Error::ResponseTooLarge { .. } => "ResponseTooLarge",
        };
        let mut d = f.debug_struct("Error");
        d.field("kind", &kind)
            .field("status", &self.status().map(|s| s.as_u16()))
            .field("attempts", &self.attempts());
        if let Some(id) = self.request_id() {
            d.field("request_id", &id);
        }
        d.field("message", &self.to_string()).finish()
    }
}

/// An operation id, shown with its method and path template
/// (`get-a-user GET /users/{userId}`) when the spec has it.
pub(crate) struct Named(pub(crate) &'static str);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match crate::OPERATIONS.iter().find(|op| op.id == self.0) {
            Some(op) => write!(f, "{} {} {}", op.id, op.method, op.path),
            None => f.write_str(self.0),
        }
    }
}

/// A body's size, in place of the body.
struct BodySize<'a>(&'a str);

impl fmt::Display for BodySize<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.chars().count() {
            0 => f.write_str("empty body"),
            n if n >= EXCERPT_CHARS => write!(f, "body of {n}+ characters, not shown"),
            n => write!(f, "body of {n} characters, not shown"),
        }
    }
}

/// What the API answered when it refused a request.
///
/// Its `Display` and `Debug` show the body's size, never the body.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiFailure {
    /// The spec's operation id, such as `delete-a-user`.
    pub operation: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The API's `message` field, if the body had one.
    pub message: Option<String>,
    /// The `Retry-After` the server sent, if any.
    pub retry_after: Option<Duration>,
    /// The first characters of the body.
    pub body_excerpt: String,
    /// Attempts made before giving up.
    pub attempts: u32,
    /// Whether the whole body (not only the excerpt) is the API's own "not
    /// found" ([`api_said_not_found`]), judged when the failure was built.
    said_not_found: bool,
    /// The response headers that help a support ticket ([`kept_headers`]).
    headers: reqwest::header::HeaderMap,
}

/// Response headers that name a request to the API's or a gateway's
/// support: kept on an error whatever their case.
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-cf-id",
    "x-amz-apigw-id",
    "cf-ray",
    "x-correlation-id",
    "x-trace-id",
    "traceparent",
    "x-cloud-trace-context",
    "fly-request-id",
    "x-vercel-id",
];

/// The headers an error keeps of a response: request ids
/// ([`REQUEST_ID_HEADERS`]), rate-limit headers (`RateLimit-*`,
/// `X-RateLimit-*`) and `Retry-After`, each value visible ASCII of at most
/// 256 bytes. An allowlist, so that nothing else is kept: no `Set-Cookie`,
/// no header that may carry a credential.
pub(crate) fn kept_headers(headers: &reqwest::header::HeaderMap) -> reqwest::header::HeaderMap {
    headers
        .iter()
        .filter(|(name, value)| {
            let name = name.as_str();
            let wanted = REQUEST_ID_HEADERS.contains(&name)
                || name.starts_with("ratelimit")
                || name.starts_with("x-ratelimit")
                || name == "retry-after";
            let bytes = value.as_bytes();
            wanted && bytes.len() <= 256 && bytes.iter().all(|b| (0x20..0x7f).contains(b))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

impl fmt::Debug for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiFailure")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .field(
                "body_excerpt",
                &format_args!("<{}>", BodySize(&self.body_excerpt)),
            )
            .field("attempts", &self.attempts)
            .field("headers", &self.headers)
            .finish()
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", Named(self.operation), self.status)?;
        match &self.message {
            Some(message) => write!(f, ": {}", escape_controls(message))?,
            None if !self.body_excerpt.is_empty() => {
                write!(f, " ({})", BodySize(&self.body_excerpt))?
            }
            None => {}
        }
        if let Some(wait) = self.retry_after {
            write!(f, " (Retry-After {}s)", wait.as_secs())?;
        }
        write!(f, " after {} attempt(s)", self.attempts)
    }
}

impl ApiFailure {
    /// What a response says, read from its status, headers and body.
    pub(crate) fn boxed(
        operation: &'static str,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        attempts: u32,
    ) -> Box<Self> {
        Box::new(ApiFailure {
            operation,
            status,
            message: api_message(body),
            retry_after: crate::transport::wait::retry_after(headers, std::time::SystemTime::now()),
            body_excerpt: excerpt(body),
            attempts,
            said_not_found: status == StatusCode::NOT_FOUND && api_said_not_found(body),
            headers: kept_headers(headers),
        })
    }

    /// The response headers kept for a support ticket: any request id the
    /// API or a gateway sent (`x-request-id`, `x-amzn-requestid`, `cf-ray`,
    /// ...), rate-limit headers (`RateLimit-*`, `X-RateLimit-*`) and
    /// `Retry-After`. Never `Set-Cookie` or any header that may carry a
    /// credential.
    ///
    /// ```
    /// # fn demo(error: runalloy_embedded::Error) {
    /// if let Some(failure) = error.api_failure() {
    ///     for (name, value) in failure.headers() {
    ///         eprintln!("{name}: {value:?}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The first request id among the kept headers, in the order of
    /// `REQUEST_ID_HEADERS` (`x-request-id` first).
    pub fn request_id(&self) -> Option<&str> {
        REQUEST_ID_HEADERS
            .iter()
            .find_map(|name| self.headers.get(*name)?.to_str().ok())
    }
}

impl Error {
    /// The request id the API or a gateway sent with the refusal, if any
    /// ([`ApiFailure::request_id`]): the one to quote to support.
    ///
    /// ```
    /// # fn demo(error: runalloy_embedded::Error) {
    /// match error.request_id() {
    ///     Some(id) => eprintln!("{error} (request id {id})"),
    ///     None => eprintln!("{error}"),
    /// }
    /// # }
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.api_failure()?.request_id()
    }

    /// The refusal the API sent, for the variants that hold one.
    pub fn api_failure(&self) -> Option<&ApiFailure> {
        match self {
            Error::Unauthorized(f)
            | Error::NotFound(f)
            | Error::RateLimited(f)
            | Error::Server(f)
            | Error::Api(f)
            | Error::Rejected(f)
            | Error::Unconfirmed(f) => Some(f),
            Error::Page { source, .. } => source.api_failure(),
            _ => None,
        }
    }

    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Undecodable { status, .. } | Error::ResponseTooLarge { status, .. } => {
                Some(*status)
            }
            Error::DeadlineExceeded(cut) => cut.last_response.as_ref().map(|f| f.status),
            Error::Page { source, .. } => source.status(),
            other => other.api_failure().map(|f| f.status),
        }
    }

    /// The API's `message`, when its body had one.
    pub fn message(&self) -> Option<&str> {
        self.api_failure().and_then(|f| f.message.as_deref())
    }

    /// The server's `Retry-After`, when it sent one (also when the
    /// deadline could not hold it).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::DeadlineExceeded(cut) => cut.last_response.as_ref().and_then(|f| f.retry_after),
            other => other.api_failure().and_then(|f| f.retry_after),
        }
    }

    /// Requests sent; 0 when nothing was sent.
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Timeout { attempts, .. }
            | Error::Transport { attempts, .. }
            | Error::Undecodable { attempts, .. }
            | Error::ResponseTooLarge { attempts, .. } => *attempts,
            Error::DeadlineExceeded(cut) => cut.attempts,
            Error::Page { source, .. } => source.attempts(),
            other => other.api_failure().map_or(0, |f| f.attempts),
        }
    }

    /// Whether the call ran out of time: an attempt's timeout, or the
    /// deadline ([`Error::DeadlineExceeded`]).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::DeadlineExceeded(_))
    }

    /// What the deadline cut short, when it ended the call.
    pub fn deadline_exceeded(&self) -> Option<&DeadlineExceeded> {
        match self {
            Error::DeadlineExceeded(cut) => Some(cut),
            _ => None,
        }
    }

    /// Whether no connection could be made (refused, DNS, TLS handshake),
    /// so the server never saw the request.
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Transport { source, .. } | Error::Timeout { source, .. } => source
                .downcast_ref::<reqwest::Error>()
                .is_some_and(reqwest::Error::is_connect),
            _ => false,
        }
    }

    /// Whether the answer was a 404, from anyone: the API, or a proxy or
    /// router in front of it that serves no such path.
    #[deprecated(
        since = "0.6.0",
        note = "true for any 404, a gateway's included: ask `is_api_not_found()` \
                (the API said so) or `is_any_404()` (anyone did)"
    )]
    pub fn is_not_found(&self) -> bool {
        self.is_any_404()
    }

    /// Whether the answer was a 404, from anyone: the API, or a proxy or
    /// router in front of it that serves no such path. It says nothing
    /// about whether the resource exists; [`Error::is_api_not_found`]
    /// does.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::Client;
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let err = client.get_user("nobody").await.unwrap_err();
    /// assert!(err.is_any_404() && err.is_api_not_found());
    /// # Ok(()) }
    /// ```
    pub fn is_any_404(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// Whether this is a 404 whose body is the API's own "not found":
    /// a JSON object that holds only a `message` (and at most a `success`
    /// flag), where the message names what was not found in a word or
    /// two, as Alloy answers `{"message": "User not found"}`. The whole
    /// body is judged, however long, when the error is built.
    ///
    /// Not the API's: a router's or gateway's 404 (an HTML page, an empty
    /// body, an API gateway's `{"message": "Not Found"}`, Fastify's
    /// `{"message": "Route DELETE:/users/u-1 not found", "error": "Not
    /// Found", "statusCode": 404}`, Kong's `no Route matched`): it says
    /// nothing about the user.
    ///
    /// A body proves little on its own, since a gateway could send the
    /// same words. The workflows that count a 404 as "already gone"
    /// (`erase_user`, `offboard_user`, `verify_user_gone`, `export_user`)
    /// therefore also prove, once per client, that the base URL is the API
    /// ([`Client::confirm_gone`](crate::Client::confirm_gone)); use that
    /// rather than this on its own.
    ///
    /// The vendor documents no 404 body for the Embedded API; this rule is
    /// the narrowest one that matches what it and the stand-in send.
    pub fn is_api_not_found(&self) -> bool {
        matches!(self, Error::NotFound(failure) if failure.said_not_found)
    }

    /// Whether the API throttled the call: a 429 after the retries the
    /// policy allows, or a deadline that could not hold the `Retry-After`
    /// of a 429 or 503 it sent.
    ///
    /// ```
    /// use runalloy_embedded::Error;
    ///
    /// let err = Error::InvalidInput("the API key is empty".into());
    /// assert!(!err.is_rate_limited());
    /// ```
    pub fn is_rate_limited(&self) -> bool {
        match self {
            Error::RateLimited(_) => true,
            Error::DeadlineExceeded(cut) => {
                matches!(cut.wait, crate::Wait::RetryAfter(_))
                    || cut
                        .last_response
                        .as_ref()
                        .is_some_and(|last| last.status == StatusCode::TOO_MANY_REQUESTS)
            }
            Error::Page { source, .. } => source.is_rate_limited(),
            _ => false,
        }
    }

    /// Whether the same call might succeed if made again later: a 429, a
    /// 5xx, a timeout or deadline, or a connection that failed. Not an
    /// input refused, a 4xx other than 429, a 2xx that confirmed nothing
    /// (the operation may have happened: read before repeating it), a
    /// body that does not decode, or a base URL that is not the API.
    ///
    /// ```
    /// use runalloy_embedded::Error;
    ///
    /// assert!(!Error::InvalidInput("the API key is empty".into()).is_retryable());
    /// assert!(!Error::StillReadable.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited(_)
            | Error::Server(_)
            | Error::DeadlineExceeded(_)
            | Error::Timeout { .. }
            | Error::Transport { .. } => true,
            Error::Page { source, .. } => source.is_retryable(),
            _ => false,
        }
    }

    /// Whether the call was refused for its credentials (401 or 403): every
    /// other call with this key would be refused the same way.
    pub fn is_auth_failure(&self) -> bool {
        self.status()
            .is_some_and(|s| s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN)
    }

    /// Whether a 2xx arrived that did not confirm the operation
    /// ([`Error::Unconfirmed`]).
    pub fn is_unconfirmed(&self) -> bool {
        matches!(self, Error::Unconfirmed(_))
    }

    /// Whether a user whose delete was confirmed could still be read
    /// ([`Error::StillReadable`]).
    pub fn is_still_readable(&self) -> bool {
        matches!(self, Error::StillReadable)
    }

    /// Whether the input was refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidInput(_))
    }

    /// Builds the error for a response the client does not accept, by its
    /// status. Any 2xx here is one the spec does not document, reported as
    /// [`Error::Api`]; [`Error::Rejected`] is only built by the methods that
    /// read a refusal in a 2xx body.
    pub(crate) fn from_response(
        operation: &'static str,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        attempts: u32,
    ) -> Self {
        let failure = ApiFailure::boxed(operation, status, headers, body, attempts);
        match status.as_u16() {
            401 => Error::Unauthorized(failure),
            404 => Error::NotFound(failure),
            429 => Error::RateLimited(failure),
            500..=599 => Error::Server(failure),
            _ => Error::Api(failure),
        }
    }
}

/// A call that its deadline ended before its next wait was over: what the
/// wait was, what was left of the deadline, and the last response, if one
/// had arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadlineExceeded {
    /// The spec's operation id.
    pub operation: &'static str,
    /// The wait that did not fit.
    pub wait: Wait,
    /// What was left of the deadline when the call ended.
    pub left: Duration,
    /// Requests sent; 0 when the deadline came before the first.
    pub attempts: u32,
    /// The last response, when one arrived (such as the `429` whose
    /// `Retry-After` did not fit).
    pub last_response: Option<ApiFailure>,
}

/// `operation: the wait; the deadline leaves N s`, the head of every
/// message about a cut.
pub(crate) fn write_cut(
    f: &mut fmt::Formatter<'_>,
    operation: &'static str,
    wait: Wait,
    left: Duration,
) -> fmt::Result {
    write!(
        f,
        "{}: {wait}; the deadline leaves {}",
        Named(operation),
        Secs(left)
    )
}

impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_cut(f, self.operation, self.wait, self.left)?;
        if let Some(last) = &self.last_response {
            write!(f, "; the last answer was HTTP {}", last.status)?;
            if let Some(message) = &last.message {
                write!(f, ": {}", crate::escape_controls(message))?;
            }
        }
        write!(f, " after {} attempt(s)", self.attempts)
    }
}

/// Why a body did not decode, without the values it held: serde's own
/// message quotes them (`invalid type: string "jane@example.com"`).
#[derive(Debug, thiserror::Error)]
#[error("{kind} at line {line} column {column}")]
pub(crate) struct DecodeFault {
    kind: &'static str,
    line: usize,
    column: usize,
}

impl DecodeFault {
    pub(crate) fn of(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match error.classify() {
            Category::Io => "an I/O error",
            Category::Syntax => "not JSON",
            Category::Data => "JSON that does not fit the spec's schema",
            Category::Eof => "JSON cut short",
        };
        Self {
            kind,
            line: error.line(),
            column: error.column(),
        }
    }
}

/// Whether `body` is the API's own "not found": one JSON object whose keys
/// are only `message` and, at most, `success`, where `message` is one to
/// three words naming a thing, then "not found" (`User not found`,
/// `Credential not found.`). Not a bare "Not Found", nor a message whose
/// subject is a route, a page, a path, an endpoint, a URL or a resource,
/// nor one whose words hold anything but letters: routers say those.
pub(crate) fn api_said_not_found(body: &[u8]) -> bool {
    const ROUTER_WORDS: [&str; 6] = ["route", "page", "path", "endpoint", "url", "resource"];
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) else {
        return false;
    };
    if fields.keys().any(|k| k != "message" && k != "success") {
        return false;
    }
    let Some(message) = fields.get("message").and_then(|m| m.as_str()) else {
        return false;
    };
    let lower = message.trim().trim_end_matches('.').to_ascii_lowercase();
    let Some(subject) = lower.strip_suffix(" not found") else {
        return false;
    };
    let words: Vec<&str> = subject.split(' ').collect();
    (1..=3).contains(&words.len())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()))
        && !words.iter().any(|w| ROUTER_WORDS.contains(w))
}

/// The `message` (or `error`) string of a JSON error body.
fn api_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["message", "error"]
        .iter()
        .find_map(|k| value.get(k).and_then(|m| m.as_str()))
        .map(str::to_owned)
}

/// The first characters of a body, as text, with control characters blanked.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An error and its causes, joined with `: `, without repeats.
fn chain(error: &BoxError) -> String {
    chain_of(&**error)
}

/// [`chain`], for any error.
pub(crate) fn chain_of(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// `text` with control characters written as escapes (`\u{1b}`, `\n`), so
/// that an API message or an id cannot move a terminal's cursor or fake a
/// line of output.
///
/// ```
/// assert_eq!(runalloy_embedded::escape_controls("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
/// assert_eq!(runalloy_embedded::escape_controls("plain"), "plain");
/// ```
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
