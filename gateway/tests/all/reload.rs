//! Hot reload of the real binary: SIGHUP and file changes swap the catalog
//! under load without a failed call; a bad config or component is refused
//! and the running tools keep serving.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use warden_gateway::reload::{self, Reloader};

use super::support::{TestServer, busy_caller, config_on_disk, without_component};

const RELOADED: &str = "catalog reloaded";
const REFUSED: &str = "reload refused";

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_repeatedly_under_load_without_a_failed_call() {
    let server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let session = server.session().await;
    let full = server.original_config().to_owned();
    let stop_load = CancellationToken::new();
    let load: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(busy_caller(
                server.addr,
                session.id.clone(),
                stop_load.clone(),
            ))
        })
        .collect();

    for round in 1..=6 {
        let serve_json = round % 2 == 0;
        let config = if serve_json {
            full.clone()
        } else {
            without_component(&full, "json")
        };
        server.write_config(&config);
        // A call that starts before the swap finishes on the old catalog.
        let in_flight = session.request(
            "tools/call",
            json!({"name": "misbehave.sleep", "arguments": {"ms": 300}}),
        );
        let reload = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            server.signal("HUP");
            server.wait_for_log(RELOADED, round).await;
        };
        let (answer, ()) = tokio::join!(in_flight, reload);
        assert_eq!(answer["result"]["isError"], json!(false), "{answer}");

        let names = server.tool_names(&session).await;
        assert_eq!(
            names.iter().any(|name| name == "json.query"),
            serve_json,
            "round {round}: {names:?}"
        );
        assert!(names.iter().any(|name| name == "text.count"));
    }

    // A config that does not parse is refused, naming file and line; the
    // tools keep serving.
    server.write_config(&format!("{full}\n[server\n"));
    server.signal("HUP");
    server.wait_for_log(REFUSED, 1).await;
    let log = server.log();
    assert!(log.contains("warden.toml:"), "{log}");
    let names = server.tool_names(&session).await;
    assert!(names.iter().any(|name| name == "json.query"), "{names:?}");

    stop_load.cancel();
    let mut answered = 0;
    for caller in load {
        let load = caller.await.expect("caller task");
        assert_eq!(load.refused, 0, "a call failed during a reload");
        answered += load.answered;
    }
    assert!(answered > 0);

    let metrics = server.metrics().await;
    assert!(
        metrics.contains("warden_config_reloads_total{outcome=\"ok\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("warden_config_reloads_total{outcome=\"error\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_file_reloads_and_a_bad_component_is_refused() {
    let server = TestServer::spawn_process("watch_interval_ms = 100").await;
    let session = server.session().await;
    let full = server.original_config().to_owned();

    server.write_config(&without_component(&full, "json"));
    server.wait_for_log(RELOADED, 1).await;
    let names = server.tool_names(&session).await;
    assert!(!names.iter().any(|name| name == "json.query"), "{names:?}");

    // A component that is not wasm: refused, naming it; text keeps serving.
    let bogus = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(bogus.path(), b"not a component").expect("write");
    let broken = full.replace(
        warden_tool_artifacts::TEXT,
        &bogus.path().display().to_string(),
    );
    server.write_config(&broken);
    server.wait_for_log(REFUSED, 1).await;
    assert!(
        server.log().contains("component `text`"),
        "{}",
        server.log()
    );
    let count = session
        .call("text.count", json!({"text": "still serving"}))
        .await;
    assert_eq!(count["structuredContent"]["words"], json!(2));
}

/// The watcher compares against the files as the catalog read them: an edit
/// made after the config was read but before watching began (while the
/// components were compiling) is picked up, not taken for the version in
/// service.
#[tokio::test(flavor = "multi_thread")]
async fn an_edit_made_while_starting_is_picked_up() {
    let (_data, _config_dir, config_path) = config_on_disk();
    let (config, watched) = reload::load_watched(&config_path).expect("config loads");
    let gateway = warden_gateway::build(&config)
        .await
        .expect("gateway builds");
    assert!(gateway.mcp.catalog().get("json.query").is_some());

    let full = std::fs::read_to_string(&config_path).expect("read config");
    let staged = config_path.with_extension("toml.new");
    std::fs::write(&staged, without_component(&full, "json")).expect("write config");
    std::fs::rename(&staged, &config_path).expect("replace config");

    let reloader = Reloader::new(Arc::clone(&gateway), &config_path, &config, watched, None);
    let watching = tokio::spawn(async move { reloader.watch(Duration::from_millis(20)).await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while gateway.mcp.catalog().get("json.query").is_some() {
        assert!(
            Instant::now() < deadline,
            "the edit was not picked up in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gateway.mcp.catalog().get("text.count").is_some());
    watching.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_prefix_serves_a_component_twice_and_a_clash_is_refused() {
    let server = TestServer::spawn_process("watch_interval_ms = 0").await;
    let session = server.session().await;
    let twice = format!(
        "{}\n[components.text_copy]\npath = \"{}\"\n",
        server.original_config(),
        warden_tool_artifacts::TEXT
    );

    server.write_config(&twice);
    server.signal("HUP");
    server.wait_for_log(REFUSED, 1).await;
    assert!(
        server
            .log()
            .contains("tool `text.count` is declared by both component `text` and component `text_copy`; give one of them a `tool_prefix`"),
        "{}",
        server.log()
    );

    // The copy's resources would clash with the original's URIs.
    server.write_config(&format!(
        "{twice}tool_prefix = \"copy.\"\nserve_resources = false\n"
    ));
    server.signal("HUP");
    server.wait_for_log(RELOADED, 1).await;
    let names = server.tool_names(&session).await;
    assert!(names.iter().any(|name| name == "text.count"), "{names:?}");
    assert!(
        names.iter().any(|name| name == "copy.text.count"),
        "{names:?}"
    );
    let count = session
        .call("copy.text.count", json!({"text": "served twice"}))
        .await;
    assert_eq!(count["structuredContent"]["words"], json!(2));
    let refused = session
        .request(
            "tools/call",
            json!({"name": "copy.text.count", "arguments": {}}),
        )
        .await;
    let message = refused.to_string();
    assert!(
        message.contains("copy.text.count"),
        "errors name the tool as clients call it: {message}"
    );
    assert!(
        server.metrics().await.contains(
            r#"warden_tool_calls_total{tool="copy.text.count",outcome="ok",reason=""} 1"#
        ),
        "calls are counted under the served name"
    );
}
