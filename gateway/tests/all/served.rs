//! Resources, resource templates, prompts and completions over HTTP: what
//! the example components serve, in every revision that has them, and
//! components that misbehave while serving them.

use serde_json::{Value, json};

use crate::support::{Session, TestServer};

/// The `result` of a request that must succeed.
async fn result(session: &Session<'_>, method: &str, params: Value) -> Value {
    let response = session.request(method, params).await;
    assert!(response.get("error").is_none(), "{method}: {response}");
    response["result"].clone()
}

/// The `error` of a request that must fail.
async fn error(session: &Session<'_>, method: &str, params: Value) -> Value {
    let response = session.request(method, params).await;
    assert!(response.get("error").is_some(), "{method}: {response}");
    response["error"].clone()
}

/// Every item of a paginated listing (the test config's page size is 3).
async fn list_all(session: &Session<'_>, method: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut params = json!({});
    for _ in 0..100 {
        let page = result(session, method, params).await;
        items.extend(page[key].as_array().cloned().unwrap_or_default());
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(cursor) => params = json!({ "cursor": cursor }),
            None => return items,
        }
    }
    panic!("{method} never ended its pages");
}

fn names<'a>(items: &'a [Value], key: &str) -> Vec<&'a str> {
    items.iter().filter_map(|item| item[key].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_components_serve_resources_prompts_and_completions() {
    let server = TestServer::start().await;
    let session = server.session().await;

    let resources = list_all(&session, "resources/list", "resources").await;
    let uris = names(&resources, "uri");
    for expected in [
        "file:///data/notes.md",
        "file:///data/sub/more.txt",
        "ui://text/count.html",
        "misbehave://loop",
    ] {
        assert!(uris.contains(&expected), "{expected} in {uris:?}");
    }
    let notes = resources
        .iter()
        .find(|resource| resource["uri"] == "file:///data/notes.md")
        .expect("listed");
    assert_eq!(notes["mimeType"], "text/markdown");
    assert_eq!(notes["size"], 34);

    let templates = list_all(&session, "resources/templates/list", "resourceTemplates").await;
    assert!(
        names(&templates, "uriTemplate").contains(&"file:///data/{+path}"),
        "{templates:?}"
    );

    // A listed file, and one read through the template only.
    let read = result(
        &session,
        "resources/read",
        json!({"uri": "file:///data/notes.md"}),
    )
    .await;
    assert_eq!(
        read["contents"],
        json!([{"uri": "file:///data/notes.md", "mimeType": "text/markdown",
                "text": "# Notes\nwarden runs tools\nin wasm\n"}])
    );
    let nested = result(
        &session,
        "resources/read",
        json!({"uri": "file:///data/sub/more.txt"}),
    )
    .await;
    assert_eq!(nested["contents"][0]["text"], "more warden text\n");

    let prompts = list_all(&session, "prompts/list", "prompts").await;
    let summarize = prompts
        .iter()
        .find(|prompt| prompt["name"] == "files.summarize")
        .expect("files.summarize listed");
    assert_eq!(summarize["arguments"][0]["name"], "focus");
    assert_eq!(summarize["arguments"][1]["name"], "path");
    assert_eq!(summarize["arguments"][1]["required"], true);
    let got = result(
        &session,
        "prompts/get",
        json!({"name": "files.summarize", "arguments": {"path": "notes.md", "focus": "wasm"}}),
    )
    .await;
    assert_eq!(got["messages"][0]["content"]["type"], "resource");
    assert_eq!(
        got["messages"][0]["content"]["resource"]["uri"],
        "file:///data/notes.md"
    );
    let ask = got["messages"][1]["content"]["text"]
        .as_str()
        .expect("text");
    assert!(ask.contains("wasm"), "{ask}");

    let completed = result(
        &session,
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": "file:///data/{+path}"},
               "argument": {"name": "path", "value": "su"}}),
    )
    .await;
    assert_eq!(completed["completion"]["values"], json!(["sub/"]));
    let completed = result(
        &session,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "files.summarize"},
               "argument": {"name": "path", "value": "sub/"}}),
    )
    .await;
    assert_eq!(completed["completion"]["values"], json!(["sub/more.txt"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_client_asks_wrongly_is_a_precise_protocol_error() {
    let server = TestServer::start().await;
    let session = server.session().await;
    for (method, params, code, says) in [
        (
            "resources/read",
            json!({"uri": "file:///data/../etc/passwd"}),
            -32602,
            "`..` segment",
        ),
        (
            "resources/read",
            json!({"uri": "file:///data/%2e%2e/secret"}),
            -32602,
            "`..` segment",
        ),
        (
            "resources/read",
            json!({"uri": "notes.md"}),
            -32602,
            "absolute URI",
        ),
        ("resources/read", json!({}), -32602, "`uri` is required"),
        (
            "resources/read",
            json!({"uri": "test://nothing/here"}),
            -32002,
            "Resource not found",
        ),
        (
            "resources/read",
            json!({"uri": "file:///data/absent.txt"}),
            -32002,
            "Resource not found",
        ),
        (
            "prompts/get",
            json!({"name": "files.summarize"}),
            -32602,
            "missing required argument `path`",
        ),
        (
            "prompts/get",
            json!({"name": "files.summarize", "arguments": {"path": 7}}),
            -32602,
            "`path` must be a string",
        ),
        (
            "prompts/get",
            json!({"name": "files.summarize", "arguments": {"path": "notes.md", "colour": "red"}}),
            -32602,
            "unknown argument `colour`",
        ),
        (
            "prompts/get",
            json!({"name": "no.such"}),
            -32602,
            "Unknown prompt",
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "files.summarize"},
                   "argument": {"name": "nope", "value": ""}}),
            -32602,
            "has no argument `nope`",
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "file:///nowhere/{x}"},
                   "argument": {"name": "x", "value": ""}}),
            -32602,
            "Unknown resource template",
        ),
        (
            "resources/list",
            json!({"cursor": "forged"}),
            -32602,
            "cursor",
        ),
    ] {
        let error = error(&session, method, params.clone()).await;
        assert_eq!(error["code"], code, "{method} {params}: {error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{method} {params}: {message}");
    }
    let unknown = error(
        &session,
        "resources/read",
        json!({"uri": "test://nothing/here"}),
    )
    .await;
    assert_eq!(unknown["data"]["uri"], "test://nothing/here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_that_misbehaves_while_serving_fails_only_its_request() {
    let server = TestServer::start().await;
    let session = server.session().await;
    for (uri, code, reason, says) in [
        ("misbehave://loop", -32603, "timeout", "500 ms time limit"),
        (
            "misbehave://wrong-uri",
            -32603,
            "invalid_output",
            "misbehave://elsewhere",
        ),
        (
            "misbehave://bad-mime",
            -32603,
            "invalid_output",
            "MIME type",
        ),
        ("misbehave://huge", -32603, "output_too_large", "65536"),
        (
            "misbehave://fails",
            -32603,
            "component_error",
            "backing store is down",
        ),
        ("misbehave://empty", -32603, "invalid_output", "no contents"),
        (
            "misbehave://missing",
            -32002,
            "unknown_resource",
            "went away",
        ),
    ] {
        let error = error(&session, "resources/read", json!({ "uri": uri })).await;
        assert_eq!(error["code"], code, "{uri}: {error}");
        if code == -32002 {
            // MCP fixes this error's data: the URI alone.
            assert_eq!(error["data"], json!({ "uri": uri }), "{uri}: {error}");
        } else {
            assert_eq!(error["data"]["warden/reason"], reason, "{uri}: {error}");
        }
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{uri}: {message}");
    }
    let looped = error(
        &session,
        "prompts/get",
        json!({"name": "misbehave.prompt_loop"}),
    )
    .await;
    assert_eq!(looped["data"]["warden/reason"], "timeout", "{looped}");

    // A completion of more than MCP's 100 values is cut to 100.
    let many = result(
        &session,
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": "misbehave://items/{item}"},
               "argument": {"name": "item", "value": "n"}}),
    )
    .await;
    assert_eq!(
        many["completion"]["values"].as_array().map(Vec::len),
        Some(100)
    );
    assert_eq!(many["completion"]["hasMore"], true);
    assert_eq!(many["completion"]["total"], 150);

    // The server and the component still serve.
    let fine = result(
        &session,
        "resources/read",
        json!({"uri": "misbehave://items/7"}),
    )
    .await;
    assert_eq!(fine["contents"][0]["text"], "item 7");
    let text = session
        .call("text.count", json!({"text": "still here"}))
        .await;
    assert_eq!(text["structuredContent"]["words"], 2);
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(
            "warden_served_requests_total{method=\"resources/read\",component=\"misbehave\",outcome=\"failed\",reason=\"timeout\"}"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_revision_gets_the_shapes_it_defines() {
    let server = TestServer::start().await;
    let current = server.session_with_revision("2025-11-25").await;
    let listed = list_all(&current, "resources/list", "resources").await;
    let app = listed
        .iter()
        .find(|resource| resource["uri"] == "ui://text/count.html")
        .expect("the app is listed");
    assert_eq!(app["mimeType"], "text/html;profile=mcp-app");
    assert_eq!(app["title"], "Text counts");
    assert_eq!(app["_meta"]["ui"]["prefersBorder"], true);
    let read = result(
        &current,
        "resources/read",
        json!({"uri": "ui://text/count.html"}),
    )
    .await;
    assert_eq!(read["contents"][0]["_meta"]["ui"]["prefersBorder"], true);
    let tools = list_all(&current, "tools/list", "tools").await;
    let count = tools
        .iter()
        .find(|tool| tool["name"] == "text.count")
        .expect("text.count");
    assert_eq!(count["_meta"]["ui"]["resourceUri"], "ui://text/count.html");

    let old = server.session_with_revision("2025-03-26").await;
    let listed = list_all(&old, "resources/list", "resources").await;
    let app = listed
        .iter()
        .find(|resource| resource["uri"] == "ui://text/count.html")
        .expect("the app is listed");
    assert!(
        app.get("title").is_none() && app.get("_meta").is_none(),
        "{app}"
    );
    let read = result(
        &old,
        "resources/read",
        json!({"uri": "ui://text/count.html"}),
    )
    .await;
    assert!(read["contents"][0].get("_meta").is_none(), "{read}");
    let prompts = list_all(&old, "prompts/list", "prompts").await;
    assert!(
        prompts.iter().all(|prompt| prompt.get("title").is_none()),
        "{prompts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_advertises_what_the_components_serve() {
    let server = TestServer::start().await;
    let initialize = |revision: &'static str| {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": revision, "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}})
        .to_string()
    };
    let reply = server.post(&[], initialize("2025-11-25")).await;
    let capabilities = reply.json()["result"]["capabilities"].clone();
    assert_eq!(
        capabilities["tools"],
        json!({"listChanged": true}),
        "{}",
        reply.text()
    );
    assert_eq!(
        capabilities["resources"],
        json!({"subscribe": true, "listChanged": true})
    );
    assert_eq!(capabilities["prompts"], json!({"listChanged": true}));
    assert_eq!(capabilities["completions"], json!({}));
    assert_eq!(
        capabilities["extensions"],
        json!({"io.modelcontextprotocol/ui": {}})
    );
    // MCP Apps hang off tools' `_meta`, which came in 2025-06-18.
    let reply = server.post(&[], initialize("2025-03-26")).await;
    let capabilities = reply.json()["result"]["capabilities"].clone();
    assert_eq!(capabilities["completions"], json!({}), "{capabilities}");
    assert!(capabilities.get("extensions").is_none(), "{capabilities}");
}
