//! The operations the stand-in keeps state for; every other operation is
//! answered from the spec's examples (`crate::examples`).

pub(crate) mod logs;
pub(crate) mod users;
