//! The erase report: one JSON line per id, appended and flushed as each id
//! finishes, so that a re-run (even after `kill -9`) knows what is done.

use runalloy_embedded::EraseOutcome;
use serde::Serialize;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use std::time::SystemTime;

/// One line of the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub user_id: String,
    /// `erased` or `failed`.
    pub status: &'static str,
    pub logs: &'static str,
    pub user: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    pub at: String,
}

impl Line {
    pub fn new(outcome: EraseOutcome) -> Self {
        let error = outcome.error();
        Line {
            error: error.map(ToString::to_string),
            http_status: error.and_then(|e| e.status()).map(|s| s.as_u16()),
            status: if outcome.is_erased() {
                "erased"
            } else {
                "failed"
            },
            logs: outcome.logs.as_str(),
            user: outcome.user.as_str(),
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            user_id: outcome.user_id,
        }
    }

    /// The line as JSON, newline included.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                r#"{{"userId":{:?},"status":"failed","error":"report: {e}"}}"#,
                self.user_id
            )
        });
        text.push('\n');
        text
    }
}

/// Ids the report at `path` already records as erased. A missing report is
/// empty. Lines that do not parse (such as one cut by `kill -9`) are skipped.
pub fn erased_ids(path: &Path) -> io::Result<HashSet<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    let mut erased = HashSet::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if value["status"] == "erased"
            && let Some(id) = value["userId"].as_str()
        {
            erased.insert(id.to_owned());
        }
    }
    Ok(erased)
}

/// Opens the report for appending. If a crash left a partial last line, a
/// newline ends it first, so that the next line starts clean.
pub fn open_for_append(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
        }
    }
    Ok(file)
}
