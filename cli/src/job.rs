//! What a bulk run does with one id: the job (erase or offboard), what the
//! report leaves to do for the id, and the outcome as a report line and a
//! class to count.

use crate::report::{Line, Recorded, Step};
use runalloy_embedded::{Client, OffboardProgress, OutcomeStatus, PartStatus};
use std::cell::Cell;

/// The work of a bulk run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `users erase`: logs, then the user.
    Erase,
    /// `users offboard`: workflows, credentials, logs, then the user.
    Offboard,
}

impl Job {
    /// The command's verb: `erase` or `offboard`.
    pub fn verb(self) -> &'static str {
        match self {
            Job::Erase => "erase",
            Job::Offboard => "offboard",
        }
    }
}

/// What is left to do for one id.
#[derive(Debug, Clone, Copy)]
pub enum Plan {
    /// Every step (from the step the report says it stopped at, for an
    /// offboarding).
    Steps(OffboardProgress),
    /// Only the read-back of `--verify`: the report records it done.
    VerifyOnly,
}

/// What is left for each id of a run, by position, in one byte each: the
/// plan, and whether its outcome has come (a `Cell`, so that outcomes are
/// marked while the ids to do are still being taken).
pub struct Plans(Vec<Cell<u8>>);

const TODO: u8 = 1;
const VERIFY_ONLY: u8 = 1 << 1;
const WORKFLOWS_DONE: u8 = 1 << 2;
const LOGS_DONE: u8 = 1 << 3;
const ANSWERED: u8 = 1 << 7;

impl Plans {
    pub fn new(plans: impl Iterator<Item = Option<Plan>>) -> Self {
        let byte = |plan: Option<Plan>| match plan {
            None => 0,
            Some(Plan::VerifyOnly) => TODO | VERIFY_ONLY,
            Some(Plan::Steps(done)) => {
                let workflows = if done.workflows { WORKFLOWS_DONE } else { 0 };
                let logs = if done.logs { LOGS_DONE } else { 0 };
                TODO | workflows | logs
            }
        };
        Self(plans.map(|p| Cell::new(byte(p))).collect())
    }

    /// The ids with something to do.
    pub fn count(&self) -> usize {
        self.0.iter().filter(|b| b.get() & TODO != 0).count()
    }

    /// The positions of the ids with something to do, and what.
    pub fn todo(&self) -> impl Iterator<Item = (usize, Plan)> + '_ {
        self.0.iter().enumerate().filter_map(|(i, byte)| {
            let byte = byte.get();
            (byte & TODO != 0).then(|| {
                let plan = if byte & VERIFY_ONLY != 0 {
                    Plan::VerifyOnly
                } else {
                    Plan::Steps(
                        OffboardProgress::default()
                            .workflows_done(byte & WORKFLOWS_DONE != 0)
                            .logs_done(byte & LOGS_DONE != 0),
                    )
                };
                (i, plan)
            })
        })
    }

    /// Marks the outcome of the id at `position`: false if it had nothing
    /// to do, or already had its outcome.
    pub fn answer(&self, position: usize) -> bool {
        match self.0.get(position) {
            Some(byte) if byte.get() & (TODO | ANSWERED) == TODO => {
                byte.set(byte.get() | ANSWERED);
                true
            }
            _ => false,
        }
    }
}

/// How one id ended, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Deleted,
    AlreadyGone,
    /// Done by an earlier run, and now verified gone.
    VerifiedEarlier,
    /// Some steps done, stopped at this one (offboarding only).
    Partial(&'static str),
    Unconfirmed,
    Failed,
}

/// One id's outcome.
pub struct Finished {
    /// The id's position in the run's ids.
    pub position: usize,
    pub line: Line,
    pub class: Class,
    /// The error, when it was the key's refusal: every other id would be
    /// refused the same way.
    pub refused: Option<String>,
}

impl Job {
    /// `erased` or `offboarded`: the status of an id with every step done.
    pub fn done_status(self) -> &'static str {
        match self {
            Job::Erase => "erased",
            Job::Offboard => "offboarded",
        }
    }

    /// What is left for an id, given its last report line; `None` when it
    /// is done. An offboarding includes an erase, so an erase counts an
    /// offboarded id as done; not the other way round.
    pub fn plan(self, recorded: Option<&Recorded>, verify: bool) -> Option<Plan> {
        let Some(recorded) = recorded else {
            return Some(Plan::Steps(OffboardProgress::default()));
        };
        let done = match self {
            Job::Erase => recorded.erased,
            Job::Offboard => recorded.offboarded,
        };
        match (done, verify && !recorded.verified) {
            (true, true) => Some(Plan::VerifyOnly),
            (true, false) => None,
            (false, _) if self == Job::Offboard => Some(Plan::Steps(recorded.progress)),
            (false, _) => Some(Plan::Steps(OffboardProgress::default())),
        }
    }

    /// Does what `plan` says for `user_id`, then (with `verify`) reads the
    /// user back.
    pub async fn run(
        self,
        client: &Client,
        position: usize,
        user_id: String,
        plan: Plan,
        verify: bool,
    ) -> Finished {
        let (mut line, mut refused) = match (self, plan) {
            (_, Plan::VerifyOnly) => {
                let mut line = Line::new(&user_id, self, OutcomeStatus::Done, None);
                line.logs = PartStatus::DoneEarlier;
                line.user = PartStatus::DoneEarlier;
                if self == Job::Offboard {
                    line.workflows = Some(PartStatus::DoneEarlier);
                }
                (line, None)
            }
            (Job::Erase, Plan::Steps(_)) => {
                let outcome = client.erase_user(&user_id).await;
                (Line::erase(&outcome), refusal(outcome.error()))
            }
            (Job::Offboard, Plan::Steps(progress)) => {
                let outcome = client.resume_offboard_user(&user_id, progress).await;
                (Line::offboard(&outcome), refusal(outcome.error()))
            }
        };
        if verify && line.status.is_done() {
            match client.verify_user_gone(&user_id).await {
                Ok(()) => line.verified = Some(true),
                Err(e) => {
                    line.verified = Some(false);
                    line.status.outcome = OutcomeStatus::Failed;
                    line.stopped_at = Some(Step::Verify);
                    line.set_error(&e);
                    refused = refusal(Some(&e));
                }
            }
        }
        let class = classify(self, &line, matches!(plan, Plan::VerifyOnly));
        Finished {
            position,
            line,
            class,
            refused,
        }
    }
}

fn refusal(error: Option<&runalloy_embedded::Error>) -> Option<String> {
    error
        .filter(|e| e.is_auth_failure())
        .map(ToString::to_string)
}

fn classify(job: Job, line: &Line, verify_only: bool) -> Class {
    if line.status.is_done() {
        return match (verify_only, line.user) {
            (true, _) => Class::VerifiedEarlier,
            (false, PartStatus::AlreadyGone) => Class::AlreadyGone,
            (false, _) => Class::Deleted,
        };
    }
    match line.stopped_at {
        // Every step done, but the user is still readable.
        Some(Step::Verify) => Class::Failed,
        Some(step) if job == Job::Offboard && line.workflows.is_some_and(PartStatus::is_done) => {
            Class::Partial(step.as_str())
        }
        _ if line.status.outcome == OutcomeStatus::Unconfirmed => Class::Unconfirmed,
        _ => Class::Failed,
    }
}
