//! `users erase`: the bulk GDPR erase, resumable through its report.

use crate::args::EraseArgs;
use crate::report;
use futures::{FutureExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runalloy_embedded::{Client, check_user_id};
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;
use tokio::io::AsyncBufReadExt;

/// Why the command could not start; exits 2 with nothing sent.
fn invalid(message: String) -> ExitCode {
    eprintln!("error: invalid input: {message}; nothing was sent");
    ExitCode::from(2)
}

/// Opens the id file, with an error that names it.
fn open_ids(path: &std::path::Path) -> Result<std::fs::File, String> {
    std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The id a line of the id file holds: trimmed, and none for a blank line.
/// Both the check and the erase read lines through this.
fn id_in(line: &str) -> Option<&str> {
    Some(line.trim()).filter(|id| !id.is_empty())
}

/// Checks every id before anything is sent, reading a file as a stream.
/// Returns how many ids there are.
fn check_ids(args: &EraseArgs) -> Result<u64, String> {
    let check = |id: &str, place: &str| {
        check_user_id(id).map_err(|e| match e {
            runalloy_embedded::Error::InvalidInput(why) => format!("{place}: {why}"),
            other => format!("{place}: {other}"),
        })
    };
    match &args.from_file {
        Some(path) => {
            let mut count = 0;
            for (n, line) in BufReader::new(open_ids(path)?).lines().enumerate() {
                let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                if let Some(id) = id_in(&line) {
                    check(id, &format!("{} line {}", path.display(), n + 1))?;
                    count += 1;
                }
            }
            Ok(count)
        }
        None => {
            for id in &args.user_ids {
                check(id, &format!("argument {id:?}"))?;
            }
            Ok(args.user_ids.len() as u64)
        }
    }
}

/// A stream of the ids to erase, read lazily.
fn ids(args: &EraseArgs) -> Result<futures::stream::BoxStream<'static, String>, String> {
    match &args.from_file {
        Some(path) => {
            let file = tokio::fs::File::from_std(open_ids(path)?);
            let lines = tokio::io::BufReader::new(file).lines();
            let stream = futures::stream::unfold(lines, |mut lines| async move {
                match lines.next_line().await {
                    Ok(Some(line)) => Some((line, lines)),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::error!(error = %e, "stopped reading the id file");
                        None
                    }
                }
            })
            .filter_map(|line| futures::future::ready(id_in(&line).map(str::to_owned)));
            Ok(stream.boxed())
        }
        None => Ok(futures::stream::iter(args.user_ids.clone()).boxed()),
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} erased or failed, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

pub async fn run(client: &Client, args: EraseArgs) -> ExitCode {
    let total = match check_ids(&args) {
        Ok(n) => n,
        Err(why) => return invalid(why),
    };
    let done = match args.report.as_deref().map(report::erased_ids).transpose() {
        Ok(done) => done.unwrap_or_default(),
        Err(e) => return invalid(format!("cannot read the report: {e}")),
    };
    let mut sink: Box<dyn Write> = match args.report.as_deref().map(report::open_for_append) {
        Some(Ok(file)) => Box::new(file),
        Some(Err(e)) => return invalid(format!("cannot open the report: {e}")),
        None => Box::new(std::io::stdout()),
    };
    let stream = match ids(&args) {
        Ok(s) => s,
        Err(why) => return invalid(why),
    };

    let started = Instant::now();
    let bar = progress_bar(total);
    let mut skipped = 0u64;
    let todo = stream.filter(|id| {
        let already = done.contains(id);
        if already {
            skipped += 1;
        }
        futures::future::ready(!already)
    });
    let (mut erased, mut failed) = (0u64, 0u64);
    let mut outcomes = client.erase_users(todo, usize::from(args.concurrency));
    let mut batch = String::new();
    while let Some(first) = outcomes.next().await {
        // Take every outcome that is already finished, then write them with
        // one `write`: flushed before waiting for more, so that after a
        // crash the report holds every id that finished.
        let mut next = Some(first);
        while let Some(outcome) = next {
            if outcome.is_erased() {
                erased += 1;
            } else {
                failed += 1;
                bar.suspend(|| {
                    eprintln!(
                        "failed: {}: {}",
                        outcome.user_id,
                        outcome.error().map(ToString::to_string).unwrap_or_default()
                    )
                });
            }
            batch.push_str(&report::Line::new(outcome).to_json());
            bar.inc(1);
            next = outcomes.next().now_or_never().flatten();
        }
        if let Err(e) = sink.write_all(batch.as_bytes()).and_then(|()| sink.flush()) {
            bar.abandon();
            eprintln!("error: cannot write the report: {e}; stopping");
            return ExitCode::from(1);
        }
        batch.clear();
    }
    drop(outcomes);
    bar.finish_and_clear();
    eprintln!(
        "{erased} erased, {failed} failed, {skipped} already erased in the report, of {total} ids in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
