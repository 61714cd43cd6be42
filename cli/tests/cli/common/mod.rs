//! What the CLI's tests share: the scriptable test server of
//! `runalloy-embedded-test-support`, and running `users erase` or
//! `users offboard` as a user would.

pub use runalloy_embedded_test_support::*;

pub mod erase_cli;
