//! One API limit shared through Redis by clients that do not share memory,
//! as separate processes would: the cap and a `Retry-After` hold the whole
//! fleet, a late starter starts at the fleet's pace, the store holds no API
//! key and forgets, and every failure of the store falls back to local
//! flow control and back. Each test starts its own store.
#![cfg(feature = "redis")]

use runalloy_embedded_test_support as common;

use common::store::Store;
use common::{TEST_KEY, TestServer, json, with_header};
use futures::StreamExt;
use runalloy_embedded::{Client, Error, RetryPolicy};
use std::time::{Duration, Instant};

/// A client of its own (its own flow control, as another process has),
/// sharing the store at `limiter`.
fn member(base: &str, limiter: &str) -> runalloy_embedded::ClientBuilder {
    Client::builder()
        .api_key(TEST_KEY)
        .base_url(base)
        .timeout(Duration::from_secs(2))
        .limiter(limiter)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cap_holds_for_the_whole_fleet() {
    let store = Store::start();
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let fleet: Vec<Client> = (0..2)
        .map(|_| {
            member(&server.url(), &store.url())
                .max_requests_per_second(5.0)
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let calls = fleet
        .iter()
        .flat_map(|c| (0..5).map(move |_| c.get_user("u")));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    // Ten requests at 5 a second for the fleet: 1.8 s at least, where two
    // processes capped alone would take 0.8 s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1700), "{took:?}");
    let mut seen: Vec<Instant> = server.requests().iter().map(|r| r.at).collect();
    seen.sort();
    for pair in seen.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(150), "{seen:?}");
    }
    assert!(fleet[0].flow_stats().limiter.is_some_and(|l| l.shared));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_seen_by_one_process_holds_the_others() {
    let store = Store::start();
    let server = TestServer::start(|n, _| {
        if n == 0 {
            with_header(json(429, "{}"), "retry-after", "2")
        } else {
            json(200, r#"{"userId":"u"}"#)
        }
    })
    .await;
    let first = member(&server.url(), &store.url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let other = member(&server.url(), &store.url()).build().unwrap();
    assert!(matches!(
        first.get_user("u").await,
        Err(Error::RateLimited(_))
    ));
    // The report to the fleet goes in the background.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    other.get_user("u").await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(
        other.flow_stats().throttled,
        0,
        "the other saw no 429 itself"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_starter_starts_at_the_fleets_pace() {
    let store = Store::start();
    let server = TestServer::start(|n, _| {
        if n == 3 {
            with_header(json(429, "{}"), "retry-after", "0")
        } else {
            json(200, r#"{"userId":"u"}"#)
        }
    })
    .await;
    let early = member(&server.url(), &store.url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    for _ in 0..4 {
        let _ = early.get_user("u").await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A process that starts now is paced from its first request.
    let late = member(&server.url(), &store.url()).build().unwrap();
    let before = server.requests().len();
    for _ in 0..3 {
        late.get_user("u").await.unwrap();
    }
    let seen = server.requests();
    let gaps: Vec<Duration> = seen[before..]
        .windows(2)
        .map(|p| p[1].at - p[0].at)
        .collect();
    let mode = state_of(&store)["mode"].clone();
    let field = |name: &str| -> f64 {
        mode[name]
            .as_f64()
            .unwrap_or_else(|| panic!("no {name} in {mode}"))
    };
    // From 0.7 of the three requests the API accepted around the first
    // 429 (four sent, one refused), climbing back towards the three.
    let (rate, max) = (field("rate"), field("last_max"));
    assert!((2.1..3.0).contains(&rate) && max == 3.0, "{rate} {max}");
    // Unpaced, they would leave a few milliseconds apart.
    for gap in &gaps {
        assert!(gap.as_secs_f64() >= 0.9 / max, "{gaps:?} at {rate}/s");
    }
}

/// The fleet's state, as the store holds it: `<version> <json>`.
fn state_of(store: &Store) -> serde_json::Value {
    let text = store.cli(&["GET", &key_of(store)]);
    let (version, json) = text.split_once(' ').expect("a version and a state");
    assert!(version.parse::<u64>().is_ok(), "{text}");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The one key the fleet's state is under.
fn key_of(store: &Store) -> String {
    let keys = store.cli(&["KEYS", "*"]);
    let keys: Vec<&str> = keys.lines().collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_holds_no_api_key_and_forgets() {
    let store = Store::start();
    let server = TestServer::always(with_header(json(429, "{}"), "retry-after", "1")).await;
    let c = member(&server.url(), &store.url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let _ = c.get_user("u").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let key = key_of(&store);
    assert!(key.starts_with("runalloy-embedded:limit:v2:"), "{key}");
    assert_eq!(key.len(), "runalloy-embedded:limit:v2:".len() + 64, "{key}");
    let dump = store.cli(&["GET", &key]);
    for secret in [TEST_KEY, c.key_fingerprint()] {
        assert!(
            !key.contains(secret) && !dump.contains(secret),
            "{key} {dump}"
        );
    }
    let ttl: i64 = store.cli(&["TTL", &key]).parse().unwrap();
    // A day: the limit it learned is remembered that long.
    assert!(ttl > 86_000 && ttl <= 86_400, "{ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_store_falls_back_at_once() {
    let mut store = Store::start();
    let url = store.url();
    store.kill();
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let c = member(&server.url(), &url).build().unwrap();
    for _ in 0..5 {
        let started = Instant::now();
        c.get_user("u").await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    let stats = c.flow_stats().limiter.unwrap();
    assert!(!stats.shared);
    assert_eq!(stats.fallbacks, 1, "one fall, one warning");
    assert!(c.limiter_failure().is_some());
    assert_eq!(server.requests().len(), 5, "no request lost or sent twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_dies_and_returns_is_rejoined() {
    let mut store = Store::start();
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let c = member(&server.url(), &store.url()).build().unwrap();
    c.get_user("u").await.unwrap();
    assert!(c.flow_stats().limiter.unwrap().shared);
    store.kill();
    for _ in 0..3 {
        c.get_user("u").await.unwrap();
    }
    assert!(!c.flow_stats().limiter.unwrap().shared);
    assert!(c.limiter_failure().is_some());
    store.restart();
    let started = Instant::now();
    while !c.flow_stats().limiter.unwrap().shared {
        assert!(started.elapsed() < Duration::from_secs(5), "never rejoined");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.limiter_failure(), None, "the old cause outlived the fall");
    c.get_user("u").await.unwrap();
    let stats = c.flow_stats().limiter.unwrap();
    assert!(stats.alone > Duration::ZERO, "{stats:?}");
    assert_eq!(server.requests().len(), 5);
    // Its state was gone with the restart, and is there again.
    assert!(!store.cli(&["KEYS", "*"]).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_falls_back_without_showing_it() {
    let store = Store::start_with(&["--requirepass", "right-one"]);
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let url = format!("redis://:wr0ng-pass@127.0.0.1:{}/0", store.port);
    let c = member(&server.url(), &url).build().unwrap();
    c.get_user("u").await.unwrap();
    let failure = c.limiter_failure().expect("a failure");
    assert!(!failure.contains("wr0ng-pass"), "{failure}");
    assert!(
        failure.to_ascii_uppercase().contains("WRONGPASS")
            || failure.to_ascii_lowercase().contains("auth"),
        "{failure}"
    );
    let shown = format!("{c:?}");
    assert!(!shown.contains("wr0ng-pass"), "{shown}");
    assert!(shown.contains(r#"limiter: Some("fallen back")"#), "{shown}");
    assert!(!c.flow_stats().limiter.unwrap().shared);
}

#[test]
fn a_malformed_limiter_url_is_refused_at_build_without_repeating_it() {
    for url in ["http://:s3cret@host:6379", "redis://:s3cret@[::1", "s3cret"] {
        let err = Client::builder()
            .api_key(TEST_KEY)
            .limiter(url)
            .build()
            .unwrap_err();
        assert!(err.is_invalid_input(), "{url}: {err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("invalid input: the limiter URL is refused: "),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
}

#[test]
fn a_limiter_url_whose_database_is_not_a_number_says_so() {
    let err = Client::builder()
        .api_key(TEST_KEY)
        .limiter("redis://:s3cret@127.0.0.1/notadb")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: the limiter URL is refused: its path names the database, which must be \
         a number (such as /0), and is not; nothing was sent"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_url_to_a_plain_text_store_names_the_likely_cause() {
    let store = Store::start();
    let server = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let url = format!("rediss://127.0.0.1:{}", store.port);
    let c = member(&server.url(), &url).build().unwrap();
    c.get_user("u").await.unwrap();
    let failure = c.limiter_failure().expect("a failure");
    assert!(
        failure.contains("TLS") || failure.to_ascii_lowercase().contains("tls"),
        "{failure}"
    );
    assert!(!c.flow_stats().limiter.unwrap().shared);
}

#[tokio::test(flavor = "current_thread")]
async fn the_stores_probe_ends_with_its_client() {
    let mut store = Store::start();
    let url = store.url();
    store.kill();
    let api = common::dead_url().await;
    let c = member(&api, &url).build().unwrap();
    let _ = c.get_user("u").await;
    assert!(!c.flow_stats().limiter.unwrap().shared);
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    assert!(tasks() >= 1, "no probe runs");
    drop(c);
    let started = Instant::now();
    while tasks() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{} task(s) outlived the client",
            tasks()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two members sending `each` requests, `concurrency` at a time, against
/// `server`; the time they took.
async fn fleet_run(server: &TestServer, store: &Store, each: usize) -> Duration {
    let fleet: Vec<Client> = (0..2)
        .map(|_| {
            member(&server.url(), &store.url())
                .retry_policy(
                    RetryPolicy::default()
                        .retry_throttled_until_deadline(true)
                        .base_delay(Duration::from_millis(1)),
                )
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let runs = fleet.iter().map(|c| {
        futures::stream::iter(0..each)
            .map(move |_| c.get_user("u"))
            .buffer_unordered(8)
            .for_each(|r| {
                r.unwrap();
                futures::future::ready(())
            })
    });
    futures::future::join_all(runs).await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_processs_stray_429s_do_not_slow_the_fleet() {
    let store = Store::start();
    let clean = TestServer::always(json(200, r#"{"userId":"u"}"#)).await;
    let clean_took = fleet_run(&clean, &store, 150).await;
    // One request in fifty refused at random by a gateway, with no
    // Retry-After and no limit behind it.
    let noisy = TestServer::start(|n, _| {
        if n % 50 == 17 {
            json(429, r#"{"message":"Too Many Requests"}"#)
        } else {
            json(200, r#"{"userId":"u"}"#)
        }
    })
    .await;
    let store = Store::start();
    let noisy_took = fleet_run(&noisy, &store, 150).await;
    assert!(
        noisy_took <= 2 * clean_took + Duration::from_secs(1),
        "{noisy_took:?} against {clean_took:?} clean"
    );
    let state = state_of(&store);
    assert!(
        state["mode"].get("rate").is_none(),
        "a pace was set: {state}"
    );
}
