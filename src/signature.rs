//! Verifying Alloy's signed requests: the `X-Alloy-Signature` header that
//! Alloy puts on its calls to a platform's own endpoints (Custom API
//! connectors, data-streaming destinations).
//!
//! What is signed is the HTTP method, the URL as Alloy called it and the raw
//! body, joined with nothing between them, hashed with SHA-256 and signed
//! with Alloy's RSA key. The vendor's two pages disagree on the rest, so
//! every reading of them is accepted: the header in hex or base64, padded
//! with PKCS#1 v1.5 or PSS, with a PSS salt of any length. Anything else is
//! an error that names the part that failed.
//!
//! Nothing in the signed string changes between deliveries (there is no
//! timestamp), so a valid signature proves where a request came from, not
//! that it is new: a replayed request verifies too.
//!
//! ```
//! use runalloy_embedded::signature::{AlloyPublicKey, SignatureError};
//!
//! let err = AlloyPublicKey::from_pem("not a key").unwrap_err();
//! assert!(matches!(err, SignatureError::Key(_)));
//! ```

use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The header Alloy signs its requests with.
pub const SIGNATURE_HEADER: &str = "x-alloy-signature";

/// Where Alloy publishes its public key. The library never fetches it:
/// download it once, check it, and ship it with the service.
pub const PUBLIC_KEY_URL: &str = "https://cdn.runalloy.com/security/alloy_public_key.pem";

/// Alloy's RSA public key, parsed once from PEM.
///
/// Both PEM forms are read: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo, as
/// Alloy publishes it) and `BEGIN RSA PUBLIC KEY` (PKCS#1).
#[derive(Clone, PartialEq, Eq)]
pub struct AlloyPublicKey {
    key: RsaPublicKey,
}

impl fmt::Debug for AlloyPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlloyPublicKey(RSA {} bits)", self.key.n().bits())
    }
}

/// How a signature that verified was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// How the header was encoded.
    pub encoding: Encoding,
    /// How the signature was padded.
    pub padding: Padding,
}

/// The header's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// Hexadecimal, either case.
    Hex,
    /// Base64 (standard or URL-safe alphabet, padded or not).
    Base64,
}

/// The signature's padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Padding {
    /// RSASSA-PKCS1-v1_5, Node's default for `crypto.verify`.
    Pkcs1v15,
    /// RSASSA-PSS with MGF1-SHA-256, and a salt of this many bytes.
    Pss {
        /// The salt's length in bytes.
        salt_len: usize,
    },
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The PEM is not an RSA public key (another kind of key, or no key).
    #[error("the public key is refused: {0}")]
    Key(String),
    /// The `X-Alloy-Signature` header is missing or empty.
    #[error("the X-Alloy-Signature header is empty")]
    EmptyHeader,
    /// The header is neither hex nor base64 of a signature as long as the
    /// key's modulus.
    #[error(
        "the X-Alloy-Signature header is neither hex nor base64 of a {expected}-byte signature ({len} characters)"
    )]
    Encoding {
        /// The length of the header's value, in characters.
        len: usize,
        /// The signature's length that the key needs, in bytes.
        expected: usize,
    },
    /// The signature is well formed but does not match this method, URL
    /// and body under this key, with either padding.
    #[error(
        "the signature does not match the method, URL and body under this key (PKCS#1 v1.5 and PSS tried)"
    )]
    Mismatch,
}

