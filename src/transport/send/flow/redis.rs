//! One API limit shared by every process that holds the key, through Redis
//! or Valkey (feature `redis`): the store keeps the fleet's [`FlowState`]
//! and serialises updates; the decisions are `machine.rs`'s, the same code
//! that decides for one process.
//!
//! The state sits under one key, as `<version> <json>`, made of a fixed
//! prefix and a SHA-256 of the base URL's origin and the API key's
//! fingerprint, never the key itself, and expires a day after its last
//! use. An update is a version-checked compare-and-set script, one round
//! trip, which also returns the store's `TIME`: every process decides on
//! the store's clock, so hosts' clocks do not matter. A process keeps a
//! copy of the state with its version; when another process wrote in
//! between, the script answers with the newer state and the process
//! decides again on it.
//!
//! So the fleet starts as one client: one slow-start window, whose places
//! are held per process with a lease that expires (a killed process frees
//! its places); one pace; the sporadic-429 rule judged on the fleet's
//! responses; and the limit last learned, kept for a day, so that a fleet
//! that starts later starts just under it.
//!
//! Cheap in steady state: while the state is open (unpaced, no slow start,
//! no hold, no cap) a process takes a lease of every turn for
//! `OPEN_LEASE` under the state's epoch, without a round trip; its
//! answers are sent with its next update. A throttle is sent at once and
//! bumps the epoch, which voids every other process's lease at its next
//! update.
//!
//! When the store fails (unreachable, slow, restarted, a refused password,
//! a script error), the process falls back to its local flow control for
//! that admission, within a bounded time, says so once, and probes the
//! store in the background until it answers, then rejoins. No request is
//! lost or sent twice: a failed admission is an admission by the local
//! flow control instead.

use super::machine::{Admission, FlowState, HOLDER_LEASE, Micros, Observation, Observed};
use crate::transport::wait::Wait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long one update may wait on the store before the process falls
/// back to its own flow control.
const STORE_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a process that fell back probes the store.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long the fleet's state (and the limit it learned) lives unused.
const STATE_TTL_SECS: u64 = 24 * 3600;
/// Every key this crate writes starts so.
pub(crate) const KEY_PREFIX: &str = "runalloy-embedded:limit:v2:";
/// How long a lease of turns on an open state lasts.
const OPEN_LEASE: Duration = Duration::from_millis(50);
/// How often a process waiting for a window place asks again: places given
/// back by other processes are not announced.
const FULL_POLL: Duration = Duration::from_millis(5);
/// At most this many turns are admitted in one update, for as many calls
/// of the process waiting at once (in slow start: window places) ...
const MAX_BATCH: usize = 16;
/// ... once the fleet's window has this many places. Below it, one turn
/// per update: a process's round trips then space its turns, and the
/// first 429s find fewer in flight (8 processes at 40 req/s: 0.6-0.9%
/// refused, against 4.4% batching from the first place). Above it, the
/// limit is far, and a bulk run should not wait on round trips (1.00x of
/// the local flow control's throughput at 20,000 ids).
const BATCH_FROM_PLACES: u64 = 64;
/// A turn admitted for another waiting call that no call took within this
/// long is given back.
const GRANT_TTL: Duration = Duration::from_millis(20);
/// Updates tried in a row before the store counts as failed: each try
/// lost to another process's write.
const MAX_TRIES: usize = 16;

/// Compare-and-set. KEYS[1]: the state. ARGV[1]: the version the caller
/// read (`-` for none); ARGV[2]: the new state; ARGV[3]: the state's
/// lifetime in seconds. Writes `<version + 1> <state>` when the stored
/// version is ARGV[1] and returns `{1, sec, µs}`, the store's `TIME`;
/// otherwise writes nothing and returns `{0, sec, µs, stored}`. Called
/// with an empty ARGV[2], it only reads.
const CAS: &str = r"
local t = redis.call('TIME')
local cur = redis.call('GET', KEYS[1])
local ver = '-'
if cur then ver = string.match(cur, '^(%d+) ') or '-' end
if ver ~= ARGV[1] or ARGV[2] == '' then
  return {0, t[1], t[2], cur or ''}
