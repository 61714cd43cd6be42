//! The API key appears nowhere: not in Debug, Display or errors, and not on
//! a request to another origin. (Logs at every level: `tests/logs/`.)

use crate::common;

use common::{TEST_KEY, TestServer, client, dead_url, json, with_header};
use runalloy_embedded::{Client, Error};

fn assert_no_key(text: &str) {
    assert!(!text.contains(TEST_KEY), "the key leaked into: {text}");
    assert!(
        !text.contains("5ecret"),
        "part of the key leaked into: {text}"
    );
}

#[tokio::test]
async fn debug_and_display_never_show_the_key() {
    let builder = Client::builder()
        .api_key(TEST_KEY)
        .base_url("http://127.0.0.1:9");
    assert_no_key(&format!("{builder:?}"));
    let c = builder.build().unwrap();
    let debug = format!("{c:?} {:?} {:#?}", c.api(), c);
    assert_no_key(&debug);
    assert!(
        debug.contains("<redacted>") || debug.contains("Sensitive"),
        "{debug}"
    );

    let server = TestServer::sequence(vec![
        json(401, r#"{"message":"Unauthorized"}"#),
        json(500, "{}"),
    ])
    .await;
    let errors: Vec<Error> = vec![
        client(&server.url()).delete_user("u").await.unwrap_err(),
        client(&server.url()).get_user("u").await.unwrap_err(),
        client(&dead_url().await).get_user("u").await.unwrap_err(),
        Client::builder()
            .api_key(format!("{TEST_KEY}\n"))
            .build()
            .unwrap_err(),
        Client::builder()
            .api_key(TEST_KEY)
            .base_url(format!("https://user:{TEST_KEY}@example.com"))
            .build()
            .unwrap_err(),
    ];
    for e in &errors {
        assert_no_key(&format!("{e} {e:?} {:?}", std::error::Error::source(e)));
    }
}

#[tokio::test]
async fn the_inner_http_client_carries_neither_the_key_nor_the_version() {
    let api = TestServer::always(json(200, r#"{"userId":"u1"}"#)).await;
    let elsewhere = TestServer::always(json(200, "{}")).await;
    let c = client(&api.url());

    // Anything sent on the generated client's reqwest client goes out bare.
    use progenitor_client::ClientInfo;
    c.api()
        .client()
        .get(format!("{}/anything", elsewhere.url()))
        .send()
        .await
        .unwrap();
    let seen = elsewhere.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].header("x-api-version"), None);
    assert_no_key(&format!("{:?}", seen[0].headers));

    // Every generated operation still sends both (wire_every_operation
    // checks the whole header set of each).
    c.get_user("u1").await.unwrap();
    let seen = api.requests();
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(
        seen[0].header("x-api-version"),
        Some(runalloy_embedded::API_VERSION)
    );
}

/// The key only to the base URL's origin: a redirect elsewhere is not
/// followed, so the other origin never sees the request, let alone the key.
#[tokio::test]
async fn a_redirect_to_another_port_is_not_followed_and_never_sees_the_key() {
    let elsewhere = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let location = format!("{}/users/u", elsewhere.url());
    let server = TestServer::always(with_header(json(307, "{}"), "location", &location)).await;
    let err = client(&server.url()).delete_user("u").await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(307));
    assert_eq!(server.requests().len(), 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the other origin was contacted"
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_key() {
    let server = TestServer::start(|n, _| match n {
        0 => with_header(json(307, "{}"), "location", "/moved/users/u"),
        _ => json(200, r#"{"success":true}"#),
    })
    .await;
    client(&server.url()).delete_user("u").await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[1].target, "/moved/users/u");
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
}
