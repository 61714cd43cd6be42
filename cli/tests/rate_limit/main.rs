//! Bulk runs against a rate-limited stand-in: the table of limits the CLI
//! keeps to by itself, `--max-rate`, and an orderly Ctrl-C. Apart from the
//! other CLI tests because its bounds are on wall time.

#[path = "../common/mod.rs"]
mod common;

mod max_rate;
mod table;
