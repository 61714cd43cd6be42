//! `signature verify`: checks one request Alloy sent against its
//! `X-Alloy-Signature`, offline. Exits 0 when the signature is valid, 1
//! when it is not, and 2 on bad input (an unreadable file, a PEM that is not
//! an RSA public key, an empty argument).

use runalloy_embedded::signature::{AlloyPublicKey, Encoding, Padding, SignatureError};
use std::path::Path;
use std::process::ExitCode;

pub async fn verify(
    public_key: &Path,
    method: &str,
    url: &str,
    body: &str,
    signature: &str,
) -> ExitCode {
    for (name, value) in [
        ("--method", method),
        ("--url", url),
        ("--signature", signature),
    ] {
        if value.trim().is_empty() {
            return crate::exit::invalid_input(format!("{name} is empty"));
        }
    }
    let pem = match tokio::fs::read_to_string(public_key).await {
        Ok(pem) => pem,
        Err(e) => {
            return crate::exit::invalid_input(format!(
                "cannot read the public key from {}: {e}",
                public_key.display()
            ));
        }
    };
    let key = match AlloyPublicKey::from_pem(&pem) {
        Ok(key) => key,
        Err(e) => return crate::exit::invalid_input(format!("{}: {e}", public_key.display())),
    };
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(why) => return crate::exit::invalid_input(why),
    };
    match key.verify(method, url, &body, signature) {
        Ok(verified) => {
            let padding = match verified.padding {
                Padding::Pkcs1v15 => "PKCS#1 v1.5".to_owned(),
                Padding::Pss { salt_len } => format!("PSS, {salt_len}-byte salt"),
                _ => "another padding".to_owned(),
            };
            let encoding = match verified.encoding {
                Encoding::Hex => "hex",
                Encoding::Base64 => "base64",
                _ => "another encoding",
            };
            println!("valid: {padding}, {encoding}");
            ExitCode::SUCCESS
        }
        Err(e @ SignatureError::EmptyHeader) => crate::exit::invalid_input(e),
        Err(e) => {
            eprintln!("invalid: {e}");
            ExitCode::from(1)
        }
    }
}

/// The body's bytes exactly as given: the text, a file's bytes (`@FILE`),
/// or standard input (`-`). Never parsed: Alloy signed the bytes.
async fn read_body(source: &str) -> Result<Vec<u8>, String> {
    if source == "-" {
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut bytes)
            .await
            .map_err(|e| format!("cannot read the body from standard input: {e}"))?;
        Ok(bytes)
    } else if let Some(path) = source.strip_prefix('@') {
        tokio::fs::read(path)
            .await
            .map_err(|e| format!("cannot read the body from {path}: {e}"))
    } else {
        Ok(source.as_bytes().to_vec())
    }
}
