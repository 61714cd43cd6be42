//! The stand-in answers as the spec says, as Schemathesis judges it in CI
//! (`.ci/schemathesis`): every request the spec allows is accepted, every
//! one it does not is refused with 400 in the API's one error shape, and
//! every answer's status is one the spec documents. One row per kind of
//! failure Schemathesis found, so the behaviour is ours and not only the
//! tool's.

use crate::common::TEST_KEY;
use runalloy_embedded::OPERATIONS;
use runalloy_embedded_fake::FakeAlloy;
use serde_json::Value;

/// `method path` with `body` against a stand-in holding one user
/// (`jane`); the status and the JSON body.
async fn answer(fake: &FakeAlloy, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", fake.base_url()),
        )
        .bearer_auth(TEST_KEY)
        .header("x-api-version", runalloy_embedded::API_VERSION);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/json", "{method} {path}");
    (status, response.json().await.unwrap())
}

fn message(text: &str) -> Value {
    serde_json::json!({ "message": text })
}

#[tokio::test]
async fn what_the_spec_allows_is_accepted() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane", None);
    let rows: Vec<(&str, String, Option<&str>)> = vec![
        // A required query parameter may be empty: the spec sets no length.
        ("GET", "/integrations?userId=".into(), None),
        // The vendor's query copy of a path variable may differ from it.
        ("DELETE", format!("/users/{jane}/logs?userId=other"), None),
        // Any integer, negative or past 64 bits, where no format bounds it.
        ("GET", "/logs?skip=-5&limit=100".into(), None),
        ("GET", "/logs?skip=99999999999999999999".into(), None),
        // An empty username, and then an empty batch.
        ("POST", "/users".into(), Some(r#"{"username":""}"#)),
        ("POST", "/users/batch".into(), Some(r#"{"users":[]}"#)),
        // An enum's own value.
        ("GET", "/logs?sortOrder=asc".into(), None),
    ];
    for (method, path, body) in rows {
        let (status, _) = answer(&fake, method, &path, body).await;
        assert_eq!(status, 200, "{method} {path} {body:?}");
    }
}

#[tokio::test]
async fn what_the_spec_does_not_allow_is_refused_in_the_apis_shape() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane", None);
    let rows: Vec<(&str, String, Option<&str>, Value)> = vec![
        (
            "GET",
            "/logs?sortOrder=AAA".into(),
            None,
            message("sortOrder must be one of asc, desc"),
        ),
        (
            "GET",
            "/logs?limit=ten".into(),
            None,
            message("limit must be of type integer"),
        ),
        (
            "GET",
            "/workflows/w-1/logs?page=2147483648".into(),
            None,
            message("page must be of type integer (int32)"),
        ),
        (
            "DELETE",
            format!("/users/{jane}/logs"),
            None,
            message("userId is required in the query"),
        ),
        (
            "POST",
            "/users".into(),
            Some(r#"{"username":7}"#),
            message("the body does not fit the spec's schema at `/username`"),
        ),
        (
            "POST",
            "/users".into(),
            None,
            message("a JSON body is required"),
        ),
        (
            "POST",
            "/run/event".into(),
            Some(r#"{"event":"e","userId":"u"}"#),
            message("data is required"),
        ),
    ];
    for (method, path, body, expected) in rows {
        assert_eq!(
            answer(&fake, method, &path, body).await,
            (400, expected),
            "{method} {path} {body:?}"
        );
    }
    // Nothing refused was done.
    assert_eq!(fake.logs_deleted(), Vec::<String>::new());
    assert_eq!(fake.users().len(), 1);
}

#[tokio::test]
async fn a_username_taken_is_a_documented_409() {
    let fake = FakeAlloy::start(TEST_KEY).await.unwrap();
    fake.insert_user("jane", None);
    let sam = fake.insert_user("sam", None);
    let taken = (409, message("Username already exists"));
    let body = Some(r#"{"username":"jane"}"#);
    assert_eq!(answer(&fake, "POST", "/users", body).await, taken);
    assert_eq!(
        answer(&fake, "PUT", &format!("/users/{sam}"), body).await,
        taken
    );
    for id in ["create-a-user", "update-a-user"] {
        let op = OPERATIONS.iter().find(|o| o.id == id).unwrap();
        assert!(documents(op.method, op.path, "409"), "{id}");
    }
}

/// Whether the assembled spec documents `status` for `method path`.
fn documents(method: &str, path: &str, status: &str) -> bool {
    let spec: Value = serde_norway::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/embedded-2025-09.yaml"
        ))
        .unwrap(),
    )
    .unwrap();
    // The spec keeps create-a-user at `/users/`, which the build merges.
    let method = method.to_ascii_lowercase();
    let op = [path.to_owned(), format!("{path}/")]
        .iter()
        .find_map(|p| spec["paths"].get(p.as_str())?.get(method.as_str()).cloned())
        .unwrap();
    op["responses"].get(status).is_some()
}

#[test]
fn every_operation_documents_the_errors_the_stand_in_answers() {
    for op in OPERATIONS {
        for status in ["400", "401", "429"] {
            assert!(documents(op.method, op.path, status), "{} {status}", op.id);
        }
        let has_path_params = op.params.iter().any(|p| p.location == "path");
        assert_eq!(
            documents(op.method, op.path, "404"),
            has_path_params,
            "{} 404",
            op.id
        );
    }
}
