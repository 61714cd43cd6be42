//! `users erase` against a rate-limited stand-in: `--max-rate`, and an
//! orderly Ctrl-C. The table of limits it keeps to by itself is in
//! `table.rs` beside it.

use crate::common;

use common::erase_cli::{erase, erased_in, rate_limited_stand_in, report_lines, run, write_ids};
use runalloy_embedded_fake::RateLimit;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn at_max_rate_almost_nothing_is_throttled() {
    let (fake, ids) = rate_limited_stand_in(RateLimit::per_second(10.0), 100).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let started = Instant::now();
    let (code, _, stderr) = run(erase(
        &fake.base_url(),
        &[
            "--max-rate",
            "10",
            "--concurrency",
            "32",
            "--from-file",
            file.to_str().unwrap(),
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(fake.users().is_empty());
    assert!(
        fake.requests_throttled() * 100 <= fake.requests_served(),
        "{} of {} answered 429",
        fake.requests_throttled(),
        fake.requests_served()
    );
    assert!(started.elapsed() <= Duration::from_secs_f64(20.1 * 1.3 + 2.0));
    assert!(
        stderr.contains("; 0 responses were 429, held back 0.0s"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fractional_max_rate_spaces_requests() {
    let (fake, ids) = rate_limited_stand_in(RateLimit::per_second(100.0), 4).await;
    let started = Instant::now();
    let mut args = vec!["--max-rate", "2.5"];
    args.extend(ids.iter().map(String::as_str));
    let (code, _, stderr) = run(erase(&fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    // 9 requests, 0.4 s apart: at least 3.2 s.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(3100), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");

    for bad in ["0", "-1", "nan", "fast", "2000000"] {
        let flag = format!("--max-rate={bad}");
        let (code, _, stderr) = run(erase(&fake.base_url(), &[&flag, "u"])).await;
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--max-rate"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_finishes_what_is_in_flight_reports_it_and_exits_130() {
    let (fake, ids) = rate_limited_stand_in(RateLimit::per_second(20.0), 100).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let report = dir.path().join("report.jsonl");
    let args = [
        "--report",
        report.to_str().unwrap(),
        "--from-file",
        file.to_str().unwrap(),
    ];
    let child = erase(&fake.base_url(), &args).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while erased_in(&report).len() < 20 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(child.id().unwrap(), "INT");
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("did not stop after Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping: no new ids"), "{stderr}");
    assert!(stderr.contains("not attempted"), "{stderr}");
    assert!(
        stderr.contains("interrupted; run the same command again"),
        "{stderr}"
    );

    // Every user the server deleted has its line.
    let remaining: BTreeSet<String> = fake.users().into_iter().map(|u| u.user_id).collect();
    let deleted: BTreeSet<String> = ids
        .iter()
        .filter(|id| !remaining.contains(*id))
        .cloned()
        .collect();
    let reported: BTreeSet<String> = report_lines(&report)
        .iter()
        .filter_map(|l| l["userId"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !deleted.is_empty() && deleted.len() < 100,
        "{}",
        deleted.len()
    );
    assert!(
        deleted.is_subset(&reported),
        "deleted without a line: {:?}",
        deleted.difference(&reported).collect::<Vec<_>>()
    );

    // A resume does the rest.
    let (code, _, stderr) = run(erase(&fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(fake.users().is_empty());
    assert_eq!(erased_in(&report).len(), 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_exits_at_once() {
    // Slow enough that the ids in flight take many seconds to finish.
    let (fake, ids) = rate_limited_stand_in(RateLimit::per_second(1.0).burst(1), 40).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let report = dir.path().join("report.jsonl");
    let child = erase(
        &fake.base_url(),
        &[
            "--report",
            report.to_str().unwrap(),
            "--from-file",
            file.to_str().unwrap(),
        ],
    )
    .spawn()
    .unwrap();
    let pid = child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.requests_served() < 3 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(pid, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = Instant::now();
    signal(pid, "TERM");
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("did not exit after the second signal")
        .unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "{:?}",
        second.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("exiting at once"), "{stderr}");
    // What the report holds still parses, for a resume.
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}
