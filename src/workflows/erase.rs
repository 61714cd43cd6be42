//! The GDPR erase workflow: a user's logs, then the user.

use crate::{Client, Error};
use futures::{Stream, StreamExt};

/// What happened to one part (the logs or the user) of an erase, or to one
/// step of an offboarding.
#[derive(Debug)]
#[non_exhaustive]
pub enum PartOutcome {
    /// The API deleted it.
    Deleted,
    /// The API did it (a step that changes rather than deletes, such as
    /// deactivating workflows).
    Done,
    /// The API answered 404 with its own "not found" message, from a base
    /// URL proven to be the API (see [`Client::confirm_gone`]): it was
    /// already gone.
    AlreadyGone,
    /// Not sent: an earlier run recorded it as done (see
    /// [`OffboardProgress`](crate::OffboardProgress)).
    DoneEarlier,
    /// Not attempted, because an earlier step failed.
    Skipped,
    /// The API answered with a success status but did not confirm it (see
    /// [`Error::Unconfirmed`]): whether it happened is unknown, so it does
    /// not count as done.
    Unconfirmed(Error),
    /// The API or the network refused, after the retries the policy allows.
    Failed(Error),
}

/// What happened to one part, without the error: a [`PartOutcome`]'s
/// status, serialised as `deleted`, `done`, `already_gone`, `done_earlier`,
/// `skipped`, `unconfirmed` or `failed`.
///
/// ```
/// use runalloy_embedded::PartStatus;
///
/// assert_eq!(serde_json::to_string(&PartStatus::AlreadyGone).unwrap(), r#""already_gone""#);
/// assert_eq!(PartStatus::AlreadyGone.as_str(), "already_gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PartStatus {
    /// See [`PartOutcome::Deleted`].
    Deleted,
    /// See [`PartOutcome::Done`].
    Done,
    /// See [`PartOutcome::AlreadyGone`].
    AlreadyGone,
    /// See [`PartOutcome::DoneEarlier`].
    DoneEarlier,
    /// See [`PartOutcome::Skipped`].
    Skipped,
    /// See [`PartOutcome::Unconfirmed`].
    Unconfirmed,
    /// See [`PartOutcome::Failed`].
    Failed,
}

impl PartStatus {
    /// The status as it is serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            PartStatus::Deleted => "deleted",
            PartStatus::Done => "done",
            PartStatus::AlreadyGone => "already_gone",
            PartStatus::DoneEarlier => "done_earlier",
            PartStatus::Skipped => "skipped",
            PartStatus::Unconfirmed => "unconfirmed",
            PartStatus::Failed => "failed",
        }
    }

    /// Whether the step is done: deleted, done, already gone, or done by
    /// an earlier run.
    ///
    /// ```
    /// use runalloy_embedded::PartStatus;
    ///
    /// assert!(PartStatus::AlreadyGone.is_done());
    /// assert!(!PartStatus::Skipped.is_done());
    /// ```
    pub fn is_done(self) -> bool {
        matches!(
            self,
            PartStatus::Deleted
                | PartStatus::Done
                | PartStatus::AlreadyGone
                | PartStatus::DoneEarlier
        )
    }
}

/// The whole of an erase or an offboarding: done, unconfirmed (a success
/// status that confirmed nothing stopped it) or failed. Serialised as
/// `erased` (`offboarded` for an offboarding), `unconfirmed` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OutcomeStatus {
    /// Every step is done.
    Done,
    /// What stopped it was a success status that confirmed nothing.
    Unconfirmed,
    /// A step failed.
    Failed,
}

impl OutcomeStatus {
    /// `erased`, `unconfirmed` or `failed`, as an erase reports it.
    pub fn as_erase_str(self) -> &'static str {
        self.named("erased")
    }

    /// `offboarded`, `unconfirmed` or `failed`, as an offboarding reports
    /// it.
    pub fn as_offboard_str(self) -> &'static str {
        self.named("offboarded")
    }

    fn named(self, done: &'static str) -> &'static str {
        match self {
            OutcomeStatus::Done => done,
            OutcomeStatus::Unconfirmed => "unconfirmed",
            OutcomeStatus::Failed => "failed",
        }
    }
}

/// An error as an outcome serialises it, and as the command line's report
/// lines write it: what `Display` says (no path, query value or body), the
/// HTTP status when a response came, and the requests sent. Serialised as
/// `{"message": ..., "httpStatus": ..., "attempts": ...}`.
///
/// ```
/// use runalloy_embedded::{Error, ErrorSummary};
///
/// let summary = ErrorSummary::new(&Error::StillReadable);
/// assert_eq!(summary.attempts, 0);
/// let json = serde_json::to_value(&summary).unwrap();
/// assert!(json["message"].as_str().unwrap().starts_with("the user is still readable"));
/// assert!(json.get("httpStatus").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorSummary {
    /// What the error's `Display` says.
    pub message: String,
    /// The HTTP status, when a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Requests sent.
    #[serde(default)]
    pub attempts: u32,
    /// The request id the API or a gateway sent, if any
    /// ([`Error::request_id`]): the one to quote to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorSummary {
    /// The summary of `error`.
    pub fn new(error: &Error) -> Self {
        Self {
            message: error.to_string(),
            http_status: error.status().map(|s| s.as_u16()),
            attempts: error.attempts(),
            request_id: error.request_id().map(str::to_owned),
        }
    }

    pub(crate) fn of(error: Option<&Error>) -> Option<Self> {
        error.map(Self::new)
    }
}

