//! Ids that try to escape their path segment are refused before sending;
//! every other id arrives as exactly one segment equal to itself.

use crate::common;

use common::{TestServer, client, json};
use runalloy_embedded::Error;

/// A body that confirms either delete: the user's `success` and the logs'
/// `message`.
const CONFIRMS_BOTH: &str = r#"{"success":true,"message":"Success"}"#;

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

/// Ids no API would take as one user: refused by `check_user_id`.
const NOT_IDS: &[&str] = &[
    "   ",
    " \t ",
    "a\tb",
    "line\nbreak",
    "nul\0byte",
    "esc\u{1b}[2J",
];

#[tokio::test]
async fn blank_control_and_overlong_ids_are_refused_and_nothing_is_sent() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = client(&server.url());
    let long = "x".repeat(2000);
    let mut ids: Vec<&str> = NOT_IDS.to_vec();
    ids.push(&long);
    for id in ids {
        let err = c.delete_user(id).await.map(|_| ()).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{id:?}: {err:?}");
        let text = err.to_string();
        assert!(
            text.contains("only whitespace")
                || text.contains("control character")
                || text.contains("longer than 1024 bytes"),
            "{id:?}: {text}"
        );
    }
    assert!(c.delete_user(&"x".repeat(1024)).await.is_ok());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn reserved_characters_are_percent_encoded_on_the_wire() {
    let server = TestServer::always(json(200, r#"{"success":true}"#)).await;
    let c = client(&server.url());
    let cases = [
        ("a;b", "/users/a%3Bb"),
        ("a,b", "/users/a%2Cb"),
        ("a=b", "/users/a%3Db"),
        ("a@b", "/users/a%40b"),
        ("victim;x", "/users/victim%3Bx"),
        ("a+b!$&'()*:", "/users/a%2Bb%21%24%26%27%28%29%2A%3A"),
        ("ünï", "/users/%C3%BCn%C3%AF"),
        ("a/b?c#d e%", "/users/a%2Fb%3Fc%23d%20e%25"),
        ("Az09-._~", "/users/Az09-._~"),
    ];
    for (id, _) in cases {
        c.delete_user(id).await.unwrap();
    }
    // Through `call` as well, with the query left alone.
    c.call(|api| api.list_all_users().parent_workflow_id("w;1").send())
        .await
        .unwrap_or_default();
    let seen = server.requests();
    for ((id, want), got) in cases.iter().zip(&seen) {
        assert_eq!(got.method, "DELETE");
        assert_eq!(got.target, *want, "{id:?}");
    }
    assert!(
        seen[cases.len()]
            .target
            .starts_with("/users?parentWorkflowId=w"),
        "{}",
        seen[cases.len()].target
    );
}

#[tokio::test]
async fn under_a_base_path_only_the_parameter_is_re_encoded() {
    let server = TestServer::always(json(200, CONFIRMS_BOTH)).await;
    // The base path's own segment holds a character the parameter rule
    // would encode; it must reach the server as given.
    let c = client(&format!("{}/tenant@eu/alloy", server.url()));
    c.delete_user("a;b").await.unwrap();
    c.delete_user_logs("x@y").await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].target, "/tenant@eu/alloy/users/a%3Bb");
    assert_eq!(
        seen[1].target,
        "/tenant@eu/alloy/users/x%40y/logs?userId=x%40y"
    );
}

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
        let err = c
            .call(|api| api.delete_a_user().user_id(*id).send())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{id:?}: {err:?}");
        assert!(err.to_string().contains("delete-a-user"), "{err}");
    }
    let err = c
        .call(|api| api.delete_logs_for_a_user().user_id("..").send())
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(server.requests().is_empty(), "sent {:?}", server.requests());
}

#[tokio::test]
async fn other_ids_arrive_as_exactly_one_segment() {
    let server = TestServer::always(json(200, CONFIRMS_BOTH)).await;
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
        // The same id, whole, in the query the vendor's document declares.
        assert_eq!(
            common::operations::query_of(&pair[1].target),
            [("userId".to_string(), id.to_string())],
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
