//! The `runalloy-embedded` command line, run as a user runs it, against
//! scripted servers and the stand-in. One binary, one module per concern.
//! The rate-limit modules (`at_the_limit`) wait on the stand-in's limit for
//! tens of seconds; in this binary the other modules run meanwhile.

mod common;

mod api;
mod at_the_limit;
mod erase;
mod erase_input;
mod erase_target;
mod export;
mod offboard;
mod proxy;
mod signature;
mod users;
