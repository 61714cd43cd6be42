//! Bulk erase throughput: the library and the CLI against a plain reqwest
//! loop that sends the same two DELETEs per id over one shared client.
//!
//! Each round erases `IDS` users (2 x `IDS` requests) at concurrency
//! `CONCURRENCY` from a fresh local stand-in, for each of the three, and
//! checks that every user and its logs are gone. The stand-in runs in a
//! child process (this binary, re-run with `--serve`), so that every
//! contender talks to it across processes, as to a real server. It prints
//! throughputs and the ratios to the plain loop; absolute times drift on
//! shared machines, ratios less so.
//!
//! Run with `cargo bench -p runalloy-embedded-cli --bench erase_throughput`.
//! `ERASE_BENCH_IDS` and `ERASE_BENCH_ROUNDS` override the defaults, and
//! `ERASE_BENCH_OTHER_CLIS` (paths, `:`-separated) adds other builds of the
//! CLI to the same rounds, to compare versions side by side, and
//! `ERASE_BENCH_BASE_URL` sends every round to a server already running
//! there (such as nginx) instead of the stand-in.

use runalloy_embedded_test_support::bench as support;

use futures::StreamExt;
use runalloy_embedded::Client;
use runalloy_embedded_fake::FakeAlloy;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

const KEY: &str = "bench-key";
const CONCURRENCY: usize = 64;

/// The child process: a stand-in holding `n` users. It prints its base URL
/// and the ids, then answers `stats` on stdin with what is left.
fn serve(n: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fake = FakeAlloy::start(KEY).await.expect("start the stand-in");
        let mut out = String::new();
        out.push_str(&fake.base_url());
        for i in 0..n {
            out.push('\n');
            out.push_str(&fake.insert_user(&format!("user-{i}@example.com"), None));
        }
        println!("{out}\nready");
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(_)) = lines.next_line().await {
            println!("{} {}", fake.users().len(), fake.logs_deleted().len());
        }
    });
}

struct StandIn {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    stdout: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    base_url: String,
}

impl StandIn {
    async fn start(n: usize) -> (Self, Vec<String>) {
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--serve", &n.to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let base_url = stdout.next_line().await.unwrap().unwrap();
        let mut ids = Vec::with_capacity(n);
        loop {
            let line = stdout.next_line().await.unwrap().unwrap();
            if line == "ready" {
                break;
            }
            ids.push(line);
        }
        let stand_in = Self {
            child,
            stdin,
            stdout,
            base_url,
        };
        (stand_in, ids)
    }

    /// Users left, and users whose logs were deleted.
    async fn stats(&mut self) -> (usize, usize) {
        self.stdin.write_all(b"stats\n").await.unwrap();
        let line = self.stdout.next_line().await.unwrap().unwrap();
        let mut parts = line.split(' ').map(|p| p.parse::<usize>().unwrap());
        (parts.next().unwrap(), parts.next().unwrap())
    }
}

/// The baseline: what a careful user would write with reqwest alone.
async fn plain_reqwest(base: &str, ids: Vec<String>) -> usize {
    support::plain_erase(&support::plain_client(KEY), base, ids, CONCURRENCY).await
}

async fn library(base: &str, ids: Vec<String>) -> usize {
    let client = Client::builder()
        .api_key(KEY)
        .base_url(base)
        .build()
        .unwrap();
    client
        .erase_users(futures::stream::iter(ids), CONCURRENCY)
        .filter(|o| futures::future::ready(o.is_erased()))
        .count()
        .await
}

/// Erases with the CLI at `exe`.
async fn cli(exe: &std::path::Path, base: &str, ids: Vec<String>, dir: &std::path::Path) -> usize {
    let ids_file = dir.join("ids.txt");
    let report = dir.join("report.jsonl");
    std::fs::write(&ids_file, ids.join("\n")).unwrap();
    let _ = std::fs::remove_file(&report);
    let status = tokio::process::Command::new(exe)
        .args(["users", "erase", "--concurrency", &CONCURRENCY.to_string()])
        .arg("--report")
        .arg(&report)
        .arg("--from-file")
        .arg(&ids_file)
        .env("ALLOY_API_KEY", KEY)
        .env("ALLOY_BASE_URL", base)
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success(), "the CLI failed: {status}");
    std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""status":"erased""#))
        .count()
}

#[derive(Clone, Debug)]
enum Contender {
    PlainReqwest,
    Library,
    Cli,
    /// Another build of the CLI, from `ERASE_BENCH_OTHER_CLIS`.
    OtherCli(std::path::PathBuf),
}

