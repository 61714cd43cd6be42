//! `cargo xtask spec semver-proof`: checks `spec diff`'s verdicts against a
//! second opinion.
//!
//! For each rehearsal below (a small edit of the checked-in spec), it
//! generates the crate from the spec before and after the edit, in two
//! copies judged as version 1.0.0 (so that "minor" means "no break"), and
//! runs `cargo-semver-checks` between them. Its verdict is set beside ours:
//!
//! - every addition must be `minor` for both;
//! - every breaking edit must be `major` for `spec diff`;
//! - `spec diff` may never say `minor` where `cargo-semver-checks` says
//!   `major`.
//!
//! `cargo-semver-checks` cannot see every break (an optional parameter made
//! required only changes what `send()` checks; a field retyped changes no
//! item it lints), so its verdict on those is recorded, not required. Where
//! the two disagree against the rules, the generator or the rule is fixed,
//! never the table.
//!
//! The caller's code in `xtask/proof/caller_2025_09.rs` is compiled against
//! the 2025-09 copy and against every copy that only adds: an addition must
//! not break it.

use crate::Problem;
use crate::diff::diff_specs;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// One rehearsal: an edit of the spec and the verdicts it must get.
pub struct Rehearsal {
    /// What the edit does.
    pub name: &'static str,
    /// The edit, on the assembled spec as JSON.
    pub edit: fn(&mut Value),
    /// `spec diff`'s verdict: `minor` or `major`.
    pub ours: &'static str,
    /// `cargo-semver-checks`' verdict, as measured.
    pub theirs: &'static str,
}

impl Rehearsal {
    /// Whether the edit only adds, so that callers' code must still compile.
    pub fn is_addition(&self) -> bool {
        self.ours == "minor"
    }
}

fn operation<'a>(spec: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut spec["paths"][path][method]
}

fn parameters<'a>(spec: &'a mut Value, path: &str, method: &str) -> &'a mut Vec<Value> {
    let op = operation(spec, path, method);
    if !op["parameters"].is_array() {
        op["parameters"] = json!([]);
    }
    op["parameters"].as_array_mut().expect("just made a list")
}

fn ok_schema<'a>(spec: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut operation(spec, path, method)["responses"]["200"]["content"]["application/json"]["schema"]
}

/// Every rehearsal, in the order of the issue that asked for them.
pub const REHEARSALS: &[Rehearsal] = &[
    Rehearsal {
        name: "add an optional query parameter (get-workflow-logs `cursor`)",
        edit: |s| {
            parameters(s, "/workflows/{workflowId}/logs", "get").push(
                json!({"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}}),
            )
        },
        ours: "minor",
        theirs: "minor",
    },
    Rehearsal {
        name: "add an optional body field (activate-a-workflow `note`)",
        edit: |s| {
            operation(s, "/workflows/activate", "put")["requestBody"]["content"]["application/json"]
                ["schema"]["properties"]["note"] = json!({"type": "string"})
        },
        ours: "minor",
        theirs: "minor",
    },
    Rehearsal {
        name: "add a response field (get-a-user `createdAt`)",
        edit: |s| {
            ok_schema(s, "/users/{userId}", "get")["properties"]["createdAt"] =
                json!({"type": "string"})
        },
        ours: "minor",
        theirs: "minor",
    },
    Rehearsal {
        name: "add a request enum value (get-logs `sortBy` `timestamp`)",
        edit: |s| {
            let params = parameters(s, "/logs", "get");
            if let Some(p) = params.iter_mut().find(|p| p["name"] == "sortBy")
                && let Some(values) = p["schema"]["enum"].as_array_mut()
            {
                values.push(json!("timestamp"));
            }
        },
        ours: "minor",
        theirs: "minor",
    },
    Rehearsal {
        name: "add an operation (list-apps)",
        edit: |s| {
            s["paths"]["/metadata/apps"] = json!({"get": {
                "summary": "Retrieve all supported apps",
                "operationId": "list-apps",
                "parameters": [{"$ref": "#/components/parameters/xApiVersion"}],
                "responses": {"200": {"description": "200", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"data": {"type": "array",
                        "items": {"type": "object", "properties": {"name": {"type": "string"}}}}}}
                }}}}
            }})
        },
        ours: "minor",
        theirs: "minor",
    },
    Rehearsal {
        name: "make an optional parameter required (get-workflow-logs `limit`)",
        edit: |s| {
            let params = parameters(s, "/workflows/{workflowId}/logs", "get");
            if let Some(p) = params.iter_mut().find(|p| p["name"] == "limit") {
                p["required"] = json!(true);
            }
        },
        ours: "major",
        theirs: "minor",
    },
    Rehearsal {
        name: "remove an operation (get-workflow-analytics)",
        edit: |s| {
            if let Some(paths) = s["paths"].as_object_mut() {
                paths.remove("/workflows/{workflowId}/analytics");
            }
        },
        ours: "major",
        theirs: "major",
    },
    Rehearsal {
        name: "change a response field's type (find-a-workflow `data.version`)",
        edit: |s| {
            ok_schema(s, "/workflows/{workflowId}", "get")["properties"]["data"]["properties"]["version"] =
                json!({"type": "string"})
        },
        ours: "major",
        theirs: "minor",
    },
    Rehearsal {
        name: "remove a response field (get-a-user `fullName`)",
        edit: |s| {
            if let Some(props) =
                ok_schema(s, "/users/{userId}", "get")["properties"].as_object_mut()
            {
                props.remove("fullName");
            }
        },
        ours: "major",
        theirs: "major",
    },
];

