//! The retry policy: which failures are retried, and how long to wait.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

/// How the client retries a failed request. One policy applies to every
/// operation.
///
/// Idempotent methods (GET, PUT, DELETE, HEAD, OPTIONS) are retried on
/// transport errors, timeouts, 408, 429, 500, 502, 503 and 504. POST is
/// retried only when the request never left the machine (a connect error).
/// Waits are full-jitter exponential: a random time between zero and
/// `min(max_delay, base_delay * 2^(retry - 1))`. A `Retry-After` header up to
/// `max_retry_after` is honoured instead; a longer one ends the retries.
///
/// A throttled response (429, or 503 with `Retry-After`) is different: the
/// server did not process it, so its retry does not count against
/// `max_attempts`. It waits, with every other call of the client, for the
/// client's flow control to give it a turn, and only `deadline` ends it.
///
/// ```
/// use std::time::Duration;
/// use runalloy_embedded::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(5)
///     .deadline(Duration::from_secs(30));
/// assert_eq!(policy.max_attempts, 5);
/// assert_eq!(policy.base_delay, Duration::from_millis(500));
/// ```
///
/// Its fields are public to read; it is built from [`RetryPolicy::default`]
/// or [`RetryPolicy::none`] and the setters, so that a setting added later
/// breaks nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included. `1` disables retries, except
    /// of throttled responses, which only the deadline ends.
    pub max_attempts: u32,
    /// The first backoff's upper bound.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client will wait for.
    pub max_retry_after: Duration,
    /// The whole call, every attempt and wait included, ends by then,
    /// counted from when its first request leaves.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The first backoff's upper bound.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// No backoff is longer than this.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client will wait for.
    #[must_use]
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// The whole call's deadline, counted from when its first request
    /// leaves. `Duration::MAX` means none.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// A policy that never retries, except a throttled response, which
    /// waits for its turn until the deadline.
    ///
    /// ```
    /// assert_eq!(runalloy_embedded::RetryPolicy::none().max_attempts, 1);
    /// ```
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The full-jitter wait before retry number `retry` (1 for the first).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let ceiling = exp.min(self.max_delay);
        // `mul_f64` panics when rounding lifts a huge ceiling past
        // `Duration::MAX`; the checked form keeps the ceiling instead.
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * fastrand::f64())
            .map_or(ceiling, |wait| wait.min(ceiling))
    }

    /// What to do after a response with `status` arrived.
    pub(crate) fn after_status(
        &self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        retry: u32,
    ) -> Decision {
        let retryable = matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
        if !retryable || !is_idempotent(method) {
            return Decision::Stop;
        }
        match retry_after(headers) {
            Some(wait) if wait > self.max_retry_after => Decision::Stop,
            Some(wait) => Decision::RetryAfter(wait),
            None => Decision::RetryAfter(self.backoff(retry)),
        }
    }

    /// What to do after the request failed without a response.
    pub(crate) fn after_error(
        &self,
        method: &Method,
        error: &reqwest::Error,
        retry: u32,
    ) -> Decision {
        if is_certificate_failure(error) {
            // The same certificate fails the same way every time.
            return Decision::Stop;
        }
        let never_sent = error.is_connect();
        let transient =
            error.is_timeout() || error.is_request() || error.is_body() || error.is_decode();
        if never_sent || (is_idempotent(method) && transient) {
            Decision::RetryAfter(self.backoff(retry))
        } else {
            Decision::Stop
        }
    }
}

/// Whether the connection failed because the server's certificate did not
/// verify (unknown issuer, expired, wrong name, ...), which no retry can
/// change.
pub(crate) fn is_certificate_failure(error: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        #[cfg(any(feature = "rustls", feature = "rustls-ring"))]
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        // native-tls has no error kinds; OpenSSL's message names the cause.
        #[cfg(feature = "native-tls")]
        if e.to_string().contains("certificate verify failed") {
            return true;
        }
        // An `io::Error` wrapping another error hides it from `source()`.
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner),
            None => e.source(),
        };
    }
    false
}

/// Whether to send the request again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Give the caller this outcome.
    Stop,
    /// Wait this long, then try again.
    RetryAfter(Duration),
}

/// Methods that may be sent twice with the effect of once.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::PUT | Method::DELETE | Method::HEAD | Method::OPTIONS
    )
}

/// Parses `Retry-After`, given in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    #[test]
    fn backoff_is_bounded_by_the_exponential_and_the_cap() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            let ceiling = p
                .base_delay
                .saturating_mul(2u32.saturating_pow(retry - 1))
                .min(p.max_delay);
            assert!(p.backoff(retry) <= ceiling, "retry {retry}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(&headers("2")), Some(Duration::from_secs(2)));
        let soon = SystemTime::now() + Duration::from_secs(30);
        let parsed = retry_after(&headers(&httpdate::fmt_http_date(soon))).unwrap();
        assert!(parsed <= Duration::from_secs(30) && parsed >= Duration::from_secs(28));
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn statuses_and_methods_decide_retries() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        for code in [408, 429, 500, 502, 503, 504] {
            let s = StatusCode::from_u16(code).unwrap();
            assert!(matches!(
                p.after_status(&Method::DELETE, s, &none, 1),
                Decision::RetryAfter(_)
            ));
            assert_eq!(p.after_status(&Method::POST, s, &none, 1), Decision::Stop);
        }
        for code in [200, 400, 401, 403, 404, 409, 501] {
            let s = StatusCode::from_u16(code).unwrap();
            assert_eq!(p.after_status(&Method::GET, s, &none, 1), Decision::Stop);
        }
        assert_eq!(
            p.after_status(
                &Method::GET,
                StatusCode::TOO_MANY_REQUESTS,
                &headers("61"),
                1
            ),
            Decision::Stop
        );
        assert_eq!(
            p.after_status(
                &Method::GET,
                StatusCode::TOO_MANY_REQUESTS,
                &headers("60"),
                1
            ),
            Decision::RetryAfter(Duration::from_secs(60))
        );
    }
}
