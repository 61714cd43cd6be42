//! Flow control: one per client, shared by its clones and every operation,
//! so that a bulk run keeps to the API's rate limit by itself.
//!
//! One algorithm, two stores:
//! - `machine`: the state machine ([`machine::FlowState`]) that holds
//!   everything known of the limit (the holds, slow start, the learned pace,
//!   the sporadic-429 rule, the user's cap, the window's holders) and makes
//!   the two decisions, admission and observation, on instants passed in.
//!   Every constant of flow control lives there, once; its table tests
//!   define the behaviour;
//! - `local`: the state in process memory, behind a mutex;
//! - `redis` (feature `redis`): the fleet's state in Redis or Valkey, under
//!   a version-checked compare-and-set, decided by the same Rust code;
//! - this file: the driver ([`FlowControl`]) that asks the state for a turn
//!   and waits as it says (a hold, the pace, the cap, or a full window),
//!   within the call's deadline, and tells it each outcome. The builder
//!   wires the stores (`src/transport/client/flow.rs`).
//!
//! What the state does:
//!
//! - **A fixed cap** ([`crate::ClientBuilder::max_requests_per_second`]),
//!   for callers who know their limit: turns leave evenly spaced, one per
//!   interval (a token bucket of one).
//! - **Slow start**, until the first throttle: at most two attempts in
//!   flight at first, half an attempt more per success, so the first 429s
//!   find few requests in flight rather than the whole concurrency. For a
//!   fleet it is one window, whose places each process holds under a lease
//!   that expires, so a killed process frees them.
//! - **A hold and a pace**, once the API throttles. A `429`, or a `503`
//!   with `Retry-After`, holds every attempt until its `Retry-After` has
//!   passed; then attempts leave one pacing interval apart, and the pace
//!   follows CUBIC:
//!   - on the first throttle, the pace becomes `BETA` (0.7) times what the
//!     API accepted in the second around it (set when the hold ends, so
//!     the responses in flight count), unless it came without
//!     `Retry-After` and 429s were under an eighth of those responses:
//!     then they were sporadic, not a limit reached, and set no pace. One
//!     to three 429s without `Retry-After` among the first 20 responses set
//!     no pace either: a noisy gateway's stray refusal looks like a limit
//!     there, so after the hold slow start begins again. Fewer than two
//!     successes around the first throttle (another client with the same
//!     key is spending the limit) are no measure: the state probes
//!     instead, from what got through, doubling every half second;
//!   - on a later throttle, at most once a second and only for attempts
//!     sent after the last drop, `BETA` times the share of the pace that
//!     the API took in the last second. A drop within 15% of the limit
//!     last learned agrees with it: the pace then holds at 0.97 of it for
//!     10 s before it probes above it again (measured: a second fleet run
//!     refused 0.6% instead of 1.2–1.4%);
//!   - while requests succeed it climbs back along `W_max·(1 + C·(t − K)³)`,
//!     flat near the rate last throttled and faster away from it; when it
//!     outgrows that rate four times (16 for a probe), no limit is near and
//!     slow start begins again.
//! - **A state unused for 30 s starts afresh**, paced at 0.9 of the limit
//!   it learned if it learned one: a fleet that starts later starts just
//!   under the remembered limit (kept a day in the store).
//!
//! The adaptive part is the AWS SDKs' adaptive retry mode (botocore's
//! `retries/adaptive.py`, aws-smithy-runtime's `client_rate_limiter.rs`),
//! changed where it measured better here, against the stand-in's token
//! bucket (`cli/tests/cli/at_the_limit/table.rs` prints the figures):
//! - the first pace starts from the accepted rate, not the sent rate, which
//!   during the first burst is the concurrency over the round trip, far
//!   above any limit;
//! - one drop per round, and at most one a second: the 429s of one burst
//!   all report the same overshoot, and dropping on each would take the
//!   pace to its floor;
//! - CUBIC's constant is relative to the rate last throttled: with AWS's
//!   absolute constant (0.4 req/s per s³) the pace outgrew a 2.5 req/s limit
//!   within a second of each drop;
//! - slow start: without it the first burst found the whole concurrency in
//!   flight; a 400-id erase at 20 req/s and concurrency 64 wasted 6.9% of
//!   its requests, and 1.5% to 2.9% with it.
//!
//! AIMD (additive increase) was not chosen: its step is absolute, so one
//! step is either slow to climb at 100 req/s or coarse at 2.5 req/s. The
//! state is hand-written rather than governor's because its rate changes on
//! every response, and a governor quota is fixed when the limiter is built;
//! the cap, a token bucket of one, is the same few lines of the state, so
//! that the fleet shares it too.

