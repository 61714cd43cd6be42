//! Property: any id is either refused before sending, or arrives as exactly
//! one path segment equal to the id.

use crate::common;

use common::{TestServer, client, json};
use proptest::prelude::*;
use runalloy_embedded::Client;
use std::sync::OnceLock;

/// One runtime, server and client for every case: building a client loads
/// the platform's TLS roots, which would dominate the run.
fn fixture() -> &'static (tokio::runtime::Runtime, TestServer, Client) {
    static FIXTURE: OnceLock<(tokio::runtime::Runtime, TestServer, Client)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(TestServer::always(json(200, r#"{"success":true}"#)));
        let client = client(&server.url());
        (runtime, server, client)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn any_id_is_refused_or_arrives_as_one_segment(
        id in prop_oneof![
            any::<String>(),
            "[./\\\\%?#a-z ]{0,8}",
            Just("..".to_string()),
        ]
    ) {
        let (runtime, server, client) = fixture();
        let before = server.requests().len();
        let result = runtime.block_on(client.delete_user(&id));
        let seen = server.requests().split_off(before);
        match result {
            Err(e) => {
                prop_assert!(e.is_invalid_input(), "{id:?}: {e}");
                prop_assert!(runalloy_embedded::check_user_id(&id).is_err());
                prop_assert!(seen.is_empty());
            }
            Ok(_) => {
                prop_assert_eq!(seen.len(), 1);
                prop_assert_eq!(seen[0].segments(), vec!["users".to_string(), id.clone()]);
            }
        }
    }
}