end
local next = 0
if ver ~= '-' then next = tonumber(ver) + 1 end
redis.call('SET', KEYS[1], next .. ' ' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return {1, t[1], t[2]}
";

/// This process's copy of the fleet's state.
#[derive(Debug, Default)]
struct Mirror {
    /// The state as last read or written, and its version (`None` before
    /// the first read, or when the store holds none).
    state: Option<(FlowState, Option<u64>)>,
    /// The store's clock minus this process's, in µs, from the last
    /// answer.
    offset: i128,
    /// The fleet's holds before this process joined.
    held_before: Option<Duration>,
    /// When the copy was last read or written.
    read_at: Option<Instant>,
}

/// Why an update did not happen.
#[derive(Debug)]
enum Fault {
    /// The store failed, for this reason (without any password).
    Store(String),
    /// Other processes' writes won every try: not a fault of the store.
    Contended,
}

/// The open lease: every turn is this process's until `until`, while the
/// state's epoch is `epoch`. A throttle this process sees ends it at once;
/// one another process sees bumps the epoch, which ends it at this
/// process's next update (within `OPEN_LEASE` at the latest).
#[derive(Debug, Clone, Copy)]
struct Lease {
    until: Instant,
    epoch: u64,
}

/// What the shared limiter has done, for progress displays and summaries
/// (see also [`Client::limiter_failure`](crate::Client::limiter_failure)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LimiterStats {
    /// Whether the process is sharing the fleet's limit right now.
    pub shared: bool,
    /// The time spent on local flow control because the store failed.
    pub alone: Duration,
    /// How many times the store failed and the process fell back.
    pub fallbacks: u64,
}

/// Why a shared admission did not give a turn.
pub(crate) enum Refused {
    /// The wait would end past the deadline.
    Wait(Wait),
    /// The store failed: use the local flow control.
    Down,
}

/// Instant 0 of every process-local clock reading here.
static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

/// The shared limiter of one client (and its clones).
pub(crate) struct SharedLimit {
    client: redis::Client,
    /// Made at the first admission: it needs the async runtime, which the
    /// builder may not run in.
    manager: tokio::sync::OnceCell<ConnectionManager>,
    key: String,
    cas: redis::Script,
    /// This process, as a holder of window places.
    id: u64,
    /// The state's copy; one update at a time per process.
    mirror: tokio::sync::Mutex<Mirror>,
    /// Answers not yet sent to the store, on its clock.
    pending: Mutex<Vec<Observation>>,
    /// Whether a task is sending `pending`.
    flushing: AtomicBool,
    lease: Mutex<Option<Lease>>,
    /// Turns admitted in one update for this process's other waiting
    /// calls: (when on the store's clock, windowed, when granted).
    grants: Mutex<std::collections::VecDeque<(Micros, bool, Instant)>>,
    /// Calls of this process waiting in `acquire`.
    wanting: std::sync::atomic::AtomicUsize,
    /// The last state seen, for the stats: holding, held back since this
    /// process joined, pace.
    seen: Mutex<Option<(bool, Duration, Option<f64>)>>,
    /// The password, if the URL has one, to scrub from any error text.
    password: Option<String>,
    /// Whether the URL asks for TLS (`rediss://`), to name the likely
    /// cause of a store that does not answer.
    tls: bool,
    up: AtomicBool,
    probing: AtomicBool,
    /// When the store went down, in µs since `epoch`; `u64::MAX` while up.
    down_since: AtomicU64,
    alone_us: AtomicU64,
    fallbacks: AtomicU64,
    epoch: Instant,
    last_failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for SharedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimit")
            .field("key", &self.key)
            .field("up", &self.up.load(Ordering::Relaxed))
            .finish()
    }
}

