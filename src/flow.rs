//! Flow control: one per client, shared by its clones and every operation,
//! so that a bulk run keeps to the API's rate limit by itself.
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
//! with no coordination beyond the API's answers: `cli/benches/fleet.rs`
//! measures 2, 4 and 8 of them against one token bucket.
//!
//! The adaptive part is the AWS SDKs' adaptive retry mode (botocore's
//! `retries/adaptive.py`, aws-smithy-runtime's `client_rate_limiter.rs`),
//! changed where it measured better here, against the stand-in's token
//! bucket (`cli/tests/rate_limit/table.rs` prints the figures):
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

use crate::deadline::Wait;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// CUBIC's multiplicative decrease.
const BETA: f64 = 0.7;
/// CUBIC's scaling constant, relative to the rate last throttled, per
/// second cubed. Relative, so that 2.5 req/s and 100 req/s are probed
/// alike: back to the throttled rate `cbrt((1 - BETA) / SCALE)` ≈ 4.2 s
/// after a drop, 11% above it 3 s later. 0.01 threw about one more 429 per
/// cycle at 2.5 and 10 req/s.
const SCALE: f64 = 0.004;
/// Below this share of 429s among the responses around the first one, the
/// 429s are sporadic rather than a limit reached, and set no pace. A limit
/// reached in slow start refuses a quarter or more of them; one 429 among
/// the first ten successes is 9%.
const SATURATED_SHARE: f64 = 0.125;
/// A first throttle of one to three 429s without `Retry-After`, among fewer
/// responses than this since the client started, is thin evidence of a
/// limit: a gateway's stray 429s among the first few responses look like
/// one. It sets no pace: after its hold, slow start begins again, and the
/// next throttle, with more responses to judge by, decides.
const THIN_EVIDENCE: f64 = 20.0;
/// Fewer successes than this around the first throttle are no measure to
/// pace by: a client that shares its key with busy others may have had
/// next to none through, and a pace set from one success would starve it.
const FEW_ACCEPTED: f64 = 2.0;
/// A drop counts the share of the last second's responses that were
/// refused once there are at least this many.
const SHARE_EVIDENCE: f64 = 4.0;
/// One drop takes the pace down to no less than this share of it (before
/// `BETA`).
const MIN_SHARE: f64 = 0.25;
/// A probe doubles the pace this often until the next throttle.
const PROBE_DOUBLING: Duration = Duration::from_millis(500);
/// A probe that grows this far past where it started without a throttle
/// ends: no limit is near, and the client is unpaced again (in slow
/// start).
const PROBE_RELEASE: f64 = 16.0;
/// How long a sporadic verdict lasts.
const SPORADIC_MEMORY: Duration = Duration::from_secs(10);
/// The pace drops at most once in this long.
const MIN_DROP_INTERVAL: Duration = Duration::from_secs(1);
/// No hold is longer than this, whatever `Retry-After` and the policy say.
const LONGEST_HOLD: Duration = Duration::from_secs(30 * 24 * 3600);
/// Attempts in flight at first, in slow start.
const INITIAL_WINDOW: u64 = 2;
/// Slow start ends when the window reaches this many attempts.
const SLOW_START_END: u64 = 256;
/// The pace never drops below this (one request every 4 s).
const MIN_RATE: f64 = 0.25;
/// The pace is dropped when it has grown this far past the last throttled
/// rate with no throttle: the API has no limit near it any more.
const RELEASE_FACTOR: f64 = 4.0;

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

pub(crate) type Governor = governor::DefaultDirectRateLimiter;

/// A governor token bucket refilled at `rate` per second (fractions
/// allowed) and holding `burst`; `None` for a rate that is not finite and
/// positive. The fixed cap and the stand-in's rate limit both use it.
pub(crate) fn token_bucket(rate: f64, burst: NonZeroU32) -> Option<Governor> {
    let period = Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| !p.is_zero())?;
    let quota = governor::Quota::with_period(period)?.allow_burst(burst);
    Some(governor::RateLimiter::direct(quota))
}

