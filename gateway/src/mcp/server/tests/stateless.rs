//! Revision 2026-07-28: the per-request envelope, the transport's routing
//! check, and subscriptions.

use serde_json::{Value, json};

use super::*;

#[tokio::test]
async fn revision_2026_07_28_reads_each_requests_envelope() {
    let server = server().await;
    let stateless = stateless_http();
    let listing = settle(
        server
            .handle(request(1, "tools/list", envelope(json!({}))), &stateless)
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(listing.message["result"]["resultType"], "complete");
    assert_eq!(listing.message["result"]["cacheScope"], "private");
    assert!(listing.message["result"]["_meta"]["io.modelcontextprotocol/serverInfo"].is_object());

    let discovered = settle(
        server
            .handle(
                request(2, "server/discover", envelope(json!({}))),
                &stateless,
            )
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(
        discovered.message["result"]["supportedVersions"][0],
        "2026-07-28"
    );

    let call = envelope(json!({"name": "text.count", "arguments": {"text": "x y"}}));
    let called = settle(
        server
            .handle(request(3, "tools/call", call), &stateless)
            .await,
    )
    .await
    .expect("answered");
    assert_eq!(called.message["result"]["structuredContent"]["words"], 2);
    assert_eq!(called.message["result"]["resultType"], "complete");

    let mut wrong_version = envelope(json!({}));
    wrong_version["_meta"][PROTOCOL_VERSION_KEY] = json!("2025-06-18");
    for (method, params, kind) in [
        ("tools/list", json!({}), ErrorKind::InvalidParams),
        (
            "tools/list",
            wrong_version,
            ErrorKind::UnsupportedProtocolVersion,
        ),
        ("ping", envelope(json!({})), ErrorKind::MethodNotFound),
        (
            "tools/call",
            envelope(json!({"name": "nope"})),
            ErrorKind::InvalidParams,
        ),
    ] {
        let refused = settle(server.handle(request(4, method, params), &stateless).await)
            .await
            .expect("refused");
        assert_eq!(refused.message["id"], 4, "{method}");
        assert_eq!(
            refused.refusal.as_ref().map(|error| error.kind),
            Some(kind),
            "{method}"
        );
    }
    let notification = message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert!(matches!(
        server.handle(notification, &stateless).await,
        Reply::Nothing
    ));
}

#[tokio::test]
async fn a_transports_routing_check_refuses_before_anything_runs() {
    let server = server().await;
    let mismatch = |_: &crate::mcp::stateless::Envelope,
                    _: &str,
                    _: Option<&serde_json::Map<String, Value>>,
                    _: Option<&crate::catalog::Tool>| {
        Err(McpError::new(
            ErrorKind::HeaderMismatch,
            "the headers disagree",
        ))
    };
    let mut checked = stateless_http();
    checked.routing = Some(&mismatch);
    let refused = settle(
        server
            .handle(request(1, "tools/list", envelope(json!({}))), &checked)
            .await,
    )
    .await
    .expect("refused");
    assert_eq!(
        refused.refusal.as_ref().map(|error| error.kind),
        Some(ErrorKind::HeaderMismatch)
    );
    assert_eq!(error_code(&refused), Some(code::HEADER_MISMATCH));
}

#[tokio::test]
async fn a_subscription_acknowledges_and_ends_with_a_drain() {
    let server = server().await;
    let params =
        envelope(json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}));
    let Reply::Subscription(mut subscription) = server
        .handle(
            request(5, "subscriptions/listen", params),
            &stateless_http(),
        )
        .await
    else {
        panic!("a subscription opens");
    };
    let acknowledged = subscription.acknowledged();
    assert_eq!(
        acknowledged["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        acknowledged["params"]["notifications"],
        json!({"toolsListChanged": true, "promptsListChanged": true})
    );
    server.lifecycle().begin_drain();
    let SubscriptionEvent::End(ended) = subscription.next().await else {
        panic!("a drain ends the subscription with its result");
    };
    assert_eq!(ended["id"], 5);
    assert_eq!(ended["result"]["resultType"], "complete");
}
