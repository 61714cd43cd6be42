//! What the CLI's tests share: the library's scriptable test server, and
//! running `users erase` or `users offboard` as a user would.

#[path = "../../../tests/common/mod.rs"]
mod server;

pub use server::*;

pub mod erase_cli;
