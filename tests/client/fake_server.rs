//! The bundled stand-in answers like the real Users API.

use runalloy_embedded::{API_VERSION, Client};
use runalloy_embedded_fake::FakeAlloy;
use serde_json::{Value, json};

const KEY: &str = "fake-key";

async fn raw(
    fake: &FakeAlloy,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", fake.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn it_refuses_a_wrong_or_missing_key_and_version() {
    let fake = FakeAlloy::start(KEY).await.unwrap();
    let bearer = format!("Bearer {KEY}");
    let unauthorized = (401, json!({"message": "Unauthorized"}));
    for headers in [
        vec![("x-api-version", API_VERSION)],
        vec![("authorization", KEY), ("x-api-version", API_VERSION)],
        vec![
            ("authorization", "Bearer nope"),
            ("x-api-version", API_VERSION),
        ],
        vec![
            ("authorization", "Basic ZmFrZS1rZXk="),
            ("x-api-version", API_VERSION),
        ],
    ] {
        assert_eq!(
            raw(&fake, reqwest::Method::GET, "/users", &headers, None).await,
            unauthorized,
            "{headers:?}"
        );
    }
    let (status, body) = raw(
        &fake,
        reqwest::Method::GET,
        "/users",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Missing or unsupported x-api-version header"))
    );
    let lower = format!("bearer {KEY}");
    let ok = raw(
        &fake,
        reqwest::Method::GET,
        "/users",
        &[("authorization", &lower), ("x-api-version", API_VERSION)],
        None,
    )
    .await;
    assert_eq!(
        ok,
        (200, json!({"data": []})),
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn it_keeps_users_and_finds_them_by_id_or_username() {
    let fake = FakeAlloy::start(KEY).await.unwrap();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(fake.base_url())
        .build()
        .unwrap();
    let id = client
        .create_user("jane@example.com", None)
        .await
        .unwrap()
        .user_id
        .unwrap();
    assert_eq!(
        client.get_user("jane@example.com").await.unwrap().user_id,
        id
    );

    let dup = client
        .create_user("jane@example.com", None)
        .await
        .unwrap_err();
    assert_eq!(
        (dup.status().map(|s| s.as_u16()), dup.message()),
        (Some(409), Some("Username already exists"))
    );

    let headers = [
        ("authorization", &*format!("Bearer {KEY}")),
        ("x-api-version", API_VERSION),
    ];
    let (status, body) = raw(
        &fake,
        reqwest::Method::POST,
        "/users/",
        &headers,
        Some(json!({"username": "sam"})),
    )
    .await;
    assert_eq!(
        status, 200,
        "the vendor's trailing-slash path works too: {body}"
    );
    let (status, body) = raw(
        &fake,
        reqwest::Method::POST,
        "/users",
        &headers,
        Some(json!({"fullName": "No Name"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "username is required"}))
    );

    assert_eq!(fake.users().len(), 2);
    client.delete_user("sam").await.unwrap();
    assert_eq!(fake.users().len(), 1);
    let gone = client.delete_user_logs("sam").await.unwrap_err();
    assert!(gone.is_any_404() && gone.is_api_not_found(), "{gone:?}");
}
