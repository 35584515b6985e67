//! What governs resources and prompts: access rules and quotas per URI
//! prefix and prompt name, subscriptions that hear of reloads, the audit
//! log, and `warden check` refusing a component whose listing is malformed.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::{Value, json};
use warden_gateway::config::ApiKeyHash;

use crate::support::{
    EventStream, Session, TestServer, config_on_disk, reload_with_moved_data, warden,
};

const CALLER_A: &str = "wdn_caller-a-0123456789abcdef0123456789";
const CALLER_B: &str = "wdn_caller-b-0123456789abcdef0123456789";
const WAIT: Duration = Duration::from_secs(30);

/// Callers `a` and `b`; `file:///data/sub/` and `files.summarize` for `a`
/// only; `files.summarize` once a minute per caller; two reads a minute of
/// everything under `file:///data/notes`.
fn policy() -> String {
    format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n\
         [[auth.api_keys]]\nname = \"b\"\nhash = \"{}\"\n\
         [components.files.access.resources.\"file:///data/sub/\"]\ncallers = [\"a\"]\n\
         [components.files.access.prompts.\"files.summarize\"]\ncallers = [\"a\"]\n\
         [components.files.rate_limits.prompts.\"files.summarize\"]\ncaller_tool = \"1/min burst 1\"\n\
         [components.files.rate_limits.resources.\"file:///data/notes\"]\ntool = \"2/min burst 2\"\n",
        ApiKeyHash::of(CALLER_A),
        ApiKeyHash::of(CALLER_B)
    )
}

async fn session_of<'a>(server: &'a TestServer, key: &str) -> Session<'a> {
    let auth = format!("Bearer {key}");
    server
        .session_with_headers("2025-11-25", &[("authorization", &auth)])
        .await
}

async fn uris(session: &Session<'_>) -> Vec<String> {
    let mut uris = Vec::new();
    let mut params = json!({});
    loop {
        let page = session.request("resources/list", params).await["result"].clone();
        for resource in page["resources"].as_array().into_iter().flatten() {
            uris.extend(resource["uri"].as_str().map(str::to_owned));
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => params = json!({ "cursor": cursor }),
            None => return uris,
        }
    }
}

