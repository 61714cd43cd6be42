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
//! Then each offboards half as many users (one workflow and one credential
//! each: 5 requests per user) the same three ways, the plain loop reading
//! the credential list and deleting what it lists.
//!
//! For each it prints the ids done, the share of the allowed rate achieved
//! (successful requests ÷ (rate × wall time)) and the share of requests
//! wasted on 429s. Run with
//! `cargo bench --bench rate_limit_goodput`;
//! `GOODPUT_RATE`, `GOODPUT_IDS` and `GOODPUT_CONCURRENCY` override the
//! defaults.

use runalloy_embedded_test_support::bench as support;

use futures::StreamExt;
use runalloy_embedded::{Client, RetryPolicy};
use runalloy_embedded_fake::{FakeAlloy, RateLimit};
use std::time::{Duration, Instant};

const KEY: &str = "goodput-key";

/// One request of the careful plain loop: retried up to 3 times, after its
/// own `Retry-After` (or 1 s); the body of its success.
async fn plain_send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
) -> Option<Vec<u8>> {
    for _ in 0..3 {
        let response = http.request(method.clone(), &url).send().await.ok()?;
        if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
            if !response.status().is_success() {
                return None;
            }
            return response.bytes().await.ok().map(|b| b.to_vec());
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

/// The plain loop's erase (`offboard` false) or offboarding of one user.
async fn plain_one(http: &reqwest::Client, base: &str, id: String, offboard: bool) -> Option<()> {
    use reqwest::Method;
    if offboard {
        let url = format!("{base}/users/{id}/deactivate-workflows");
        plain_send(http, Method::PUT, url).await?;
        let listed =
            plain_send(http, Method::GET, format!("{base}/credentials/users/{id}")).await?;
        let listed: serde_json::Value = serde_json::from_slice(&listed).ok()?;
        for credential in listed["data"].as_array()? {
            let credential = credential["credentialId"].as_str()?;
            let url = format!("{base}/users/{id}/credentials/{credential}");
            plain_send(http, Method::DELETE, url).await?;
        }
    }
    let logs = format!("{base}/users/{id}/logs?userId={id}");
    plain_send(http, Method::DELETE, logs).await?;
    plain_send(http, Method::DELETE, format!("{base}/users/{id}")).await?;
    Some(())
}

async fn plain_reqwest(base: &str, ids: Vec<String>, concurrency: usize, offboard: bool) -> usize {
    let http = support::plain_client(KEY);
    futures::stream::iter(ids)
        .map(|id| plain_one(&http, base, id, offboard))
        .buffer_unordered(concurrency)
        .filter(|r| futures::future::ready(r.is_some()))
        .count()
        .await
}

async fn library(
    base: &str,
    ids: Vec<String>,
    concurrency: usize,
    cap: Option<f64>,
    offboard: bool,
) -> usize {
    let mut builder = Client::builder()
        .api_key(KEY)
        .base_url(base)
        .retry_policy(RetryPolicy::default().retry_throttled_until_deadline(true));
    if let Some(rate) = cap {
        builder = builder.max_requests_per_second(rate);
    }
    let client = builder.build().unwrap();
    if offboard {
        futures::stream::iter(ids)
            .map(|id| {
                let client = &client;
                async move { client.offboard_user(&id).await.is_offboarded() }
            })
            .buffer_unordered(concurrency)
            .filter(|done| futures::future::ready(*done))
            .count()
            .await
    } else {
        client
            .erase_users_from_iter(ids, concurrency)
            .filter(|o| futures::future::ready(o.is_erased()))
            .count()
            .await
    }
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let rate: f64 = support::env_or("GOODPUT_RATE", 50.0);
    let ids: usize = support::env_or("GOODPUT_IDS", if benching { 500 } else { 20 });
    let concurrency: usize = support::env_or("GOODPUT_CONCURRENCY", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for offboard in [false, true] {
        let (verb, ids, per_user) = match offboard {
            false => ("erase", ids, 2),
            true => ("offboard", ids.div_ceil(2), 5),
        };
        println!(
            "{verb} {ids} ids ({} requests) against a limit of {rate} req/s at concurrency {concurrency}:",
            per_user * ids
        );
        for who in ["plain reqwest", "library", "library, max rate"] {
            runtime.block_on(async {
                let fake = FakeAlloy::start_rate_limited(KEY, RateLimit::per_second(rate))
                    .await
                    .unwrap();
                let users: Vec<String> = (0..ids)
                    .map(|i| {
                        let id = fake.insert_user(&format!("user-{i}"), None);
                        if offboard {
                            fake.insert_workflow(&id);
                            fake.insert_credential(&id, "shopify");
                        }
                        id
                    })
                    .collect();
                let base = fake.base_url();
                let started = Instant::now();
                let done = match who {
                    "plain reqwest" => plain_reqwest(&base, users, concurrency, offboard).await,
                    "library" => library(&base, users, concurrency, None, offboard).await,
                    _ => library(&base, users, concurrency, Some(rate), offboard).await,
                };
                let took = started.elapsed().as_secs_f64();
                let (served, throttled) = (fake.requests_served(), fake.requests_throttled());
                let succeeded = served - throttled;
                println!(
                    "  {who:<18} {done:>5} of {ids} done in {took:>6.1}s   \
                     {:>5.1}% of the allowed rate   {:>5.1}% of {served} requests wasted on 429",
                    100.0 * succeeded as f64 / (rate * took),
                    100.0 * throttled as f64 / served as f64,
                );
            });
        }
    }
}
