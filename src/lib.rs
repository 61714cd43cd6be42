#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod api;
mod api_key;
mod call_options;
mod client;
mod confirm;
mod credentials;
mod deadline;
mod erase;
mod error;
mod export;
mod observer;
mod offboard;
mod operation_call;
mod paging;
mod retry;
mod send;
#[cfg(feature = "signature")]
pub mod signature;
mod spec;
mod users;
mod workflows;

pub use api_key::ApiKey;
pub use call_options::CallOptions;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_LIMITER_URL, USER_AGENT,
};
pub use deadline::{DeadlineExceeded, Wait};
pub use erase::{EraseOutcome, OutcomeStatus, PartOutcome, PartStatus};
pub use error::{ApiFailure, BoxError, Error, escape_controls};
pub use export::UserExport;
pub use observer::{CallEvent, EventKind, Observer};
pub use offboard::{OffboardOutcome, OffboardProgress};
pub use operation_call::OperationCall;
pub use retry::RetryPolicy;
pub use send::capture_last_body;
pub use send::flow::FlowStats;
#[cfg(feature = "redis")]
pub use send::flow::redis::LimiterStats;
pub use spec::{API_VERSION, Body, OPERATIONS, Operation, PageStyle, Paging, Param, SPEC_FILE};
pub use users::{MAX_BATCH_USERS, MAX_USER_ID_BYTES, check_user_id};
