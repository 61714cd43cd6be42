//! Ergonomic methods for the Users operations, on top of [`Client::call`].

use crate::api::types;
use crate::workflows::confirm;
use crate::{Client, Error};

/// The longest user id accepted, in bytes.
pub const MAX_USER_ID_BYTES: usize = crate::transport::send::MAX_PATH_VALUE_BYTES;

/// The most users `POST /users/batch` takes at once ("Limited to 1000 users
/// at a time").
pub const MAX_BATCH_USERS: usize = 1000;

/// Refuses a user id that no API would take as one user: empty, only
/// whitespace, with control characters, longer than
/// [`MAX_USER_ID_BYTES`], or one that would not travel as exactly one path
/// segment (`.`, `..`, or containing `\`).
///
/// Any other id is sent as one segment with every character outside the
/// URL-unreserved set (letters, digits, `-`, `.`, `_`, `~`)
/// percent-encoded, so `;`, `,`, `=` or `@` can never be read as structure.
///
/// ```
/// use runalloy_embedded::check_user_id;
///
/// assert!(check_user_id("6323d7c9122ae69742a5d0a2").is_ok());
/// assert!(check_user_id("jane@example.com").is_ok());
/// assert!(check_user_id("..").is_err());
/// assert!(check_user_id("").is_err());
/// assert!(check_user_id("   ").is_err());
/// assert!(check_user_id("a\u{7}b").is_err());
/// assert!(check_user_id(&"x".repeat(1025)).is_err());
/// ```
pub fn check_user_id(id: &str) -> Result<(), Error> {
    crate::transport::send::check_path_value(id)
        .map_err(|why| Error::InvalidInput(format!("the user id {why}")))
}

impl Client {
    /// `POST /users`: creates a user and returns its id.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let created = client.create_user("jane@example.com", Some("Jane Doe")).await?;
    /// println!("{:?}", created.user_id);
    /// # Ok(()) }
    /// ```
    pub async fn create_user(
        &self,
        username: &str,
        full_name: Option<&str>,
    ) -> Result<types::CreateAUserResponse, Error> {
        if username.trim().is_empty() {
            return Err(Error::InvalidInput("the username is empty".to_owned()));
        }
        let body = types::CreateAUserBody {
            username: username.to_owned(),
            full_name: full_name.map(str::to_owned),
        };
        self.call(|api| api.create_a_user().body(body).send()).await
    }

