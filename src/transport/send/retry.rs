//! The retry policy: which failures are retried, and how long to wait.
//! What each outcome means under it is decided in `classify.rs`, what the
//! attempt loop then does in `attempts.rs`.

use std::time::Duration;

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
/// `max_attempts` counts every request sent, throttled ones (429, or 503
/// with `Retry-After`) included, so [`RetryPolicy::none`] sends exactly
/// one. A throttled response also holds back every other call of the
/// client until its `Retry-After` has passed. A bulk job that should keep
/// waiting out throttles for as long as its deadline allows sets
/// [`RetryPolicy::retry_throttled_until_deadline`].
///
/// The `deadline` bounds the whole call, from the moment it is made: every
/// attempt and every wait (a turn from flow control, a held `Retry-After`,
/// the fixed cap's pacing, the backoff). A wait that would end past it is
/// not begun: the call fails at once with
/// [`Error::DeadlineExceeded`](crate::Error::DeadlineExceeded), which says
/// which wait did not fit.
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
/// assert!(!policy.retry_throttled_until_deadline);
/// ```
///
/// Its fields are public to read; it is built from [`RetryPolicy::default`]
/// or [`RetryPolicy::none`] and the setters, so that a setting added later
/// breaks nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Requests sent in all, the first and throttled ones included. `1`
    /// sends one request and never retries.
    pub max_attempts: u32,
    /// The first backoff's upper bound.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client will wait for.
    pub max_retry_after: Duration,
    /// The whole call, every attempt and wait included, ends by then,
    /// counted from when the call is made.
    pub deadline: Duration,
    /// Whether throttled responses (429, or 503 with `Retry-After`) are
    /// retried beyond `max_attempts`, until the deadline: the server did
    /// not process them, and a bulk job would rather wait its turn than
    /// fail. Off by default.
    pub retry_throttled_until_deadline: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            deadline: Duration::from_secs(120),
            retry_throttled_until_deadline: false,
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

    /// The whole call's deadline, counted from when the call is made.
    /// `Duration::MAX` means none.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Retries throttled responses (429, or 503 with `Retry-After`) beyond
    /// `max_attempts`, until the deadline, each when flow control gives it
    /// a turn. For bulk jobs under a rate limit; the command line's bulk
    /// runs set it.
    ///
    /// ```
    /// let bulk = runalloy_embedded::RetryPolicy::default().retry_throttled_until_deadline(true);
    /// assert!(bulk.retry_throttled_until_deadline);
    /// ```
    #[must_use]
    pub fn retry_throttled_until_deadline(mut self, retry: bool) -> Self {
        self.retry_throttled_until_deadline = retry;
        self
    }

    /// A policy that sends one request and never retries: a 429 comes back
    /// as [`Error::RateLimited`](crate::Error::RateLimited), with its
    /// `Retry-After` readable.
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

    /// The full-jitter wait before retry number `retry` (1 for the first):
    /// `draw`, in [0, 1), times the window.
    pub(crate) fn backoff(&self, retry: u32, draw: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let ceiling = exp.min(self.max_delay);
        // `mul_f64` panics when rounding lifts a huge ceiling past
        // `Duration::MAX`; the checked form keeps the ceiling instead.
        Duration::try_from_secs_f64(ceiling.as_secs_f64() * draw)
            .map_or(ceiling, |wait| wait.min(ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Full jitter: the wait is the ceiling times the draw from [0, 1), so
    /// retries of many calls spread over the whole window instead of
    /// landing together at its end.
    #[test]
    fn backoff_is_the_draw_times_the_window() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(60));
        // (retry, draw, wait)
        let table = [
            (1, 0.0, Duration::ZERO),
            (1, 0.5, Duration::from_millis(500)),
            (3, 0.25, Duration::from_secs(1)),
            (3, 0.999, Duration::from_secs_f64(3.996)),
            (7, 1.0, Duration::from_secs(60)),
            (40, 0.5, Duration::from_secs(30)),
        ];
        for (retry, draw, wait) in table {
            let got = p.backoff(retry, draw);
            assert!(
                got.abs_diff(wait) < Duration::from_micros(1),
                "{retry} {draw}: {got:?}"
            );
        }
        // A draw that rounding lifts past the window keeps the window.
        let huge = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX);
        assert_eq!(huge.backoff(1, 1.0), Duration::MAX);
    }

    #[test]
    fn backoff_is_bounded_by_the_exponential_and_the_cap() {
        let p = RetryPolicy::default();
        for retry in 1..40 {
            let ceiling = p
                .base_delay
                .saturating_mul(2u32.saturating_pow(retry - 1))
                .min(p.max_delay);
            assert!(p.backoff(retry, 0.999) <= ceiling, "retry {retry}");
        }
    }
}
