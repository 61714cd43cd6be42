//! The base-URL rule: https anywhere, http only on loopback.

use crate::Error;
use reqwest::Url;
use std::net::IpAddr;

/// Accepts https anywhere and http only on loopback, so that the key never
/// crosses a network in clear text.
pub(super) fn check_base_url(text: &str) -> Result<Url, Error> {
    // The text itself is not repeated: it might carry credentials.
    let invalid = |why: &str| Error::InvalidInput(format!("the base URL is refused: {why}"));
    let url = Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid("it has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "plain http is allowed only to a loopback host; use https",
            ));
        }
        other => return Err(invalid(&format!("scheme `{other}` is not http or https"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment"));
    }
    Ok(url)
}
