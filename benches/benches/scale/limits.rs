//! The limits that bound how many connections one machine holds: open
//! files (each end of a loopback connection is a descriptor, one in this
//! process and one in Warden's) and the ephemeral ports a client picks its
//! side's port from.

use anyhow::Context as _;
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// This process's `RLIMIT_NOFILE`, before and after raising it.
#[derive(Debug, Clone, Copy)]
pub struct OpenFiles {
    /// The soft limit the process started with.
    pub was: Option<u64>,
    /// The soft limit now (Warden, started from here, inherits it).
    pub soft: Option<u64>,
    /// The hard limit, which only a privileged process may raise.
    pub hard: Option<u64>,
}

/// Raises this process's soft limit on open files to its hard limit
/// (`None` means unlimited). Servers started afterwards inherit it.
pub fn raise_open_files() -> anyhow::Result<OpenFiles> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )
        .context("raise RLIMIT_NOFILE to its hard limit")?;
    }
    let now = getrlimit(Resource::Nofile);
    Ok(OpenFiles {
        was: limit.current,
        soft: now.current,
        hard: now.maximum,
    })
}

/// Descriptors this process has open.
pub fn own_open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |entries| entries.count() as u64)
}

/// How many local ports a client may connect from to one address and port
/// (`net.ipv4.ip_local_port_range`), if readable.
pub fn ephemeral_ports() -> Option<u64> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = range.split_whitespace().map(str::parse::<u64>);
    let (low, high) = (bounds.next()?.ok()?, bounds.next()?.ok()?);
    Some(high.saturating_sub(low) + 1)
}

/// The kernel's count of connections dropped because a listener's accept
/// queue was full (`TcpExt: ListenOverflows` in `/proc/net/netstat`, for the
/// whole network namespace), if readable. A dropped connection's client
/// retries its SYN a second later.
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut tcp = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (tcp.next()?, tcp.next()?);
    let index = names
        .split_whitespace()
        .position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}