mod local;
mod machine;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use crate::transport::wait::Wait;
use local::LocalStore;
use machine::{Admission, Observation, Observed};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// What the flow controller has done so far, for progress displays.
///
/// ```
/// let client = runalloy_embedded::Client::builder().api_key("k").build().unwrap();
/// let stats = client.flow_stats();
/// assert_eq!(stats.throttled, 0);
/// assert_eq!(stats.pace, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct FlowStats {
    /// Responses that throttled: every `429`, and every `503` with
    /// `Retry-After`.
    pub throttled: u64,
    /// The wall time during which the whole client held back because the
    /// API asked it to (the union of the `Retry-After` windows).
    pub held_back: Duration,
    /// Whether the client is holding back right now.
    pub holding: bool,
    /// The adaptive pace in requests per second, once the API has
    /// throttled; `None` while unpaced.
    pub pace: Option<f64>,
    /// The fixed cap, if one was set.
    pub max_rate: Option<f64>,
    /// The shared limiter, if the client has one
    /// ([`ClientBuilder::limiter`](crate::ClientBuilder::limiter)).
    #[cfg(feature = "redis")]
    pub limiter: Option<crate::LimiterStats>,
}

/// The per-client controller. Lives behind an `Arc` in the transport.
#[derive(Debug)]
pub(crate) struct FlowControl {
    /// The user's cap in requests per second.
    cap: Option<f64>,
    /// The state in this process's memory: the only one without a shared
    /// limiter, and the fallback while its store fails.
    local: LocalStore,
    /// The fleet's state, shared through Redis.
    #[cfg(feature = "redis")]
    shared: Option<std::sync::Arc<redis::SharedLimit>>,
    /// Paced attempts queue here, first come first served; only the head
    /// sleeps, and it asks again when it wakes.
    queue: tokio::sync::Mutex<()>,
    /// This client's throttled responses.
    throttled: AtomicU64,
}

/// Which state gave a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Giver {
    Local,
    #[cfg(feature = "redis")]
    Shared,
}

/// A turn to send, taken from [`FlowControl::acquire`]. During slow start
/// it holds a place in the window, given back when its outcome is observed
/// or when it is dropped, however the attempt ends.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    flow: Option<&'a FlowControl>,
    giver: Giver,
    /// When it left, on its giver's clock.
    sent_at: machine::Micros,
    windowed: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(flow) = self.flow.take() {
            flow.observe(self, Observed::Nothing);
        }
    }
}

impl FlowControl {
    /// A controller, with a fixed cap of `max_rate` requests per second if
    /// given. `max_rate` must be finite and positive (checked by the
    /// builder).
    pub(crate) fn new(max_rate: Option<f64>) -> Self {
        Self {
            cap: max_rate.filter(|r| r.is_finite() && *r > 0.0),
            local: LocalStore::new(),
            #[cfg(feature = "redis")]
            shared: None,
            queue: tokio::sync::Mutex::new(()),
            throttled: AtomicU64::new(0),
        }
    }

