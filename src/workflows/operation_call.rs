//! Calling any operation of the spec by its id, with parameters as text and
//! the body as JSON: what `runalloy-embedded api call` does.
//!
//! The call goes through the operation's generated method and
//! [`Client::call`], so it carries the same headers, retries, flow control
//! and errors as every typed call. The build writes the function that maps
//! an operation id to its method (`dispatch.rs` in `$OUT_DIR`), so an
//! operation added to the spec is callable here with no code.

use crate::transport::spec::{Operation, Param};
use crate::{Client, Error, OPERATIONS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::str::FromStr;

include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));

/// One call of any operation, checked before anything is sent.
///
/// Every check names the operation and the parameter: an unknown operation
/// or parameter, a parameter given twice, a path value that is not one safe
/// segment (see [`crate::check_user_id`] for the rules), a missing required
/// parameter, a body for an operation that takes none, or a missing body
/// that the spec requires.
///
/// ```
/// use runalloy_embedded::OperationCall;
///
/// let call = OperationCall::new("delete-a-credential")?
///     .param("userId", "6323d7c9122ae69742a5d0a2")?
///     .param("credentialId", "66fb066c3793749b64c214bc")?;
/// call.check()?;
///
/// let missing = OperationCall::new("delete-a-credential")?.param("userId", "u-1")?;
/// assert_eq!(
///     missing.check().unwrap_err().to_string(),
///     "invalid input: delete-a-credential: the required path parameter `credentialId` is missing; nothing was sent"
/// );
/// assert!(OperationCall::new("no-such-operation").is_err());
/// # Ok::<(), runalloy_embedded::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OperationCall {
    operation: &'static Operation,
    params: BTreeMap<&'static str, String>,
    body: Option<Value>,
}

impl OperationCall {
    /// Starts a call of the operation whose spec id is `operation_id`, such
    /// as `list-user-credentials`.
    pub fn new(operation_id: &str) -> Result<Self, Error> {
        let operation = OPERATIONS
            .iter()
            .find(|op| op.id == operation_id)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "`{}` is not an operation of the spec; `runalloy-embedded api list` shows them",
                    crate::escape_controls(operation_id)
                ))
            })?;
        Ok(Self {
            operation,
            params: BTreeMap::new(),
            body: None,
        })
    }

    /// The operation being called.
    pub fn operation(&self) -> &'static Operation {
        self.operation
    }

    /// Sets a parameter by the name the spec gives it, such as `userId`.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Result<Self, Error> {
        let param = self.spec_param(name).ok_or_else(|| {
            let known: Vec<&str> = self.operation.params.iter().map(|p| p.name).collect();
            self.refuse(format!(
                "`{}` is not a parameter of it (it takes: {})",
                crate::escape_controls(name),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let value = value.into();
        if param.location == "path" {
            crate::transport::send::check_path_value(&value)
                .map_err(|why| self.refuse(format!("path parameter `{name}`: {why}")))?;
        }
        if self.params.insert(param.name, value).is_some() {
            return Err(self.refuse(format!("parameter `{name}` is given twice")));
        }
        Ok(self)
    }

    /// The text given for the parameter `name`, if any.
    pub fn param_value(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Sets the parameter `name`, replacing a value given before; for the
    /// paging, which moves the position and the limit from page to page.
    pub(crate) fn replace_param(&mut self, name: &'static str, value: String) {
        self.params.insert(name, value);
    }

    /// Sets the JSON request body.
    pub fn body(mut self, body: Value) -> Result<Self, Error> {
        if self.operation.body.is_none() {
            return Err(self.refuse(format!(
                "{} {} takes no request body",
                self.operation.method, self.operation.path
            )));
        }
        self.body = Some(body);
        Ok(self)
    }

    /// Refuses the call if a required parameter or body is missing, a value
    /// does not parse as its parameter's type, or the body does not decode
    /// as the operation's request type.
    pub fn check(&self) -> Result<(), Error> {
        self.check_present()?;
        convert_arguments(self)
    }

    /// The required parameters and body are there. The conversions
    /// [`OperationCall::check`] also makes are made again by `dispatch`,
    /// with the same errors, before anything is sent.
    fn check_present(&self) -> Result<(), Error> {
        let op = self.operation;
        if let Some(missing) = op
            .params
            .iter()
            .find(|p| p.required && !self.params.contains_key(p.name))
        {
            return Err(self.missing(missing.name));
        }
        if op.body.is_some_and(|b| b.required) && self.body.is_none() {
            return Err(self.refuse("the request body is required".to_owned()));
        }
        Ok(())
    }

    fn refuse(&self, why: String) -> Error {
        Error::InvalidInput(format!("{}: {why}", self.operation.id))
    }

    fn missing(&self, name: &str) -> Error {
        let location = self.spec_param(name).map_or("", |p| p.location);
        self.refuse(format!(
            "the required {location} parameter `{name}` is missing"
        ))
    }

    fn spec_param(&self, name: &str) -> Option<&'static Param> {
        self.operation.params.iter().find(|p| p.name == name)
    }

    // The accessors below are what the generated `dispatch` reads.

    fn text(&self, name: &str) -> Result<&str, Error> {
        self.opt_text(name).ok_or_else(|| self.missing(name))
    }

    fn opt_text(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    fn opt_parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error>
    where
        T::Err: std::fmt::Display,
    {
        self.opt_text(name)
            .map(|text| self.parse(name, text))
            .transpose()
    }

    fn parse<T: FromStr>(&self, name: &str, text: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        text.parse().map_err(|e: T::Err| {
            let expected = match self.spec_param(name) {
                Some(p) if !p.values.is_empty() => format!("one of {}", p.values.join(", ")),
                Some(p) if !p.kind.is_empty() => format!("a value of type {}", p.kind),
                _ => "another value".to_owned(),
            };
            self.refuse(format!(
                "parameter `{name}` must be {expected}, not {:?} ({e})",
                crate::escape_controls(text)
            ))
        })
    }

    fn body_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        // An optional body left out is sent as `{}`, which every schema of
        // only optional properties accepts.
        let body = self
            .body
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default()));
        serde_path_to_error::deserialize(body).map_err(|e| {
            let (pointer, why) = body_fault(&e);
            self.refuse(format!(
                "the request body does not match the operation's schema: {pointer}: {why}"
            ))
        })
    }
}

