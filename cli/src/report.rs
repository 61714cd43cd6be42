//! The report of a bulk run (erase or offboard): a target line, then one JSON line per id, appended and
//! flushed as each id finishes, so that a re-run (even after `kill -9`)
//! knows what is done, and against what.

use crate::ids::Ids;
use crate::job::Job;
use runalloy_embedded::{
    EraseOutcome, Error, ErrorSummary, OffboardOutcome, OffboardProgress, OutcomeStatus, PartStatus,
};
use serde::{Deserialize, Serialize};
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

/// An id's status in its line: the library's [`OutcomeStatus`], written as
/// the job says it (`erased` or `offboarded` when done, else `unconfirmed`
/// or `failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineStatus {
    pub outcome: OutcomeStatus,
    pub job: Job,
}

impl LineStatus {
    pub fn is_done(self) -> bool {
        self.outcome == OutcomeStatus::Done
    }

    pub fn as_str(self) -> &'static str {
        match self.job {
            Job::Erase => self.outcome.as_erase_str(),
            Job::Offboard => self.outcome.as_offboard_str(),
        }
    }
}

impl Serialize for LineStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The step an id stopped at, when one was not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Workflows,
    Credentials,
    Logs,
    User,
    /// Every step done, but the user could still be read (`--verify`).
    Verify,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Workflows => "workflows",
            Step::Credentials => "credentials",
            Step::Logs => "logs",
            Step::User => "user",
            Step::Verify => "verify",
        }
    }
}

/// One line of the report: the library's outcome, as
/// [`EraseOutcome`] and [`OffboardOutcome`] serialise it (the same statuses,
/// and the error as [`ErrorSummary`]: `{message, httpStatus, attempts}`),
/// with what the command adds (the read-back, the step it stopped at, the
/// body that confirmed nothing, the time).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub user_id: String,
    /// Done (and verified, with `--verify`), unconfirmed or failed.
    pub status: LineStatus,
    /// Offboarding only: the workflows step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflows: Option<PartStatus>,
    /// Offboarding only: the credential steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    pub logs: PartStatus,
    pub user: PartStatus,
    /// With `--verify`: whether the user was read back as gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The first step not done, when one is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSummary>,
    /// For `unconfirmed`: the start of the body that confirmed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub at: String,
}

/// What an offboarding did with a user's credentials.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The list step.
    pub listed: PartStatus,
    /// How many the list held.
    pub found: usize,
    /// The ids deleted (or already gone).
    pub deleted: Vec<String>,
    /// The id whose delete failed (the offboarding stops at the first).
    pub failed: Vec<String>,
}

impl Line {
    /// The line for an erase.
    pub fn erase(outcome: &EraseOutcome) -> Self {
        let stopped_at = [(Step::Logs, &outcome.logs), (Step::User, &outcome.user)]
            .into_iter()
            .find(|(_, part)| !part.is_done())
            .map(|(step, _)| step);
        Self::new(
            &outcome.user_id,
            Job::Erase,
            outcome.status(),
            outcome.error(),
        )
        .steps(outcome, stopped_at)
    }

    /// The line for an offboarding: `offboarded` when every step is done.
    pub fn offboard(outcome: &OffboardOutcome) -> Self {
        let credentials_done = outcome.credentials_listed.is_done()
            && outcome.credentials.iter().all(|(_, c)| c.is_done());
        let stopped_at = if !outcome.workflows.is_done() {
            Some(Step::Workflows)
        } else if !credentials_done {
            Some(Step::Credentials)
        } else if !outcome.erase.logs.is_done() {
            Some(Step::Logs)
        } else if !outcome.erase.user.is_done() {
            Some(Step::User)
        } else {
            None
        };
        let (deleted, failed): (Vec<_>, Vec<_>) =
            outcome.credentials.iter().partition(|(_, c)| c.is_done());
        let mut line = Self::new(
            &outcome.user_id,
            Job::Offboard,
            outcome.status(),
            outcome.error(),
        )
        .steps(&outcome.erase, stopped_at);
        line.workflows = Some(outcome.workflows.status());
        line.credentials = Some(Credentials {
            listed: outcome.credentials_listed.status(),
            found: outcome.credentials.len(),
            deleted: deleted.into_iter().map(|(id, _)| id.clone()).collect(),
            failed: failed.into_iter().map(|(id, _)| id.clone()).collect(),
        });
        line
    }

    /// A line with its status and the error that stopped it, if any.
    pub fn new(user_id: &str, job: Job, outcome: OutcomeStatus, error: Option<&Error>) -> Self {
        let mut line = Line {
            user_id: user_id.to_owned(),
            status: LineStatus { outcome, job },
            workflows: None,
            credentials: None,
            logs: PartStatus::Skipped,
            user: PartStatus::Skipped,
            verified: None,
            stopped_at: None,
            error: None,
            body: None,
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        };
        if let Some(error) = error {
            line.set_error(error);
        }
        line
    }

    fn steps(mut self, erase: &EraseOutcome, stopped_at: Option<Step>) -> Self {
        self.logs = erase.logs.status();
        self.user = erase.user.status();
        self.stopped_at = stopped_at;
        self
    }