async fn prompt_names(session: &Session<'_>) -> Vec<String> {
    let mut names = Vec::new();
    let mut params = json!({});
    loop {
        let page = session.request("prompts/list", params).await["result"].clone();
        for prompt in page["prompts"].as_array().into_iter().flatten() {
            names.extend(prompt["name"].as_str().map(str::to_owned));
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => params = json!({ "cursor": cursor }),
            None => return names,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_caller_may_not_use_is_missing_and_unknown() {
    let server = TestServer::spawn_process(&policy()).await;
    let a = session_of(&server, CALLER_A).await;
    let b = session_of(&server, CALLER_B).await;

    let (for_a, for_b) = (uris(&a).await, uris(&b).await);
    assert!(
        for_a.iter().any(|uri| uri == "file:///data/sub/more.txt"),
        "{for_a:?}"
    );
    assert!(
        !for_b.iter().any(|uri| uri.starts_with("file:///data/sub/")),
        "{for_b:?}"
    );
    assert!(
        for_b.iter().any(|uri| uri == "file:///data/notes.md"),
        "{for_b:?}"
    );

    let read = |uri: &'static str| json!({ "uri": uri });
    let hidden = b
        .request("resources/read", read("file:///data/sub/more.txt"))
        .await;
    assert_eq!(hidden["error"]["code"], -32002, "{hidden}");
    let allowed = a
        .request("resources/read", read("file:///data/sub/more.txt"))
        .await;
    assert_eq!(
        allowed["result"]["contents"][0]["text"],
        "more warden text\n"
    );

    assert!(
        prompt_names(&a)
            .await
            .contains(&"files.summarize".to_owned())
    );
    assert!(
        !prompt_names(&b)
            .await
            .contains(&"files.summarize".to_owned())
    );
    let get = json!({"name": "files.summarize", "arguments": {"path": "notes.md"}});
    let unknown = b.request("prompts/get", get.clone()).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("Unknown prompt")),
        "{unknown}"
    );
    let completion = b
        .request(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "files.summarize"},
                   "argument": {"name": "path", "value": ""}}),
        )
        .await;
    assert_eq!(completion["error"]["code"], -32602, "{completion}");

    // The prompt's quota: once a minute per caller.
    let first = a.request("prompts/get", get.clone()).await;
    assert!(first.get("result").is_some(), "{first}");
    let second = a.request("prompts/get", get.clone()).await;
    assert_eq!(second["error"]["code"], -32600, "{second}");
    assert_eq!(second["error"]["data"]["warden/reason"], "rate_limited");
    let message = second["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("retry in"), "{message}");

    // The prefix quota is shared by every read under it, whoever reads.
    assert!(
        a.request("resources/read", read("file:///data/notes.md"))
            .await["result"]
            .is_object()
    );
    assert!(
        b.request("resources/read", read("file:///data/notes.md"))
            .await["result"]
            .is_object()
    );
    let third = a
        .request("resources/read", read("file:///data/notes.md"))
        .await;
    assert_eq!(
        third["error"]["data"]["warden/reason"], "rate_limited",
        "{third}"
    );
    // Other URIs are not under it.
    let other = a
        .request("resources/read", read("file:///data/sub/more.txt"))
        .await;
    assert!(other["result"].is_object(), "{other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_for_a_prefix_or_prompt_the_component_lacks_is_refused() {
    let (_data, config_dir, path) = config_on_disk();
    let base = std::fs::read_to_string(&path).expect("read");
    let keys = format!(
        "[[auth.api_keys]]\nname = \"a\"\nhash = \"{}\"\n",
        ApiKeyHash::of(CALLER_A)
    );
    for (table, says) in [
        (
            "[components.files.access.prompts.\"files.sumarize\"]\ncallers = [\"a\"]\n",
            "components.files.access.prompts.files.sumarize: component `files` declares no prompt `files.sumarize` (it declares: files.summarize)",
        ),
        (
            "[components.files.rate_limits.resources.\"file:///etc/\"]\ntool = \"1/s\"\n",
            "declares no resource or template under the URI prefix `file:///etc/`",
        ),
    ] {
        let config = config_dir.path().join("policy.toml");
        std::fs::write(&config, format!("{base}\n{keys}{table}")).expect("write");
        let output = warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{table}");
        assert!(stderr.contains(says), "{table}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warden_check_refuses_a_component_whose_listing_is_malformed() {
    let (_data, config_dir, path) = config_on_disk();
    let base = std::fs::read_to_string(&path).expect("read");
    for (mode, says) in [
        (
            "duplicate-uri",
            "resource `misbehave://twice`: listed twice",
        ),
        (
            "relative-uri",
            "resource `relative/path.txt`: not an absolute URI",
        ),
        (
            "bad-meta",
            "resource `misbehave://bad-meta`: its meta must be a JSON object",
        ),
    ] {
        let config = config_dir.path().join(format!("{mode}.toml"));
        let text = base.replace(
            "[components.misbehave.capabilities]\n",
            &format!(
                "[components.misbehave.capabilities]\nenv = {{ MISBEHAVE_LISTS = \"{mode}\" }}\n"
            ),
        );
        assert_ne!(text, base, "the test config grants misbehave capabilities");
        std::fs::write(&config, text).expect("write");
        let output = warden(&["check".as_ref(), "--config".as_ref(), config.as_os_str()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{mode}");
        assert!(
            stderr.contains("component `misbehave`") && stderr.contains(says),
            "{mode}: {stderr}"
        );
    }
}

fn data_of(event: &str) -> Value {
    let data = event
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line in {event:?}"));
    serde_json::from_str(data).unwrap_or_else(|error| panic!("{error}: {data:?}"))
}

/// The notification messages a stream carries within the wait, priming
/// events left out, until `done` says enough.
async fn notifications_until(
    stream: &mut EventStream,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    while !done(&seen) {
        let Some(event) = stream.next_event(WAIT).await else {
            break;
        };
        if event.contains("data: {") {
            seen.push(data_of(&event));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_resource_the_reload_changes_is_announced() {
    let server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let session = server.session().await;
    let subscribed = session
        .request(
            "resources/subscribe",
            json!({"uri": "file:///data/notes.md"}),
        )
        .await;
    assert_eq!(subscribed["result"], json!({}), "{subscribed}");
    let also = session
        .request(
            "resources/subscribe",
            json!({"uri": "file:///data/sub/more.txt"}),
        )
        .await;
    assert_eq!(also["result"], json!({}), "{also}");
    let unknown = session
        .request("resources/subscribe", json!({"uri": "test://nothing"}))
        .await;
    assert_eq!(unknown["error"]["code"], -32002, "{unknown}");
    let headers = [
        ("accept", "text/event-stream"),
        ("mcp-session-id", session.id.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let mut stream = EventStream::open(server.addr, &headers).await;
    assert_eq!(stream.status, StatusCode::OK);

    // The files component now reads another folder: notes.md differs
    // there, sub/more.txt does not.
    let _moved = reload_with_moved_data(&server, "# Notes, rewritten\n");

    let seen = notifications_until(&mut stream, |seen| {
        seen.iter()
            .any(|message| message["method"] == "notifications/resources/updated")
    })
    .await;
    let methods: Vec<&str> = seen.iter().filter_map(|m| m["method"].as_str()).collect();
    assert!(
        methods.contains(&"notifications/resources/list_changed"),
        "{seen:?}"
    );
    let updated: Vec<&Value> = seen
        .iter()
        .filter(|message| message["method"] == "notifications/resources/updated")
        .collect();
    assert_eq!(updated.len(), 1, "{seen:?}");
    assert_eq!(
        updated[0]["params"],
        json!({"uri": "file:///data/notes.md"})
    );

    // Unsubscribed, it hears nothing more of that resource.
    let left = session
        .request(
            "resources/unsubscribe",
            json!({"uri": "file:///data/notes.md"}),
        )
        .await;
    assert_eq!(left["result"], json!({}), "{left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_prompts_are_audited_with_their_method() {
    let audit_dir = tempfile::tempdir().expect("tempdir");
    let audit_path = audit_dir.path().join("audit.jsonl");
    let server = TestServer::spawn_process(&format!(
        "[audit]\nsink = \"file\"\npath = \"{}\"\n",
        audit_path.display()
    ))
    .await;
    let session = server.session().await;
    let read = session
        .request("resources/read", json!({"uri": "file:///data/notes.md"}))
        .await;
    assert!(read["result"].is_object(), "{read}");
    let got = session
        .request(
            "prompts/get",
            json!({"name": "files.summarize", "arguments": {"path": "notes.md"}}),
        )
        .await;
    assert!(got["result"].is_object(), "{got}");
    let mut records = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&audit_path).unwrap_or_default();
        records = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect();
        if records.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let read = records
        .iter()
        .find(|record| record["method"] == "resources/read")
        .expect("a record of the read");
    assert_eq!(read["resource"], "file:///data/notes.md");
    assert_eq!(read["outcome"], "ok");
    assert!(read.get("tool").is_none(), "{read}");
    let prompt = records
        .iter()
        .find(|record| record["method"] == "prompts/get")
        .expect("a record of the prompt");
    assert_eq!(prompt["prompt"], "files.summarize");
    assert_eq!(prompt["arguments_sha256"].as_str().map(str::len), Some(64));
}
