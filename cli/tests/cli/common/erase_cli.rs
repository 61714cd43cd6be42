//! Running `users erase` and `users offboard` as a user would, and reading
//! what they left.

use super::{Recorded, Reply, TEST_KEY, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

pub fn success_for(r: &Recorded) -> Reply {
    if r.method == "GET" && r.target == "/users" {
        json(200, r#"{"data":[]}"#)
    } else if r.path().ends_with("/logs") {
        json(200, r#"{"message":"Success"}"#)
    } else {
        json(200, r#"{"success":true}"#)
    }
}

pub fn erase(base_url: &str, args: &[&str]) -> Command {
    users("erase", base_url, args)
}

/// `runalloy-embedded users <command> <args>` against `base_url`.
pub fn users(command: &str, base_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
    cmd.args(["users", command])
        .args(args)
        .env("ALLOY_API_KEY", TEST_KEY)
        .env("ALLOY_BASE_URL", base_url)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

pub async fn run(mut cmd: Command) -> (i32, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("erase hung")
        .unwrap();
    outcome(out)
}

/// The exit code, stdout and stderr of a finished run.
pub fn outcome(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `user-0`, `user-1`, ...
pub fn numbered_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user-{i}")).collect()
}

/// Writes `ids` to `dir/ids.txt`, one per line, with a blank line at the
/// end as editors leave.
pub fn write_ids(dir: &Path, ids: &[String]) -> std::path::PathBuf {
    let path = dir.join("ids.txt");
    std::fs::write(&path, ids.join("\n") + "\n\n").unwrap();
    path
}

pub fn report_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn erased_in(path: &Path) -> BTreeSet<String> {
    report_lines(path)
        .into_iter()
        .filter(|l| l["status"] == "erased")
        .map(|l| l["userId"].as_str().unwrap().to_owned())
        .collect()
}

/// A rate-limited stand-in holding `users` users, and their ids.
pub async fn rate_limited_stand_in(
    limit: runalloy_embedded_fake::RateLimit,
    users: usize,
) -> (runalloy_embedded_fake::FakeAlloy, Vec<String>) {
    let fake = runalloy_embedded_fake::FakeAlloy::start_rate_limited(TEST_KEY, limit)
        .await
        .unwrap();
    let ids = (0..users)
        .map(|i| fake.insert_user(&format!("leaver-{i}@example.com"), None))
        .collect();
    (fake, ids)
}
