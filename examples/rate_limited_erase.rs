//! A bulk erase against a rate-limited stand-in, offline, with no key: the
//! client finds the limit by itself, then keeps just under it.
//!
//! Run it with `cargo run --example rate_limited_erase`.
//! `LIMIT` (requests per second, default 10) and `IDS` (default 100) change
//! the run.

use futures::StreamExt;
use runalloy_embedded::{Client, RetryPolicy};
use runalloy_embedded_fake::{FakeAlloy, RateLimit};
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit: f64 = std::env::var("LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10.0);
    let ids: usize = std::env::var("IDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let fake = FakeAlloy::start_rate_limited("demo-key", RateLimit::per_second(limit)).await?;
    let users: Vec<String> = (0..ids)
        .map(|i| fake.insert_user(&format!("leaver-{i}@example.com"), None))
        .collect();
    // A bulk run waits out throttles until each call's deadline, rather
    // than count them against its attempts.
    let client = Client::builder()
        .api_key("demo-key")
        .base_url(fake.base_url())
        .retry_policy(RetryPolicy::default().retry_throttled_until_deadline(true))
        .build()?;
    println!(
        "erasing {ids} users from a stand-in that allows {limit} requests a second ({} requests)",
        2 * ids
    );

    let started = Instant::now();
    let mut outcomes = client.erase_users_from_iter(users, 16);
    let mut erased = 0;
    while let Some(outcome) = outcomes.next().await {
        erased += usize::from(outcome.is_erased());
        if erased % 20 == 0 {
            let flow = client.flow_stats();
            println!(
                "  {erased:>4} erased after {:>5.1}s; pace {}, {} responses were 429",
                started.elapsed().as_secs_f64(),
                flow.pace
                    .map_or("unpaced".to_owned(), |p| format!("{p:.1} req/s")),
                flow.throttled,
            );
        }
    }
    let took = started.elapsed().as_secs_f64();
    let flow = client.flow_stats();
    println!(
        "{erased} of {ids} erased in {took:.1}s (the limit allows it in {:.1}s); \
         {} of {} requests answered 429, held back {:.1}s",
        2.0 * ids as f64 / limit,
        fake.requests_throttled(),
        fake.requests_served(),
        flow.held_back.as_secs_f64()
    );
    Ok(())
}
