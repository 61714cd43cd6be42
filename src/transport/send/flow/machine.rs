//! The flow-control state machine: everything the crate knows about the
//! API's limit, and the two decisions made from it. Plain arithmetic on
//! instants passed in (microseconds on the store's clock): no clock, no
//! random source, no lock, no I/O. The same code decides for one process
//! (`local.rs` keeps the state in memory) and for a fleet (`redis.rs` keeps
//! it in the store and serialises updates with a version check); the table
//! tests below define its behaviour. `tests/shared_limit` and
//! `cli/tests/fleet` prove the fleet's store end to end.
//!
//! Every constant of flow control lives in this file, once.

use crate::transport::wait::Wait;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An instant: microseconds on the clock of the store that keeps the
/// state (the process's for `local.rs`, the server's `TIME` for `redis.rs`).
pub(crate) type Micros = u64;

const SEC: Micros = 1_000_000;

/// CUBIC's multiplicative decrease.
pub(crate) const BETA: f64 = 0.7;
/// CUBIC's scaling constant, relative to the rate last throttled, per
/// second cubed. Relative, so that 2.5 req/s and 100 req/s are probed
/// alike: back to the throttled rate `cbrt((1 - BETA) / SCALE)` ≈ 4.2 s
/// after a drop, 11% above it 3 s later. 0.01 threw about one more 429 per
/// cycle at 2.5 and 10 req/s.
pub(crate) const SCALE: f64 = 0.004;
/// Below this share of 429s among the responses around the first one, 429s
/// without `Retry-After` are sporadic rather than a limit reached, and set
/// no pace. A limit
/// reached in slow start refuses a quarter or more of them; one 429 among
/// the first ten successes is 9%.
const SATURATED_SHARE: f64 = 0.125;
/// A first throttle of one to three 429s without `Retry-After`, among fewer
/// responses than this since the state began, is thin evidence of a limit:
/// a gateway's stray 429s among the first few responses look like one. It
/// sets no pace: after its hold, slow start begins again, and the next
/// throttle, with more responses to judge by, decides.
const THIN_EVIDENCE: u64 = 20;
/// Fewer successes than this around the first throttle are no measure to
/// pace by: a client that shares its key with busy others may have had
/// next to none through, and a pace set from one success would starve it.
const FEW_ACCEPTED: f64 = 2.0;
/// A drop counts the share of the last second's responses that were
/// refused once there are at least this many.
const SHARE_EVIDENCE: f64 = 4.0;
/// One drop takes the pace down to no less than this share of it (before
/// `BETA`), unless a quiet last second measured less.
const MIN_SHARE: f64 = 0.25;
/// A probe doubles the pace this often until the next throttle.
const PROBE_DOUBLING: f64 = 0.5;
/// A probe that grows this far past where it started without a throttle
/// ends: no limit is near, and the state is unpaced again (in slow start).
const PROBE_RELEASE: f64 = 16.0;
/// How long a sporadic verdict lasts.
const SPORADIC_MEMORY: Micros = 10 * SEC;
/// The pace drops at most once in this long.
const MIN_DROP_INTERVAL: Micros = SEC;
/// No hold is longer than this, whatever `Retry-After` and the policy say.
pub(crate) const LONGEST_HOLD: Duration = Duration::from_secs(30 * 24 * 3600);
/// The pace never drops below this (one request every 4 s).
const MIN_RATE: f64 = 0.25;
/// The pace is dropped when it has grown this far past the last throttled
/// rate with no throttle: the API has no limit near it any more.
const RELEASE_FACTOR: f64 = 4.0;
/// Attempts in flight at first, in slow start, counted in halves.
pub(crate) const INITIAL_WINDOW_HALVES: u64 = 4;
/// Slow start ends when the window reaches this many attempts (in halves).
const SLOW_START_END_HALVES: u64 = 512;
/// A state unused for this long starts afresh: its counts and holds are
/// stale. A limit it learned starts it paced just under that limit.
const IDLE_RESTART: Micros = 30 * SEC;
/// A remembered limit starts a fresh state at this share of it.
const REMEMBERED_START: f64 = 0.9;
/// A drop within this share of the limit last learned agrees with it.
const AGREEMENT: f64 = 0.15;
/// After a drop that agrees with the last, the pace holds at this share
/// of the limit ...
const PLATEAU_SHARE: f64 = 0.97;
/// ... for this long before it probes above it again.
const PLATEAU: Micros = 10 * SEC;
/// A holder's place in the window is freed this long after it last spoke
/// to the state (a killed process frees its places so).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
pub(crate) const HOLDER_LEASE: Micros = 10 * SEC;
/// Responses are counted in buckets of this long.
const BUCKET: Micros = 100_000;
/// Buckets kept: three seconds.
const BUCKETS: usize = 30;

/// What the state knows of the API's limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "m")]
pub(crate) enum Mode {
    /// Unpaced, in slow start: at most `window_halves / 2` attempts in
    /// flight, half an attempt more per success.
    SlowStart { window_halves: u64 },
    /// Unpaced, slow start over: nothing holds an attempt back.
    Open,
    /// Throttled while unpaced: the pace is set when the hold ends, from
    /// what the API accepted around bucket `bucket`, once the responses in
    /// flight with it have come back. `unexplained`: that throttle came
    /// without `Retry-After`, as a gateway's stray 429 does.
    Pending { bucket: u64, unexplained: bool },
    /// Paced at `rate` requests per second, climbing along CUBIC's curve
    /// from `last_max`, the rate last throttled.
    Paced { rate: f64, last_max: f64 },
    /// Paced at `rate`, doubling every `PROBE_DOUBLING` from `from` since
    /// `started`, until the next throttle.
    Probing {
        rate: f64,
        from: f64,
        started: Micros,
    },
}

impl Mode {
    fn slow_start() -> Self {
        Mode::SlowStart {
            window_halves: INITIAL_WINDOW_HALVES,
        }
    }

    /// The pace, while paced.
    pub(crate) fn rate(&self) -> Option<f64> {
        match *self {
            Mode::Paced { rate, .. } | Mode::Probing { rate, .. } => Some(rate),
            _ => None,
        }
    }
}

/// Responses counted per 100 ms bucket over the last three seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Counts(Vec<(u64, u32)>);

