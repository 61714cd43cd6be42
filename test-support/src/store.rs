//! A Redis (or Valkey) server of the test's own, on a free loopback port,
//! with persistence off. A test that needs one fails, never skips, when it
//! cannot start it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Store {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
}

/// The server binary: `redis-server`, or `valkey-server`.
fn binary() -> &'static str {
    for name in ["redis-server", "valkey-server"] {
        if Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return name;
        }
    }
    panic!("neither redis-server nor valkey-server runs here; .ci/run installs redis-server");
}

impl Store {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With extra server arguments, such as `--requirepass`.
    pub fn start_with(args: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut store = Store {
            child: None,
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        store.spawn();
        store
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the store starts");
        self.child = Some(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                let mut answer = [0u8; 64];
                if conn.write_all(b"PING\r\n").is_ok()
                    && conn.read(&mut answer).is_ok_and(|n| n > 0)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the store did not answer on port {}", self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with its state gone.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `redis-cli` against it, with `args`; its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut cli = Command::new("redis-cli");
        cli.args(["-p", &self.port.to_string()]);
        if let Some(i) = self.args.iter().position(|a| a == "--requirepass") {
            cli.args(["-a", &self.args[i + 1], "--no-auth-warning"]);
        }
        let out = cli.args(args).output().expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.kill();
    }
}
