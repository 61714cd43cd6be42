//! Environment proxies never see a request to a plain-http loopback base
//! URL (which would show them the key in clear).

use crate::common;

use common::{TestServer, json};

#[tokio::test(flavor = "multi_thread")]
async fn environment_proxies_are_not_used_for_a_loopback_base_url() {
    let api = TestServer::always(json(200, r#"{"userId":"u1"}"#)).await;
    let proxy = TestServer::always(json(502, r#"{"message":"proxy"}"#)).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"))
        .args(["users", "get", "u1"])
        .env("ALLOY_API_KEY", common::TEST_KEY)
        .env("ALLOY_BASE_URL", api.url())
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .env("all_proxy", proxy.url())
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        proxy.requests().is_empty(),
        "the proxy saw {:?}",
        proxy.requests()
    );
    assert_eq!(api.requests().len(), 1);
}
