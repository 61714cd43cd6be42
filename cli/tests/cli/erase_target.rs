//! `users erase` only records "erased" when the API said so: it proves its
//! target first, reads only the API's own 404 as "already gone", stops at a
//! refused key, and will not resume a report written against another target.

use crate::common;

use common::erase_cli::{
    erase, erased_in, numbered_ids, report_lines, run, success_for, write_ids,
};
use common::{Reply, TEST_KEY, TestServer, json};
use runalloy_embedded_fake::FakeAlloy;
use std::io::Write;

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_with_a_wrong_prefix_deletes_nothing_and_records_nothing() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let ids: Vec<String> = (0..5)
        .map(|i| fake.insert_user(&format!("u{i}"), None))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let wrong = format!("{}/v2", fake.base_url());
    let mut args = vec!["--report", report.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));

    let (code, _, stderr) = run(erase(&wrong, &args)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {wrong} did not answer as Alloy's API with this key, so nothing was deleted: \
             not Alloy's API: {wrong} answered HTTP 404 to GET /users, the API's list of users, \
             so its 404s say nothing about any user"
        )),
        "{stderr}"
    );
    assert_eq!(fake.users().len(), 5, "users were deleted");
    assert!(fake.logs_deleted().is_empty());
    assert!(erased_in(&report).is_empty());

    // The right URL then erases every one, none skipped.
    let (code, _, stderr) = run(erase(&fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("5 erased (5 deleted, 0 already gone)"),
        "{stderr}"
    );
    assert!(fake.users().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_without_the_apis_shape_is_not_the_api() {
    let server = TestServer::always(json(200, r#"{"ok":true}"#)).await;
    let (code, _, stderr) = run(erase(&server.url(), &["u1"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not Alloy's API: GET"), "{stderr}");
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].method, "GET");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_apis_own_404_means_already_gone() {
    let server = TestServer::start(|_, r| {
        if r.method == "GET" {
            return success_for(r);
        }
        match r.target.as_str() {
            // The API's own answer for an unknown user.
            t if t.contains("gone") => json(404, r#"{"message":"User not found"}"#),
            // A router or proxy that serves no such path.
            t if t.contains("html") => Reply::Respond {
                status: 404,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<html><body>404 Not Found</body></html>".to_vec(),
            },
            t if t.contains("empty") => json(404, ""),
            t if t.contains("spring") => json(
                404,
                r#"{"status":404,"error":"Not Found","path":"/users/x"}"#,
            ),
            _ => success_for(r),
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let (code, _, stderr) = run(erase(
        &server.url(),
        &[
            "--report",
            report.to_str().unwrap(),
            "gone-1",
            "html-1",
            "empty-1",
            "spring-1",
            "ok-1",
        ],
    ))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("2 erased (1 deleted, 1 already gone), 0 unconfirmed, 3 failed"),
        "{stderr}"
    );
    assert_eq!(
        erased_in(&report),
        ["gone-1", "ok-1"].map(String::from).into()
    );
    let lines = report_lines(&report);
    let gone = lines.iter().find(|l| l["userId"] == "gone-1").unwrap();
    assert_eq!(gone["logs"], "already_gone");
    let html = lines.iter().find(|l| l["userId"] == "html-1").unwrap();
    assert_eq!(html["status"], "failed");
    assert_eq!(html["error"]["httpStatus"], 404);
    assert_eq!(html["user"], "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_key_stops_the_run_at_the_first_refusal() {
    // The key passes the first check, then is revoked.
    let server = TestServer::start(|_, r| {
        if r.method == "GET" {
            success_for(r)
        } else {
            json(401, r#"{"message":"Unauthorized"}"#)
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids = write_ids(dir.path(), &numbered_ids(1000));
    let report = dir.path().join("report.jsonl");
    let args = [
        "--concurrency",
        "8",
        "--report",
        report.to_str().unwrap(),
        "--from-file",
        ids.to_str().unwrap(),
    ];
    let (code, _, stderr) = run(erase(&server.url(), &args)).await;
    assert_eq!(code, 1, "{stderr}");
    let deletes = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert!((1..=8).contains(&deletes), "{deletes} DELETEs sent");
    assert!(
        stderr.contains("error: stopped at the first refused key"),
        "{stderr}"
    );
    assert!(stderr.contains("not attempted"), "{stderr}");
    // One line per id attempted, none for the rest.
    let lines = report_lines(&report);
    assert_eq!(lines.len() - 1, deletes, "{lines:?}");
    assert!(lines[1..].iter().all(|l| l["status"] == "failed"));

    // Refused at the first check: one request in all.
    let refused = TestServer::always(json(401, r#"{"message":"Unauthorized"}"#)).await;
    let (code, _, stderr) = run(erase(
        &refused.url(),
        &["--from-file", ids.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unauthorized"), "{stderr}");
    assert_eq!(refused.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_from_another_target_is_not_resumed() {
    let first = TestServer::start(|_, r| success_for(r)).await;
    let second = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let args = ["--report", report.to_str().unwrap(), "a1", "a2"];
    let (code, _, stderr) = run(erase(&first.url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    let target = &report_lines(&report)[0]["target"];
    assert_eq!(target["baseUrl"], first.url());
    assert_eq!(target["apiVersion"], "2025-09");
    let print = target["keyFingerprint"].as_str().unwrap();
    assert!(print.starts_with("sha256:") && print.len() == 19, "{print}");
    assert!(!std::fs::read_to_string(&report).unwrap().contains(TEST_KEY));

    // Another base URL: refused, nothing sent.
    let (code, _, stderr) = run(erase(&second.url(), &args)).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the report was written against base URL {}, and this run uses {}",
            first.url(),
            second.url()
        )),
        "{stderr}"
    );
    assert!(second.requests().is_empty());

    // Another key: refused too.
    let mut cmd = erase(&first.url(), &args);
    cmd.env("ALLOY_API_KEY", "sk_other_key");
    let (code, _, stderr) = run(cmd).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("written against the key with fingerprint"),
        "{stderr}"
    );

    // Told to, it skips what the report says.
    let mut ignoring = args.to_vec();
    ignoring.push("--ignore-report-target");
    let (code, _, stderr) = run(erase(&second.url(), &ignoring)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 skipped as erased in the report"),
        "{stderr}"
    );
    assert!(second.requests().is_empty());

    // A report without a target line (an older version's) is refused too.
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, "{\"userId\":\"a1\",\"status\":\"erased\"}\n").unwrap();
    let (code, _, stderr) = run(erase(
        &first.url(),
        &["--report", old.to_str().unwrap(), "a1"],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("does not record the base URL"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_cut_inside_a_character_is_repaired_on_resume() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let args = ["--report", report.to_str().unwrap(), "ü-1", "ü-2", "ü-3"];
    let (code, _, stderr) = run(erase(
        &server.url(),
        &["--report", report.to_str().unwrap(), "ü-1"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    // A kill cut the next line after the first byte of `ü`.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&report)
        .unwrap();
    file.write_all(&br#"{"userId":"\xc3"#[..]).unwrap();
    drop(file);

    let (code, _, stderr) = run(erase(&server.url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 erased (2 deleted, 0 already gone), 0 unconfirmed, 0 failed, 1 skipped"),
        "{stderr}"
    );
    let text = std::fs::read(&report).unwrap();
    let text = String::from_utf8(text).expect("the cut line was not repaired");
    assert!(
        text.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{text}"
    );
    assert_eq!(erased_in(&report).len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_is_not_a_regular_file_is_refused() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let (code, _, stderr) = run(erase(&server.url(), &["--report", "/dev/stdout", "u1"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "the report /dev/stdout is not a regular file, so a re-run could not resume from it"
        ),
        "{stderr}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_api_messages_are_escaped_on_the_terminal() {
    let server = TestServer::start(|_, r| {
        if r.method == "GET" {
            success_for(r)
        } else {
            json(500, "{\"message\":\"boom\\u001b[2J\\rfake line\"}")
        }
    })
    .await;
    let (code, _, stderr) = run(erase(&server.url(), &["u1"])).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.contains("boom\\u{1b}[2J\\rfake line"), "{stderr}");
}
