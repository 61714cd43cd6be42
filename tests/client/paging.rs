//! `Client::paginate`: every page of the operations the spec declares
//! paged, both styles, the cap held, and the ends: a page count, a short or
//! empty page, a repeated page, a failure mid-stream.

use crate::common;

use common::{Recorded, Reply, TestServer, client, json};
use futures::StreamExt;
use runalloy_embedded::{Error, OperationCall};
use serde_json::{Value, json};
use std::collections::HashMap;

fn query(r: &Recorded) -> HashMap<String, String> {
    let url = url::Url::parse(&format!("http://h{}", r.target)).unwrap();
    url.query_pairs().into_owned().collect()
}

fn number(q: &HashMap<String, String>, name: &str) -> usize {
    q.get(name).map_or(0, |v| v.parse().unwrap())
}

/// `get-logs` over `total` logs, as the vendor documents it: `skip` and
/// `limit`, and a `pagination` object when `with_pages`.
fn logs_server(total: usize, with_pages: bool) -> impl Fn(usize, &Recorded) -> Reply {
    move |_, r| {
        let q = query(r);
        let (skip, limit) = (number(&q, "skip"), number(&q, "limit"));
        let items: Vec<Value> = (skip..total.min(skip + limit))
            .map(|i| json!({"_id": format!("log-{i}")}))
            .collect();
        let mut body = json!({"notifications": items, "lastFetched": "2025-04-29T17:46:38.237Z"});
        if with_pages {
            body["pagination"] = json!({
                "totalItems": total,
                "totalPages": total.div_ceil(limit),
                "currentPage": skip / limit + 1,
                "pageSize": limit,
            });
        }
        json(200, &body.to_string())
    }
}

async fn collect(
    client: &runalloy_embedded::Client,
    call: OperationCall,
) -> (Vec<Value>, Option<Error>) {
    let mut stream = std::pin::pin!(client.paginate(call));
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

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn offset_pages_end_at_the_answers_page_count() {
    let server = TestServer::start(logs_server(23, true)).await;
    let call = OperationCall::new("get-logs")
        .unwrap()
        .param("associatedUserId", "u-1")
        .unwrap();
    let (items, error) = collect(&client(&server.url()), call).await;
    assert!(error.is_none(), "{error:?}");
    let expected: Vec<String> = (0..23).map(|i| format!("log-{i}")).collect();
    assert_eq!(ids(&items, "_id"), expected);
    let seen: Vec<(String, String, String, String)> = server
        .requests()
        .iter()
        .map(|r| {
            let q = query(r);
            (
                r.path().to_owned(),
                q["skip"].clone(),
                q["limit"].clone(),
                q["associatedUserId"].clone(),
            )
        })
        .collect();
    let want = |skip: &str| ("/logs".into(), skip.into(), "10".into(), "u-1".into());
    assert_eq!(seen, [want("0"), want("10"), want("20")]);
}

#[tokio::test]
async fn without_a_page_count_a_short_page_is_the_last() {
    let server = TestServer::start(logs_server(15, false)).await;
    let call = OperationCall::new("get-logs").unwrap();
    let (items, error) = collect(&client(&server.url()), call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 15);
    assert_eq!(server.requests().len(), 2);

    // An exact multiple ends on the empty page after it.
    let server = TestServer::start(logs_server(20, false)).await;
    let (items, _) = collect(
        &client(&server.url()),
        OperationCall::new("get-logs").unwrap(),
    )
    .await;
    assert_eq!(items.len(), 20);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn numbered_pages_start_at_1_and_never_ask_past_the_cap() {
    let total = 65;
    let server = TestServer::start(move |_, r| {
        let q = query(r);
        let (page, limit) = (number(&q, "page"), number(&q, "limit"));
        let start = (page - 1) * limit;
        let items: Vec<Value> = (start..total.min(start + limit))
            .map(|i| json!({"executionId": format!("run-{i}")}))
            .collect();
        json(200, &json!({"data": items}).to_string())
    })
    .await;
    let call = OperationCall::new("get-workflow-logs")
        .unwrap()
        .param("workflowId", "w-1")
        .unwrap()
        .param("limit", "100")
        .unwrap();
    let (items, error) = collect(&client(&server.url()), call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), total);
    assert_eq!(items[64]["executionId"], "run-64");
    let pages: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| {
            let q = query(r);
            (q["page"].clone(), q["limit"].clone())
        })
        .collect();
    let want = |p: &str| (p.to_owned(), "30".to_owned());
    assert_eq!(pages, [want("1"), want("2"), want("3")]);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path() == "/workflows/w-1/logs")
    );
}

