//! The fixed cap (`ClientBuilder::max_requests_per_second`): governor's
//! token bucket, burst 1, so requests leave evenly spaced.

use crate::transport::deadline::Wait;
use std::time::Duration;
use tokio::time::Instant;

pub(super) type Governor = governor::DefaultDirectRateLimiter;

/// A governor token bucket refilled at `rate` per second (fractions
/// allowed) and holding one request; `None` for a rate that is not finite
/// and positive.
pub(super) fn token_bucket(rate: f64) -> Option<Governor> {
    let period = Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| !p.is_zero())?;
    // A quota's burst is 1 unless it is raised.
    let quota = governor::Quota::with_period(period)?;
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
