//! Ids that try to escape their path segment are refused before sending;
//! every other id arrives as exactly one segment equal to itself.

mod common;

use common::{TestServer, client, json};
use runalloy_embedded::Error;

const REFUSED: &[&str] = &["", ".", "..", "\\", "a\\b", "..\\..\\admin", "\\users"];

const ENCODED: &[&str] = &[
    "../admin",
    "../../",
    "a/b",
    "?x=1",
    "#frag",
    "%2e%2e",
    "%2F",
    "%",
    "a b",
    "a\tb",
    "line\nbreak",
    "nul\0byte",
    "jane@example.com",
    "ünïcødé-用户",
    "...",
    ".hidden",
    "{userId}",
    "a;b=c",
    "<script>",
    "\"quoted\"",
    "~user+tag",
];

#[tokio::test]
async fn escaping_ids_are_refused_and_nothing_is_sent() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = client(&server.url());
    for id in REFUSED {
        for err in [
            c.delete_user(id).await.map(|_| ()).unwrap_err(),
            c.delete_user_logs(id).await.map(|_| ()).unwrap_err(),
            c.get_user(id).await.map(|_| ()).unwrap_err(),
        ] {
            assert!(matches!(err, Error::InvalidInput(_)), "{id:?}: {err:?}");
            assert!(err.to_string().contains("user id"), "{id:?}: {err}");
        }
    }
    assert!(server.requests().is_empty(), "sent {:?}", server.requests());
}

#[tokio::test]
async fn the_generated_client_is_guarded_too() {
    // Through `call`, with no hand-written id check: the transport compares
    // the final path with the operation's template.
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = client(&server.url());
    for id in REFUSED {
        let err = c.call(|api| api.delete_a_user(id)).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{id:?}: {err:?}");
        assert!(err.to_string().contains("delete-a-user"), "{err}");
    }
    let err = c
        .call(|api| api.delete_logs_for_a_user(".."))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(server.requests().is_empty(), "sent {:?}", server.requests());
}

#[tokio::test]
async fn other_ids_arrive_as_exactly_one_segment() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = client(&server.url());
    for id in ENCODED {
        c.delete_user(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        c.delete_user_logs(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
    }
    let seen = server.requests();
    assert_eq!(seen.len(), ENCODED.len() * 2);
    for (pair, id) in seen.chunks(2).zip(ENCODED) {
        assert!(!pair[0].target.contains('?') && !pair[0].target.contains('#'));
        assert_eq!(
            pair[0].segments(),
            ["users".to_string(), id.to_string()],
            "{id:?}"
        );
        assert_eq!(
            pair[1].segments(),
            ["users".to_string(), id.to_string(), "logs".to_string()],
            "{id:?}"
        );
    }
}

#[tokio::test]
async fn an_empty_username_is_refused() {
    let server = TestServer::always(json(200, "{}")).await;
    let err = client(&server.url())
        .create_user("  ", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid input: the username is empty; nothing was sent"
    );
    assert!(server.requests().is_empty());
}
