//! The fixed cap (`ClientBuilder::max_requests_per_second`): governor's
//! token bucket, burst 1, so requests leave evenly spaced. The stand-in's
//! rate limit uses the same bucket.

use crate::transport::deadline::Wait;
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::Instant;

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
pub(super) async fn capped_turn(
    governor: &Governor,
    deadline: Option<Instant>,
) -> Result<(), Wait> {
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