impl Counts {
    fn record(&mut self, bucket: u64) {
        match self.0.iter_mut().find(|(b, _)| *b == bucket) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => self.0.push((bucket, 1)),
        }
        let oldest = bucket.saturating_sub(BUCKETS as u64 - 1);
        self.0.retain(|(b, _)| *b >= oldest);
    }

    fn between(&self, from: u64, to: u64) -> f64 {
        self.0
            .iter()
            .filter(|(b, _)| (from..=to).contains(b))
            .map(|(_, n)| f64::from(*n))
            .sum()
    }

    /// Responses in the second up to `bucket`, included.
    fn last_second(&self, bucket: u64) -> f64 {
        self.between(bucket.saturating_sub(9), bucket)
    }

    /// From a second before `bucket` to half a second after: what the API
    /// answered in the second before it throttled, counting the responses
    /// still in flight then.
    fn around(&self, bucket: u64) -> f64 {
        self.between(bucket.saturating_sub(9), bucket.saturating_add(5))
    }
}

/// One holder of places in the slow-start window (a process, for the
/// fleet's state): how many it has in flight, and until when they count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub id: u64,
    pub in_flight: u64,
    pub until: Micros,
}

/// The whole state. Serialised as it is into the fleet's store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FlowState {
    pub mode: Mode,
    /// Nothing leaves before this.
    hold_until: Micros,
    /// The union of the holds so far, in µs.
    held_back: u64,
    /// The last drop of the pace (or the throttle that set `Pending`).
    last_drop: Micros,
    /// The pace's next slot, at the pace when the last turn left.
    next_slot: Micros,
    last_turn: Micros,
    /// The user's cap's next slot.
    cap_slot: Micros,
    /// Until then, a 429 without `Retry-After` while unpaced is sporadic.
    sporadic_until: Micros,
    accepted: Counts,
    refused: Counts,
    /// Responses so far, for the thin-evidence rule.
    answered: u64,
    holders: Vec<Holder>,
    /// Bumped by every throttle that holds or drops: a lease taken under
    /// an older epoch is void.
    pub epoch: u64,
    /// The rate last throttled, kept for a state that restarts.
    remembered: Option<f64>,
    /// When the state was last used.
    seen: Micros,
    /// Until then the pace holds, below a limit two drops agreed on.
    #[serde(default)]
    plateau_until: Micros,
    /// Where CUBIC's curve starts: the last drop, or past a plateau.
    #[serde(default)]
    curve_from: Micros,
}

/// Whether an attempt may leave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Admission {
    /// It may; `windowed`: it holds a place in the slow-start window,
    /// given back when its outcome is observed.
    Go { windowed: bool },
    /// Not before `at`, because of `why`.
    Wait { at: Micros, why: Wait },
    /// The slow-start window is full: wait until a place is given back.
    Full,
}

/// How an attempt ended, as flow control reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// A response that did not throttle.
    Accepted,
    /// A throttle (a 429, or a 503 with `Retry-After`), with its
    /// `Retry-After` if it sent one.
    Throttled(Option<Duration>),
    /// No response, or none that was awaited: only the window place is
    /// given back.
    Nothing,
}

/// One attempt's outcome, observed at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Observation {
    pub at: Micros,
    pub sent_at: Micros,
    pub windowed: bool,
    pub outcome: Observed,
}

fn micros(d: Duration) -> Micros {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn interval(rate: f64) -> Micros {
    micros(Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::MAX))
}

fn span(from: Micros, to: Micros) -> Duration {
    Duration::from_micros(to.saturating_sub(from))
}

fn bucket(at: Micros) -> u64 {
    at / BUCKET
}

impl FlowState {
    /// A fresh state at `now`: unpaced, in slow start, holding nobody.
    pub(crate) fn new(now: Micros) -> Self {
        Self {
            mode: Mode::slow_start(),
            hold_until: now,
            held_back: 0,
            last_drop: now,
            next_slot: now,
            last_turn: now,
            cap_slot: now,
            sporadic_until: now,
            accepted: Counts::default(),
            refused: Counts::default(),
            answered: 0,
            holders: Vec::new(),
            epoch: 0,
            remembered: None,
            seen: now,
            plateau_until: now,
            curve_from: now,
        }
    }

    /// The pace in requests per second; `None` while unpaced.
    pub(crate) fn rate(&self) -> Option<f64> {
        self.mode.rate()
    }

    /// The rate last throttled, if any.
    #[cfg(test)]
    pub(crate) fn remembered(&self) -> Option<f64> {
        self.remembered
    }

    /// Whether the state holds every attempt back at `now`, and for how
    /// long it has held back in all (the union of the holds, up to `now`).
    pub(crate) fn holding(&self, now: Micros) -> (bool, Duration) {
        let ahead = self.hold_until.saturating_sub(now);
        (
            self.hold_until > now,
            Duration::from_micros(self.held_back.saturating_sub(ahead)),
        )
    }