impl serde::Serialize for PartOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.status().serialize(serializer)
    }
}

impl PartOutcome {
    /// What happened, without the error.
    pub fn status(&self) -> PartStatus {
        match self {
            PartOutcome::Deleted => PartStatus::Deleted,
            PartOutcome::Done => PartStatus::Done,
            PartOutcome::AlreadyGone => PartStatus::AlreadyGone,
            PartOutcome::DoneEarlier => PartStatus::DoneEarlier,
            PartOutcome::Skipped => PartStatus::Skipped,
            PartOutcome::Unconfirmed(_) => PartStatus::Unconfirmed,
            PartOutcome::Failed(_) => PartStatus::Failed,
        }
    }

    /// `deleted`, `done`, `already_gone`, `done_earlier`, `skipped`,
    /// `unconfirmed` or `failed`.
    pub fn as_str(&self) -> &'static str {
        self.status().as_str()
    }

    /// Whether it is done: deleted, done, already gone, or done by an
    /// earlier run.
    pub fn is_done(&self) -> bool {
        self.status().is_done()
    }

    /// The error, if it failed or was not confirmed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            PartOutcome::Failed(e) | PartOutcome::Unconfirmed(e) => Some(e),
            _ => None,
        }
    }

    /// What `result` of a step means: `success` when it succeeded;
    /// [`PartOutcome::AlreadyGone`] only for a 404 that
    /// [`Client::confirm_gone`] accepts; unconfirmed or failed otherwise.
    pub(crate) async fn judged<T>(
        client: &Client,
        result: Result<T, Error>,
        success: Self,
    ) -> Self {
        match result {
            Ok(_) => success,
            Err(e) => match client.confirm_gone(e).await {
                Ok(()) => PartOutcome::AlreadyGone,
                Err(e) if e.is_unconfirmed() => PartOutcome::Unconfirmed(e),
                Err(e) => PartOutcome::Failed(e),
            },
        }
    }
}

/// The outcome of erasing one user.
///
/// It serialises as the command line's report line does, so that a service
/// can answer "what happened to this erasure" with it:
/// `{"userId": "u-1", "status": "erased", "logs": "deleted", "user": "deleted"}`,
/// with an `error` (`message`, `httpStatus`, `attempts`) when one stopped
/// it.
#[derive(Debug)]
#[non_exhaustive]
pub struct EraseOutcome {
    /// The id as given.
    pub user_id: String,
    /// What happened to the user's logs.
    pub logs: PartOutcome,
    /// What happened to the user.
    pub user: PartOutcome,
}

impl EraseOutcome {
    /// Whether both the logs and the user are gone.
    pub fn is_erased(&self) -> bool {
        self.logs.is_done() && self.user.is_done()
    }

    /// The error that stopped the erase, if any.
    pub fn error(&self) -> Option<&Error> {
        self.logs.error().or_else(|| self.user.error())
    }

    /// Done (erased); unconfirmed when a delete answered with a success
    /// status but did not confirm it; otherwise failed.
    pub fn status(&self) -> OutcomeStatus {
        status_of([&self.logs, &self.user])
    }
}

impl serde::Serialize for EraseOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Line<'a> {
            user_id: &'a str,
            status: &'static str,
            logs: &'a PartOutcome,
            user: &'a PartOutcome,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<ErrorSummary>,
        }
        Line {
            user_id: &self.user_id,
            status: self.status().as_erase_str(),
            logs: &self.logs,
            user: &self.user,
            error: ErrorSummary::of(self.error()),
        }
        .serialize(serializer)
    }
}

/// Done if every step is done; else unconfirmed if what stopped it was a
/// success status that confirmed nothing; else failed.
pub(crate) fn status_of<'a>(steps: impl IntoIterator<Item = &'a PartOutcome>) -> OutcomeStatus {
    let mut status = OutcomeStatus::Done;
    for step in steps {
        match step {
            PartOutcome::Failed(_) => return OutcomeStatus::Failed,
            PartOutcome::Unconfirmed(_) => status = OutcomeStatus::Unconfirmed,
            PartOutcome::Skipped if status == OutcomeStatus::Done => status = OutcomeStatus::Failed,
            _ => {}
        }
    }
    status
}

