//! The waits of a call, as its deadline names them: a leaf that flow
//! control, the send path and the errors all use.
//!
//! Every wait of a call counts against its deadline: a turn from flow
//! control, a `Retry-After` the client holds, the fixed cap's pacing and the
//! backoff. A wait whose end is known (all but a queue behind other calls)
//! and falls past the deadline ends the call at once, with
//! [`Error::DeadlineExceeded`](crate::Error::DeadlineExceeded), instead of
//! sleeping until the deadline to fail then.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::fmt;
use std::time::{Duration, SystemTime};

/// Parses `Retry-After`, given in seconds or as an HTTP date (read against
/// `now`, the wall clock the caller read).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait that the call's deadline could not hold.
///
/// ```
/// use std::time::Duration;
/// use runalloy_embedded::Wait;
///
/// let wait = Wait::RetryAfter(Duration::from_secs(30));
/// assert_eq!(wait.to_string(), "the API asked to wait 30 s");
/// assert_eq!(wait.duration(), Some(Duration::from_secs(30)));
/// assert_eq!(Wait::Queued.duration(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// The API asked to wait this much longer (`Retry-After`, held for
    /// every call of the client).
    RetryAfter(Duration),
    /// The backoff before the next attempt.
    Backoff(Duration),
    /// The fixed cap ([`ClientBuilder::max_requests_per_second`](crate::ClientBuilder::max_requests_per_second))
    /// gives the next turn this much later.
    RateCap(Duration),
    /// The pace learned from the API's 429s gives the next turn this much
    /// later.
    Pace(Duration),
    /// Other calls of the client held every turn (the slow-start window or
    /// the paced queue) until the deadline: how long is not known in
    /// advance, so this one waited until the deadline came.
    Queued,
}

impl Wait {
    /// How long the wait would have lasted; `None` for [`Wait::Queued`].
    pub fn duration(&self) -> Option<Duration> {
        match *self {
            Wait::RetryAfter(d) | Wait::Backoff(d) | Wait::RateCap(d) | Wait::Pace(d) => Some(d),
            Wait::Queued => None,
        }
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Wait::RetryAfter(d) => write!(f, "the API asked to wait {}", Secs(d)),
            Wait::Backoff(d) => write!(f, "the backoff before the next attempt is {}", Secs(d)),
            Wait::RateCap(d) => write!(f, "the rate cap gives the next turn in {}", Secs(d)),
            Wait::Pace(d) => write!(
                f,
                "the pace learned from the API's 429s gives the next turn in {}",
                Secs(d)
            ),
            Wait::Queued => f.write_str("other calls of this client held every turn"),
        }
    }
}

/// A duration as seconds with one decimal (`1.2 s`), or whole seconds when
/// it is whole (`30 s`).
pub(crate) struct Secs(pub(crate) Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs_f64();
        if self.0.subsec_nanos() == 0 {
            write!(f, "{} s", self.0.as_secs())
        } else if secs < 0.1 {
            write!(f, "{} ms", self.0.as_millis())
        } else {
            write!(f, "{secs:.1} s")
        }
    }
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
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let read = |text: &str| retry_after(&headers(text), now);
        assert_eq!(read("2"), Some(Duration::from_secs(2)));
        assert_eq!(
            read("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(read("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [
            (Duration::from_secs(30), "30 s"),
            (Duration::from_millis(1_200), "1.2 s"),
            (Duration::from_millis(40), "40 ms"),
            // A tenth of a second is where milliseconds give way.
            (Duration::from_millis(99), "99 ms"),
            (Duration::from_millis(100), "0.1 s"),
            (Duration::ZERO, "0 s"),
        ];
        for (d, text) in cases {
            assert_eq!(Secs(d).to_string(), text);
        }
    }

    #[test]
    fn each_wait_says_how_long_and_why() {
        let d = Duration::from_millis(1_500);
        let cases = [
            (Wait::RetryAfter(d), "the API asked to wait 1.5 s"),
            (
                Wait::Backoff(d),
                "the backoff before the next attempt is 1.5 s",
            ),
            (
                Wait::RateCap(d),
                "the rate cap gives the next turn in 1.5 s",
            ),
            (
                Wait::Pace(d),
                "the pace learned from the API's 429s gives the next turn in 1.5 s",
            ),
        ];
        for (wait, text) in cases {
            assert_eq!((wait.duration(), wait.to_string()), (Some(d), text.into()));
        }
        assert_eq!(
            (Wait::Queued.duration(), Wait::Queued.to_string()),
            (None, "other calls of this client held every turn".into())
        );
    }
}
