//! What a call tells the service around it: an observer's events, in order,
//! and (with the `metrics` feature) the metrics, read with the facade's own
//! test recorder. The span's fields are checked in the `logs` binary, where
//! a subscriber may capture them without racing other tests.

use crate::common;

use common::{TestServer, builder, json, with_header};
use runalloy_embedded::{CallEvent, EventKind, RetryPolicy};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Each event: kind, `id METHOD template`, attempt, status, wait.
type Seen = Arc<Mutex<Vec<Event>>>;
type Event = (EventKind, String, u32, Option<u16>, Option<Duration>);

fn recording() -> (Seen, impl Fn(&CallEvent<'_>) + Send + Sync + 'static) {
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let observer = move |e: &CallEvent<'_>| {
        sink.lock().unwrap().push((
            e.kind,
            format!("{} {} {}", e.operation_id, e.method, e.path_template),
            e.attempt,
            e.status,
            e.wait,
        ));
    };
    (seen, observer)
}

#[tokio::test]
async fn an_observer_hears_each_step_in_order_with_the_template_not_the_path() {
    let server = TestServer::sequence(vec![
        json(503, "{}"),
        json(200, r#"{"userId":"jane-4711"}"#),
    ])
    .await;
    let (seen, observer) = recording();
    let c = builder(&server.url()).observer(observer).build().unwrap();
    c.get_user("jane-4711").await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let kinds: Vec<(EventKind, u32, Option<u16>)> = seen.iter().map(|e| (e.0, e.2, e.3)).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Request, 1, None),
            (EventKind::Response, 1, Some(503)),
            (EventKind::Retry, 1, None),
            (EventKind::Request, 2, None),
            (EventKind::Response, 2, Some(200)),
        ]
    );
    assert!(seen[2].4.is_some(), "a retry says its backoff: {seen:?}");
    for event in &seen {
        assert_eq!(event.1, "get-a-user GET /users/{userId}");
    }
}

#[tokio::test]
async fn an_observer_hears_a_throttle_and_its_hold() {
    let server = TestServer::always(with_header(json(429, "{}"), "retry-after", "2")).await;
    let (seen, observer) = recording();
    let c = builder(&server.url())
        .observer(observer)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    c.get_user("u").await.unwrap_err();
    let kinds: Vec<(EventKind, Option<u16>, Option<Duration>)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.0, e.3, e.4))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Request, None, None),
            (EventKind::Response, Some(429), None),
            (EventKind::Throttle, Some(429), Some(Duration::from_secs(2))),
        ]
    );
}

#[cfg(feature = "metrics")]
#[test]
fn metrics_count_durations_retries_throttles_and_flow_waits() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let server = TestServer::sequence(vec![
                json(503, "{}"),
                with_header(json(429, "{}"), "retry-after", "0"),
                json(200, r#"{"userId":"u"}"#),
            ])
            .await;
            builder(&server.url())
                .retry_policy(common::fast_retries().retry_throttled_until_deadline(true))
                .build()
                .unwrap()
                .get_user("u")
                .await
                .unwrap();
        })
    });
    let mut durations = Vec::new();
    let (mut retries, mut throttled, mut waits) = (0, 0, 0);
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let label = |name: &str| {
            key.labels()
                .find(|l| l.key() == name)
                .map(|l| l.value().to_owned())
        };
        assert_eq!(
            label("alloy.operation_id").as_deref(),
            Some("get-a-user"),
            "{key:?}"
        );
        match (key.name(), value) {
            ("http.client.request.duration", DebugValue::Histogram(values)) => {
                assert_eq!(label("http.request.method").as_deref(), Some("GET"));
                let status = label("http.response.status_code").unwrap();
                durations.push((status, values.len()));
            }
            ("alloy.client.retries", DebugValue::Counter(n)) => retries = n,
            ("alloy.client.throttled", DebugValue::Counter(n)) => throttled = n,
            ("alloy.client.flow_wait.duration", DebugValue::Histogram(values)) => {
                waits = values.len()
            }
            (name, value) => panic!("unexpected metric {name}: {value:?}"),
        }
    }
    durations.sort();
    assert_eq!(
        durations,
        [
            ("200".to_owned(), 1),
            ("429".to_owned(), 1),
            ("503".to_owned(), 1)
        ]
    );
    assert_eq!((retries, throttled, waits), (2, 1, 3));
}
