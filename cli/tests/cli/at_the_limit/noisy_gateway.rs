//! A gateway that refuses 1% or 2% of requests with 429 and no
//! `Retry-After`, at random positions, with no limit behind it: the CLI as
//! a process, on real time and real sockets, 2,000 ids at concurrency 64.
//! The positions come from this test's own random source, not from the
//! stand-in's: 20 random sequences per share, from one fixed seed, so that
//! every suite run judges the same sequences. `NOISY_SEED=<n>` runs
//! another seed's, `NOISY_SEED=random` a fresh one's (printed, to replay).
//!
//! Why a fixed seed: a sequence that refuses 3 of the first 13 requests
//! (about one sequence in 400 at 2%) holds the run for 1 s at each of them
//! before the client has answers enough to call the 429s sporadic (the
//! thin-evidence rule, `flow/machine.rs`), about 4 s in all, past this
//! bound though every second of it is accounted for. Drawn afresh, one
//! suite run in ten met one (seen on 2026-12-05; `benches/README.md`).
//!
//! Every run must stay within twice the time without 429s plus 2.5 s, and
//! the summary's "held back" must account for the time lost: a wait that
//! flow control imposed and did not count (the stall of issue 36) shows as
//! a run slower than the clean time plus the holds.

use crate::common;

use common::TEST_KEY;
use common::erase_cli::{erase, run, write_ids};
use std::time::{Duration, Instant};

const IDS: usize = 2_000;
/// Random sequences per share.
const SEQUENCES: usize = 20;
/// The seed of the sequences every suite run judges.
const SEED: u64 = 36;

/// Erases `IDS` ids at concurrency 64 from a stand-in that refuses the
/// requests at `refused` (arrival numbers); the wall time and the hold the
/// summary gives.
async fn erase_behind(refused: Vec<u64>) -> (Duration, Duration, String) {
    let fake = runalloy_embedded_fake::FakeAlloy::start(TEST_KEY)
        .await
        .unwrap();
    let ids: Vec<String> = (0..IDS)
        .map(|i| fake.insert_user(&format!("leaver-{i}@example.com"), None))
        .collect();
    let expected = refused.len() as u64;
    fake.throttle_at(refused);
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let started = Instant::now();
    let (code, _, stderr) = run(erase(
        &fake.base_url(),
        &["--concurrency", "64", "--from-file", file.to_str().unwrap()],
    ))
    .await;
    let took = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    assert!(fake.users().is_empty(), "{stderr}");
    let summary = stderr.lines().last().unwrap_or_default().to_owned();
    // Positions past the end of the run were never reached.
    assert!(fake.requests_throttled() <= expected, "{summary}");
    let held = summary
        .split("held back ")
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|secs| secs.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no hold in the summary: {stderr}"));
    (took, Duration::from_secs_f64(held), summary)
}

/// `share` of the first `n` arrivals, drawn from `rng`.
fn positions(rng: &mut fastrand::Rng, share: f64, n: u64) -> Vec<u64> {
    (0..n).filter(|_| rng.f64() < share).collect()
}

async fn noisy_gateway_costs_little(share: f64) {
    let seed = match std::env::var("NOISY_SEED").ok().as_deref() {
        None => SEED,
        Some("random") => fastrand::u64(..),
        Some(seed) => seed
            .parse()
            .unwrap_or_else(|_| panic!("NOISY_SEED is a number or `random`: {seed:?}")),
    };
    eprintln!("{:.0}% 429s: NOISY_SEED={seed}", share * 100.0);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut failures = Vec::new();
    let (mut clean, _, _) = erase_behind(Vec::new()).await;
    for sequence in 0..SEQUENCES {
        // Enough positions for every retry: about 2 requests per id.
        let refused = positions(&mut rng, share, 3 * IDS as u64);
        let first = refused.iter().take(3).copied().collect::<Vec<_>>();
        let (took, held, summary) = erase_behind(refused).await;
        // The clean time again, now and then, so that a machine that got
        // busier meanwhile does not fail a correct client.
        if sequence % 5 == 4 {
            clean = clean.max(erase_behind(Vec::new()).await.0);
        }
        let bound = clean * 2 + Duration::from_millis(2500);
        let accounted = clean + held + Duration::from_secs(2);
        eprintln!(
            "{:.0}%, sequence {sequence} (first at {first:?}): {:.2}s, held {:.1}s, clean {:.2}s",
            share * 100.0,
            took.as_secs_f64(),
            held.as_secs_f64(),
            clean.as_secs_f64()
        );
        if took > bound || took > accounted {
            failures.push(format!(
                "sequence {sequence}: {took:?} against {bound:?} (twice clean + 2.5 s) \
                 and {accounted:?} (clean + held + 2 s): {summary}"
            ));
        }
    }
    assert!(failures.is_empty(), "NOISY_SEED={seed}: {failures:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_percent_of_random_429s_without_a_limit_costs_little() {
    noisy_gateway_costs_little(0.01).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_percent_of_random_429s_without_a_limit_cost_little() {
    noisy_gateway_costs_little(0.02).await;
}
