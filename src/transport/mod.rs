//! The transport: the client and its settings, the send path every
//! operation goes through, the errors, the key, and the spec's facts at run
//! time. It knows nothing of the workflows built on it (`crate::workflows`).

pub(crate) mod api_key;
pub(crate) mod call_options;
pub(crate) mod client;
pub(crate) mod error;
pub(crate) mod limits;
pub(crate) mod observer;
pub(crate) mod send;
pub(crate) mod spec;
pub(crate) mod tls;
pub(crate) mod wait;
