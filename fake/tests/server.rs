//! The stand-in as a server of its own: it prints the URL it listens on
//! and the users it starts with, answers as the API does, and stops
//! cleanly on Ctrl-C.

use runalloy_embedded::Client;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "current_thread")]
async fn the_binary_serves_until_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded-fake"))
        .args(["--key", "test-key", "--users", "2", "--rate-limit", "50"])
        .env_remove("ALLOY_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let ids: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();

    let client = Client::builder()
        .api_key("test-key")
        .base_url(&url)
        .build()
        .unwrap();
    let user = client.get_user(&ids[0]).await.unwrap();
    assert_eq!(user.username.as_deref(), Some("user-1@example.com"));
    assert_eq!(client.list_users(None).await.unwrap().data.len(), 2);
    assert!(client.erase_user(&ids[1]).await.is_erased());
    let wrong = Client::builder()
        .api_key("wrong")
        .base_url(&url)
        .build()
        .unwrap();
    assert!(wrong.get_user(&ids[0]).await.unwrap_err().is_auth_failure());

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "it did not stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr.trim(), "stopped");
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_runalloy-embedded-fake"))
        .args(["--key", "k", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: the stand-in could not start on 127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
}