#[tokio::test]
async fn a_page_that_repeats_the_last_ends_with_an_error_not_a_loop() {
    // A server that ignores `skip`: always the first ten.
    let server = TestServer::start(|_, _| {
        let items: Vec<Value> = (0..10)
            .map(|i| json!({"_id": format!("log-{i}")}))
            .collect();
        json(200, &json!({"notifications": items}).to_string())
    })
    .await;
    let (items, error) = collect(
        &client(&server.url()),
        OperationCall::new("get-logs").unwrap(),
    )
    .await;
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
async fn a_failure_mid_stream_comes_after_the_items_before_it() {
    let pages = logs_server(30, true);
    let server = TestServer::start(move |n, r| {
        if number(&query(r), "skip") == 10 {
            json(500, r#"{"message":"down"}"#)
        } else {
            pages(n, r)
        }
    })
    .await;
    let (items, error) = collect(
        &client(&server.url()),
        OperationCall::new("get-logs").unwrap(),
    )
    .await;
    assert_eq!(items.len(), 10);
    let error = error.expect("an error");
    assert!(matches!(&error, Error::Page { page: 2, .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(error.attempts(), 3);
}

#[tokio::test]
async fn an_empty_first_page_is_an_empty_stream_and_an_unpaged_operation_is_refused() {
    let server = TestServer::start(logs_server(0, true)).await;
    let c = client(&server.url());
    let (items, error) = collect(&c, OperationCall::new("get-logs").unwrap()).await;
    assert!(items.is_empty() && error.is_none(), "{error:?}");
    assert_eq!(server.requests().len(), 1);

    let (_, error) = collect(&c, OperationCall::new("list-events").unwrap()).await;
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some("invalid input: list-events: the spec declares no paging for it; nothing was sent")
    );
    let bad = OperationCall::new("get-logs")
        .unwrap()
        .param("skip", "-3")
        .unwrap();
    let (_, error) = collect(&c, bad).await;
    assert!(error.is_some_and(|e| e.is_invalid_input()));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_spec_declares_the_two_paged_operations() {
    let paged: Vec<&str> = runalloy_embedded::OPERATIONS
        .iter()
        .filter(|op| op.paging.is_some())
        .map(|op| op.id)
        .collect();
    assert_eq!(paged, ["get-logs", "get-workflow-logs"]);
}

#[tokio::test]
async fn the_stand_in_pages_both_operations_as_the_vendor_documents() {
    use runalloy_embedded_fake::FakeAlloy;
    let fake = FakeAlloy::start(common::TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane@example.com", None);
    for _ in 0..65 {
        fake.insert_log(&jane, "wf-1");
    }
    fake.insert_log(&jane, "wf-2");
    fake.record_requests();
    let c = client(&fake.base_url());
    let call = OperationCall::new("get-workflow-logs")
        .unwrap()
        .param("workflowId", "wf-1")
        .unwrap();
    let (items, error) = collect(&c, call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 65);
    let call = OperationCall::new("get-logs")
        .unwrap()
        .param("associatedUserId", &jane)
        .unwrap();
    let (items, error) = collect(&c, call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 66);
    let received = fake.received();
    assert_eq!(
        received
            .iter()
            .filter(|r| r.contains("/workflows/wf-1/logs?"))
            .count(),
        3,
        "{received:?}"
    );
    assert_eq!(
        received
            .iter()
            .filter(|r| r.starts_with("GET /logs?"))
            .count(),
        7,
        "{received:?}"
    );
}

#[tokio::test]
async fn the_callers_page_size_is_honoured_where_the_vendor_documents_no_maximum() {
    let server = TestServer::start(logs_server(237, true)).await;
    let call = OperationCall::new("get-logs")
        .unwrap()
        .param("associatedUserId", "u-1")
        .unwrap()
        .param("limit", "100")
        .unwrap();
    let (items, error) = collect(&client(&server.url()), call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 237);
    let pages: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| {
            let q = query(r);
            (q["skip"].clone(), q["limit"].clone())
        })
        .collect();
    let want = |skip: &str| (skip.to_owned(), "100".to_owned());
    assert_eq!(pages, [want("0"), want("100"), want("200")]);

    // The stand-in, which pages as the vendor documents, agrees.
    use runalloy_embedded_fake::FakeAlloy;
    let fake = FakeAlloy::start(common::TEST_KEY).await.unwrap();
    let jane = fake.insert_user("jane@example.com", None);
    for _ in 0..237 {
        fake.insert_log(&jane, "wf-1");
    }
    fake.record_requests();
    let call = OperationCall::new("get-logs")
        .unwrap()
        .param("associatedUserId", &jane)
        .unwrap()
        .param("limit", "100")
        .unwrap();
    let (items, error) = collect(&client(&fake.base_url()), call).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 237);
    assert!(fake.received().len() <= 4, "{:?}", fake.received());
}
