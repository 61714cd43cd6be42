//! An explicit proxy is used, with its credentials kept out of sight. That
//! environment proxies never see a request to a plain-http loopback base URL
//! is tested through the CLI, which reads them.

use crate::common;

use common::{TestServer, builder, json};

#[tokio::test]
async fn an_explicit_proxy_is_used() {
    let proxy = TestServer::always(json(200, r#"{"userId":"u1"}"#)).await;
    // Nothing listens at the base URL: only the proxy can answer.
    let client = builder("http://127.0.0.1:9")
        .proxy(proxy.url())
        .build()
        .unwrap();
    client.get_user("u1").await.unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "http://127.0.0.1:9/users/u1");

    // `no_proxy` wins over nothing: the request goes direct and fails.
    let direct = builder("http://127.0.0.1:9").no_proxy().build().unwrap();
    assert!(direct.get_user("u1").await.is_err());
}

#[tokio::test]
async fn a_proxy_password_is_sent_to_the_proxy_and_shown_nowhere() {
    let proxy = TestServer::always(json(200, r#"{"userId":"u1"}"#)).await;
    let url = format!("http://ops:s3cret-pw@{}", proxy.addr);
    let builder = builder("http://127.0.0.1:9").proxy(&url);
    let shown = format!("{builder:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(!shown.contains("ops"), "{shown}");
    assert!(
        shown.contains(&format!("Explicit(http://{})", proxy.addr)),
        "{shown}"
    );
    let client = builder.build().unwrap();
    for shown in [
        format!("{client:?}"),
        format!("{:?}", client.api()),
        format!("{:#?}", client.api()),
    ] {
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    client.get_user("u1").await.unwrap();
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1);
    // base64("ops:s3cret-pw")
    assert_eq!(
        seen[0].header("proxy-authorization"),
        Some("Basic b3BzOnMzY3JldC1wdw==")
    );
}

#[tokio::test]
async fn a_proxy_url_that_is_not_http_is_refused_without_repeating_it() {
    for (url, why) in [
        (
            "socks5://ops:s3cret@127.0.0.1:1080",
            "scheme `socks5` is not http or https",
        ),
        ("not a url s3cret", "relative URL without a base"),
    ] {
        let err = builder("http://127.0.0.1:9")
            .proxy(url)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid input: the proxy URL is refused: {why}; nothing was sent")
        );
    }
}