/// Waits for a turn from the fixed cap. A turn that would come at or after
/// `deadline` is not waited for: the wait is returned at once.
///
/// Not governor's `until_ready`, which cannot be bounded without sleeping
/// until the bound.
async fn capped_turn(governor: &Governor, deadline: Option<Instant>) -> Result<(), Wait> {
    use governor::clock::Clock;
    loop {
        let Err(not_until) = governor.check() else {
            return Ok(());
        };
        let wait = not_until.wait_time_from(governor.clock().now());
        let now = Instant::now();
        if let Some(deadline) = deadline
            && now.checked_add(wait).is_none_or(|wake| wake >= deadline)
        {
            return Err(Wait::RateCap(wait));
        }
        tokio::time::sleep(wait).await;
    }
}

/// The per-client controller. Lives behind an `Arc` in the transport.
#[derive(Debug)]
pub(crate) struct FlowControl {
    fixed: Option<(Governor, f64)>,
    /// The fleet's limit, shared through Redis.
    #[cfg(feature = "redis")]
    shared: Option<std::sync::Arc<crate::send::shared_limit::SharedLimit>>,
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

#[derive(Debug)]
struct Pacer {
    /// Requests per second while paced; `None` while unpaced.
    rate: Option<f64>,
    /// Set by a throttle while unpaced: the bucket it fell in. The pace is
    /// set when the hold ends, from the successes around that throttle,
    /// once the responses in flight with it have all come back.
    pending: Option<u64>,
    /// The rate before the last drop (CUBIC's `W_max`).
    last_max: f64,
    last_drop: Instant,
    /// The earliest time the next attempt may leave, at the pace when the
    /// last one left.
    next_slot: Instant,
    /// When the last paced attempt left.
    last_turn: Instant,
    /// Nothing leaves before this.
    hold_until: Instant,
    held_back: Duration,
    /// Until then, a 429 without `Retry-After` while unpaced is taken as
    /// sporadic, as the last one was.
    sporadic_until: Instant,
    /// Whether the throttle that set `pending` came without `Retry-After`,
    /// as a gateway's stray 429 does.
    pending_unexplained: bool,
    /// While probing: the pace it started from, and when. The pace doubles
    /// every `PROBE_DOUBLING` until the next throttle.
    probe: Option<(f64, Instant)>,
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
        let fixed = max_rate.and_then(|rate| Some((token_bucket(rate, NonZeroU32::MIN)?, rate)));
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
            state: Mutex::new(Pacer {
                rate: None,
                pending: None,
                last_max: 0.0,
                last_drop: now,
                next_slot: now,
                last_turn: now,
                hold_until: now,
                held_back: Duration::ZERO,
                sporadic_until: now,
                pending_unexplained: false,
                probe: None,
            }),
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
                Err(crate::send::shared_limit::Refused::Wait(wait)) => return Err(wait),
                // Fall back to this process's own flow control.
                Err(crate::send::shared_limit::Refused::Down) => drop(window),
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
            let (wake, why) = {
                let mut pacer = self.pacer();
                let now = Instant::now();
                if let Some(bucket) = pacer.pending
                    && now >= pacer.hold_until
                {
                    let accepted = self.accepted.around(bucket);
                    let refused = self.refused.around(bucket);
                    // Thin evidence: the run has only just begun.
                    let answered = self.succeeded_total.load(Ordering::Relaxed)
                        + self.throttled.load(Ordering::Relaxed);
                    let early = (answered as f64) < THIN_EVIDENCE;
                    if pacer.set_first_pace(accepted, refused, early, now) {
                        self.restart_slow_start();
                    }
                }
                // A pace that rose since the last turn counts at once: at
                // one request every few seconds, waiting out the old
                // interval would keep a probe from growing.
                let slot = match pacer.rate {
                    Some(rate) => pacer
                        .next_slot
                        .min(pacer.last_turn + Duration::from_secs_f64(1.0 / rate)),
                    None => pacer.next_slot,
                };
                if now >= slot && now >= pacer.hold_until {
                    if let Some(rate) = pacer.rate {
                        pacer.next_slot = now + Duration::from_secs_f64(1.0 / rate);
                        pacer.last_turn = now;
                    }
                    return Ok(Turn {
                        sent_at: now,
                        in_window: None,
                    });
                }
                if pacer.hold_until >= slot {
                    let hold = pacer.hold_until;
                    (hold, Wait::RetryAfter(hold - now))
                } else {
                    (slot, Wait::Pace(slot - now))
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
        let mut pacer = self.pacer();
        match (pacer.rate, pacer.pending) {
            (None, None) if wait.is_none() && now < pacer.sporadic_until => {
                // 429s have been sporadic, not a limit: this one, without a
                // Retry-After to honour, holds nobody back.
                return;
            }
            (None, None) => {
                pacer.pending = Some(self.accepted.bucket(now));
                pacer.pending_unexplained = wait.is_none();
                pacer.last_drop = now;
                tracing::debug!("throttled: holding the whole client back");
            }
            // Sent before the last drop: that drop already answered it. And
            // at most one drop a second, so that sporadic 429s (one request
            // in twenty, say, from a flaky proxy) slow the client down
            // without taking the pace to its floor before it can regrow.
            (Some(rate), _)
                if turn.sent_at >= pacer.last_drop
                    && now.saturating_duration_since(pacer.last_drop) >= MIN_DROP_INTERVAL =>
            {
                // The pace may have grown past what the API accepts while
                // a full bucket hid it; when the last second held no hold,
                // what it accepted is the better measure.
                // Not during a probe: its pace has just doubled, and what
                // was accepted in the last second lags far behind it.
                let measured = match pacer.hold_until.checked_add(Duration::from_secs(1)) {
                    Some(quiet) if quiet <= now && pacer.probe.is_none() => {
                        self.accepted.last_second(self.accepted.bucket(now))
                    }
                    _ => rate,
                };
                // What share of this pace the API took in the last second:
                // against a limit spent by other clients with the same key
                // as well, it refuses much of it, and one drop of `BETA`
                // at a time would take many seconds (and 429s) to get
                // under it.
                let bucket = self.accepted.bucket(now);
                let (took, refused) = (
                    self.accepted.last_second(bucket),
                    self.refused.last_second(bucket),
                );
                let share = if took + refused >= SHARE_EVIDENCE {
                    (took / (took + refused)).max(MIN_SHARE)
                } else {
                    1.0
                };
                let from = (rate * share).min(measured).max(MIN_RATE);
                pacer.probe = None;
                pacer.last_max = from;
                pacer.rate = Some((from * BETA).max(MIN_RATE));
                pacer.last_drop = now;
                tracing::debug!(
                    pace = pacer.rate.unwrap_or_default(),
                    "throttled: slowing the whole client"
                );
            }
            _ => {}
        }
        // Without Retry-After: one interval of the pace lets the server's
        // bucket gain a token; before there is a pace, a second.
        let wait = wait.unwrap_or_else(|| {
            pacer
                .rate
                .map_or(Duration::from_secs(1), |r| Duration::from_secs_f64(1.0 / r))
        });
        tracing::trace!(wait_ms = wait.as_millis() as u64, "holding back");
        // A wait past any representable instant (a `Retry-After` of
        // u64::MAX seconds with no cap) holds for the longest hold instead.
        let until = now.checked_add(wait.min(LONGEST_HOLD)).unwrap_or(now);
        if until > pacer.hold_until {
            let added = until - pacer.hold_until.max(now);
            pacer.held_back += added;
            pacer.hold_until = until;
        }
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
        let mut pacer = self.pacer();
        // The pace now, and how far it may grow without a throttle before
        // no limit is near any more.
        let (pace, ceiling) = match (pacer.probe, pacer.rate) {
            (Some((from, started)), _) => {
                let since = now.saturating_duration_since(started).as_secs_f64();
                (
                    from * (since / PROBE_DOUBLING.as_secs_f64()).exp2(),
                    pacer.last_max * PROBE_RELEASE,
                )
            }
            (None, Some(_)) => {
                let since = now.saturating_duration_since(pacer.last_drop).as_secs_f64();
                let k = ((1.0 - BETA) / SCALE).cbrt();
                (
                    pacer.last_max * (1.0 + SCALE * (since - k).powi(3)),
                    pacer.last_max * RELEASE_FACTOR,
                )
            }
            (None, None) => return,
        };
        if pace > ceiling {
            // Far past anything the API throttled: unpaced again, until it
            // throttles again, in slow start, so that the whole concurrency
            // does not leave at once to find where.
            pacer.rate = None;
            pacer.probe = None;
            drop(pacer);
            self.restart_slow_start();
            tracing::debug!("no throttle for a while: unpaced, in slow start");
        } else {
            pacer.rate = Some(pace.max(MIN_RATE));
        }
    }

    /// Why the shared limiter's store last failed, if it has.
    #[cfg(feature = "redis")]
    pub(crate) fn limiter_failure(&self) -> Option<String> {
        self.shared.as_ref().and_then(|s| s.last_failure())
    }

    /// The same controller, sharing the fleet's limit through `shared`.
    #[cfg(feature = "redis")]
    pub(crate) fn with_shared(mut self, shared: crate::send::shared_limit::SharedLimit) -> Self {
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
        let now = Instant::now();
        stats.held_back = pacer
            .held_back
            .saturating_sub(pacer.hold_until.saturating_duration_since(now));
        stats.holding = pacer.hold_until > now;
        stats.pace = pacer.rate;
        stats
    }
}

impl Pacer {
    /// The first pace, from what the API accepted around the first
    /// throttle. Returns true when the evidence was too thin to set one and
    /// slow start should begin again.
    fn set_first_pace(&mut self, accepted: f64, refused: f64, early: bool, now: Instant) -> bool {
        self.pending = None;
        if refused < SATURATED_SHARE * (accepted + refused) {
            // A 429 here and there among many successes is not a limit
            // being reached (a flaky proxy, a short spike elsewhere):
            // pacing by it would slow the client for nothing.
            self.sporadic_until = now + SPORADIC_MEMORY;
            tracing::debug!(accepted, refused, "sporadic 429s: not pacing");
            return false;
        }
        if early && self.pending_unexplained && refused < 4.0 {
            // One to three 429s without Retry-After among the very first
            // responses: a noisy gateway's stray refusals look like a limit
            // here (a limit reached in slow start refuses every request in
            // flight, more than that). Judge by the next ones, after a
            // fresh slow start.
            tracing::debug!(
                accepted,
                refused,
                "throttled too early to tell: slow start again"
            );
            return true;
        }
        // Too few successes around it to pace by (other clients with the
        // same key may be spending the limit): probe from what got through,
        // doubling every half second, until the next throttle; a slow start
        // would send a burst into the empty bucket.
        let probing = accepted < FEW_ACCEPTED;
        let from = if probing { accepted.max(1.0) } else { accepted };
        self.last_max = from;
        self.rate = Some(if probing {
            from
        } else {
            (from * BETA).max(MIN_RATE)
        });
        self.probe = probing.then_some((from, now));
        self.last_drop = now;
        self.next_slot = now;
        tracing::debug!(
            accepted,
            probing,
            pace = self.rate.unwrap_or_default(),
            "paced from what the API accepted"
        );
        false
    }
}

/// Responses in 100 ms buckets over the last 3 s, in atomics: cheap enough
/// to keep on every response, so that the first throttle knows what the API
/// was accepting (and refusing) just before it.
#[derive(Debug)]
struct BucketCount {
    origin: Instant,
    /// Per slot: the bucket number it counts, and its count.
    slots: [(AtomicU64, AtomicU64); 30],
}

impl BucketCount {
    const BUCKET_MS: u128 = 100;

