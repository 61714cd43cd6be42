//! One API limit shared by every process that holds the key, through Redis
//! or Valkey (feature `redis`).
//!
//! Admission is GCRA in a Lua script, one round trip per request, with the
//! store's `TIME` as the clock, so hosts' clocks do not matter. The state
//! sits under a key made of a fixed prefix and a SHA-256 of the base URL's
//! origin and the API key's fingerprint, never the key itself, and expires.
//! What one process learns is the fleet's: a 429 lowers the fleet's pace
//! (at most once a second), a `Retry-After` holds every process, and the
//! pace climbs back along CUBIC's curve with time, as the local pacer does.
//! A process that starts late starts at the fleet's pace.
//!
//! When the store fails (unreachable, slow, restarted, a refused password,
//! a script error), the process falls back to its local flow control for
//! that admission, within a bounded time, says so once, and probes the
//! store in the background until it answers, then rejoins. No request is
//! lost or sent twice: a failed admission is an admission by the local
//! flow control instead.

use crate::transport::deadline::Wait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long one admission may wait on the store before the process falls
/// back to its own flow control.
const STORE_TIMEOUT: Duration = Duration::from_millis(250);
/// How often a process that fell back probes the store.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long the fleet's state lives without traffic.
const STATE_TTL_SECS: u64 = 600;
/// Every key this crate writes starts so.
pub(crate) const KEY_PREFIX: &str = "runalloy-embedded:limit:v1:";

/// GCRA admission. KEYS[1]: the state. ARGV[1]: the cap in requests per
/// second (0 for none); ARGV[2]: the state's lifetime in seconds. Returns
/// `{1, 0}` to admit, or `{0, µs}`: wait that long, then ask again
/// (`{0, µs, 1}` when the wait is a `Retry-After` hold).
///
/// The pace learned from 429s climbs along CUBIC's curve from the rate
/// last throttled (`max`) since the last drop (`drop`): back at `max` about
/// 4.2 s after a drop, and dropped when it outgrows `max` four times (no
/// limit is near any more).
const ADMIT: &str = r"
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', key, 'hold', 'tat', 'rate', 'max', 'drop', 'sec', 'n')
local ttl = tonumber(ARGV[2])
local hold = tonumber(s[1]) or 0
if hold > now then return {0, hold - now, 1} end
local rate = tonumber(s[3])
if rate then
  local max = tonumber(s[4]) or rate
  local since = (now - (tonumber(s[5]) or now)) / 1000000
  local k = (0.3 / 0.004) ^ (1 / 3)
  local grown = max * (1 + 0.004 * (since - k) ^ 3)
  if grown > 4 * max then
    rate = nil
    redis.call('HDEL', key, 'rate', 'max', 'drop')
  elseif grown > rate then
    rate = grown
  end
end
local cap = tonumber(ARGV[1])
local r = rate
if cap > 0 and (r == nil or cap < r) then r = cap end
if r ~= nil then
  local tat = tonumber(s[2]) or 0
  if tat > now then return {0, math.ceil(tat - now)} end
  redis.call('HSET', key, 'tat', now + 1000000 / r)
end
local sec = math.floor(now / 1000000)
if tonumber(s[6]) == sec then
  redis.call('HINCRBY', key, 'n', 1)
else
  local last = 0
  if tonumber(s[6]) == sec - 1 then last = tonumber(s[7]) or 0 end
  redis.call('HSET', key, 'sec', sec, 'n', 1, 'pn', last)
end
redis.call('EXPIRE', key, ttl)
return {1, 0}
";

/// A throttle seen by one process. KEYS[1]: the state. ARGV[1]: its
/// `Retry-After` in µs (0 without one); ARGV[2]: the state's lifetime.
///
/// A 429 without `Retry-After`, while such 429s are under an eighth of
/// what the fleet sent in the last two seconds, is sporadic (a noisy
/// gateway), not a limit reached: it changes nothing, so that one
/// process's stray 429 does not slow the fleet. Any other holds every
/// process for the `Retry-After` (or one interval of the pace, or a
/// second), and drops the fleet's pace at most once a second, to
/// 0.7 of what the API accepted from the fleet in the last second
/// (admitted less refused), or of the pace if that is lower. The rate it
/// drops from is where CUBIC's curve flattens, so it must be what the API
/// took, not what the fleet sent.
const THROTTLE: &str = r"
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', key, 'hold', 'rate', 'drop', 'sec', 'n', 'pn', 'rsec', 'rn', 'rpn')
local sec = math.floor(now / 1000000)
local rn, rpn = 1, 0
if tonumber(s[7]) == sec then
  rn = (tonumber(s[8]) or 0) + 1
  rpn = tonumber(s[9]) or 0
