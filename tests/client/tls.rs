//! A server whose certificate fails verification is refused at once: no
//! retry can change the certificate, so the first failure is final and
//! names the cause.
#![cfg(any(feature = "rustls", feature = "rustls-ring"))]

use crate::common;

use runalloy_embedded::Error;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;

const CERT: &[u8] = include_bytes!("tls/unknown-issuer.cert.pem");
const KEY: &[u8] = include_bytes!("tls/unknown-issuer.key.pem");

/// The provider this build of reqwest uses.
fn provider() -> Arc<tokio_rustls::rustls::crypto::CryptoProvider> {
    #[cfg(feature = "rustls")]
    let provider = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "rustls"))]
    let provider = tokio_rustls::rustls::crypto::ring::default_provider();
    Arc::new(provider)
}

/// A TLS server on 127.0.0.1 with a certificate no one issued; counts the
/// connections it accepts.
async fn untrusted_server() -> (String, Arc<AtomicUsize>) {
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(CERT).unwrap()],
            PrivateKeyDer::from_pem_slice(KEY).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            // The client gives up during the handshake.
            tokio::spawn(async move { acceptor.accept(stream).await.is_ok() });
        }
    });
    (url, connections)
}

#[tokio::test]
async fn a_certificate_that_fails_verification_is_not_retried() {
    let (url, connections) = untrusted_server().await;
    let client = common::client(&url);
    let err = client.get_user("u-1").await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(
        text.starts_with("get-a-user GET /users/{userId}: transport failure after 1 attempt(s): "),
        "{text}"
    );
    // rustls, or OpenSSL when native-tls is on too, names the cause.
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer")
            || text.contains("certificate verify failed"),
        "{text}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
