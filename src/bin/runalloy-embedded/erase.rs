//! `users erase`: the bulk GDPR erase, resumable through its report.
//!
//! The input is read once and checked in full before anything is sent; the
//! target is proved to be Alloy's API before the first DELETE; every id read
//! ends with one outcome (erased, failed, skipped as done in the report, or
//! not attempted because the run stopped), and the counts are checked.

use crate::args::EraseArgs;
use crate::ids::{Ids, read_ids};
use crate::report::{self, Target};
use crate::signals::{GRACE, watch_signals};
use futures::{FutureExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runalloy_embedded::{
    API_VERSION, Client, EraseOutcome, FlowStats, PartOutcome, escape_controls,
};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Why the command could not start; exits 2 with nothing sent.
fn invalid(message: String) -> ExitCode {
    eprintln!("error: invalid input: {message}; nothing was sent");
    ExitCode::from(2)
}

/// Where report lines go, and what an earlier run left there.
struct OpenReport {
    sink: Box<dyn Write>,
    /// Ids the report records as erased against this target.
    erased: std::collections::HashSet<String>,
    /// Whether the target line must be written before the first id.
    needs_target: bool,
}

/// Opens the report (stdout without `--report`) and checks its target.
fn open_report(args: &EraseArgs, target: &Target) -> Result<OpenReport, String> {
    let Some(path) = args.report.as_deref() else {
        return Ok(OpenReport {
            sink: Box::new(std::io::stdout()),
            erased: Default::default(),
            needs_target: true,
        });
    };
    report::check_path(path)?;
    let (file, previous) = report::open(path)
        .map_err(|e| format!("cannot open the report {}: {e}", path.display()))?;
    let mismatch = if previous.untargeted {
        Some("the report does not record the base URL and key it was written against".to_owned())
    } else {
        previous.targets.iter().find_map(|t| t.mismatch(target))
    };
    if let Some(why) = mismatch {
        if !args.ignore_report_target {
            return Err(format!(
                "{why}, so its erased ids cannot be trusted for this run; \
                 use another report, or --ignore-report-target to skip them anyway"
            ));
        }
        tracing::warn!("{why}; skipping its erased ids as --ignore-report-target says");
    }
    Ok(OpenReport {
        needs_target: previous.targets.last() != Some(target),
        sink: Box::new(file),
        erased: previous.erased,
    })
}

/// What the bar says about flow control: waiting, paced, or nothing.
fn flow_message(stats: &FlowStats) -> String {
    if stats.holding {
        "- waiting: the API asked to slow down (429)".to_owned()
    } else if let Some(pace) = stats.pace {
        format!("- paced at {pace:.1} req/s after 429s")
    } else {
        String::new()
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {pos}/{len} ids erased or failed, {per_sec}, eta {eta} {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// What the run did, counted as outcomes arrive.
#[derive(Default)]
struct Counts {
    deleted: u64,
    already_gone: u64,
    /// A delete answered with a success status that confirmed nothing.
    unconfirmed: u64,
    failed: u64,
    /// Outcomes for an id that was not sent, or that already had one: a
    /// defect, which fails the run rather than being counted.
    stray: u64,
    /// Ids the report records as erased.
    skipped: u64,
    /// Ids to erase, and how many of them were taken before the run ended.
    todo: u64,
    taken: u64,
}

impl Counts {
    /// Counts `outcome` once, for the id it names, which must be one of
    /// `todo` that has no outcome yet (`answered`, by position in `ids`).
    fn add(&mut self, outcome: &EraseOutcome, ids: &Ids, todo: &[bool], answered: &mut [bool]) {
        match ids.unique.get_index_of(&outcome.user_id) {
            Some(i) if todo[i] && !answered[i] => answered[i] = true,
            _ => {
                self.stray += 1;
                return;
            }
        }
        match (&outcome.user, outcome.status()) {
            (PartOutcome::AlreadyGone, "erased") => self.already_gone += 1,
            (_, "erased") => self.deleted += 1,
            (_, "unconfirmed") => self.unconfirmed += 1,
            _ => self.failed += 1,
        }
    }

    /// Distinct ids with an outcome.
    fn finished(&self) -> u64 {
        self.deleted + self.already_gone + self.unconfirmed + self.failed
    }
}

/// Why the run stopped taking ids before the end.
enum Stop {
    Interrupted,
    Refused(String),
}

pub async fn run(client: &Client, args: EraseArgs) -> ExitCode {
    let ids = match read_ids(&args) {
        Ok(ids) => ids,
        Err(why) => return invalid(why),
    };
    let target = Target {
        base_url: client.base_url().to_owned(),
        api_version: API_VERSION.to_owned(),
        key_fingerprint: client.key_fingerprint().to_owned(),
    };
    let OpenReport {
        mut sink,
        erased: done,
        needs_target,
    } = match open_report(&args, &target) {
        Ok(opened) => opened,
        Err(why) => return invalid(why),
    };
    // By position in `ids`: which ids are to be sent, and which have their
    // outcome, so that each distinct id is counted once and only once.
    let in_todo: Vec<bool> = ids.unique.iter().map(|id| !done.contains(id)).collect();
    let mut answered = vec![false; in_todo.len()];
    let todo: Vec<String> = ids
        .unique
        .iter()
        .zip(&in_todo)
        .filter(|(_, sent)| **sent)
        .map(|(id, _)| id.clone())
        .collect();
    let skipped = ids.unique.len() as u64 - todo.len() as u64;

    if !todo.is_empty()
        && let Err(e) = client.verify_api_access().await
    {
        eprintln!(
            "error: {} did not answer as Alloy's API with this key, so nothing was deleted: {e}",
            client.base_url()
        );
        return ExitCode::from(1);
    }
    if needs_target && let Err(e) = report::write(&mut *sink, &target.to_json()) {
        eprintln!("error: cannot write the report: {e}; nothing was deleted");
        return ExitCode::from(1);
    }

    let started = Instant::now();
    let bar = progress_bar(todo.len() as u64);
    let stopping = Arc::new(AtomicBool::new(false));
    let interrupt = Arc::new(Notify::new());
    let signals = tokio::spawn(watch_signals(stopping.clone(), interrupt.clone()));
    let ticker = (!bar.is_hidden()).then(|| {
        let (bar, client) = (bar.clone(), client.clone());
        tokio::spawn(async move {
            loop {
                bar.set_message(flow_message(&client.flow_stats()));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    });
    let taken = Arc::new(AtomicU64::new(0));
    let stream = {
        let (stopping, taken) = (stopping.clone(), taken.clone());
        futures::stream::iter(todo.iter().cloned()).take_while(move |_| {
            let go = !stopping.load(Ordering::SeqCst);
            if go {
                taken.fetch_add(1, Ordering::SeqCst);
            }
            futures::future::ready(go)
        })
    };
    let mut outcomes = client.erase_users(stream, usize::from(args.concurrency));
    let mut counts = Counts::default();
    let mut refused: Option<String> = None;
    let mut batch = String::new();
    let mut grace_ends: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            next = outcomes.next() => next,
            () = interrupt.notified(), if grace_ends.is_none() => {
                grace_ends = Some(tokio::time::Instant::now() + GRACE);
                continue;
            }
            () = tokio::time::sleep_until(grace_ends.unwrap_or_else(tokio::time::Instant::now)),
                if grace_ends.is_some() => {
                eprintln!("the ids still in flight did not finish in {}s; stopping", GRACE.as_secs());
                break;
            }
        };
        let Some(first) = next else { break };
        // Take every outcome that is already finished, then write them with
        // one `write`: flushed before waiting for more, so that after a
        // crash the report holds every id that finished.
        let mut next = Some(first);
        while let Some(outcome) = next {
            counts.add(&outcome, &ids, &in_todo, &mut answered);
            if !outcome.is_erased() {
                let error = outcome.error();
                bar.suspend(|| {
                    eprintln!(
                        "{}: {}: {}",
                        outcome.status(),
                        escape_controls(&outcome.user_id),
                        error.map(ToString::to_string).unwrap_or_default()
                    )
                });
                if let Some(e) = error.filter(|e| e.is_auth_failure())
                    && refused.is_none()
                {
                    refused = Some(e.to_string());
                    stopping.store(true, Ordering::SeqCst);
                }
            }
            batch.push_str(&report::Line::new(&outcome).to_json());
            bar.inc(1);
            next = outcomes.next().now_or_never().flatten();
        }
        if let Err(e) = report::write(&mut *sink, &batch) {
            bar.abandon();
            eprintln!("error: cannot write the report: {e}; stopping");
            return ExitCode::from(1);
        }
        batch.clear();
    }
    drop(outcomes);
    signals.abort();
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    bar.finish_and_clear();

    // `stopping` is set by the first signal or by a refused key.
    let stop = match refused {
        Some(why) => Some(Stop::Refused(why)),
        None if stopping.load(Ordering::SeqCst) => Some(Stop::Interrupted),
        None => None,
    };
    counts.skipped = skipped;
    counts.todo = todo.len() as u64;
    counts.taken = taken.load(Ordering::SeqCst);
    summarise(&ids, &counts, stop, started, &client.flow_stats())
}

/// Prints the summary, checks that every id has an outcome, and picks the
/// exit code.
fn summarise(
    ids: &Ids,
    counts: &Counts,
    stop: Option<Stop>,
    started: Instant,
    flow: &FlowStats,
) -> ExitCode {
    let (skipped, taken, todo) = (counts.skipped, counts.taken, counts.todo);
    let not_attempted = todo.saturating_sub(taken);
    let unfinished = taken.saturating_sub(counts.finished());
    let mut summary = format!(
        "{} erased ({} deleted, {} already gone), {} unconfirmed, {} failed, \
         {skipped} skipped as erased in the report",
        counts.deleted + counts.already_gone,
        counts.deleted,
        counts.already_gone,
        counts.unconfirmed,
        counts.failed,
    );
    if not_attempted > 0 {
        summary.push_str(&format!(", {not_attempted} not attempted"));
    }
    if unfinished > 0 {
        summary.push_str(&format!(", {unfinished} cut off in flight"));
    }
    summary.push_str(&format!(
        ", of {} ids in {:.1}s",
        ids.unique.len(),
        started.elapsed().as_secs_f64()
    ));
    let duplicates = ids.read - ids.unique.len() as u64;
    if duplicates > 0 {
        summary.push_str(&format!(" ({duplicates} repeated ids erased once)"));
    }
    summary.push_str(&format!(
        "; {} responses were 429, held back {:.1}s in all",
        flow.throttled,
        flow.held_back.as_secs_f64()
    ));
    eprintln!("{summary}");

    // Each distinct id read is skipped, or taken and given exactly one
    // outcome, or (after a stop) not taken: any other tally is a defect,
    // and a run with one must not exit 0.
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
    if !wrong.is_empty() {
        eprintln!("error: the counts do not add up: {}", wrong.join("; "));
        return ExitCode::from(1);
    }
    match stop {
        Some(Stop::Interrupted) => {
            eprintln!("interrupted; run the same command again to erase the rest");
            ExitCode::from(130)
        }
        Some(Stop::Refused(why)) => {
            eprintln!(
                "error: stopped at the first refused key, since every other id would fail the same way: {why}"
            );
            ExitCode::from(1)
        }
        None if counts.failed == 0 && counts.unconfirmed == 0 => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    }
}
