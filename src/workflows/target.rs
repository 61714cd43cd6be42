//! What a 404 proves: the read that shows the base URL is Alloy's API,
//! made once per client, and the rule that counts a 404 as "gone" only
//! behind that proof.
//!
//! A gateway, a router or a wrong base URL answers 404 to everything; read
//! as "already gone", that would claim a deletion that never happened.

use crate::workflows::confirm::{Confirmation, DATA_LIST};
use crate::{Client, Error};

impl Client {
    /// Proves that the base URL serves Alloy's API and accepts this key,
    /// with one `GET /users` that must answer 200 with the documented
    /// `{"data": [...]}` shape. A 404 there is [`Error::NotTheApi`] naming
    /// the base URL: the users list is the API's own route.
    ///
    /// Every call sends the request. Once one succeeds, the client (and
    /// its clones) counts the target as proven, and the workflows that read
    /// a 404 as "already gone" ([`Client::confirm_gone`]) do not ask again.
    ///
    /// It reads at most 1 MiB of the list (less if the client's limit is
    /// lower): a 200 whose body is larger still counts, since only the users
    /// route answers 200 with so much.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::Client;
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// client.verify_api_access().await?;
    /// # Ok(()) }
    /// ```
    pub async fn verify_api_access(&self) -> Result<(), Error> {
        self.read_users_list().await?;
        // Set by an earlier call, or by a proof under way: either way, proven.
        let _ = self.proven().set(());
        Ok(())
    }

    /// The proof, once per client: made by the first call that needs it,
    /// shared by every clone; a failed proof is not kept, so the next call
    /// tries again.
    pub(crate) async fn prove_target(&self) -> Result<(), Error> {
        self.proven()
            .get_or_try_init(|| self.read_users_list())
            .await
            .map(|_| ())
    }

    /// `GET /users`, judged as [`Client::verify_api_access`] says.
    async fn read_users_list(&self) -> Result<(), Error> {
        // Users lists can be large; the shape shows in the first bytes, and
        // a 200 too large to read is accepted below, so read at most this.
        const PREFLIGHT_BODY_LIMIT: usize = 1 << 20;
        let call =
            crate::transport::send::with_body_limit(PREFLIGHT_BODY_LIMIT, self.list_users(None));
        let (result, body) = crate::capture_last_body(call).await;
        match result {
            Ok(_) => {}
            Err(Error::ResponseTooLarge { status, .. }) if status.is_success() => return Ok(()),
            Err(e) if e.is_any_404() => {
                return Err(Error::NotTheApi(format!(
                    "{} answered HTTP 404 to GET /users, the API's list of users, so its \
                     404s say nothing about any user",
                    self.base_url(),
                )));
            }
            Err(e) => return Err(e),
        }
        // `{"data": [...]}`, checked without building the list.
        if body
            .as_deref()
            .is_some_and(|b| DATA_LIST.read(b) == Confirmation::Confirmed)
        {
            Ok(())
        } else {
            // Not the body: a list of users is personal data.
            Err(Error::NotTheApi(format!(
                "GET {}/users answered 200, but not with the API's {{\"data\": [...]}}",
                self.base_url(),
            )))
        }
    }

    /// Whether `error`, from a read or a delete of one resource, proves it
    /// gone: `Ok(())` only for the API's own 404 ([`Error::is_api_not_found`])
    /// from a base URL proven to be the API ([`Client::verify_api_access`],
    /// made here once per client if it was not yet). Anything else is
    /// given back as an error: `error` itself, or, when the proof fails,
    /// why (a base URL that is not the API is [`Error::NotTheApi`] naming
    /// it).
    ///
    /// This is the rule `erase_user`, `offboard_user`, `verify_user_gone`
    /// and `export_user` apply to every 404.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::Client;
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// match client.get_user("u-gone").await {
    ///     Ok(_) => println!("still there"),
    ///     Err(e) => match client.confirm_gone(e).await {
    ///         Ok(()) => println!("gone, as the API itself said"),
    ///         Err(e) => eprintln!("unknown: {e}"),
    ///     },
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn confirm_gone(&self, error: Error) -> Result<(), Error> {
        if !error.is_any_404() {
            return Err(error);
        }
        self.prove_target().await?;
        if error.is_api_not_found() {
            Ok(())
        } else {
            Err(error)
        }
    }
}