impl Client {
    /// Calls any operation of the spec through its generated method, and
    /// returns the response's JSON as the API sent it, once it has decoded
    /// as the operation's response type (otherwise [`Error::Undecodable`]).
    /// See [`OperationCall`] for the checks made before sending.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::{Client, OperationCall};
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let call = OperationCall::new("get-workflow-analytics")?.param("workflowId", "wf-1")?;
    /// let analytics = client.call_operation(&call).await?;
    /// assert!(analytics["totalWorkflowRuns"].is_i64());
    /// # Ok(()) }
    /// ```
    pub async fn call_operation(&self, call: &OperationCall) -> Result<Value, Error> {
        Ok(self.call_operation_raw(call).await?.into_body())
    }

    /// [`Client::call_operation`], keeping the response's status and
    /// headers (what `api call --include` prints).
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::{Client, OperationCall};
    /// use runalloy_embedded_fake::FakeAlloy;
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let call = OperationCall::new("list-all-users")?;
    /// let response = client.call_operation_raw(&call).await?;
    /// assert_eq!(response.status().as_u16(), 200);
    /// assert!(response.headers().contains_key("content-type"));
    /// assert!(response.body()["data"].is_array());
    /// # Ok(()) }
    /// ```
    pub async fn call_operation_raw(
        &self,
        call: &OperationCall,
    ) -> Result<OperationResponse, Error> {
        call.check_present()?;
        dispatch(self, call).await
    }
}

/// An operation's answer by [`Client::call_operation_raw`]: its status, its
/// headers, and its body as the API sent it.
#[derive(Debug, Clone)]
pub struct OperationResponse {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl OperationResponse {
    pub(crate) fn new(
        status: reqwest::StatusCode,
        headers: reqwest::header::HeaderMap,
        body: Value,
    ) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    /// The response headers, as the server sent them.
    pub fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The body as JSON.
    pub fn body(&self) -> &Value {
        &self.body
    }

    /// The body, owned.
    pub fn into_body(self) -> Value {
        self.body
    }
}

/// The response as the API sent it, once it has decoded as the operation's
/// type: re-encoding the type would drop what it leaves out, such as empty
/// lists and fields the spec does not name.
fn as_received<T: serde::Serialize>(
    operation: &'static str,
    body: Option<bytes::Bytes>,
    value: T,
) -> Result<Value, Error> {
    match body.and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(received) => Ok(received),
        None => to_json(operation, value),
    }
}

