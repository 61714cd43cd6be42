//! `users export`, run as a user would against the stand-in, which pages
//! `get-logs` as the vendor documents it: every log across pages, only GET
//! requests, one line per id, a file never overwritten.

use crate::common;

use common::TEST_KEY;
use common::erase_cli::{run, users};
use runalloy_embedded_fake::FakeAlloy;
use serde_json::Value;
use std::collections::BTreeMap;

fn lines(text: &str) -> BTreeMap<String, Value> {
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (v["userId"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_log_across_pages_with_get_requests_only() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane@example.com", Some("Jane Doe"));
    let john = fake.insert_user("john@example.com", None);
    fake.insert_credential(&jane, "shopify");
    fake.insert_credential(&jane, "netsuite");
    for i in 0..25 {
        fake.insert_log(&jane, &format!("wf-{}", i % 2));
        fake.insert_log(&john, "wf-0");
    }
    fake.record_requests();
    let (code, stdout, stderr) = run(users(
        "export",
        &fake.base_url(),
        &[&jane, "nobody-42", "--concurrency", "2"],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let lines = lines(&stdout);
    assert_eq!(lines.len(), 2);

    let exported = &lines[&jane];
    assert_eq!(exported["status"], "exported");
    assert_eq!(exported["user"]["username"], "jane@example.com");
    assert_eq!(exported["user"]["fullName"], "Jane Doe");
    assert_eq!(exported["credentials"]["data"].as_array().unwrap().len(), 2);
    assert!(exported["integrations"].is_object(), "{exported}");
    let logs = exported["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 25, "every page");
    assert!(
        logs.iter().all(|l| l["userId"] == jane.as_str()),
        "only hers"
    );
    let wanted: Vec<String> = fake
        .logs()
        .iter()
        .filter(|l| l.user_id == jane)
        .map(|l| l.log_id.clone())
        .collect();
    let got: Vec<&str> = logs.iter().map(|l| l["_id"].as_str().unwrap()).collect();
    assert_eq!(got, wanted, "in order, none twice");
    assert!(exported["exportedAt"].is_string());
    assert_eq!(
        lines["nobody-42"],
        serde_json::json!({
            "userId": "nobody-42",
            "status": "not_found",
            "exportedAt": lines["nobody-42"]["exportedAt"].clone()
        })
    );

    let received = fake.received();
    assert!(
        received.iter().all(|r| r.starts_with("GET ")),
        "{received:?}"
    );
    let pages: Vec<&String> = received
        .iter()
        .filter(|r| r.starts_with("GET /logs?"))
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for (page, skip) in pages.iter().zip(["skip=0", "skip=10", "skip=20"]) {
        assert!(page.contains(skip) && page.contains("limit=10"), "{page}");
        assert!(page.contains(&format!("associatedUserId={jane}")), "{page}");
    }
    assert!(
        stderr.contains("1 exported, 1 not found, 0 failed, of 2 ids"),
        "{stderr}"
    );
    // The stand-in's other user was not read.
    assert!(!received.iter().any(|r| r.contains(&john)), "{received:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_read_is_recorded_and_exits_1_and_an_export_is_never_overwritten() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane@example.com", None);
    fake.fail_always("GET", "/integrations");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.jsonl");
    let out_arg = out.to_str().unwrap();
    let (code, stdout, stderr) = run(users(
        "export",
        &fake.base_url(),
        &["--out", out_arg, &jane],
    ))
    .await;
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap();
    let line = &lines(&written)[&jane];
    assert_eq!(line["status"], "failed");
    assert_eq!(line["httpStatus"], 500);
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .starts_with("server error: list-integrations GET /integrations: HTTP 500"),
        "{line}"
    );
    assert!(
        stderr.contains(&format!("failed: {jane}: server error")),
        "{stderr}"
    );

    // The same --out again: refused, the file as it was.
    fake.clear_faults();
    let (code, _, stderr) = run(users(
        "export",
        &fake.base_url(),
        &["--out", out_arg, &jane],
    ))
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("exists; an export never overwrites a file"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_id_exits_2_and_sends_nothing() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    fake.record_requests();
    let (code, _, stderr) = run(users("export", &fake.base_url(), &["ok-1", ".."])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(fake.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_url_that_is_not_the_api_exports_nothing() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane@example.com", None);
    let wrong = format!("{}/v2", fake.base_url());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.jsonl");
    let (code, stdout, stderr) = run(users(
        "export",
        &wrong,
        &["--out", out.to_str().unwrap(), &jane, "nobody-42"],
    ))
    .await;
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {wrong} did not answer as Alloy's API with this key, so nothing was exported"
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "no file, so no line claims a user unknown");
}

/// A user the API reads, whose credentials then answer the API's own 404:
/// the export failed, and the line never says `not_found`, which would tell an
/// access request that the API holds nothing about a user it just returned.
#[tokio::test(flavor = "multi_thread")]
async fn a_404_after_the_user_was_read_is_a_failed_export_not_an_unknown_user() {
    use common::{TestServer, json};
    let server = TestServer::start(|_, r| match r.path() {
        "/users" => json(200, r#"{"data":[]}"#),
        "/users/u-1" => json(200, r#"{"userId":"u-1","username":"jane@example.com"}"#),
        "/credentials/users/u-1" => json(404, r#"{"message":"User not found"}"#),
        _ => json(200, "{}"),
    })
    .await;
    let (code, stdout, stderr) = run(users("export", &server.url(), &["u-1"])).await;
    assert_eq!(code, 1, "{stderr}");
    let line = &lines(&stdout)["u-1"];
    assert_eq!(line["status"], "failed", "{line}");
    assert_eq!(line["httpStatus"], 404, "{line}");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("list-user-credentials GET /credentials/users/{userId}"),
        "{line}"
    );
    assert!(
        stderr.contains("0 exported, 0 not found, 1 failed, of 1 ids"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_taking_ids_finishes_those_in_flight_and_exits_130() {
    use common::erase_cli::{rate_limited_stand_in, write_ids};
    use runalloy_embedded_fake::RateLimit;
    use std::time::{Duration, Instant};
    // Each export is four reads: 100 users at 20 req/s take 20 s.
    let (fake, ids) = rate_limited_stand_in(RateLimit::per_second(20.0), 100).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let out_file = dir.path().join("export.jsonl");
    let child = users(
        "export",
        &fake.base_url(),
        &[
            "--from-file",
            file.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
    )
    .spawn()
    .unwrap();
    let written = || {
        std::fs::read_to_string(&out_file)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while written() < 5 {
        assert!(Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("did not stop after Ctrl-C")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopping: no new ids"), "{stderr}");
    assert!(stderr.contains("; interrupted: "), "{stderr}");
    // Every line written is whole, and fewer than every id were read.
    let text = std::fs::read_to_string(&out_file).unwrap();
    let exported = lines(&text);
    assert!(
        !exported.is_empty() && exported.len() < 100,
        "{}",
        exported.len()
    );
    assert!(exported.values().all(|l| l["status"] == "exported"));
}
