//! The command line: its commands, flags and their defaults (README.md's
//! "Command line" section is the user's guide to them).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Calls Alloy's Embedded API (version 2025-09) from the shell.
///
/// Reads the API key from ALLOY_API_KEY and the base URL from ALLOY_BASE_URL
/// (default https://production.runalloy.com). Prints the API's JSON on
/// stdout; on failure, prints the HTTP status and the API's message on
/// stderr and exits 1. Invalid input exits 2 and sends nothing.
#[derive(Debug, Parser)]
#[command(name = "runalloy-embedded", version, about, long_about)]
pub struct Cli {
    /// Seconds one attempt may take before it counts as timed out. The
    /// overall deadline of a call (120 s by default) is raised to leave
    /// every attempt this long.
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Share one API limit with every process that holds the key, through
    /// this Redis or Valkey store (redis://[:PASSWORD@]HOST:PORT[/DB], or
    /// rediss://). ALLOY_LIMITER_URL gives it too. If the store fails, the
    /// process keeps to its own limit and rejoins when it answers.
    #[arg(long, global = true, value_name = "URL")]
    pub limiter: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Users: create, read, list, delete, erase, offboard.
    #[command(subcommand)]
    Users(Users),
    /// Any operation of the spec, by its operation id.
    #[command(subcommand)]
    Api(Api),
    /// Alloy's signed requests (`X-Alloy-Signature`).
    #[command(subcommand)]
    Signature(Signature),
}

#[derive(Debug, Subcommand)]
pub enum Signature {
    /// Verify one request Alloy sent: exits 0 when the signature is valid,
    /// 1 when it is not, 2 on bad input. Needs no API key and sends
    /// nothing.
    ///
    /// The signed string is the method, the URL as Alloy called it and the
    /// raw body, joined. Hex and base64 headers, PKCS#1 v1.5 and PSS
    /// signatures are all accepted.
    #[command(
        after_help = "Example:\n  runalloy-embedded signature verify --public-key alloy_public_key.pem \\\n    --method POST --url https://example.com/hooks/alloy --body @body.json --signature \"$SIG\""
    )]
    Verify {
        /// Alloy's public key, as PEM (published at
        /// https://cdn.runalloy.com/security/alloy_public_key.pem).
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        /// The request's HTTP method, as Alloy sent it.
        #[arg(long)]
        method: String,
        /// The URL as Alloy called it: the public one, not what a proxy
        /// forwarded to.
        #[arg(long)]
        url: String,
        /// The raw body: the text itself, @FILE to read a file, or `-` to
        /// read standard input. Its bytes are used as they are.
        #[arg(long, value_name = "JSON|@FILE|-")]
        body: String,
        /// The X-Alloy-Signature header's value.
        #[arg(long, value_name = "VALUE")]
        signature: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Api {
    /// List every operation: id, method, path, parameters and body.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schemas of an operation's request body and success
    /// response, made by schemars from the types the client sends and
    /// decodes.
    ///
    /// Prints `{"operation", "body", "response"}` (`null` where there is
    /// none); `--body` or `--response` prints that schema alone.
    Schema {
        /// The operation id, such as `create-a-user`.
        operation_id: String,
        /// Only the request body's schema.
        #[arg(long, conflicts_with = "response")]
        body: bool,
        /// Only the success response's schema.
        #[arg(long)]
        response: bool,
    },
    /// Call one operation and print the API's JSON.
    ///
    /// Parameters are given by the names `api list` shows. Before sending,
    /// every required parameter must be given, no unknown one may be, path
    /// values must be one safe segment and the body must be JSON matching
    /// the operation's schema; otherwise it exits 2 and sends nothing.
    #[command(
        after_help = "Example:\n  runalloy-embedded api call list-user-credentials --param userId=6323d7c9122ae69742a5d0a2"
    )]
    Call {
        /// The operation id, such as `list-user-credentials`.
        operation_id: String,
        /// A parameter, as NAME=VALUE; repeat for each.
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// The JSON request body: the JSON itself, @FILE to read a file, or
        /// `-` to read standard input.
        #[arg(long, value_name = "JSON|@FILE|-")]
        body: Option<String>,
        /// For an operation the spec declares paged (`api list` marks
        /// them): walk every page and print one item per line (JSON Lines).
        #[arg(long)]
        all: bool,
        /// Print the response's status line and headers before its body,
        /// as `curl -i` does.
        #[arg(short = 'i', long, conflicts_with = "all")]
        include: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Users {
    /// Delete a user (DELETE /users/{userId}). Its logs stay; see `erase`.
    Delete {
        /// The user's id or username.
        user_id: String,
    },
    /// Delete every log of a user (DELETE /users/{userId}/logs).
    DeleteLogs {
        /// The user's id or username.
        user_id: String,
    },
    /// Show one user (GET /users/{userId}).
    Get {
        /// The user's id or username.
        user_id: String,
    },
    /// List users (GET /users).
    List {
        /// Only the users of this parent workflow.
        #[arg(long, value_name = "ID")]
        parent_workflow_id: Option<String>,
    },
    /// Create a user (POST /users).
    Create {
        /// A unique username, such as the customer's email.
        #[arg(long, value_name = "U")]
        username: String,
        /// The user's full name.
        #[arg(long, value_name = "N")]
        full_name: Option<String>,
    },
    /// GDPR erase: delete each user's logs, then the user.
    Erase(BulkArgs),
    /// Offboard: per user, turn off its workflows, delete each of its
    /// credentials, delete its logs, then the user. Each step runs only if
    /// the one before is done; the report records every step, so a re-run
    /// does only what is left.
    ///
    /// The summary counts users offboarded, partly done (by the step where
    /// they stopped), and unconfirmed or failed at the first step.
    #[command(
        after_help = "Example:\n  runalloy-embedded users offboard --from-file churned.txt --report offboard.jsonl --dry-run\n  runalloy-embedded users offboard --from-file churned.txt --report offboard.jsonl --verify"
    )]
    Offboard(BulkArgs),
    /// GDPR access export, read-only: per user, the user, its credentials,
    /// its integrations and every log across pages, one JSON line each
    /// (`{"userId", "status", "user", "credentials", "integrations",
    /// "logs", "exportedAt"}`). A user the API does not know gets a line
    /// with status `not_found`; one whose reads failed, `failed` and the
    /// cause, and the command exits 1. GET requests only.
    #[command(
        after_help = "Example:\n  runalloy-embedded users export --from-file requests.txt --out export.jsonl"
    )]
    Export(ExportArgs),
}

