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
}

impl TestRedis {
    /// Starts a Redis on a free port and waits until it answers `PING`.
    pub async fn start() -> Self {
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
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
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

    /// Whether Redis answers `PING` now.
    pub async fn pings(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut reply = [0u8; 7];
        matches!(
            tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut reply)).await,
            Ok(Ok(_)) if &reply == b"+PONG\r\n"
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
