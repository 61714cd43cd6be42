//! The library at the wire: every test of the client, the stand-in and the
//! spec normalisation, in one binary with one module per concern, so that
//! the crate is linked once rather than once per file.

use runalloy_embedded_test_support as common;

mod api_errors;
mod api_version;
mod blocking;
mod call_options;
mod config;
mod config_extremes;
mod deadline;
mod erase;
mod fake_every_operation;
mod fake_server;
mod flow_control;
mod hostile_ids;
mod offboard;
mod operation_call;
mod outcome_json;
mod own_http_client;
mod paging;
mod path_property;
mod proxy;
mod raw_response;
mod retries;
mod schemas;
mod secrets;
mod signature;
mod spec_table;
mod stand_in_follows_the_spec;
mod telemetry;
mod tls;
mod typed_pages;
mod what_a_404_proves;
mod wire_every_operation;
mod wire_offboarding;
mod wire_users;
