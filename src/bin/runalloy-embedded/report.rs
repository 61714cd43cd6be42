//! The erase report: a target line, then one JSON line per id, appended and
//! flushed as each id finishes, so that a re-run (even after `kill -9`)
//! knows what is done, and against what.

use runalloy_embedded::EraseOutcome;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

/// What a report was written against: its first line, as
/// `{"target": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub base_url: String,
    pub api_version: String,
    /// `sha256:` and 12 hex digits; never the key.
    pub key_fingerprint: String,
}

#[derive(Serialize, Deserialize)]
struct TargetLine {
    target: Target,
}

impl Target {
    /// The line that opens a report, newline included.
    pub fn to_json(&self) -> String {
        let line = TargetLine {
            target: self.clone(),
        };
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Why a report written against `self` must not be resumed against
    /// `other`, if it must not.
    pub fn mismatch(&self, other: &Target) -> Option<String> {
        let differs = |what: &str, a: &str, b: &str| {
            Some(format!(
                "the report was written against {what} {a}, and this run uses {b}"
            ))
        };
        if self.base_url != other.base_url {
            differs("base URL", &self.base_url, &other.base_url)
        } else if self.api_version != other.api_version {
            differs("API version", &self.api_version, &other.api_version)
        } else if self.key_fingerprint != other.key_fingerprint {
            differs(
                "the key with fingerprint",
                &self.key_fingerprint,
                &other.key_fingerprint,
            )
        } else {
            None
        }
    }
}

/// One line of the report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub user_id: String,
    /// `erased`, `unconfirmed` or `failed`.
    pub status: &'static str,
    pub logs: &'static str,
    pub user: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// For `unconfirmed`: the start of the body that confirmed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub at: String,
}

impl Line {
    pub fn new(outcome: &EraseOutcome) -> Self {
        let error = outcome.error();
        Line {
            error: error.map(ToString::to_string),
            http_status: error.and_then(|e| e.status()).map(|s| s.as_u16()),
            body: error
                .filter(|e| e.is_unconfirmed())
                .and_then(|e| e.api_failure())
                .map(|f| f.body_excerpt.clone()),
            status: outcome.status(),
            logs: outcome.logs.as_str(),
            user: outcome.user.as_str(),
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            user_id: outcome.user_id.clone(),
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

/// What an existing report holds.
#[derive(Debug, Default)]
pub struct Previous {
    /// Every target line, in order.
    pub targets: Vec<Target>,
    /// Ids recorded as erased, exactly as they were sent.
    pub erased: HashSet<String>,
    /// Whether the report had id lines but no target line (an older
    /// version's report).
    pub untargeted: bool,
}

/// Refuses a report path that is not a regular file (such as
/// `/dev/stdout` or a pipe): nothing could be resumed from it, and reading
/// it back would block.
pub fn check_path(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(format!(
            "the report {} is not a regular file, so a re-run could not resume from it; \
             leave out --report to write the report lines to stdout",
            path.display()
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot read the report {}: {e}", path.display())),
    }
}

/// Opens the report at `path` for appending and reads what it holds.
///
/// A last line without its newline was cut by a crash, possibly inside a
/// multi-byte character: it is cut off the file, so the next line starts
/// clean, and its id (if any) is done again. Other lines that do not parse
/// are skipped with a warning.
pub fn open(path: &Path) -> io::Result<(File, Previous)> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    let mut previous = Previous::default();
    let mut complete_len = 0u64;
    let mut reader = BufReader::new(&file);
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            tracing::warn!(line = number, "the report's last line was cut; dropping it");
            break;
        }
        complete_len += read as u64;
        read_line(&line, number, &mut previous);
    }
    drop(reader);
    if file.metadata()?.len() != complete_len {
        file.set_len(complete_len)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((file, previous))
}

fn read_line(line: &[u8], number: usize, previous: &mut Previous) {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct IdLine {
        user_id: String,
        status: String,
    }
    let text = line.trim_ascii();
    if text.is_empty() {
        return;
    }
    if let Ok(TargetLine { target }) = serde_json::from_slice(text) {
        previous.targets.push(target);
    } else if let Ok(id) = serde_json::from_slice::<IdLine>(text) {
        if previous.targets.is_empty() {
            previous.untargeted = true;
        }
        if id.status == "erased" {
            previous.erased.insert(id.user_id);
        }
    } else {
        tracing::warn!(line = number, "skipping a report line that does not parse");
    }
}

/// Writes `text` and flushes it.
pub fn write(sink: &mut dyn Write, text: &str) -> io::Result<()> {
    sink.write_all(text.as_bytes())?;
    sink.flush()
}
