//! The pace: what the API's 429s say about its limit, and when the next
//! attempt may leave. Plain arithmetic on instants passed in: no clock, no
//! atomics, no lock, so its decisions are tested with tables of instants
//! and scripted outcomes (see `mod.rs` for the whole design).

use crate::transport::deadline::Wait;
use std::time::Duration;
use tokio::time::Instant;

/// CUBIC's multiplicative decrease.
pub(super) const BETA: f64 = 0.7;
/// CUBIC's scaling constant, relative to the rate last throttled, per
/// second cubed. Relative, so that 2.5 req/s and 100 req/s are probed
/// alike: back to the throttled rate `cbrt((1 - BETA) / SCALE)` ≈ 4.2 s
/// after a drop, 11% above it 3 s later. 0.01 threw about one more 429 per
/// cycle at 2.5 and 10 req/s.
pub(super) const SCALE: f64 = 0.004;
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
pub(super) const THIN_EVIDENCE: f64 = 20.0;
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
/// The pace never drops below this (one request every 4 s).
const MIN_RATE: f64 = 0.25;
/// The pace is dropped when it has grown this far past the last throttled
/// rate with no throttle: the API has no limit near it any more.
const RELEASE_FACTOR: f64 = 4.0;

/// What the API accepted and refused around the first throttle, for the
/// first pace.
#[derive(Debug, Clone, Copy)]
pub(super) struct FirstEvidence {
    /// Responses that did not throttle, from a second before to half a
    /// second after it.
    pub accepted: f64,
    /// Responses that throttled, over the same span.
    pub refused: f64,
    /// Whether the client had only just begun (fewer than `THIN_EVIDENCE`
    /// answers).
    pub early: bool,
}

/// What the API took and refused in the last second, at a throttle.
#[derive(Debug, Clone, Copy)]
pub(super) struct Evidence {
    /// The 100 ms bucket the throttle fell in.
    pub bucket: u64,
    /// Responses that did not throttle in the last second.
    pub took: f64,
    /// Responses that throttled in the last second.
    pub refused: f64,
}

/// Whether an attempt may leave now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Turned {
    /// It may; `restart`: start slow start again first.
    Go { restart: bool },
    /// Not before `at`, because of `why`.
    Wait {
        at: Instant,
        why: Wait,
        restart: bool,
    },
}

