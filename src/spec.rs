//! Facts about the spec the client was generated from.

/// One operation of the spec, as the build read it.
///
/// ```
/// use runalloy_embedded::OPERATIONS;
///
/// let delete = OPERATIONS.iter().find(|op| op.id == "delete-a-credential").unwrap();
/// assert_eq!((delete.method, delete.path), ("DELETE", "/users/{userId}/credentials/{credentialId}"));
/// assert_eq!(delete.rust_name, "delete_a_credential");
/// let names: Vec<&str> = delete.params.iter().map(|p| p.name).collect();
/// assert_eq!(names, ["credentialId", "userId"]);
/// assert!(delete.body.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId`, such as `delete-a-user`.
    pub id: &'static str,
    /// The name of the generated method, such as `delete_a_user`.
    pub rust_name: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template after normalisation, such as `/users/{userId}`.
    pub path: &'static str,
    /// The spec's one-line summary.
    pub summary: &'static str,
    /// Its parameters, after normalisation (the `Authorization` and
    /// `x-api-version` headers, which the client sends, are not among them).
    pub params: &'static [Param],
    /// Its JSON request body, if it takes one.
    pub body: Option<Body>,
    /// The spec's first example of a success response, as JSON text.
    pub example: Option<&'static str>,
    /// Path parameters that the vendor's document declares in the query
    /// (such as `userId` of `delete-logs-for-a-user`). The client sends
    /// each one's value in the path and, under the same name, in the query,
    /// so that a server reading either place finds it.
    pub also_in_query: &'static [&'static str],
}

/// One parameter of an [`Operation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// The name the spec gives it, such as `userId`.
    pub name: &'static str,
    /// Where it goes: `path`, `query` or `header`.
    pub location: &'static str,
    /// Whether the spec requires it. Path parameters always are.
    pub required: bool,
    /// The schema's type, such as `string` or `integer`; empty if none.
    pub kind: &'static str,
    /// The allowed values, if it is an enum.
    pub values: &'static [&'static str],
}

/// The JSON request body of an [`Operation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Body {
    /// Whether the spec marks the body required.
    pub required: bool,
    /// Its JSON Schema, as JSON text.
    pub schema: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/spec_meta.rs"));

impl Operation {
    /// Whether `segments` (a path's segments after the leading `/`) fit this
    /// operation's template, each `{name}` matching one non-empty segment.
    /// Compares without collecting: the transport runs it on every request.
    pub(crate) fn path_fits<'a>(&self, mut segments: impl Iterator<Item = &'a str>) -> bool {
        let mut template = self.path.split('/').skip(1);
        loop {
            match (segments.next(), template.next()) {
                (None, None) => return true,
                (Some(g), Some(w)) if w.starts_with('{') && !g.is_empty() => {}
                (Some(g), Some(w)) if g == w => {}
                _ => return false,
            }
        }
    }
}

impl Operation {
    /// The value, percent-decoded, that `segments` (a path's segments after
    /// the leading `/`, fitting this operation's template) carry for the
    /// path parameter `name`.
    pub(crate) fn path_value<'a>(
        &self,
        segments: impl Iterator<Item = &'a str>,
        name: &str,
    ) -> Option<std::borrow::Cow<'a, str>> {
        let template = self.path.split('/').skip(1);
        let (segment, _) = segments
            .zip(template)
            .find(|(_, t)| t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) == Some(name))?;
        Some(percent_encoding::percent_decode_str(segment).decode_utf8_lossy())
    }
}

/// The operation whose generated method is `rust_name`.
pub(crate) fn operation(rust_name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.rust_name == rust_name)
}

/// The spec's operation id for a generated method name, such as
/// `delete-a-user` for `delete_a_user`; the name itself if unknown.
pub(crate) fn spec_id(rust_name: &'static str) -> &'static str {
    operation(rust_name).map_or(rust_name, |op| op.id)
}
