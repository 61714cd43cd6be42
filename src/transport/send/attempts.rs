//! The attempt loop: wait for a turn, send, judge the outcome, and either
//! give it to the caller or try again, within the call's deadline and
//! `max_attempts`.
//!
//! The decisions live in [`Attempts`], which sees outcomes and instants but
//! no network and no clock of its own, so they are tested with scripted
//! outcomes and made-up times. [`Transport::send`] does the sending and the
//! waiting around it.

use super::Transport;
use super::body::{buffer, limit_for_this_call};
use super::classify::{Answer, Failure, Outcome, Verdict, classify};
use super::cut::Cut;
use super::record::record;
use super::retry::RetryPolicy;
use super::telemetry::{self, Telemetry};
use crate::transport::wait::Wait;
use reqwest::{Method, Request, Response};
use std::time::Duration;
use tokio::time::Instant;

/// The state of one call's attempts.
#[derive(Debug)]
pub(crate) struct Attempts<'p> {
    policy: &'p RetryPolicy,
    method: Method,
    attempt_timeout: Duration,
    /// `None` when the deadline is too far to represent (`Duration::MAX`).
    deadline: Option<Instant>,
    /// Attempts that used up `max_attempts`: all of them, unless the
    /// policy retries throttled ones until the deadline.
    counted: u32,
    /// Every send.
    sends: u32,
}

/// What the loop does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Give the caller this outcome.
    Stop,
    /// Sleep this long, then wait for a turn and send again.
    Sleep(Duration),
    /// Wait for a turn (flow control holds throttled calls), then send
    /// again.
    AwaitTurn,
    /// Another attempt was allowed, but its wait ends past the deadline:
    /// end the call now and say so.
    Cut(Wait),
}

impl<'p> Attempts<'p> {
    /// A call made at `now`: the deadline counts from then, before any
    /// wait for a turn.
    pub(crate) fn start(
        policy: &'p RetryPolicy,
        method: Method,
        attempt_timeout: Duration,
        now: Instant,
    ) -> Self {
        Self {
            policy,
            method,
            attempt_timeout,
            deadline: now.checked_add(policy.deadline),
            counted: 0,
            sends: 0,
        }
    }

    /// The call's deadline, if it has one.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// What is left of the deadline at `now`.
    pub(crate) fn left(&self, now: Instant) -> Duration {
        self.deadline
            .map_or(Duration::MAX, |d| d.saturating_duration_since(now))
    }

    /// Counts a send at `now`, and gives its timeout: the attempt timeout,
    /// or what is left of the deadline if that is less.
    pub(crate) fn count_send(&mut self, now: Instant) -> Duration {
        self.sends += 1;
        self.attempt_timeout.min(self.left(now))
    }

    /// Sends so far, throttled ones included.
    pub(crate) fn sends(&self) -> u32 {
        self.sends
    }

    /// Judges the outcome of the last send at `now`. `resendable` is false
    /// when the request cannot be sent again (a streamed body).
    pub(crate) fn after(
        &mut self,
        outcome: &Outcome,
        now: Instant,
        resendable: bool,
        draw: f64,
    ) -> Next {
        let verdict = classify(self.policy, &self.method, outcome, self.counted, draw);
        let counts = verdict != Verdict::Throttled || !self.policy.retry_throttled_until_deadline;
        if counts {
            self.counted += 1;
        }
        match verdict {
            _ if !resendable => Next::Stop,
            Verdict::Final => Next::Stop,
            Verdict::Throttled | Verdict::Retry(_) if self.counted >= self.policy.max_attempts => {
                Next::Stop
            }
            // Flow control holds the throttle's `Retry-After` for every
            // call, and refuses a turn past the deadline; a `Retry-After`
            // that cannot fit is said as the API said it.
            Verdict::Throttled => match asked_to_wait(outcome) {
                Some(wait) if !self.fits(now, wait) => Next::Cut(Wait::RetryAfter(wait)),
                _ => Next::AwaitTurn,
            },
            Verdict::Retry(wait) if self.fits(now, wait) => Next::Sleep(wait),
            Verdict::Retry(wait) => Next::Cut(match asked_to_wait(outcome) {
                Some(_) => Wait::RetryAfter(wait),
                None => Wait::Backoff(wait),
            }),
        }
    }

