//! Revision 2026-07-28: no handshake and no session. Each request carries
//! its envelope in `params._meta` (the revision, the client's capabilities,
//! optionally its info and the log level it wants); `server/discover` says
//! what the server speaks; every result says it is complete
//! (`resultType`), and listings say how long they may be cached.

use serde_json::{Map, Value, json};
use warden_sandbox::LogLevel;

use super::error::{ErrorKind, McpError};
use super::jsonrpc::{self, RequestId};
use super::notify;
use super::revision::{Revision, Transport};

/// `_meta` key of the request's protocol revision.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the client's `Implementation` (optional).
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key of the lowest log level the client wants (optional; without
/// it the request gets no log messages).
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key naming the `subscriptions/listen` stream a message belongs to.
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key of the server's `Implementation` on results.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// How long a client may cache `tools/list` and `server/discover` results.
/// Reloads change the listing; a client listening for changes hears of
/// them at once, and a minute bounds how long one that does not works
/// from an old listing.
pub const LIST_TTL_MS: u64 = 60_000;

/// Whether a request's `params._meta` names a protocol version: how a
/// 2026-07-28 request is told from a session's over stdio, which has no
/// header to say it.
pub fn carries_envelope(params: Option<&Map<String, Value>>) -> bool {
    params
        .and_then(|params| params.get("_meta"))
        .and_then(Value::as_object)
        .is_some_and(|meta| meta.contains_key(PROTOCOL_VERSION_KEY))
}

/// What a request's `_meta` declares, before its revision is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The revision the request names, as written.
    pub protocol_version: String,
    /// The client's declared capabilities.
    pub client_capabilities: Value,
    /// The client's info, `null` when not given.
    pub client_info: Value,
    /// The lowest log level wanted; `None`: no log messages.
    pub log_level: Option<LogLevel>,
}

