//! The client and types that progenitor generates from the spec at build
//! time. Nothing here is written by hand; see `build.rs`.
//!
//! Reach these through [`crate::Client::api`] and [`crate::Client::call`],
//! which add the credentials, retries and error mapping.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/alloy_api.rs"));
