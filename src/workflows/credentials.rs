//! Ergonomic methods for the user-scoped Credentials operations, on top of
//! [`Client::call`]. Every other Credentials operation is callable through
//! [`Client::call`] or [`Client::call_operation`].

use crate::api::types;
use crate::{Client, Error, check_user_id};

impl Client {
    /// `GET /credentials/users/{userId}`: every credential of a user.
    /// Succeeds only when the body holds the documented `data` list: a 2xx
    /// without it (`{}`) is [`Error::Unconfirmed`], not an empty list, so
    /// an offboarding never reads it as "no credentials to delete".
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let credentials = client.list_user_credentials("6323d7c9122ae69742a5d0a2").await?;
    /// for credential in credentials.data {
    ///     println!("{:?} {:?}", credential.credential_id, credential.type_);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_user_credentials(
        &self,
        user_id: &str,
    ) -> Result<types::ListUserCredentialsResponse, Error> {
        check_user_id(user_id)?;
        self.call_confirmed(
            |api| api.list_user_credentials().user_id(user_id).send(),
            crate::workflows::confirm::DATA_LIST,
        )
        .await
    }

    /// `DELETE /users/{userId}/credentials/{credentialId}`: deletes one
    /// credential of a user. Succeeds only when the API confirms with
    /// `{"success": true}`; `{"success": false}` is [`Error::Rejected`] and
    /// any other 2xx [`Error::Unconfirmed`].
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// client.delete_credential("6323d7c9122ae69742a5d0a2", "66fb066c3793749b64c214bc").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_credential(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> Result<types::DeleteACredentialResponse, Error> {
        check_user_id(user_id)?;
        crate::transport::send::check_path_value(credential_id)
            .map_err(|why| Error::InvalidInput(format!("the credential id {why}")))?;
        self.call_confirmed(
            |api| {
                api.delete_a_credential()
                    .user_id(user_id)
                    .credential_id(credential_id)
                    .send()
            },
            crate::workflows::confirm::SUCCESS_FLAG,
        )
        .await
    }
}
