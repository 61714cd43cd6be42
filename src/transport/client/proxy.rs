//! Where requests go on their way to the API: the environment's proxies,
//! none, or one the caller names (its credentials kept out of sight).

use crate::Error;
use reqwest::Url;
use std::fmt;

/// Where requests go on their way to the API.
#[derive(Clone)]
pub(super) enum ProxyChoice {
    /// The environment's proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`),
    /// except for a plain-http loopback base URL, which is always direct.
    Environment,
    /// Direct, whatever the environment says.
    Direct,
    /// The proxy at this URL, set by the caller. It may carry a user and
    /// password, so it is never printed whole.
    Explicit(String),
}

impl fmt::Debug for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyChoice::Environment => f.write_str("Environment"),
            ProxyChoice::Direct => f.write_str("Direct"),
            // Scheme, host and port only: never a user, password or path.
            ProxyChoice::Explicit(text) => match Url::parse(text) {
                Ok(url) => write!(
                    f,
                    "Explicit({}://{}:{})",
                    url.scheme(),
                    url.host_str().unwrap_or(""),
                    url.port_or_known_default().unwrap_or(0)
                ),
                Err(_) => f.write_str("Explicit(<not a URL>)"),
            },
        }
    }
}

/// The proxy at `text`, with any user and password sent as
/// `Proxy-Authorization` (marked sensitive) rather than kept in a URL that
/// reqwest's `Debug` would print.
pub(super) fn explicit_proxy(text: &str) -> Result<reqwest::Proxy, Error> {
    // The text itself is not repeated: it might carry a password.
    let invalid = |why: &str| Error::InvalidInput(format!("the proxy URL is refused: {why}"));
    let mut url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&format!(
            "scheme `{}` is not http or https",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let password = url.password().map(decode);
    // Infallible for http(s) URLs with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let proxy = reqwest::Proxy::custom(move |_| Some(url.clone()));
    Ok(if user.is_empty() && password.is_none() {
        proxy
    } else {
        proxy.basic_auth(&user, password.as_deref().unwrap_or(""))
    })
}
