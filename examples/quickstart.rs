//! The README quickstart: offline, with no key, against the bundled
//! stand-in for the Embedded API.
//!
//! Run it with `cargo run --example quickstart`.

use runalloy_embedded::{Client, OperationCall};
use runalloy_embedded_fake::FakeAlloy;

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

    // The customer connected their Shopify (on the stand-in, directly).
    fake.insert_credential(&id, "shopify");
    // Any operation of the spec is callable by its id.
    let credentials = OperationCall::new("list-user-credentials")?.param("userId", &*id)?;
    let listed = client.call_operation(&credentials).await?;
    println!("its credentials: {listed}");

    // Offboarding: its workflows off, each credential deleted, its logs,
    // then the user; each step only if the one before is done.
    let outcome = client.offboard_user(&id).await;
    if !outcome.is_offboarded() {
        return Err(format!("not offboarded: {:?}", outcome.error()).into());
    }
    println!(
        "offboarded it: workflows {}, {} credential(s) deleted, logs {}, user {}",
        outcome.workflows.as_str(),
        outcome.credentials.len(),
        outcome.erase.logs.as_str(),
        outcome.erase.user.as_str()
    );
    // Proof: reading it again answers the API's own 404.
    client.verify_user_gone(&id).await?;
    println!("read back: it is gone");

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
