//! The README quickstart: offline, with no key, against the bundled
//! stand-in for the Embedded API.
//!
//! Run it with `cargo run --example quickstart --features fake`.

use runalloy_embedded::{Client, OperationCall, fake::FakeAlloy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A local stand-in for https://production.runalloy.com on 127.0.0.1.
    let fake = FakeAlloy::start("quickstart-key").await?;
    let client = Client::builder()
        .api_key("quickstart-key")
        .base_url(fake.base_url())
        .build()?;
    println!("stand-in listening at {}", fake.base_url());

    let created = client
        .create_user("jane@example.com", Some("Jane Doe"))
        .await?;
    let id = created.user_id.ok_or("the API returned no userId")?;
    println!("created user {id}");

    let user = client.get_user(&id).await?;
    println!("read it back: {}", serde_json::to_string(&user)?);

    // Offboarding: turn off the user's workflows and look at its credentials,
    // then erase it. Any operation of the spec is callable by its id too.
    let paused = client.deactivate_user_workflows(&id).await?;
    println!(
        "deactivated its workflows: {}",
        serde_json::to_string(&paused)?
    );
    let credentials = OperationCall::new("list-user-credentials")?.param("userId", &*id)?;
    let listed = client.call_operation(&credentials).await?;
    println!("its credentials (the stand-in's example): {listed}");

    let logs = client.delete_user_logs(&id).await?;
    println!("deleted its logs: {}", serde_json::to_string(&logs)?);

    let deleted = client.delete_user(&id).await?;
    println!("deleted it: {}", serde_json::to_string(&deleted)?);

    match client.get_user(&id).await {
        Err(e) if e.is_not_found() => println!("reading it again fails as it should: {e}"),
        other => return Err(format!("expected a 404, got {other:?}").into()),
    }

    let wrong_key = Client::builder()
        .api_key("not-the-key")
        .base_url(fake.base_url())
        .build()?;
    match wrong_key.list_users(None).await {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(401) => {
            println!("a wrong key is refused: {e}")
        }
        other => return Err(format!("expected a 401, got {other:?}").into()),
    }
    Ok(())
}
