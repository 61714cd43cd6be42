//! Responses counted in 100 ms buckets, so that a throttle can be judged
//! against what the API accepted (and refused) just before it.

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

/// Responses in 100 ms buckets over the last 3 s, in atomics: cheap enough
/// to keep on every response, so that the first throttle knows what the API
/// was accepting (and refusing) just before it.
#[derive(Debug)]
pub(super) struct BucketCount {
    origin: Instant,
    /// Per slot: the bucket number it counts, and its count.
    slots: [(AtomicU64, AtomicU64); 30],
}

impl BucketCount {
    const BUCKET_MS: u128 = 100;

    pub(super) fn new(origin: Instant) -> Self {
        Self {
            origin,
            slots: std::array::from_fn(|_| (AtomicU64::new(u64::MAX), AtomicU64::new(0))),
        }
    }

    pub(super) fn bucket(&self, now: Instant) -> u64 {
        let ms = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(ms / Self::BUCKET_MS).unwrap_or(u64::MAX - 1)
    }

    pub(super) fn record(&self, now: Instant) {
        let bucket = self.bucket(now);
        let (id, count) = &self.slots[(bucket % 30) as usize];
        // Two racing resets lose a count or two; this is an estimate.
        if id.swap(bucket, Ordering::Relaxed) != bucket {
            count.store(0, Ordering::Relaxed);
        }
        count.fetch_add(1, Ordering::Relaxed);
    }

    /// Responses in the second up to `bucket`, included.
    pub(super) fn last_second(&self, bucket: u64) -> f64 {
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
    pub(super) fn around(&self, bucket: u64) -> f64 {
        self.between(bucket.saturating_sub(9), bucket.saturating_add(5))
    }
}