    /// Whether a wait of `wait` from `now` ends before the deadline.
    fn fits(&self, now: Instant, wait: Duration) -> bool {
        match (self.deadline, now.checked_add(wait)) {
            (None, _) => true,
            (Some(deadline), Some(wakes)) => wakes < deadline,
            (Some(_), None) => false,
        }
    }
}

/// The `Retry-After` of a response, if it sent one.
fn asked_to_wait(outcome: &Outcome) -> Option<Duration> {
    match outcome {
        Outcome::Response(answer) => answer.retry_after,
        Outcome::Failed(_) => None,
    }
}

/// A response standing in for the one no request could fetch: the deadline
/// came first. It carries the cut, which the `post` hook turns into the
/// error; no caller ever reads it as an answer.
fn stand_in(cut: Cut) -> Response {
    let mut response = http::Response::new(reqwest::Body::from(""));
    *response.status_mut() = reqwest::StatusCode::GATEWAY_TIMEOUT;
    response.extensions_mut().insert(cut);
    Response::from(response)
}

/// `result`, carrying the cut of `wait` with `left` of the deadline when it
/// is a response: the last answer, which the error keeps. A transport
/// error is given as it is: it says what went wrong better than the wait
/// that followed it.
fn cut_short(
    result: reqwest::Result<Response>,
    wait: Wait,
    left: Duration,
) -> reqwest::Result<Response> {
    result.map(|mut response| {
        response.extensions_mut().insert(Cut {
            wait,
            left,
            answered: true,
        });
        response
    })
}

impl Transport {
    /// Sends `request`, retrying as the policy says, within its deadline,
    /// each attempt when the flow controller gives it a turn, and tells
    /// `telemetry` each step.
    ///
    /// The deadline counts from here, so every wait for a turn counts
    /// against it. A throttled response (`429`, or `503` with
    /// `Retry-After`) slows the whole client; it is retried like any other
    /// failure, and beyond `max_attempts` when the policy retries throttled
    /// responses until the deadline.
    pub(super) async fn send(
        &self,
        client: &reqwest::Client,
        request: Request,
        telemetry: &Telemetry<'_>,
    ) -> reqwest::Result<Response> {
        let result = self.attempt_all(client, request, telemetry).await;
        telemetry.finish(match &result {
            Ok(response) if response.extensions().get::<Cut>().is_some() => Err("deadline"),
            Ok(response) => Ok(response.status()),
            Err(error) => Err(telemetry::failure_kind(error)),
        });
        result
    }