    /// Records `error` as what stopped this id.
    pub fn set_error(&mut self, error: &Error) {
        self.error = Some(ErrorSummary::new(error));
        self.body = error
            .api_failure()
            .filter(|_| error.is_unconfirmed())
            .map(|f| f.body_excerpt.clone());
    }

    /// Appends the line as JSON, newline included, to `out`: the run's
    /// batch of lines, so that each line costs no buffer of its own.
    pub fn append_json(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, self) {
            out.truncate(start);
            let text = format!(
                r#"{{"userId":{:?},"status":"failed","error":{{"message":"report: {e}","attempts":0}}}}"#,
                self.user_id
            );
            out.extend_from_slice(text.as_bytes());
        }
        out.push(b'\n');
    }
}

/// What the report last recorded for one id.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// `erased` (by an erase or an offboarding) or `offboarded`.
    pub erased: bool,
    pub offboarded: bool,
    /// Whether the user was read back as gone.
    pub verified: bool,
    /// The offboarding steps done, to resume from.
    pub progress: OffboardProgress,
}

impl Recorded {
    /// One byte: 0 for no line, else the fields as bits.
    fn pack(self) -> u8 {
        1 | u8::from(self.erased) << 1
            | u8::from(self.offboarded) << 2
            | u8::from(self.verified) << 3
            | u8::from(self.progress.workflows) << 4
            | u8::from(self.progress.logs) << 5
    }

    fn unpack(byte: u8) -> Option<Self> {
        let bit = |n: u8| byte & (1 << n) != 0;
        bit(0).then(|| Recorded {
            erased: bit(1),
            offboarded: bit(2),
            verified: bit(3),
            progress: OffboardProgress::default()
                .workflows_done(bit(4))
                .logs_done(bit(5)),
        })
    }
}

/// What an existing report holds.
#[derive(Debug)]
pub struct Previous {
    /// Every target line, in order.
    pub targets: Vec<Target>,
    /// By position in this run's ids: each one's last line, matched
    /// exactly as it was sent, in a byte (see [`Previous::recorded`]). Lines
    /// for ids not in this run are not kept.
    recorded: Vec<u8>,
    /// Whether the report had id lines but no target line, which a report
    /// bound to its target always has first.
    pub untargeted: bool,
}

impl Previous {
    /// Nothing recorded, for `ids`.
    pub fn new(ids: &Ids) -> Self {
        Self {
            targets: Vec::new(),
            recorded: vec![0; ids.len()],
            untargeted: false,
        }
    }

    /// What the report last recorded for the id at `position`.
    pub fn recorded(&self, position: usize) -> Option<Recorded> {
        Recorded::unpack(self.recorded[position])
    }
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
pub fn open(path: &Path, ids: &Ids) -> io::Result<(File, Previous)> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    let (previous, complete_len) = read_lines(&file, ids)?;
    if file.metadata()?.len() != complete_len {
        file.set_len(complete_len)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok((file, previous))
}

/// Reads the report at `path`, if there is one, without changing it (for
/// a dry run).
pub fn read(path: &Path, ids: &Ids) -> io::Result<Previous> {
    match File::open(path) {
        Ok(file) => Ok(read_lines(&file, ids)?.0),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Previous::new(ids)),
        Err(e) => Err(e),
    }
}

/// What the report holds, and the length of its complete lines.
fn read_lines(file: &File, ids: &Ids) -> io::Result<(Previous, u64)> {
    let mut previous = Previous::new(ids);
    let mut complete_len = 0u64;
    let mut reader = BufReader::new(file);
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
        read_line(&line, number, ids, &mut previous);
    }
    Ok((previous, complete_len))
}

fn read_line(line: &[u8], number: usize, ids: &Ids, previous: &mut Previous) {
    /// A line's status, as this and earlier versions write it.
    #[derive(Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "snake_case")]
    enum Status {
        Erased,
        Offboarded,
        #[serde(other)]
        NotDone,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct IdLine {
        user_id: String,
        status: Status,
        #[serde(default)]
        verified: bool,
        #[serde(default)]
        workflows: Option<String>,
        #[serde(default)]
        logs: Option<String>,
    }
    let done = |step: &Option<String>| step.as_deref().is_some_and(is_done);
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
        let offboarded = id.status == Status::Offboarded;
        let recorded = Recorded {
            erased: offboarded || id.status == Status::Erased,
            offboarded,
            verified: id.verified,
            progress: OffboardProgress::default()
                .workflows_done(done(&id.workflows))
                .logs_done(done(&id.logs) && id.workflows.is_some()),
        };
        if let Some(i) = ids.position(&id.user_id) {
            previous.recorded[i] = recorded.pack();
        }
    } else {
        tracing::warn!(line = number, "skipping a report line that does not parse");
    }
}

/// Whether a step recorded as `step` is done, as the library's
/// [`PartStatus`](runalloy_embedded::PartStatus) says; a step it does not
/// know is not.
pub fn is_done(step: &str) -> bool {
    serde_json::from_value::<runalloy_embedded::PartStatus>(step.into())
        .is_ok_and(runalloy_embedded::PartStatus::is_done)
}

/// Writes `text` and flushes it.
pub fn write(sink: &mut dyn Write, text: &[u8]) -> io::Result<()> {
    sink.write_all(text)?;
    sink.flush()
}