impl Client {
    /// Erases one user: deletes its logs, then the user. A 404 on either
    /// means it is already gone, which counts as erased, but only when the
    /// body is the API's own "not found" and the base URL is proven to be
    /// the API ([`Client::confirm_gone`]); any other 404 is a failure (a
    /// base URL that is not the API: [`Error::NotTheApi`]). The user is not
    /// deleted if deleting its logs failed, so that no logs are orphaned.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) {
    /// let outcome = client.erase_user("6323d7c9122ae69742a5d0a2").await;
    /// assert!(outcome.is_erased(), "{:?}", outcome.error());
    /// # }
    /// ```
    pub async fn erase_user(&self, user_id: &str) -> EraseOutcome {
        let logs = PartOutcome::judged(
            self,
            self.delete_user_logs(user_id).await,
            PartOutcome::Deleted,
        )
        .await;
        let user = if logs.is_done() {
            PartOutcome::judged(self, self.delete_user(user_id).await, PartOutcome::Deleted).await
        } else {
            PartOutcome::Skipped
        };
        EraseOutcome {
            user_id: user_id.to_owned(),
            logs,
            user,
        }
    }

    /// Erases every id of `ids`, at most `concurrency` at a time, over the
    /// client's one connection pool. Yields one outcome per id, in the order
    /// they finish. Ids are pulled lazily, so memory stays flat however many
    /// there are; a failed id never stops the others.
    ///
    /// Under a rate limit, build the client with
    /// [`RetryPolicy::retry_throttled_until_deadline`](crate::RetryPolicy::retry_throttled_until_deadline),
    /// so that a throttled delete waits for its turn rather than use up its
    /// attempts.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) {
    /// use futures::StreamExt;
    ///
    /// let ids = futures::stream::iter(vec!["a".to_string(), "b".to_string()]);
    /// let mut outcomes = client.erase_users(ids, 16);
    /// while let Some(outcome) = outcomes.next().await {
    ///     println!("{} erased: {}", outcome.user_id, outcome.is_erased());
    /// }
    /// # }
    /// ```
    pub fn erase_users<'a, S>(
        &'a self,
        ids: S,
        concurrency: usize,
    ) -> impl Stream<Item = EraseOutcome> + 'a
    where
        S: Stream<Item = String> + 'a,
    {
        ids.map(move |id| async move { self.erase_user(&id).await })
            .buffer_unordered(concurrency.max(1))
    }

    /// [`Client::erase_users`] for ids in an iterator, such as a `Vec` or
    /// the lines of a file.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) {
    /// use futures::StreamExt;
    ///
    /// let erased = client
    ///     .erase_users_from_iter(["u-1", "u-2", "u-3"], 8)
    ///     .filter(|o| futures::future::ready(o.is_erased()))
    ///     .count()
    ///     .await;
    /// # }
    /// ```
    pub fn erase_users_from_iter<'a, I>(
        &'a self,
        ids: I,
        concurrency: usize,
    ) -> impl Stream<Item = EraseOutcome> + 'a
    where
        I: IntoIterator + 'a,
        I::Item: Into<String>,
    {
        self.erase_users(futures::stream::iter(ids).map(Into::into), concurrency)
    }
}

#[cfg(test)]
mod tests {
    use super::{OutcomeStatus, PartOutcome, status_of};
    use crate::Error;

    fn failed() -> PartOutcome {
        PartOutcome::Failed(Error::StillReadable)
    }

    fn unconfirmed() -> PartOutcome {
        PartOutcome::Unconfirmed(Error::InvalidInput("x".into()))
    }

    /// Done only when every step is; a failure anywhere is failed; a
    /// success status that confirmed nothing is unconfirmed unless a step
    /// failed; a step skipped after nothing that failed is failed, never
    /// done.
    #[test]
    fn the_whole_is_done_only_when_every_step_is() {
        use PartOutcome::{AlreadyGone, Deleted, Done, DoneEarlier, Skipped};
        let table: Vec<(Vec<PartOutcome>, OutcomeStatus)> = vec![
            (vec![Deleted, Deleted], OutcomeStatus::Done),
            (vec![Done, AlreadyGone, DoneEarlier], OutcomeStatus::Done),
            (vec![], OutcomeStatus::Done),
            (vec![Deleted, Skipped], OutcomeStatus::Failed),
            (vec![Skipped], OutcomeStatus::Failed),
            (vec![Deleted, failed()], OutcomeStatus::Failed),
            (vec![failed(), Skipped], OutcomeStatus::Failed),
            (vec![unconfirmed(), Skipped], OutcomeStatus::Unconfirmed),
            (vec![Deleted, unconfirmed()], OutcomeStatus::Unconfirmed),
            (vec![unconfirmed(), failed()], OutcomeStatus::Failed),
        ];
        for (steps, expected) in table {
            let shown = format!("{steps:?}");
            assert_eq!(status_of(&steps), expected, "{shown}");
        }
    }
}
