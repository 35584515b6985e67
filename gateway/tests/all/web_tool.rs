//! The bundled `web` component against a local server: `web.fetch` reduces
//! a page to its text, and `web.github_repo` reads a repository from a
//! GitHub-shaped API with a token the gateway adds and the tool never has.

use serde_json::json;

use crate::python_sdk::run_python_script;
use crate::support::{TestServer, python_venv};
use crate::upstream::Upstream;

const TOKEN: &str = "ghp_0123456789abcdefTESTTOKEN";

/// Serves the `web` component with `upstream` standing in for the web
/// and for the GitHub API, whose token comes from Warden's environment.
async fn serve_web(upstream: &Upstream) -> TestServer {
    let port = upstream.plain.port();
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
cache_dir = "{cache}"

[components.web]
path = "{web}"
[components.web.capabilities]
env = {{ GITHUB_API_URL = "http://127.0.0.1:{port}" }}
[components.web.capabilities.http]
allow = [
  "http://127.0.0.1:{port}/page",
  {{ url = "http://127.0.0.1:{port}/repos/", methods = ["GET"], headers = {{ Authorization = "Bearer ${{env:WARDEN_TEST_GITHUB_TOKEN}}" }} }},
]
"#,
        cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/warden-cache"),
        web = warden_tool_artifacts::WEB,
    );
    TestServer::spawn_with_config_env(&config, &[("WARDEN_TEST_GITHUB_TOKEN", TOKEN)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_tools_fetch_pages_and_call_an_api_with_an_injected_token() {
    let upstream = Upstream::start().await;
    let port = upstream.plain.port();
    let server = serve_web(&upstream).await;
    let session = server.session().await;

    let page = session
        .call(
            "web.fetch",
            json!({"url": format!("http://127.0.0.1:{port}/page")}),
        )
        .await;
    assert_eq!(page["isError"], json!(false), "{page}");
    let content = &page["structuredContent"];
    assert_eq!(content["status"], json!(200));
    assert_eq!(content["title"], json!("Warden & the web"));
    assert_eq!(
        content["text"],
        json!("Tools that call APIs\nThe gateway sends every request.")
    );

    let repo = session
        .call(
            "web.github_repo",
            json!({"owner": "bytecodealliance", "repo": "wasmtime"}),
        )
        .await;
    assert_eq!(repo["isError"], json!(false), "{repo}");
    assert_eq!(
        repo["structuredContent"]["full_name"],
        json!("bytecodealliance/wasmtime")
    );
    assert_eq!(repo["structuredContent"]["stars"], json!(42));
    let seen = upstream.seen_at("/repos/bytecodealliance/wasmtime");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        seen[0].header("accept"),
        Some("application/vnd.github+json")
    );
    assert!(!repo.to_string().contains(TOKEN));

    let denied = session
        .call(
            "web.fetch",
            json!({"url": format!("http://127.0.0.1:{port}/hello")}),
        )
        .await;
    assert_eq!(denied["isError"], json!(true), "{denied}");
    let text = denied["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("is not allowed by this tool's policy"),
        "{denied}"
    );
    assert!(upstream.seen_at("/hello").is_empty());
    assert!(!server.log().contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_python_client_calls_the_web_tools() {
    let python = python_venv("mcp-python-venv", "tests/python/requirements.txt").await;
    let upstream = Upstream::start().await;
    let server = serve_web(&upstream).await;
    let upstream_url = format!("http://127.0.0.1:{}", upstream.plain.port());
    let stdout = run_python_script(
        &python,
        "web_client.py",
        &[server.url().as_ref(), upstream_url.as_ref(), TOKEN.as_ref()],
    )
    .await;
    assert_eq!(stdout.matches("web tools called").count(), 3, "{stdout}");
    let calls = upstream.seen_at("/repos/python/cpython");
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|seen| seen.header("authorization") == Some(format!("Bearer {TOKEN}").as_str()))
    );
}
