//! The `runalloy-embedded` command line, run as a user runs it, against
//! scripted servers and the stand-in. One binary, one module per concern.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod erase;
mod erase_input;
mod erase_target;
mod export;
mod offboard;
mod proxy;
mod signature;
mod users;