impl std::fmt::Display for Contender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Contender::OtherCli(path) => write!(f, "Cli {}", path.display()),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Where a round sends its requests.
enum Server {
    /// A fresh stand-in per round, whose state is checked afterwards.
    StandIn,
    /// A server that someone else runs, at this base URL (such as the
    /// nginx in `benches/README.md`, which answers every delete with its
    /// documented confirmation and keeps no state).
    External(String),
}

async fn round(who: &Contender, n: usize, dir: &std::path::Path, server: &Server) -> Duration {
    let (stand_in, ids, base) = match server {
        Server::StandIn => {
            let (stand_in, ids) = StandIn::start(n).await;
            let base = stand_in.base_url.clone();
            (Some(stand_in), ids, base)
        }
        Server::External(base) => {
            let ids = (0..n).map(|i| format!("user-{i}")).collect();
            (None, ids, base.clone())
        }
    };
    let started = Instant::now();
    let erased = match who {
        Contender::PlainReqwest => plain_reqwest(&base, ids).await,
        Contender::Library => library(&base, ids).await,
        Contender::Cli => {
            let exe = std::path::Path::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
            cli(exe, &base, ids, dir).await
        }
        Contender::OtherCli(exe) => cli(exe, &base, ids, dir).await,
    };
    let took = started.elapsed();
    assert_eq!(erased, n, "{who} erased {erased} of {n}");
    if let Some(mut stand_in) = stand_in {
        let (users_left, logs_deleted) = stand_in.stats().await;
        assert_eq!(users_left, 0, "{who} left users behind");
        assert_eq!(logs_deleted, n, "{who} left logs behind");
        let _ = stand_in.child.kill().await;
    }
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let n = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(0);
        return serve(n);
    }
    // `cargo bench` passes `--bench`; anything else (such as `cargo test
    // --benches`, which passes no `--bench`) runs a quick smoke round.
    let benching = std::env::args().any(|a| a == "--bench");
    let n = support::env_or("ERASE_BENCH_IDS", if benching { 20_000 } else { 500 });
    let rounds = support::env_or("ERASE_BENCH_ROUNDS", if benching { 7 } else { 1 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // ERASE_BENCH_ONLY=library (or plain, cli) runs one contender alone, for
    // a profiler such as `valgrind --tool=callgrind`.
    let only = std::env::var("ERASE_BENCH_ONLY")
        .unwrap_or_default()
        .to_lowercase();
    // ERASE_BENCH_OTHER_CLIS=/path/a:/path/b adds other builds of the CLI
    // (an older commit's, say) to the same rounds.
    let others = std::env::var_os("ERASE_BENCH_OTHER_CLIS").unwrap_or_default();
    let contenders: Vec<Contender> = [Contender::PlainReqwest, Contender::Library, Contender::Cli]
        .into_iter()
        .chain(
            std::env::split_paths(&others)
                .filter(|p| !p.as_os_str().is_empty())
                .map(Contender::OtherCli),
        )
        .filter(|c| only.is_empty() || c.to_string().to_lowercase().contains(&only))
        .collect();
    // ERASE_BENCH_BASE_URL=http://127.0.0.1:18080 sends every round to a
    // server already running there instead of a fresh stand-in.
    let server = match std::env::var("ERASE_BENCH_BASE_URL") {
        Ok(base) if !base.is_empty() => Server::External(base),
        _ => Server::StandIn,
    };
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); contenders.len()];
    runtime.block_on(async {
        for r in 0..rounds {
            // Interleaved, and in a rotating order, so that drift on the
            // machine and warm-up effects hit all three alike.
            for k in 0..contenders.len() {
                let i = (k + r) % contenders.len();
                let who = &contenders[i];
                let took = round(who, n, dir.path(), &server).await;
                println!("round {}: {who}: {n} ids in {took:.2?}", r + 1);
                times[i].push(took);
            }
        }
    });
    let per_sec = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "\nerase {n} ids ({} requests) at concurrency {CONCURRENCY}, {rounds} round(s):",
        2 * n
    );
    for (i, who) in contenders.iter().enumerate() {
        // The ratio is taken within each round, whose three runs sit side by
        // side in time, then the median over rounds: drift between rounds
        // cancels out.
        let ratios: Vec<f64> = times[i]
            .iter()
            .zip(&times[0])
            .map(|(t, base)| base.as_secs_f64() / t.as_secs_f64())
            .collect();
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  {:<28} median {:>7.0} ids/s   throughput ratio to plain reqwest: median {:.3} (rounds: {})",
            who.to_string(),
            per_sec(median(times[i].clone())),
            sorted[sorted.len() / 2],
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
