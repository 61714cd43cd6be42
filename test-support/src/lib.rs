//! What the tests and benches of runalloy-embedded share, a package of its
//! own so that each test binary takes what it uses:
//! - a scriptable HTTP/1.1 server on 127.0.0.1 that records exactly what it
//!   received, and can misbehave on cue: reset, stall, send endless bodies
//!   (this module);
//! - sample arguments for every operation, and what the server must receive
//!   for them ([`operations`]);
//! - the plain reqwest client the benches compare against ([`bench`]);
//! - a Redis (or Valkey) server of a test's own ([`store`]).

pub mod bench;
pub mod operations;
pub mod store;

use runalloy_embedded::{Client, ClientBuilder, RetryPolicy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The key every test client sends.
pub const TEST_KEY: &str = "sk_test_5ecret-K3y-value";

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The request target, query included, as sent.
    pub target: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        names
    }

    /// The target without its query, as sent.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The path without the query, percent-decoded segment by segment.
    pub fn segments(&self) -> Vec<String> {
        let path = self.target.split('?').next().unwrap_or("");
        path.split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect()
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without answering.
    Close,
    /// Send the head and half the declared body, then close.
    CutMidBody,
    /// Wait, then do the inner reply.
    Delay(Duration, Box<Reply>),
    /// A 200 whose chunked body never ends.
    Endless,
    /// These bytes as they are (a head that may lie), then close.
    Raw(Vec<u8>),
}

pub fn json(status: u16, body: &str) -> Reply {
    Reply::Respond {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

pub fn with_header(reply: Reply, name: &str, value: &str) -> Reply {
    match reply {
        Reply::Respond {
            status,
            mut headers,
            body,
        } => {
            headers.push((name.into(), value.into()));
            Reply::Respond {
                status,
                headers,
                body,
            }
        }
        other => other,
    }
}

type Script = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server that answers request number `n` (from 0) with
    /// `script(n, &request)`.
    pub async fn start(script: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let counter = Arc::new(AtomicUsize::new(0));
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    let (seen, script, counter) = (seen.clone(), script.clone(), counter.clone());
                    tokio::spawn(serve(stream, seen, script, counter));
                }
            })
        };
        Self { addr, seen, task }
    }

    /// Answers every request with the same reply.
    pub async fn always(reply: Reply) -> Self {
        Self::start(move |_, _| reply.clone()).await
    }

    /// Answers with `replies` in order, repeating the last.
    pub async fn sequence(replies: Vec<Reply>) -> Self {
        Self::start(move |n, _| replies[n.min(replies.len() - 1)].clone()).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Script>,
    counter: Arc<AtomicUsize>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let n = counter.fetch_add(1, Ordering::SeqCst);
        seen.lock().unwrap().push(request.clone());
        let mut reply = script(n, &request);
        while let Reply::Delay(wait, inner) = reply {
            tokio::time::sleep(wait).await;
            reply = *inner;
        }
        match reply {
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                // One write: a head and body in two small writes meet Nagle's
                // algorithm and delayed ACKs, and every request takes 40 ms.
                let mut message = head.into_bytes();
                message.extend_from_slice(&body);
                if stream.write_all(&message).await.is_err() {
                    return;
                }
            }
            Reply::Close => return,
            Reply::CutMidBody => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"success\":";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Endless => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
                return;
            }
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Delay(..) => unreachable!(),
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buf.len() < body_start + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[body_start..body_start + length].to_vec();
    buf.drain(..body_start + length);
    Some(Recorded {
        method,
        target,
        headers,
        body,
        at: Instant::now(),
    })
}

/// A retry policy with short waits, so fault tests stay fast.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
        .max_retry_after(Duration::from_secs(5))
        .deadline(Duration::from_secs(10))
}

/// A builder for `url` with the test key, a 2 s timeout and fast retries.
pub fn builder(url: &str) -> ClientBuilder {
    Client::builder()
        .api_key(TEST_KEY)
        .base_url(url)
        .timeout(Duration::from_secs(2))
        .retry_policy(fast_retries())
}

/// [`builder`], built.
pub fn client(url: &str) -> Client {
    builder(url).build().unwrap()
}

/// A URL on which nothing listens.
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
