//! The counts of a bulk run, its summary line, and its exit code.

use crate::ids::Ids;
use crate::job::{Class, Job, Plans};
use runalloy_embedded::FlowStats;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

/// What the run did, counted as outcomes arrive.
#[derive(Default)]
pub struct Counts {
    deleted: u64,
    already_gone: u64,
    /// Done by an earlier run, and verified gone by this one.
    verified_earlier: u64,
    /// Offboardings stopped after some steps, by the step they stopped at.
    partial: BTreeMap<&'static str, u64>,
    /// Stopped at the first step by a success status that confirmed
    /// nothing.
    unconfirmed: u64,
    failed: u64,
    /// Outcomes for an id that was not sent, or that already had one: a
    /// defect, which fails the run rather than being counted.
    stray: u64,
    /// Ids the report records as done.
    pub skipped: u64,
    /// Ids to do, and how many of them were taken before the run ended.
    pub todo: u64,
    pub taken: u64,
}

impl Counts {
    /// Counts `class` once, for the id at `position`, which must be one
    /// with a plan and no outcome yet.
    pub fn add(&mut self, position: usize, class: Class, plans: &Plans) {
        if !plans.answer(position) {
            self.stray += 1;
            return;
        }
        match class {
            Class::Deleted => self.deleted += 1,
            Class::AlreadyGone => self.already_gone += 1,
            Class::VerifiedEarlier => self.verified_earlier += 1,
            Class::Partial(step) => *self.partial.entry(step).or_default() += 1,
            Class::Unconfirmed => self.unconfirmed += 1,
            Class::Failed => self.failed += 1,
        }
    }

    fn done(&self) -> u64 {
        self.deleted + self.already_gone + self.verified_earlier
    }

    fn partly_done(&self) -> u64 {
        self.partial.values().sum()
    }

    /// Distinct ids with an outcome.
    fn finished(&self) -> u64 {
        self.done() + self.partly_done() + self.unconfirmed + self.failed
    }

    /// Ids taken that have no outcome (cut off in flight by a stop).
    fn unfinished(&self) -> u64 {
        self.taken.saturating_sub(self.finished())
    }
}

/// Why the run stopped taking ids before the end.
pub enum Stop {
    Interrupted,
    Refused(String),
}

/// Prints the summary, checks that every id has an outcome, and picks the
/// exit code.
pub fn summarise(
    job: Job,
    verify: bool,
    ids: &Ids,
    counts: &Counts,
    stop: Option<Stop>,
    started: Instant,
    flow: &FlowStats,
) -> ExitCode {
    eprintln!("{}", summary_line(job, verify, ids, counts, started, flow));
    if let Err(wrong) = tally(counts, stop.as_ref()) {
        eprintln!("error: the counts do not add up: {wrong}");
        return ExitCode::from(1);
    }
    match stop {
        Some(Stop::Interrupted) => {
            eprintln!("interrupted; run the same command again to finish the rest");
            ExitCode::from(130)
        }
        Some(Stop::Refused(why)) => {
            eprintln!(
                "error: stopped at the first refused key, since every other id would fail the same way: {why}"
            );
            ExitCode::from(1)
        }
        None if counts.done() == counts.finished() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    }
}

/// The one line that says what the run did: each outcome counted, the ids
/// read, the time, and what flow control held back.
fn summary_line(
    job: Job,
    verify: bool,
    ids: &Ids,
    counts: &Counts,
    started: Instant,
    flow: &FlowStats,
) -> String {
    let skipped = counts.skipped;
    let not_attempted = counts.todo.saturating_sub(counts.taken);
    let unfinished = counts.unfinished();
    let done = job.done_status();
    let mut summary = format!(
        "{} {done} ({} deleted, {} already gone",
        counts.done(),
        counts.deleted,
        counts.already_gone,
    );
    if counts.verified_earlier > 0 {
        summary.push_str(&format!(
            ", {} done earlier and verified now",
            counts.verified_earlier
        ));
    }
    summary.push(')');
    if job == Job::Offboard {
        let steps: Vec<String> = counts
            .partial
            .iter()
            .map(|(step, n)| format!("{step}: {n}"))
            .collect();
        summary.push_str(&format!(", {} partly done", counts.partly_done()));
        if !steps.is_empty() {
            summary.push_str(&format!(" (stopped at {})", steps.join(", ")));
        }
    }
    summary.push_str(&format!(
        ", {} unconfirmed, {} failed, {skipped} skipped as {done} in the report",
        counts.unconfirmed, counts.failed,
    ));
    if not_attempted > 0 {
        summary.push_str(&format!(", {not_attempted} not attempted"));
    }
    if unfinished > 0 {
        summary.push_str(&format!(", {unfinished} cut off in flight"));
    }
    summary.push_str(&format!(
        ", of {} ids in {:.1}s",
        ids.len(),
        started.elapsed().as_secs_f64()
    ));
    let duplicates = ids.read - ids.len() as u64;
    if duplicates > 0 {
        summary.push_str(&format!(" ({duplicates} repeated ids {done} once)"));
    }
    if verify {
        summary.push_str(&format!("; {} verified gone", counts.done()));
    }
    summary.push_str(&format!(
        "; {} responses were 429, held back {:.1}s in all",
        flow.throttled,
        flow.held_back.as_secs_f64()
    ));
    summary.push_str(&limiter_note(flow));
    summary
}

/// Each distinct id read is skipped, or taken and given exactly one
/// outcome, or (after a stop) not taken: any other tally is a defect, and a
/// run with one must not exit 0. `Err` says what does not add up.
fn tally(counts: &Counts, stop: Option<&Stop>) -> Result<(), String> {
    let (taken, todo) = (counts.taken, counts.todo);
    let unfinished = counts.unfinished();
    let mut wrong = Vec::new();
    if counts.stray > 0 {
        wrong.push(format!(
            "{} outcomes were for ids not sent or already answered",
            counts.stray
        ));
    }
    if counts.finished() > taken {
        wrong.push(format!(
            "{} ids have outcomes but only {taken} were taken",
            counts.finished()
        ));
    }
    if stop.is_none() && taken != todo {
        wrong.push(format!(
            "only {taken} of {todo} ids were taken from the input"
        ));
    }
    if unfinished > 0 && !matches!(stop, Some(Stop::Interrupted)) {
        wrong.push(format!("{unfinished} ids were taken but have no outcome"));
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

/// Which limiter the run used, and how long it ran alone if the shared
/// one's store failed.
pub fn limiter_note(flow: &runalloy_embedded::FlowStats) -> String {
    match flow.limiter {
        None => "; limiter: this process alone".to_owned(),
        Some(l) if l.fallbacks == 0 => "; limiter: shared through Redis".to_owned(),
        Some(l) => format!(
            "; limiter: shared through Redis, alone {:.1}s after the store failed {} time(s)",
            l.alone.as_secs_f64(),
            l.fallbacks
        ),
    }
}
