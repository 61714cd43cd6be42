//! Maintainer tools for runalloy-embedded, run as `cargo xtask spec ...`.
//! Not part of the published crate.
//!
//! - [`assemble`]: merges one version's vendor documents and applies our
//!   completions (an Overlay 1.0 file) into the one spec the build reads.
//! - [`diff`]: compares two assembled specs and classifies every change as
//!   breaking or not for callers of the generated Rust API.
//! - [`examples`]: checks that every example of the assembled spec agrees
//!   with its schema.
//! - [`semver_proof`]: checks `diff`'s verdicts against `cargo-semver-checks`
//!   on crates generated from rehearsal edits of the spec.

pub mod assemble;
pub mod diff;
pub mod examples;
pub mod overlay;
pub mod semver_proof;
pub mod yaml11;

use std::path::Path;

/// Why an input could not be used. Each names the file or files at fault.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A file or folder cannot be read or parsed.
    #[error("{file}: {why}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
    /// Two documents say different things about the same item.
    #[error("{what}: in {first} and in {second}")]
    Conflict {
        /// What conflicts.
        what: String,
        /// The first file that says it.
        first: String,
        /// The file that says otherwise.
        second: String,
    },
    /// An overlay action cannot be applied.
    #[error("{file}: action {action}: {why}")]
    Overlay {
        /// The overlay file.
        file: String,
        /// The action's position, from 1.
        action: usize,
        /// Why.
        why: String,
    },
}

/// Reads a YAML (or JSON) file as JSON, as the spec tools compare it.
pub fn read_yaml_as_json(file: &Path) -> Result<serde_json::Value, Problem> {
    serde_json::to_value(read_yaml(file)?).map_err(|e| Problem::Read {
        file: file.display().to_string(),
        why: format!("cannot be read as JSON: {e}"),
    })
}

/// Reads a YAML (or JSON) file.
pub fn read_yaml(file: &Path) -> Result<serde_norway::Value, Problem> {
    let shown = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|e| Problem::Read {
        file: shown.clone(),
        why: e.to_string(),
    })?;
    serde_norway::from_str(&text).map_err(|e| Problem::Read {
        file: shown,
        why: format!("not valid YAML: {e}"),
    })
}
