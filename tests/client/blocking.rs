//! The blocking client (feature `blocking`), from plain functions with no
//! runtime of their own, against the stand-in (which runs on a runtime of
//! its own, as a server elsewhere would).
#![cfg(feature = "blocking")]

use crate::common;

use common::TEST_KEY;
use runalloy_embedded::{Client, Error, OperationCall};
use runalloy_embedded_fake::FakeAlloy;

/// The stand-in, served by a runtime the test keeps.
fn stand_in() -> (tokio::runtime::Runtime, FakeAlloy) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeAlloy::start(TEST_KEY)).unwrap();
    (runtime, fake)
}

fn blocking(fake: &FakeAlloy) -> runalloy_embedded::blocking::Client {
    Client::builder()
        .api_key(TEST_KEY)
        .base_url(fake.base_url())
        .build_blocking()
        .unwrap()
}

#[test]
fn a_plain_function_erases_a_user_and_walks_the_logs() {
    let (_server, fake) = stand_in();
    let user = fake.insert_user("leaver@example.com", None);
    let other = fake.insert_user("stays@example.com", None);
    for _ in 0..13 {
        fake.insert_log(&other, "wf-1");
    }
    fake.insert_log(&user, "wf-1");
    let client = blocking(&fake);
    // Thirteen logs of the user who stays, typed, page after page.
    let logs = client
        .iter(client.api().get_logs().associated_user_id(&*other).stream())
        .collect::<Result<Vec<_>, Error>>()
        .unwrap();
    assert_eq!(logs.len(), 13);
    // The same walk, untyped.
    let call = OperationCall::new("get-logs")
        .unwrap()
        .param("associatedUserId", &other)
        .unwrap();
    assert_eq!(client.paginate(call).count(), 13);
    // The leaver erased: logs, then the user, confirmed.
    let outcome = client.erase_user(&user).unwrap();
    assert!(outcome.is_erased(), "{outcome:?}");
    assert!(fake.users().iter().all(|u| u.user_id != user));
    assert_eq!(fake.logs_deleted(), std::slice::from_ref(&user));
    client.verify_user_gone(&user).unwrap();
    assert_eq!(client.get_user(&other).unwrap().user_id, other);
    // Any operation, with no code per operation.
    let users = client.call(|api| api.list_all_users().send()).unwrap();
    assert_eq!(users.data.len(), 1);
}

#[test]
fn errors_are_the_async_clients() {
    let (_server, fake) = stand_in();
    let client = blocking(&fake);
    let err = client.get_user("nobody").unwrap_err();
    assert!(err.is_api_not_found(), "{err:?}");
    let err = client.delete_user("").unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
}

#[test]
fn inside_an_async_runtime_it_says_so_instead_of_panicking() {
    let (server, fake) = stand_in();
    let client = blocking(&fake);
    let err = server
        .block_on(async { client.get_user("u-1") })
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(
        err.to_string(),
        "invalid input: the blocking client was called inside an async runtime, where it would block it; use runalloy_embedded::Client there; nothing was sent"
    );
    let outcome = server.block_on(async { client.erase_user("u-1") });
    assert!(outcome.is_err());
    // Made and dropped inside a runtime: no panic either.
    server.block_on(async {
        let inner = blocking(&fake);
        drop(inner);
    });
    // And outside, it still works.
    assert!(client.verify_api_access().is_ok());
}
