//! The API key, and the one place it is turned into a header.

use crate::Error;
use reqwest::header::HeaderValue;
use std::fmt;

/// An Alloy API key. It never appears in `Debug` output or in any error.
///
/// ```
/// use runalloy_embedded::ApiKey;
///
/// let key = ApiKey::new("sk_live_secret").unwrap();
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert!(ApiKey::new("").is_err());
/// ```
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks `key` and wraps it. An empty key, one with whitespace around
    /// it, or one with control characters is refused: each would be sent as a
    /// header that the API rejects or, worse, that splits the request.
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let problem = if key.is_empty() {
            Some("the API key is empty")
        } else if key.chars().any(char::is_control) {
            Some("the API key contains a control character (a stray newline?)")
        } else if key.trim() != key {
            Some("the API key has whitespace before or after it")
        } else if !key.is_ascii() {
            Some("the API key contains non-ASCII characters")
        } else {
            None
        };
        match problem {
            Some(why) => Err(Error::InvalidInput(why.to_owned())),
            None => Ok(Self(key)),
        }
    }

    /// The `Authorization: Bearer <key>` value, marked sensitive so that
    /// reqwest and http never print it.
    pub(crate) fn bearer_header(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).map_err(|_| {
            Error::InvalidInput("the API key cannot be sent in an HTTP header".to_owned())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl ApiKey {
    /// A short fingerprint of the key, `sha256:` and the first 12 hex digits
    /// of its SHA-256: enough to tell two keys apart in a report, far too
    /// little to recover the key from.
    ///
    /// ```
    /// use runalloy_embedded::ApiKey;
    ///
    /// let print = ApiKey::new("sk_live_secret").unwrap().fingerprint();
    /// assert!(print.starts_with("sha256:") && print.len() == 19);
    /// assert!(!print.contains("secret"));
    /// ```
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}