    fn new(origin: Instant) -> Self {
        Self {
            origin,
            slots: std::array::from_fn(|_| (AtomicU64::new(u64::MAX), AtomicU64::new(0))),
        }
    }

    fn bucket(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms / Self::BUCKET_MS).unwrap_or(u64::MAX - 1)
    }

    fn record(&self, now: Instant) {
        let bucket = self.bucket(now);
        let (id, count) = &self.slots[(bucket % 30) as usize];
        // Two racing resets lose a count or two; this is an estimate.
        if id.swap(bucket, Ordering::Relaxed) != bucket {
            count.store(0, Ordering::Relaxed);
        }
        count.fetch_add(1, Ordering::Relaxed);
    }

    /// Responses in the second up to `bucket`, included.
    fn last_second(&self, bucket: u64) -> f64 {
        self.between(bucket.saturating_sub(9), bucket)
    }

    fn between(&self, from: u64, to: u64) -> f64 {
        self.slots
            .iter()
            .filter(|(id, _)| (from..=to).contains(&id.load(Ordering::Relaxed)))
            .map(|(_, count)| count.load(Ordering::Relaxed) as f64)
            .sum()
    }

    /// Responses from one second before `bucket` to half a second after:
    /// what the API answered in the second before it throttled, counting
    /// the responses still in flight then.
    fn around(&self, bucket: u64) -> f64 {
        self.between(bucket.saturating_sub(9), bucket.saturating_add(5))
    }
}

#[cfg(test)]
mod tests {
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