#[derive(Debug)]
pub(super) struct Pacer {
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

impl Pacer {
    /// The first pace, from what the API accepted around the first
    /// throttle. Returns true when the evidence was too thin to set one and
    /// slow start should begin again.
    pub(super) fn set_first_pace(
        &mut self,
        accepted: f64,
        refused: f64,
        early: bool,
        now: Instant,
    ) -> bool {
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

    /// A pacer at `now`: unpaced, holding nobody.
    pub(super) fn new(now: Instant) -> Self {
        Self {
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
        }
    }

    /// The pace in requests per second; `None` while unpaced.
    pub(super) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Whether the client is holding back at `now`, and for how long it
    /// has held back in all (the union of the holds, up to `now`).
    pub(super) fn holding(&self, now: Instant) -> (bool, Duration) {
        (
            self.hold_until > now,
            self.held_back
                .saturating_sub(self.hold_until.saturating_duration_since(now)),
        )
    }

    /// Whether an attempt may leave at `now`: [`Turned::Go`] (the pace's
    /// next slot is then taken), or the instant to wait for and why. A
    /// first pace waiting on the hold is set here, from `first(bucket)`:
    /// what the API accepted and refused around the first throttle, and
    /// whether the client had only just begun.
    pub(super) fn turn(
        &mut self,
        now: Instant,
        first: impl FnOnce(u64) -> FirstEvidence,
    ) -> Turned {
        let mut restart = false;
        if let Some(bucket) = self.pending
            && now >= self.hold_until
        {
            let e = first(bucket);
            restart = self.set_first_pace(e.accepted, e.refused, e.early, now);
        }
        // A pace that rose since the last turn counts at once: at one
        // request every few seconds, waiting out the old interval would
        // keep a probe from growing.
        let slot = match self.rate {
            Some(rate) => self
                .next_slot
                .min(self.last_turn + Duration::from_secs_f64(1.0 / rate)),
            None => self.next_slot,
        };
        if now >= slot && now >= self.hold_until {
            if let Some(rate) = self.rate {
                self.next_slot = now + Duration::from_secs_f64(1.0 / rate);
                self.last_turn = now;
            }
            return Turned::Go { restart };
        }
        let (at, why) = if self.hold_until >= slot {
            (self.hold_until, Wait::RetryAfter(self.hold_until - now))
        } else {
            (slot, Wait::Pace(slot - now))
        };
        Turned::Wait { at, why, restart }
    }

    /// A response at `now` throttled a request sent at `sent_at`, asking
    /// `wait` (its `Retry-After`, if any); `evidence` is what the API took
    /// and refused in the last second.
    pub(super) fn throttled(
        &mut self,
        now: Instant,
        sent_at: Instant,
        wait: Option<Duration>,
        evidence: Evidence,
    ) {
        match (self.rate, self.pending) {
            (None, None) if wait.is_none() && now < self.sporadic_until => {
                // 429s have been sporadic, not a limit: this one, without a
                // Retry-After to honour, holds nobody back.
                return;
            }
            (None, None) => {
                self.pending = Some(evidence.bucket);
                self.pending_unexplained = wait.is_none();
                self.last_drop = now;
                tracing::debug!("throttled: holding the whole client back");
            }
            // Sent before the last drop: that drop already answered it. And
            // at most one drop a second, so that sporadic 429s (one request
            // in twenty, say, from a flaky proxy) slow the client down
            // without taking the pace to its floor before it can regrow.
            (Some(rate), _)
                if sent_at >= self.last_drop
                    && now.saturating_duration_since(self.last_drop) >= MIN_DROP_INTERVAL =>
            {
                // The pace may have grown past what the API accepts while
                // a full bucket hid it; when the last second held no hold,
                // what it accepted is the better measure. Not during a
                // probe: its pace has just doubled, and what was accepted
                // in the last second lags far behind it.
                let measured = match self.hold_until.checked_add(Duration::from_secs(1)) {
                    Some(quiet) if quiet <= now && self.probe.is_none() => evidence.took,
                    _ => rate,
                };
                // What share of this pace the API took in the last second:
                // against a limit spent by other clients with the same key
                // as well, it refuses much of it, and one drop of `BETA` at
                // a time would take many seconds (and 429s) to get under it.
                let (took, refused) = (evidence.took, evidence.refused);
                let share = if took + refused >= SHARE_EVIDENCE {
                    (took / (took + refused)).max(MIN_SHARE)
                } else {
                    1.0
                };
                let from = (rate * share).min(measured).max(MIN_RATE);
                self.probe = None;
                self.last_max = from;
                self.rate = Some((from * BETA).max(MIN_RATE));
                self.last_drop = now;
                tracing::debug!(
                    pace = self.rate.unwrap_or_default(),
                    "throttled: slowing the whole client"
                );
            }
            _ => {}
        }
        // Without Retry-After: one interval of the pace lets the server's
        // bucket gain a token; before there is a pace, a second.
        let wait = wait.unwrap_or_else(|| {
            self.rate
                .map_or(Duration::from_secs(1), |r| Duration::from_secs_f64(1.0 / r))
        });
        tracing::trace!(wait_ms = wait.as_millis() as u64, "holding back");
        // A wait past any representable instant (a `Retry-After` of
        // u64::MAX seconds with no cap) holds for the longest hold instead.
        let until = now.checked_add(wait.min(LONGEST_HOLD)).unwrap_or(now);
        if until > self.hold_until {
            let added = until - self.hold_until.max(now);
            self.held_back += added;
            self.hold_until = until;
        }
    }

    /// A response at `now` did not throttle: the pace climbs along CUBIC's
    /// curve (or doubles, while probing). Returns true when it has grown so
    /// far past the last throttle that no limit is near: the pace is
    /// dropped, and the caller starts slow start again.
    pub(super) fn succeeded(&mut self, now: Instant) -> bool {
        // The pace now, and how far it may grow without a throttle before
        // no limit is near any more.
        let (pace, ceiling) = match (self.probe, self.rate) {
            (Some((from, started)), _) => {
                let since = now.saturating_duration_since(started).as_secs_f64();
                (
                    from * (since / PROBE_DOUBLING.as_secs_f64()).exp2(),
                    self.last_max * PROBE_RELEASE,
                )
            }
            (None, Some(_)) => {
                let since = now.saturating_duration_since(self.last_drop).as_secs_f64();
                let k = ((1.0 - BETA) / SCALE).cbrt();
                (
                    self.last_max * (1.0 + SCALE * (since - k).powi(3)),
                    self.last_max * RELEASE_FACTOR,
                )
            }
            (None, None) => return false,
        };
        if pace > ceiling {
            self.rate = None;
            self.probe = None;
            tracing::debug!("no throttle for a while: unpaced, in slow start");
            true
        } else {
            self.rate = Some(pace.max(MIN_RATE));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const SEC: Duration = Duration::from_secs(1);

    fn evidence(took: f64, refused: f64) -> Evidence {
        Evidence {
            bucket: 0,
            took,
            refused,
        }
    }

    fn first(accepted: f64, refused: f64) -> impl FnOnce(u64) -> FirstEvidence {
        move |_| FirstEvidence {
            accepted,
            refused,
            early: false,
        }
    }

    #[test]
    fn a_first_throttle_holds_then_paces_from_what_was_accepted() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        assert_eq!(p.turn(t0, first(0.0, 0.0)), Turned::Go { restart: false });
        p.throttled(t0, t0, Some(SEC), evidence(10.0, 4.0));
        // Held for the Retry-After, whatever the evidence.
        let table = [
            (
                t0,
                Turned::Wait {
                    at: t0 + SEC,
                    why: Wait::RetryAfter(SEC),
                    restart: false,
                },
            ),
            (
                t0 + 400 * MS,
                Turned::Wait {
                    at: t0 + SEC,
                    why: Wait::RetryAfter(600 * MS),
                    restart: false,
                },
            ),
        ];
        for (now, expected) in table {
            assert_eq!(p.turn(now, first(10.0, 4.0)), expected);
        }
        // At the hold's end the first pace is 0.7 of the ten accepted.
        assert_eq!(
            p.turn(t0 + SEC, first(10.0, 4.0)),
            Turned::Go { restart: false }
        );
        assert_eq!(p.rate(), Some(7.0));
        let Turned::Wait {
            why: Wait::Pace(gap),
            ..
        } = p.turn(t0 + SEC, first(0.0, 0.0))
        else {
            panic!("not paced");
        };
        assert!((gap.as_secs_f64() - 1.0 / 7.0).abs() < 1e-6, "{gap:?}");
        assert_eq!(p.holding(t0 + 2 * SEC), (false, SEC));
    }

    #[test]
    fn sporadic_429s_set_no_pace_and_then_hold_nobody() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.throttled(t0, t0, None, evidence(100.0, 1.0));
        assert_eq!(
            p.turn(t0 + SEC, first(100.0, 1.0)),
            Turned::Go { restart: false }
        );
        assert_eq!(p.rate(), None);
        // Within the sporadic memory, a 429 without Retry-After holds
        // nobody back.
        let later = t0 + 2 * SEC;
        p.throttled(later, later, None, evidence(100.0, 1.0));
        assert_eq!(p.holding(later), (false, SEC));
    }

    #[test]
    fn thin_evidence_restarts_slow_start_instead_of_pacing() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.throttled(t0, t0, None, evidence(3.0, 1.0));
        let early = |_| FirstEvidence {
            accepted: 3.0,
            refused: 1.0,
            early: true,
        };
        assert_eq!(p.turn(t0 + SEC, early), Turned::Go { restart: true });
        assert_eq!(p.rate(), None);
    }

