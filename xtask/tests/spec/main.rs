//! `cargo xtask spec ...`, in one binary: one module per command.

mod assemble;
mod diff;
