//! MCP protocol revisions Warden speaks, and version negotiation.

/// A protocol revision. Ordered oldest to newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// `2025-03-26`: the last revision with JSON-RPC batches.
    V2025_03_26,
    /// `2025-06-18`.
    V2025_06_18,
    /// `2025-11-25`.
    V2025_11_25,
}

impl Revision {
    /// Every supported revision, newest first.
    pub const SUPPORTED: &'static [Revision] = &[
        Revision::V2025_11_25,
        Revision::V2025_06_18,
        Revision::V2025_03_26,
    ];

    /// The newest supported revision.
    pub const LATEST: Revision = Revision::V2025_11_25;

    /// The revision's date string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
        }
    }

    /// The revision named by `text`, if supported.
    pub fn parse(text: &str) -> Option<Self> {
        Self::SUPPORTED
            .iter()
            .copied()
            .find(|revision| revision.as_str() == text)
    }

    /// The revision to use with a client that asked for `requested`: the
    /// same when supported, otherwise our newest (the client then decides
    /// whether it can speak it).
    pub fn negotiate(requested: &str) -> Self {
        Self::parse(requested).unwrap_or(Self::LATEST)
    }

    /// Whether arguments failing the input schema are reported as a tool
    /// execution error (`isError: true`) rather than a JSON-RPC error.
    pub fn schema_errors_are_tool_errors(self) -> bool {
        self >= Self::V2025_11_25
    }

    /// Whether a POST body may be a JSON-RPC batch (an array of messages).
    pub fn accepts_batches(self) -> bool {
        self == Self::V2025_03_26
    }

    /// Whether an event stream opens with a priming event (an id and a
    /// `retry:` delay, no data) that a client can resume from.
    pub fn primes_event_streams(self) -> bool {
        self >= Self::V2025_11_25
    }

    /// The supported revisions, comma-separated, for error messages.
    pub fn supported_list() -> String {
        Self::SUPPORTED
            .iter()
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
        assert_eq!(Revision::negotiate("2025-03-26"), Revision::V2025_03_26);
        assert_eq!(Revision::negotiate("2025-06-18"), Revision::V2025_06_18);
        assert_eq!(Revision::negotiate("2025-11-25"), Revision::V2025_11_25);
        assert_eq!(Revision::negotiate("2024-11-05"), Revision::LATEST);
        assert_eq!(Revision::negotiate("garbage"), Revision::LATEST);
    }
}