    /// Waits for this attempt's turn. When the turn would come after
    /// `deadline`, returns at once the wait that does not fit; when other
    /// calls hold every turn (how long for is not known), it waits until
    /// `deadline` and returns [`Wait::Queued`].
    ///
    /// With a shared limiter whose store answers, the fleet's state gives
    /// the turn; when the store fails, this process's own state does.
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Result<Turn<'_>, Wait> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared
            && shared.is_up()
        {
            match shared
                .acquire(deadline, self.cap, &self.local.released)
                .await
            {
                Ok((sent_at, windowed)) => {
                    return Ok(Turn {
                        flow: Some(self),
                        giver: Giver::Shared,
                        sent_at,
                        windowed,
                    });
                }
                Err(redis::Refused::Wait(wait)) => return Err(wait),
                // Fall back to this process's own state.
                Err(redis::Refused::Down) => {}
            }
        }
        let mut head = None;
        loop {
            // Registered before the state is asked, so that a place given
            // back in between is not missed. Dropped before any other
            // wait: a registration kept while this call waits for the
            // queue or the clock would take a wake-up meant for a call
            // that waits for a place (a dropped one passes it on).
            let mut released = Box::pin(self.local.released.notified());
            released.as_mut().enable();
            let now = Instant::now();
            match self.local.admit(now, self.cap) {
                Admission::Go { windowed } => {
                    return Ok(Turn {
                        flow: Some(self),
                        giver: Giver::Local,
                        sent_at: self.local.micros(now),
                        windowed,
                    });
                }
                Admission::Full => match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, released)
                        .await
                        .map_err(|_| Wait::Queued)?,
                    None => released.await,
                },
                Admission::Wait { at, why } => {
                    drop(released);
                    let wake = self.local.instant(at);
                    if deadline.is_some_and(|d| wake >= d) {
                        return Err(why);
                    }
                    if head.is_none() {
                        head = Some(match deadline {
                            Some(deadline) => tokio::time::timeout_at(deadline, self.queue.lock())
                                .await
                                .map_err(|_| Wait::Queued)?,
                            None => self.queue.lock().await,
                        });
                        continue;
                    }
                    // Wake at least every 100 ms: the pace may rise meanwhile.
                    tokio::time::sleep_until(wake.min(now + Duration::from_millis(100))).await;
                }
            }
        }
    }

    /// Tells the state that gave `turn` how its attempt ended.
    fn observe(&self, turn: &Turn<'_>, outcome: Observed) {
        match turn.giver {
            Giver::Local => self.local.observe(Observation {
                at: self.local.micros(Instant::now()),
                sent_at: turn.sent_at,
                windowed: turn.windowed,
                outcome,
            }),
            #[cfg(feature = "redis")]
            Giver::Shared => {
                if let Some(shared) = &self.shared {
                    shared.observe(turn.sent_at, turn.windowed, outcome);
                }
            }
        }
    }

    /// Records a response that throttled: `wait` is its `Retry-After`, or
    /// `None` if it sent none.
    pub(crate) fn throttled(&self, mut turn: Turn<'_>, wait: Option<Duration>) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        if turn.flow.take().is_some() {
            self.observe(&turn, Observed::Throttled(wait));
        }
    }

    /// Records a response that did not throttle.
    pub(crate) fn succeeded(&self, mut turn: Turn<'_>) {
        if turn.flow.take().is_some() {
            self.observe(&turn, Observed::Accepted);
        }
    }

    /// Why the shared limiter's store last failed, if it has.
    #[cfg(feature = "redis")]
    pub(crate) fn limiter_failure(&self) -> Option<String> {
        self.shared.as_ref().and_then(|s| s.last_failure())
    }

    /// The same controller, sharing the fleet's limit through `shared`.
    #[cfg(feature = "redis")]
    pub(crate) fn with_shared(mut self, shared: redis::SharedLimit) -> Self {
        self.shared = Some(std::sync::Arc::new(shared));
        self
    }

    /// What the controller has done so far: the fleet's state while its
    /// store answers, else this process's.
    pub(crate) fn stats(&self) -> FlowStats {
        let mut stats = FlowStats {
            throttled: self.throttled.load(Ordering::Relaxed),
            max_rate: self.cap,
            ..FlowStats::default()
        };
        let (holding, held_back, pace) = self.local.read(|s, now| {
            let (holding, held) = s.holding(now);
            (holding, held, s.rate())
        });
        (stats.holding, stats.held_back, stats.pace) = (holding, held_back, pace);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            stats.limiter = Some(shared.stats());
            if let Some((holding, held, pace)) = shared.read() {
                stats.holding = holding;
                stats.held_back += held;
                stats.pace = pace;
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    //! The driver around the state machine (whose decisions `machine.rs`'s
    //! table defines): waits, wakes and deadlines, on paused time.
    use super::*;

    /// Takes `n` turns, each answered with a success at once.
    async fn succeed(flow: &FlowControl, n: usize) {
        for _ in 0..n {
            let turn = flow.acquire(None).await.expect("a turn");
            flow.succeeded(turn);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_for_a_place_given_back() {
        let flow = FlowControl::new(None);
        let first = flow.acquire(None).await.unwrap();
        let _second = flow.acquire(None).await.unwrap();
        let third = tokio::time::timeout(Duration::from_secs(1), flow.acquire(None)).await;
        assert!(third.is_err(), "a third turn while two are in flight");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(1), flow.acquire(None)).await;
        assert!(third.is_ok());
    }

    /// Ten successes, then four 429s with `Retry-After: 1`: a limit
    /// reached, as in slow start against a token bucket of ten.
    async fn reach_a_limit(flow: &FlowControl) {
        succeed(flow, 10).await;
        let mut turns = Vec::new();
        for _ in 0..4 {
            turns.push(flow.acquire(None).await.unwrap());
        }
        for turn in turns {
            flow.throttled(turn, Some(Duration::from_secs(1)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_throttle_holds_then_paces_from_what_was_accepted() {
        let flow = FlowControl::new(None);
        let at = Instant::now();
        reach_a_limit(&flow).await;
        assert!(flow.stats().holding);

        let mut sent = Vec::new();
        for _ in 0..4 {
            let turn = flow.acquire(None).await.unwrap();
            sent.push(Instant::now() - at);
            flow.succeeded(turn);
        }
        // Held for the Retry-After, then 0.7 × 10 a second: 1/7 s apart.
        assert_eq!(sent[0], Duration::from_secs(1));
        for pair in sent.windows(2) {
            let gap = (pair[1] - pair[0]).as_secs_f64();
            assert!((0.13..0.15).contains(&gap), "{sent:?}");
        }
        let stats = flow.stats();
        assert_eq!(
            (stats.throttled, stats.held_back),
            (4, Duration::from_secs(1))
        );
        assert!(!stats.holding);
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_past_the_deadline_is_refused_at_once() {
        let flow = FlowControl::new(None);
        succeed(&flow, 10).await;
        let turn = flow.acquire(None).await.unwrap();
        flow.throttled(turn, Some(Duration::from_secs(5)));
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(2);
        assert_eq!(
            flow.acquire(Some(deadline)).await.unwrap_err(),
            Wait::RetryAfter(Duration::from_secs(5))
        );
        assert_eq!(
            Instant::now(),
            asked,
            "refused at once, not at the deadline"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_turn_past_the_deadline_is_refused_at_once() {
        let flow = FlowControl::new(None);
        reach_a_limit(&flow).await;
        // After the hold, paced at 7 a second: the turn after the next is
        // 1/7 s away.
        tokio::time::advance(Duration::from_secs(1)).await;
        let first = flow.acquire(None).await.unwrap();
        flow.succeeded(first);
        let asked = Instant::now();
        let Err(Wait::Pace(wait)) = flow.acquire(Some(asked + Duration::from_millis(50))).await
        else {
            panic!("not refused for the pace");
        };
        assert!((0.13..0.15).contains(&wait.as_secs_f64()), "{wait:?}");
        assert_eq!(Instant::now(), asked);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_waits_until_the_deadline_then_says_queued() {
        let flow = FlowControl::new(None);
        let _held = [
            flow.acquire(None).await.unwrap(),
            flow.acquire(None).await.unwrap(),
        ];
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(2);
        assert_eq!(
            flow.acquire(Some(deadline)).await.unwrap_err(),
            Wait::Queued
        );
        assert_eq!(Instant::now(), deadline);
    }

    /// A place given back reaches the call that waits for one, however
    /// many calls queue behind it. (Calls queued behind the head each kept
    /// a registration for a place given back, and took the wake-ups meant
    /// for the head, which waited for a place while holding the queue:
    /// no call left until the deadline. Seen as a fleet's process that
    /// went quiet for two minutes when its pace gave way to slow start.)
    #[tokio::test(start_paused = true)]
    async fn a_place_given_back_reaches_the_call_waiting_for_one() {
        // A cap of one turn a millisecond makes the calls below wait for
        // it first, and so queue behind the first of them.
        let flow = std::sync::Arc::new(FlowControl::new(Some(1000.0)));
        let first = flow.acquire(None).await.unwrap();
        tokio::time::advance(Duration::from_millis(1)).await;
        let second = flow.acquire(None).await.unwrap();
        let asked = Instant::now();
        let deadline = asked + Duration::from_secs(10);
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let flow = flow.clone();
                tokio::spawn(async move {
                    let turn = flow.acquire(Some(deadline)).await?;
                    flow.succeeded(turn);
                    Ok::<_, Wait>(Instant::now() - asked)
                })
            })
            .collect();
        // The head of the queue finds the window full (two in flight).
        tokio::time::sleep(Duration::from_millis(5)).await;
        flow.succeeded(first);
        flow.succeeded(second);
        for call in calls {
            let took = call.await.unwrap().expect("a turn before the deadline");
            assert!(took < Duration::from_millis(50), "{took:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_capped_turn_past_the_deadline_is_refused_at_once() {
        let flow = FlowControl::new(Some(1.0));
        flow.acquire(None).await.unwrap();
        let asked = Instant::now();
        let deadline = asked + Duration::from_millis(300);
        assert_eq!(
            flow.acquire(Some(deadline)).await.unwrap_err(),
            Wait::RateCap(Duration::from_secs(1))
        );
        assert_eq!(Instant::now(), asked);
        // A deadline that leaves room waits for the turn.
        let flow = FlowControl::new(Some(20.0));
        flow.acquire(None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(flow.acquire(Some(deadline)).await.is_ok());
        assert_eq!(Instant::now() - asked, Duration::from_millis(50));
    }
}

#[cfg(test)]
mod noisy_gateway {
    //! A gateway that refuses a share of requests at random with 429 and
    //! no `Retry-After`, with no limit behind it: the flow control must not
    //! take that for a limit, on any seed. Paused time, so the figures are
    //! the pacer's decisions alone.
    use super::*;
    use std::sync::Arc;

    const REQUESTS: u64 = 2_000;

    /// Sends `REQUESTS` successful requests through a fresh controller,
    /// `concurrency` at a time, each answered after `latency` and refused
    /// with probability `share`; returns the time taken and the time the
    /// controller held back.
    async fn run(
        seed: u64,
        share: f64,
        concurrency: usize,
        latency: Duration,
    ) -> (Duration, Duration) {
        let flow = Arc::new(FlowControl::new(None));
        let rng = Arc::new(std::sync::Mutex::new(fastrand::Rng::with_seed(seed)));
        let left = Arc::new(AtomicU64::new(REQUESTS));
        let started = Instant::now();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (flow, rng, left) = (flow.clone(), rng.clone(), left.clone());
                tokio::spawn(async move {
                    while left.load(Ordering::SeqCst) > 0 {
                        let turn = flow.acquire(None).await.unwrap();
                        tokio::time::sleep(latency).await;
                        let refused = rng.lock().unwrap().f64() < share;
                        if refused {
                            flow.throttled(turn, None);
                        } else {
                            flow.succeeded(turn);
                            let _ = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                n.checked_sub(1)
                            });
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.unwrap();
        }
        (started.elapsed(), flow.stats().held_back)
    }

    #[tokio::test(start_paused = true)]
    async fn a_noisy_gateway_costs_at_most_twice_the_clean_time_plus_the_holds() {
        let mut failures = Vec::new();
        for (concurrency, latency_ms) in [(64, 20), (16, 5), (64, 60)] {
            let latency = Duration::from_millis(latency_ms);
            let (clean, _) = run(0, 0.0, concurrency, latency).await;
            let mut worst = (0.0, 0, 0.0);
            for seed in 0..60 {
                for share in [0.01, 0.02] {
                    let (took, held) = run(seed, share, concurrency, latency).await;
                    let bound = 2 * clean + held;
                    let ratio = took.as_secs_f64() / clean.as_secs_f64();
                    if ratio > worst.0 {
                        worst = (ratio, seed, share);
                    }
                    if took > bound {
                        failures.push(format!(
                            "{concurrency} x {latency_ms} ms, seed {seed}, {share}: {took:?} \
                             against {bound:?} (clean {clean:?}, held {held:?})"
                        ));
                    }
                }
            }
            eprintln!(
                "{concurrency} x {latency_ms} ms: clean {clean:?}; worst {:.2}x (seed {}, {})",
                worst.0, worst.1, worst.2
            );
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
