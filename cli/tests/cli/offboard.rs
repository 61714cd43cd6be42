//! `users offboard`, and `--dry-run` and `--verify` for it and for `users
//! erase`, against the stand-in, which keeps each user's credentials and
//! workflows, so that what the report says can be checked against what the
//! stand-in received and what it still holds.

use crate::common;

use common::TEST_KEY;
use common::erase_cli::{report_lines, run, users, write_ids};
use runalloy_embedded_fake::FakeAlloy;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// A stand-in with `n` users; user `i` has `credentials(i)` credentials and
/// one active workflow. Returns the ids and each user's credential ids.
async fn stand_in(
    n: usize,
    credentials: impl Fn(usize) -> usize,
) -> (FakeAlloy, Vec<String>, BTreeMap<String, BTreeSet<String>>) {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let mut owned = BTreeMap::new();
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let id = fake.insert_user(&format!("churned-{i}@example.com"), None);
            fake.insert_workflow(&id);
            let creds = (0..credentials(i))
                .map(|c| fake.insert_credential(&id, ["shopify", "hubspot", "slack"][c % 3]))
                .collect();
            owned.insert(id.clone(), creds);
            id
        })
        .collect();
    fake.record_requests();
    (fake, ids, owned)
}

/// Each id's last report line.
fn last_lines(report: &Path) -> BTreeMap<String, Value> {
    report_lines(report)
        .into_iter()
        .filter_map(|l| Some((l["userId"].as_str()?.to_owned(), l)))
        .collect()
}