    #[test]
    fn the_pace_drops_at_most_once_a_second_and_only_for_requests_sent_after_a_drop() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.throttled(t0, t0, Some(SEC), evidence(10.0, 4.0));
        p.turn(t0 + SEC, first(10.0, 4.0));
        assert_eq!(p.rate(), Some(7.0));
        let drop_at = t0 + SEC;
        // (when, sent at, pace after): sent before the drop, too soon after
        // it, then a real drop a second later.
        let table = [
            (drop_at + 1100 * MS, t0 + 500 * MS, 7.0),
            (drop_at + 500 * MS, drop_at + 100 * MS, 7.0),
            (drop_at + 1200 * MS, drop_at + 1100 * MS, 7.0 * BETA),
        ];
        for (now, sent, pace) in table {
            p.throttled(now, sent, Some(MS), evidence(0.0, 0.0));
            let rate = p.rate().unwrap();
            assert!((rate - pace).abs() < 1e-9, "{rate} != {pace}");
        }
    }

    #[test]
    fn successes_climb_along_cubic_then_release() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0);
        p.throttled(t0, t0, Some(SEC), evidence(10.0, 4.0));
        p.turn(t0 + SEC, first(10.0, 4.0));
        let k = Duration::from_secs_f64(((1.0 - BETA) / SCALE).cbrt());
        // (time after the drop, pace expected, released)
        assert!(!p.succeeded(t0 + SEC + k));
        assert!((p.rate().unwrap() - 10.0).abs() < 1e-6);
        assert!(!p.succeeded(t0 + SEC + k + 5 * SEC));
        assert!(p.rate().unwrap() > 10.0);
        // Four times past the throttled rate: no limit is near.
        assert!(p.succeeded(t0 + SEC + k + 30 * SEC));
        assert_eq!(p.rate(), None);
    }
}