/// Where a body that does not fit its type is at fault, as a JSON pointer
/// (RFC 6901; `/` alone for the body itself), and why, in the body's own
/// terms: `expected a string, got a number`, not serde's Rust names.
fn body_fault(error: &serde_path_to_error::Error<serde_json::Error>) -> (String, String) {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in error.path().iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    let message = error.inner().to_string();
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let why = if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (got, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another type"));
        format!(
            "expected {}, got {}",
            json_expected(expected),
            json_kind(got)
        )
    } else if let Some(rest) = message.strip_prefix("missing field ") {
        if let Some(field) = quoted(rest) {
            pointer.push('/');
            pointer.push_str(&field);
        }
        "a required field is missing".to_owned()
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (got, expected) = rest
            .split_once(", expected ")
            .unwrap_or((rest, "another value"));
        format!("expected {expected}, got {got}")
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        // The path already ends at the unknown field.
        let expected = rest
            .split_once(", expected ")
            .map_or("no other field", |(_, e)| e);
        format!("not a field of this object (expected {expected})")
    } else {
        message
    };
    if pointer.is_empty() {
        pointer.push('/');
    }
    (pointer, why)
}

/// What serde says it expected (`struct X`, `a map`, `a sequence`, `i64`)
/// in JSON's words.
fn json_expected(serde: &str) -> &str {
    match serde {
        s if s.starts_with("struct ") || s == "a map" || s == "map" => "an object",
        "a sequence" | "sequence" => "an array",
        "i64" | "u64" | "i32" | "u32" | "an integer" | "usize" | "isize" => "an integer",
        "f64" | "f32" | "a floating point" => "a number",
        other => other,
    }
}

/// What serde calls a JSON value (`integer `1``, `string "a"`, `map`) in
/// JSON's words.
fn json_kind(serde: &str) -> &'static str {
    match serde.split([' ', '`']).next().unwrap_or_default() {
        "integer" | "floating" => "a number",
        "string" | "character" => "a string",
        "boolean" => "a boolean",
        "map" => "an object",
        "sequence" => "an array",
        "unit" | "null" => "null",
        _ => "another type",
    }
}

fn to_json<T: serde::Serialize>(operation: &'static str, value: T) -> Result<Value, Error> {
    // Only a map with non-string keys fails here, and a decoded response
    // holds none; the error still says what happened rather than panicking.
    serde_json::to_value(value).map_err(|source| Error::Undecodable {
        operation,
        status: reqwest::StatusCode::OK,
        excerpt: String::new(),
        source: Box::new(crate::transport::error::DecodeFault::of(&source)),
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::body_fault;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Filter {
        sort_order: Order,
        pages: Vec<u32>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Order {
        Asc,
        Desc,
    }

    fn fault(body: serde_json::Value) -> String {
        let error = serde_path_to_error::deserialize::<_, Filter>(body).unwrap_err();
        let (pointer, why) = body_fault(&error);
        format!("{pointer}: {why}")
    }

    #[test]
    fn each_fault_names_its_pointer_in_jsons_words() {
        let cases = [
            (
                json!({"sortOrder": "sideways", "pages": []}),
                "/sortOrder: expected `asc` or `desc`, got `sideways`",
            ),
            (
                json!({"sortOrder": "asc", "pages": [1, "two"]}),
                "/pages/1: expected an integer, got a string",
            ),
            (
                json!({"sortOrder": "asc", "pages": [], "limit": 3}),
                "/limit: not a field of this object (expected `sortOrder` or `pages`)",
            ),
            (
                json!({"sortOrder": "asc"}),
                "/pages: a required field is missing",
            ),
            (json!(null), "/: expected an object, got null"),
        ];
        for (body, says) in cases {
            assert_eq!(fault(body), says);
        }
        // The same type takes a body that fits it.
        let fits: Filter =
            serde_json::from_value(json!({"sortOrder": "desc", "pages": [1, 2]})).unwrap();
        assert_eq!((fits.sort_order, fits.pages), (Order::Desc, vec![1, 2]));
    }
}
