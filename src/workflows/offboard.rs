//! Offboarding a customer: turn off its workflows, delete its credentials,
//! then erase it (logs, then the user). Each step is reported as the erase
//! reports its parts.

use crate::workflows::erase::ErrorSummary;
use crate::{Client, EraseOutcome, Error, OutcomeStatus, PartOutcome};

/// What an earlier offboarding of a user already did, so that a resumed one
/// sends only what is left: a step recorded as done is not sent again and
/// is reported as [`PartOutcome::DoneEarlier`].
///
/// The credential list is always read again, since it is what says which
/// credentials are left; credentials deleted earlier are no longer in it.
///
/// ```
/// use runalloy_embedded::OffboardProgress;
///
/// let progress = OffboardProgress::default().workflows_done(true);
/// assert!(progress.workflows && !progress.logs);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffboardProgress {
    /// The user's workflows were deactivated.
    pub workflows: bool,
    /// The user's logs were deleted (every credential had been deleted
    /// before, as the order of the steps ensures).
    pub logs: bool,
}

impl OffboardProgress {
    /// Records whether the workflows were deactivated.
    pub fn workflows_done(mut self, done: bool) -> Self {
        self.workflows = done;
        self
    }

    /// Records whether the logs were deleted.
    pub fn logs_done(mut self, done: bool) -> Self {
        self.logs = done;
        self
    }

    /// What `outcome` leaves done, to resume it later.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) {
    /// use runalloy_embedded::OffboardProgress;
    ///
    /// let first = client.offboard_user("u-1").await;
    /// if !first.is_offboarded() {
    ///     let progress = OffboardProgress::of(&first);
    ///     let second = client.resume_offboard_user("u-1", progress).await;
    /// }
    /// # }
    /// ```
    pub fn of(outcome: &OffboardOutcome) -> Self {
        Self {
            workflows: outcome.workflows.is_done(),
            logs: outcome.erase.logs.is_done(),
        }
    }
}

/// The outcome of offboarding one user, step by step.
///
/// It serialises as the command line's report line does: `userId`,
/// `status` (`offboarded`, `unconfirmed` or `failed`), `workflows`,
/// `credentialsListed`, `credentials` (each `credentialId` with its
/// `outcome`), `logs`, `user`, and an `error` when one stopped it.
#[derive(Debug)]
#[non_exhaustive]
pub struct OffboardOutcome {
    /// The id as given.
    pub user_id: String,
    /// `PUT /users/{userId}/deactivate-workflows`: [`PartOutcome::Done`] when
    /// the API turned them off.
    pub workflows: PartOutcome,
    /// `GET /credentials/users/{userId}`: [`PartOutcome::Done`] when the
    /// list was read.
    pub credentials_listed: PartOutcome,
    /// Each credential found, with what happened to it, up to the first that
    /// failed (one listed without an id fails, with an empty id).
    pub credentials: Vec<(String, PartOutcome)>,
    /// The erase that follows (logs, then the user), if every step before it
    /// was done; otherwise both of its parts are [`PartOutcome::Skipped`].
    pub erase: EraseOutcome,
}

impl OffboardOutcome {
    /// Whether every step is done: workflows off, every credential deleted,
    /// logs and user gone.
    pub fn is_offboarded(&self) -> bool {
        self.workflows.is_done()
            && self.credentials_listed.is_done()
            && self.credentials.iter().all(|(_, c)| c.is_done())
            && self.erase.is_erased()
    }

    /// Done (offboarded) when every step is done; unconfirmed when what
    /// stopped it was a success status that confirmed nothing; otherwise
    /// failed.
    pub fn status(&self) -> OutcomeStatus {
        crate::workflows::erase::status_of(
            [&self.workflows, &self.credentials_listed]
                .into_iter()
                .chain(self.credentials.iter().map(|(_, c)| c))
                .chain([&self.erase.logs, &self.erase.user]),
        )
    }

    /// The error that stopped the offboarding, if any.
    pub fn error(&self) -> Option<&Error> {
        [&self.workflows, &self.credentials_listed]
            .into_iter()
            .chain(self.credentials.iter().map(|(_, c)| c))
            .find_map(PartOutcome::error)
            .or_else(|| self.erase.error())
    }
}

