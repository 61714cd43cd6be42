//! `cargo xtask spec assemble`, `cargo xtask spec diff` and `cargo xtask
//! spec semver-proof`; see the library documentation of each.

use clap::{Parser, Subcommand, ValueEnum};
use runalloy_embedded_normalise::restate_31;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xtask::assemble::{self, Layout};
use xtask::{diff, semver_proof};

/// Maintainer tools for runalloy-embedded.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The spec: assemble it from the vendor's documents, or diff two.
    #[command(subcommand)]
    Spec(Spec),
}

#[derive(Debug, Subcommand)]
enum Spec {
    /// Merge openapi/VERSION/vendor/*.yaml, apply
    /// openapi/VERSION/completions.overlay.yaml, and write
    /// openapi/embedded-VERSION.yaml.
    Assemble {
        /// The version to assemble; by default that of the one
        /// openapi/embedded-VERSION.yaml.
        #[arg(long)]
        version: Option<String>,
        /// Write here instead of openapi/embedded-VERSION.yaml.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 if the checked-in spec differs from what
        /// assembling gives.
        #[arg(long, conflicts_with = "out")]
        check: bool,
        /// The openapi/ folder to work in (the repository's by default).
        #[arg(long, value_name = "DIR")]
        openapi: Option<PathBuf>,
    },
    /// Compare two assembled specs and print every change, breaking first.
    /// Exits 0 with no breaking change, 1 with one, 2 if an input cannot be
    /// read.
    Diff {
        /// The current spec.
        old: PathBuf,
        /// The new spec.
        new: PathBuf,
        /// Text (default) or JSON.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Restate a 3.0 spec as the vendor's tooling would export it in OpenAPI
    /// 3.1 (nullable as a type list, schema examples as lists, one-value
    /// enums as `const`), to rehearse a 3.1 upgrade.
    RestateOpenapi31 {
        /// The 3.0 spec.
        input: PathBuf,
        /// Where to write the 3.1 spec (YAML).
        output: PathBuf,
    },
    /// Generate the crate from rehearsal edits of the spec and check each of
    /// `spec diff`'s verdicts against cargo-semver-checks (which must be
    /// installed). Exits 1 if any disagrees with the rules.
    SemverProof {
        /// The scratch folder for the copies and their build (kept, so that
        /// a second run is quick); `semver-proof` in the target directory
        /// (`$CARGO_TARGET_DIR`, or `target/`) by default.
        #[arg(long, value_name = "DIR")]
        work: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let Command::Spec(spec) = cli.command;
    match spec {
        Spec::Assemble {
            version,
            out,
            check,
            openapi,
        } => {
            let openapi =
                openapi.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi"));
            run_assemble(&openapi, version.as_deref(), out, check)
        }
        Spec::Diff { old, new, format } => match diff::diff_files(&old, &new) {
            Ok(report) => {
                match format {
                    Format::Text => print!("{}", report.text()),
                    Format::Json => println!("{}", report.json()),
                }
                ExitCode::from(if report.is_breaking() { 1 } else { 0 })
            }
            Err(problem) => {
                eprintln!("error: {problem}");
                ExitCode::from(2)
            }
        },
        Spec::RestateOpenapi31 { input, output } => restate_openapi_31(&input, &output),
        Spec::SemverProof { work } => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            // Beside the build's own artifacts: in the target directory
            // cargo was told to use, if any.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), PathBuf::from);
            let work = work.unwrap_or_else(|| target.join("semver-proof"));
            run_semver_proof(semver_proof::Workspace { root, work })
        }
    }
}

fn restate_openapi_31(input: &Path, output: &Path) -> ExitCode {
    let restated = match xtask::read_yaml_as_json(input) {
        Ok(spec) => restate_31::to_openapi_31(&spec),
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    let text = serde_norway::to_string(&restated).unwrap_or_default();
    match std::fs::write(output, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}: {e}", output.display());
            ExitCode::from(2)
        }
    }
}

fn run_semver_proof(workspace: semver_proof::Workspace) -> ExitCode {
    println!(
        "{:<66} {:>9} {:>19} caller",
        "rehearsal", "spec diff", "cargo-semver-checks"
    );
    let mut wrong = 0;
    let result = workspace.prove(|v| {
        let rehearsal = semver_proof::REHEARSALS.iter().find(|r| r.name == v.name);
        let problem = rehearsal.and_then(|r| v.problem(r));
        let caller = match v.caller_compiles {
            Some(true) => "compiles",
            Some(false) => "BROKEN",
            None => "-",
        };
        println!("{:<66} {:>9} {:>19} {caller}", v.name, v.ours, v.theirs);
        if let Some(problem) = problem {
            wrong += 1;
            println!("  error: {problem}");
        }
    });
    match result {
        Ok(_) if wrong == 0 => {
            println!("semver-proof: every verdict agrees with the rules");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("error: {wrong} verdict(s) disagree with the rules");
            ExitCode::from(1)
        }
        Err(problem) => {
            eprintln!("error: {problem}");
            ExitCode::from(2)
        }
    }
}

fn run_assemble(
    openapi: &Path,
    version: Option<&str>,
    out: Option<PathBuf>,
    check: bool,
) -> ExitCode {
    let layout = match version {
        Some(v) => Ok(Layout::new(openapi, v)),
        None => Layout::current(openapi),
    };
    let assembled = layout.and_then(|layout| Ok((assemble::assemble(&layout)?, layout)));
    let (text, layout) = match assembled {
        Ok(done) => done,
        Err(problem) => {
            eprintln!("error: {problem}");
            return ExitCode::from(2);
        }
    };
    if check {
        let current = std::fs::read_to_string(&layout.output).unwrap_or_default();
        if current != text {
            eprintln!(
                "error: {} is not what `cargo xtask spec assemble` makes of openapi/{}/; \
                 edit the vendor documents or the overlay, then assemble",
                layout.output.display(),
                layout.version
            );
            return ExitCode::from(1);
        }
        println!(
            "{} matches its vendor documents and completions",
            layout.output.display()
        );
        return ExitCode::SUCCESS;
    }
    let target = out.unwrap_or(layout.output);
    match std::fs::write(&target, text) {
        Ok(()) => {
            println!("wrote {}", target.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", target.display());
            ExitCode::from(2)
        }
    }
}
