//! A fleet sharing one key: several CLI processes erase at once against one
//! rate limit, with no coordination beyond the API's answers.
//!
//! For each fleet size, a stand-in behind a token bucket (`FLEET_BENCH_RATE`
//! requests per second, a burst of as many, `Retry-After` on every 429) runs
//! in this process, and that many `runalloy-embedded users erase` processes
//! start together, each with its own `FLEET_BENCH_IDS` ids and the default
//! concurrency. It checks that every id was erased, then prints the ideal
//! time (every request sent once, at the limit), the achieved time, their
//! ratio, the share of requests refused with 429, and when the first and
//! the last process finished.
//!
//! Run with `cargo bench -p runalloy-embedded-cli --bench fleet`.
//! `FLEET_BENCH_PROCS` (comma-separated sizes, default `1,2,4,8`),
//! `FLEET_BENCH_IDS` (default 60), `FLEET_BENCH_RATE` (default 40) and
//! `FLEET_BENCH_ROUNDS` (default 2) override the defaults.
//! `FLEET_BENCH_SPLIT=1` gives each process `--max-rate` of its share of
//! the limit instead: a limit divided ahead of time, the figure that
//! coordination between the processes would reach.
//! `FLEET_BENCH_LIMITER=redis://127.0.0.1:PORT/0` gives each process
//! `--limiter` with that store: one limit shared through Redis (start the
//! store yourself: `redis-server --port PORT --save ''`).
//! `FLEET_BENCH_KEEP_LOGS=dir` keeps each worker's standard error there (with
//! `RUST_LOG=runalloy_embedded=debug`, the flow control's decisions).

use runalloy_embedded_test_support::bench as support;

use runalloy_embedded_fake::{FakeAlloy, RateLimit};
use std::time::{Duration, Instant};

const KEY: &str = "bench-key";

struct Fleet {
    processes: usize,
    requests: u64,
    refused: u64,
    took: Duration,
    ideal: Duration,
    first_done: Duration,
}

impl Fleet {
    fn refused_share(&self) -> f64 {
        self.refused as f64 / self.requests as f64
    }

    fn ratio(&self) -> f64 {
        self.took.as_secs_f64() / self.ideal.as_secs_f64()
    }
}

/// One fleet of `processes` CLIs, `ids` ids each, against `rate` req/s.
/// With `split`, each process gets `--max-rate rate/processes`: the limit
/// divided ahead of time, which is what coordination would buy.
async fn fleet(
    processes: usize,
    ids: usize,
    rate: f64,
    split: bool,
    dir: &std::path::Path,
) -> Fleet {
    let fake = FakeAlloy::start_rate_limited(KEY, RateLimit::per_second(rate))
        .await
        .expect("start the stand-in");
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
    let mut runs = Vec::new();
    for p in 0..processes {
        let users: Vec<String> = (0..ids)
            .map(|i| fake.insert_user(&format!("w{p}-{i}@example.com"), None))
            .collect();
        let file = dir.join(format!("ids-{p}.txt"));
        let report = dir.join(format!("report-{p}.jsonl"));
        std::fs::write(&file, users.join("\n")).unwrap();
        let _ = std::fs::remove_file(&report);
        runs.push((file, report));
    }
    let base = fake.base_url();
    let base = &base;
    let started = Instant::now();
    let share = (rate / processes as f64).to_string();
    let share = &share;
    let children = runs.iter().map(|(file, report)| async move {
        let mut command = tokio::process::Command::new(exe);
        if split {
            command.args(["users", "erase", "--max-rate", share]);
        } else {
            command.args(["users", "erase"]);
        }
        if let Ok(limiter) = std::env::var("FLEET_BENCH_LIMITER") {
            command.args(["--limiter", &limiter]);
        }
        let output = command
            .arg("--report")
            .arg(report)
            .arg("--from-file")
            .arg(file)
            .env("ALLOY_API_KEY", KEY)
            .env("ALLOY_BASE_URL", base)
            .output()
            .await
            .unwrap();
        let done = started.elapsed();
        if let Some(keep) = std::env::var_os("FLEET_BENCH_KEEP_LOGS") {
            let name = file.file_stem().unwrap_or_default().to_string_lossy();
            let _ = std::fs::write(
                std::path::Path::new(&keep).join(format!("{name}.log")),
                &output.stderr,
            );
        }
        assert!(
            output.status.success(),
            "a worker failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        done
    });
    let finished = futures::future::join_all(children).await;
    let took = started.elapsed();
    assert!(fake.users().is_empty(), "users were left behind");
    assert_eq!(
        fake.logs_deleted().len(),
        processes * ids,
        "logs were left behind"
    );
    // Two DELETEs per id, and each process's GET that proves the target.
    let needed = processes * (2 * ids + 1);
    Fleet {
        processes,
        requests: fake.requests_served(),
        refused: fake.requests_throttled(),
        took,
        ideal: Duration::from_secs_f64(needed as f64 / rate),
        first_done: finished.into_iter().min().unwrap_or_default(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else runs a quick smoke round.
    let benching = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("FLEET_BENCH_PROCS")
        .unwrap_or_else(|_| if benching { "1,2,4,8" } else { "2" }.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ids = support::env_or("FLEET_BENCH_IDS", if benching { 60 } else { 10 });
    let rate = support::env_or("FLEET_BENCH_RATE", 40.0);
    let rounds = support::env_or("FLEET_BENCH_ROUNDS", if benching { 2 } else { 1 });
    let split = std::env::var_os("FLEET_BENCH_SPLIT").is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    println!(
        "fleets of `users erase` (concurrency 16{}), {ids} ids per process, one {rate} req/s limit:",
        if split {
            ", --max-rate limit/processes"
        } else {
            ""
        }
    );
    println!(
        "| processes | requests | ideal | achieved | ratio | refused (429) | first process done |"
    );
    println!("|---|---|---|---|---|---|---|");
    runtime.block_on(async {
        for _ in 0..rounds {
            for &n in &sizes {
                let f = fleet(n, ids, rate, split, dir.path()).await;
                println!(
                    "| {} | {} | {:.1} s | {:.1} s | {:.2}x | {:.1}% | {:.1} s |",
                    f.processes,
                    f.requests,
                    f.ideal.as_secs_f64(),
                    f.took.as_secs_f64(),
                    f.ratio(),
                    100.0 * f.refused_share(),
                    f.first_done.as_secs_f64(),
                );
            }
        }
    });
}
