#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod api;
#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "signature")]
pub mod signature;
mod transport;
mod workflows;

/// The response [`Client::call_raw`] gives: `status()`, `headers()` and
/// the decoded body (`into_inner()`).
pub use progenitor_client::ResponseValue;
pub use transport::api_key::ApiKey;
pub use transport::call_options::CallOptions;
pub use transport::client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, ENV_API_KEY, ENV_BASE_URL, ENV_LIMITER_URL, USER_AGENT,
};
pub use transport::error::{ApiFailure, BoxError, DeadlineExceeded, Error, escape_controls};
pub use transport::observer::{CallEvent, EventKind, Observer};
pub use transport::send::flow::FlowStats;
#[cfg(feature = "redis")]
pub use transport::send::flow::redis::LimiterStats;
pub use transport::send::{RetryPolicy, capture_last_body};
pub use transport::spec::{
    API_VERSION, Body, OPERATIONS, Operation, PageStyle, Paging, Param, SPEC_FILE,
};
pub use transport::wait::Wait;
pub use workflows::erase::{EraseOutcome, ErrorSummary, OutcomeStatus, PartOutcome, PartStatus};
pub use workflows::export::UserExport;
pub use workflows::offboard::{OffboardOutcome, OffboardProgress};
pub use workflows::operation_call::{OperationCall, OperationResponse};
pub use workflows::users::{MAX_BATCH_USERS, MAX_USER_ID_BYTES, check_user_id};