    /// Whether the state is unpaced with no slow start, no hold and no
    /// cap at `now`: every admission until the next throttle is a `Go`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn is_open(&self, now: Micros, cap: Option<f64>) -> bool {
        self.mode == Mode::Open && self.hold_until <= now && cap.is_none()
    }

    /// Attempts in flight in the window, every live holder's.
    fn in_flight(&self, now: Micros) -> u64 {
        self.holders
            .iter()
            .filter(|h| h.until > now)
            .map(|h| h.in_flight)
            .sum()
    }

    fn holder(&mut self, id: u64, now: Micros, lease: Micros) -> &mut Holder {
        let until = now.saturating_add(lease);
        self.holders.retain(|h| h.until > now || h.id == id);
        let at = match self.holders.iter().position(|h| h.id == id) {
            Some(at) => at,
            None => {
                self.holders.push(Holder {
                    id,
                    in_flight: 0,
                    until,
                });
                self.holders.len() - 1
            }
        };
        let holder = &mut self.holders[at];
        if holder.until <= now {
            // Its places were freed when its lease ran out.
            holder.in_flight = 0;
        }
        holder.until = until;
        holder
    }

    /// Starts afresh when the state has been idle: at the remembered limit
    /// if there is one, else in slow start.
    fn wake(&mut self, now: Micros) {
        if now.saturating_sub(self.seen) >= IDLE_RESTART {
            let (remembered, held_back, epoch) = (self.remembered, self.held_back, self.epoch);
            *self = Self::new(now);
            self.held_back = held_back;
            self.epoch = epoch + 1;
            self.remembered = remembered;
            if let Some(limit) = remembered {
                // On CUBIC's curve where it reaches this share of the
                // limit, climbing to it and flattening there.
                let k = ((1.0 - BETA) / SCALE).cbrt();
                let to_go = ((1.0 - REMEMBERED_START) / SCALE).cbrt();
                let since = Duration::from_secs_f64((k - to_go).max(0.0));
                self.last_drop = now.saturating_sub(micros(since));
                self.curve_from = self.last_drop;
                self.mode = Mode::Paced {
                    rate: (limit * REMEMBERED_START).max(MIN_RATE),
                    last_max: limit,
                };
            }
        }
        self.seen = self.seen.max(now);
    }

    /// Whether holder `id` may send an attempt at `now`, under the user's
    /// `cap` (requests per second) if any. A `Go` takes the pace's next
    /// slot (and the cap's, and a window place); `lease` is how long a
    /// window place counts when the holder says nothing more.
    pub(crate) fn admit(
        &mut self,
        now: Micros,
        id: u64,
        cap: Option<f64>,
        lease: Micros,
    ) -> Admission {
        self.wake(now);
        if let Mode::Pending {
            bucket,
            unexplained,
        } = self.mode
            && now >= self.hold_until
        {
            self.set_first_pace(bucket, unexplained, now);
        }
        if now < self.hold_until {
            return Admission::Wait {
                at: self.hold_until,
                why: Wait::RetryAfter(span(now, self.hold_until)),
            };
        }
        if cap.is_some() && now < self.cap_slot {
            return Admission::Wait {
                at: self.cap_slot,
                why: Wait::RateCap(span(now, self.cap_slot)),
            };
        }
        if let Some(rate) = self.rate() {
            // A pace that rose since the last turn counts at once: at one
            // request every few seconds, waiting out the old interval would
            // keep a probe from growing.
            let slot = self
                .next_slot
                .min(self.last_turn.saturating_add(interval(rate)));
            if now < slot {
                return Admission::Wait {
                    at: slot,
                    why: Wait::Pace(span(now, slot)),
                };
            }
        }
        let windowed = match self.mode {
            Mode::SlowStart { window_halves } => {
                if self.in_flight(now) >= window_halves / 2 {
                    return Admission::Full;
                }
                self.holder(id, now, lease).in_flight += 1;
                true
            }
            _ => false,
        };
        if let Some(rate) = self.rate() {
            self.next_slot = now.saturating_add(interval(rate));
            self.last_turn = now;
        }
        if let Some(cap) = cap {
            self.cap_slot = now.saturating_add(interval(cap));
        }
        Admission::Go { windowed }
    }

    /// Records holder `id`'s observation.
    pub(crate) fn observe(&mut self, id: u64, o: Observation, lease: Micros) {
        self.wake(o.at);
        if o.windowed {
            let holder = self.holder(id, o.at, lease);
            holder.in_flight = holder.in_flight.saturating_sub(1);
        }
        match o.outcome {
            Observed::Nothing => {}
            Observed::Accepted => self.accepted(o.at, o.windowed),
            Observed::Throttled(wait) => self.throttled(o.at, o.sent_at, wait),
        }
    }

    fn accepted(&mut self, now: Micros, windowed: bool) {
        self.answered += 1;
        self.accepted.record(bucket(now));
        if windowed && let Mode::SlowStart { window_halves } = &mut self.mode {
            *window_halves += 1;
            if *window_halves >= SLOW_START_END_HALVES {
                self.mode = Mode::Open;
            }
        }
        // The pace now, and how far it may grow without a throttle before
        // no limit is near any more.
        let (pace, ceiling) = match self.mode {
            Mode::Probing { from, started, .. } => {
                let since = span(started, now).as_secs_f64();
                (from * (since / PROBE_DOUBLING).exp2(), from * PROBE_RELEASE)
            }
            Mode::Paced { .. } if now < self.plateau_until => return,
            Mode::Paced { last_max, .. } => {
                let since = span(self.curve_from, now).as_secs_f64();
                let k = ((1.0 - BETA) / SCALE).cbrt();
                (
                    last_max * (1.0 + SCALE * (since - k).powi(3)),
                    last_max * RELEASE_FACTOR,
                )
            }
            _ => return,
        };
        if pace > ceiling {
            // Far past anything the API throttled: unpaced again, in slow
            // start, so that the whole concurrency does not leave at once
            // to find where the limit is now.
            self.mode = Mode::slow_start();
            tracing::debug!("no throttle for a while: unpaced, in slow start");
        } else {
            match &mut self.mode {
                Mode::Paced { rate, .. } | Mode::Probing { rate, .. } => {
                    *rate = pace.max(MIN_RATE);
                }
                _ => {}
            }
        }
    }

    /// The first pace, from what the API accepted around the first
    /// throttle (in `bucket`).
    fn set_first_pace(&mut self, bucket: u64, unexplained: bool, now: Micros) {
        let accepted = self.accepted.around(bucket);
        let refused = self.refused.around(bucket);
        let early = self.answered < THIN_EVIDENCE;
        if unexplained && refused < SATURATED_SHARE * (accepted + refused) {
            // A 429 without Retry-After here and there among many
            // successes is not a limit being reached (a flaky proxy, a
            // short spike elsewhere): pacing by it would slow every
            // attempt for nothing. A Retry-After says a limit was reached.
            self.sporadic_until = now.saturating_add(SPORADIC_MEMORY);
            self.mode = Mode::Open;
            tracing::debug!(accepted, refused, "sporadic 429s: not pacing");
            return;
        }
        if early && unexplained && refused < 4.0 {
            // One to three 429s without Retry-After among the very first
            // responses: a noisy gateway's stray refusals look like a limit
            // here (a limit reached in slow start refuses every request in
            // flight, more than that). Judge by the next ones, after a
            // fresh slow start.
            self.mode = Mode::slow_start();
            tracing::debug!(
                accepted,
                refused,
                "throttled too early to tell: slow start again"
            );
            return;
        }
        // Too few successes around it to pace by (other clients with the
        // same key may be spending the limit): probe from what got through,
        // doubling every half second, until the next throttle; a slow start
        // would send a burst into the empty bucket.
        self.last_drop = now;
        self.curve_from = now;
        self.next_slot = now;
        self.remembered = Some(accepted.max(1.0));
        self.mode = if accepted < FEW_ACCEPTED {
            let from = accepted.max(1.0);
            Mode::Probing {
                rate: from,
                from,
                started: now,
            }
        } else {
            Mode::Paced {
                rate: (accepted * BETA).max(MIN_RATE),
                last_max: accepted,
            }
        };
        tracing::debug!(
            accepted,
            pace = self.rate().unwrap_or_default(),
            "paced from what the API accepted"
        );
    }

    /// A response at `now` throttled an attempt sent at `sent_at`, asking
    /// `wait` (its `Retry-After`, if any).
    fn throttled(&mut self, now: Micros, sent_at: Micros, wait: Option<Duration>) {
        self.answered += 1;
        let b = bucket(now);
        self.refused.record(b);
        if let Mode::SlowStart { .. } = self.mode {
            self.mode = Mode::Open;
        }
        match self.mode {
            Mode::Open if wait.is_none() && now < self.sporadic_until => {
                // 429s have been sporadic, not a limit: this one, without a
                // Retry-After to honour, holds nobody back.
                return;
            }
            Mode::Open | Mode::SlowStart { .. } => {
                self.mode = Mode::Pending {
                    bucket: b,
                    unexplained: wait.is_none(),
                };
                self.last_drop = now;
                tracing::debug!("throttled: holding every attempt back");
            }
            // Sent before the last drop: that drop already answered it. And
            // at most one drop a second, so that sporadic 429s (one request
            // in twenty, say, from a flaky proxy) slow the client down
            // without taking the pace to its floor before it can regrow.
            Mode::Paced { rate, .. } | Mode::Probing { rate, .. }
                if sent_at >= self.last_drop
                    && now.saturating_sub(self.last_drop) >= MIN_DROP_INTERVAL =>
            {
                let probing = matches!(self.mode, Mode::Probing { .. });
                let (took, refused) = (self.accepted.last_second(b), self.refused.last_second(b));
                // The pace may have grown past what the API accepts while
                // a full bucket hid it; when the last second held no hold,
                // what it accepted is the better measure. Not during a
                // probe: its pace has just doubled, and what was accepted
                // in the last second lags far behind it.
                let quiet = self.hold_until.saturating_add(SEC) <= now;
                let measured = if quiet && !probing { took } else { rate };
                // What share of this pace the API took in the last second:
                // against a limit spent by other clients with the same key
                // as well, it refuses much of it, and one drop of `BETA` at
                // a time would take many seconds (and 429s) to get under it.
                let share = if took + refused >= SHARE_EVIDENCE {
                    (took / (took + refused)).max(MIN_SHARE)
                } else {
                    1.0
                };
                let from = (rate * share).min(measured).max(MIN_RATE);
                // A drop that agrees with the limit last learned (two
                // drops near one rate): that is the limit. Hold just under
                // it for a while, and climb from there, instead of from
                // BETA of it.
                let agrees = self
                    .remembered
                    .is_some_and(|r| (from - r).abs() <= AGREEMENT * r);
                let (pace, since) = if agrees {
                    self.plateau_until = now.saturating_add(PLATEAU);
                    let k = ((1.0 - BETA) / SCALE).cbrt();
                    let to_go = ((1.0 - PLATEAU_SHARE) / SCALE).cbrt();
                    (
                        from * PLATEAU_SHARE,
                        micros(Duration::from_secs_f64(k - to_go)),
                    )
                } else {
                    (from * BETA, 0)
                };
                self.mode = Mode::Paced {
                    rate: pace.max(MIN_RATE),
                    last_max: from,
                };
                self.remembered = Some(from);
                self.last_drop = now;
                // CUBIC's curve runs from where this pace sits on it, once
                // the plateau ends.
                self.curve_from = now
                    .saturating_add(if agrees { PLATEAU } else { 0 })
                    .saturating_sub(since);
                self.epoch += 1;
                tracing::debug!(
                    pace = self.rate().unwrap_or_default(),
                    "throttled: slowing down"
                );
            }
            _ => {}
        }
        // Without Retry-After: one interval of the pace lets the server's
        // bucket gain a token; before there is a pace, a second.
        let wait = wait.unwrap_or_else(|| {
            self.rate()
                .map_or(Duration::from_secs(1), |r| Duration::from_secs_f64(1.0 / r))
        });
        let until = now.saturating_add(micros(wait.min(LONGEST_HOLD)));
        if until > self.hold_until {
            self.held_back += until - self.hold_until.max(now);
            self.hold_until = until;
            self.epoch += 1;
        }
    }
}

