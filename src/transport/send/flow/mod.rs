//! Flow control: one per client, shared by its clones and every operation,
//! so that a bulk run keeps to the API's rate limit by itself.
//!
//! One room per job:
//! - this file: the gate ([`FlowControl`]): turns, the slow-start window,
//!   the paced queue, and the counts the pacer judges by;
//! - `pacer`: the pace and CUBIC's arithmetic on instants passed in, with
//!   no clock or atomics, tested with tables of instants;
//! - `cap`: the fixed cap (governor's token bucket), bounded by the deadline;
//! - `buckets`: responses counted per 100 ms;
//! - `redis` (feature `redis`): the fleet's limit shared through Redis or
//!   Valkey, which gives the turns while its store answers.
//!
//! Two parts, both in the single send path beside the retry policy:
//!
//! - **A fixed cap** ([`crate::ClientBuilder::max_requests_per_second`]),
//!   for callers who know their limit: governor's token bucket, burst 1, so
//!   requests leave evenly spaced.
//! - **An adaptive pacer**, off until the API first throttles. A `429`, or a
//!   `503` with `Retry-After`, is a signal for the whole client: every new
//!   attempt of every call waits until the `Retry-After` has passed, then
//!   the attempts leave one pacing interval apart (released gradually, not
//!   all at once), and the pace follows CUBIC:
//!   - on the first throttle, the pace becomes `BETA` (0.7) times what the
//!     API accepted in the second before it (counting the responses still in
//!     flight, so it is set when the hold ends), unless 429s were under an
//!     eighth of those responses: then they were sporadic, not a limit
//!     reached, and only their `Retry-After` is honoured. One to three 429s
//!     without `Retry-After` among the client's first 20 responses set no
//!     pace either: a noisy gateway's stray refusal looks like a limit
//!     there, so after the hold slow start begins again and the next
//!     throttle decides. Fewer than two successes around the first
//!     throttle (another client with the same key is spending the limit)
//!     are no measure either: the client probes instead, from what got
//!     through, doubling the pace every half second until the next throttle.
//!     On a later throttle, `BETA` times the share of the current pace
//!     that the API took in the last second (all of it, for a client
//!     alone at its limit; half, say, when other workers with the same
//!     key take the rest). Only throttles of requests sent after the
//!     previous drop count, so one burst of 429s already in flight is one
//!     drop, not many;
//!   - while requests succeed it climbs back along
//!     `W_max·(1 + C·(t − K)³)`, flat near the rate that was last throttled
//!     and faster away from it, so the client settles just under the
//!     server's limit and probes above it only slowly.
//!
//! - **A slow start**, until the first throttle: at most two attempts in
//!   flight at first, half an attempt more per success, so the first 429s
//!   find few requests in flight rather than the whole concurrency. It
//!   begins again when the pace has grown far past the last throttle (4
//!   times, or 16 for a probe) and is dropped: the API has no limit near
//!   it any more, and the whole concurrency should not leave at once to
//!   find where it is now.
//!
//! Several processes sharing one key (a fleet of workers) share its limit
//! with no coordination beyond the API's answers, unless they share a
//! store (`redis`): `cli/benches/fleet.rs` measures 2, 4 and 8 of them
//! against one token bucket, with and without it.
//!
//! The adaptive part is the AWS SDKs' adaptive retry mode (botocore's
//! `retries/adaptive.py`, aws-smithy-runtime's `client_rate_limiter.rs`),
//! changed where it measured better here, against the stand-in's token
//! bucket (`cli/tests/cli/at_the_limit/table.rs` prints the figures):
//! - the first pace starts from the accepted rate, not the sent rate, which
//!   during the first burst is the concurrency over the round trip, far
//!   above any limit;
//! - one drop per round (above), and at most one a second: the 429s of one
//!   burst all report the same overshoot, and dropping on each would take
//!   the pace to its floor (a fault-injection test in which one request in
//!   twenty met a 429 without `Retry-After` did exactly that, and stalled);
//! - CUBIC's constant is relative to the rate last throttled: with AWS's
//!   absolute constant (0.4 req/s per s³) the pace outgrew a 2.5 req/s limit
//!   within a second of each drop, and 30% of the requests of a 30-id erase
//!   came back 429 (23% with a relative constant, both before slow start);
//! - slow start: without it the first burst found the whole concurrency in
//!   flight; a 400-id erase at 20 req/s and concurrency 64 wasted 6.9% of
//!   its requests, and 1.5% to 2.9% with it.
//!
//! AIMD (additive increase) was not chosen: its step is absolute, so one
//! step is either slow to climb at 100 req/s or coarse at 2.5 req/s.
//!
//! The adaptive pacer is hand-written rather than governor's because its
//! rate changes on every response, and a governor quota is fixed when the
//! limiter is built.
//!
//! Until the first throttle, and with no fixed cap, the cost per request is
//! a few relaxed atomics (the slow-start window until it has grown to 256,
//! then one load, and a per-100-ms success count); `benches/` measures no
//! difference.

