//! One TLS setup per process, shared by every client and every clone.
//!
//! Left to itself, reqwest builds its TLS setup anew for each client, and
//! with it loads and parses the platform's root certificates: 20 ms per
//! client with rustls and 55 ms with native-tls in a debug build, a few in a
//! release one. A service that builds a client per job or per tenant, and a
//! test suite that builds hundreds, pays that each time. The setup is the
//! one reqwest would make (the same verifier, the same protocol versions,
//! HTTP/1.1 offered through ALPN, as the client speaks no other), made once.
//!
//! When `native-tls` is on beside a rustls feature, reqwest prefers the
//! native backend, and so does this. The setup is made when the first client
//! is built: a crypto provider the program installs after that is not seen
//! by later clients (install it first, as rustls asks anyway).

#[cfg(any(feature = "native-tls", feature = "rustls", feature = "rustls-ring"))]
use std::sync::OnceLock;

/// The shared setup for `reqwest::ClientBuilder::use_preconfigured_tls`, or
/// why it could not be made (the platform's certificates unreadable, say).
#[cfg(feature = "native-tls")]
pub(crate) fn shared() -> Result<native_tls::TlsConnector, String> {
    static TLS: OnceLock<Result<native_tls::TlsConnector, String>> = OnceLock::new();
    TLS.get_or_init(|| native_tls::TlsConnector::new().map_err(|e| e.to_string()))
        .clone()
}

/// The shared setup for `reqwest::ClientBuilder::use_preconfigured_tls`, or
/// why it could not be made (the platform's certificates unreadable, say).
/// The crypto provider is the process's default if the program installed
/// one, else the feature's (aws-lc-rs for `rustls`, ring for
/// `rustls-ring`), as reqwest chooses it.
#[cfg(all(
    any(feature = "rustls", feature = "rustls-ring"),
    not(feature = "native-tls")
))]
pub(crate) fn shared() -> Result<rustls::ClientConfig, String> {
    use std::sync::Arc;
    static TLS: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = match rustls::crypto::CryptoProvider::get_default() {
            Some(installed) => Arc::clone(installed),
            #[cfg(feature = "rustls")]
            None => Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            #[cfg(not(feature = "rustls"))]
            None => Arc::new(rustls::crypto::ring::default_provider()),
        };
        let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            .map_err(|e| e.to_string())?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    })
    .clone()
}

/// Makes sure the process has a default rustls crypto provider, which the
/// Redis client's `rediss://` connections take (they panic without one, or
/// with two compiled in and none chosen). One the program installed is
/// kept; else the feature's own is installed (aws-lc-rs for `rustls`, ring
/// for `rustls-ring`). Without either feature there is none to install.
#[cfg(feature = "redis")]
pub(crate) fn ensure_default_provider() -> Result<(), String> {
    if rustls::crypto::CryptoProvider::get_default().is_some() {
        return Ok(());
    }
    #[cfg(feature = "rustls")]
    let provider = Some(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    let provider = Some(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "rustls", feature = "rustls-ring")))]
    let provider: Option<rustls::crypto::CryptoProvider> = None;
    match provider {
        // Another thread may have installed one meanwhile: either will do.
        Some(provider) => {
            let _ = provider.install_default();
            Ok(())
        }
        None => Err(
            "a rediss:// URL needs a TLS crypto provider: enable the `rustls` or \
                     `rustls-ring` feature, or install one with \
                     `rustls::crypto::CryptoProvider::install_default` before building the client"
                .to_owned(),
        ),
    }
}
