//! What one attempt's outcome means: give it to the caller, retry it after
//! a wait, or (the server throttled) wait for a turn without using up an
//! attempt. Decided here, in one place, from the outcome and the
//! [`RetryPolicy`], for every operation.

use super::retry::RetryPolicy;
use crate::transport::wait::retry_after;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use std::time::{Duration, SystemTime};

/// What one attempt brought back, as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A response arrived (its body already read).
    Response(Answer),
    /// No response.
    Failed(Failure),
}

/// The facts of one response that the decisions read, each read once: the
/// attempt loop, flow control and the verdict all take them from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: StatusCode,
    /// Its `Retry-After`, as sent (uncapped).
    pub retry_after: Option<Duration>,
    /// `Some` when it throttled (a 429, or a 503 with `Retry-After`): the
    /// hold it asks of the whole client, its `Retry-After` capped by the
    /// policy, or `None` when it sent none.
    pub throttle: Option<Option<Duration>>,
}

impl Answer {
    /// Reads a response's status and headers under `policy`; `now` is the
    /// wall clock, for a `Retry-After` given as a date.
    pub(crate) fn of(
        policy: &RetryPolicy,
        status: StatusCode,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Self {
        let retry_after = retry_after(headers, now);
        let throttled = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some());
        Self {
            status,
            retry_after,
            throttle: throttled.then(|| retry_after.map(|w| w.min(policy.max_retry_after))),
        }
    }
}

/// Why an attempt got no response, in the terms the retry rules use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The connection never opened, so the request never left.
    pub never_sent: bool,
    /// A timeout, or a connection lost while sending or reading.
    pub transient: bool,
    /// The server's certificate failed verification: the same certificate
    /// fails the same way every time.
    pub certificate: bool,
}

impl Failure {
    /// Reads `error`.
    pub(crate) fn of(error: &reqwest::Error) -> Self {
        Self {
            never_sent: error.is_connect(),
            transient: error.is_timeout()
                || error.is_request()
                || error.is_body()
                || error.is_decode(),
            certificate: is_certificate_failure(error),
        }
    }
}

/// What an outcome means. The attempt loop turns it into what it does next
/// (`attempts::Next`), given the attempts left and the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Give the caller this outcome.
    Final,
    /// The server throttled and did not process the request: wait for a
    /// turn from flow control, without using up an attempt.
    Throttled,
    /// It failed: wait this long, then try again (using up an attempt).
    Retry(Duration),
}

/// Decides what `outcome` means for a `method` request, after `counted`
/// attempts that used up `max_attempts` (this one not included); `draw`, in
/// [0, 1), picks the backoff within its window (full jitter).
pub(crate) fn classify(
    policy: &RetryPolicy,
    method: &Method,
    outcome: &Outcome,
    counted: u32,
    draw: f64,
) -> Verdict {
    match *outcome {
        Outcome::Response(answer) => after_status(policy, method, answer, counted + 1, draw),
        Outcome::Failed(failure) => after_error(policy, method, failure, counted + 1, draw),
    }
}

/// After a response: idempotent methods retry 408, 429, 500, 502, 503 and
/// 504, after `Retry-After` (up to the policy's cap) or the backoff of retry
/// number `retry`; a throttle waits for a turn instead. A `Retry-After`
/// past the cap ends the call.
fn after_status(
    policy: &RetryPolicy,
    method: &Method,
    answer: Answer,
    retry: u32,
    draw: f64,
) -> Verdict {
    let retryable = matches!(answer.status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504);
    if !retryable || !is_idempotent(method) {
        return Verdict::Final;
    }
    match answer.retry_after {
        Some(wait) if wait > policy.max_retry_after => Verdict::Final,
        _ if answer.throttle.is_some() => Verdict::Throttled,
        Some(wait) => Verdict::Retry(wait),
        None => Verdict::Retry(policy.backoff(retry, draw)),
    }
}

/// After a failure without a response: a request that never left is
/// retried whatever its method; a transient failure only for idempotent
/// methods; a certificate that failed verification never.
fn after_error(
    policy: &RetryPolicy,
    method: &Method,
    failure: Failure,
    retry: u32,
    draw: f64,
) -> Verdict {
    if failure.certificate {
        return Verdict::Final;
    }
    if failure.never_sent || (is_idempotent(method) && failure.transient) {
        Verdict::Retry(policy.backoff(retry, draw))
    } else {
        Verdict::Final
    }
}

/// Methods that may be sent twice with the effect of once.
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::PUT | Method::DELETE | Method::HEAD | Method::OPTIONS
    )
}