mod buckets;
mod cap;
mod pacer;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use crate::transport::deadline::Wait;
use buckets::BucketCount;
use cap::{Governor, capped_turn, token_bucket};
use pacer::{Evidence, FirstEvidence, Pacer, THIN_EVIDENCE, Turned};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Attempts in flight at first, in slow start.
const INITIAL_WINDOW: u64 = 2;
/// Slow start ends when the window reaches this many attempts.
const SLOW_START_END: u64 = 256;

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
    fixed: Option<(Governor, f64)>,
    /// The fleet's limit, shared through Redis.
    #[cfg(feature = "redis")]
    shared: Option<std::sync::Arc<redis::SharedLimit>>,
    /// Whether the adaptive pacer has ever been engaged.
    engaged: AtomicBool,
    /// Slow start: until the API has throttled or `SLOW_START_END`
    /// requests have succeeded, at most `window_halves / 2` attempts are
    /// in flight, and each success widens the window by a half (it grows
    /// by half every round trip). Without it, the first throttle would
    /// find the whole concurrency in flight, and every one of those
    /// requests would come back 429; with it, about half the server's
    /// burst does.
    slow_start: AtomicBool,
    window_halves: AtomicU64,
    in_flight: AtomicU64,
    window_open: tokio::sync::Notify,
    throttled: AtomicU64,
    /// Successful responses so far.
    succeeded_total: AtomicU64,
    /// Paced attempts queue here, first come first served; only the head
    /// sleeps, and it computes its turn from the pace when it wakes.
    queue: tokio::sync::Mutex<()>,
    state: Mutex<Pacer>,
    /// Responses that did not throttle, and those that did, per 100 ms.
    accepted: BucketCount,
    refused: BucketCount,
}

/// A turn to send, taken from [`FlowControl::acquire`]. During slow start
/// it holds a place in the window, given back when it is dropped, however
/// the attempt ends.
#[derive(Debug)]
pub(crate) struct Turn<'a> {
    sent_at: Instant,
    in_window: Option<&'a FlowControl>,
}

impl Turn<'_> {
    /// A turn taken now, outside the controller.
    pub(crate) fn now() -> Self {
        Turn {
            sent_at: Instant::now(),
            in_window: None,
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(flow) = self.in_window.take() {
            flow.in_flight.fetch_sub(1, Ordering::Relaxed);
            flow.window_open.notify_one();
        }
    }
}