impl SharedLimit {
    /// A limiter on the store at `url` (`redis://` or `rediss://`), for
    /// the API at `origin` with the key whose fingerprint is `fingerprint`.
    /// Nothing is sent yet; a URL that does not parse is an error that
    /// does not repeat it (it may hold a password).
    pub(crate) fn new(url: &str, origin: &str, fingerprint: &str) -> Result<Self, String> {
        check_url(url)?;
        let tls = url.starts_with("rediss:") || url.starts_with("valkeys:");
        if tls {
            crate::transport::tls::ensure_default_provider()?;
        }
        let client = redis::Client::open(url).map_err(|e| match e.kind() {
            redis::ErrorKind::InvalidClientConfig => {
                "it is not a redis:// or rediss:// URL".to_owned()
            }
            _ => "it does not parse as a Redis URL".to_owned(),
        })?;
        let info = client.get_connection_info();
        if matches!(info.addr(), redis::ConnectionAddr::Unix(_)) {
            return Err("it names a Unix socket; give redis:// or rediss://".into());
        }
        let password = info.redis_settings().password().map(str::to_owned);
        let digest = Sha256::new()
            .chain_update(origin.as_bytes())
            .chain_update(b"\n")
            .chain_update(fingerprint.as_bytes())
            .finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            client,
            manager: tokio::sync::OnceCell::new(),
            key: format!("{KEY_PREFIX}{hex}"),
            cas: redis::Script::new(CAS),
            id: fastrand::u64(..),
            mirror: tokio::sync::Mutex::new(Mirror::default()),
            pending: Mutex::new(Vec::new()),
            flushing: AtomicBool::new(false),
            lease: Mutex::new(None),
            grants: Mutex::new(std::collections::VecDeque::new()),
            wanting: std::sync::atomic::AtomicUsize::new(0),
            seen: Mutex::new(None),
            password,
            tls,
            up: AtomicBool::new(true),
            probing: AtomicBool::new(false),
            down_since: AtomicU64::new(u64::MAX),
            alone_us: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            epoch: Instant::now(),
            last_failure: Mutex::new(None),
        })
    }

    /// The connection manager, made on first use; it reconnects by itself.
    async fn manager(&self) -> Result<ConnectionManager, redis::RedisError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(STORE_TIMEOUT))
                    .set_response_timeout(Some(STORE_TIMEOUT))
                    .set_number_of_retries(1);
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
    }

    /// Runs a script on the store within `STORE_TIMEOUT`; a failure is
    /// the cause, in words without any password.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut manager = self.manager().await.map_err(|e| self.describe(&e))?;
        match tokio::time::timeout(STORE_TIMEOUT, invocation.invoke_async(&mut manager)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(self.describe(&e)),
            Err(_) => Err(self.no_answer()),
        }
    }

    /// Why a store that did not answer in time may not have: a TLS
    /// handshake sent to a port that speaks plain text waits for ever.
    fn no_answer(&self) -> String {
        let waited = STORE_TIMEOUT.as_millis();
        if self.tls {
            format!(
                "no answer within {waited} ms to a TLS handshake (the URL is rediss://): \
                 is the store serving TLS on that port? A plain-text port wants redis://"
            )
        } else {
            format!("no answer within {waited} ms")
        }
    }

    /// The store's clock now, from the last answer's offset.
    fn store_now(offset: i128) -> Micros {
        let local = i128::try_from(Instant::now().saturating_duration_since(*EPOCH).as_micros())
            .unwrap_or(i128::MAX / 2);
        u64::try_from((local + offset).max(0)).unwrap_or(u64::MAX)
    }

    /// Runs `decide` on the fleet's state at the store's clock, after the
    /// answers not yet sent. When `decide` changed what must be shared (it
    /// says so), or there were answers, the result is written if no other
    /// process wrote in between; else `decide` runs again on the newer
    /// state. A decision that writes nothing is made on a copy no older
    /// than `FULL_POLL`.
    async fn transact<R>(
        &self,
        mut decide: impl FnMut(&mut FlowState, Micros, u64) -> (R, bool),
    ) -> Result<R, Fault> {
        let mut mirror = self.mirror.lock().await;
        let answers = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let result = self.transact_with(&mut mirror, &answers, &mut decide).await;
        if result.is_err() {
            // Not lost: sent with the next update, if the store returns.
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let later = std::mem::replace(&mut *pending, answers);
            pending.extend(later);
        }
        result
    }

    async fn transact_with<R>(
        &self,
        mirror: &mut Mirror,
        answers: &[Observation],
        decide: &mut impl FnMut(&mut FlowState, Micros, u64) -> (R, bool),
    ) -> Result<R, Fault> {
        let stale = |m: &Mirror| m.read_at.is_none_or(|at| at.elapsed() >= FULL_POLL);
        if mirror.state.is_none() && stale(mirror) {
            self.cas(mirror, None, "").await.map_err(Fault::Store)?;
        }
        for _ in 0..MAX_TRIES {
            let now = Self::store_now(mirror.offset);
            let (mut state, version) = mirror
                .state
                .clone()
                .unwrap_or_else(|| (FlowState::new(now), None));
            for answer in answers {
                state.observe(self.id, *answer, HOLDER_LEASE);
            }
            let (decided, changed) = decide(&mut state, now, self.id);
            if !changed && answers.is_empty() {
                if stale(mirror) {
                    self.cas(mirror, None, "").await.map_err(Fault::Store)?;
                    continue;
                }
                self.saw(mirror, &state, now);
                return Ok(decided);
            }
            let text = serde_json::to_string(&state)
                .map_err(|e| Fault::Store(format!("the state does not serialise: {e}")))?;
            if self
                .cas(mirror, version, &text)
                .await
                .map_err(Fault::Store)?
            {
                self.saw(mirror, &state, now);
                mirror.state = Some((state, Some(version.map_or(0, |v| v + 1))));
                return Ok(decided);
            }
            // Another process wrote first: a short random pause, so that
            // the same two do not collide again.
            tokio::time::sleep(Duration::from_micros(fastrand::u64(0..500))).await;
        }
        Err(Fault::Contended)
    }

    /// Keeps what the stats show of `state`, and ends an open lease taken
    /// under an older epoch (a throttle another process saw).
    fn saw(&self, mirror: &mut Mirror, state: &FlowState, now: Micros) {
        let mut lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        if lease.is_some_and(|l| l.epoch != state.epoch) {
            *lease = None;
        }
        drop(lease);
        let (holding, held) = state.holding(now);
        let before = *mirror.held_before.get_or_insert(held);
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((holding, held.saturating_sub(before), state.rate()));
    }

    /// One compare-and-set of `text` over `version`; an empty `text` only
    /// reads. Updates the mirror's clock offset, and its copy when another
    /// process wrote first. Whether it wrote.
    async fn cas(
        &self,
        mirror: &mut Mirror,
        version: Option<u64>,
        text: &str,
    ) -> Result<bool, String> {
        let mut invocation = self.cas.key(&self.key);
        invocation
            .arg(version.map_or_else(|| "-".to_owned(), |v| v.to_string()))
            .arg(text)
            .arg(STATE_TTL_SECS);
        let sent = Instant::now();
        let answer: Vec<redis::Value> = self.invoke(&invocation).await?;
        let number = |v: Option<&redis::Value>| -> Option<i128> {
            match v? {
                redis::Value::Int(n) => Some(i128::from(*n)),
                redis::Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
                _ => None,
            }
        };
        let shape = || "the update script answered in an unknown shape".to_owned();
        let written = number(answer.first()).ok_or_else(shape)? == 1;
        let store = number(answer.get(1)).ok_or_else(shape)? * 1_000_000
            + number(answer.get(2)).ok_or_else(shape)?;
        // The store read its clock about halfway through the round trip.
        let halfway = sent + sent.elapsed() / 2;
        let local = i128::try_from(halfway.saturating_duration_since(*EPOCH).as_micros())
            .unwrap_or(i128::MAX / 2);
        mirror.offset = store - local;
        mirror.read_at = Some(Instant::now());
        if !written {
            let stored = match answer.get(3) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            mirror.state = parse_stored(&stored, Self::store_now(mirror.offset));
        }
        Ok(written)
    }

    /// Whether the store is in use right now.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A turn from the fleet's state, waiting for it unless the wait would
    /// end past `deadline`; [`Refused::Down`] when the store failed. The
    /// turn's send time on the store's clock, and whether it holds a
    /// window place. `released` wakes a wait for a place given back by
    /// this process.
    pub(crate) async fn acquire(
        self: &std::sync::Arc<Self>,
        deadline: Option<Instant>,
        cap: Option<f64>,
        released: &tokio::sync::Notify,
    ) -> Result<(Micros, bool), Refused> {
        /// Counts a call waiting in `acquire` while it is there.
        struct Wanting<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Wanting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.wanting.fetch_add(1, Ordering::Relaxed);
        let _wanting = Wanting(&self.wanting);
        loop {
            let now = Instant::now();
            if self.leased(now) {
                let offset = self.mirror.try_lock().map_or(0, |m| m.offset);
                return Ok((Self::store_now(offset), false));
            }
            if let Some(grant) = self.take_grant(now) {
                return Ok(grant);
            }
            // As in the local driver: registered before the state is
            // asked, dropped before a wait for the clock, so that it never
            // keeps a wake-up meant for a call that waits for a place.
            let mut woken = Box::pin(released.notified());
            woken.as_mut().enable();
            let want = self.wanting.load(Ordering::Relaxed).clamp(1, MAX_BATCH);
            let decided = self
                .transact(|state, at, id| {
                    let wide = matches!(
                        state.mode,
                        super::machine::Mode::SlowStart { window_halves }
                            if window_halves >= 2 * BATCH_FROM_PLACES
                    );
                    let want = if wide { want } else { 1 };
                    let admission = state.admit(at, id, cap, HOLDER_LEASE);
                    let mut more = Vec::new();
                    if let Admission::Go { .. } = admission {
                        while more.len() + 1 < want {
                            match state.admit(at, id, cap, HOLDER_LEASE) {
                                Admission::Go { windowed } => more.push(windowed),
                                _ => break,
                            }
                        }
                    }
                    let go = matches!(admission, Admission::Go { .. });
                    (
                        (admission, more, at, state.is_open(at, cap), state.epoch),
                        go,
                    )
                })
                .await;
            let (admission, more, at, open, epoch) = match decided {
                Ok(decided) => decided,
                // Others won the updates: ask again shortly.
                Err(Fault::Contended) => (Admission::Full, Vec::new(), 0, false, 0),
                Err(Fault::Store(why)) => return Err(self.fell(why)),
            };
            match admission {
                Admission::Go { windowed } => {
                    if open {
                        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(Lease {
                            until: Instant::now() + OPEN_LEASE,
                            epoch,
                        });
                    }
                    if !more.is_empty() {
                        let granted = Instant::now();
                        self.grants
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(more.into_iter().map(|w| (at, w, granted)));
                    }
                    return Ok((at, windowed));
                }
                Admission::Wait { at: wake, why } => {
                    drop(woken);
                    let wait = Duration::from_micros(wake.saturating_sub(at).max(1));
                    if deadline.is_some_and(|d| now + wait >= d) {
                        return Err(Refused::Wait(why));
                    }
                    tokio::time::sleep(wait.min(Duration::from_millis(100))).await;
                }
                Admission::Full => match deadline {
                    Some(d) if now + FULL_POLL >= d => {
                        tokio::time::sleep_until(d).await;
                        return Err(Refused::Wait(Wait::Queued));
                    }
                    _ => {
                        let _ = tokio::time::timeout(FULL_POLL, woken).await;
                    }
                },
            }
        }
    }

    /// A turn admitted for this process in an earlier update, if one is
    /// left and fresh; stale ones are given back.
    fn take_grant(self: &std::sync::Arc<Self>, now: Instant) -> Option<(Micros, bool)> {
        loop {
            let grant = self
                .grants
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()?;
            let (sent_at, windowed, granted) = grant;
            if now.saturating_duration_since(granted) < GRANT_TTL {
                return Some((sent_at, windowed));
            }
            if windowed {
                self.observe(sent_at, true, Observed::Nothing);
            }
        }
    }

    /// Whether an open lease covers `now`.
    fn leased(&self, now: Instant) -> bool {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        lease.is_some_and(|l| now < l.until)
    }

    /// Records an attempt's outcome for the fleet, sent in the background
    /// (the caller's answer does not wait on it): at once, unless this
    /// process holds an open lease and the outcome is an answer that is
    /// not a throttle; those go with the next update. The fleet's
    /// decisions (the first pace, the sporadic rule, the window) are only
    /// as good as the answers the state has heard.
    pub(crate) fn observe(
        self: &std::sync::Arc<Self>,
        sent_at: Micros,
        windowed: bool,
        outcome: Observed,
    ) {
        let offset = self.mirror.try_lock().map_or(None, |m| Some(m.offset));
        let at = offset.map_or(sent_at, Self::store_now).max(sent_at);
        let throttled = matches!(outcome, Observed::Throttled(_));
        if throttled {
            // This process's lease ends now; the others' end with the
            // epoch the throttle bumps.
            *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let urgent = throttled || windowed || !self.leased(Instant::now());
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Observation {
                at,
                sent_at,
                windowed,
                outcome,
            });
        if urgent && self.is_up() && !self.flushing.swap(true, Ordering::SeqCst) {
            let this = self.clone();
            tokio::spawn(this.flush());
        }
    }

    /// Sends the answers not yet sent, until none is left.
    async fn flush(self: std::sync::Arc<Self>) {
        loop {
            match self.transact(|_, _, _| ((), false)).await {
                Ok(()) => {}
                Err(Fault::Contended) => tokio::time::sleep(FULL_POLL).await,
                Err(Fault::Store(why)) => {
                    self.flushing.store(false, Ordering::SeqCst);
                    self.fell(why);
                    return;
                }
            }
            self.flushing.store(false, Ordering::SeqCst);
            let more = !self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_empty();
            if !more || self.flushing.swap(true, Ordering::SeqCst) {
                return;
            }
        }
    }

    /// The fleet's state as last seen: holding, held back since this
    /// process joined, and the pace; `None` before the first update or
    /// while the store is down.
    pub(crate) fn read(&self) -> Option<(bool, Duration, Option<f64>)> {
        if !self.is_up() {
            return None;
        }
        *self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the limiter has done.
    pub(crate) fn stats(&self) -> LimiterStats {
        let mut alone = Duration::from_micros(self.alone_us.load(Ordering::Relaxed));
        let since = self.down_since.load(Ordering::Relaxed);
        if since != u64::MAX {
            alone += Duration::from_micros(self.now_us().saturating_sub(since));
        }
        LimiterStats {
            shared: self.is_up(),
            alone,
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// Why the store last failed, without any password.
    pub(crate) fn last_failure(&self) -> Option<String> {
        self.last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
    }

    /// An error's text, with the URL's password scrubbed out.
    fn describe(&self, error: &redis::RedisError) -> String {
        let text = error.to_string();
        match &self.password {
            Some(password) if !password.is_empty() => text.replace(password.as_str(), "<redacted>"),
            _ => text,
        }
    }

    /// Marks the store down (once: one warning), and starts probing it.
    fn fell(self: &std::sync::Arc<Self>, why: String) -> Refused {
        if self.up.swap(false, Ordering::SeqCst) {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
            self.down_since.store(self.now_us(), Ordering::Relaxed);
            // Not inside the request's span that happened to meet it: the
            // store is the whole client's.
            tracing::warn!(
                parent: None,
                cause = %why,
                "the shared limiter's store failed; this process keeps to its own flow control until it answers again"
            );
        }
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        if !self.probing.swap(true, Ordering::SeqCst) {
            let this = std::sync::Arc::downgrade(self);
            tokio::spawn(Self::probe(this));
        }
        Refused::Down
    }

    /// Pings the store every second until it answers, then rejoins. It
    /// holds the limiter only while it pings: once every client that
    /// shares it is dropped, the probe ends.
    async fn probe(this: std::sync::Weak<Self>) {
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let Some(this) = this.upgrade() else {
                return;
            };
            if this.ping().await {
                this.rejoin();
                return;
            }
        }
    }

    /// Whether the store answers a `PING` in time.
    async fn ping(&self) -> bool {
        let Ok(mut manager) = self.manager().await else {
            return false;
        };
        let ping = tokio::time::timeout(
            STORE_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut manager),
        )
        .await;
        matches!(ping, Ok(Ok(_)))
    }

    /// The store answers again: share the fleet's limit, and forget the
    /// failure.
    fn rejoin(&self) {
        let since = self.down_since.swap(u64::MAX, Ordering::Relaxed);
        if since != u64::MAX {
            self.alone_us
                .fetch_add(self.now_us().saturating_sub(since), Ordering::Relaxed);
        }
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.probing.store(false, Ordering::SeqCst);
        self.up.store(true, Ordering::SeqCst);
        tracing::info!(
            parent: None,
            "the shared limiter's store answers again; sharing the fleet's limit"
        );
    }
}

