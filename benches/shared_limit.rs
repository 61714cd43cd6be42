//! The shared limiter's cost and what it buys, against a plain reqwest
//! baseline where one applies. A `redis-server` on 127.0.0.1 is started by
//! the bench (the test suite's `Store`); the stand-in runs in this process.
//!
//! - **Bulk throughput of one process**: `erase_users` of `IDS` ids at
//!   concurrency 64 against a stand-in with no limit, with the local flow
//!   control and with the store on loopback, rounds interleaved with a
//!   plain reqwest loop; the ratios to that loop, and the store's round
//!   trips per request (`INFO commandstats`).
//! - **Admission latency**: `get_user` one call at a time, without and with
//!   the store: p50 and p99 of the call, side by side.
//! - **Three replicas in a steady stream**: three clients (separate flow
//!   control, as three processes have) each reading in a steady stream at
//!   concurrency 4 for `STEADY_SECS` against one stand-in limited to
//!   `RATE` req/s, without and with the store: the share of the limit
//!   achieved and the share of requests refused.
//!
//! Run with `cargo bench --features redis --bench shared_limit`;
//! `SHARED_BENCH_IDS`, `SHARED_BENCH_ROUNDS`, `SHARED_BENCH_RATE` and
//! `SHARED_BENCH_STEADY_SECS` override the defaults.

use runalloy_embedded_test_support::bench as support;
use runalloy_embedded_test_support::store::Store;

use futures::StreamExt;
use runalloy_embedded::{Client, RetryPolicy};
use runalloy_embedded_fake::{FakeAlloy, RateLimit};
use std::time::{Duration, Instant};

const KEY: &str = "shared-bench-key";
const CONCURRENCY: usize = 64;

fn client(base: &str, limiter: Option<&str>) -> Client {
    let mut builder = Client::builder().api_key(KEY).base_url(base);
    if let Some(url) = limiter {
        builder = builder.limiter(url);
    }
    builder.build().expect("a client")
}