impl FlowControl {
    /// A controller, with a fixed cap of `max_rate` requests per second if
    /// given. `max_rate` must be finite and positive (checked by the
    /// builder).
    pub(crate) fn new(max_rate: Option<f64>) -> Self {
        let fixed = max_rate.and_then(|rate| Some((token_bucket(rate)?, rate)));
        let now = Instant::now();
        Self {
            fixed,
            #[cfg(feature = "redis")]
            shared: None,
            engaged: AtomicBool::new(false),
            slow_start: AtomicBool::new(true),
            window_halves: AtomicU64::new(2 * INITIAL_WINDOW),
            in_flight: AtomicU64::new(0),
            window_open: tokio::sync::Notify::new(),
            throttled: AtomicU64::new(0),
            succeeded_total: AtomicU64::new(0),
            queue: tokio::sync::Mutex::new(()),
            state: Mutex::new(Pacer::new(now)),
            accepted: BucketCount::new(now),
            refused: BucketCount::new(now),
        }
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // Every update leaves the state consistent; keep going after a
        // panic elsewhere.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this attempt's turn. When the turn would come after
    /// `deadline`, returns at once the wait that does not fit; when other
    /// calls hold every turn (how long for is not known), it waits until
    /// `deadline` and returns [`Wait::Queued`].
    ///
    /// With a shared limiter whose store answers, the fleet's limit (its
    /// cap, hold and pace) gives the turn, after this process's slow-start
    /// window; when the store fails, this process's own flow control does.
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Result<Turn<'_>, Wait> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared
            && shared.is_up()
        {
            let window = self.window_turn(deadline).await?;
            match shared.admit(deadline).await {
                Ok(()) => return Ok(window.unwrap_or_else(Turn::now)),
                Err(redis::Refused::Wait(wait)) => return Err(wait),
                // Fall back to this process's own flow control.
                Err(redis::Refused::Down) => drop(window),
            }
        }
        if let Some((governor, _)) = &self.fixed {
            capped_turn(governor, deadline).await?;
        }
        if let Some(turn) = self.window_turn(deadline).await? {
            return Ok(turn);
        }
        if !self.engaged.load(Ordering::Relaxed) {
            return Ok(Turn::now());
        }
        let _head = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, self.queue.lock())
                .await
                .map_err(|_| Wait::Queued)?,
            None => self.queue.lock().await,
        };
        loop {
            let turned = self.pacer().turn(Instant::now(), |bucket| FirstEvidence {
                accepted: self.accepted.around(bucket),
                refused: self.refused.around(bucket),
                // Thin evidence: the run has only just begun.
                early: ((self.succeeded_total.load(Ordering::Relaxed)
                    + self.throttled.load(Ordering::Relaxed)) as f64)
                    < THIN_EVIDENCE,
            });
            let (wake, why) = match turned {
                Turned::Go { restart } => {
                    if restart {
                        self.restart_slow_start();
                    }
                    return Ok(Turn::now());
                }
                Turned::Wait { at, why, restart } => {
                    if restart {
                        self.restart_slow_start();
                    }
                    (at, why)
                }
            };
            if deadline.is_some_and(|d| wake >= d) {
                return Err(why);
            }
            // Wake at least every 100 ms: the pace may rise meanwhile.
            tokio::time::sleep_until(wake.min(Instant::now() + Duration::from_millis(100))).await;
        }
    }

    /// A place in the slow-start window, while slow start lasts; `None`
    /// once it has ended.
    async fn window_turn(&self, deadline: Option<Instant>) -> Result<Option<Turn<'_>>, Wait> {
        if !self.slow_start.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let start = self.slow_start_turn();
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, start)
                .await
                .map_err(|_| Wait::Queued),
            None => Ok(start.await),
        }
    }

    /// A place in the slow-start window, waiting for one to open; `None`
    /// once slow start has ended.
    async fn slow_start_turn(&self) -> Option<Turn<'_>> {
        loop {
            let opened = self.window_open.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            if !self.slow_start.load(Ordering::Relaxed) {
                return None;
            }
            let in_flight = self.in_flight.load(Ordering::Relaxed);
            if in_flight < self.window_halves.load(Ordering::Relaxed) / 2 {
                if self
                    .in_flight
                    .compare_exchange(
                        in_flight,
                        in_flight + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    return Some(Turn {
                        sent_at: Instant::now(),
                        in_window: Some(self),
                    });
                }
                continue;
            }
            opened.await;
        }
    }

    /// Slow start again from its first window: the next attempts probe
    /// the API a few at a time instead of all at once.
    fn restart_slow_start(&self) {
        self.window_halves
            .store(2 * INITIAL_WINDOW, Ordering::Relaxed);
        self.slow_start.store(true, Ordering::Relaxed);
    }

    fn end_slow_start(&self) {
        if self.slow_start.swap(false, Ordering::Relaxed) {
            self.window_open.notify_waiters();
        }
    }

    /// Records a response that throttled: `wait` is its `Retry-After`, or
    /// `None` if it sent none.
    pub(crate) fn throttled(&self, turn: Turn<'_>, wait: Option<Duration>) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.throttled(wait);
        }
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        self.engaged.store(true, Ordering::Relaxed);
        self.end_slow_start();
        self.refused.record(now);
        let bucket = self.accepted.bucket(now);
        let evidence = Evidence {
            bucket,
            took: self.accepted.last_second(bucket),
            refused: self.refused.last_second(bucket),
        };
        self.pacer().throttled(now, turn.sent_at, wait, evidence);
    }

    /// Records a response that did not throttle.
    pub(crate) fn succeeded(&self, turn: Turn<'_>) {
        let now = Instant::now();
        self.succeeded_total.fetch_add(1, Ordering::Relaxed);
        self.accepted.record(now);
        if turn.in_window.is_some()
            && self.window_halves.fetch_add(1, Ordering::Relaxed) + 1 >= 2 * SLOW_START_END
        {
            self.end_slow_start();
        }
        drop(turn);
        if !self.engaged.load(Ordering::Relaxed) {
            return;
        }
        if self.pacer().succeeded(now) {
            // Far past anything the API throttled: unpaced again, until it
            // throttles again, in slow start, so that the whole concurrency
            // does not leave at once to find where.
            self.restart_slow_start();
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

    /// What the controller has done so far.
    pub(crate) fn stats(&self) -> FlowStats {
        let throttled = self.throttled.load(Ordering::Relaxed);
        let max_rate = self.fixed.as_ref().map(|(_, rate)| *rate);
        let mut stats = FlowStats {
            throttled,
            max_rate,
            ..FlowStats::default()
        };
        #[cfg(feature = "redis")]
        {
            stats.limiter = self.shared.as_ref().map(|s| s.stats());
        }
        if !self.engaged.load(Ordering::Relaxed) {
            return stats;
        }
        let pacer = self.pacer();
        (stats.holding, stats.held_back) = pacer.holding(Instant::now());
        stats.pace = pacer.rate();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::pacer::{BETA, SCALE};
    use super::*;

    /// Takes `n` turns, each answered with a success at once.
    async fn succeed(flow: &FlowControl, n: usize) {
        for _ in 0..n {
            let turn = flow.acquire(None).await.expect("a turn");
            flow.succeeded(turn);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn slow_start_limits_the_turns_in_flight() {
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
    async fn sporadic_429s_set_no_pace() {
        let flow = FlowControl::new(None);
        succeed(&flow, 10).await;
        let turn = flow.acquire(None).await.unwrap();
        flow.throttled(turn, None);
        succeed(&flow, 1).await;
        assert_eq!(flow.stats().pace, None);
        // The next one, without Retry-After, holds nobody back.
        let turn = flow.acquire(None).await.unwrap();
        flow.throttled(turn, None);
        assert!(!flow.stats().holding);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_among_the_first_responses_sets_no_pace_and_slow_starts_again() {
        let flow = FlowControl::new(None);
        succeed(&flow, 3).await;
        let turn = flow.acquire(None).await.unwrap();
        flow.throttled(turn, None);
        assert!(flow.stats().holding);
        assert!(!flow.slow_start.load(Ordering::Relaxed));
        // After the hold: no pace from 3 successes and 1 refusal (a 25%
        // share, which would otherwise read as a limit reached), and slow
        // start from its first window again.
        let turn = flow.acquire(None).await.unwrap();
        assert_eq!(flow.stats().pace, None);
        assert!(flow.slow_start.load(Ordering::Relaxed));
        assert_eq!(
            flow.window_halves.load(Ordering::Relaxed),
            2 * INITIAL_WINDOW
        );
        flow.succeeded(turn);
        // Four refusals at once are a limit reached, early or not.
        let flow = FlowControl::new(None);
        succeed(&flow, 5).await;
        let mut turns = Vec::new();
        for _ in 0..4 {
            turns.push(flow.acquire(None).await.unwrap());
        }
        for turn in turns {
            flow.throttled(turn, None);
        }
        succeed(&flow, 1).await;
        assert!(flow.stats().pace.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_with_few_successes_probes_doubling_every_half_second() {
        // Another client with the same key spends the limit: one of this
        // one's requests got through before the first 429 (and two, all
        // the slow-start window, were refused).
        let flow = FlowControl::new(None);
        succeed(&flow, 1).await;
        let mut turns = Vec::new();
        for _ in 0..2 {
            turns.push(flow.acquire(None).await.unwrap());
        }
        for turn in turns {
            flow.throttled(turn, Some(Duration::from_secs(1)));
        }
        // After the hold: a pace of what got through (1 a second), not a
        // slow start's burst into the empty bucket.
        let at = Instant::now();
        let first = flow.acquire(None).await.unwrap();
        assert_eq!(Instant::now() - at, Duration::from_secs(1));
        assert_eq!(flow.stats().pace, Some(1.0));
        assert!(!flow.slow_start.load(Ordering::Relaxed));
        // Doubling every half second while nothing is refused, and the next
        // turn comes at the pace of now, not of when the last one left.
        tokio::time::advance(Duration::from_millis(500)).await;
        flow.succeeded(first);
        assert_eq!(flow.stats().pace, Some(2.0));
        succeed(&flow, 1).await;
        assert_eq!(Instant::now() - at, Duration::from_millis(1500));
        tokio::time::advance(Duration::from_millis(500)).await;
        succeed(&flow, 1).await;
        let pace = flow.stats().pace.unwrap();
        assert!((pace - 4.0).abs() < 0.1, "{pace}");
        // The next throttle ends the probe with a drop.
        let turn = flow.acquire(None).await.unwrap();
        flow.throttled(turn, Some(Duration::from_secs(1)));
        let dropped = flow.stats().pace.unwrap();
        assert!(dropped < pace * BETA, "{dropped} {pace}");
        tokio::time::advance(Duration::from_secs(5)).await;
        succeed(&flow, 1).await;
        let later = flow.stats().pace.unwrap();
        assert!(later < pace, "no longer doubling: {later}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_drop_takes_the_share_refused_into_account() {
        let flow = FlowControl::new(None);
        reach_a_limit(&flow).await;
        // Paced from t = 1 s; seven turns by t = 1.86 s.
        let mut turns = Vec::new();
        for _ in 0..7 {
            turns.push(flow.acquire(None).await.unwrap());
        }
        let last = turns.pop().unwrap();
        let mut turns = turns.into_iter();
        for turn in turns.by_ref().take(4) {
            flow.succeeded(turn);
        }
        let paced = flow.stats().pace.unwrap();
        // Two refused within a second of the first pace: no drop yet.
        for turn in turns {
            flow.throttled(turn, Some(Duration::from_secs(1)));
        }
        assert_eq!(flow.stats().pace, Some(paced));
        // The next refusal drops the pace, by the share the API took in
        // the last second (4 of 7), not by `BETA` alone: other clients with
        // the same key took the rest.
        tokio::time::advance(Duration::from_millis(350)).await;
        flow.throttled(last, Some(Duration::from_secs(1)));
        let dropped = flow.stats().pace.unwrap();
        let expected = paced * 4.0 / 7.0 * BETA;
        assert!(
            (dropped - expected).abs() < 0.01,
            "{dropped}, not {expected} (from {paced})"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_drops_the_pace_once() {
        let flow = FlowControl::new(None);
        let before = Turn::now();
        reach_a_limit(&flow).await;
        succeed(&flow, 1).await;
        let pace = flow.stats().pace.unwrap();
        assert!((pace - 7.0).abs() < 0.1, "{pace}");
        // Sent before the drop: it says nothing new.
        flow.throttled(before, Some(Duration::from_secs(1)));
        assert_eq!(flow.stats().pace, Some(pace));
        // A request sent after the drop does.
        let after = flow.acquire(None).await.unwrap();
        flow.throttled(after, Some(Duration::from_secs(1)));
        let dropped = flow.stats().pace.unwrap();
        assert!(dropped < pace, "{dropped} {pace}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_pace_climbs_back_to_the_throttled_rate_and_past_it() {
        let flow = FlowControl::new(None);
        reach_a_limit(&flow).await;
        succeed(&flow, 1).await;
        // K = cbrt(0.3 / 0.004) s after the drop, the pace is back at 10.
        let k = ((1.0 - BETA) / SCALE).cbrt();
        tokio::time::advance(Duration::from_secs_f64(k)).await;
        succeed(&flow, 1).await;
        let pace = flow.stats().pace.unwrap();
        assert!((9.5..10.5).contains(&pace), "{pace}");
        tokio::time::advance(Duration::from_secs(5)).await;
        succeed(&flow, 1).await;
        assert!(flow.stats().pace.unwrap() > 10.5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_past_the_deadline_is_refused() {
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

    #[tokio::test]
    async fn a_capped_turn_past_the_deadline_is_refused_at_once() {
        // The cap's clock is the real one (governor's), so real time here.
        let flow = FlowControl::new(Some(1.0));
        flow.acquire(None).await.unwrap();
        let asked = std::time::Instant::now();
        let deadline = Instant::now() + Duration::from_millis(300);
        let Err(Wait::RateCap(wait)) = flow.acquire(Some(deadline)).await else {
            panic!("not refused for the cap");
        };
        assert!(wait > Duration::from_millis(900), "{wait:?}");
        assert!(asked.elapsed() < Duration::from_millis(100));
        // A deadline that leaves room waits for the turn.
        let flow = FlowControl::new(Some(20.0));
        flow.acquire(None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(flow.acquire(Some(deadline)).await.is_ok());
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
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
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