impl Users {
    /// The `--max-rate` a run over many ids sets, if any.
    pub fn max_rate(&self) -> Option<f64> {
        match self {
            Users::Erase(args) | Users::Offboard(args) => args.ids.max_rate,
            Users::Export(args) => args.ids.max_rate,
            _ => None,
        }
    }
}

/// The input and controls of `users export`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("ids").required(true).args(["from_file", "user_ids"])))]
pub struct ExportArgs {
    /// Users read at once.
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Write the lines to this new file (never an existing one) instead
    /// of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub ids: IdsArgs,
}

/// Where a run over many ids takes them from, and how fast it may go:
/// what `erase`, `offboard` and `export` share.
#[derive(Debug, Args)]
pub struct IdsArgs {
    /// Never send more than N requests per second (fractions allowed:
    /// 2.5 is 150 a minute). Without it the client still slows down by
    /// itself when the API answers 429.
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub max_rate: Option<f64>,
    /// Read ids from this file, one per line; `-` reads standard input.
    #[arg(long, value_name = "FILE", conflicts_with = "user_ids")]
    pub from_file: Option<PathBuf>,
    /// Ids (or usernames).
    #[arg(value_name = "USER_ID")]
    pub user_ids: Vec<String>,
}

/// The input and controls of a bulk run (`erase` or `offboard`).
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("ids").required(true).args(["from_file", "user_ids"])))]
pub struct BulkArgs {
    /// Read what exists and print what a real run would delete, one JSON
    /// line per id, deleting nothing and writing no report.
    #[arg(long)]
    pub dry_run: bool,
    /// After a user's delete, read the user back: only the API's 404 counts
    /// as gone; a user still readable counts as failed. With a report, ids
    /// it records as done but not verified are verified.
    #[arg(long, conflicts_with = "dry_run")]
    pub verify: bool,
    /// Users handled at once.
    #[arg(long, default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Append one JSON line per id here (a regular file); ids already done
    /// in it, against the same base URL and key, are skipped, and an
    /// offboarding resumes each id at the step where it stopped.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Skip the ids the report records as done even if it was written
    /// against another base URL, API version or key.
    #[arg(long, requires = "report")]
    pub ignore_report_target: bool,
    #[command(flatten)]
    pub ids: IdsArgs,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{text} is not between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of requests per second"))?;
    let range = runalloy_embedded::ClientBuilder::MAX_RATES;
    if !range.contains(&rate) {
        return Err(format!(
            "{text} is not between {} and {} requests per second",
            range.start(),
            range.end()
        ));
    }
    Ok(rate)
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}
