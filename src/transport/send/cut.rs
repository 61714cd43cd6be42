//! The cut: what the send path hands the error mapping when the deadline
//! cut a call short, carried on the response it returns (in its
//! extensions), since progenitor's `exec` can return no error of ours.

use crate::transport::error::write_cut;
use crate::transport::wait::Wait;
use std::fmt;
use std::time::Duration;

/// A call that the deadline cut short: the wait that did not fit, and what
/// was left of the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    pub(crate) wait: Wait,
    pub(crate) left: Duration,
    /// Whether the response carrying it is a real one (the last answer)
    /// rather than a stand-in made because no request had left.
    pub(crate) answered: bool,
}

impl Cut {
    /// What the cut says, for `operation`, to a caller of the generated
    /// client (which sees it as a hook's error text).
    pub(crate) fn describe(&self, operation: &'static str) -> String {
        struct Head<'a>(&'a Cut, &'static str);
        impl fmt::Display for Head<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_cut(f, self.1, self.0.wait, self.0.left)
            }
        }
        Head(self, operation).to_string()
    }
}
