//! The `runalloy-embedded` command-line tool: every operation of the spec,
//! the Users commands, the bulk GDPR erase and offboarding, from the shell,
//! on the library's public API only.

mod api;
mod args;
mod bulk;
mod dry_run;
mod exit;
mod export;
mod ids;
mod job;
mod report;
mod signals;
mod signature;
mod summary;

use args::{Api, Cli, Command, Signature, Users};
use clap::Parser;
use runalloy_embedded::{Client, Error, RetryPolicy};
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;

// A bulk erase allocates a little for every request; glibc's allocator
// took about a tenth of the CLI's CPU in a profile of 40,000 requests.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 2 (clap's convention and ours); --help and
            // --version exit 0.
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}

/// The one dispatch: what needs no client (listing, schemas, signatures,
/// and a call checked before a client exists, so that bad input exits 2
/// whatever the environment), then what does.
async fn run(cli: Cli) -> ExitCode {
    match &cli.command {
        Command::Signature(Signature::Verify {
            public_key,
            method,
            url,
            body,
            signature,
        }) => signature::verify(public_key, method, url, body, signature).await,
        Command::Api(Api::List { json }) => api::list(*json),
        Command::Api(Api::Schema {
            operation_id,
            body,
            response,
        }) => api::schema(operation_id, *body, *response),
        Command::Api(Api::Call {
            operation_id,
            params,
            body,
            all,
            include,
        }) => {
            let call = match api::prepare(operation_id, params, body.as_deref(), *all).await {
                Ok(call) => call,
                Err(e) => return exit::failed(e),
            };
            let client = match client(&cli, None) {
                Ok(c) => c,
                Err(e) => return exit::failed(e),
            };
            if *all {
                api::print_all(&client, call).await
            } else if *include {
                api::print_included(&client, &call).await
            } else {
                print(client.call_operation(&call)).await
            }
        }
        Command::Users(users) => {
            let client = match client(&cli, users.max_rate()) {
                Ok(c) => c,
                Err(e) => return exit::failed(e),
            };
            run_users(&client, users).await
        }
    }
}

/// The Users commands, with a client.
async fn run_users(client: &Client, command: &Users) -> ExitCode {
    match command {
        Users::Delete { user_id } => print(client.delete_user(user_id)).await,
        Users::DeleteLogs { user_id } => print(client.delete_user_logs(user_id)).await,
        Users::Get { user_id } => print(client.get_user(user_id)).await,
        Users::List { parent_workflow_id } => {
            print(client.list_users(parent_workflow_id.as_deref())).await
        }
        Users::Create {
            username,
            full_name,
        } => print(client.create_user(username, full_name.as_deref())).await,
        Users::Erase(args) => bulk::run(client, job::Job::Erase, args).await,
        Users::Offboard(args) => bulk::run(client, job::Job::Offboard, args).await,
        Users::Export(args) => export::run(client, args).await,
    }
}

/// The client for `cli`, capped at `max_rate` when a command sets it.
fn client(cli: &Cli, max_rate: Option<f64>) -> Result<Client, Error> {
    let mut builder = Client::builder().from_env()?;
    // Under a rate limit a command waits its turn rather than fail: a
    // throttled request is retried until the call's deadline, beyond the
    // attempts that failures use up.
    let mut retry = RetryPolicy::default().retry_throttled_until_deadline(true);
    if let Some(timeout) = cli.timeout {
        // Leave every attempt its full timeout: a deadline shorter than the
        // attempts would cut them silently.
        let needed = timeout.saturating_mul(retry.max_attempts);
        if needed > retry.deadline {
            tracing::info!(
                deadline_secs = needed.as_secs_f64(),
                "--timeout raises each call's deadline so every attempt gets its full timeout"
            );
            retry.deadline = needed;
        }
        builder = builder.timeout(timeout).connect_timeout(timeout);
    }
    builder = builder.retry_policy(retry);
    if let Some(url) = &cli.limiter {
        builder = builder.limiter(url.as_str());
    }
    if let Some(rate) = max_rate {
        builder = builder.max_requests_per_second(rate);
    }
    builder.build()
}

/// Runs a call and prints the API's JSON, exactly as it arrived.
async fn print<T: Serialize>(call: impl Future<Output = Result<T, Error>>) -> ExitCode {
    let (result, body) = runalloy_embedded::capture_last_body(call).await;
    let text = |body: &[u8]| String::from_utf8_lossy(body).trim_end().to_owned();
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            // A success status that confirmed nothing: show what the API
            // did say, as it said it.
            if e.is_unconfirmed()
                && let Some(body) = body.as_deref()
            {
                println!("{}", text(body));
            }
            return exit::failed(e);
        }
    };
    let text = match body {
        Some(body) => text(&body),
        // Not reached: every operation of the spec reads a body.
        None => serde_json::to_string(&value).unwrap_or_default(),
    };
    println!("{text}");
    ExitCode::SUCCESS
}