impl AlloyPublicKey {
    /// Parses an RSA public key from PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let pem = pem.trim();
        if pem.contains("PRIVATE KEY-----") {
            return Err(SignatureError::Key(
                "the PEM holds a private key; give Alloy's public key".into(),
            ));
        }
        let key = if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| SignatureError::Key(e.to_string()))?
        } else if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            RsaPublicKey::from_public_key_pem(pem).map_err(|e| {
                SignatureError::Key(match e {
                    rsa::pkcs8::spki::Error::OidUnknown { .. } => {
                        "the PEM holds a public key that is not RSA".into()
                    }
                    other => other.to_string(),
                })
            })?
        } else {
            return Err(SignatureError::Key(
                "no `-----BEGIN PUBLIC KEY-----` PEM block".into(),
            ));
        };
        Ok(Self { key })
    }

    /// The modulus's length in bytes: the length of every signature.
    pub fn signature_len(&self) -> usize {
        self.key.size()
    }

    /// Verifies one request: its `method`, its `url` as Alloy called it
    /// (scheme, host, path and query; behind a proxy, the public URL, not
    /// the one the proxy forwarded to), its raw `body` as received, and the
    /// `X-Alloy-Signature` header's value.
    ///
    /// Verify before parsing the body, on the exact bytes received: a body
    /// parsed and serialised again is not what Alloy signed.
    pub fn verify(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
        header: &str,
    ) -> Result<Verified, SignatureError> {
        let header = header.trim();
        if header.is_empty() {
            return Err(SignatureError::EmptyHeader);
        }
        let (encoding, signature) = self.decode(header)?;
        let mut message = Vec::with_capacity(method.len() + url.len() + body.len());
        message.extend_from_slice(method.as_bytes());
        message.extend_from_slice(url.as_bytes());
        message.extend_from_slice(body);

        if let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature.as_slice())
            && rsa::pkcs1v15::VerifyingKey::<Sha256>::new(self.key.clone())
                .verify(&message, &sig)
                .is_ok()
        {
            return Ok(Verified {
                encoding,
                padding: Padding::Pkcs1v15,
            });
        }
        if let Some(salt_len) = self.pss_salt_len(&signature)
            && let Ok(sig) = rsa::pss::Signature::try_from(signature.as_slice())
            && rsa::pss::VerifyingKey::<Sha256>::new_with_salt_len(self.key.clone(), salt_len)
                .verify(&message, &sig)
                .is_ok()
        {
            return Ok(Verified {
                encoding,
                padding: Padding::Pss { salt_len },
            });
        }
        Err(SignatureError::Mismatch)
    }

    /// The header's bytes: hex if it decodes to a signature's length, else
    /// base64. (A hex string is also base64 text, so the length decides.)
    fn decode(&self, header: &str) -> Result<(Encoding, Vec<u8>), SignatureError> {
        let expected = self.signature_len();
        if let Ok(bytes) = base16ct::mixed::decode_vec(header)
            && bytes.len() == expected
        {
            return Ok((Encoding::Hex, bytes));
        }
        use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding as _};
        let decoded = Base64::decode_vec(header)
            .or_else(|_| Base64Unpadded::decode_vec(header))
            .or_else(|_| Base64Url::decode_vec(header))
            .or_else(|_| Base64UrlUnpadded::decode_vec(header));
        match decoded {
            Ok(bytes) if bytes.len() == expected => Ok((Encoding::Base64, bytes)),
            _ => Err(SignatureError::Encoding {
                len: header.chars().count(),
                expected,
            }),
        }
    }

    /// The salt length a PSS signature was made with, read from the
    /// encoded message it opens to (as OpenSSL's `RSA_PSS_SALTLEN_AUTO`
    /// does): the crate's PSS verifier wants it given, and signers differ
    /// (the digest's length, or Node's default, the longest that fits).
    /// Only a guess: the crate's own verification, with this length, then
    /// decides. `None` when it is not a PSS encoding at all.
    fn pss_salt_len(&self, signature: &[u8]) -> Option<usize> {
        const H_LEN: usize = 32;
        let em_bits = self.key.n().bits().checked_sub(1)?;
        let em_len = em_bits.div_ceil(8);
        let opened =
            rsa::hazmat::rsa_encrypt(&self.key, &BigUint::from_bytes_be(signature)).ok()?;
        let opened = opened.to_bytes_be();
        if opened.len() > em_len || em_len < H_LEN + 2 {
            return None;
        }
        let mut em = vec![0u8; em_len - opened.len()];
        em.extend_from_slice(&opened);
        if em[em_len - 1] != 0xbc {
            return None;
        }
        let (masked_db, rest) = em.split_at(em_len - H_LEN - 1);
        let h = &rest[..H_LEN];
        let mut db = masked_db.to_vec();
        mgf1_xor(&mut db, h);
        db[0] &= 0xff >> (8 * em_len - em_bits);
        let separator = db.iter().position(|&b| b != 0)?;
        (db[separator] == 0x01).then(|| db.len() - separator - 1)
    }
}

/// `out ^= MGF1-SHA-256(seed, out.len())` (RFC 8017, B.2.1): the mask that
/// hides a PSS salt, a few lines the rsa crate keeps private.
fn mgf1_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in out.chunks_mut(32).enumerate() {
        let mask = Sha256::new()
            .chain_update(seed)
            .chain_update((counter as u32).to_be_bytes())
            .finalize();
        for (byte, m) in chunk.iter_mut().zip(mask) {
            *byte ^= m;
        }
    }
}
