//! What counts as the API confirming that it did something.
//!
//! A generated response type decodes bodies that confirm nothing: `{}`
//! decodes with every optional field absent, or filled from a default the
//! spec declares. The methods whose outcome is counted
//! (the deletes an erase or offboarding reports) therefore read the body as
//! the server wrote it, and accept only the documented confirmation.

use crate::transport::send::CallSummary;
use crate::{ApiFailure, Client, Error, api};
use progenitor_client::ResponseValue;
use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use std::fmt;

/// What a 2xx body says about the operation (not the attempt loop's
/// `Verdict`, which says what an outcome means for a retry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// The documented confirmation.
    Confirmed,
    /// The API says it did not do it, such as `{"success": false}`.
    Refused,
    /// Nothing either way.
    Unconfirmed,
}

/// How one operation's body confirms it: by what one top-level field of a
/// JSON object holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    field: &'static str,
    /// The verdict on what kind of value the field holds (`None`: absent).
    verdict: fn(Option<Kind>) -> Confirmation,
}

/// The rule of `delete-a-user` and `delete-a-credential`: `"success": true`,
/// written by the server.
pub(crate) const SUCCESS_FLAG: Rule = Rule {
    field: "success",
    verdict: |kind| match kind {
        Some(Kind::True) => Confirmation::Confirmed,
        Some(Kind::False) => Confirmation::Refused,
        _ => Confirmation::Unconfirmed,
    },
};

/// The rule of `delete-logs-for-a-user` and
/// `disable-all-workflows-for-a-user`: the documented object with a
/// `message` string (`{"message": "Success"}`).
pub(crate) const MESSAGE: Rule = Rule {
    field: "message",
    verdict: |kind| match kind {
        Some(Kind::String) => Confirmation::Confirmed,
        _ => Confirmation::Unconfirmed,
    },
};

/// The rule of a list that a bulk run acts on: the documented object with a
/// `data` list. `list-user-credentials` (the credentials an offboarding
/// deletes) must meet it, since `{}` decodes as an empty list, which would
/// read as "nothing to delete" when the server said nothing at all; and
/// `list-all-users` must, for `verify_api_access` to accept its target.
pub(crate) const DATA_LIST: Rule = Rule {
    field: "data",
    verdict: |kind| match kind {
        Some(Kind::Array) => Confirmation::Confirmed,
        _ => Confirmation::Unconfirmed,
    },
};

impl Rule {
    /// The verdict on `body`: unconfirmed unless it is one JSON object
    /// whose field says so. A repeated field counts by its last value, as
    /// in `serde_json::Value`.
    pub(crate) fn read(&self, body: &[u8]) -> Confirmation {
        let mut reader = serde_json::Deserializer::from_slice(body);
        match FieldKind(self.field).deserialize(&mut reader) {
            Ok(kind) if reader.end().is_ok() => (self.verdict)(kind),
            _ => Confirmation::Unconfirmed,
        }
    }
}

/// What kind of JSON value a field holds; read without building the value,
/// so that a long `data` list costs no memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    True,
    False,
    String,
    Array,
    Other,
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl<'de> Visitor<'de> for KindVisitor {
            type Value = Kind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
                Ok(if v { Kind::True } else { Kind::False })
            }
            fn visit_str<E>(self, _: &str) -> Result<Kind, E> {
                Ok(Kind::String)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Kind, E> {
                Ok(Kind::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Kind, E> {
                Ok(Kind::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Kind, E> {
                Ok(Kind::Other)
            }
            fn visit_unit<E>(self) -> Result<Kind, E> {
                Ok(Kind::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Kind::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Kind::Other)
            }
        }
        d.deserialize_any(KindVisitor)
    }
}

/// Reads a top-level JSON object for the kind of its field `.0` (`None`
/// when absent); anything but an object is an error.
struct FieldKind(&'static str);

impl<'de> DeserializeSeed<'de> for FieldKind {
    type Value = Option<Kind>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Kind>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldKind {
    type Value = Option<Kind>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object with `{}`", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Kind>, A::Error> {
        let mut kind = None;
        while let Some(is_field) = map.next_key_seed(IsKey(self.0))? {
            if is_field {
                kind = Some(map.next_value::<Kind>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kind)
    }
}

/// A key, read as whether it is `.0`: no key is copied.
struct IsKey(&'static str);

impl<'de> DeserializeSeed<'de> for IsKey {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for IsKey {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
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
        rule: Rule,
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
        let verdict = rule.read(&body);
        match verdict {
            Confirmation::Confirmed => Ok(value.into_inner()),
            Confirmation::Refused => Err(Error::Rejected(ApiFailure::boxed(
                call.operation,
                value.status(),
                value.headers(),
                &body,
                call.attempts,
            ))),
            Confirmation::Unconfirmed => {
                Err(unconfirmed(&call, value.status(), value.headers(), &body))
            }
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
    use super::{Confirmation, DATA_LIST, MESSAGE, SUCCESS_FLAG};

    #[test]
    fn only_the_documented_body_confirms() {
        use Confirmation::*;
        let table: [(&str, Confirmation, Confirmation); 16] = [
            (r#"{"success": true}"#, Confirmed, Unconfirmed),
            (r#"{"success": false}"#, Refused, Unconfirmed),
            (r#"{"success": "true"}"#, Unconfirmed, Unconfirmed),
            (
                r#"{"success": true, "success": false}"#,
                Refused,
                Unconfirmed,
            ),
            (r#"{"succ\u0065ss": true}"#, Confirmed, Unconfirmed),
            (r#"{"success": true} trailing"#, Unconfirmed, Unconfirmed),
            (r#"{"success": true"#, Unconfirmed, Unconfirmed),
            ("{}", Unconfirmed, Unconfirmed),
            ("null", Unconfirmed, Unconfirmed),
            ("[]", Unconfirmed, Unconfirmed),
            ("", Unconfirmed, Unconfirmed),
            (r#"{"message": "Success"}"#, Unconfirmed, Confirmed),
            (
                r#"{"message": "ok", "other": {"a": [1, {"b": null}]}}"#,
                Unconfirmed,
                Confirmed,
            ),
            (r#"{"message": null}"#, Unconfirmed, Unconfirmed),
            (r#"{"message": 1}"#, Unconfirmed, Unconfirmed),
            (r#""Success""#, Unconfirmed, Unconfirmed),
        ];
        for (body, by_flag, by_message) in table {
            assert_eq!(
                SUCCESS_FLAG.read(body.as_bytes()),
                by_flag,
                "success flag of {body}"
            );
            assert_eq!(
                MESSAGE.read(body.as_bytes()),
                by_message,
                "message of {body}"
            );
        }
        for (body, listed) in [
            (r#"{"data": []}"#, Confirmed),
            (
                r#"{"data": [{"credentialId": "c-1"}], "cursor": null}"#,
                Confirmed,
            ),
            ("{}", Unconfirmed),
            (r#"{"data": null}"#, Unconfirmed),
            (r#"{"data": {}}"#, Unconfirmed),
            ("[]", Unconfirmed),
        ] {
            assert_eq!(
                DATA_LIST.read(body.as_bytes()),
                listed,
                "data list of {body}"
            );
        }
    }
}
