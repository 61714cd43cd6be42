//! The shared limiter's store is the whole client's: its fault warning is
//! emitted outside whatever request's span happened to meet it.

use super::Capture;
use crate::common::store::Store;
use crate::common::{TEST_KEY, TestServer, json};
use runalloy_embedded::Client;
use std::time::Duration;

#[tokio::test(flavor = "current_thread")]
async fn the_stores_warning_is_outside_any_request_span() {
    let (capture, _guard) = Capture::start(tracing::Level::INFO);
    let mut store = Store::start();
    let url = store.url();
    store.kill();
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let c = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .timeout(Duration::from_secs(2))
        .limiter(url)
        .build()
        .unwrap();
    c.get_user("u").await.unwrap();
    let logs = capture.text();
    let warning: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("the shared limiter's store failed"))
        .collect();
    assert_eq!(warning.len(), 1, "{logs}");
    assert!(!warning[0].contains("alloy.request"), "{}", warning[0]);
}
