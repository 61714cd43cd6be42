//! The GDPR access export (Art. 15): everything the API holds about one
//! user, read-only, beside the erasure.

use crate::{Client, Error, OperationCall, check_user_id};
use futures::TryStreamExt;
use serde_json::Value;

/// What the API holds about one user, each part as the API sent it
/// (unknown fields included).
///
/// It serialises as the line `users export` writes:
/// `{"userId", "user", "credentials", "integrations", "logs"}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserExport {
    /// The id as given.
    pub user_id: String,
    /// `GET /users/{userId}`.
    pub user: Value,
    /// `GET /credentials/users/{userId}`.
    pub credentials: Value,
    /// `GET /integrations?userId=...`.
    pub integrations: Value,
    /// Every log of the user, across every page of
    /// `GET /logs?associatedUserId=...`.
    pub logs: Vec<Value>,
}

impl Client {
    /// Reads everything the API holds about `user_id`, for an access
    /// request: the user, its credentials, its integrations and every log
    /// of it across pages. GET requests only.
    ///
    /// A user the API does not know is [`Error::NotFound`] (with
    /// [`Error::is_api_not_found`]) for `get-a-user`, and nothing else is
    /// read. It is returned only once the base URL is proven to be the API
    /// ([`Client::confirm_gone`]); from a base URL that is not, a 404 is
    /// [`Error::NotTheApi`], never an unknown user. A 404 to a later read
    /// is a `NotFound` too, naming its own operation
    /// ([`ApiFailure::operation`](crate::ApiFailure::operation)): the user
    /// was read, so it is a failed export, not an unknown user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::Client;
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let id = fake.insert_user("jane@example.com", None);
    /// fake.insert_log(&id, "wf-1");
    /// let export = client.export_user(&id).await?;
    /// assert_eq!(export.user["username"], "jane@example.com");
    /// assert_eq!(export.logs.len(), 1);
    /// # Ok(()) }
    /// ```
    pub async fn export_user(&self, user_id: &str) -> Result<UserExport, Error> {
        check_user_id(user_id)?;
        let read = |operation: &str, param: &str| -> Result<OperationCall, Error> {
            OperationCall::new(operation)?.param(param, user_id)
        };
        let user = match self.call_operation(&read("get-a-user", "userId")?).await {
            Ok(user) => user,
            // Proven gone: the API's own 404, given as it came.
            Err(e) if e.is_any_404() => {
                return Err(match self.prove_target().await {
                    Ok(()) => e,
                    Err(proof) => proof,
                });
            }
            Err(e) => return Err(e),
        };
        let credentials = self
            .call_operation(&read("list-user-credentials", "userId")?)
            .await?;
        let integrations = self
            .call_operation(&read("list-integrations", "userId")?)
            .await?;
        let logs = self
            .paginate(read("get-logs", "associatedUserId")?)
            .try_collect()
            .await?;
        Ok(UserExport {
            user_id: user_id.to_owned(),
            user,
            credentials,
            integrations,
            logs,
        })
    }
}
