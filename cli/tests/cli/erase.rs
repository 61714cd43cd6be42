//! `runalloy-embedded users erase`: the report, resuming, and `kill -9`.

use crate::common;

use common::erase_cli::{
    erase, erased_in, numbered_ids, report_lines, run, success_for, write_ids,
};
use common::{Reply, TEST_KEY, TestServer, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn the_report_has_one_line_per_id_and_a_rerun_sends_nothing() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = write_ids(dir.path(), &numbered_ids(50));
    let report = dir.path().join("report.jsonl");
    let args = [
        "--concurrency",
        "8",
        "--report",
        report.to_str().unwrap(),
        "--from-file",
        ids.to_str().unwrap(),
    ];

    let (code, stdout, stderr) = run(erase(&server.url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(
            "50 erased (50 deleted, 0 already gone), 0 unconfirmed, 0 failed, 0 skipped as erased in the report, of 50 ids"
        ),
        "{stderr}"
    );
    let lines = report_lines(&report);
    assert_eq!(lines.len(), 51);
    assert_eq!(lines[0]["target"]["baseUrl"], server.url());
    let first = &lines[1];
    assert_eq!(first["status"], "erased");
    assert_eq!(first["logs"], "deleted");
    assert_eq!(first["user"], "deleted");
    assert!(first["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(erased_in(&report).len(), 50);
    // One GET /users proves the target first.
    assert_eq!(server.requests().len(), 101);

    let (code, _, stderr) = run(erase(&server.url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "0 erased (0 deleted, 0 already gone), 0 unconfirmed, 0 failed, 50 skipped as erased in the report"
        ),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 101, "the re-run sent requests");
    assert_eq!(report_lines(&report).len(), 51);
}

#[tokio::test(flavor = "multi_thread")]
async fn ids_as_arguments_print_lines_on_stdout_and_failures_exit_1() {
    let server = TestServer::start(|_, r| {
        if r.target.contains("bad") {
            common::with_header(
                json(500, r#"{"message":"boom"}"#),
                "x-request-id",
                "req-bad-1",
            )
        } else {
            success_for(r)
        }
    })
    .await;
    let (code, stdout, stderr) = run(erase(&server.url(), &["good-1", "bad-1", "good-2"])).await;
    assert_eq!(code, 1, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["target"]["apiVersion"], "2025-09");
    let bad = lines.iter().find(|l| l["userId"] == "bad-1").unwrap();
    assert_eq!(bad["status"], "failed");
    assert_eq!(bad["logs"], "failed");
    assert_eq!(bad["user"], "skipped");
    // The error as the library serialises it: {message, httpStatus,
    // attempts, requestId}.
    assert_eq!(bad["error"]["httpStatus"], 500);
    assert_eq!(bad["error"]["attempts"], 3);
    assert_eq!(bad["error"]["requestId"], "req-bad-1");
    assert!(bad["error"]["message"].as_str().unwrap().contains("boom"));
    assert!(
        stderr.contains("failed: bad-1: server error: delete-logs-for-a-user DELETE /users/{userId}/logs: HTTP 500"),
        "{stderr}"
    );
    assert!(
        stderr.contains("after 3 attempt(s) (request id req-bad-1)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 erased (2 deleted, 0 already gone), 0 unconfirmed, 1 failed"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_id_in_the_file_exits_2_and_sends_nothing() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = dir.path().join("ids.txt");
    std::fs::write(&ids, "user-1\nuser-2\n..\nuser-3\n").unwrap();
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", ids.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("ids.txt line 3: the user id is `.` or `..`"),
        "{stderr}"
    );
    assert!(server.requests().is_empty());

    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", "/nonexistent/ids.txt"],
    ))
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read /nonexistent/ids.txt"),
        "{stderr}"
    );
    let (code, _, _) = run(erase(&server.url(), &["--concurrency", "0", "u"])).await;
    assert_eq!(code, 2);
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_a_resume_erases_the_rest_without_redoing_finished_ids() {
    // Slow enough that the kill lands mid-run.
    let server =
        TestServer::start(|_, r| Reply::Delay(Duration::from_millis(20), Box::new(success_for(r))))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = write_ids(dir.path(), &numbered_ids(300));
    let report = dir.path().join("report.jsonl");
    let args = [
        "--concurrency",
        "4",
        "--report",
        report.to_str().unwrap(),
        "--from-file",
        ids.to_str().unwrap(),
    ];

    let mut child = erase(&server.url(), &args).spawn().unwrap();
    // Wait until some ids are done, then SIGKILL.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while erased_in(&report).len() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress before the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let first_run = erased_in(&report);
    assert!(first_run.len() < 300, "the run finished before the kill");
    // A line cut by the kill would be ended with a newline on resume.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&report)
        .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"userId":"user-9"#))
        .unwrap();
    let sent_before = server.requests().len();

    let (code, _, stderr) = run(erase(&server.url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    let erased = erased_in(&report);
    assert_eq!(erased.len(), 300, "not every id ended erased");

    let resumed: BTreeSet<String> = server.requests()[sent_before..]
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| {
            r.path()
                .trim_start_matches("/users/")
                .trim_end_matches("/logs")
                .to_owned()
        })
        .collect();
    assert!(resumed.is_disjoint(&first_run), "finished ids were redone");
    // At most the in-flight ids (concurrency 4) are redone beyond the rest.
    assert!(
        resumed.len() <= 300 - first_run.len() + 4,
        "{} redone",
        resumed.len()
    );
    assert_eq!(resumed.len() + first_run.len(), 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_progress_bar_shows_only_when_stderr_is_a_terminal() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = write_ids(dir.path(), &numbered_ids(20));
    let bar_text = "erased or failed";

    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--from-file", ids.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 0);
    assert!(!stderr.contains(bar_text), "a bar on a pipe: {stderr}");

    // `script` (util-linux) runs the command on a pseudo-terminal.
    let command = format!(
        "{} users erase --report {} --from-file {}",
        env!("CARGO_BIN_EXE_runalloy-embedded"),
        dir.path().join("report.jsonl").display(),
        ids.display()
    );
    let out = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("ALLOY_API_KEY", TEST_KEY)
        .env("ALLOY_BASE_URL", server.url())
        .output()
        .await
        .expect("util-linux `script` is needed for this test");
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{terminal}");
    assert!(
        terminal.contains(bar_text),
        "no bar on a terminal: {terminal}"
    );
    assert!(terminal.contains("20 erased (20 deleted"), "{terminal}");
}

/// Success answers to the deletes that confirm nothing, each as the report
/// must quote its body.
fn unconfirming() -> Vec<(Reply, &'static str)> {
    vec![
        (json(200, "{}"), "{}"),
        (json(200, r#"{"message":"ok"}"#), r#"{"message":"ok"}"#),
        (json(200, "null"), "null"),
        (
            Reply::Respond {
                status: 204,
                headers: vec![],
                body: vec![],
            },
            "",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2xx_that_confirms_nothing_is_never_recorded_as_erased() {
    for (reply, body) in unconfirming() {
        let server = TestServer::start(move |_, r| {
            if r.method == "GET" {
                json(200, r#"{"data":[]}"#)
            } else {
                reply.clone()
            }
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        let args = ["--report", report.to_str().unwrap(), "u1", "u2"];
        let (code, _, stderr) = run(erase(&server.url(), &args)).await;
        assert_eq!(code, 1, "{body:?}: {stderr}");
        assert!(
            stderr.contains(
                "0 erased (0 deleted, 0 already gone), 2 unconfirmed, 0 failed, \
                 0 skipped as erased in the report, of 2 ids"
            ),
            "{body:?}: {stderr}"
        );
        assert!(erased_in(&report).is_empty(), "{body:?}");
        let lines = report_lines(&report);
        assert_eq!(lines.len(), 3, "{body:?}: {lines:?}");
        for line in &lines[1..] {
            assert_eq!(line["status"], "unconfirmed", "{line}");
            // The logs delete is the one that confirmed nothing, except for
            // `{"message": ...}`, which is its documented answer.
            let (logs, user) = if body.contains("message") {
                ("deleted", "unconfirmed")
            } else {
                ("unconfirmed", "skipped")
            };
            assert_eq!(
                (line["logs"].as_str(), line["user"].as_str()),
                (Some(logs), Some(user)),
                "{line}"
            );
            let status = if body.is_empty() { 204 } else { 200 };
            assert_eq!(line["error"]["httpStatus"], status, "{line}");
            assert_eq!(line["body"], body, "{line}");
            assert!(
                line["error"]["message"]
                    .as_str()
                    .is_some_and(|e| e.contains("the API did not confirm it")),
                "{line}"
            );
        }
        // A re-run does them again: nothing was recorded as done.
        let before = server.requests().len();
        let (code, _, _) = run(erase(&server.url(), &args)).await;
        assert_eq!(code, 1);
        assert!(server.requests().len() > before + 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_delete_and_delete_logs_exit_1_on_a_2xx_that_confirms_nothing() {
    let server = TestServer::always(json(200, "{}")).await;
    for command in ["delete", "delete-logs"] {
        let out = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"))
            .args(["users", command, "u1"])
            .env("ALLOY_API_KEY", TEST_KEY)
            .env("ALLOY_BASE_URL", server.url())
            .env_remove("RUST_LOG")
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        // The body the API sent, as it sent it, and the reason.
        assert_eq!(stdout, "{}\n", "{command}");
        let operation = if command == "delete" {
            "delete-a-user DELETE /users/{userId}"
        } else {
            "delete-logs-for-a-user DELETE /users/{userId}/logs"
        };
        assert!(
            stderr.contains(&format!(
                "error: {operation}: HTTP 200 OK: the API did not confirm it \
                 (body of 2 characters, not shown) after 1 attempt(s)"
            )),
            "{command}: {stderr}"
        );
    }
}

/// A report written by 0.5.0, whose lines carried the error as a string and
/// `httpStatus` beside it, still resumes: the ids it records as erased are
/// skipped, the others are erased, and the new lines have the one shape.
#[tokio::test(flavor = "multi_thread")]
async fn a_report_written_by_0_5_0_still_resumes() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let fingerprint = runalloy_embedded::ApiKey::new(TEST_KEY)
        .unwrap()
        .fingerprint();
    let old = format!(
        "{{\"target\":{{\"baseUrl\":\"{}\",\"apiVersion\":\"2025-09\",\"keyFingerprint\":\"{fingerprint}\"}}}}\n\
         {{\"userId\":\"done-1\",\"status\":\"erased\",\"logs\":\"deleted\",\"user\":\"deleted\",\"at\":\"2026-12-03T10:00:00.000Z\"}}\n\
         {{\"userId\":\"gone-1\",\"status\":\"erased\",\"logs\":\"already_gone\",\"user\":\"already_gone\",\"at\":\"2026-12-03T10:00:00.100Z\"}}\n\
         {{\"userId\":\"failed-1\",\"status\":\"failed\",\"logs\":\"failed\",\"user\":\"skipped\",\"stoppedAt\":\"logs\",\"error\":\"server error: delete-logs-for-a-user DELETE /users/{{userId}}/logs: HTTP 500 Internal Server Error: boom after 3 attempt(s)\",\"httpStatus\":500,\"at\":\"2026-12-03T10:00:00.200Z\"}}\n",
        server.url()
    );
    std::fs::write(&report, old).unwrap();
    let (code, _, stderr) = run(erase(
        &server.url(),
        &[
            "--report",
            report.to_str().unwrap(),
            "done-1",
            "gone-1",
            "failed-1",
            "new-1",
        ],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let deleted: BTreeSet<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(
        deleted,
        BTreeSet::from([
            "/users/failed-1".to_owned(),
            "/users/failed-1/logs".to_owned(),
            "/users/new-1".to_owned(),
            "/users/new-1/logs".to_owned(),
        ])
    );
    assert_eq!(
        erased_in(&report),
        BTreeSet::from(["done-1", "gone-1", "failed-1", "new-1"].map(str::to_owned))
    );
    assert!(
        stderr.contains("2 skipped as erased in the report"),
        "{stderr}"
    );
}