/// The store's script calls so far.
fn store_calls(store: &Store) -> u64 {
    store
        .cli(&["INFO", "commandstats"])
        .lines()
        .filter(|l| l.starts_with("cmdstat_eval"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

async fn stand_in(n: usize) -> (FakeAlloy, Vec<String>) {
    let fake = FakeAlloy::start(KEY).await.expect("the stand-in");
    let ids = (0..n)
        .map(|i| fake.insert_user(&format!("b-{i}@example.com"), None))
        .collect();
    (fake, ids)
}

/// The two DELETEs per id, over one reqwest client: the baseline.
async fn plain(base: &str, ids: Vec<String>) -> usize {
    support::plain_erase(&support::plain_client(KEY), base, ids, CONCURRENCY).await
}

async fn library(base: &str, ids: Vec<String>, limiter: Option<&str>) -> usize {
    client(base, limiter)
        .erase_users(futures::stream::iter(ids), CONCURRENCY)
        .filter(|o| futures::future::ready(o.is_erased()))
        .count()
        .await
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn throughput(store: &Store, n: usize, rounds: usize) {
    let url = store.url();
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut trips = Vec::new();
    for round in 0..rounds {
        let mut took = [0.0; 3];
        for k in 0..3 {
            let who = (k + round) % 3;
            let (fake, ids) = stand_in(n).await;
            let calls = store_calls(store);
            let started = Instant::now();
            let done = match who {
                0 => plain(&fake.base_url(), ids).await,
                1 => library(&fake.base_url(), ids, None).await,
                _ => library(&fake.base_url(), ids, Some(&url)).await,
            };
            took[who] = started.elapsed().as_secs_f64();
            assert_eq!(done, n, "contender {who} erased {done} of {n}");
            if who == 2 {
                trips.push((store_calls(store) - calls) as f64 / fake.requests_served() as f64);
            }
        }
        ratios[0].push(took[0] / took[1]);
        ratios[1].push(took[0] / took[2]);
        println!(
            "round {}: plain {:.2}s, library {:.2}s, library with the store {:.2}s",
            round + 1,
            took[0],
            took[1],
            took[2]
        );
    }
    let (local, shared) = (median(ratios[0].clone()), median(ratios[1].clone()));
    println!(
        "bulk erase of {n} ids at concurrency {CONCURRENCY}, throughput ratio to plain reqwest (median of {rounds}):\n  \
         local flow control {local:.3}\n  with the store on loopback {shared:.3} ({:.3} of local)\n  \
         store round trips per request: {:.3}",
        shared / local,
        median(trips)
    );
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn latency(store: &Store, calls: usize) {
    let (fake, ids) = stand_in(1).await;
    let id = &ids[0];
    let url = store.url();
    let mut seen: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let clients = [
        client(&fake.base_url(), None),
        client(&fake.base_url(), Some(&url)),
    ];
    for c in &clients {
        c.get_user(id).await.expect("warm up");
    }
    for i in 0..calls {
        for (k, c) in clients.iter().enumerate() {
            let k = (k + i) % 2;
            let _ = c;
            let started = Instant::now();
            clients[k].get_user(id).await.expect("a read");
            seen[k].push(started.elapsed());
        }
    }
    for (k, what) in ["local flow control", "with the store"].iter().enumerate() {
        seen[k].sort();
        println!(
            "  get_user one at a time, {what}: p50 {:?}, p99 {:?}",
            percentile(&seen[k], 0.5),
            percentile(&seen[k], 0.99)
        );
    }
}

/// Three replicas reading in a steady stream for `secs` against `rate`;
/// the share of the limit achieved and the share refused.
async fn replicas(rate: f64, secs: u64, limiter: Option<&str>) -> (f64, f64) {
    let fake = FakeAlloy::start_rate_limited(KEY, RateLimit::per_second(rate))
        .await
        .expect("the stand-in");
    let id = fake.insert_user("steady@example.com", None);
    let until = Instant::now() + Duration::from_secs(secs);
    let replicas: Vec<Client> = (0..3)
        .map(|_| {
            let mut builder = Client::builder()
                .api_key(KEY)
                .base_url(fake.base_url())
                .retry_policy(RetryPolicy::default().retry_throttled_until_deadline(true));
            if let Some(url) = limiter {
                builder = builder.limiter(url);
            }
            builder.build().expect("a replica")
        })
        .collect();
    let started = Instant::now();
    let runs = replicas.iter().map(|c| {
        let id = id.clone();
        async move {
            let mut ok = 0u64;
            futures::stream::iter(0..)
                .take_while(|_| futures::future::ready(Instant::now() < until))
                .map(|_| c.get_user(&id))
                .buffer_unordered(4)
                .for_each(|r| {
                    ok += u64::from(r.is_ok());
                    futures::future::ready(())
                })
                .await;
            ok
        }
    });
    let ok: u64 = futures::future::join_all(runs).await.into_iter().sum();
    let wall = started.elapsed().as_secs_f64();
    // The bucket's burst is a second's worth, spent once.
    let allowed = rate * wall + rate;
    let refused = fake.requests_throttled() as f64 / fake.requests_served() as f64;
    (ok as f64 / allowed, refused)
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n = support::env_or("SHARED_BENCH_IDS", if benching { 5_000 } else { 300 });
    let rounds = support::env_or("SHARED_BENCH_ROUNDS", if benching { 5 } else { 1 });
    let rate = support::env_or("SHARED_BENCH_RATE", 20.0);
    let secs = support::env_or("SHARED_BENCH_STEADY_SECS", if benching { 30 } else { 3 });
    let store = Store::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        throughput(&store, n, rounds).await;
        println!(
            "admission latency ({} calls each):",
            if benching { 2000 } else { 100 }
        );
        latency(&store, if benching { 2000 } else { 100 }).await;
        println!(
            "three replicas, a steady stream each at concurrency 4, {secs} s against {rate} req/s:"
        );
        for (what, limiter) in [
            ("without a store", None),
            ("with the store", Some(store.url())),
        ] {
            let (share, refused) = replicas(rate, secs, limiter.as_deref()).await;
            println!(
                "  {what}: {:.1}% of the limit achieved, {:.1}% of requests refused",
                100.0 * share,
                100.0 * refused
            );
        }
    });
}
