//! Verifying `X-Alloy-Signature`: vectors made here with a fresh key pair,
//! signed every way the vendor's pages describe (PKCS#1 v1.5 and PSS with
//! the digest's and the longest salt, in hex and in base64), and every
//! rejection named for the part that failed.
#![cfg(feature = "signature")]

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use runalloy_embedded::signature::{AlloyPublicKey, Encoding, Padding, SignatureError};
use sha2::Sha256;
use std::sync::OnceLock;

const METHOD: &str = "POST";
const URL: &str = "https://platform.example.com/alloy/hooks?source=alloy";
const BODY: &[u8] = br#"{"event":"user.updated","data":{"id":"6323d7c9122ae69742a5d0a2"}}"#;

fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).unwrap())
}

fn other_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 2048).unwrap())
}

fn public(key: &RsaPrivateKey) -> AlloyPublicKey {
    let pem = RsaPublicKey::from(key)
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    AlloyPublicKey::from_pem(&pem).unwrap()
}

fn signed(method: &str, url: &str, body: &[u8]) -> Vec<u8> {
    [method.as_bytes(), url.as_bytes(), body].concat()
}

#[derive(Clone, Copy, Debug)]
enum Scheme {
    Pkcs1v15,
    PssDigestSalt,
    PssMaxSalt,
}

