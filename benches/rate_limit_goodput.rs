//! Goodput under a rate limit: what counts against a hosted API.
//!
//! Each contender erases `IDS` users from a fresh stand-in that allows
//! `RATE` requests per second (a token bucket with a burst of as many, that
//! answers 429 with `Retry-After` over it), at concurrency `CONCURRENCY`:
//!
//! - a plain reqwest loop, written as a careful user would: each request is
//!   retried up to 3 times, waiting out its own `Retry-After`;
//! - the library with no tuning (its adaptive flow control);
//! - the library with `max_requests_per_second(RATE)`.
//!
//! For each it prints the ids erased, the share of the allowed rate achieved
//! (successful requests ÷ (rate × wall time)) and the share of requests
//! wasted on 429s. Run with
//! `cargo bench --bench rate_limit_goodput --features fake`;
//! `GOODPUT_RATE`, `GOODPUT_IDS` and `GOODPUT_CONCURRENCY` override the
//! defaults.

#[path = "support/mod.rs"]
mod support;

use futures::StreamExt;
use runalloy_embedded::Client;
use runalloy_embedded::fake::{FakeAlloy, RateLimit};
use std::time::{Duration, Instant};

const KEY: &str = "goodput-key";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The careful plain loop: each request retried up to 3 times, after its
/// own `Retry-After` (or 1 s).
async fn plain_reqwest(base: &str, ids: Vec<String>, concurrency: usize) -> usize {
    let http = support::plain_client(KEY);
    let delete = |url: String| {
        let http = &http;
        async move {
            for _ in 0..3 {
                let response = http.delete(&url).send().await.ok()?;
                if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                    return response.status().is_success().then_some(());
                }
                let wait = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            None
        }
    };
    futures::stream::iter(ids)
        .map(|id| {
            let delete = &delete;
            async move {
                delete(format!("{base}/users/{id}/logs?userId={id}")).await?;
                delete(format!("{base}/users/{id}")).await
            }
        })
        .buffer_unordered(concurrency)
        .filter(|r| futures::future::ready(r.is_some()))
        .count()
        .await
}

async fn library(base: &str, ids: Vec<String>, concurrency: usize, cap: Option<f64>) -> usize {
    let mut builder = Client::builder().api_key(KEY).base_url(base);
    if let Some(rate) = cap {
        builder = builder.max_requests_per_second(rate);
    }
    builder
        .build()
        .unwrap()
        .erase_users_from_iter(ids, concurrency)
        .filter(|o| futures::future::ready(o.is_erased()))
        .count()
        .await
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rate: f64 = env_or("GOODPUT_RATE", 50.0);
    let ids: usize = env_or("GOODPUT_IDS", if benching { 500 } else { 20 });
    let concurrency: usize = env_or("GOODPUT_CONCURRENCY", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "erase {ids} ids ({} requests) against a limit of {rate} req/s at concurrency {concurrency}:",
        2 * ids
    );
    for who in ["plain reqwest", "library", "library, max rate"] {
        runtime.block_on(async {
            let fake = FakeAlloy::start_rate_limited(KEY, RateLimit::per_second(rate))
                .await
                .unwrap();
            let users: Vec<String> = (0..ids)
                .map(|i| fake.insert_user(&format!("user-{i}"), None))
                .collect();
            let base = fake.base_url();
            let started = Instant::now();
            let erased = match who {
                "plain reqwest" => plain_reqwest(&base, users, concurrency).await,
                "library" => library(&base, users, concurrency, None).await,
                _ => library(&base, users, concurrency, Some(rate)).await,
            };
            let took = started.elapsed().as_secs_f64();
            let (served, throttled) = (fake.requests_served(), fake.requests_throttled());
            let succeeded = served - throttled;
            println!(
                "  {who:<18} {erased:>5} of {ids} erased in {took:>6.1}s   \
                 {:>5.1}% of the allowed rate   {:>5.1}% of {served} requests wasted on 429",
                100.0 * succeeded as f64 / (rate * took),
                100.0 * throttled as f64 / served as f64,
            );
        });
    }
}
