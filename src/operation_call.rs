//! Calling any operation of the spec by its id, with parameters as text and
//! the body as JSON: what `runalloy-embedded api call` does.
//!
//! The call goes through the operation's generated method and
//! [`Client::call`], so it carries the same headers, retries, flow control
//! and errors as every typed call. The build writes the function that maps
//! an operation id to its method (`dispatch.rs` in `$OUT_DIR`), so an
//! operation added to the spec is callable here with no code.

use crate::spec::{Operation, Param};
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
            crate::users::check_path_value(&value)
                .map_err(|why| self.refuse(format!("path parameter `{name}`: {why}")))?;
        }
        if self.params.insert(param.name, value).is_some() {
            return Err(self.refuse(format!("parameter `{name}` is given twice")));
        }
        Ok(self)
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

    #[allow(dead_code)] // Used when the spec has a required non-string parameter.
    fn parsed<T: FromStr>(&self, name: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(name)?;
        self.parse(name, text)
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
        serde_json::from_value(body).map_err(|e| {
            self.refuse(format!(
                "the request body does not match the operation's schema: {e}"
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
    /// # #[cfg(feature = "fake")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use runalloy_embedded::{fake::FakeAlloy, Client, OperationCall};
    ///
    /// let fake = FakeAlloy::start("k").await?;
    /// let client = Client::builder().api_key("k").base_url(fake.base_url()).build()?;
    /// let call = OperationCall::new("get-workflow-analytics")?.param("workflowId", "wf-1")?;
    /// let analytics = client.call_operation(&call).await?;
    /// assert!(analytics["totalWorkflowRuns"].is_i64());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "fake"))]
    /// # fn main() {}
    /// ```
    pub async fn call_operation(&self, call: &OperationCall) -> Result<Value, Error> {
        call.check_present()?;
        dispatch(self, call).await
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

fn to_json<T: serde::Serialize>(operation: &'static str, value: T) -> Result<Value, Error> {
    // Only a map with non-string keys fails here, and a decoded response
    // holds none; the error still says what happened rather than panicking.
    serde_json::to_value(value).map_err(|source| Error::Undecodable {
        operation,
        status: reqwest::StatusCode::OK,
        excerpt: String::new(),
        source: Box::new(crate::error::DecodeFault::of(&source)),
        attempts: 1,
    })
}

/// A response progenitor returns as raw bytes: JSON if it parses, else the
/// text as a JSON string.
#[allow(dead_code)] // Used only when the spec has such an operation.
async fn to_json_bytes(
    operation: &'static str,
    stream: progenitor_client::ByteStream,
) -> Result<Value, Error> {
    use futures::TryStreamExt;
    let chunks: Vec<bytes::Bytes> =
        stream
            .into_inner()
            .try_collect()
            .await
            .map_err(|source| Error::Transport {
                operation,
                attempts: 1,
                source: Box::new(source),
            })?;
    let body = chunks.concat();
    Ok(serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())))
}