/// What one rehearsal got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The rehearsal's name.
    pub name: &'static str,
    /// `spec diff`'s `semver:`.
    pub ours: String,
    /// `cargo-semver-checks`': `major` when it finds a break, else `minor`.
    pub theirs: String,
    /// For an addition: whether the caller's code compiled.
    pub caller_compiles: Option<bool>,
}

impl Verdict {
    /// Why this verdict breaks the rules for `rehearsal`, if it does.
    pub fn problem(&self, rehearsal: &Rehearsal) -> Option<String> {
        if self.ours == "minor" && self.theirs == "major" {
            Some("spec diff says minor where cargo-semver-checks says major".to_owned())
        } else if self.ours != rehearsal.ours {
            Some(format!(
                "spec diff says {}, the rule says {}",
                self.ours, rehearsal.ours
            ))
        } else if rehearsal.is_addition() && self.theirs != "minor" {
            Some(format!(
                "cargo-semver-checks says {} for an addition",
                self.theirs
            ))
        } else if self.theirs != rehearsal.theirs {
            Some(format!(
                "cargo-semver-checks says {}, {} was measured; update the table after checking why",
                self.theirs, rehearsal.theirs
            ))
        } else if self.caller_compiles == Some(false) {
            Some("the caller's 2025-09 code no longer compiles".to_owned())
        } else {
            None
        }
    }
}

/// Where the proof works: the repository and a scratch folder.
pub struct Workspace {
    /// The repository's root (the library's folder).
    pub root: PathBuf,
    /// A scratch folder; the copies are made in it.
    pub work: PathBuf,
}

/// The features `cargo-semver-checks` sees: every public item, none of the
/// TLS back ends (`.ci/semver-checks` checks the release with the same).
pub const SEMVER_FEATURES: &[&str] = &[
    "--only-explicit-features",
    "--features",
    "signature,metrics,redis",
];

fn run(command: &mut Command, what: &str) -> Result<std::process::Output, Problem> {
    command.output().map_err(|e| Problem::Read {
        file: what.to_owned(),
        why: format!("cannot run: {e}"),
    })
}

