//! `users export`: the GDPR access export, read-only. One JSON line per id,
//! flushed as each user is read, to a new file or standard output.

use crate::args::ExportArgs;
use crate::bulk::progress_bar;
use crate::exit::invalid_input as invalid;
use crate::ids::read_ids;
use crate::signals::{GRACE, watch_signals};
use futures::StreamExt;
use runalloy_embedded::{Client, Error, UserExport};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};
use tokio::sync::Notify;

pub async fn run(client: &Client, args: &ExportArgs) -> ExitCode {
    let ids = match read_ids(args.ids.from_file.as_deref(), &args.ids.user_ids) {
        Ok(ids) => ids,
        Err(why) => return invalid(why),
    };
    if ids.len() > 0
        && let Err(refused) = prove_target(client).await
    {
        return refused;
    }
    let mut sink = match open_output(args) {
        Ok(sink) => sink,
        Err(why) => return invalid(why),
    };

    let started = Instant::now();
    let bar = progress_bar(ids.len() as u64, "read");
    // The same orderly stop as the bulk commands: the first Ctrl-C (or
    // SIGTERM) takes no new ids and lets those in flight finish, for up
    // to the grace period; a second exits at once.
    let stopping = Arc::new(AtomicBool::new(false));
    let interrupt = Arc::new(Notify::new());
    let signals = tokio::spawn(watch_signals(stopping.clone(), interrupt.clone()));
    let mut lines = futures::stream::iter(ids.iter())
        .take_while({
            let stopping = stopping.clone();
            move |_| futures::future::ready(!stopping.load(Ordering::SeqCst))
        })
        .map(|id: &str| async move {
            let result = client.export_user(id).await;
            (id, result)
        })
        .buffer_unordered(usize::from(args.concurrency));
    let (mut exported, mut not_found, mut failed) = (0u64, 0u64, 0u64);
    let mut grace_ends: Option<tokio::time::Instant> = None;
    loop {
        let next = tokio::select! {
            next = lines.next() => next,
            () = interrupt.notified(), if grace_ends.is_none() => {
                grace_ends = Some(tokio::time::Instant::now() + GRACE);
                continue;
            }
            () = tokio::time::sleep_until(grace_ends.unwrap_or_else(tokio::time::Instant::now)),
                if grace_ends.is_some() => {
                bar.suspend(|| eprintln!(
                    "the ids still in flight did not finish in {}s; stopping",
                    GRACE.as_secs()
                ));
                break;
            }
        };
        let Some((id, result)) = next else { break };
        let line = match result {
            Ok(export) => {
                exported += 1;
                exported_line(export)
            }
            Err(e) if user_unknown(&e) => {
                not_found += 1;
                json!({"userId": id, "status": "not_found", "exportedAt": now()})
            }
            Err(e) => {
                failed += 1;
                bar.suspend(|| say_failed(id, &e));
                failed_line(id, &e)
            }
        };
        bar.inc(1);
        if let Err(e) = writeln!(sink, "{line}").and_then(|()| sink.flush()) {
            bar.finish_and_clear();
            signals.abort();
            eprintln!("error: cannot write the export: {e}");
            return ExitCode::from(1);
        }
    }
    drop(lines);
    signals.abort();
    bar.finish_and_clear();
    let counts = Tally {
        exported,
        not_found,
        failed,
        of: ids.len() as u64,
    };
    summarise(client, &counts, started, stopping.load(Ordering::SeqCst))
}

/// Against a wrong base URL every read would get a router's 404, which
/// could pass for the API's "not found": the target is proven first, as an
/// erase does; exits 1 when it is not the API.
async fn prove_target(client: &Client) -> Result<(), ExitCode> {
    client.verify_api_access().await.map_err(|e| {
        eprintln!(
            "error: {} did not answer as Alloy's API with this key, so nothing was exported: {e}",
            client.base_url()
        );
        ExitCode::from(1)
    })
}

/// How many ids ended each way, of how many read.
struct Tally {
    exported: u64,
    not_found: u64,
    failed: u64,
    of: u64,
}

/// Says how the run went, and exits with it: 130 when a signal stopped
/// it, 1 when a read failed, 0 otherwise.
fn summarise(client: &Client, counts: &Tally, started: Instant, stopped: bool) -> ExitCode {
    let Tally {
        exported,
        not_found,
        failed,
        of,
    } = *counts;
    let unread = of - (exported + not_found + failed);
    eprintln!(
        "{exported} exported, {not_found} not found, {failed} failed, of {of} ids in {:.1}s{}{}",
        started.elapsed().as_secs_f64(),
        if stopped {
            format!("; interrupted: {unread} not read; run the command again for them")
        } else {
            String::new()
        },
        crate::summary::limiter_note(&client.flow_stats())
    );
    match (stopped, failed) {
        (true, _) => ExitCode::from(130),
        (false, 0) => ExitCode::SUCCESS,
        (false, _) => ExitCode::from(1),
    }
}

/// Where the lines go: a new file (an export holds personal data, so one
/// that exists is never overwritten), or standard output.
fn open_output(args: &ExportArgs) -> Result<Box<dyn Write>, String> {
    let Some(path) = &args.out else {
        return Ok(Box::new(std::io::stdout()));
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => Ok(Box::new(file)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(format!(
            "{} exists; an export never overwrites a file, choose another",
            path.display()
        )),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// Whether `error` is the API saying it does not know the user: its own 404
/// to `get-a-user`, the first read. A 404 to a later read (the user's logs,
/// say) comes after the user was read, so it is a failed export, never a
/// line telling an access request that the API holds nothing.
fn user_unknown(error: &Error) -> bool {
    matches!(error, Error::NotFound(failure) if failure.operation == "get-a-user")
        && error.is_api_not_found()
}

fn say_failed(id: &str, error: &Error) {
    let request_id = error
        .request_id()
        .map(|rid| format!(" (request id {rid})"))
        .unwrap_or_default();
    eprintln!(
        "failed: {}: {error}{request_id}",
        runalloy_embedded::escape_controls(id)
    );
}

fn exported_line(export: UserExport) -> Value {
    let mut line = serde_json::to_value(export).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut line {
        fields.insert("status".into(), json!("exported"));
        fields.insert("exportedAt".into(), json!(now()));
    }
    line
}

fn failed_line(id: &str, error: &Error) -> Value {
    json!({
        "userId": id,
        "status": "failed",
        "error": error.to_string(),
        "httpStatus": error.status().map(|s| s.as_u16()),
        "exportedAt": now(),
    })
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
