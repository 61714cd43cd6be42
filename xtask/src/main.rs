//! `cargo xtask spec assemble` and `cargo xtask spec diff`; see the library
//! documentation of each.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xtask::assemble::{self, Layout};
use xtask::diff;

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
