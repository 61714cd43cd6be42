//! `signature verify`, run as a user would: 0 for a valid signature, 1 for
//! one that does not match, 2 for bad input, with a key pair made here. No
//! API key is needed and nothing is sent.

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

const URL: &str = "https://platform.example.com/hooks/alloy";
const BODY: &str = r#"{"event":"user.deleted","userId":"6323d7c9122ae69742a5d0a2"}"#;

struct Keys {
    private: RsaPrivateKey,
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Self {
        let private = RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let public = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        std::fs::write(dir.path().join("alloy.pem"), public).unwrap();
        std::fs::write(
            dir.path().join("private.pem"),
            private.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        std::fs::write(dir.path().join("body.json"), BODY).unwrap();
        Keys { private, dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn hex_pkcs1(&self, message: &str) -> String {
        let signature = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.private.clone())
            .sign(message.as_bytes())
            .to_vec();
        signature.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn base64_pss_max_salt(&self, message: &str) -> String {
        use base64ct::Encoding as _;
        let signature =
            rsa::pss::SigningKey::<Sha256>::new_with_salt_len(self.private.clone(), 222)
                .sign_with_rng(&mut OsRng, message.as_bytes())
                .to_vec();
        base64ct::Base64::encode_string(&signature)
    }
}

async fn verify(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded"));
    cmd.arg("signature")
        .arg("verify")
        .args(args)
        .env_remove("ALLOY_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the CLI hung")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn args<'a>(key: &'a str, body: &'a str, signature: &'a str) -> Vec<&'a str> {
    vec![
        "--public-key",
        key,
        "--method",
        "POST",
        "--url",
        URL,
        "--body",
        body,
        "--signature",
        signature,
    ]
}

#[tokio::test]
async fn a_valid_signature_exits_0_from_text_a_file_or_standard_input() {
    let keys = Keys::new();
    let message = format!("POST{URL}{BODY}");
    let key = keys.path("alloy.pem");
    let hex = keys.hex_pkcs1(&message);
    let file = format!("@{}", keys.path("body.json"));

    let (code, stdout, stderr) = verify(&args(&key, BODY, &hex), None).await;
    assert_eq!(
        (code, stdout.as_str()),
        (0, "valid: PKCS#1 v1.5, hex\n"),
        "{stderr}"
    );
    let (code, _, stderr) = verify(&args(&key, &file, &hex), None).await;
    assert_eq!(code, 0, "{stderr}");
    let pss = keys.base64_pss_max_salt(&message);
    let (code, stdout, stderr) = verify(&args(&key, "-", &pss), Some(BODY)).await;
    assert_eq!(
        (code, stdout.as_str()),
        (0, "valid: PSS, 222-byte salt, base64\n"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_signature_that_does_not_match_exits_1() {
    let keys = Keys::new();
    let key = keys.path("alloy.pem");
    let hex = keys.hex_pkcs1(&format!("POST{URL}{BODY}"));
    let changed = BODY.replace("deleted", "created");
    let (code, stdout, stderr) = verify(&args(&key, &changed, &hex), None).await;
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr.trim(),
        "invalid: the signature does not match the method, URL and body under this key \
         (PKCS#1 v1.5 and PSS tried)"
    );
    let (code, _, stderr) = verify(&args(&key, BODY, &hex[..100]), None).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("neither hex nor base64"), "{stderr}");
}

#[tokio::test]
async fn bad_input_exits_2() {
    let keys = Keys::new();
    let key = keys.path("alloy.pem");
    let hex = keys.hex_pkcs1(&format!("POST{URL}{BODY}"));
    let missing = keys.path("missing.pem");
    let private = keys.path("private.pem");
    let no_body = format!("@{}", keys.path("missing.json"));
    let cases: [(Vec<&str>, &str); 5] = [
        (args(&missing, BODY, &hex), "cannot read the public key"),
        (args(&private, BODY, &hex), "private key"),
        (args(&key, BODY, ""), "--signature is empty"),
        (args(&key, &no_body, &hex), "cannot read the body"),
        (vec!["--method", "POST"], "required"),
    ];
    for (args, says) in cases {
        let (code, stdout, stderr) = verify(&args, None).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(Path::new(&key).exists());
}