fn sign(key: &RsaPrivateKey, scheme: Scheme, message: &[u8]) -> Vec<u8> {
    match scheme {
        Scheme::Pkcs1v15 => rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
            .sign(message)
            .to_vec(),
        Scheme::PssDigestSalt => rsa::pss::SigningKey::<Sha256>::new_with_salt_len(key.clone(), 32)
            .sign_with_rng(&mut OsRng, message)
            .to_vec(),
        // Node's default for PSS: the longest salt that fits.
        Scheme::PssMaxSalt => {
            rsa::pss::SigningKey::<Sha256>::new_with_salt_len(key.clone(), 256 - 32 - 2)
                .sign_with_rng(&mut OsRng, message)
                .to_vec()
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    use base64ct::Encoding as _;
    base64ct::Base64::encode_string(bytes)
}

#[test]
fn every_documented_way_of_signing_verifies() {
    let key = public(key());
    let message = signed(METHOD, URL, BODY);
    for scheme in [Scheme::Pkcs1v15, Scheme::PssDigestSalt, Scheme::PssMaxSalt] {
        let signature = sign(self::key(), scheme, &message);
        let padding = match scheme {
            Scheme::Pkcs1v15 => Padding::Pkcs1v15,
            Scheme::PssDigestSalt => Padding::Pss { salt_len: 32 },
            Scheme::PssMaxSalt => Padding::Pss { salt_len: 222 },
        };
        for (header, encoding) in [
            (hex(&signature), Encoding::Hex),
            (hex(&signature).to_uppercase(), Encoding::Hex),
            (base64(&signature), Encoding::Base64),
        ] {
            let verified = key.verify(METHOD, URL, BODY, &header).unwrap();
            assert_eq!(
                (verified.encoding, verified.padding),
                (encoding, padding),
                "{scheme:?} {encoding:?}"
            );
        }
    }
}

#[test]
fn an_empty_body_is_signed_too() {
    let key = public(key());
    let signature = sign(self::key(), Scheme::Pkcs1v15, &signed("GET", URL, b""));
    assert!(key.verify("GET", URL, b"", &hex(&signature)).is_ok());
}

#[test]
fn a_body_changed_by_one_byte_is_a_mismatch() {
    let key = public(key());
    let message = signed(METHOD, URL, BODY);
    for scheme in [Scheme::Pkcs1v15, Scheme::PssMaxSalt] {
        let header = hex(&sign(self::key(), scheme, &message));
        let mut body = BODY.to_vec();
        body[10] ^= 1;
        assert_eq!(
            key.verify(METHOD, URL, &body, &header),
            Err(SignatureError::Mismatch),
            "{scheme:?}"
        );
    }
}

#[test]
fn the_method_or_the_url_changed_is_a_mismatch() {
    let key = public(key());
    let header = base64(&sign(
        self::key(),
        Scheme::PssDigestSalt,
        &signed(METHOD, URL, BODY),
    ));
    assert_eq!(
        key.verify("PUT", URL, BODY, &header),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        key.verify(
            METHOD,
            "https://platform.example.com/alloy/hooks",
            BODY,
            &header
        ),
        Err(SignatureError::Mismatch)
    );
    assert!(key.verify(METHOD, URL, BODY, &header).is_ok());
}

#[test]
fn another_key_is_a_mismatch() {
    let header = hex(&sign(key(), Scheme::Pkcs1v15, &signed(METHOD, URL, BODY)));
    assert_eq!(
        public(other_key()).verify(METHOD, URL, BODY, &header),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_truncated_or_foreign_header_names_its_encoding() {
    let key = public(key());
    let header = hex(&sign(
        self::key(),
        Scheme::Pkcs1v15,
        &signed(METHOD, URL, BODY),
    ));
    let truncated = &header[..header.len() - 2];
    assert_eq!(
        key.verify(METHOD, URL, BODY, truncated),
        Err(SignatureError::Encoding {
            len: 510,
            expected: 256
        })
    );
    // Valid base64, of a signature cut short: its length names it.
    let short = base64(&sign(self::key(), Scheme::Pkcs1v15, &signed(METHOD, URL, BODY))[..200]);
    assert_eq!(
        key.verify(METHOD, URL, BODY, &short),
        Err(SignatureError::Encoding {
            len: short.len(),
            expected: 256
        })
    );
    assert_eq!(
        key.verify(METHOD, URL, BODY, "not a signature!")
            .unwrap_err()
            .to_string(),
        "the X-Alloy-Signature header is neither hex nor base64 of a 256-byte signature (16 characters)"
    );
    for empty in ["", "   "] {
        assert_eq!(
            key.verify(METHOD, URL, BODY, empty),
            Err(SignatureError::EmptyHeader)
        );
    }
}

#[test]
fn a_pem_that_is_not_an_rsa_public_key_is_refused_with_its_reason() {
    let private = key().to_pkcs8_pem(LineEnding::LF).unwrap();
    let Err(SignatureError::Key(why)) = AlloyPublicKey::from_pem(&private) else {
        panic!("a private key was accepted");
    };
    assert!(why.contains("private key"), "{why}");

    // An EC key (P-256), as SubjectPublicKeyInfo.
    let ec = "-----BEGIN PUBLIC KEY-----\n\
              MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n\
              q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n\
              -----END PUBLIC KEY-----\n";
    let Err(SignatureError::Key(why)) = AlloyPublicKey::from_pem(ec) else {
        panic!("an EC key was accepted");
    };
    assert!(why.contains("not RSA"), "{why}");

    for junk in [
        "",
        "hello",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        assert!(
            matches!(AlloyPublicKey::from_pem(junk), Err(SignatureError::Key(_))),
            "{junk:?}"
        );
    }
}

#[test]
fn a_pkcs1_pem_is_read_too() {
    let pem = RsaPublicKey::from(key())
        .to_pkcs1_pem(LineEnding::LF)
        .unwrap();
    let key = AlloyPublicKey::from_pem(&pem).unwrap();
    assert_eq!(key.signature_len(), 256);
    assert_eq!(format!("{key:?}"), "AlloyPublicKey(RSA 2048 bits)");
    let header = hex(&sign(
        self::key(),
        Scheme::Pkcs1v15,
        &signed(METHOD, URL, BODY),
    ));
    assert!(key.verify(METHOD, URL, BODY, &header).is_ok());
}

/// A key too small to hold a PSS encoding (under 272 bits) never opens
/// one: any header is a mismatch, at once, without a panic.
#[test]
fn a_key_too_small_for_pss_is_a_mismatch_not_a_panic() {
    let tiny = RsaPrivateKey::new(&mut OsRng, 256).unwrap();
    let pem = RsaPublicKey::from(&tiny)
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let key = AlloyPublicKey::from_pem(&pem).unwrap();
    // Signatures that open to values ending in PSS's trailer byte (0xbc),
    // the shape a PSS encoding would have: made with the private exponent.
    use rsa::BigUint;
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    for byte in [0x01u8, 0x5a, 0x7f] {
        let mut opened = [byte; 32];
        opened[31] = 0xbc;
        let signature = BigUint::from_bytes_be(&opened).modpow(tiny.d(), tiny.n());
        // Left-padded to the key's size: a value with a leading zero byte
        // (one in 256) is still a whole signature.
        let bytes = signature.to_bytes_be();
        let mut whole = vec![0u8; key.signature_len() - bytes.len()];
        whole.extend(bytes);
        let header = hex(&whole);
        assert_eq!(
            key.verify(METHOD, URL, BODY, &header),
            Err(SignatureError::Mismatch)
        );
    }
}

/// PSS from keys whose size is not a multiple of 8 bits, and the smallest
/// that holds a PSS encoding at all: the encoded message is one byte
/// shorter than the modulus's or its top bits are masked, and the salt's
/// length is still read right.
/// - 398 bits: a 50-byte encoding whose top 3 bits are cleared, with no
///   salt and with the longest (16 bytes);
/// - 272 bits: a 34-byte encoding, exactly the digest, the trailer and
///   the separator, so only an empty salt fits.
///
/// Signed with no salt, the encoding is a function of the message alone,
/// so the bodies below make the same encodings on every run.
#[test]
fn pss_from_keys_of_odd_and_smallest_sizes_verifies() {
    for (bits, salts) in [(398, &[0usize, 16][..]), (272, &[0][..])] {
        let private = RsaPrivateKey::new(&mut OsRng, bits).unwrap();
        let key = public(&private);
        for &salt_len in salts {
            for n in 0..8u8 {
                let body = [BODY, &[b'0' + n]].concat();
                let signature =
                    rsa::pss::SigningKey::<Sha256>::new_with_salt_len(private.clone(), salt_len)
                        .sign_with_rng(&mut OsRng, &signed(METHOD, URL, &body))
                        .to_vec();
                let verified = key.verify(METHOD, URL, &body, &hex(&signature));
                assert_eq!(
                    verified.map(|v| v.padding),
                    Ok(Padding::Pss { salt_len }),
                    "{bits}-bit key, salt {salt_len}, body {n}"
                );
            }
        }
    }
}
