//! What counts as the API confirming that it did something.
//!
//! A generated response type decodes bodies that confirm nothing: `{}`
//! decodes with every optional field absent, and a spec default would once
//! have filled `success` with `true`. The methods whose outcome is counted
//! (the deletes an erase or offboarding reports) therefore read the body as
//! the server wrote it, and accept only the documented confirmation.

use crate::send::CallSummary;
use crate::{ApiFailure, Client, Error, api};
use progenitor_client::ResponseValue;
use serde_json::Value;

/// What a 2xx body says about the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The documented confirmation.
    Confirmed,
    /// The API says it did not do it, such as `{"success": false}`.
    Refused,
    /// Nothing either way.
    Unconfirmed,
}

/// The rule of `delete-a-user` and `delete-a-credential`: `"success": true`,
/// written by the server.
pub(crate) fn success_flag(body: &Value) -> Verdict {
    match body.get("success") {
        Some(Value::Bool(true)) => Verdict::Confirmed,
        Some(Value::Bool(false)) => Verdict::Refused,
        _ => Verdict::Unconfirmed,
    }
}

/// The rule of `delete-logs-for-a-user` and
/// `disable-all-workflows-for-a-user`: the documented object with a
/// `message` string (`{"message": "Success"}`).
pub(crate) fn message(body: &Value) -> Verdict {
    match body.get("message") {
        Some(Value::String(_)) => Verdict::Confirmed,
        _ => Verdict::Unconfirmed,
    }
}

/// The rule of the lists an erase or offboarding acts on
/// (`list-all-users`, `list-user-credentials`): the documented object with a
/// `data` list. `{}` decodes as an empty list, which would read as "nothing
/// to delete" when the server said nothing at all.
pub(crate) fn data_list(body: &Value) -> Verdict {
    match body.get("data") {
        Some(Value::Array(_)) => Verdict::Confirmed,
        _ => Verdict::Unconfirmed,
    }
}

impl Client {
    /// [`Client::call`], for an operation whose success must be confirmed
    /// by `rule` reading the body the server sent.
    ///
    /// A 2xx that the rule does not confirm is [`Error::Unconfirmed`]; one
    /// it reads as a refusal is [`Error::Rejected`]. So is, as
    /// unconfirmed, a 2xx the spec does not document (`204`) or whose body
    /// does not decode (`null`): each is a success status that says nothing.
    pub(crate) async fn call_confirmed<'a, F, Fut, T, E>(
        &'a self,
        operation: F,
        rule: fn(&Value) -> Verdict,
    ) -> Result<T, Error>
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let (result, call, body) = self.call_recorded(operation).await;
        let body = body.unwrap_or_default();
        let value = match result {
            Ok(value) => value,
            Err(e @ (Error::Api(_) | Error::Undecodable { .. }))
                if e.status().is_some_and(|s| s.is_success()) =>
            {
                let status = e.status().unwrap_or_default();
                return Err(unconfirmed(&call, status, &Default::default(), &body));
            }
            Err(e) => return Err(e),
        };
        let verdict = serde_json::from_slice::<Value>(&body)
            .map_or(Verdict::Unconfirmed, |parsed| rule(&parsed));
        match verdict {
            Verdict::Confirmed => Ok(value.into_inner()),
            Verdict::Refused => Err(Error::Rejected(ApiFailure::boxed(
                call.operation,
                value.status(),
                value.headers(),
                &body,
                call.attempts,
            ))),
            Verdict::Unconfirmed => Err(unconfirmed(&call, value.status(), value.headers(), &body)),
        }
    }
}

/// [`Error::Unconfirmed`] for a success status whose body confirmed nothing.
fn unconfirmed(
    call: &CallSummary,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Error {
    tracing::debug!(
        operation = call.operation,
        status = status.as_u16(),
        "a success status that does not confirm the operation"
    );
    Error::Unconfirmed(ApiFailure::boxed(
        call.operation,
        status,
        headers,
        body,
        call.attempts,
    ))
}

#[cfg(test)]
mod tests {
    use super::{Verdict, data_list, message, success_flag};
    use serde_json::json;

    #[test]
    fn only_the_documented_body_confirms() {
        use Verdict::*;
        let table = [
            (json!({"success": true}), Confirmed, Unconfirmed),
            (json!({"success": false}), Refused, Unconfirmed),
            (json!({"success": "true"}), Unconfirmed, Unconfirmed),
            (json!({}), Unconfirmed, Unconfirmed),
            (json!(null), Unconfirmed, Unconfirmed),
            (json!([]), Unconfirmed, Unconfirmed),
            (json!({"message": "Success"}), Unconfirmed, Confirmed),
            (json!({"message": "ok"}), Unconfirmed, Confirmed),
            (json!({"message": null}), Unconfirmed, Unconfirmed),
            (json!({"message": 1}), Unconfirmed, Unconfirmed),
            (json!("Success"), Unconfirmed, Unconfirmed),
        ];
        for (body, by_flag, by_message) in table {
            assert_eq!(success_flag(&body), by_flag, "success_flag({body})");
            assert_eq!(message(&body), by_message, "message({body})");
        }
        for (body, listed) in [
            (json!({"data": []}), Confirmed),
            (json!({"data": [{"credentialId": "c-1"}]}), Confirmed),
            (json!({}), Unconfirmed),
            (json!({"data": null}), Unconfirmed),
            (json!({"data": {}}), Unconfirmed),
            (json!([]), Unconfirmed),
        ] {
            assert_eq!(data_list(&body), listed, "data_list({body})");
        }
    }
}
