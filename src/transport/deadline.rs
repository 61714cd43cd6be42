//! A call's deadline, when it cuts a wait short: which wait it was, and
//! how much of the deadline was left.
//!
//! Every wait of a call counts against its deadline: a turn from flow
//! control, a `Retry-After` the client holds, the fixed cap's pacing and the
//! backoff. A wait whose end is known (all but a queue behind other calls)
//! and falls past the deadline ends the call at once, with
//! [`Error::DeadlineExceeded`](crate::Error::DeadlineExceeded), instead of
//! sleeping until the deadline to fail then.

use crate::transport::error::ApiFailure;
use std::fmt;
use std::time::Duration;

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
fn write_cut(
    f: &mut fmt::Formatter<'_>,
    operation: &'static str,
    wait: Wait,
    left: Duration,
) -> fmt::Result {
    write!(
        f,
        "{}: {wait}; the deadline leaves {}",
        crate::transport::error::Named(operation),
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

/// A duration as seconds with one decimal (`1.2 s`), or whole seconds when
/// it is whole (`30 s`).
struct Secs(Duration);

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

/// What the send path hands the error mapping when the deadline cut a
/// call: carried on the response it returns (in its extensions), since
/// progenitor's `exec` can return no error of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    pub(crate) wait: Wait,
    pub(crate) left: Duration,
    /// Whether the response carrying it is a real one (the last answer)
    /// rather than a stand-in made because no request had left.
    pub(crate) answered: bool,
}

impl Cut {
    /// What the cut says, for `operation`, to a caller of the generated
    /// client (which sees it as a hook's error text).
    pub(crate) fn describe(&self, operation: &'static str) -> String {
        struct Head<'a>(&'a Cut, &'static str);
        impl fmt::Display for Head<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_cut(f, self.1, self.0.wait, self.0.left)
            }
        }
        Head(self, operation).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [
            (Duration::from_secs(30), "30 s"),
            (Duration::from_millis(1_200), "1.2 s"),
            (Duration::from_millis(40), "40 ms"),
            (Duration::ZERO, "0 s"),
        ];
        for (d, text) in cases {
            assert_eq!(Secs(d).to_string(), text);
        }
    }
}
