//! The builder and the environment: bad keys and base URLs are refused
//! before anything is sent.

use runalloy_embedded::{Client, Error, RetryPolicy};
use std::time::Duration;

fn refused(builder: runalloy_embedded::ClientBuilder) -> String {
    match builder.build() {
        Err(Error::InvalidInput(why)) => why,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn bad_keys_are_refused() {
    let base = || Client::builder().base_url("http://127.0.0.1:1");
    assert_eq!(refused(base()), "the API key is empty");
    assert_eq!(refused(base().api_key("")), "the API key is empty");
    assert!(refused(base().api_key("abc\ndef")).contains("control character"));
    assert!(refused(base().api_key("abc\r")).contains("control character"));
    assert!(refused(base().api_key("\u{7f}abc")).contains("control character"));
    assert!(refused(base().api_key(" abc")).contains("whitespace"));
    assert!(refused(base().api_key("ключ")).contains("non-ASCII"));
    assert!(base().api_key("sk_live_abc.DEF-123").build().is_ok());
}

#[test]
fn base_urls_must_be_https_unless_loopback() {
    let with = |url: &str| Client::builder().api_key("k").base_url(url);
    for ok in [
        "https://production.runalloy.com",
        "https://proxy.example.com/alloy/",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:3000",
        "http://[::1]:3000",
    ] {
        assert!(with(ok).build().is_ok(), "{ok}");
    }
    assert!(refused(with("http://production.runalloy.com")).contains("loopback"));
    assert!(refused(with("http://10.0.0.1")).contains("loopback"));
    assert!(refused(with("ftp://example.com")).contains("scheme `ftp`"));
    assert!(refused(with("production.runalloy.com")).contains("relative URL"));
    assert!(refused(with("")).contains("refused"));
    assert!(refused(with("https://u:p@example.com")).contains("credentials"));
    assert!(refused(with("https://example.com/?a=1")).contains("query"));
}

#[test]
fn zero_attempts_or_timeouts_are_refused() {
    let base = || Client::builder().api_key("k");
    assert!(
        refused(base().retry_policy(RetryPolicy::default().max_attempts(0)))
            .contains("max_attempts")
    );
    assert!(refused(base().timeout(Duration::ZERO)).contains("timeouts"));
    assert!(refused(base().connect_timeout(Duration::ZERO)).contains("timeouts"));
    assert!(
        refused(base().retry_policy(RetryPolicy::default().deadline(Duration::ZERO)))
            .contains("deadline")
    );
    assert_eq!(
        refused(base().max_response_bytes(0)),
        "max_response_bytes must be at least 1"
    );
}

#[test]
fn defaults_are_production() {
    let c = Client::builder().api_key("k").build().unwrap();
    assert_eq!(c.base_url(), "https://production.runalloy.com");
}

// `Client::from_env` is covered through the CLI (cli/tests/cli/users.rs), which sets
// the environment of a child process rather than of this one.

#[test]
fn debug_says_whether_a_cap_is_set() {
    let plain = Client::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert!(
        format!("{plain:?}").contains("max_requests_per_second: None"),
        "{plain:?}"
    );
    let capped = Client::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .max_requests_per_second(2.5)
        .build()
        .unwrap();
    assert!(
        format!("{capped:?}").contains("max_requests_per_second: Some(2.5)"),
        "{capped:?}"
    );
}
