//! MCP protocol revisions Warden speaks, and version negotiation.

/// How a client reaches Warden; revisions differ in which they define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP (from 2025-03-26 on).
    Http,
    /// Newline-delimited JSON-RPC on stdin and stdout (every revision).
    Stdio,
}

/// A protocol revision. Ordered oldest to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// `2024-11-05`: stdio only here; its HTTP transport (HTTP+SSE) was
    /// replaced by Streamable HTTP in 2025-03-26.
    V2024_11_05,
    /// `2025-03-26`: the last revision with JSON-RPC batches.
    V2025_03_26,
    /// `2025-06-18`.
    V2025_06_18,
    /// `2025-11-25`.
    V2025_11_25,
    /// `2026-07-28`: stateless. No handshake and no session: each request
    /// carries its revision and the client's capabilities in `_meta`.
    V2026_07_28,
}

impl Revision {
    /// Every supported revision, newest first.
    pub const SUPPORTED: &'static [Revision] = &[
        Revision::V2026_07_28,
        Revision::V2025_11_25,
        Revision::V2025_06_18,
        Revision::V2025_03_26,
        Revision::V2024_11_05,
    ];

    /// The newest revision `initialize` can settle on.
    pub const LATEST: Revision = Revision::V2025_11_25;

    /// The revision's date string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// The revision named by `text`, if supported.
    pub fn parse(text: &str) -> Option<Self> {
        Self::SUPPORTED
            .iter()
            .copied()
            .find(|revision| revision.as_str() == text)
    }

    /// The revision named by `text`, if supported over `transport`.
    pub fn parse_for(text: &str, transport: Transport) -> Option<Self> {
        Self::parse(text).filter(|revision| revision.served_over(transport))
    }

    /// Whether Warden serves the revision over `transport`: Streamable HTTP
    /// came with 2025-03-26; stdio carries them all.
    pub fn served_over(self, transport: Transport) -> bool {
        transport == Transport::Stdio || self >= Self::V2025_03_26
    }

    /// The revision `initialize` settles on with a client that asked for
    /// `requested` over `transport`: the same when the handshake reaches it
    /// there, otherwise our newest (the client then decides whether it can
    /// speak it).
    pub fn negotiate(requested: &str, transport: Transport) -> Self {
        Self::parse_for(requested, transport)
            .filter(|revision| !revision.is_stateless())
            .unwrap_or(Self::LATEST)
    }

    /// Whether the revision has no handshake and no session (2026-07-28).
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// Whether arguments failing the input schema are reported as a tool
    /// execution error (`isError: true`) rather than a JSON-RPC error.
    pub fn schema_errors_are_tool_errors(self) -> bool {
        self >= Self::V2025_11_25
    }

    /// Whether progress notifications may carry a `message`.
    pub fn has_progress_messages(self) -> bool {
        self >= Self::V2025_03_26
    }

    /// Whether servers may ask clients for input (`elicitation/create`).
    pub fn has_elicitation(self) -> bool {
        self >= Self::V2025_06_18
    }

    /// Whether a POST body may be a JSON-RPC batch (an array of messages).
    pub fn accepts_batches(self) -> bool {
        self == Self::V2025_03_26
    }

    /// Whether an event stream opens with a priming event (an id and a
    /// `retry:` delay, no data) that a client can resume from.
    pub fn primes_event_streams(self) -> bool {
        self == Self::V2025_11_25
    }

    /// The revisions supported over `transport`, comma-separated, for
    /// error messages.
    pub fn supported_list(transport: Transport) -> String {
        Self::SUPPORTED
            .iter()
            .filter(|revision| revision.served_over(transport))
            .map(|revision| revision.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_the_clients_revision_when_supported() {
        for transport in [Transport::Http, Transport::Stdio] {
            for revision in [
                Revision::V2025_03_26,
                Revision::V2025_06_18,
                Revision::V2025_11_25,
            ] {
                assert_eq!(Revision::negotiate(revision.as_str(), transport), revision);
            }
            assert_eq!(Revision::negotiate("garbage", transport), Revision::LATEST);
            // 2026-07-28 has no handshake to settle on it.
            assert_eq!(
                Revision::negotiate("2026-07-28", transport),
                Revision::LATEST
            );
            assert_eq!(
                Revision::negotiate("2024-10-07", transport),
                Revision::LATEST
            );
        }
        assert_eq!(
            Revision::negotiate("2024-11-05", Transport::Stdio),
            Revision::V2024_11_05
        );
        assert_eq!(
            Revision::negotiate("2024-11-05", Transport::Http),
            Revision::LATEST
        );
        assert_eq!(
            Revision::supported_list(Transport::Http),
            "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26"
        );
        assert_eq!(
            Revision::supported_list(Transport::Stdio),
            "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05"
        );
    }
}
