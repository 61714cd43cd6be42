//! The state in process memory: one [`FlowState`] behind a mutex, on the
//! process's clock, shared by a client's clones and every call.

use super::machine::{Admission, FlowState, LONGEST_HOLD, Micros, Observation};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The one holder of this state's window places.
const ME: u64 = 0;

#[derive(Debug)]
pub(super) struct LocalStore {
    /// Instant 0 of the state's clock.
    origin: Instant,
    state: Mutex<FlowState>,
    /// Woken when a window place is given back, or the window goes.
    pub(super) released: tokio::sync::Notify,
}

impl LocalStore {
    pub(super) fn new() -> Self {
        Self {
            origin: Instant::now(),
            state: Mutex::new(FlowState::new(0)),
            released: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FlowState> {
        // Every update leaves the state consistent; keep going after a
        // panic elsewhere.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `at` on the state's clock.
    pub(super) fn micros(&self, at: Instant) -> Micros {
        u64::try_from(at.saturating_duration_since(self.origin).as_micros()).unwrap_or(u64::MAX)
    }

    /// The instant of `at` on the state's clock.
    pub(super) fn instant(&self, at: Micros) -> Instant {
        self.origin
            .checked_add(Duration::from_micros(at))
            .unwrap_or_else(|| Instant::now() + LONGEST_HOLD)
    }

    pub(super) fn admit(&self, now: Instant, cap: Option<f64>) -> Admission {
        self.state().admit(self.micros(now), ME, cap, u64::MAX)
    }

    pub(super) fn observe(&self, o: Observation) {
        let (was_window, is_window) = {
            let mut state = self.state();
            let before = matches!(state.mode, super::machine::Mode::SlowStart { .. });
            state.observe(ME, o, u64::MAX);
            (
                before,
                matches!(state.mode, super::machine::Mode::SlowStart { .. }),
            )
        };
        if was_window && !is_window {
            self.released.notify_waiters();
        } else if o.windowed {
            self.released.notify_one();
        }
    }

    /// Reads the state at `now`.
    pub(super) fn read<R>(&self, f: impl FnOnce(&FlowState, Micros) -> R) -> R {
        let now = self.micros(Instant::now());
        f(&self.state(), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant past any hold (`u64::MAX` µs from the start) is far
    /// away, never a panic.
    #[test]
    fn an_instant_past_any_hold_is_far_away() {
        let store = LocalStore::new();
        let before = Instant::now();
        assert!(store.instant(u64::MAX) >= before + LONGEST_HOLD);
    }
}
