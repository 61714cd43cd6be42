//! The x-api-version header comes from the spec, not from a literal.

use crate::common;

use common::{TestServer, client, json};

#[tokio::test]
async fn the_header_sent_is_the_checked_in_specs_default() {
    let text = std::fs::read_to_string(format!(
        "{}/{}",
        env!("CARGO_MANIFEST_DIR"),
        runalloy_embedded::SPEC_FILE
    ))
    .unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let in_spec = spec["components"]["parameters"]["xApiVersion"]["schema"]["default"]
        .as_str()
        .unwrap();
    assert_eq!(runalloy_embedded::API_VERSION, in_spec);

    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    client(&server.url()).delete_user("u").await.unwrap();
    assert_eq!(server.requests()[0].header("x-api-version"), Some(in_spec));
}
