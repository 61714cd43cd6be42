//! A caller's code written against the 2025-09 spec, as a user of the
//! crate would write it: request builders, builders for generated types,
//! `..` in patterns and `_` in matches. `cargo xtask spec semver-proof`
//! compiles it, as an example of a copy of the crate, against the 2025-09
//! spec and against each spec that only adds, where it must still compile.

use runalloy_embedded::api::types;
use runalloy_embedded::{Client, Error};

async fn calls(client: &Client) -> Result<(), Error> {
    // An operation with optional query parameters.
    let logs = client
        .call(|api| {
            api.get_workflow_logs()
                .workflow_id("6544eac8e1ee020334af4ec8")
                .limit(10)
                .send()
        })
        .await?;
    let _ = logs;

    // A request body built field by field.
    let activated = client
        .call(|api| {
            api.activate_a_workflow()
                .body_map(|b| b.user_id("u-1").workflow_name(Some("Sync".to_owned())))
                .send()
        })
        .await?;
    let types::ActivateAWorkflowResponse { activated, .. } = activated;
    let _ = activated;

    // A response read by destructuring.
    let user = client.get_user("u-1").await?;
    let types::GetAUserResponse {
        user_id, username, ..
    } = user;
    let _ = (user_id, username);

    // A request enum matched with a wildcard.
    let sort = types::GetLogsSortBy::CreatedAt;
    match sort {
        types::GetLogsSortBy::CreatedAt => {}
        _ => {}
    }
    Ok(())
}

/// A response built in the caller's own tests, through its builder.
fn fixture() -> types::GetAUserResponse {
    types::GetAUserResponse::builder()
        .user_id("u-1")
        .username(Some("jane@example.com".to_owned()))
        .try_into()
        .expect("a valid user")
}

/// The proof only compiles this code; naming the functions here is what
/// keeps them from being unused.
fn main() {
    let _ = (calls, fixture);
}
