//! The bounds every client's and every view's settings keep, checked in one
//! place ([`ClientBuilder::build`](crate::ClientBuilder::build) and
//! [`CallOptions::check`](crate::CallOptions::check)).

use std::time::Duration;

/// Why `max_attempts` and the timeouts and deadline given cannot be used,
/// if they cannot: no attempt at all, or a wait of zero that nothing could
/// finish in. `None` is a setting left as it was.
pub(crate) fn check(
    max_attempts: Option<u32>,
    durations: &[Option<Duration>],
) -> Result<(), &'static str> {
    if max_attempts == Some(0) {
        return Err("max_attempts must be at least 1");
    }
    if durations.iter().flatten().any(Duration::is_zero) {
        return Err("timeouts and the deadline must be longer than zero");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;
    use std::time::Duration;

    #[test]
    fn zero_attempts_or_a_zero_wait_are_refused() {
        let second = Some(Duration::from_secs(1));
        assert_eq!(check(Some(1), &[second, None]), Ok(()));
        assert_eq!(check(None, &[]), Ok(()));
        assert_eq!(
            check(Some(0), &[second]),
            Err("max_attempts must be at least 1")
        );
        assert_eq!(
            check(None, &[second, Some(Duration::ZERO)]),
            Err("timeouts and the deadline must be longer than zero")
        );
    }
}
