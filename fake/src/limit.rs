//! The stand-in's rate limit: a token bucket that answers 429, as hosted
//! APIs do.

use crate::{Shared, message};
use axum::http::StatusCode;
use axum::response::Response;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// governor's token bucket, as the client's fixed cap uses it.
pub(crate) type Governor = governor::DefaultDirectRateLimiter;

/// A bucket refilled at `rate` per second (fractions allowed) holding
/// `burst`; `None` for a rate that is not finite and positive.
fn token_bucket(rate: f64, burst: NonZeroU32) -> Option<Governor> {
    let period = Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| !p.is_zero())?;
    let quota = governor::Quota::with_period(period)?.allow_burst(burst);
    Some(governor::RateLimiter::direct(quota))
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

/// The token bucket of `limit`, or why it cannot be one.
pub(crate) fn bucket_of(limit: RateLimit) -> std::io::Result<(Governor, RateLimit)> {
    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
    let bucket = token_bucket(limit.per_second, burst)
        .ok_or_else(|| std::io::Error::other("the rate limit must be a positive rate"))?;
    Ok((bucket, limit))
}

/// The 429 of the rate limit, if the request is over it.
pub(crate) fn throttle(shared: &Shared) -> Option<Response> {
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