#[cfg(test)]
pub(crate) mod table {
    //! The table: instants in, decisions out. Each row is a function run
    //! once on a state in memory (here) and once on a state kept in a Redis
    //! server that the test starts (`redis.rs`): every step then goes
    //! through the store's compare-and-set and the state's serialisation.
    use super::*;
    use std::cell::RefCell;

    /// Keeps a state between steps.
    pub(crate) trait Keeper {
        /// Runs `step` on the state kept.
        fn keep(&mut self, step: &mut dyn FnMut(&mut FlowState));
    }

    /// A state in memory.
    struct Plain(FlowState);

    impl Keeper for Plain {
        fn keep(&mut self, step: &mut dyn FnMut(&mut FlowState)) {
            step(&mut self.0);
        }
    }

    /// Makes the keeper of a fresh state at the instant given.
    type MakeKeeper = Box<dyn Fn(Micros) -> Box<dyn Keeper>>;

    thread_local! {
        // Where the rows keep their states: in memory unless set.
        static STORE: RefCell<Option<MakeKeeper>> = RefCell::new(None);
    }

    /// Runs `row` with every state kept by `store` (a fresh state at the
    /// instant given).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn run_kept_by(store: impl Fn(Micros) -> Box<dyn Keeper> + 'static, row: fn()) {
        STORE.with(|s| *s.borrow_mut() = Some(Box::new(store)));
        row();
        STORE.with(|s| *s.borrow_mut() = None);
    }

    /// A state as the rows see it, wherever it is kept.
    struct Kept(RefCell<Box<dyn Keeper>>);

    impl std::fmt::Debug for Kept {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.get(|s| s.clone()))
        }
    }

    impl Kept {
        fn new(now: Micros) -> Self {
            let keeper = STORE.with(|s| s.borrow().as_ref().map(|make| make(now)));
            Kept(RefCell::new(
                keeper.unwrap_or_else(|| Box::new(Plain(FlowState::new(now)))),
            ))
        }

        /// Runs `f` once on the state kept, and gives what it returned.
        fn get<R>(&self, f: impl FnOnce(&mut FlowState) -> R) -> R {
            let mut f = Some(f);
            let mut out = None;
            self.0.borrow_mut().keep(&mut |s| {
                if let Some(f) = f.take() {
                    out = Some(f(s));
                }
            });
            out.expect("the keeper ran the step")
        }

        fn admit(&mut self, now: Micros, id: u64, cap: Option<f64>, lease: Micros) -> Admission {
            self.get(|s| s.admit(now, id, cap, lease))
        }

        fn observe(&mut self, id: u64, o: Observation, lease: Micros) {
            self.get(|s| s.observe(id, o, lease));
        }

        fn mode(&self) -> Mode {
            self.get(|s| s.mode.clone())
        }

        fn rate(&self) -> Option<f64> {
            self.get(|s| s.rate())
        }

        /// The pace and the rate last throttled, when paced.
        fn paced(&self) -> (f64, f64) {
            match self.mode() {
                Mode::Paced { rate, last_max } => (rate, last_max),
                _ => panic!("not paced: {self:?}"),
            }
        }

        fn holding(&self, now: Micros) -> (bool, Duration) {
            self.get(|s| s.holding(now))
        }

        fn remembered(&self) -> Option<f64> {
            self.get(|s| s.remembered())
        }

        fn epoch(&self) -> u64 {
            self.get(|s| s.epoch)
        }
    }

    const MS: Micros = 1_000;
    /// A 429 whose `Retry-After` holds for a millisecond: a throttle that
    /// drops the pace (or not) without a hold worth the name.
    const BRIEF: Observed = Observed::Throttled(Some(Duration::from_millis(1)));
    const ME: u64 = 1;
    const LEASE: Micros = HOLDER_LEASE;

    fn go(s: &mut Kept, now: Micros) -> Admission {
        s.admit(now, ME, None, LEASE)
    }

    fn see(s: &mut Kept, at: Micros, sent_at: Micros, windowed: bool, outcome: Observed) {
        s.observe(
            ME,
            Observation {
                at,
                sent_at,
                windowed,
                outcome,
            },
            LEASE,
        );
    }

    /// `n` attempts at `at`, each accepted at once.
    fn accept(s: &mut Kept, at: Micros, n: usize) {
        for _ in 0..n {
            let Admission::Go { windowed } = go(s, at) else {
                panic!("no turn at {at}: {s:?}");
            };
            see(s, at, at, windowed, Observed::Accepted);
        }
    }

    /// Ten accepted, then four 429s with `Retry-After: 1` (a limit reached
    /// in slow start against a bucket of ten), all at `t0`.
    fn reach_a_limit(s: &mut Kept, t0: Micros) {
        accept(s, t0, 10);
        let turns: Vec<_> = (0..4).map(|_| go(s, t0)).collect();
        for turn in turns {
            let Admission::Go { windowed } = turn else {
                panic!("{turn:?}")
            };
            see(
                s,
                t0,
                t0,
                windowed,
                Observed::Throttled(Some(Duration::from_secs(1))),
            );
        }
    }

    pub(crate) fn slow_start_admits_two_then_half_a_place_more_per_success() {
        let mut s = Kept::new(0);
        assert_eq!(go(&mut s, 0), Admission::Go { windowed: true });
        assert_eq!(go(&mut s, 0), Admission::Go { windowed: true });
        assert_eq!(go(&mut s, 0), Admission::Full);
        see(&mut s, 1, 0, true, Observed::Accepted);
        // Two in flight of 2.5: one more.
        assert_eq!(go(&mut s, 1), Admission::Go { windowed: true });
        assert_eq!(go(&mut s, 1), Admission::Full);
        see(&mut s, 2, 0, true, Observed::Nothing);
        assert_eq!(go(&mut s, 2), Admission::Go { windowed: true });
        // Slow start ends at 256 places.
        let mut s = Kept::new(0);
        accept(&mut s, 0, 508);
        assert_eq!(s.mode(), Mode::Open);
        assert_eq!(go(&mut s, 0), Admission::Go { windowed: false });
    }

    pub(crate) fn a_killed_holders_places_are_freed_when_its_lease_ends() {
        let mut s = Kept::new(0);
        assert_eq!(s.admit(0, 7, None, LEASE), Admission::Go { windowed: true });
        assert_eq!(s.admit(0, 7, None, LEASE), Admission::Go { windowed: true });
        // Holder 7 is killed: another waits only until its lease ends, ten
        // seconds after it last spoke.
        assert_eq!(LEASE, 10_000_000);
        assert_eq!(s.admit(LEASE - 1, 8, None, LEASE), Admission::Full);
        assert_eq!(
            s.admit(LEASE, 8, None, LEASE),
            Admission::Go { windowed: true }
        );
    }

    pub(crate) fn a_first_throttle_holds_then_paces_from_what_was_accepted() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        let table = [
            (
                0,
                Admission::Wait {
                    at: SEC,
                    why: Wait::RetryAfter(Duration::from_secs(1)),
                },
            ),
            (
                400 * MS,
                Admission::Wait {
                    at: SEC,
                    why: Wait::RetryAfter(Duration::from_millis(600)),
                },
            ),
            (SEC, Admission::Go { windowed: false }),
            (
                SEC,
                Admission::Wait {
                    at: SEC + 142_857,
                    why: Wait::Pace(Duration::from_micros(142_857)),
                },
            ),
            (SEC + 142_857, Admission::Go { windowed: false }),
        ];
        for (now, expected) in table {
            assert_eq!(go(&mut s, now), expected, "at {now}");
        }
        // 0.7 of the ten accepted.
        assert_eq!(s.rate(), Some(7.0));
        assert_eq!(s.holding(2 * SEC), (false, Duration::from_secs(1)));
        assert_eq!(s.remembered(), Some(10.0));
    }

    pub(crate) fn sporadic_429s_set_no_pace_and_then_hold_nobody() {
        let mut s = Kept::new(0);
        accept(&mut s, 0, 100);
        see(&mut s, 0, 0, false, Observed::Throttled(None));
        assert_eq!(go(&mut s, SEC), Admission::Go { windowed: false });
        assert_eq!((s.rate(), &s.mode()), (None, &Mode::Open));
        // The same share with Retry-After is a limit reached.
        let mut paced = Kept::new(0);
        accept(&mut paced, 0, 100);
        see(
            &mut paced,
            0,
            0,
            false,
            Observed::Throttled(Some(Duration::from_secs(1))),
        );
        assert_eq!(go(&mut paced, SEC), Admission::Go { windowed: false });
        assert_eq!(paced.rate(), Some(70.0));
        // Within the sporadic memory, a 429 without Retry-After holds
        // nobody back; one with it does.
        see(&mut s, 2 * SEC, 2 * SEC, false, Observed::Throttled(None));
        assert_eq!(s.holding(2 * SEC), (false, Duration::from_secs(1)));
        see(
            &mut s,
            2 * SEC,
            2 * SEC,
            false,
            Observed::Throttled(Some(Duration::from_secs(2))),
        );
        assert_eq!(s.holding(2 * SEC), (true, Duration::from_secs(1)));
        assert_eq!(s.holding(4 * SEC), (false, Duration::from_secs(3)));
        // The verdict lasts ten seconds from when it was judged (at 1 s):
        // at 10.9 s a stray 429 still holds nobody; at 11 s it does.
        let mut s = Kept::new(0);
        accept(&mut s, 0, 100);
        see(&mut s, 0, 0, false, Observed::Throttled(None));
        go(&mut s, SEC);
        see(
            &mut s,
            10_900 * MS,
            10_900 * MS,
            false,
            Observed::Throttled(None),
        );
        assert_eq!(s.holding(10_900 * MS), (false, Duration::from_secs(1)));
        assert_eq!(s.mode(), Mode::Open);
        see(&mut s, 11 * SEC, 11 * SEC, false, Observed::Throttled(None));
        assert_eq!(s.holding(11 * SEC), (true, Duration::from_secs(1)));
        assert!(matches!(
            s.mode(),
            Mode::Pending {
                unexplained: true,
                ..
            }
        ));
    }

    pub(crate) fn thin_evidence_restarts_slow_start_and_four_refusals_do_not() {
        let mut s = Kept::new(0);
        accept(&mut s, 0, 3);
        see(&mut s, 0, 0, true, Observed::Throttled(None));
        assert!(matches!(
            s.mode(),
            Mode::Pending {
                unexplained: true,
                ..
            }
        ));
        assert_eq!(go(&mut s, SEC), Admission::Go { windowed: true });
        assert_eq!(
            s.mode(),
            Mode::SlowStart {
                window_halves: INITIAL_WINDOW_HALVES
            }
        );
        // Four refusals at once are a limit reached, early or not.
        let mut s = Kept::new(0);
        accept(&mut s, 0, 5);
        for _ in 0..4 {
            see(&mut s, 0, 0, false, Observed::Throttled(None));
        }
        assert_eq!(go(&mut s, SEC), Admission::Go { windowed: false });
        assert!(s.rate().is_some());
    }

    pub(crate) fn few_successes_probe_doubling_every_half_second() {
        let mut s = Kept::new(0);
        accept(&mut s, 0, 1);
        for _ in 0..2 {
            see(
                &mut s,
                0,
                0,
                false,
                Observed::Throttled(Some(Duration::from_secs(1))),
            );
        }
        assert_eq!(go(&mut s, SEC), Admission::Go { windowed: false });
        assert_eq!(s.rate(), Some(1.0));
        // (success at, pace after)
        for (at, pace) in [(SEC + 500 * MS, 2.0), (2 * SEC, 4.0), (3 * SEC, 16.0)] {
            see(&mut s, at, at, false, Observed::Accepted);
            assert!((s.rate().unwrap() - pace).abs() < 1e-9, "{at}: {s:?}");
        }
        // Past 16 times where it started: no limit is near.
        see(&mut s, 3 * SEC + 1, 3 * SEC, false, Observed::Accepted);
        assert_eq!(s.mode(), Mode::slow_start());
    }

    pub(crate) fn the_pace_drops_once_a_second_for_attempts_sent_after_the_drop() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        assert_eq!(s.rate(), Some(7.0));
        let drop_at = SEC;
        // (when, sent at, pace after): sent before the drop, too soon after
        // it, then a real drop a second later. The last second holds no
        // response, so the share is whole and the measure is the pace.
        let table = [
            (drop_at + 1100 * MS, 500 * MS, 7.0),
            (drop_at + 500 * MS, drop_at + 100 * MS, 7.0),
            (drop_at + 1200 * MS, drop_at + 1100 * MS, 7.0 * BETA),
        ];
        for (now, sent, pace) in table {
            see(&mut s, now, sent, false, BRIEF);
            assert!((s.rate().unwrap() - pace).abs() < 1e-9, "{s:?} != {pace}");
        }
    }

    pub(crate) fn a_drop_takes_the_share_refused_into_account() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        // At 2.5 s, after a quiet second: 4 accepted and 3 refused in the
        // last second drop the pace from 4/7 of it (no more than measured).
        for _ in 0..4 {
            see(&mut s, 2500 * MS, 2 * SEC, false, Observed::Accepted);
        }
        let paced = s.rate().unwrap();
        for _ in 0..3 {
            see(&mut s, 2500 * MS, 2 * SEC, false, BRIEF);
        }
        let expected = (paced * 4.0 / 7.0).min(4.0) * BETA;
        assert!(
            (s.rate().unwrap() - expected).abs() < 1e-9,
            "{s:?} {expected}"
        );
    }

    /// A drop after a quiet second in which nothing of this state's got
    /// through (other clients with the same key spent the limit) goes by
    /// what was measured, to the floor, not to a share of the pace.
    pub(crate) fn a_drop_after_a_quiet_second_with_nothing_through_goes_to_the_floor() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        assert_eq!(s.rate(), Some(7.0));
        see(&mut s, 2500 * MS, 2 * SEC, false, BRIEF);
        let (rate, last_max) = s.paced();
        assert_eq!((rate, last_max), (MIN_RATE, MIN_RATE), "{s:?}");
        assert_eq!(MIN_RATE, 0.25);
    }

    pub(crate) fn the_pace_climbs_along_cubic_then_releases() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        let k = micros(Duration::from_secs_f64(((1.0 - BETA) / SCALE).cbrt()));
        see(&mut s, SEC + k, SEC, false, Observed::Accepted);
        assert!((s.rate().unwrap() - 10.0).abs() < 1e-3, "{s:?}");
        see(&mut s, SEC + k + 5 * SEC, SEC, false, Observed::Accepted);
        assert!(s.rate().unwrap() > 10.0);
        see(&mut s, SEC + k + 30 * SEC, SEC, false, Observed::Accepted);
        assert_eq!(s.mode(), Mode::slow_start());
    }

    pub(crate) fn a_drop_that_agrees_with_the_last_holds_just_under_it_then_climbs() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        assert_eq!(s.remembered(), Some(10.0));
        // Two seconds on: 10 taken and one refused in the last second
        // agree with the 10 learned.
        let at = 3 * SEC;
        for _ in 0..10 {
            see(&mut s, at - 100 * MS, 2 * SEC, false, Observed::Accepted);
        }
        see(&mut s, at, 2 * SEC, false, BRIEF);
        let (rate, last_max) = s.paced();
        // The share the API took of the pace (10 of 11), within 15% of 10.
        assert!((8.5..10.0).contains(&last_max), "{s:?}");
        let plateau = last_max * PLATEAU_SHARE;
        assert!((rate - plateau).abs() < 1e-9, "{s:?}");
        // (success after, pace within): flat for the plateau, then along
        // CUBIC's curve from where it sits on it, to the limit and past.
        // A second past the plateau, the curve is where it is 0.97 of the
        // limit 7.5^(1/3) s before reaching it, plus that second.
        let past = last_max * (1.0 + 0.004 * (1.0 - 7.5f64.cbrt()).powi(3));
        let table = [
            (5 * SEC, plateau, plateau),
            (PLATEAU - 1, plateau, plateau),
            (PLATEAU + SEC, past - 1e-6, past + 1e-6),
            (PLATEAU + 2 * SEC, 0.99 * last_max, 1.01 * last_max),
            (PLATEAU + 6 * SEC, 1.15 * last_max, 1.3 * last_max),
        ];
        for (after, low, high) in table {
            see(&mut s, at + after, at, false, Observed::Accepted);
            let rate = s.rate().unwrap();
            assert!(
                (low - 1e-9..=high + 1e-9).contains(&rate),
                "{after}: {rate}"
            );
        }
        // A drop far from it does not agree: BETA of it, no plateau.
        let far = at + PLATEAU + 8 * SEC;
        for _ in 0..3 {
            see(&mut s, far - 100 * MS, far - SEC, false, Observed::Accepted);
        }
        see(&mut s, far, far - SEC, false, BRIEF);
        let (rate, last_max) = s.paced();
        assert!(last_max < 0.5 * plateau, "{s:?}");
        assert!((rate - last_max * BETA).abs() < 1e-9, "{s:?}");
    }

    pub(crate) fn the_cap_spaces_every_turn_evenly() {
        let mut s = Kept::new(0);
        let cap = Some(4.0);
        assert_eq!(s.admit(0, ME, cap, LEASE), Admission::Go { windowed: true });
        assert_eq!(
            s.admit(100 * MS, ME, cap, LEASE),
            Admission::Wait {
                at: 250 * MS,
                why: Wait::RateCap(Duration::from_millis(150))
            }
        );
        assert_eq!(
            s.admit(250 * MS, ME, cap, LEASE),
            Admission::Go { windowed: true }
        );
    }

    pub(crate) fn an_idle_state_starts_just_under_the_limit_it_learned() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        let later = 100 * SEC;
        let epoch = s.epoch();
        assert_eq!(go(&mut s, later), Admission::Go { windowed: false });
        assert_eq!(s.rate(), Some(9.0));
        assert!(s.epoch() > epoch);
        // And climbs to it along CUBIC's curve, where it reaches 0.9 of
        // the limit 25^(1/3) s before the limit: a second on,
        // 10 * (1 + 0.004 * (1 - 25^(1/3))^3).
        see(&mut s, later + SEC, later, false, Observed::Accepted);
        let rate = s.rate().unwrap();
        let on_the_curve = 10.0 * (1.0 + 0.004 * (1.0 - 25f64.cbrt()).powi(3));
        assert!((rate - on_the_curve).abs() < 1e-5, "{rate} {on_the_curve}");
        // Flattening there.
        see(&mut s, later + 3 * SEC, later, false, Observed::Accepted);
        let rate = s.rate().unwrap();
        assert!((9.9..10.05).contains(&rate), "{rate}");
        // Without a limit learned, slow start.
        let mut s = Kept::new(0);
        accept(&mut s, 0, 3);
        assert_eq!(go(&mut s, later), Admission::Go { windowed: true });
        assert_eq!(s.mode(), Mode::slow_start());
    }

    pub(crate) fn a_hold_past_any_instant_holds_for_the_longest_hold() {
        let mut s = Kept::new(0);
        accept(&mut s, 0, 10);
        see(
            &mut s,
            0,
            0,
            false,
            Observed::Throttled(Some(Duration::MAX)),
        );
        assert_eq!(s.holding(0), (true, Duration::ZERO));
        // Thirty days.
        let thirty_days = Duration::from_secs(2_592_000);
        let end = micros(thirty_days);
        assert_eq!(
            s.holding(end - 1),
            (true, thirty_days - Duration::from_micros(1))
        );
        assert_eq!(s.holding(end), (false, thirty_days));
    }

    /// Three seconds of answers are kept, in thirty buckets of 100 ms:
    /// what a drop (the last second) and a first pace (a second before
    /// the throttle to half a second after) read, and no more, so that the
    /// state a fleet's store moves on every update stays small however
    /// long the run.
    pub(crate) fn three_seconds_of_answers_are_kept() {
        let mut s = Kept::new(0);
        // One success every 100 ms for a minute.
        for n in 0..600 {
            accept(&mut s, n * BUCKET, 1);
        }
        let (kept, newest, oldest, older) = s.get(|s| {
            (
                s.accepted.0.len(),
                s.accepted.between(599, 599),
                s.accepted.between(570, 570),
                s.accepted.between(0, 569),
            )
        });
        assert_eq!((kept, newest, oldest, older), (30, 1.0, 1.0, 0.0));
        // Two answers in one bucket count twice.
        accept(&mut s, 599 * BUCKET + 1, 1);
        assert_eq!(s.get(|s| s.accepted.last_second(599)), 11.0);
    }

    /// Whether the state is open (every admission a `Go` until the next
    /// throttle), as the fleet's store asks before it leases turns: only
    /// unpaced, past slow start, with no hold and no cap.
    pub(crate) fn only_an_open_state_without_a_cap_is_open() {
        let mut s = Kept::new(0);
        assert!(!s.get(|s| s.is_open(0, None)), "in slow start");
        accept(&mut s, 0, 508);
        assert_eq!(s.mode(), Mode::Open);
        assert!(s.get(|s| s.is_open(0, None)));
        assert!(!s.get(|s| s.is_open(0, Some(100.0))), "capped");
        see(
            &mut s,
            0,
            0,
            false,
            Observed::Throttled(Some(Duration::from_secs(1))),
        );
        assert!(!s.get(|s| s.is_open(0, None)), "held");
        go(&mut s, 2 * SEC);
        assert!(s.rate().is_some());
        assert!(!s.get(|s| s.is_open(2 * SEC, None)), "paced");
    }

    /// Live holders keep their places, and a holder whose lease ended is
    /// forgotten when another speaks: a fleet whose processes come and go
    /// keeps no record of the dead.
    pub(crate) fn live_holders_keep_their_places_and_the_dead_are_forgotten() {
        let mut s = Kept::new(0);
        assert_eq!(s.admit(0, 7, None, LEASE), Admission::Go { windowed: true });
        assert_eq!(
            s.admit(5 * SEC, 8, None, LEASE),
            Admission::Go { windowed: true }
        );
        assert_eq!(s.admit(9 * SEC, 9, None, LEASE), Admission::Full);
        // 7's lease ends at 10 s: its place is free, and it is forgotten;
        // 8 keeps its place.
        assert_eq!(
            s.admit(LEASE, 9, None, LEASE),
            Admission::Go { windowed: true }
        );
        let holders = s.get(|s| {
            s.holders
                .iter()
                .map(|h| (h.id, h.in_flight))
                .collect::<Vec<_>>()
        });
        assert_eq!(holders, [(8, 1), (9, 1)]);
        assert_eq!(s.admit(LEASE, 10, None, LEASE), Admission::Full);
    }

    /// The first pace's rules, each at its edge:
    /// - three 429s without `Retry-After` among exactly twenty answers are
    ///   evidence enough (the rule is for fewer than twenty), and set a pace;
    /// - 429s that are exactly an eighth of the answers around them are a
    ///   limit reached, not sporadic;
    /// - exactly two successes around a first throttle are a measure to
    ///   pace by, not a reason to probe.
    pub(crate) fn the_first_paces_rules_at_their_edges() {
        for (accepted, refused) in [(17, 3), (21, 3)] {
            let mut s = Kept::new(0);
            accept(&mut s, 0, accepted);
            for _ in 0..refused {
                see(&mut s, 0, 0, false, Observed::Throttled(None));
            }
            assert_eq!(go(&mut s, SEC), Admission::Go { windowed: false });
            let accepted = accepted as f64;
            assert_eq!(
                s.mode(),
                Mode::Paced {
                    rate: accepted * BETA,
                    last_max: accepted
                },
                "{accepted} accepted"
            );
        }
        let mut s = Kept::new(0);
        accept(&mut s, 0, 2);
        see(
            &mut s,
            0,
            0,
            false,
            Observed::Throttled(Some(Duration::from_secs(1))),
        );
        go(&mut s, SEC);
        assert_eq!(
            s.mode(),
            Mode::Paced {
                rate: 2.0 * BETA,
                last_max: 2.0
            }
        );
    }

    /// A drop within a second of a hold measures by the pace times the
    /// share the API took in the last second (one of four here), not by
    /// what it accepted, which the hold kept low.
    pub(crate) fn a_drop_soon_after_a_hold_takes_the_share_taken_of_the_pace() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        // 429s for attempts sent before the last drop: holds, no drop.
        for at in [1500 * MS, 1600 * MS] {
            see(&mut s, at, 500 * MS, false, BRIEF);
        }
        see(&mut s, 1900 * MS, 1800 * MS, false, Observed::Accepted);
        let paced = s.rate().unwrap();
        see(&mut s, 2200 * MS, 2100 * MS, false, BRIEF);
        let (rate, last_max) = s.paced();
        assert!((last_max - paced * 0.25).abs() < 1e-9, "{paced}: {s:?}");
        assert!((rate - paced * 0.25 * BETA).abs() < 1e-9, "{paced}: {s:?}");
    }

    /// While paced: a 429 without `Retry-After` that drops nothing holds
    /// one interval of the pace. Every hold that reaches further, and
    /// every drop, voids the leases (the epoch moves); a 429 that ends the
    /// hold where it already ends does not.
    pub(crate) fn holds_and_drops_while_paced_move_the_epoch() {
        let mut s = Kept::new(0);
        reach_a_limit(&mut s, 0);
        go(&mut s, SEC);
        assert_eq!(s.rate(), Some(7.0));
        let at = 1500 * MS;
        // Sent before the last drop (at 1 s): no drop, a hold of 1/7 s.
        let before = s.epoch();
        see(&mut s, at, 500 * MS, false, Observed::Throttled(None));
        assert_eq!(s.rate(), Some(7.0));
        assert!(s.holding(at + 142_856).0);
        assert!(!s.holding(at + 142_857).0);
        assert_eq!(s.epoch(), before + 1);
        let five = Observed::Throttled(Some(Duration::from_secs(5)));
        see(&mut s, at, 500 * MS, false, five);
        assert_eq!(s.epoch(), before + 2);
        see(&mut s, at, 500 * MS, false, five);
        assert_eq!(s.epoch(), before + 2, "the same hold again");
        // A drop inside that hold extends nothing, and voids the leases.
        see(&mut s, 2200 * MS, 2100 * MS, false, BRIEF);
        assert!(s.rate().unwrap() < 7.0, "{s:?}");
        assert_eq!(s.epoch(), before + 3);
    }

    #[test]
    fn the_state_survives_its_serialisation() {
        let mut s = Kept::new(5);
        reach_a_limit(&mut s, 5);
        go(&mut s, SEC + 5);
        let state = s.get(|s| s.clone());
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<FlowState>(&text).unwrap(), state);
    }

    /// Every row, named, for the run through another store.
    pub(crate) const ROWS: &[(&str, fn())] = &[
        (
            "slow_start_admits_two_then_half_a_place_more_per_success",
            slow_start_admits_two_then_half_a_place_more_per_success,
        ),
        (
            "a_killed_holders_places_are_freed_when_its_lease_ends",
            a_killed_holders_places_are_freed_when_its_lease_ends,
        ),
        (
            "a_first_throttle_holds_then_paces_from_what_was_accepted",
            a_first_throttle_holds_then_paces_from_what_was_accepted,
        ),
        (
            "sporadic_429s_set_no_pace_and_then_hold_nobody",
            sporadic_429s_set_no_pace_and_then_hold_nobody,
        ),
        (
            "thin_evidence_restarts_slow_start_and_four_refusals_do_not",
            thin_evidence_restarts_slow_start_and_four_refusals_do_not,
        ),
        (
            "few_successes_probe_doubling_every_half_second",
            few_successes_probe_doubling_every_half_second,
        ),
        (
            "the_pace_drops_once_a_second_for_attempts_sent_after_the_drop",
            the_pace_drops_once_a_second_for_attempts_sent_after_the_drop,
        ),
        (
            "a_drop_takes_the_share_refused_into_account",
            a_drop_takes_the_share_refused_into_account,
        ),
        (
            "a_drop_after_a_quiet_second_with_nothing_through_goes_to_the_floor",
            a_drop_after_a_quiet_second_with_nothing_through_goes_to_the_floor,
        ),
        (
            "the_pace_climbs_along_cubic_then_releases",
            the_pace_climbs_along_cubic_then_releases,
        ),
        (
            "a_drop_that_agrees_with_the_last_holds_just_under_it_then_climbs",
            a_drop_that_agrees_with_the_last_holds_just_under_it_then_climbs,
        ),
        (
            "the_cap_spaces_every_turn_evenly",
            the_cap_spaces_every_turn_evenly,
        ),
        (
            "an_idle_state_starts_just_under_the_limit_it_learned",
            an_idle_state_starts_just_under_the_limit_it_learned,
        ),
        (
            "a_hold_past_any_instant_holds_for_the_longest_hold",
            a_hold_past_any_instant_holds_for_the_longest_hold,
        ),
        (
            "three_seconds_of_answers_are_kept",
            three_seconds_of_answers_are_kept,
        ),
        (
            "only_an_open_state_without_a_cap_is_open",
            only_an_open_state_without_a_cap_is_open,
        ),
        (
            "live_holders_keep_their_places_and_the_dead_are_forgotten",
            live_holders_keep_their_places_and_the_dead_are_forgotten,
        ),
        (
            "the_first_paces_rules_at_their_edges",
            the_first_paces_rules_at_their_edges,
        ),
        (
            "a_drop_soon_after_a_hold_takes_the_share_taken_of_the_pace",
            a_drop_soon_after_a_hold_takes_the_share_taken_of_the_pace,
        ),
        (
            "holds_and_drops_while_paced_move_the_epoch",
            holds_and_drops_while_paced_move_the_epoch,
        ),
    ];

    #[test]
    fn every_row_in_memory() {
        for (name, row) in ROWS {
            eprintln!("{name}");
            row();
        }
    }
}
