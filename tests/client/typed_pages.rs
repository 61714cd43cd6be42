//! The `stream()` the build generates on the request builder of every
//! paged operation: typed items, typed parameters, and `paginate`'s rules.

use crate::common;

use common::{Recorded, TestServer, client, json};
use futures::StreamExt;
use runalloy_embedded::Error;
use serde_json::{Value, json};
use std::collections::HashMap;

fn query(r: &Recorded) -> HashMap<String, String> {
    let url = url::Url::parse(&format!("http://h{}", r.target)).unwrap();
    url.query_pairs().into_owned().collect()
}

fn number(q: &HashMap<String, String>, name: &str) -> usize {
    q.get(name).map_or(0, |v| v.parse().unwrap())
}

/// Takes the whole stream: the items, and the error that ended it.
async fn drain<T>(
    stream: impl futures::Stream<Item = Result<T, Error>>,
) -> (Vec<T>, Option<Error>) {
    let mut stream = std::pin::pin!(stream);
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(e) => {
                assert!(stream.next().await.is_none(), "an error ends the stream");
                return (items, Some(e));
            }
        }
    }
    (items, None)
}

#[tokio::test]
async fn two_hundred_and_thirty_seven_workflow_logs_walk_as_typed_items() {
    let total = 237;
    let server = TestServer::start(move |_, r| {
        let q = query(r);
        let (page, limit) = (number(&q, "page"), number(&q, "limit"));
        let start = (page - 1) * limit;
        let items: Vec<Value> = (start..total.min(start + limit))
            .map(|i| json!({"executionId": format!("run-{i}"), "status": "succeeded"}))
            .collect();
        json(200, &json!({"data": items}).to_string())
    })
    .await;
    let c = client(&server.url());
    let (items, error) = drain(c.api().get_workflow_logs().workflow_id("w-1").stream()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), total);
    // The generated item type, not JSON.
    let last: &runalloy_embedded::api::types::GetWorkflowLogsResponseDataItem = &items[236];
    assert_eq!(last.execution_id.as_deref(), Some("run-236"));
    // Pages of the vendor's documented size, numbered from 1, each with
    // the builder's parameters and the key.
    let seen = server.requests();
    assert_eq!(seen.len(), 8);
    for (i, r) in seen.iter().enumerate() {
        assert_eq!(r.path(), "/workflows/w-1/logs");
        let q = query(r);
        assert_eq!(
            (q["page"].as_str(), q["limit"].as_str()),
            (&*(i + 1).to_string(), "30")
        );
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {}", common::TEST_KEY).as_str())
        );
    }
}

#[tokio::test]
async fn the_builders_limit_and_position_are_the_page_size_and_the_start() {
    let total = 25;
    let server = TestServer::start(move |_, r| {
        let q = query(r);
        let (skip, limit) = (number(&q, "skip"), number(&q, "limit"));
        let items: Vec<Value> = (skip..total.min(skip + limit))
            .map(|i| json!({"_id": format!("log-{i}")}))
            .collect();
        json(200, &json!({"notifications": items}).to_string())
    })
    .await;
    let c = client(&server.url());
    let stream = c
        .api()
        .get_logs()
        .associated_user_id("u-1")
        .limit(7)
        .skip(4)
        .stream();
    let (items, error) = drain(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 21);
    assert_eq!(items[0]["_id"], "log-4");
    let asked: Vec<(String, String, String)> = server
        .requests()
        .iter()
        .map(|r| {
            let q = query(r);
            (
                q["skip"].clone(),
                q["limit"].clone(),
                q["associatedUserId"].clone(),
            )
        })
        .collect();
    let want = |skip: &str| (skip.to_owned(), "7".to_owned(), "u-1".to_owned());
    // 4..11, 11..18, 18..25, then a short (empty) page ends it.
    assert_eq!(asked, [want("4"), want("11"), want("18"), want("25")]);
}

#[tokio::test]
async fn a_repeated_page_ends_the_stream_with_an_error() {
    let server = TestServer::start(|_, _| {
        let items: Vec<Value> = (0..10)
            .map(|i| json!({"_id": format!("log-{i}")}))
            .collect();
        json(200, &json!({"notifications": items}).to_string())
    })
    .await;
    let c = client(&server.url());
    let (items, error) = drain(c.api().get_logs().stream()).await;
    assert_eq!(items.len(), 10, "the first page's items come first");
    let error = error.expect("an error");
    assert!(matches!(&error, Error::Page { page: 2, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "page 2: not Alloy's API: get-logs: page 2 repeats page 1 (the server ignored `skip`)"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_failure_comes_after_the_items_before_it_as_the_crates_error() {
    let server = TestServer::start(|_, r| {
        let skip = number(&query(r), "skip");
        if skip == 10 {
            json(401, r#"{"message":"Unauthorized"}"#)
        } else {
            let items: Vec<Value> = (skip..skip + 10)
                .map(|i| json!({"_id": format!("log-{i}")}))
                .collect();
            json(200, &json!({"notifications": items}).to_string())
        }
    })
    .await;
    let (items, error) = drain(client(&server.url()).api().get_logs().stream()).await;
    assert_eq!(items.len(), 10);
    let error = error.expect("an error");
    assert!(matches!(&error, Error::Page { page: 2, .. }), "{error:?}");
    assert!(error.is_auth_failure(), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn a_bad_page_size_is_refused_before_anything_is_sent() {
    let server = TestServer::always(json(200, r#"{"notifications":[]}"#)).await;
    let c = client(&server.url());
    let (items, error) = drain(c.api().get_logs().limit(-3).stream()).await;
    assert!(items.is_empty());
    let error = error.expect("an error");
    assert!(error.is_invalid_input(), "{error:?}");
    assert_eq!(
        error.to_string(),
        "invalid input: get-logs: parameter `limit` must be a whole number of at least 0; nothing was sent"
    );
    assert!(server.requests().is_empty());
}
