//! The workflows built on the transport (`crate::transport`), one module per
//! area: the Users, Credentials and Workflows methods, what counts as the
//! API's confirmation, erase, offboarding, the GDPR access export, calls by
//! operation id and paging, and what a 404 proves (`target`).

pub(crate) mod confirm;
pub(crate) mod credentials;
pub(crate) mod deactivate;
pub(crate) mod erase;
pub(crate) mod export;
pub(crate) mod offboard;
pub(crate) mod operation_call;
pub(crate) mod paging;
pub(crate) mod target;
pub(crate) mod typed_paging;
pub(crate) mod users;
