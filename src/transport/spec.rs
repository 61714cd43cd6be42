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
    /// How it pages, when the spec declares it (our `x-runalloy-paging`):
    /// [`Client::paginate`](crate::Client::paginate) walks every page.
    pub paging: Option<Paging>,
}

/// How a paged operation walks its pages, as the spec declares it.
///
/// ```
/// use runalloy_embedded::{OPERATIONS, PageStyle};
///
/// let logs = OPERATIONS.iter().find(|op| op.id == "get-logs").unwrap();
/// let paging = logs.paging.unwrap();
/// assert_eq!(paging.style, PageStyle::Offset { param: "skip" });
/// assert_eq!((paging.limit_param, paging.items), ("limit", "notifications"));
/// assert_eq!((paging.page_size, paging.max_page_size), (10, None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Paging {
    /// Where the next page starts.
    pub style: PageStyle,
    /// The query parameter that sets the page's size.
    pub limit_param: &'static str,
    /// How many items a page is asked for when the caller sets no limit:
    /// the API's cap, or the size the vendor shows where it gives no cap.
    pub page_size: u32,
    /// The largest page the vendor documents, if it documents one: a
    /// caller's larger limit is lowered to it. Without one, the caller's
    /// limit is sent as given.
    pub max_page_size: Option<u32>,
    /// Where the items are in an answer, as a dotted path (`data`).
    pub items: &'static str,
    /// Where an answer gives the number of pages, if it does
    /// (`pagination.totalPages`).
    pub total_pages: Option<&'static str>,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageStyle {
    /// An offset in items (`skip`), from 0.
    Offset {
        /// The query parameter.
        param: &'static str,
    },
    /// A page number (`page`), from `first`.
    Page {
        /// The query parameter.
        param: &'static str,
        /// The first page's number.
        first: u32,
    },
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
    /// The schema's format, such as `int32`; empty if none.
    pub format: &'static str,
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

/// Each operation's request and response JSON Schemas, made by schemars
/// from the generated types (written by the build, `build/dispatch.rs`).
mod schemas {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

impl Operation {
    /// The JSON Schema of its request body, made at run time by schemars
    /// from the type the client sends, so that it never drifts from the
    /// code; `None` if it takes no body.
    ///
    /// ```
    /// let op = runalloy_embedded::OPERATIONS.iter().find(|op| op.id == "create-a-user").unwrap();
    /// let schema = op.request_schema().unwrap();
    /// assert!(schema["properties"]["username"].is_object());
    /// ```
    pub fn request_schema(&self) -> Option<serde_json::Value> {
        schemas::request_schema(self.rust_name).and_then(|schema| serde_json::to_value(schema).ok())
    }

    /// The JSON Schema of the type a success decodes to, made at run time
    /// by schemars; `None` for an operation whose success has no JSON body.
    pub fn response_schema(&self) -> Option<serde_json::Value> {
        schemas::response_schema(self.rust_name)
            .and_then(|schema| serde_json::to_value(schema).ok())
    }

    /// Whether `segments` (a path's segments after the leading `/`) fit this
    /// operation's template, each `{name}` matching one non-empty segment;
    /// `parameter` hears of each `(name, segment)` as it matches. Compares
    /// without collecting: the send path runs it on every request.
    pub(crate) fn match_path<'a>(
        &self,
        mut segments: impl Iterator<Item = &'a str>,
        mut parameter: impl FnMut(&'static str, &'a str),
    ) -> bool {
        let mut template = self::segments(self.path);
        loop {
            match (segments.next(), template.next()) {
                (None, None) => return true,
                (Some(g), Some(w)) if w.starts_with('{') && !g.is_empty() => {
                    parameter(w.trim_start_matches('{').trim_end_matches('}'), g);
                }
                (Some(g), Some(w)) if g == w => {}
                _ => return false,
            }
        }
    }

    /// Whether `path` (without its query) fits this operation's template,
    /// each `{name}` matching one non-empty segment.
    ///
    /// ```
    /// let op = runalloy_embedded::OPERATIONS.iter().find(|op| op.id == "delete-a-user").unwrap();
    /// assert!(op.matches_path("/users/u%201"));
    /// assert!(!op.matches_path("/users/"));
    /// assert!(!op.matches_path("/users/u1/logs"));
    /// ```
    pub fn matches_path(&self, path: &str) -> bool {
        self.match_path(segments(path), |_, _| {})
    }

    /// The value, percent-decoded, that `path` (fitting this operation's
    /// template) carries for the path parameter `name`; `None` when the path
    /// does not fit or the template has no such parameter.
    ///
    /// ```
    /// let op = runalloy_embedded::OPERATIONS.iter().find(|op| op.id == "delete-a-user").unwrap();
    /// assert_eq!(op.path_value("/users/u%201", "userId").as_deref(), Some("u 1"));
    /// assert_eq!(op.path_value("/users/u1", "credentialId"), None);
    /// ```
    pub fn path_value<'a>(&self, path: &'a str, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        let mut found = None;
        let fits = self.match_path(segments(path), |n, segment| {
            if n == name && found.is_none() {
                found = Some(segment);
            }
        });
        found
            .filter(|_| fits)
            .map(|segment| percent_encoding::percent_decode_str(segment).decode_utf8_lossy())
    }
}

/// The segments of `path` after its leading `/`, as `path.split('/').skip(1)`
/// gives them. A byte search: `str::split` costs several times more on the
/// short paths that the send path splits for every request.
pub(crate) fn segments(path: &str) -> Segments<'_> {
    let mut all = Segments { rest: Some(path) };
    all.next();
    all
}

/// The iterator of [`segments`].
pub(crate) struct Segments<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == b'/') {
            Some(slash) => {
                self.rest = Some(&rest[slash + 1..]);
                Some(&rest[..slash])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The operation whose generated method is `rust_name`.
pub(crate) fn operation(rust_name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.rust_name == rust_name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_are_what_split_at_slashes_gives_after_the_first() {
        for path in [
            "",
            "/",
            "//",
            "/users",
            "/users/",
            "/users/u-1/logs",
            "users/u-1",
            "/a//b/",
            "/é/ü",
            "/%2F/x",
        ] {
            let ours: Vec<&str> = super::segments(path).collect();
            let split: Vec<&str> = path.split('/').skip(1).collect();
            assert_eq!(ours, split, "{path:?}");
        }
    }
}