/// The state and its version from what the store holds (`<version>
/// <json>`); `None` when it holds nothing. A state this version cannot
/// read (another release's, or damaged) is started afresh at `now` over
/// its version.
fn parse_stored(stored: &str, now: Micros) -> Option<(FlowState, Option<u64>)> {
    let (version, json) = stored.split_once(' ')?;
    let version = version.parse::<u64>().ok()?;
    let state = serde_json::from_str::<FlowState>(json).unwrap_or_else(|_| FlowState::new(now));
    Some((state, Some(version)))
}

/// Refuses, before the Redis client reads it, a URL whose database the
/// Redis client would refuse with a less clear word, without repeating any
/// part of it (it may hold a password).
fn check_url(url: &str) -> Result<(), String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(()); // the Redis client says it does not parse
    };
    if !matches!(parsed.scheme(), "redis" | "rediss" | "valkey" | "valkeys") {
        return Ok(());
    }
    let db = parsed.path().trim_start_matches('/');
    if !db.is_empty() && db.parse::<u32>().is_err() {
        return Err(
            "its path names the database, which must be a number (such as /0), and is not".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_that_is_not_a_number_is_named_as_such() {
        for url in [
            "redis://:pw@host/notadb",
            "rediss://host:6380/x1",
            "redis://h/-1",
        ] {
            assert_eq!(
                super::check_url(url),
                Err(
                    "its path names the database, which must be a number (such as /0), and is not"
                        .to_owned()
                ),
                "{url}"
            );
        }
        for url in [
            "redis://:pw@host/3",
            "redis://host",
            "redis://host/",
            "http://x/y",
        ] {
            assert_eq!(super::check_url(url), Ok(()), "{url}");
        }
    }
}

#[cfg(test)]
mod table_in_redis {
    //! The state machine's table (`machine.rs`), every row run again with
    //! its states kept in a Redis server that the test starts: each step
    //! reads the state through the update script, runs on it, and writes it
    //! back with the version it read.
    use super::super::machine::{FlowState, Micros, table};
    use super::{CAS, parse_stored};
    use runalloy_embedded_test_support::store::Store;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct InRedis {
        conn: redis::Connection,
        key: String,
        script: redis::Script,
        start: Micros,
    }

    impl table::Keeper for InRedis {
        fn keep(&mut self, step: &mut dyn FnMut(&mut FlowState)) {
            let read: Vec<redis::Value> = self
                .script
                .key(&self.key)
                .arg("-")
                .arg("")
                .arg(60)
                .invoke(&mut self.conn)
                .expect("the store reads");
            let text = match read.get(3) {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            let (mut state, version) =
                parse_stored(&text, self.start).unwrap_or((FlowState::new(self.start), None));
            step(&mut state);
            let written: Vec<redis::Value> = self
                .script
                .key(&self.key)
                .arg(version.map_or_else(|| "-".to_owned(), |v| v.to_string()))
                .arg(serde_json::to_string(&state).expect("the state serialises"))
                .arg(60)
                .invoke(&mut self.conn)
                .expect("the store writes");
            assert_eq!(written.first(), Some(&redis::Value::Int(1)), "{written:?}");
        }
    }

    #[test]
    fn every_row_of_the_table_through_a_redis_server() {
        let store = Store::start();
        let client = redis::Client::open(store.url()).expect("the store's URL");
        static STATES: AtomicU64 = AtomicU64::new(0);
        for (name, row) in table::ROWS {
            eprintln!("{name}");
            let client = client.clone();
            table::run_kept_by(
                move |start| {
                    Box::new(InRedis {
                        conn: client.get_connection().expect("a connection to the store"),
                        key: format!("row-state-{}", STATES.fetch_add(1, Ordering::Relaxed)),
                        script: redis::Script::new(CAS),
                        start,
                    })
                },
                *row,
            );
        }
        // Every row's states went through the store.
        let kept = STATES.load(Ordering::Relaxed);
        assert!(kept >= table::ROWS.len() as u64, "{kept}");
        let mut conn = client.get_connection().expect("a connection");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("row-state-*")
            .query(&mut conn)
            .expect("keys");
        assert_eq!(keys.len() as u64, kept);
    }
}
