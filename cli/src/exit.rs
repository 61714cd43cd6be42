//! How a command ends when it cannot do its work: one message and one exit
//! code per kind, for every command.

use runalloy_embedded::Error;
use std::fmt::Display;
use std::process::ExitCode;

/// Refuses a command's input, naming why: exits 2, and nothing was sent.
pub fn invalid_input(why: impl Display) -> ExitCode {
    eprintln!("error: invalid input: {why}; nothing was sent");
    ExitCode::from(2)
}

/// Ends with `error`, naming the request id the API or a gateway sent if
/// any: exits 2 when it refused the input (its text says that nothing was
/// sent), 1 otherwise.
pub fn failed(error: Error) -> ExitCode {
    match error.request_id() {
        Some(id) => eprintln!("error: {error} (request id {id})"),
        None => eprintln!("error: {error}"),
    }
    ExitCode::from(if error.is_invalid_input() { 2 } else { 1 })
}
