//! The Redis that `warden-redis` keeps its quotas in: Debian's
//! `redis-server`, started by the bench on a free loopback port with no
//! persistence, one per point (so that its CPU time and command counts are
//! that point's alone), killed when dropped. Spoken to over a plain TCP
//! connection in RESP: `PING` for readiness, `INFO commandstats` for the
//! commands Warden sent.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use warden_benches::server::{Running, free_port};

/// Debian's package `redis-server` puts it here.
const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// Longest wait for a started Redis to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Longest wait for one answer of Redis.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The `redis-server` binary, or why there is none.
pub fn binary() -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(REDIS_SERVER);
    ensure!(
        path.is_file(),
        "{REDIS_SERVER} is missing (Debian's package redis-server provides it)"
    );
    Ok(path)
}

/// A running Redis; killed when dropped.
pub struct Redis {
    process: Running,
}

/// What Redis had used and been asked when read.
pub struct Reading {
    /// Its CPU time so far, user and system, all its threads.
    pub cpu: Duration,
    /// Calls of each command so far (`cmdstat_<name>:calls=`), the
    /// commands scripts run included.
    pub commands: BTreeMap<String, u64>,
}

impl Redis {
    /// Starts `binary` on a free loopback port, without persistence, its
    /// log in `log`, and waits until it answers `PING`.
    pub async fn start(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new(binary);
        command
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            // Nothing is written, but a dump would land in the scratch
            // directory rather than wherever the bench was started.
            .arg("--dir")
            .arg(log.parent().unwrap_or(Path::new(".")));
        let mut process = Running::spawn("redis-server", command, port, log)?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            process.check_alive()?;
            let error = match ask(process.addr, &["PING"]) {
                Ok(answer) if answer == "PONG" => return Ok(Self { process }),
                Ok(answer) => format!("PING answered {answer:?}"),
                Err(error) => format!("{error:#}"),
            };
            if Instant::now() > deadline {
                bail!(
                    "redis-server not ready within {READY_WITHIN:?} ({error}); its log ends:\n{}",
                    process.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The URL Warden's `[cluster] redis_url` takes.
    pub fn url(&self) -> String {
        format!("redis://{}", self.process.addr)
    }

    /// Its CPU time and command counts now. Takes a connection and one
    /// round trip (`INFO` itself is counted by Redis: leave it out).
    pub fn read(&self) -> anyhow::Result<Reading> {
        let cpu = self.process.cpu_time()?;
        let info = ask(self.process.addr, &["INFO", "commandstats"])?;
        Ok(Reading {
            cpu,
            commands: command_calls(&info),
        })
    }
}

/// Sends one command and returns its answer: a simple string's or a bulk
/// string's text.
fn ask(addr: SocketAddr, args: &[&str]) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, ANSWER_WITHIN)
        .with_context(|| format!("connect to Redis at {addr}"))?;
    stream.set_read_timeout(Some(ANSWER_WITHIN))?;
    stream.set_write_timeout(Some(ANSWER_WITHIN))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line
        .split_at_checked(1)
        .context("Redis closed the connection")?;
    match kind {
        "+" => Ok(rest.to_owned()),
        "-" => bail!("Redis answered an error: {rest}"),
        "$" => {
            let length: usize = rest
                .parse()
                .with_context(|| format!("a bulk string of length {rest:?}"))?;
            let mut body = vec![0; length + 2];
            reader.read_exact(&mut body)?;
            body.truncate(length);
            Ok(String::from_utf8(body)?)
        }
        _ => bail!("unexpected answer from Redis: {line:?}"),
    }
}

/// `calls=` of each `cmdstat_<name>` line of `INFO commandstats`.
fn command_calls(info: &str) -> BTreeMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, fields) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = fields
                .split(',')
                .find_map(|field| field.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}
