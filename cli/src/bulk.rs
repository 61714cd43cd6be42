//! `users erase` and `users offboard`: bulk runs, resumable through their
//! report.
//!
//! The input is read once and checked in full before anything is sent; the
//! target is proved to be Alloy's API before the first DELETE; every id read
//! ends with one outcome (done, partly done, failed, skipped as done in the
//! report, or not attempted because the run stopped), and the counts are
//! checked.

use crate::args::BulkArgs;
use crate::ids::{Ids, read_ids};
use crate::job::{Finished, Job, Plans};
use crate::report::{self, Previous, Target};
use crate::signals::{GRACE, watch_signals};
use crate::summary::{Counts, Stop, summarise};
use futures::{FutureExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runalloy_embedded::{API_VERSION, Client, FlowStats, escape_controls};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Where report lines go, and what an earlier run left there.
struct OpenReport {
    sink: Box<dyn Write>,
    /// What the report holds for each id.
    previous: Previous,
    /// Whether the target line must be written before the first id.
    needs_target: bool,
}

/// Opens the report (stdout without `--report`) and checks its target. A
/// dry run only reads it, if it exists, and writes to stdout.
fn open_report(args: &BulkArgs, target: &Target, ids: &Ids) -> Result<OpenReport, String> {
    let Some(path) = args.report.as_deref() else {
        return Ok(OpenReport {
            sink: Box::new(std::io::stdout()),
            previous: Previous::new(ids),
            needs_target: true,
        });
    };
    report::check_path(path)?;
    let (sink, previous): (Box<dyn Write>, _) = if args.dry_run {
        let previous = report::read(path, ids)
            .map_err(|e| format!("cannot read the report {}: {e}", path.display()))?;
        (Box::new(std::io::stdout()), previous)
    } else {
        let (file, previous) = report::open(path, ids)
            .map_err(|e| format!("cannot open the report {}: {e}", path.display()))?;
        (Box::new(file), previous)
    };
    let mismatch = if previous.untargeted {
        Some("the report does not record the base URL and key it was written against".to_owned())
    } else {
        previous.targets.iter().find_map(|t| t.mismatch(target))
    };
    if let Some(why) = mismatch {
        if !args.ignore_report_target {
            return Err(format!(
                "{why}, so the ids it records as done cannot be trusted for this run; \
                 use another report, or --ignore-report-target to skip them anyway"
            ));
        }
        tracing::warn!(
            "{why}; skipping the ids it records as done, as --ignore-report-target says"
        );
    }
    Ok(OpenReport {
        needs_target: previous.targets.last() != Some(target),
        sink,
        previous,
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

pub fn progress_bar(total: u64, done: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = format!(
        "{{bar:40}} {{pos}}/{{len}} ids {done} or failed, {{per_sec}}, eta {{eta}} {{msg}}"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

pub async fn run(client: &Client, job: Job, args: &BulkArgs) -> ExitCode {
    let Planned {
        ids,
        plans,
        target,
        mut sink,
        needs_target,
        todo,
        skipped,
    } = match plan(client, job, args) {
        Ok(planned) => planned,
        Err(why) => return crate::exit::invalid_input(why),
    };
    if todo > 0
        && let Err(e) = client.verify_api_access().await
    {
        eprintln!(
            "error: {} did not answer as Alloy's API with this key, so nothing was deleted: {e}",
            client.base_url()
        );
        return ExitCode::from(1);
    }
    if args.dry_run {
        return crate::dry_run::run(client, job, args, &ids, &plans, skipped).await;
    }
    if needs_target && let Err(e) = report::write(&mut *sink, target.to_json().as_bytes()) {
        eprintln!("error: cannot write the report: {e}; nothing was deleted");
        return ExitCode::from(1);
    }

    let started = Instant::now();
    let watch = Watch::start(client, todo, job.done_status());
    let taken = Arc::new(AtomicU64::new(0));
    let mut outcomes = {
        let (stopping, taken) = (watch.stopping.clone(), taken.clone());
        let verify = args.verify;
        futures::stream::iter(plans.todo())
            .take_while(move |_| {
                let go = !stopping.load(Ordering::SeqCst);
                if go {
                    taken.fetch_add(1, Ordering::SeqCst);
                }
                futures::future::ready(go)
            })
            .map({
                let ids = &ids;
                move |(i, plan)| job.run(client, i, ids.get(i).to_owned(), plan, verify)
            })
            .buffer_unordered(usize::from(args.concurrency))
    };
    let recorded = record_outcomes(&mut outcomes, &watch, &plans, &mut *sink).await;
    drop(outcomes);
    let stopped_by_signal = watch.finish();
    let Ok((mut counts, refused)) = recorded else {
        return ExitCode::from(1);
    };

    // `stopping` is set by the first signal or by a refused key.
    let stop = match refused {
        Some(why) => Some(Stop::Refused(why)),
        None if stopped_by_signal => Some(Stop::Interrupted),
        None => None,
    };
    counts.skipped = skipped;
    counts.todo = todo;
    counts.taken = taken.load(Ordering::SeqCst);
    summarise(
        job,
        args.verify,
        &ids,
        &counts,
        stop,
        started,
        &client.flow_stats(),
    )
}

/// What a run is to do, before anything is sent.
struct Planned {
    /// Every id read, sealed: outcomes carry their position.
    ids: Ids,
    /// By position in `ids`: what is left for each id (`None` if the report
    /// records it done), and which have their outcome, so that each
    /// distinct id is counted once and only once. A few bytes per id: the
    /// ids themselves are copied only while in flight.
    plans: Plans,
    target: Target,
    sink: Box<dyn Write>,
    needs_target: bool,
    /// The ids with something to do, and those the report records as done.
    todo: u64,
    skipped: u64,
}

/// Reads and checks the ids, opens the report, and plans each id from what
/// the report records.
fn plan(client: &Client, job: Job, args: &BulkArgs) -> Result<Planned, String> {
    let mut ids = read_ids(args.ids.from_file.as_deref(), &args.ids.user_ids)?;
    let target = Target {
        base_url: client.base_url().to_owned(),
        api_version: API_VERSION.to_owned(),
        key_fingerprint: client.key_fingerprint().to_owned(),
    };
    let OpenReport {
        sink,
        previous,
        needs_target,
    } = open_report(args, &target, &ids)?;
    ids.seal();
    let plans =
        Plans::new((0..ids.len()).map(|i| job.plan(previous.recorded(i).as_ref(), args.verify)));
    let todo = plans.count() as u64;
    Ok(Planned {
        skipped: ids.len() as u64 - todo,
        ids,
        plans,
        target,
        sink,
        needs_target,
        todo,
    })
}

/// What runs beside the ids: the progress bar and its flow-control message,
/// and the signal watcher that asks the run to stop.
struct Watch {
    bar: ProgressBar,
    /// A hidden bar (stderr is not a terminal) still takes a lock per
    /// call; it has no one to show the count to.
    hidden: bool,
    /// Set by the first signal, or by a refused key: no new ids are taken.
    stopping: Arc<AtomicBool>,
    /// Told by the first signal: the ids in flight get a grace period.
    interrupt: Arc<Notify>,
    signals: tokio::task::JoinHandle<()>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Watch {
    fn start(client: &Client, todo: u64, done_status: &str) -> Self {
        let bar = progress_bar(todo, done_status);
        let hidden = bar.is_hidden();
        let stopping = Arc::new(AtomicBool::new(false));
        let interrupt = Arc::new(Notify::new());
        let signals = tokio::spawn(watch_signals(stopping.clone(), interrupt.clone()));
        let ticker = (!hidden).then(|| {
            let (bar, client) = (bar.clone(), client.clone());
            tokio::spawn(async move {
                loop {
                    bar.set_message(flow_message(&client.flow_stats()));
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        });
        Self {
            bar,
            hidden,
            stopping,
            interrupt,
            signals,
            ticker,
        }
    }

    /// Stops watching and clears the bar; whether the run was asked to
    /// stop.
    fn finish(self) -> bool {
        self.signals.abort();
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        self.bar.finish_and_clear();
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Writes every outcome to the report as it comes, counting it, until the
/// ids run out or the grace period after a signal ends; the counts and the
/// first refusal of the key. `Err` when the report cannot be written (said
/// on stderr): the run stops there.
async fn record_outcomes(
    outcomes: &mut (impl futures::Stream<Item = Finished> + Unpin),
    watch: &Watch,
    plans: &Plans,
    sink: &mut dyn Write,
) -> Result<(Counts, Option<String>), ()> {
    let mut counts = Counts::default();
    let mut refused: Option<String> = None;
    let mut batch = Vec::new();
    let mut grace_ends: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            next = outcomes.next() => next,
            () = watch.interrupt.notified(), if grace_ends.is_none() => {
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
        while let Some(Finished {
            position,
            line,
            class,
            refused: refusal,
        }) = next
        {
            counts.add(position, class, plans);
            if !line.status.is_done() {
                watch.bar.suspend(|| {
                    let error = line.error.as_ref();
                    let request_id = error
                        .and_then(|e| e.request_id.as_deref())
                        .map(|id| format!(" (request id {})", escape_controls(id)))
                        .unwrap_or_default();
                    eprintln!(
                        "{}: {}: {}{request_id}",
                        line.status.as_str(),
                        escape_controls(&line.user_id),
                        error.map_or("", |e| e.message.as_str())
                    )
                });
                if refusal.is_some() && refused.is_none() {
                    refused = refusal;
                    watch.stopping.store(true, Ordering::SeqCst);
                }
            }
            line.append_json(&mut batch);
            if !watch.hidden {
                watch.bar.inc(1);
            }
            next = outcomes.next().now_or_never().flatten();
        }
        if let Err(e) = report::write(sink, &batch) {
            watch
                .bar
                .suspend(|| eprintln!("error: cannot write the report: {e}; stopping"));
            return Err(());
        }
        batch.clear();
    }
    Ok((counts, refused))
}