elseif tonumber(s[7]) == sec - 1 then
  rpn = tonumber(s[8]) or 0
end
redis.call('HSET', key, 'rsec', sec, 'rn', rn, 'rpn', rpn)
local n, pn = 0, 0
if tonumber(s[4]) == sec then
  n = tonumber(s[5]) or 0
  pn = tonumber(s[6]) or 0
elseif tonumber(s[4]) == sec - 1 then
  pn = tonumber(s[5]) or 0
end
local accepted = math.max(n - rn, pn - rpn, 1)
local wait = tonumber(ARGV[1])
local saturated = wait > 0 or (rn + rpn) >= 0.125 * math.max(n + pn, 1)
local rate = tonumber(s[2])
if wait <= 0 and not saturated then
  redis.call('EXPIRE', key, tonumber(ARGV[2]))
  return 0
end
if wait <= 0 then
  if rate then wait = 1000000 / rate else wait = 1000000 end
end
local hold = math.max(tonumber(s[1]) or 0, now + wait)
redis.call('HSET', key, 'hold', hold)
local drop = tonumber(s[3]) or 0
if saturated and now - drop >= 1000000 then
  local base = accepted
  if rate ~= nil and rate < base then base = rate end
  redis.call('HSET', key, 'rate', math.max(0.25, base * 0.7), 'max', base, 'drop', now)
end
local ttl = math.max(tonumber(ARGV[2]), math.ceil((hold - now) / 1000000) + 60)
redis.call('EXPIRE', key, ttl)
return 1
";

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

/// The shared limiter of one client (and its clones).
pub(crate) struct SharedLimit {
    client: redis::Client,
    /// Made at the first admission: it needs the async runtime, which the
    /// builder may not run in.
    manager: tokio::sync::OnceCell<ConnectionManager>,
    key: String,
    cap: f64,
    admit: redis::Script,
    throttle: redis::Script,
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
    pub(crate) fn new(
        url: &str,
        origin: &str,
        fingerprint: &str,
        cap: Option<f64>,
    ) -> Result<Self, String> {
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
            cap: cap.unwrap_or(0.0),
            admit: redis::Script::new(ADMIT),
            throttle: redis::Script::new(THROTTLE),
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

    /// Whether the fleet's limit is in use right now.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A turn from the fleet's limit, waiting for it unless the wait would
    /// end past `deadline`; [`Refused::Down`] when the store failed.
    pub(crate) async fn admit(
        self: &std::sync::Arc<Self>,
        deadline: Option<Instant>,
    ) -> Result<(), Refused> {
        loop {
            let mut invocation = self.admit.key(&self.key);
            invocation.arg(self.cap).arg(STATE_TTL_SECS);
            let answer: Vec<i64> = match self.invoke(&invocation).await {
                Ok(answer) => answer,
                Err(why) => return Err(self.fell(why)),
            };
            match answer.as_slice() {
                [1, ..] => return Ok(()),
                [0, wait_us, rest @ ..] => {
                    let wait = Duration::from_micros(u64::try_from(*wait_us).unwrap_or(0).max(1));
                    if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                        return Err(Refused::Wait(if rest.first() == Some(&1) {
                            Wait::RetryAfter(wait)
                        } else {
                            Wait::Pace(wait)
                        }));
                    }
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return Err(
                        self.fell("the admission script answered in an unknown shape".into())
                    );
                }
            }
        }
    }

    /// Tells the fleet that the API throttled, asking `hold` of everyone.
    /// Sent in the background: the caller's answer does not wait on it.
    pub(crate) fn throttled(self: &std::sync::Arc<Self>, hold: Option<Duration>) {
        if !self.is_up() {
            return;
        }
        let this = self.clone();
        let hold_us = hold.map_or(0, |h| u64::try_from(h.as_micros()).unwrap_or(u64::MAX));
        tokio::spawn(async move {
            let mut invocation = this.throttle.key(&this.key);
            invocation.arg(hold_us).arg(STATE_TTL_SECS);
            if let Err(why) = this.invoke::<i64>(&invocation).await {
                this.fell(why);
            }
        });
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
