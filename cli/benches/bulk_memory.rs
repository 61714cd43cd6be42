//! Peak memory of a bulk erase by the number of ids: a first run over
//! `IDS` ids, then a resume from its report (every id skipped as erased).
//!
//! The stand-in runs in this process; the CLI runs as a child under
//! `/usr/bin/time`, whose maximum resident set size is the figure. Run with
//! `cargo bench -p runalloy-embedded-cli --bench bulk_memory`;
//! `MEMORY_BENCH_IDS` overrides the 1,000,000 ids (2,000 when not run as a
//! benchmark), and `MEMORY_BENCH_CLI` measures another build of the CLI.
//! Linux only (`/usr/bin/time -f`).

use runalloy_embedded_fake::FakeAlloy;
use std::time::Instant;

const KEY: &str = "memory-bench-key";

/// The CLI to measure: this package's, or `MEMORY_BENCH_CLI` (another
/// build, to compare).
fn cli() -> std::path::PathBuf {
    std::env::var_os("MEMORY_BENCH_CLI")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_runalloy-embedded").into())
}

/// Runs the CLI's erase and returns its peak resident set in bytes and its
/// wall time in seconds.
fn erase(base_url: &str, ids: &std::path::Path, report: &std::path::Path) -> (u64, f64) {
    let started = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "peak-kb %M"])
        .arg(cli())
        .args(["users", "erase", "--concurrency", "64", "--from-file"])
        .arg(ids)
        .arg("--report")
        .arg(report)
        .env("ALLOY_API_KEY", KEY)
        .env("ALLOY_BASE_URL", base_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run /usr/bin/time (GNU time)");
    let took = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the erase failed: {stderr}");
    let kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-kb "))
        .and_then(|kb| kb.trim().parse().ok())
        .expect("GNU time's peak-kb line");
    (kb * 1024, took)
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("MEMORY_BENCH_IDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 2_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime
        .block_on(FakeAlloy::start(KEY))
        .expect("start the stand-in");
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.txt");
    let mut text = String::with_capacity(n * 25);
    for i in 0..n {
        text.push_str(&fake.insert_user(&format!("user-{i}"), None));
        text.push('\n');
    }
    std::fs::write(&ids, text).unwrap();
    let report = dir.path().join("report.jsonl");
    let id_bytes = std::fs::metadata(&ids).unwrap().len();

    let (first, first_s) = erase(&fake.base_url(), &ids, &report);
    assert!(fake.users().is_empty(), "users left after the erase");
    let report_bytes = std::fs::metadata(&report).unwrap().len();
    let (resume, resume_s) = erase(&fake.base_url(), &ids, &report);
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "{n} ids ({:.1} MB of ids, a {:.1} MB report):",
        mb(id_bytes),
        mb(report_bytes)
    );
    println!(
        "  first run  peak {:>7.1} MB  ({:>5.1} bytes per id)  in {first_s:.1}s",
        mb(first),
        first as f64 / n as f64
    );
    println!(
        "  resume     peak {:>7.1} MB  ({:>5.1} bytes per id)  in {resume_s:.1}s",
        mb(resume),
        resume as f64 / n as f64
    );
    drop(fake);
}
