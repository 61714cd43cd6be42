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

/// A TLS listener on 127.0.0.1 that reads each ClientHello and keeps the
/// protocols it offers through ALPN, then hangs up.
async fn hello_reader() -> (String, Arc<std::sync::Mutex<Vec<Vec<Vec<u8>>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let offers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = offers.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = tokio_rustls::LazyConfigAcceptor::new(
                tokio_rustls::rustls::server::Acceptor::default(),
                stream,
            );
            if let Ok(start) = acceptor.await {
                let alpn = start
                    .client_hello()
                    .alpn()
                    .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
                    .unwrap_or_default();
                seen.lock().unwrap().push(alpn);
            }
        }
    });
    (url, offers)
}

/// Every client shares one TLS setup (loaded once per process); it offers
/// what reqwest's own would for this client: HTTP/1.1 alone with rustls,
/// nothing with native-tls (which reqwest prefers when both are on, and
/// whose ALPN reqwest leaves off without its `native-tls-alpn` feature).
#[tokio::test]
async fn every_client_offers_http_1_1_through_the_shared_tls_setup() {
    let (url, offers) = hello_reader().await;
    for _ in 0..2 {
        let client = common::client(&url);
        let err = client.get_user("u-1").await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    }
    let offers = offers.lock().unwrap().clone();
    let expected: Vec<Vec<u8>> = if cfg!(feature = "native-tls") {
        Vec::new()
    } else {
        vec![b"http/1.1".to_vec()]
    };
    assert!(offers.len() >= 2, "{offers:?}");
    assert!(offers.iter().all(|alpn| alpn == &expected), "{offers:?}");
}
