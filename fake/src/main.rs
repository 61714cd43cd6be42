//! `runalloy-embedded-fake`: the stand-in for Alloy's Embedded API as a
//! server of its own, for tests in any language, docker-compose setups and
//! outside judges such as Schemathesis.
//!
//! ```text
//! runalloy-embedded-fake --port 8080 --key test-key [--rate-limit 10] [--users 100]
//! ```
//!
//! It listens on 127.0.0.1 only, prints the URL it listens on as its first
//! line, and stops cleanly on Ctrl-C (or SIGTERM).

use clap::Parser;
use runalloy_embedded_fake::{FakeAlloy, RateLimit};
use std::io::Write;
use std::process::ExitCode;

/// A local stand-in for Alloy's Embedded API (2025-09), on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "runalloy-embedded-fake", version)]
struct Args {
    /// The port to listen on (0: a free one, printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The API key it accepts (`Authorization: Bearer <key>`).
    #[arg(long, env = "ALLOY_API_KEY", hide_env_values = true)]
    key: String,
    /// Answer 429 (with `Retry-After`) above this many requests a second.
    #[arg(long, value_name = "PER_SECOND")]
    rate_limit: Option<f64>,
    /// Start with this many users (`user-1@example.com`...), their ids
    /// printed one a line after the URL.
    #[arg(long, default_value_t = 0)]
    users: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.key.trim().is_empty() {
        eprintln!("error: the key is empty");
        return ExitCode::from(2);
    }
    let limit = args.rate_limit.map(RateLimit::per_second);
    let fake = match FakeAlloy::start_on(args.key, args.port, limit).await {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!(
                "error: the stand-in could not start on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", fake.base_url());
    for i in 1..=args.users {
        let _ = writeln!(
            out,
            "{}",
            fake.insert_user(&format!("user-{i}@example.com"), None)
        );
    }
    let _ = out.flush();
    drop(out);
    stopped().await;
    drop(fake);
    eprintln!("stopped");
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM where there is one.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
