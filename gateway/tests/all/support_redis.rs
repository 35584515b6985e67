//! A real Redis for the cluster tests: Debian's `redis-server`, installed
//! with the registry tests' packages when missing, on a free loopback port
//! with no persistence, stopped and started again by the tests.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::registry_support::debian_tools;

/// One `redis-server` process on 127.0.0.1.
pub struct TestRedis {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    secured: Secured,
}

/// TLS (the server's certificate and key, PEM) and a password.
#[derive(Default, Clone)]
pub struct Secured {
    pub tls: Option<(String, String)>,
    pub password: Option<String>,
}

impl TestRedis {
    /// Starts a Redis on a free port and waits until it answers `PING`.
    pub async fn start() -> Self {
        Self::start_secured(Secured::default()).await
    }

    /// Starts a Redis that speaks TLS only and asks for a password, as
    /// `secured` says.
    pub async fn start_secured(secured: Secured) -> Self {
        debian_tools().await;
        let mut dir = tempfile::tempdir().expect("tempdir");
        // redis-server cannot take port 0: a port the OS just handed out is
        // taken, and another tried should a race take it first.
        for _ in 0..5 {
            let port = free_port().await;
            let mut redis = Self {
                port,
                child: None,
                dir,
                secured: secured.clone(),
            };
            if redis.launch().await {
                return redis;
            }
            dir = redis.take_dir();
        }
        panic!("redis-server did not start on any of five free ports");
    }

    fn take_dir(self) -> tempfile::TempDir {
        let Self { dir, .. } = self;
        dir
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) -> bool {
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        match &self.secured.tls {
            None => command.args(["--port", &port]),
            Some((cert, key)) => {
                let (cert_path, key_path) = (
                    self.dir.path().join("cert.pem"),
                    self.dir.path().join("key.pem"),
                );
                std::fs::write(&cert_path, cert).expect("write the certificate");
                std::fs::write(&key_path, key).expect("write the key");
                command
                    .args([
                        "--port",
                        "0",
                        "--tls-port",
                        &port,
                        "--tls-auth-clients",
                        "no",
                    ])
                    .arg("--tls-cert-file")
                    .arg(&cert_path)
                    .arg("--tls-key-file")
                    .arg(&key_path)
                    .arg("--tls-ca-cert-file")
                    .arg(&cert_path)
            }
        };
        if let Some(password) = &self.secured.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .args([
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--dir",
            ])
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server (Debian's redis-server package)");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if self.pings().await {
                return true;
            }
            if let Some(child) = &mut self.child
                && child.try_wait().ok().flatten().is_some()
            {
                self.child = None;
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Whether Redis answers now: a reply to `PING` (`-NOAUTH` counts),
    /// or, over TLS, a connection accepted.
    pub async fn pings(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if self.secured.tls.is_some() {
            return true;
        }
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut reply = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut reply)).await,
            Ok(Ok(_)) if reply[0] == b'+' || reply[0] == b'-'
        )
    }

    /// Stops Redis (its data is gone: there is no persistence).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Freezes Redis (SIGSTOP): connections stay open and nothing
    /// answers, as with a hung server or a network partition.
    pub async fn freeze(&self) {
        self.signal("-STOP").await;
    }

    /// Lets a frozen Redis go on (SIGCONT).
    pub async fn thaw(&self) {
        self.signal("-CONT").await;
    }

    async fn signal(&self, signal: &str) {
        let pid = self
            .child
            .as_ref()
            .and_then(Child::id)
            .expect("redis-server runs");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Starts Redis again on the same port, empty.
    pub async fn restart(&mut self) {
        self.stop().await;
        assert!(self.launch().await, "redis-server restarts on its port");
    }
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr").port()
}