impl Envelope {
    /// Reads the envelope of a request's `params`; a request without one
    /// is malformed (-32602).
    pub fn read(params: Option<&Map<String, Value>>) -> Result<Self, McpError> {
        let meta = params
            .and_then(|params| params.get("_meta"))
            .and_then(Value::as_object)
            .ok_or_else(|| {
                McpError::invalid_params(format!(
                    "params._meta must be an object carrying `{PROTOCOL_VERSION_KEY}` and \
                     `{CLIENT_CAPABILITIES_KEY}`"
                ))
            })?;
        let missing: Vec<&str> = [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY]
            .into_iter()
            .filter(|key| !meta.contains_key(*key))
            .collect();
        if !missing.is_empty() {
            return Err(McpError::invalid_params(format!(
                "params._meta lacks {}",
                missing
                    .iter()
                    .map(|key| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        }
        let protocol_version = meta[PROTOCOL_VERSION_KEY]
            .as_str()
            .ok_or_else(|| {
                McpError::invalid_params(format!(
                    "params._meta `{PROTOCOL_VERSION_KEY}` must be a string"
                ))
            })?
            .to_owned();
        let client_capabilities = match &meta[CLIENT_CAPABILITIES_KEY] {
            capabilities @ Value::Object(_) => capabilities.clone(),
            _ => {
                return Err(McpError::invalid_params(format!(
                    "params._meta `{CLIENT_CAPABILITIES_KEY}` must be an object"
                )));
            }
        };
        let client_info = meta.get(CLIENT_INFO_KEY).cloned().unwrap_or(Value::Null);
        let log_level = match meta.get(LOG_LEVEL_KEY) {
            None | Some(Value::Null) => None,
            Some(level) => Some(level.as_str().and_then(notify::parse_level).ok_or_else(|| {
                McpError::invalid_params(format!(
                    "params._meta `{LOG_LEVEL_KEY}` must be one of debug, info, notice, warning, \
                     error, critical, alert, emergency"
                ))
            })?),
        };
        Ok(Self {
            protocol_version,
            client_capabilities,
            client_info,
            log_level,
        })
    }

    /// The stateless revision the envelope names, if Warden serves it over
    /// `transport`; else -32022 listing every revision it serves there, so
    /// a client can fall back to a handshake one.
    pub fn revision(&self, transport: Transport) -> Result<Revision, McpError> {
        Revision::parse_for(&self.protocol_version, transport)
            .filter(|revision| revision.is_stateless())
            .ok_or_else(|| {
                let supported: Vec<&str> = Revision::SUPPORTED
                    .iter()
                    .filter(|revision| revision.served_over(transport))
                    .map(|revision| revision.as_str())
                    .collect();
                McpError::new(
                    ErrorKind::UnsupportedProtocolVersion,
                    format!(
                        "unsupported protocol version `{}`; supported: {}",
                        self.protocol_version,
                        supported.join(", ")
                    ),
                )
                .with_data(json!({
                    "supported": supported,
                    "requested": self.protocol_version,
                }))
            })
    }
}

/// The methods of revision 2026-07-28 a session's dispatch answers
/// (`server/discover` and `subscriptions/listen` are answered before it).
pub fn has_method(method: &str) -> bool {
    matches!(
        method,
        "tools/list"
            | "tools/call"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
            | "tasks/get"
            | "tasks/cancel"
            | "tasks/update"
    )
}

/// Most URIs one `subscriptions/listen` may watch.
pub const MAX_RESOURCE_SUBSCRIPTIONS: usize = 256;

/// The `server/discover` result: what Warden speaks over `transport` and
/// offers (`capabilities`, as `initialize` reports them).
pub fn discover(transport: Transport, server_info: &Value, capabilities: Value) -> Value {
    let supported: Vec<&str> = Revision::SUPPORTED
        .iter()
        .filter(|revision| revision.served_over(transport))
        .map(|revision| revision.as_str())
        .collect();
    let mut result = json!({
        "supportedVersions": supported,
        // List changes and resource updates reach clients through
        // `subscriptions/listen`.
        "capabilities": capabilities,
    });
    complete("server/discover", &mut result, server_info);
    result
}

/// Marks `result` (of `method`) as a 2026-07-28 result: complete, with the
/// server's identity, and for listings their caching terms. A listing
/// depends on the caller's access, so only the caller may cache it.
pub fn complete(method: &str, result: &mut Value, server_info: &Value) {
    let Some(fields) = result.as_object_mut() else {
        return;
    };
    // An `InputRequiredResult` already says what it is.
    fields
        .entry("resultType")
        .or_insert_with(|| json!("complete"));
    if fields.get("resultType") == Some(&json!("complete")) {
        let ttl = match method {
            "tools/list"
            | "server/discover"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list" => Some(LIST_TTL_MS),
            // What a component reads may change at any time.
            "resources/read" => Some(0),
            _ => None,
        };
        if let Some(ttl) = ttl {
            fields.insert("ttlMs".to_owned(), json!(ttl));
            fields.insert("cacheScope".to_owned(), json!("private"));
        }
    }
    let meta = fields
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(SERVER_INFO_KEY.to_owned(), server_info.clone());
    }
}

/// The notification types a `subscriptions/listen` request asks for that
/// Warden honours (MCP forbids sending types not asked for): list changes
/// of tools, prompts and resources, and updates of the resources listed in
/// `resourceSubscriptions` that `may_watch` allows (the caller may read
/// them); others are left out of the acknowledgement.
pub fn honoured_subscriptions(
    params: Option<&Map<String, Value>>,
    may_watch: impl Fn(&str) -> bool,
) -> Result<Value, McpError> {
    let filter = params
        .and_then(|params| params.get("notifications"))
        .and_then(Value::as_object)
        .ok_or_else(|| {
            McpError::invalid_params("`subscriptions/listen` needs a `notifications` object")
        })?;
    let mut honoured = Map::new();
    for key in [
        "toolsListChanged",
        "promptsListChanged",
        "resourcesListChanged",
    ] {
        if filter.get(key) == Some(&Value::Bool(true)) {
            honoured.insert(key.to_owned(), Value::Bool(true));
        }
    }
    match filter.get("resourceSubscriptions") {
        None | Some(Value::Null) => {}
        Some(Value::Array(uris)) => {
            if uris.len() > MAX_RESOURCE_SUBSCRIPTIONS {
                return Err(McpError::invalid_params(format!(
                    "`resourceSubscriptions` lists more than {MAX_RESOURCE_SUBSCRIPTIONS} URIs"
                )));
            }
            let mut watched = Vec::new();
            for uri in uris {
                let uri = uri.as_str().ok_or_else(|| {
                    McpError::invalid_params("`resourceSubscriptions` must list URI strings")
                })?;
                if may_watch(uri) && !watched.contains(&uri) {
                    watched.push(uri);
                }
            }
            honoured.insert("resourceSubscriptions".to_owned(), json!(watched));
        }
        Some(_) => {
            return Err(McpError::invalid_params(
                "`resourceSubscriptions` must be an array",
            ));
        }
    }
    Ok(Value::Object(honoured))
}

/// A notification of subscription `id` (the listen request's id).
pub fn subscription_notification(id: &RequestId, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({ SUBSCRIPTION_ID_KEY: id.to_value() });
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// The result that ends subscription `id` on purpose.
pub fn subscription_ended(id: &RequestId) -> Value {
    jsonrpc::result(
        id,
        json!({
            "resultType": "complete",
            "_meta": { SUBSCRIPTION_ID_KEY: id.to_value() },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(meta: Value) -> Option<Map<String, Value>> {
        json!({ "_meta": meta }).as_object().cloned()
    }

    #[test]
    fn an_envelope_needs_its_version_and_capabilities() {
        let good = params(json!({
            PROTOCOL_VERSION_KEY: "2026-07-28",
            CLIENT_CAPABILITIES_KEY: {},
            LOG_LEVEL_KEY: "warning",
        }));
        let envelope = Envelope::read(good.as_ref()).expect("valid");
        assert_eq!(envelope.log_level, Some(LogLevel::Warning));
        assert_eq!(envelope.client_info, Value::Null);
        assert_eq!(
            envelope.revision(Transport::Http),
            Ok(Revision::V2026_07_28)
        );

        for (meta, says) in [
            (json!(null), "must be an object"),
            (
                json!({CLIENT_CAPABILITIES_KEY: {}}),
                "lacks `io.modelcontextprotocol/protocolVersion`",
            ),
            (
                json!({}),
                "and `io.modelcontextprotocol/clientCapabilities`",
            ),
            (
                json!({PROTOCOL_VERSION_KEY: 7, CLIENT_CAPABILITIES_KEY: {}}),
                "must be a string",
            ),
            (
                json!({PROTOCOL_VERSION_KEY: "2026-07-28", CLIENT_CAPABILITIES_KEY: []}),
                "must be an object",
            ),
            (
                json!({PROTOCOL_VERSION_KEY: "2026-07-28", CLIENT_CAPABILITIES_KEY: {}, LOG_LEVEL_KEY: "loud"}),
                "must be one of",
            ),
        ] {
            let error = Envelope::read(params(meta.clone()).as_ref()).expect_err("refused");
            assert_eq!(error.code(), jsonrpc::code::INVALID_PARAMS, "{meta}");
            assert!(error.message.contains(says), "{meta}: {}", error.message);
        }
        assert!(Envelope::read(None).is_err());
    }

    #[test]
    fn a_revision_not_served_statelessly_lists_what_is() {
        for version in ["2025-11-25", "2099-01-01"] {
            let envelope = Envelope::read(
                params(json!({PROTOCOL_VERSION_KEY: version, CLIENT_CAPABILITIES_KEY: {}}))
                    .as_ref(),
            )
            .expect("read");
            let error = envelope.revision(Transport::Http).expect_err("refused");
            assert_eq!(error.code(), jsonrpc::code::UNSUPPORTED_PROTOCOL_VERSION);
            assert_eq!(
                error.data,
                Some(json!({
                    "supported": ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"],
                    "requested": version,
                }))
            );
        }
    }

    #[test]
    fn list_changes_and_watchable_resources_are_honoured() {
        let params = |filter: Value| json!({ "notifications": filter }).as_object().cloned();
        let only_a = |uri: &str| uri == "file:///a";
        assert_eq!(
            honoured_subscriptions(
                params(
                    json!({"toolsListChanged": true, "promptsListChanged": true, "other": true})
                )
                .as_ref(),
                only_a
            ),
            Ok(json!({"toolsListChanged": true, "promptsListChanged": true}))
        );
        assert_eq!(
            honoured_subscriptions(
                params(json!({"resourceSubscriptions": ["file:///a", "file:///b", "file:///a"]}))
                    .as_ref(),
                only_a
            ),
            Ok(json!({"resourceSubscriptions": ["file:///a"]}))
        );
        assert!(honoured_subscriptions(None, only_a).is_err());
        assert!(honoured_subscriptions(params(json!([])).as_ref(), only_a).is_err());
        assert!(
            honoured_subscriptions(
                params(json!({"resourceSubscriptions": [1]})).as_ref(),
                only_a
            )
            .is_err()
        );
    }

    #[test]
    fn results_are_complete_and_listings_cacheable_by_the_caller() {
        let info = json!({"name": "warden", "version": "1"});
        let mut listing = json!({"tools": []});
        complete("tools/list", &mut listing, &info);
        assert_eq!(
            listing,
            json!({"tools": [], "resultType": "complete", "ttlMs": LIST_TTL_MS,
                   "cacheScope": "private", "_meta": {SERVER_INFO_KEY: info}})
        );
        let mut called = json!({"content": [], "isError": true, "_meta": {"k": 1}});
        complete("tools/call", &mut called, &info);
        assert_eq!(called["resultType"], "complete");
        assert_eq!(called["_meta"]["k"], 1);
        assert!(called.get("ttlMs").is_none());
        let discovered = discover(Transport::Http, &info, json!({"tools": {}}));
        assert_eq!(discovered["supportedVersions"][0], "2026-07-28");
        assert_eq!(discovered["cacheScope"], "private");
    }
}