/// The requests (method and path, no query) that name `id` as a path
/// segment, in the order they arrived.
fn sent_for(received: &[String], id: &str) -> Vec<String> {
    received
        .iter()
        .map(|r| r.split('?').next().unwrap_or_default().to_owned())
        .filter(|r| r.split('/').any(|segment| segment == id))
        .collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn summary(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.contains(" skipped as "))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_users_under_faults_end_with_every_user_and_credential_gone() {
    let (fake, ids, owned) = stand_in(200, |i| i % 4).await;
    fake.fail_share(0.05, 17);
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let report = dir.path().join("offboard.jsonl");
    let args = [
        "--from-file",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--concurrency",
        "16",
    ];
    // A request can meet a fault on each of its 3 attempts (1 in 8,000):
    // then the id stops part way and a re-run finishes it.
    let mut runs = Vec::new();
    let mut last_code = None;
    for _ in 0..3 {
        let (code, _, stderr) = run(users("offboard", &fake.base_url(), &args)).await;
        runs.push(stderr);
        last_code = Some(code);
        if code == 0 {
            break;
        }
    }
    assert_eq!(last_code, Some(0), "{runs:?}");
    // The last run offboarded what was left and skipped, as recorded in
    // the report, what the runs before it offboarded: 200 in all.
    let last = summary(runs.last().unwrap());
    let count = |before: &str| -> usize {
        last.split(before)
            .next()
            .and_then(|head| head.rsplit(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count before {before:?} in {last:?}"))
    };
    let (offboarded, skipped) = (
        count(" offboarded ("),
        count(" skipped as offboarded in the report"),
    );
    assert_eq!(offboarded + skipped, 200, "{runs:?}");
    assert_eq!(skipped == 0, runs.len() == 1, "{runs:?}");
    assert!(
        last.contains(" 0 partly done, 0 unconfirmed, 0 failed, "),
        "{runs:?}"
    );
    assert!(fake.users().is_empty());
    assert_eq!(fake.credentials(), vec![]);
    assert!(fake.workflows().iter().all(|w| !w.active));

    let received = fake.received();
    let minimum: usize = owned.values().map(|c| c.len() + 4).sum::<usize>() + 1;
    assert!(
        received.len() > minimum,
        "no fault was injected: {} requests",
        received.len()
    );
    let lines = last_lines(&report);
    assert_eq!(lines.len(), 200);
    let every_line = report_lines(&report);
    for (id, creds) in &owned {
        let line = &lines[id];
        assert_eq!(line["status"], "offboarded", "{line}");
        // Every credential the user had is recorded deleted, in one run or
        // across runs, and is what the stand-in was sent.
        let recorded: BTreeSet<String> = every_line
            .iter()
            .filter(|l| l["userId"] == id.as_str())
            .flat_map(|l| strings(&l["credentials"]["deleted"]))
            .collect();
        assert_eq!(&recorded, creds, "{id}");
        let sent = sent_for(&received, id);
        let deleted: BTreeSet<String> = sent
            .iter()
            .filter_map(|r| r.strip_prefix(&format!("DELETE /users/{id}/credentials/")))
            .map(str::to_owned)
            .collect();
        assert_eq!(&deleted, creds, "{id}: {sent:?}");
        // In order at the wire: workflows, the list, the credentials, the
        // logs, and only then the user. A run after one that the faults
        // failed lists the credentials again (and finds what is left): the
        // first list comes before every credential's delete, and the last
        // delete of the logs after it.
        let position = |request: &str| sent.iter().rposition(|r| r == request);
        let first = |request: &str| sent.iter().position(|r| r == request);
        let user = position(&format!("DELETE /users/{id}")).unwrap();
        let logs = position(&format!("DELETE /users/{id}/logs")).unwrap();
        let list = first(&format!("GET /credentials/users/{id}")).unwrap();
        let workflows = first(&format!("PUT /users/{id}/deactivate-workflows")).unwrap();
        assert!(
            workflows < list && list < logs && logs < user,
            "{id}: {sent:?}"
        );
        for credential in creds {
            let at = position(&format!("DELETE /users/{id}/credentials/{credential}")).unwrap();
            assert!(list < at && at < logs, "{id}: {sent:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_redoes_only_the_steps_not_done() {
    let (fake, ids, owned) = stand_in(3, |_| 2).await;
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    let second_of_a = owned[a].iter().nth(1).unwrap().clone();
    // a stops at its second credential, b at its logs, c at the user.
    fake.fail_always("DELETE", &format!("/users/{a}/credentials/{second_of_a}"));
    fake.fail_always("DELETE", &format!("/users/{b}/logs"));
    fake.fail_always("DELETE", &format!("/users/{c}"));
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("offboard.jsonl");
    let mut args = vec!["--report", report.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));

    let (code, _, stderr) = run(users("offboard", &fake.base_url(), &args)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        summary(&stderr).starts_with(
            "0 offboarded (0 deleted, 0 already gone), 3 partly done \
             (stopped at credentials: 1, logs: 1, user: 1), 0 unconfirmed, 0 failed"
        ),
        "{stderr}"
    );
    let first = last_lines(&report);
    let first_of_a = owned[a].iter().next().unwrap().clone();
    assert_eq!(first[a]["stoppedAt"], "credentials");
    assert_eq!(
        first[a]["credentials"],
        json!({"listed": "done", "found": 2, "deleted": [first_of_a], "failed": [second_of_a]})
    );
    assert_eq!(
        (&first[a]["workflows"], &first[a]["logs"], &first[a]["user"]),
        (&json!("done"), &json!("skipped"), &json!("skipped"))
    );
    assert_eq!(first[b]["stoppedAt"], "logs");
    assert_eq!(first[b]["status"], "failed");
    assert_eq!(first[b]["error"]["httpStatus"], 500);
    assert_eq!(first[c]["stoppedAt"], "user");
    assert_eq!(first[c]["logs"], "deleted");

    fake.clear_faults();
    let before = fake.received().len();
    let (code, _, stderr) = run(users("offboard", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    let received = fake.received()[before..].to_vec();
    let sent = |id: &str| sent_for(&received, id);
    assert_eq!(
        sent(a),
        [
            format!("GET /credentials/users/{a}"),
            format!("DELETE /users/{a}/credentials/{second_of_a}"),
            format!("DELETE /users/{a}/logs"),
            format!("DELETE /users/{a}"),
        ]
    );
    assert_eq!(
        sent(b),
        [
            format!("GET /credentials/users/{b}"),
            format!("DELETE /users/{b}/logs"),
            format!("DELETE /users/{b}"),
        ]
    );
    assert_eq!(
        sent(c),
        [
            format!("GET /credentials/users/{c}"),
            format!("DELETE /users/{c}"),
        ]
    );
    let second = last_lines(&report);
    assert_eq!(second[c]["workflows"], "done_earlier");
    assert_eq!(second[c]["logs"], "done_earlier");
    assert_eq!(second[c]["status"], "offboarded");
    assert!(fake.users().is_empty() && fake.credentials().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_a_resume_leaves_finished_ids_alone() {
    let (fake, ids, _) = stand_in(60, |_| 1).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let report = dir.path().join("offboard.jsonl");
    // 5 requests per id at 50 a second: slow enough to kill mid-run.
    let args = [
        "--from-file",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--max-rate",
        "50",
        "--concurrency",
        "4",
    ];
    let mut child = users("offboard", &fake.base_url(), &args).spawn().unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while last_lines(&report).len() < 10 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no progress before the kill");
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let done: BTreeSet<String> = last_lines(&report)
        .into_iter()
        .filter(|(_, l)| l["status"] == "offboarded")
        .map(|(id, _)| id)
        .collect();
    assert!(done.len() >= 10 && done.len() < 60, "{}", done.len());

    let before = fake.received().len();
    let (code, _, stderr) = run(users("offboard", &fake.base_url(), &args[..4])).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        summary(&stderr).contains(&format!(
            "{} skipped as offboarded in the report",
            done.len()
        )),
        "{stderr}"
    );
    let received = fake.received()[before..].to_vec();
    for id in &done {
        assert_eq!(sent_for(&received, id), Vec::<String>::new(), "{id}");
    }
    assert!(fake.users().is_empty() && fake.credentials().is_empty());
    let lines = last_lines(&report);
    assert!(lines.values().all(|l| l["status"] == "offboarded"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_sends_no_delete_and_lists_exactly_what_exists() {
    let (fake, ids, owned) = stand_in(2, |i| 2 * (1 - i)).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("never-written.jsonl");
    let mut args = vec!["--dry-run", "--report", report.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    args.push("gone-user");

    let (code, stdout, stderr) = run(users("offboard", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: BTreeMap<String, Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|l| (l["userId"].as_str().unwrap().to_owned(), l))
        .collect();
    let credentials = |id: &String| owned[id].iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        lines,
        BTreeMap::from([
            (
                ids[0].clone(),
                json!({"userId": ids[0], "dryRun": true, "would": "offboard", "user": "found",
                       "credentials": credentials(&ids[0]), "requests": 6})
            ),
            (
                ids[1].clone(),
                json!({"userId": ids[1], "dryRun": true, "would": "offboard", "user": "found",
                       "credentials": [], "requests": 4})
            ),
            (
                "gone-user".to_owned(),
                json!({"userId": "gone-user", "dryRun": true, "would": "offboard",
                       "user": "already_gone", "requests": 4})
            ),
        ])
    );
    assert!(
        stderr.contains(
            "dry run: would offboard 2 users found (deleting 2 credentials), 1 already gone; \
             0 could not be read, 0 skipped as offboarded in the report, of 3 ids; about 14 requests"
        ),
        "{stderr}"
    );
    assert!(stderr.ends_with("nothing was deleted\n"), "{stderr}");
    let received = fake.received();
    assert!(
        received.iter().all(|r| r.starts_with("GET ")),
        "{received:?}"
    );
    assert_eq!(received.len(), 1 + 3 + 2, "{received:?}");
    assert_eq!(fake.users().len(), 2);
    assert_eq!(fake.credentials().len(), 2);
    assert!(fake.workflows().iter().all(|w| w.active));
    assert!(!report.exists());

    // The erase's dry run reads only the user.
    let (code, stdout, _) = run(users("erase", &fake.base_url(), &args)).await;
    assert_eq!(code, 0);
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["would"], "erase");
    assert_eq!(first["requests"], 2);
    assert!(first.get("credentials").is_none(), "{first}");
    assert!(fake.received().iter().all(|r| r.starts_with("GET ")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_skips_what_the_report_records_done_and_leaves_it_unchanged() {
    let (fake, ids, _) = stand_in(3, |_| 0).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("erase.jsonl");
    let (code, _, stderr) = run(users(
        "erase",
        &fake.base_url(),
        &["--report", report.to_str().unwrap(), &ids[0]],
    ))
    .await;
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read(&report).unwrap();

    let mut args = vec!["--dry-run", "--report", report.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    let (code, stdout, stderr) = run(users("erase", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(!stdout.contains(&ids[0]));
    assert!(
        stderr.contains("dry run: would erase 2 users found, 0 already gone; 0 could not be read, 1 skipped as erased in the report, of 3 ids"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&report).unwrap(), written);
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_counts_a_user_still_readable_after_its_delete_as_failed() {
    for command in ["erase", "offboard"] {
        let (fake, ids, _) = stand_in(3, |_| 1).await;
        fake.keep_readable(&ids[1]);
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        let mut args = vec!["--verify", "--report", report.to_str().unwrap()];
        args.extend(ids.iter().map(String::as_str));

        let (code, _, stderr) = run(users(command, &fake.base_url(), &args)).await;
        assert_eq!(code, 1, "{command}: {stderr}");
        let done = if command == "erase" {
            "erased"
        } else {
            "offboarded"
        };
        let lines = last_lines(&report);
        for id in [&ids[0], &ids[2]] {
            assert_eq!(lines[id]["status"], done, "{}", lines[id]);
            assert_eq!(lines[id]["verified"], true);
        }
        let kept = &lines[&ids[1]];
        assert_eq!(kept["status"], "failed", "{kept}");
        assert_eq!(kept["verified"], false);
        assert_eq!(kept["stoppedAt"], "verify");
        assert_eq!(kept["user"], "deleted");
        assert_eq!(
            kept["error"]["message"],
            "the user is still readable after its delete was confirmed \
             (get-a-user GET /users/{userId} answered 200)"
        );
        assert!(
            summary(&stderr).contains("0 unconfirmed, 1 failed")
                && summary(&stderr).contains("; 2 verified gone;"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "failed: {}: {}",
                ids[1],
                kept["error"]["message"].as_str().unwrap()
            )),
            "{stderr}"
        );
        let sent = sent_for(&fake.received(), &ids[0]);
        assert_eq!(sent.last().unwrap(), &format!("GET /users/{}", ids[0]));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resume_with_verify_reads_back_only_the_ids_not_yet_verified() {
    let (fake, ids, _) = stand_in(3, |_| 0).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("erase.jsonl");
    let mut args = vec!["--report", report.to_str().unwrap()];
    args.extend(ids.iter().map(String::as_str));
    let (code, _, stderr) = run(users("erase", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");

    args.insert(0, "--verify");
    let before = fake.received().len();
    let (code, _, stderr) = run(users("erase", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        summary(&stderr).starts_with(
            "3 erased (0 deleted, 0 already gone, 3 done earlier and verified now), \
             0 unconfirmed, 0 failed, 0 skipped as erased in the report"
        ),
        "{stderr}"
    );
    let mut expected: Vec<String> = ids.iter().map(|id| format!("GET /users/{id}")).collect();
    expected.insert(0, "GET /users".to_owned());
    let mut received = fake.received()[before..].to_vec();
    received.sort();
    expected.sort();
    assert_eq!(received, expected);
    let lines = last_lines(&report);
    assert!(
        lines
            .values()
            .all(|l| l["verified"] == true && l["user"] == "done_earlier")
    );

    // Verified now, so a third run has nothing to do.
    let before = fake.received().len();
    let (code, _, stderr) = run(users("erase", &fake.base_url(), &args)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(summary(&stderr).contains("3 skipped as erased"), "{stderr}");
    assert_eq!(fake.received().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_refused_while_verifying_stops_the_run() {
    use common::{TestServer, json};
    // Deletes are confirmed; the read-back of a user is refused, as after a
    // revoked key.
    let server = TestServer::start(|_, r| match (r.method.as_str(), r.path()) {
        ("GET", "/users") => json(200, r#"{"data":[]}"#),
        ("GET", _) => json(401, r#"{"message":"Unauthorized"}"#),
        (_, path) if path.ends_with("/logs") => json(200, r#"{"message":"Success"}"#),
        _ => json(200, r#"{"success":true}"#),
    })
    .await;
    let ids: Vec<String> = (0..50).map(|i| format!("user-{i}")).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = write_ids(dir.path(), &ids);
    let args = [
        "--verify",
        "--concurrency",
        "4",
        "--from-file",
        file.to_str().unwrap(),
    ];
    let (code, _, stderr) = run(users("erase", &server.url(), &args)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: stopped at the first refused key"),
        "{stderr}"
    );
    assert!(stderr.contains("not attempted"), "{stderr}");
    let reads = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path() != "/users")
        .count();
    assert!((1..=4).contains(&reads), "{reads} read-backs sent");
}