    /// `POST /users/batch`: creates up to [`MAX_BATCH_USERS`] users in one
    /// request, each a username and an optional full name. The API answers
    /// with the users it refused (`invalid_users`), such as a username
    /// already taken.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let created = client
    ///     .create_users([("jane@example.com", Some("Jane Doe")), ("sam@example.com", None)])
    ///     .await?;
    /// for refused in created.invalid_users {
    ///     println!("not created: {:?}", refused.username);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn create_users<'n, I>(
        &self,
        users: I,
    ) -> Result<types::BatchCreateUsersResponse, Error>
    where
        I: IntoIterator<Item = (&'n str, Option<&'n str>)>,
    {
        let users: Vec<types::BatchCreateUsersBodyUsersItem> = users
            .into_iter()
            .map(
                |(username, full_name)| types::BatchCreateUsersBodyUsersItem {
                    username: Some(username.to_owned()),
                    full_name: full_name.map(str::to_owned),
                },
            )
            .collect();
        if users.is_empty() {
            return Err(Error::InvalidInput("the batch holds no users".to_owned()));
        }
        if users.len() > MAX_BATCH_USERS {
            return Err(Error::InvalidInput(format!(
                "the batch holds {} users; the API takes at most {MAX_BATCH_USERS} at a time",
                users.len()
            )));
        }
        if let Some(i) = users
            .iter()
            .position(|u| u.username.as_deref().is_none_or(|n| n.trim().is_empty()))
        {
            return Err(Error::InvalidInput(format!(
                "user {} of the batch has an empty username",
                i + 1
            )));
        }
        let body = types::BatchCreateUsersBody { users };
        self.call(|api| api.batch_create_users().body(body).send())
            .await
    }

    /// `PUT /users/{userId}`: changes a user's username, full name, or
    /// both, and returns the user as it now is. At least one must be given.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let user = client.update_user("6323d7c9122ae69742a5d0a2", None, Some("Jane Smith")).await?;
    /// println!("{:?}", user.full_name);
    /// # Ok(()) }
    /// ```
    pub async fn update_user(
        &self,
        user_id: &str,
        username: Option<&str>,
        full_name: Option<&str>,
    ) -> Result<types::UpdateAUserResponse, Error> {
        check_user_id(user_id)?;
        if username.is_none() && full_name.is_none() {
            return Err(Error::InvalidInput(
                "neither a username nor a full name was given to update".to_owned(),
            ));
        }
        if username.is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::InvalidInput("the username is empty".to_owned()));
        }
        let body = types::UpdateAUserBody {
            username: username.map(str::to_owned),
            full_name: full_name.map(str::to_owned),
        };
        self.call(|api| api.update_a_user().user_id(user_id).body(body).send())
            .await
    }

    /// `GET /users/{userId}`: one user, by id or username.
    pub async fn get_user(&self, user_id: &str) -> Result<types::GetAUserResponse, Error> {
        check_user_id(user_id)?;
        self.call(|api| api.get_a_user().user_id(user_id).send())
            .await
    }

    /// Proves that a user is gone: `GET /users/{userId}` must answer the
    /// API's own 404 "not found", from a base URL proven to be the API
    /// ([`Client::confirm_gone`]). Run it after a delete the API confirmed,
    /// as proof that the delete took effect.
    ///
    /// A 200 is [`Error::StillReadable`]; any other failure (a router's 404,
    /// which is [`Error::NotTheApi`] when the base URL is not the API, a
    /// 500 after the retries, a timeout) is returned, since it proves
    /// nothing either way.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// let id = "6323d7c9122ae69742a5d0a2";
    /// assert!(client.erase_user(id).await.is_erased());
    /// client.verify_user_gone(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn verify_user_gone(&self, user_id: &str) -> Result<(), Error> {
        match self.get_user(user_id).await {
            Ok(_) => Err(Error::StillReadable),
            Err(e) => self.confirm_gone(e).await,
        }
    }

    /// `GET /users`: every user, or those of one parent workflow.
    pub async fn list_users(
        &self,
        parent_workflow_id: Option<&str>,
    ) -> Result<types::ListAllUsersResponse, Error> {
        self.call(|api| {
            let request = api.list_all_users();
            match parent_workflow_id {
                Some(id) => request.parent_workflow_id(id),
                None => request,
            }
            .send()
        })
        .await
    }

    /// `DELETE /users/{userId}`: deletes the user, but not its logs; see
    /// [`Client::erase_user`] for both.
    ///
    /// Succeeds only when the API confirms with `{"success": true}`. A 200
    /// `{"success": false}` is [`Error::Rejected`]; any other 2xx (`{}`,
    /// `null`, another shape, `204`) is [`Error::Unconfirmed`].
    pub async fn delete_user(&self, user_id: &str) -> Result<types::DeleteAUserResponse, Error> {
        check_user_id(user_id)?;
        self.call_confirmed(
            |api| api.delete_a_user().user_id(user_id).send(),
            confirm::SUCCESS_FLAG,
        )
        .await
    }

    /// `DELETE /users/{userId}/logs`: deletes every log of the user. This
    /// cannot be undone.
    ///
    /// The id travels in the path and, as the vendor's document declares it
    /// there too, in the `userId` query parameter. Succeeds only when the
    /// API confirms with its documented `{"message": "..."}`; any other 2xx
    /// is [`Error::Unconfirmed`].
    pub async fn delete_user_logs(
        &self,
        user_id: &str,
    ) -> Result<types::DeleteLogsForAUserResponse, Error> {
        check_user_id(user_id)?;
        self.call_confirmed(
            |api| api.delete_logs_for_a_user().user_id(user_id).send(),
            confirm::MESSAGE,
        )
        .await
    }
}
