//! A server process started by a benchmark: its log in a file (a pipe left
//! unread would fill and stall it), readiness by completing an MCP
//! initialize, its memory, CPU time and file descriptors from `/proc`, and
//! a kill when dropped, so no server outlives the benchmark, whatever error or
//! panic ends it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

use crate::mcp_client::Connection;

/// A running server; killed when dropped.
pub struct Running {
    name: &'static str,
    child: Child,
    /// Where it serves, `127.0.0.1`.
    pub addr: SocketAddr,
    log: PathBuf,
}

/// A port nothing listens on now. Another process could take it before the
/// server binds it; on a quiet loopback that race is lost rarely, and then
/// readiness fails with the server's own message.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

impl Running {
    /// Spawns `command`, which must serve MCP at `127.0.0.1:port/mcp`,
    /// its output going to `log`.
    pub fn spawn(
        name: &'static str,
        mut command: Command,
        port: u16,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let out =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("start {name}: {command:?}"))?;
        Ok(Self {
            name,
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log: log.to_owned(),
        })
    }

    /// Waits until an MCP initialize succeeds, the process exits, or
    /// `within` passes.
    pub async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before serving; its log ends:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            let attempt =
                tokio::time::timeout(Duration::from_secs(5), Connection::open(self.addr)).await;
            let error = match attempt {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(error)) => format!("{error:#}"),
                Err(_) => "initialize timed out".to_owned(),
            };
            if Instant::now() > deadline {
                bail!(
                    "{} not ready within {within:?} ({error}); its log ends:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails, with the end of its log, if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); its log ends:\n{}",
                self.name,
                self.log_tail()
            );
        }
        Ok(())
    }

    /// The process's resident set now (`VmRSS`), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        self.status_kib("VmRSS:").map(|kib| kib * 1024)
    }

    /// The anonymous part of the resident set (`RssAnon`), in bytes: memory
    /// of the process's own, where the rest is file pages the kernel can
    /// drop and read again.
    pub fn rss_anon_bytes(&self) -> Option<u64> {
        self.status_kib("RssAnon:").map(|kib| kib * 1024)
    }

    /// The proportional set size (`Pss` of `/proc/<pid>/smaps_rollup`), in
    /// bytes: each resident page divided by the number of mappings that
    /// share it, so a file page the process maps twice (the same snapshot
    /// page in two pool slots) counts once, where `VmRSS` counts it twice.
    pub fn pss_bytes(&self) -> Option<u64> {
        self.proc_kib("smaps_rollup", "Pss:").map(|kib| kib * 1024)
    }

    /// The process's peak resident set (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        self.status_kib("VmHWM:").map(|kib| kib * 1024)
    }

    /// CPU time the process has used so far, user and system, all its
    /// threads together (`utime` + `stime` of `/proc/<pid>/stat`).
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
        let ticks =
            stat_cpu_ticks(&stat).with_context(|| format!("no utime and stime in {path}"))?;
        // The kernel reports these in USER_HZ ticks, which the auxiliary
        // vector gives (AT_CLKTCK), as sysconf(_SC_CLK_TCK) does.
        let per_sec = rustix::param::clock_ticks_per_second();
        ensure!(per_sec > 0, "the kernel gave no clock tick rate");
        let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(per_sec);
        Ok(Duration::from_nanos(u64::try_from(nanos)?))
    }

    /// File descriptors the process has open.
    pub fn open_fds(&self) -> Option<u64> {
        let entries = std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).ok()?;
        Some(entries.count() as u64)
    }

    /// The process's soft limit on open files (`Max open files` in
    /// `/proc/<pid>/limits`); `None` when unlimited or unreadable.
    pub fn open_files_limit(&self) -> Option<u64> {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", self.child.id())).ok()?;
        let line = limits
            .lines()
            .find(|line| line.starts_with("Max open files"))?;
        line.split_whitespace().nth(3)?.parse().ok()
    }

    /// A `kB` figure of `/proc/<pid>/status`.
    fn status_kib(&self, field: &str) -> Option<u64> {
        self.proc_kib("status", field)
    }

    /// A `kB` figure, `field`, of the file `/proc/<pid>/<file>`.
    fn proc_kib(&self, file: &str, field: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id())).ok()?;
        let line = text.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// `utime` + `stime`, in clock ticks, of the text of a `/proc/<pid>/stat`.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name, the second field, is in parentheses and may itself
    // hold spaces and parentheses; the fields after the last `)` are plain.
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come the state (the third field), ..., utime (the
    // 14th) and stime (the 15th).
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_and_stime_whatever_the_command_name() {
        let stat = "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    150 27 0 0 20 0 9 0 123456 98765432 4321 18446744073709551615";
        assert_eq!(stat_cpu_ticks(stat), Some(177));
        assert_eq!(stat_cpu_ticks("4242 (a) S 1 2"), None);
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
        assert!(stat_cpu_ticks(&stat).is_some());
    }
}
