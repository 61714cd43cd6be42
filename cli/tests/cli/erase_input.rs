//! `users erase` reads its ids once, from a file, `-` or a pipe, checks them
//! all before sending, and erases each distinct id once.

use crate::common;

use common::erase_cli::{erase, outcome, report_lines, run, success_for};
use common::{Recorded, TestServer};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// The user ids the server saw DELETEs for, as raw request targets.
fn deleted_targets(seen: &[Recorded]) -> Vec<String> {
    let mut targets: Vec<String> = seen
        .iter()
        .filter(|r| r.method == "DELETE" && !r.path().ends_with("/logs"))
        .map(|r| r.target.clone())
        .collect();
    targets.sort();
    targets
}

async fn erase_from_stdin(url: &str, from: &str, input: &[u8]) -> (i32, String, String) {
    let mut cmd = erase(url, &["--from-file", from]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("erase hung")
        .unwrap();
    outcome(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_from_a_pipe_or_dash_are_all_erased() {
    for from in ["/dev/stdin", "-"] {
        let server = TestServer::start(|_, r| success_for(r)).await;
        let (code, stdout, stderr) = erase_from_stdin(&server.url(), from, b"p1\np2\r\np3").await;
        assert_eq!(code, 0, "{from}: {stderr}");
        assert!(
            stderr.contains("3 erased (3 deleted, 0 already gone), 0 unconfirmed, 0 failed"),
            "{from}: {stderr}"
        );
        assert!(stderr.contains("of 3 ids"), "{stderr}");
        assert_eq!(
            deleted_targets(&server.requests()),
            ["/users/p1", "/users/p2", "/users/p3"]
        );
        // The target line, then one line per id.
        assert_eq!(stdout.lines().count(), 4, "{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_id_late_in_a_pipe_sends_nothing() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let mut input = String::new();
    for i in 0..500 {
        input.push_str(&format!("ok-{i}\n"));
    }
    input.push_str("bad\u{7}id\n");
    let (code, _, stderr) = erase_from_stdin(&server.url(), "-", input.as_bytes()).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("standard input line 501: the user id contains a control character"),
        "{stderr}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_byte_order_mark_is_stripped() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.txt");
    std::fs::write(&ids, "\u{feff}bom-1\r\nbom-2\r\n").unwrap();
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", ids.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        deleted_targets(&server.requests()),
        ["/users/bom-1", "/users/bom-2"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn blank_control_and_overlong_ids_exit_2_and_send_nothing() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(2000);
    let cases = [
        ("ok\n   \nok2\n", "line 2: the user id is only whitespace"),
        ("ok\n\t\nok2\n", "line 2: the user id is only whitespace"),
        (
            "a\u{1b}[2Jb\n",
            "line 1: the user id contains a control character",
        ),
        (
            "ok\na\0b\n",
            "line 2: the user id contains a control character",
        ),
        (
            &format!("{long}\n"),
            "line 1: the user id is longer than 1024 bytes",
        ),
    ];
    for (content, why) in cases {
        let ids = dir.path().join("ids.txt");
        std::fs::write(&ids, content).unwrap();
        let (code, _, stderr) = run(erase(
            &server.url(),
            &["--from-file", ids.to_str().unwrap()],
        ))
        .await;
        assert_eq!(code, 2, "{content:?}: {stderr}");
        assert!(stderr.contains(why), "{content:?}: {stderr}");
        assert!(stderr.contains("nothing was sent"), "{stderr}");
    }
    for arg in ["   ", "a\tb", &long] {
        let (code, _, stderr) = run(erase(&server.url(), &["ok", arg])).await;
        assert_eq!(code, 2, "{arg:?}: {stderr}");
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_id_is_erased_once_and_counted_once() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--report", report.to_str().unwrap(), "d1", "d2", "d1", "d1"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        deleted_targets(&server.requests()),
        ["/users/d1", "/users/d2"]
    );
    assert!(
        stderr.contains("2 erased (2 deleted, 0 already gone), 0 unconfirmed, 0 failed, 0 skipped as erased in the report, of 2 ids"),
        "{stderr}"
    );
    assert!(stderr.contains("(2 repeated ids erased once)"), "{stderr}");
    let lines = report_lines(&report);
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["userId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_file_is_a_failure_not_an_empty_run() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    // A directory opens but cannot be read.
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", dir.path().to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
    let bad = dir.path().join("latin1.txt");
    std::fs::write(&bad, b"ok\n\xe9t\xe9\n").unwrap();
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", bad.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("latin1.txt line 2: not UTF-8"), "{stderr}");
    assert!(server.requests().is_empty());
}
