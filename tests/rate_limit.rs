//! Bulk erase against a rate-limited stand-in: with no tuning every id ends
//! erased, close to the allowed rate, with few requests wasted on 429s.
#![cfg(feature = "fake")]

use futures::StreamExt;
use runalloy_embedded::Client;
use runalloy_embedded::fake::{FakeAlloy, RateLimit};
use std::time::{Duration, Instant};

const KEY: &str = "rate-limit-key";

struct Run {
    erased: usize,
    served: u64,
    throttled: u64,
    elapsed: Duration,
    ideal: Duration,
}

impl Run {
    fn wasted(&self) -> f64 {
        self.throttled as f64 / self.served as f64
    }

    /// Checks the bounds and says what was measured.
    fn check(&self, ids: usize, max_waste: f64, what: &str) {
        let summary = format!(
            "{what}: {} of {ids} erased, {} requests, {:.1}% answered 429, {:.1}s for an ideal {:.1}s ({:.2}x)",
            self.erased,
            self.served,
            100.0 * self.wasted(),
            self.elapsed.as_secs_f64(),
            self.ideal.as_secs_f64(),
            self.elapsed.as_secs_f64() / self.ideal.as_secs_f64(),
        );
        eprintln!("{summary}");
        assert_eq!(self.erased, ids, "{summary}");
        assert!(self.wasted() <= max_waste, "{summary}");
        assert!(
            self.elapsed <= self.ideal.mul_f64(1.3) + Duration::from_secs(2),
            "{summary}"
        );
    }
}

async fn erase_under(
    limit: RateLimit,
    ids: usize,
    concurrency: usize,
    max_rate: Option<f64>,
) -> Run {
    let fake = FakeAlloy::start_rate_limited(KEY, limit).await.unwrap();
    let users: Vec<String> = (0..ids)
        .map(|i| fake.insert_user(&format!("user-{i}"), None))
        .collect();
    let mut builder = Client::builder().api_key(KEY).base_url(fake.base_url());
    if let Some(rate) = max_rate {
        builder = builder.max_requests_per_second(rate);
    }
    let client = builder.build().unwrap();
    let started = Instant::now();
    let erased = client
        .erase_users_from_iter(users, concurrency)
        .filter(|o| futures::future::ready(o.is_erased()))
        .count()
        .await;
    let flow = client.flow_stats();
    assert_eq!(
        flow.throttled,
        fake.requests_throttled(),
        "the client missed 429s"
    );
    Run {
        erased,
        served: fake.requests_served(),
        throttled: fake.requests_throttled(),
        elapsed: started.elapsed(),
        ideal: Duration::from_secs_f64(2.0 * ids as f64 / limit.per_second),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_per_second_100_ids_concurrency_16() {
    erase_under(RateLimit::per_second(10.0), 100, 16, None)
        .await
        .check(100, 0.10, "10 req/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_per_second_400_ids_concurrency_64() {
    erase_under(RateLimit::per_second(20.0), 400, 64, None)
        .await
        .check(400, 0.10, "20 req/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_per_second_1500_ids_concurrency_64() {
    erase_under(RateLimit::per_second(100.0), 1500, 64, None)
        .await
        .check(1500, 0.10, "100 req/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_per_second_without_retry_after_200_ids_concurrency_32() {
    erase_under(
        RateLimit::per_second(10.0).without_retry_after(),
        200,
        32,
        None,
    )
    .await
    .check(200, 0.10, "10 req/s, no Retry-After");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_and_a_half_per_second_50_ids() {
    erase_under(RateLimit::per_second(2.5), 50, 16, None)
        .await
        .check(50, 0.10, "2.5 req/s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_cap_at_the_limit_wastes_almost_nothing() {
    erase_under(RateLimit::per_second(10.0), 100, 16, Some(10.0))
        .await
        .check(100, 0.01, "10 req/s, max rate 10");
}
