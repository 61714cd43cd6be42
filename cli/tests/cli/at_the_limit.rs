//! Bulk runs against a rate-limited stand-in: the table of limits the CLI
//! keeps to by itself, `--max-rate`, and an orderly Ctrl-C. Their bounds
//! are on wall time, and they spend it waiting on the limit; the name sorts
//! them ahead of the other modules, so that the test runner starts these
//! waits first and runs the rest beside them.

mod max_rate;
mod noisy_gateway;
mod table;