/// Whether the connection failed because the server's certificate did not
/// verify (unknown issuer, expired, wrong name, ...).
fn is_certificate_failure(error: &reqwest::Error) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};

    /// The jitter's draw in these tables.
    const DRAW: f64 = 0.5;
    /// The wall clock in these tables.
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn headers(retry_after: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).unwrap());
        h
    }

    fn response(code: u16, headers: &HeaderMap) -> Outcome {
        Outcome::Response(answer(code, headers))
    }

    fn answer(code: u16, headers: &HeaderMap) -> Answer {
        Answer::of(
            &RetryPolicy::default(),
            StatusCode::from_u16(code).unwrap(),
            headers,
            now(),
        )
    }

    /// The backoff after an attempt is that of the retry it leads to: the
    /// first failure waits as retry 1, the second as retry 2, whatever
    /// failed. The jitter is the same for both sides (one seed).
    #[test]
    fn the_backoff_is_the_next_retrys() {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_secs(1))
            .max_delay(Duration::from_secs(3600));
        let outcomes = [
            response(503, &HeaderMap::new()),
            Outcome::Failed(Failure {
                transient: true,
                ..Failure::default()
            }),
        ];
        for outcome in outcomes {
            for counted in 0..6 {
                fastrand::seed(7 + u64::from(counted));
                let verdict = classify(&policy, &Method::GET, &outcome, counted, DRAW);
                fastrand::seed(7 + u64::from(counted));
                let expected = Verdict::Retry(policy.backoff(counted + 1, DRAW));
                assert_eq!(verdict, expected, "{outcome:?} after {counted}");
            }
        }
    }

    #[test]
    fn statuses_and_methods_decide_retries() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        for code in [408, 500, 502, 503, 504] {
            let outcome = response(code, &none);
            assert!(matches!(
                classify(&p, &Method::DELETE, &outcome, 0, DRAW),
                Verdict::Retry(_)
            ));
            assert_eq!(
                classify(&p, &Method::POST, &outcome, 0, DRAW),
                Verdict::Final
            );
        }
        for code in [200, 400, 401, 403, 404, 409, 501] {
            let outcome = response(code, &none);
            assert_eq!(
                classify(&p, &Method::GET, &outcome, 0, DRAW),
                Verdict::Final
            );
        }
        let (long, capped) = (headers("61"), headers("60"));
        assert_eq!(
            classify(&p, &Method::GET, &response(500, &long), 0, DRAW),
            Verdict::Final
        );
        assert_eq!(
            classify(&p, &Method::GET, &response(500, &capped), 0, DRAW),
            Verdict::Retry(Duration::from_secs(60))
        );
    }

    #[test]
    fn a_throttle_is_a_429_or_a_503_that_says_when() {
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        let (two, long) = (headers("2"), headers("600"));
        assert_eq!(answer(429, &none).throttle, Some(None));
        let capped = answer(429, &long);
        assert_eq!(capped.throttle, Some(Some(Duration::from_secs(60))));
        assert_eq!(capped.retry_after, Some(Duration::from_secs(600)));
        assert_eq!(
            answer(503, &two).throttle,
            Some(Some(Duration::from_secs(2)))
        );
        assert_eq!(answer(503, &none).throttle, None);
        assert_eq!(answer(500, &two).throttle, None);
        // Throttled for an idempotent method; a POST is never sent twice,
        // and a hold past the cap ends the call.
        assert_eq!(
            classify(&p, &Method::GET, &response(429, &none), 0, DRAW),
            Verdict::Throttled
        );
        assert_eq!(
            classify(&p, &Method::POST, &response(429, &none), 0, DRAW),
            Verdict::Final
        );
        assert_eq!(
            classify(&p, &Method::GET, &response(429, &long), 0, DRAW),
            Verdict::Final
        );
    }

    #[test]
    fn failures_without_a_response_decide_by_what_was_sent() {
        let p = RetryPolicy::default();
        let never_sent = Outcome::Failed(Failure {
            never_sent: true,
            ..Failure::default()
        });
        let transient = Outcome::Failed(Failure {
            transient: true,
            ..Failure::default()
        });
        let certificate = Outcome::Failed(Failure {
            never_sent: true,
            certificate: true,
            ..Failure::default()
        });
        for method in [Method::GET, Method::POST] {
            assert!(matches!(
                classify(&p, &method, &never_sent, 0, DRAW),
                Verdict::Retry(_)
            ));
            assert_eq!(classify(&p, &method, &certificate, 0, DRAW), Verdict::Final);
        }
        assert!(matches!(
            classify(&p, &Method::DELETE, &transient, 0, DRAW),
            Verdict::Retry(_)
        ));
        assert_eq!(
            classify(&p, &Method::POST, &transient, 0, DRAW),
            Verdict::Final
        );
        assert_eq!(
            classify(
                &p,
                &Method::GET,
                &Outcome::Failed(Failure::default()),
                0,
                DRAW
            ),
            Verdict::Final
        );
    }
}
