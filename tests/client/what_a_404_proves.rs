//! A 404 counts as "already gone" only when the API itself said so, from a
//! base URL proven to be the API. A gateway's or router's 404 never makes a
//! user erased, offboarded, verified gone or unknown to an export: the
//! bodies below are the ones real gateways send.

use crate::common;

use common::{Recorded, Reply, TestServer, client, fast_retries, json};
use runalloy_embedded::{Client, Error, PartOutcome};
use runalloy_embedded_fake::FakeAlloy;

/// Fastify's default 404, naming the route it did not find.
fn fastify(r: &Recorded) -> Reply {
    json(
        404,
        &format!(
            r#"{{"message":"Route {}:{} not found","error":"Not Found","statusCode":404}}"#,
            r.method,
            r.path()
        ),
    )
}

/// An API gateway's default 404.
fn api_gateway(_: &Recorded) -> Reply {
    json(404, r#"{"message":"Not Found"}"#)
}

type Gateway = fn(&Recorded) -> Reply;

const GATEWAYS: [(&str, Gateway); 2] = [("fastify", fastify), ("api gateway", api_gateway)];

fn sent(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

/// The error a gateway that answers 404 to everything ends in: the base
/// URL named as not the API.
fn assert_names_the_origin(err: &Error, server: &TestServer) {
    assert!(matches!(err, Error::NotTheApi(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "not Alloy's API: {} answered HTTP 404 to GET /users, the API's list of users, \
             so its 404s say nothing about any user",
            server.url()
        )
    );
}

#[tokio::test]
async fn a_gateway_that_answers_404_to_everything_erases_no_one() {
    for (name, gateway) in GATEWAYS {
        let server = TestServer::start(move |_, r| gateway(r)).await;
        let outcome = client(&server.url()).erase_user("u-1").await;
        assert!(!outcome.is_erased(), "{name}: {outcome:?}");
        assert_eq!(outcome.status().as_erase_str(), "failed", "{name}");
        let PartOutcome::Failed(err) = &outcome.logs else {
            panic!("{name}: {outcome:?}");
        };
        assert_names_the_origin(err, &server);
        assert!(matches!(outcome.user, PartOutcome::Skipped), "{name}");
        assert_eq!(
            sent(&server),
            ["DELETE /users/u-1/logs?userId=u-1", "GET /users"],
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_gateway_that_answers_404_to_everything_offboards_no_one() {
    for (name, gateway) in GATEWAYS {
        let server = TestServer::start(move |_, r| gateway(r)).await;
        let outcome = client(&server.url()).offboard_user("u-1").await;
        assert!(!outcome.is_offboarded(), "{name}: {outcome:?}");
        let PartOutcome::Failed(err) = &outcome.workflows else {
            panic!("{name}: {outcome:?}");
        };
        assert_names_the_origin(err, &server);
        assert_eq!(outcome.erase.user.as_str(), "skipped", "{name}");
        assert_eq!(
            sent(&server),
            ["PUT /users/u-1/deactivate-workflows", "GET /users"],
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_gateway_that_answers_404_to_everything_proves_no_user_gone() {
    for (name, gateway) in GATEWAYS {
        let server = TestServer::start(move |_, r| gateway(r)).await;
        let err = client(&server.url())
            .verify_user_gone("u-1")
            .await
            .unwrap_err();
        assert_names_the_origin(&err, &server);
        assert_eq!(sent(&server), ["GET /users/u-1", "GET /users"], "{name}");
    }
}

#[tokio::test]
async fn a_gateway_that_answers_404_to_everything_knows_no_user_to_export() {
    for (name, gateway) in GATEWAYS {
        let server = TestServer::start(move |_, r| gateway(r)).await;
        let err = client(&server.url()).export_user("u-1").await.unwrap_err();
        assert_names_the_origin(&err, &server);
        assert!(!err.is_api_not_found(), "{name}");
        assert_eq!(sent(&server), ["GET /users/u-1", "GET /users"], "{name}");
    }
}

/// A gateway that passes the users list to the API but answers the rest
/// itself: the target is proven, and the gateway's body is still not the
/// API's "not found".
fn routes_only_the_list(gateway: Gateway) -> impl Fn(usize, &Recorded) -> Reply {
    move |_, r| {
        if r.target == "/users" {
            json(200, r#"{"data":[]}"#)
        } else {
            gateway(r)
        }
    }
}

#[tokio::test]
async fn a_gateways_404_body_is_not_the_apis_even_in_front_of_the_api() {
    for (name, gateway) in GATEWAYS {
        let server = TestServer::start(routes_only_the_list(gateway)).await;
        let c = client(&server.url());
        let outcome = c.erase_user("u-1").await;
        assert!(
            matches!(&outcome.logs, PartOutcome::Failed(e) if e.is_any_404() && !e.is_api_not_found()),
            "{name}: {outcome:?}"
        );
        assert!(!outcome.is_erased(), "{name}");
        let err = c.verify_user_gone("u-1").await.unwrap_err();
        assert!(
            err.is_any_404() && !err.is_api_not_found(),
            "{name}: {err:?}"
        );
        let err = c.export_user("u-1").await.unwrap_err();
        assert!(
            err.is_any_404() && !err.is_api_not_found(),
            "{name}: {err:?}"
        );
        let outcome = c.offboard_user("u-1").await;
        assert!(!outcome.is_offboarded(), "{name}: {outcome:?}");
        // Proven once, by the first 404, for every call after it.
        let lists = sent(&server).iter().filter(|r| *r == "GET /users").count();
        assert_eq!(lists, 1, "{name}: {:?}", sent(&server));
    }
}

async fn stand_in() -> (FakeAlloy, Client) {
    let fake = FakeAlloy::start(common::TEST_KEY).await.unwrap();
    let client = client(&fake.base_url());
    (fake, client)
}

#[tokio::test]
async fn the_apis_own_404_still_counts_as_gone() {
    let (fake, c) = stand_in().await;
    fake.record_requests();
    let outcome = c.erase_user("u-never-was").await;
    assert!(outcome.is_erased(), "{outcome:?}");
    assert!(matches!(outcome.logs, PartOutcome::AlreadyGone));
    assert!(matches!(outcome.user, PartOutcome::AlreadyGone));
    c.verify_user_gone("u-never-was").await.unwrap();
    let err = c.export_user("u-never-was").await.unwrap_err();
    assert!(err.is_api_not_found(), "{err:?}");
    let outcome = c.offboard_user("u-never-was").await;
    assert!(outcome.is_offboarded(), "{:?}", outcome.error());
    let lists = fake
        .received()
        .iter()
        .filter(|r| r.as_str() == "GET /users")
        .count();
    assert_eq!(lists, 1, "{:?}", fake.received());
}

#[tokio::test]
async fn the_proof_is_shared_by_clones_and_made_at_most_once() {
    let server = TestServer::start(routes_only_the_list(|_| {
        json(404, r#"{"message":"User not found"}"#)
    }))
    .await;
    let c = client(&server.url());
    c.verify_api_access().await.unwrap();
    let clone = c.clone();
    for id in ["u-1", "u-2"] {
        assert!(clone.erase_user(id).await.is_erased());
    }
    assert_eq!(
        sent(&server),
        [
            "GET /users",
            "DELETE /users/u-1/logs?userId=u-1",
            "DELETE /users/u-1",
            "DELETE /users/u-2/logs?userId=u-2",
            "DELETE /users/u-2",
        ]
    );
}

#[tokio::test]
async fn a_proof_that_failed_is_not_kept() {
    let server = TestServer::start(|n, r| {
        if r.target == "/users" && n < 4 {
            json(503, r#"{"message":"warming up"}"#)
        } else if r.target == "/users" {
            json(200, r#"{"data":[]}"#)
        } else {
            json(404, r#"{"message":"User not found"}"#)
        }
    })
    .await;
    let c = Client::builder()
        .api_key(common::TEST_KEY)
        .base_url(server.url())
        .retry_policy(fast_retries().max_attempts(3))
        .build()
        .unwrap();
    let first = c.erase_user("u-1").await;
    assert!(
        matches!(&first.logs, PartOutcome::Failed(Error::Server(_))),
        "{first:?}"
    );
    assert!(!first.is_erased());
    let second = c.erase_user("u-1").await;
    assert!(second.is_erased(), "{second:?}");
}

#[tokio::test]
async fn a_long_404_body_is_judged_whole() {
    let padded = format!(
        r#"{{"success":false,{}"message":"User not found"}}"#,
        " ".repeat(400)
    );
    let server = TestServer::start(move |_, r| {
        if r.target == "/users" {
            json(200, r#"{"data":[]}"#)
        } else {
            json(404, &padded)
        }
    })
    .await;
    let outcome = client(&server.url()).erase_user("u-1").await;
    assert!(outcome.is_erased(), "{outcome:?}");
    assert!(matches!(outcome.user, PartOutcome::AlreadyGone));
}

#[tokio::test]
async fn only_the_apis_words_are_its_not_found() {
    let cases = [
        (r#"{"message":"User not found"}"#, true),
        (r#"{"message":"Credential not found."}"#, true),
        (r#"{"message":"user NOT FOUND","success":false}"#, true),
        (r#"{"message":"Not Found"}"#, false),
        (r#"{"message":"not found"}"#, false),
        (
            r#"{"message":"Route DELETE:/users/u-1 not found","error":"Not Found","statusCode":404}"#,
            false,
        ),
        (r#"{"message":"User not found","statusCode":404}"#, false),
        (r#"{"message":"Page not found"}"#, false),
        (r#"{"message":"Resource not found"}"#, false),
        (r#"{"message":"The requested user was not found"}"#, false),
        (r#"{"message":"User  not found"}"#, false),
        (r#"{"message":"Us3r not found"}"#, false),
        (r#"{"message":"no Route matched with those values"}"#, false),
        (r#"{"error":"User not found"}"#, false),
        (r#"["User not found"]"#, false),
        ("<html><h1>404 Not Found</h1></html>", false),
        ("", false),
    ];
    for (body, api) in cases {
        let server = TestServer::always(json(404, body)).await;
        let err = client(&server.url()).get_user("u-1").await.unwrap_err();
        assert!(err.is_any_404(), "{body}");
        assert_eq!(err.is_api_not_found(), api, "{body}");
    }
}
