//! What a test asks of the stand-in beside the API's behaviour: 500s and
//! 429s on cue, users that stay readable after their delete, and a record
//! of what it received.

use crate::{Shared, message};
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::Ordering;

/// Misbehaviour on cue, for tests (500s, 429s, users that stay readable),
/// and the recorder of what was received.
#[derive(Default)]
pub(crate) struct Controls {
    /// The share of requests answered 500, and the seed that picks them.
    pub(crate) share: Option<(f64, u64)>,
    /// The share answered 429 without `Retry-After`, and its seed.
    pub(crate) throttle_share: Option<(f64, u64)>,
    /// The arrival numbers answered 429 without `Retry-After` (0 for the
    /// first request past the checks), and the next arrival's number.
    pub(crate) throttle_at: Option<(std::collections::BTreeSet<u64>, u64)>,
    /// `METHOD /path` answered 500 every time.
    pub(crate) always: Vec<String>,
    /// Users whose delete is confirmed but not done.
    pub(crate) undeletable: Vec<String>,
    /// Every request admitted past the key check, as `METHOD /path?query`,
    /// when recording is on.
    pub(crate) received: Option<Vec<String>>,
}

/// Records the request, then the 500 of an injected fault, if it is one.
pub(crate) fn fault(
    shared: &Shared,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
) -> Option<Response> {
    let mut controls = shared.controls();
    if let Some(received) = controls.received.as_mut() {
        received.push(format!("{method} {uri}"));
    }
    if let Some((at, next)) = controls.throttle_at.as_mut() {
        let arrival = *next;
        *next += 1;
        if at.contains(&arrival) {
            shared.throttled.fetch_add(1, Ordering::Relaxed);
            return Some(message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
        }
    }
    let served = shared.served.load(Ordering::Relaxed);
    if controls
        .throttle_share
        .is_some_and(|(share, seed)| unit_interval(seed.rotate_left(17) ^ served) < share)
    {
        shared.throttled.fetch_add(1, Ordering::Relaxed);
        return Some(message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"));
    }
    let by_share = controls
        .share
        .is_some_and(|(share, seed)| unit_interval(seed ^ served) < share);
    let by_path = controls.always.iter().any(|f| {
        f.strip_prefix(method.as_str())
            .and_then(|f| f.strip_prefix(' '))
            == Some(uri.path())
    });
    (by_share || by_path)
        .then(|| message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// A number in [0, 1) from `x`, evenly spread (SplitMix64's finaliser): a
/// few lines where a random-number crate would be a dependency for one call.
fn unit_interval(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}
