//! The inner `reqwest::Client` a [`ClientBuilder`] makes: the user agent,
//! the proxy choice, the timeouts, the shared TLS setup, and redirects
//! followed only within the base URL's origin.

use super::proxy::{ProxyChoice, explicit_proxy};
use super::{ClientBuilder, USER_AGENT};
use crate::Error;
use reqwest::header::HeaderValue;

impl ClientBuilder {
    /// The inner `reqwest::Client`: the user agent, the proxy choice, the
    /// timeouts, and redirects followed only within `base`'s origin.
    pub(super) fn make_http_client(&self, base: &url::Url) -> Result<reqwest::Client, Error> {
        let user_agent = match &self.user_agent_suffix {
            Some(suffix) => format!("{USER_AGENT} {suffix}"),
            None => USER_AGENT.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| {
            Error::InvalidInput("the user-agent suffix is not a valid header value".into())
        })?;
        let redirect_origin = base.origin();
        #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
        {
            // reqwest's `rustls-no-provider` uses the process's default
            // provider; make it ring unless the program chose one. An `Err`
            // means one is installed already, which is what we want.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let mut http = reqwest::Client::builder();
        #[cfg(any(feature = "native-tls", feature = "rustls", feature = "rustls-ring"))]
        {
            let tls = crate::transport::tls::shared().map_err(|why| {
                Error::InvalidInput(format!("cannot build the HTTP client: TLS: {why}"))
            })?;
            http = http.use_preconfigured_tls(tls);
        }
        http = match &self.proxy {
            ProxyChoice::Explicit(url) => http.proxy(explicit_proxy(url)?),
            ProxyChoice::Direct => http.no_proxy(),
            ProxyChoice::Environment if base.scheme() == "http" => http.no_proxy(),
            ProxyChoice::Environment => http,
        };
        http.user_agent(user_agent)
            .connect_timeout(self.connect_timeout)
            // Every attempt's timeout, unless the call's deadline leaves
            // less (the send path then sets it on the request). Set here
            // rather than on every request, which would give every request
            // a map of extensions to hold it.
            .timeout(self.attempt_timeout)
            // The key must never travel to another origin, so only
            // same-origin redirects are followed.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 || attempt.url().origin() != redirect_origin {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))
    }
}
