//! Facts about the spec the client was generated from.

/// One operation of the spec.
///
/// ```
/// use runalloy_embedded::OPERATIONS;
///
/// let delete = OPERATIONS.iter().find(|op| op.id == "delete-a-user").unwrap();
/// assert_eq!((delete.method, delete.path), ("DELETE", "/users/{userId}"));
/// assert_eq!(delete.rust_name, "delete_a_user");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The spec's `operationId`, such as `delete-a-user`.
    pub id: &'static str,
    /// The name of the generated method, such as `delete_a_user`.
    pub rust_name: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template after normalisation, such as `/users/{userId}`.
    pub path: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/spec_meta.rs"));

/// The operation whose generated method is `rust_name`.
pub(crate) fn operation(rust_name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.rust_name == rust_name)
}

/// The spec's operation id for a generated method name, such as
/// `delete-a-user` for `delete_a_user`; the name itself if unknown.
pub(crate) fn spec_id(rust_name: &'static str) -> &'static str {
    operation(rust_name).map_or(rust_name, |op| op.id)
}