fn fail(what: &str, output: &std::process::Output) -> Problem {
    Problem::Read {
        file: what.to_owned(),
        why: format!(
            "failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

impl Workspace {
    fn spec_path(&self) -> Result<PathBuf, Problem> {
        Ok(crate::assemble::Layout::current(&self.root.join("openapi"))?.output)
    }

    /// The checked-in spec, as JSON.
    pub fn spec(&self) -> Result<Value, Problem> {
        crate::read_yaml_as_json(&self.spec_path()?)
    }

    /// Copies the library to `work/name`, as version 1.0.0 and a workspace
    /// of its own, with `spec` as its spec and the caller's code as an
    /// example.
    fn copy(&self, name: &str, spec: &Value) -> Result<PathBuf, Problem> {
        let dest = self.work.join(name);
        let io = |file: &Path, e: std::io::Error| Problem::Read {
            file: file.display().to_string(),
            why: e.to_string(),
        };
        for dir in ["src", "build", "normalise", "examples", "benches"] {
            copy_dir(&self.root.join(dir), &dest.join(dir)).map_err(|e| io(&dest, e))?;
        }
        for file in ["build.rs", "README.md", "Cargo.lock"] {
            std::fs::copy(self.root.join(file), dest.join(file))
                .map_err(|e| io(&self.root.join(file), e))?;
        }
        let manifest = std::fs::read_to_string(self.root.join("Cargo.toml"))
            .map_err(|e| io(&self.root.join("Cargo.toml"), e))?;
        let manifest = as_version_1(&manifest);
        std::fs::write(dest.join("Cargo.toml"), manifest).map_err(|e| io(&dest, e))?;
        let openapi = dest.join("openapi");
        let _ = std::fs::remove_dir_all(&openapi);
        std::fs::create_dir_all(&openapi).map_err(|e| io(&openapi, e))?;
        let spec_name = self.spec_path()?;
        let text = serde_norway::to_string(spec).map_err(|e| Problem::Read {
            file: spec_name.display().to_string(),
            why: e.to_string(),
        })?;
        let target = openapi.join(spec_name.file_name().unwrap_or_default());
        std::fs::write(&target, text).map_err(|e| io(&target, e))?;
        let caller = self.root.join("xtask/proof/caller_2025_09.rs");
        std::fs::copy(&caller, dest.join("examples/caller_2025_09.rs"))
            .map_err(|e| io(&caller, e))?;
        Ok(dest)
    }

    /// Lane `lane`'s target directory. Lane 0's is `target`, which
    /// `.ci/semver-checks`' `check-release` shares.
    fn target_dir(&self, lane: usize) -> PathBuf {
        match lane {
            0 => self.work.join("target"),
            _ => self.work.join(format!("target-{lane}")),
        }
    }

    /// `cargo check --example caller_2025_09` in `copy`, in lane `lane`.
    fn caller_compiles(&self, copy: &Path, lane: usize) -> Result<bool, Problem> {
        let out = run(
            Command::new("cargo")
                .args([
                    "check",
                    "--quiet",
                    "--offline",
                    "--no-default-features",
                    "--example",
                    "caller_2025_09",
                ])
                .arg("--manifest-path")
                .arg(copy.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", self.target_dir(lane)),
            "cargo check",
        )?;
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(out.status.success())
    }

    /// `cargo-semver-checks`' verdict on `current` against `baseline`, in
    /// lane `lane`.
    fn semver_checks(
        &self,
        baseline: &Path,
        current: &Path,
        lane: usize,
    ) -> Result<String, Problem> {
        let out = run(
            Command::new("cargo")
                .args(["semver-checks", "check-release", "--release-type", "minor"])
                // The TLS back ends add no public item, and building them
                // (aws-lc-sys, openssl-sys) is most of a cold build.
                .args(SEMVER_FEATURES)
                .arg("--manifest-path")
                .arg(current.join("Cargo.toml"))
                .arg("--baseline-root")
                .arg(baseline)
                .env("CARGO_TARGET_DIR", self.target_dir(lane)),
            "cargo semver-checks",
        )?;
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            Ok("minor".to_owned())
        } else if text.contains("semver requires new major version") {
            Ok("major".to_owned())
        } else {
            Err(fail("cargo semver-checks", &out))
        }
    }

    /// Runs every rehearsal; `progress` hears of each, in the table's
    /// order, as soon as it and those before it have finished.
    ///
    /// Rehearsals run in lanes side by side, one per core (at most
    /// [`MAX_LANES`]): generating and documenting a copy keeps one core
    /// busy. Each lane has its own copy and its own target directory, since
    /// cargo lets one build at a time use a target directory.
    pub fn prove(&self, mut progress: impl FnMut(&Verdict)) -> Result<Vec<Verdict>, Problem> {
        let spec = self.spec()?;
        let baseline = self.copy("baseline", &spec)?;
        if !self.caller_compiles(&baseline, 0)? {
            return Err(Problem::Read {
                file: "xtask/proof/caller_2025_09.rs".to_owned(),
                why: "does not compile against the checked-in spec".to_owned(),
            });
        }
        let lanes = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_LANES);
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let mut verdicts: Vec<Option<Verdict>> = vec![None; REHEARSALS.len()];
        let mut reported = 0;
        let (sender, finished) = mpsc::channel();
        std::thread::scope(|scope| {
            for lane in 0..lanes {
                let sender = sender.clone();
                let (spec, baseline, next, stop) = (&spec, &baseline, &next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(rehearsal) = REHEARSALS.get(i) else {
                            break;
                        };
                        let verdict = self.rehearse(spec, baseline, rehearsal, lane);
                        if verdict.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        if sender.send((i, verdict)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(sender);
            for (i, verdict) in finished {
                verdicts[i] = Some(verdict?);
                while let Some(Some(done)) = verdicts.get(reported) {
                    progress(done);
                    reported += 1;
                }
            }
            Ok(())
        })?;
        Ok(verdicts.into_iter().flatten().collect())
    }

    /// One rehearsal, in lane `lane`.
    fn rehearse(
        &self,
        spec: &Value,
        baseline: &Path,
        rehearsal: &Rehearsal,
        lane: usize,
    ) -> Result<Verdict, Problem> {
        let mut edited = spec.clone();
        (rehearsal.edit)(&mut edited);
        if edited == *spec {
            return Err(Problem::Read {
                file: "xtask/src/semver_proof.rs".to_owned(),
                why: format!("the rehearsal `{}` changed nothing", rehearsal.name),
            });
        }
        let ours = diff_specs(spec.clone(), edited.clone())
            .map_err(|(_, why)| Problem::Read {
                file: rehearsal.name.to_owned(),
                why,
            })?
            .semver()
            .to_owned();
        // One folder per lane for every edited copy: only the spec changes,
        // so cargo reuses the build script and every dependency.
        let current = self.copy(&format!("current-{lane}"), &edited)?;
        let theirs = self.semver_checks(baseline, &current, lane)?;
        let caller_compiles = if rehearsal.is_addition() {
            Some(self.caller_compiles(&current, lane)?)
        } else {
            None
        };
        Ok(Verdict {
            name: rehearsal.name,
            ours,
            theirs,
            caller_compiles,
        })
    }
}

/// The most rehearsals run at once. Each lane's first run builds every
/// dependency into a target directory of its own.
pub const MAX_LANES: usize = 2;

/// The manifest with `version = "1.0.0"` and a workspace of its own.
fn as_version_1(manifest: &str) -> String {
    let mut out = String::with_capacity(manifest.len());
    let mut in_package = false;
    let mut skipping = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_package = line == "[package]";
            // The workspace's members and the dev-dependencies (the
            // stand-in, which wants the library at its own version) are
            // not copied: the proof builds the library and one example.
            skipping = line == "[workspace]" || line == "[dev-dependencies]";
            if line == "[workspace]" {
                out.push_str("[workspace]\n");
            }
            if skipping {
                continue;
            }
        }
        if skipping {
            continue;
        }
        if in_package && line.starts_with("version = ") {
            out.push_str("version = \"1.0.0\"\n");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Makes `to` a copy of `from`: files written only where they differ, and
/// what `from` no longer has (a file an earlier run copied, since moved)
/// removed.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        if !from.join(entry.file_name()).exists() {
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            let contents = std::fs::read(entry.path())?;
            // Unchanged files keep their time stamps, so cargo rebuilds
            // nothing for them.
            if std::fs::read(&target).ok().as_deref() != Some(&contents[..]) {
                std::fs::write(&target, contents)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{REHEARSALS, as_version_1};

    #[test]
    fn the_copy_is_version_1_in_a_workspace_of_its_own_without_dev_dependencies() {
        let manifest = "[package]\nname = \"x\"\nversion = \"0.2.0\"\n\n[workspace]\nmembers = [\"xtask\"]\n\n[dependencies]\nversion = \"1\"\n\n[dev-dependencies]\nfake = { path = \"fake\" }\n\n[lints.rust]\nx = \"warn\"\n";
        assert_eq!(
            as_version_1(manifest),
            "[package]\nname = \"x\"\nversion = \"1.0.0\"\n\n[workspace]\n[dependencies]\nversion = \"1\"\n\n[lints.rust]\nx = \"warn\"\n"
        );
    }

    #[test]
    fn every_rehearsal_edits_the_checked_in_spec() {
        let workspace = super::Workspace {
            root: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
            work: std::env::temp_dir(),
        };
        let spec = workspace.spec().unwrap();
        for r in REHEARSALS {
            let mut edited = spec.clone();
            (r.edit)(&mut edited);
            assert_ne!(edited, spec, "{}", r.name);
            let report = crate::diff::diff_specs(spec.clone(), edited).unwrap();
            assert_eq!(report.semver(), r.ours, "{}: {}", r.name, report.text());
        }
    }
}
