//! The GDPR erase workflow in the library: order, outcomes, and a bulk run
//! under injected faults in which no id is lost.

use crate::common;

use common::{Recorded, Reply, TestServer, client, json};
use futures::StreamExt;
use runalloy_embedded::{Error, PartOutcome};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

fn success_for(r: &Recorded) -> Reply {
    if r.path().ends_with("/logs") {
        json(200, r#"{"message":"Success"}"#)
    } else {
        json(200, r#"{"success":true}"#)
    }
}

#[tokio::test]
async fn erase_deletes_the_logs_then_the_user() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert!(outcome.is_erased(), "{outcome:?}");
    assert!(matches!(outcome.logs, PartOutcome::Deleted));
    assert!(matches!(outcome.user, PartOutcome::Deleted));
    let seen: Vec<(String, String)> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.target))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "DELETE".to_string(),
                "/users/u-1/logs?userId=u-1".to_string()
            ),
            ("DELETE".to_string(), "/users/u-1".to_string())
        ]
    );
}

#[tokio::test]
async fn a_user_already_gone_counts_as_erased() {
    let server = TestServer::start(|_, r| {
        if r.path().ends_with("/logs") {
            json(200, r#"{"message":"Success"}"#)
        } else if r.method == "GET" {
            json(200, r#"{"data":[]}"#)
        } else {
            json(404, r#"{"message":"User not found"}"#)
        }
    })
    .await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert!(outcome.is_erased(), "{outcome:?}");
    assert!(matches!(outcome.user, PartOutcome::AlreadyGone));
    assert!(outcome.error().is_none());
    // The 404 counted only once the base URL proved to be the API.
    let seen: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect();
    assert_eq!(
        seen,
        [
            "DELETE /users/u-1/logs?userId=u-1",
            "DELETE /users/u-1",
            "GET /users"
        ]
    );
}

#[tokio::test]
async fn a_404_that_is_not_the_apis_is_a_failure() {
    for body in [
        "",
        "<html>404 Not Found</html>",
        r#"{"error":"Not Found"}"#,
        r#"{"message":"Cannot DELETE /v2/users/u-1/logs"}"#,
    ] {
        // The users list answers as the API's, so the base URL is proven:
        // the 404 stays what it is, a failure.
        let server = TestServer::start(move |_, r| {
            if r.method == "GET" {
                json(200, r#"{"data":[]}"#)
            } else {
                json(404, body)
            }
        })
        .await;
        let outcome = client(&server.url()).erase_user("u-1").await;
        assert!(!outcome.is_erased(), "{body:?}: {outcome:?}");
        assert!(
            matches!(outcome.logs, PartOutcome::Failed(Error::NotFound(_))),
            "{outcome:?}"
        );
        assert!(matches!(outcome.user, PartOutcome::Skipped));
        let deletes = server
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count();
        assert_eq!(deletes, 1, "the user was deleted after a router's 404");
    }
}

#[tokio::test]
async fn verify_api_access_needs_a_200_in_the_apis_shape() {
    let ok = TestServer::always(json(200, r#"{"data":[{"userId":"u"}]}"#)).await;
    client(&ok.url()).verify_api_access().await.unwrap();
    let seen = ok.requests();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("GET", "/users")
    );

    let other = TestServer::always(json(200, r#"{"status":"ok"}"#)).await;
    let err = client(&other.url()).verify_api_access().await.unwrap_err();
    assert!(matches!(err, Error::NotTheApi(_)), "{err:?}");
    // The body (a list of users, from the real API) is never quoted.
    assert!(
        err.to_string()
            .ends_with(r#"/users answered 200, but not with the API's {"data": [...]}"#),
        "{err}"
    );

    let missing = TestServer::always(json(404, "")).await;
    let err = client(&missing.url())
        .verify_api_access()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotTheApi(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "not Alloy's API: {} answered HTTP 404 to GET /users, the API's list of users, \
             so its 404s say nothing about any user",
            missing.url()
        )
    );

    // A JSON array holding a list is not the API's object.
    let array = TestServer::always(json(200, r#"[[{"userId":"u"}]]"#)).await;
    let err = client(&array.url()).verify_api_access().await.unwrap_err();
    assert!(matches!(err, Error::NotTheApi(_)), "{err:?}");
}

#[tokio::test]
async fn verify_api_access_reads_at_most_a_mebibyte_of_a_long_users_list() {
    // 40,000 users, about 1.3 MB: read to 1 MiB, then accepted as a 200 too
    // large to be anything but the users route. The client's own limit is
    // 16 MiB, so without the preflight's limit it would read it all.
    let users: Vec<String> = (0..40_000)
        .map(|i| format!(r#"{{"userId":"65f0{i:020x}","username":"user-{i}"}}"#))
        .collect();
    let body = format!(r#"{{"data":[{}]}}"#, users.join(","));
    assert!(body.len() > 1 << 20);
    let server = TestServer::always(json(200, &body)).await;
    let c = client(&server.url());
    let (result, read) = runalloy_embedded::capture_last_body(c.verify_api_access()).await;
    result.unwrap();
    assert_eq!(read, None, "the body was read whole");
    // The same list through list_users is read whole.
    let (listed, read) = runalloy_embedded::capture_last_body(c.list_users(None)).await;
    assert_eq!(listed.unwrap().data.len(), 40_000);
    assert_eq!(read.map(|b| b.len()), Some(body.len()));
}

#[tokio::test]
async fn the_user_is_kept_when_its_logs_could_not_be_deleted() {
    let server = TestServer::always(json(500, r#"{"message":"log store down"}"#)).await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert!(!outcome.is_erased());
    assert!(matches!(outcome.user, PartOutcome::Skipped));
    let err = outcome.error().unwrap();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    assert_eq!(err.message(), Some("log store down"));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path().ends_with("/logs")),
        "the user was deleted although its logs remain"
    );
}

#[tokio::test]
async fn an_invalid_id_fails_alone_and_sends_nothing() {
    let server = TestServer::start(|_, r| success_for(r)).await;
    let c = client(&server.url());
    let outcomes: BTreeMap<String, bool> = c
        .erase_users_from_iter(["ok-1", "..", "ok-2"], 2)
        .map(|o| (o.user_id.clone(), o.is_erased()))
        .collect()
        .await;
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("..".into(), false),
            ("ok-1".into(), true),
            ("ok-2".into(), true)
        ])
    );
    assert_eq!(server.requests().len(), 4);
}

/// Which faults an id meets, decided by the id alone, so the run is the
/// same every time. Each request fails at most twice, within the policy's
/// three attempts.
///
/// The 429s (without `Retry-After`) start at id 100. Among a run's first
/// few responses, one 429 in ten looks exactly like a rate limit with a
/// small burst, and the flow controller paces the client by it (see
/// `src/transport/send/flow/`); whether it does depended on how fast the first
/// responses came, so the run took 1.5 s or, on a busy machine, over 100 s
/// with retries cut by the test's 10 s deadline. This test is about faults
/// and lost ids; `cli/tests/cli/at_the_limit/` and `flow_control.rs` test the
/// pacing.
fn faults_for(id: usize, logs: bool) -> Vec<Reply> {
    match (id % 10, logs) {
        (5, false) if id < 100 => vec![],
        (1, true) => vec![json(503, r#"{"message":"busy"}"#)],
        (2, false) => vec![Reply::Close],
        (3, true) => vec![Reply::CutMidBody, json(502, "<html>bad gateway</html>")],
        (4, false) => vec![json(503, "{}"), Reply::Close],
        (5, false) => vec![json(429, "{}")],
        _ => vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_ids_under_faults_all_end_erased_and_none_is_lost() {
    let ids: Vec<String> = (0..1000).map(|n| format!("user-{n}")).collect();
    // Per request path: how many times it was seen, and whether it succeeded.
    let attempts: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let deleted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let server = {
        let (attempts, deleted) = (attempts.clone(), deleted.clone());
        TestServer::start(move |_, r| {
            let logs = r.path().ends_with("/logs");
            let id: usize = r
                .path()
                .trim_start_matches("/users/user-")
                .trim_end_matches("/logs")
                .parse()
                .unwrap();
            let mut seen = attempts.lock().unwrap();
            let n = seen.entry(r.target.clone()).or_default();
            *n += 1;
            let faults = faults_for(id, logs);
            if *n <= faults.len() {
                return faults[*n - 1].clone();
            }
            deleted.lock().unwrap().insert(r.target.clone());
            success_for(r)
        })
        .await
    };
    let c = client(&server.url());
    let outcomes: Vec<_> = c
        .erase_users(futures::stream::iter(ids.clone()), 32)
        .collect()
        .await;

    assert_eq!(outcomes.len(), ids.len(), "an id was lost");
    let distinct: BTreeSet<&str> = outcomes.iter().map(|o| o.user_id.as_str()).collect();
    assert_eq!(distinct.len(), ids.len(), "an id was reported twice");
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.is_erased()).collect();
    assert!(failed.is_empty(), "not erased: {failed:?}");

    let deleted = deleted.lock().unwrap();
    for id in &ids {
        assert!(
            deleted.contains(&format!("/users/{id}/logs?userId={id}")),
            "{id}: logs left"
        );
        assert!(deleted.contains(&format!("/users/{id}")), "{id}: user left");
    }
    let faults: usize = (0..1000)
        .map(|n| faults_for(n, true).len() + faults_for(n, false).len())
        .sum();
    assert_eq!(
        server.requests().len(),
        2000 + faults,
        "requests beyond the faults' retries"
    );
}

#[tokio::test]
async fn an_erase_whose_user_delete_fails_after_its_logs_are_gone_is_not_erased() {
    for (user_reply, status) in [
        (json(400, r#"{"message":"User is locked"}"#), "failed"),
        (json(200, "{}"), "unconfirmed"),
    ] {
        let server = TestServer::start(move |_, r| {
            if r.path().ends_with("/logs") {
                json(200, r#"{"message":"Success"}"#)
            } else {
                user_reply.clone()
            }
        })
        .await;
        let outcome = client(&server.url()).erase_user("u-1").await;
        assert!(matches!(outcome.logs, PartOutcome::Deleted), "{outcome:?}");
        assert!(!outcome.user.is_done(), "{outcome:?}");
        assert!(!outcome.is_erased(), "logs gone, user kept: {outcome:?}");
        assert_eq!(outcome.status().as_erase_str(), status);
        assert!(outcome.error().is_some());
    }
}

#[tokio::test]
async fn a_long_answer_that_is_not_a_success_proves_nothing() {
    // More than the preflight reads, but a 404 and a 502: neither is the
    // users list, however long.
    let long = "x".repeat((1 << 20) + 10);
    for status in [404, 502] {
        let server = TestServer::always(json(status, &long)).await;
        let err = client(&server.url()).verify_api_access().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err:?}");
        assert!(
            matches!(err, Error::ResponseTooLarge { .. }),
            "{status}: {err:?}"
        );
    }
}
