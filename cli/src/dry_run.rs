//! `--dry-run`: read what exists for each id and print what a real run
//! would delete, deleting nothing and writing no report.
//!
//! Per id it reads the user (`GET /users/{id}`) and, for an offboarding,
//! the user's credentials, under the same flow control and concurrency as
//! a real run. Each id gets one JSON line on stdout.

use crate::args::BulkArgs;
use crate::ids::Ids;
use crate::job::{Job, Plan, Plans};
use futures::StreamExt;
use runalloy_embedded::{Client, escape_controls};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

/// What a real run would do with one id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DryLine {
    user_id: String,
    dry_run: bool,
    /// `erase`, `offboard`, or `verify` (the report records it done).
    would: &'static str,
    /// `found`, `already_gone`, or `unreadable`.
    user: &'static str,
    /// Offboarding: the ids of the credentials a real run would delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials: Option<Vec<String>>,
    /// The requests a real run would send for this id.
    requests: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn look(client: &Client, job: Job, user_id: String, plan: Plan) -> DryLine {
    let mut line = DryLine {
        would: match plan {
            Plan::VerifyOnly => "verify",
            Plan::Steps(_) => job.verb(),
        },
        user: "found",
        credentials: None,
        requests: 0,
        error: None,
        dry_run: true,
        user_id,
    };
    if let Err(e) = client.get_user(&line.user_id).await {
        // Gone only as the library counts it in a real run: the API's own
        // 404, from a base URL proven to be the API.
        match client.confirm_gone(e).await {
            Ok(()) => line.user = "already_gone",
            Err(e) => {
                line.user = "unreadable";
                line.error = Some(e.to_string());
            }
        }
    }
    let mut credentials = 0;
    if let (Plan::Steps(_), Job::Offboard, "found") = (plan, job, line.user) {
        match client.list_user_credentials(&line.user_id).await {
            Ok(listed) => {
                let ids: Vec<String> = listed
                    .data
                    .into_iter()
                    .map(|c| c.credential_id.unwrap_or_default())
                    .collect();
                credentials = ids.len() as u64;
                line.credentials = Some(ids);
            }
            Err(e) => {
                line.user = "unreadable";
                line.error = Some(format!("its credentials could not be listed: {e}"));
            }
        }
    }
    line.requests = match (plan, job) {
        (Plan::VerifyOnly, _) => 1,
        (Plan::Steps(_), Job::Erase) => 2,
        // Workflows, the list, each credential, logs, the user: less what
        // the report records done.
        (Plan::Steps(done), Job::Offboard) => {
            u64::from(!done.workflows) + 1 + credentials + u64::from(!done.logs) + 1
        }
    };
    line
}

pub async fn run(
    client: &Client,
    job: Job,
    args: &BulkArgs,
    ids: &Ids,
    plans: &Plans,
    skipped: u64,
) -> ExitCode {
    let started = Instant::now();
    let mut lines = futures::stream::iter(plans.todo())
        .map(|(i, plan)| look(client, job, ids.get(i).to_owned(), plan))
        .buffer_unordered(usize::from(args.concurrency));
    let (mut found, mut gone, mut unreadable, mut verify) = (0u64, 0u64, 0u64, 0u64);
    let (mut credentials, mut requests) = (0u64, 0u64);
    let mut stdout = std::io::stdout().lock();
    while let Some(line) = lines.next().await {
        match (line.would, line.user) {
            (_, "unreadable") => {
                unreadable += 1;
                eprintln!(
                    "unreadable: {}: {}",
                    escape_controls(&line.user_id),
                    line.error.as_deref().unwrap_or_default()
                );
            }
            ("verify", _) => verify += 1,
            (_, "already_gone") => gone += 1,
            _ => found += 1,
        }
        credentials += line.credentials.as_ref().map_or(0, |c| c.len() as u64);
        requests += line.requests;
        let text = serde_json::to_string(&line).unwrap_or_default();
        if writeln!(stdout, "{text}").is_err() {
            eprintln!("error: cannot write to stdout; stopping");
            return ExitCode::from(1);
        }
    }
    let mut summary = format!("dry run: would {} {found} users found", job.verb());
    if job == Job::Offboard {
        summary.push_str(&format!(" (deleting {credentials} credentials)"));
    }
    summary.push_str(&format!(", {gone} already gone"));
    if verify > 0 {
        summary.push_str(&format!(", and verify {verify} the report records done"));
    }
    summary.push_str(&format!(
        "; {unreadable} could not be read, {skipped} skipped as {} in the report, of {} ids; \
         about {requests} requests",
        job.done_status(),
        ids.len()
    ));
    if let Some(rate) = args.ids.max_rate {
        summary.push_str(&format!(
            ", at least {:.1}s at --max-rate {rate}",
            requests as f64 / rate
        ));
    }
    summary.push_str(&format!(
        "; read in {:.1}s; nothing was deleted",
        started.elapsed().as_secs_f64()
    ));
    eprintln!("{summary}");
    if unreadable == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