impl serde::Serialize for OffboardOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Credential<'a> {
            credential_id: &'a str,
            outcome: &'a PartOutcome,
        }
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            user_id: &'a str,
            status: &'static str,
            workflows: &'a PartOutcome,
            credentials_listed: &'a PartOutcome,
            credentials: Vec<Credential<'a>>,
            logs: &'a PartOutcome,
            user: &'a PartOutcome,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<ErrorSummary>,
        }
        Line {
            user_id: &self.user_id,
            status: self.status().as_offboard_str(),
            workflows: &self.workflows,
            credentials_listed: &self.credentials_listed,
            credentials: self
                .credentials
                .iter()
                .map(|(credential_id, outcome)| Credential {
                    credential_id,
                    outcome,
                })
                .collect(),
            logs: &self.erase.logs,
            user: &self.erase.user,
            error: ErrorSummary::of(self.error()),
        }
        .serialize(serializer)
    }
}

impl Client {
    /// Offboards one user, in order: deactivates all its workflows, deletes
    /// each of its credentials, deletes its logs, then deletes the user.
    /// Each step runs only if the one before is done (or the API's own 404
    /// says its object is already gone), so a failure leaves the user in
    /// place for a retry, with nothing orphaned.
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
    /// fake.insert_credential(&id, "shopify");
    /// let outcome = client.offboard_user(&id).await;
    /// assert!(outcome.is_offboarded(), "{:?}", outcome.error());
    /// assert_eq!(outcome.credentials.len(), 1);
    /// assert!(fake.users().is_empty() && fake.credentials().is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn offboard_user(&self, user_id: &str) -> OffboardOutcome {
        self.resume_offboard_user(user_id, OffboardProgress::default())
            .await
    }

    /// [`Client::offboard_user`], leaving out the steps that `progress`
    /// records as done by an earlier run. The credential list is read again
    /// and whatever it still holds is deleted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::{Client, OffboardProgress, PartOutcome};
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let id = fake.insert_user("jane@example.com", None);
    /// let progress = OffboardProgress::default().workflows_done(true);
    /// let outcome = client.resume_offboard_user(&id, progress).await;
    /// assert!(matches!(outcome.workflows, PartOutcome::DoneEarlier));
    /// assert!(outcome.is_offboarded());
    /// # Ok(()) }
    /// ```
    pub async fn resume_offboard_user(
        &self,
        user_id: &str,
        progress: OffboardProgress,
    ) -> OffboardOutcome {
        let workflows = if progress.workflows {
            PartOutcome::DoneEarlier
        } else {
            let result = self.deactivate_user_workflows(user_id).await;
            PartOutcome::judged(self, result, PartOutcome::Done).await
        };
        let mut credentials = Vec::new();
        let credentials_listed = if workflows.is_done() {
            match self.list_user_credentials(user_id).await {
                Ok(listed) => {
                    for credential in listed.data {
                        // A credential listed without its id cannot be
                        // deleted, so the user cannot count as offboarded.
                        let (id, outcome) = match credential.credential_id {
                            Some(id) => {
                                let deleted = self.delete_credential(user_id, &id).await;
                                let outcome =
                                    PartOutcome::judged(self, deleted, PartOutcome::Deleted).await;
                                (id, outcome)
                            }
                            None => (
                                String::new(),
                                PartOutcome::Failed(Error::NotTheApi(
                                    "GET /credentials/users/{userId} listed a credential \
                                     without a credentialId, so it cannot be deleted"
                                        .to_owned(),
                                )),
                            ),
                        };
                        let failed = !outcome.is_done();
                        credentials.push((id, outcome));
                        if failed {
                            break;
                        }
                    }
                    PartOutcome::Done
                }
                Err(e) => PartOutcome::judged::<()>(self, Err(e), PartOutcome::Done).await,
            }
        } else {
            PartOutcome::Skipped
        };
        let ready = credentials_listed.is_done() && credentials.iter().all(|(_, c)| c.is_done());
        let erase = if ready && progress.logs {
            EraseOutcome {
                user_id: user_id.to_owned(),
                logs: PartOutcome::DoneEarlier,
                user: PartOutcome::judged(
                    self,
                    self.delete_user(user_id).await,
                    PartOutcome::Deleted,
                )
                .await,
            }
        } else if ready {
            self.erase_user(user_id).await
        } else {
            EraseOutcome {
                user_id: user_id.to_owned(),
                logs: PartOutcome::Skipped,
                user: PartOutcome::Skipped,
            }
        };
        OffboardOutcome {
            user_id: user_id.to_owned(),
            workflows,
            credentials_listed,
            credentials,
            erase,
        }
    }
}
