//! Ergonomic methods for the Workflows operations an offboarding needs, on
//! top of [`Client::call`]. Every other Workflows operation is callable
//! through [`Client::call`] or [`Client::call_operation`].

use crate::api::types;
use crate::{Client, Error, check_user_id};

impl Client {
    /// `PUT /users/{userId}/deactivate-workflows`: turns off every active
    /// workflow of a user at once (the vendor's `disable-all-workflows-for-a-user`).
    /// Succeeds only when the API confirms with its documented
    /// `{"message": "..."}`; any other 2xx is [`Error::Unconfirmed`].
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let done = client.deactivate_user_workflows("6323d7c9122ae69742a5d0a2").await?;
    /// println!("{:?}", done.message);
    /// # Ok(()) }
    /// ```
    pub async fn deactivate_user_workflows(
        &self,
        user_id: &str,
    ) -> Result<types::DisableAllWorkflowsForAUserResponse, Error> {
        check_user_id(user_id)?;
        self.call_confirmed(
            |api| {
                api.disable_all_workflows_for_a_user()
                    .user_id(user_id)
                    .send()
            },
            crate::workflows::confirm::MESSAGE,
        )
        .await
    }
}