    /// A turn from flow control before `deadline`, the wait counted.
    async fn turn(
        &self,
        deadline: Option<Instant>,
        telemetry: &Telemetry<'_>,
    ) -> Result<super::flow::Turn<'_>, Wait> {
        let asked = Instant::now();
        let turn = self.flow.acquire(deadline).await;
        telemetry.flow_waited(telemetry::since(asked));
        turn
    }

    async fn attempt_all(
        &self,
        client: &reqwest::Client,
        request: Request,
        telemetry: &Telemetry<'_>,
    ) -> reqwest::Result<Response> {
        let mut attempts = Attempts::start(
            &self.retry,
            request.method().clone(),
            self.attempt_timeout,
            Instant::now(),
        );
        let mut turn = match self.turn(attempts.deadline(), telemetry).await {
            Ok(turn) => turn,
            Err(wait) => {
                tracing::debug!(%wait, "no turn before the deadline");
                return Ok(stand_in(Cut {
                    wait,
                    left: attempts.left(Instant::now()),
                    answered: false,
                }));
            }
        };
        let mut original = request;
        loop {
            // Keep a copy for the next attempt; a body that cannot be copied
            // (a stream) is sent once.
            let (current, spare) = match original.try_clone() {
                Some(copy) => (copy, Some(original)),
                None => (original, None),
            };
            let result = self
                .attempt(client, current, &mut attempts, telemetry)
                .await;
            let outcome = self.observe(&result, turn, attempts.sends(), telemetry);
            let now = Instant::now();
            let next = attempts.after(&outcome, now, spare.is_some(), fastrand::f64());
            let spare = match (spare, next) {
                (_, Next::Cut(wait)) => {
                    tracing::debug!(%wait, "the wait would end past the deadline");
                    return cut_short(result, wait, attempts.left(now));
                }
                (Some(spare), Next::Sleep(_) | Next::AwaitTurn) => spare,
                _ => return result,
            };
            if let Next::Sleep(wait) = next {
                telemetry.retry(attempts.sends(), Some(wait));
                tokio::time::sleep(wait).await;
            } else {
                telemetry.retry(attempts.sends(), None);
            }
            // A throttled attempt waits here, with every other call, for the
            // hold the server asked for and then for its paced turn.
            turn = match self.turn(attempts.deadline(), telemetry).await {
                Ok(turn) => turn,
                Err(wait) => {
                    tracing::debug!(%wait, "no turn before the deadline");
                    return cut_short(result, wait, attempts.left(Instant::now()));
                }
            };
            original = spare;
        }
    }

    /// Sends `request` once, counted in `attempts`, with its timeout (the
    /// reqwest client's own is the client's attempt timeout; a view's
    /// other timeout, or a deadline that leaves less, sets this one's), and
    /// reads its body whole within the limit.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        mut request: Request,
        attempts: &mut Attempts<'_>,
        telemetry: &Telemetry<'_>,
    ) -> reqwest::Result<Response> {
        let timeout = attempts.count_send(Instant::now());
        if timeout != self.client_timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let sends = attempts.sends();
        telemetry.request(sends);
        let started = Instant::now();
        let result = match client.execute(request).await {
            Ok(response) => buffer(response, limit_for_this_call(self.max_body_bytes)).await,
            Err(e) => Err(e),
        }
        // reqwest's errors name the URL, which holds ids and query values:
        // no log line, span event or error made from here on may show it.
        .map_err(reqwest::Error::without_url);
        let status = result.as_ref().ok().map(Response::status);
        record(|r| {
            r.attempts.set(sends);
            r.status.set(status);
        });
        telemetry.response(sends, status, telemetry::since(started));
        result
    }

    /// What attempt number `sends` brought back, read once, and told to
    /// flow control: a throttle holds every call, an answer opens the
    /// window, a failure only gives the turn back.
    fn observe(
        &self,
        result: &reqwest::Result<Response>,
        turn: super::flow::Turn<'_>,
        sends: u32,
        telemetry: &Telemetry<'_>,
    ) -> Outcome {
        match result {
            Ok(response) => {
                let answer = Answer::of(
                    &self.retry,
                    response.status(),
                    response.headers(),
                    std::time::SystemTime::now(),
                );
                match answer.throttle {
                    Some(hold) => {
                        telemetry.throttled(sends, answer.status, hold);
                        self.flow.throttled(turn, hold)
                    }
                    None => self.flow.succeeded(turn),
                }
                Outcome::Response(answer)
            }
            Err(error) => {
                tracing::debug!(
                    attempt = i64::from(sends),
                    error = %crate::transport::error::chain_of(error),
                    "request failed"
                );
                drop(turn);
                Outcome::Failed(Failure::of(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    const SEC: Duration = Duration::from_secs(1);

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .max_attempts(3)
            .base_delay(Duration::from_millis(100))
            .deadline(10 * SEC)
    }

    fn retry_after(secs: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from(secs));
        h
    }

    /// Plays `script` (status, or `None` for a failure of `failure`'s kind,
    /// and the seconds since the start at which it arrives) and returns
    /// each decision.
    fn play<'p>(
        policy: &'p RetryPolicy,
        method: Method,
        script: &[(Option<u16>, &HeaderMap, u64)],
        failure: Failure,
    ) -> (Vec<Next>, Attempts<'p>) {
        let start = Instant::now();
        let mut attempts = Attempts::start(policy, method, 2 * SEC, start);
        let mut decisions = Vec::new();
        for (status, headers, at) in script {
            attempts.count_send(start + SEC * (*at as u32));
            let outcome = match status {
                Some(code) => Outcome::Response(Answer::of(
                    policy,
                    StatusCode::from_u16(*code).unwrap(),
                    headers,
                    std::time::SystemTime::UNIX_EPOCH,
                )),
                None => Outcome::Failed(failure),
            };
            decisions.push(attempts.after(&outcome, start + SEC * (*at as u32), true, 0.5));
        }
        (decisions, attempts)
    }

    fn is_sleep(next: &Next) -> bool {
        matches!(next, Next::Sleep(_))
    }

    #[test]
    fn server_errors_are_retried_until_max_attempts() {
        let p = policy();
        let none = HeaderMap::new();
        let (decisions, attempts) = play(
            &p,
            Method::DELETE,
            &[
                (Some(500), &none, 0),
                (Some(502), &none, 1),
                (Some(503), &none, 2),
            ],
            Failure::default(),
        );
        assert!(
            is_sleep(&decisions[0]) && is_sleep(&decisions[1]),
            "{decisions:?}"
        );
        assert_eq!(decisions[2], Next::Stop);
        assert_eq!(attempts.sends(), 3);
    }

    #[test]
    fn a_success_or_a_client_error_stops_at_once() {
        let p = policy();
        let none = HeaderMap::new();
        for code in [200, 400, 401, 404] {
            let (decisions, _) = play(
                &p,
                Method::GET,
                &[(Some(code), &none, 0)],
                Failure::default(),
            );
            assert_eq!(decisions, [Next::Stop], "{code}");
        }
    }

    #[test]
    fn throttled_attempts_use_up_max_attempts() {
        let p = policy();
        let none = HeaderMap::new();
        let (decisions, attempts) = play(
            &p,
            Method::GET,
            &[(Some(429), &none, 0); 3],
            Failure::default(),
        );
        assert_eq!(decisions, [Next::AwaitTurn, Next::AwaitTurn, Next::Stop]);
        assert_eq!(attempts.sends(), 3);
        // `none()`: one request, and its 429 is the answer.
        let one = RetryPolicy::none();
        let (decisions, _) = play(
            &one,
            Method::GET,
            &[(Some(429), &retry_after(1), 0)],
            Failure::default(),
        );
        assert_eq!(decisions, [Next::Stop]);
    }

    #[test]
    fn throttled_attempts_retried_until_the_deadline_do_not_use_up_max_attempts() {
        let p = policy().retry_throttled_until_deadline(true);
        let none = HeaderMap::new();
        let mut script = vec![(Some(429), &none, 0); 10];
        script.extend([
            (Some(500), &none, 1),
            (Some(500), &none, 2),
            (Some(500), &none, 3),
        ]);
        let (decisions, attempts) = play(&p, Method::GET, &script, Failure::default());
        assert!(
            decisions[..10].iter().all(|d| *d == Next::AwaitTurn),
            "{decisions:?}"
        );
        assert!(is_sleep(&decisions[10]) && is_sleep(&decisions[11]));
        assert_eq!(decisions[12], Next::Stop);
        assert_eq!(attempts.sends(), 13);
    }

    #[test]
    fn a_post_is_sent_again_only_if_it_never_left() {
        let p = policy();
        let none = HeaderMap::new();
        let (decisions, _) = play(
            &p,
            Method::POST,
            &[(Some(500), &none, 0)],
            Failure::default(),
        );
        assert_eq!(decisions, [Next::Stop]);
        let (decisions, _) = play(
            &p,
            Method::POST,
            &[(Some(429), &none, 0)],
            Failure::default(),
        );
        assert_eq!(decisions, [Next::Stop]);
        let refused = Failure {
            never_sent: true,
            ..Failure::default()
        };
        let (decisions, _) = play(&p, Method::POST, &[(None, &none, 0)], refused);
        assert!(is_sleep(&decisions[0]), "{decisions:?}");
        let timed_out = Failure {
            transient: true,
            ..Failure::default()
        };
        let (decisions, _) = play(&p, Method::POST, &[(None, &none, 0)], timed_out);
        assert_eq!(decisions, [Next::Stop]);
        let (decisions, _) = play(&p, Method::PUT, &[(None, &none, 0)], timed_out);
        assert!(is_sleep(&decisions[0]), "{decisions:?}");
    }

    #[test]
    fn a_certificate_that_fails_verification_is_final() {
        let p = policy();
        let none = HeaderMap::new();
        let certificate = Failure {
            never_sent: true,
            certificate: true,
            ..Failure::default()
        };
        let (decisions, attempts) = play(&p, Method::GET, &[(None, &none, 0)], certificate);
        assert_eq!(decisions, [Next::Stop]);
        assert_eq!(attempts.sends(), 1);
    }

    #[test]
    fn retry_after_is_the_wait_and_the_deadline_ends_the_call() {
        let p = policy();
        let (three, eight, sixty_one) = (retry_after(3), retry_after(8), retry_after(61));
        // At 0 s, 3 s fit in the 10 s deadline; at 4 s, 8 s do not. (A
        // throttled call's deadline is kept by flow control, which gives no
        // turn past it.)
        let (decisions, _) = play(
            &p,
            Method::GET,
            &[(Some(500), &three, 0), (Some(502), &eight, 4)],
            Failure::default(),
        );
        assert_eq!(
            decisions,
            [Next::Sleep(3 * SEC), Next::Cut(Wait::RetryAfter(8 * SEC))]
        );
        // A backoff that does not fit is a cut too, named as a backoff.
        let slow = policy().base_delay(100 * SEC).max_delay(100 * SEC);
        let none = HeaderMap::new();
        let (decisions, _) = play(
            &slow,
            Method::GET,
            &[(Some(500), &none, 0), (Some(500), &none, 9)],
            Failure::default(),
        );
        // (The backoff is random: one that fits in the second left sleeps.)
        match decisions[1] {
            Next::Cut(Wait::Backoff(wait)) => assert!(wait >= SEC, "{wait:?}"),
            Next::Sleep(wait) => assert!(wait < SEC, "{wait:?}"),
            other => panic!("{other:?}"),
        }
        // A wait that would end exactly at the deadline does not fit: the
        // call could not send again before it. At 0 s the 10 s deadline
        // leaves 10 s; one second less fits.
        let (ten, nine) = (retry_after(10), retry_after(9));
        for (headers, expected) in [
            (&ten, Next::Cut(Wait::RetryAfter(10 * SEC))),
            (&nine, Next::Sleep(9 * SEC)),
        ] {
            let (decisions, _) = play(
                &p,
                Method::GET,
                &[(Some(500), headers, 0)],
                Failure::default(),
            );
            assert_eq!(decisions, [expected]);
        }
        // A hold longer than max_retry_after (60 s) ends the call at once.
        let (decisions, _) = play(
            &p,
            Method::GET,
            &[(Some(500), &sixty_one, 0)],
            Failure::default(),
        );
        assert_eq!(decisions, [Next::Stop]);
    }

    #[test]
    fn each_attempt_gets_its_timeout_or_what_is_left_of_the_deadline() {
        let p = policy();
        let start = Instant::now();
        let mut attempts = Attempts::start(&p, Method::GET, 2 * SEC, start);
        assert_eq!(attempts.count_send(start), 2 * SEC);
        assert_eq!(attempts.count_send(start + 9 * SEC), SEC);
        assert_eq!(attempts.count_send(start + 11 * SEC), Duration::ZERO);
        let forever = RetryPolicy::default().deadline(Duration::MAX);
        let mut unbounded = Attempts::start(&forever, Method::GET, 2 * SEC, start);
        assert_eq!(unbounded.deadline(), None);
        assert_eq!(unbounded.count_send(start + 1_000_000 * SEC), 2 * SEC);
    }

    #[test]
    fn a_request_that_cannot_be_sent_again_stops() {
        let p = policy();
        let none = HeaderMap::new();
        let start = Instant::now();
        let mut attempts = Attempts::start(&p, Method::PUT, 2 * SEC, start);
        attempts.count_send(start);
        let outcome = Outcome::Response(Answer::of(
            &p,
            StatusCode::INTERNAL_SERVER_ERROR,
            &none,
            std::time::SystemTime::UNIX_EPOCH,
        ));
        assert_eq!(attempts.after(&outcome, start, false, 0.5), Next::Stop);
    }
}
