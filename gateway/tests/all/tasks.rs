//! Tool calls run as MCP tasks in one process: 2025-11-25's experimental
//! tasks and 2026-07-28's extension, over real HTTP, with the test config's
//! `misbehave` allowed five seconds as a task (its calls get half a second).

use std::time::Duration;

use serde_json::{Value, json};

use crate::quotas::{CALLER_A, CALLER_B, bearer, two_callers};
use crate::support::{Session, TestServer};

/// The test config with `misbehave`'s tools runnable as tasks for 5 s.
pub fn with_tasks(config: String) -> String {
    let edited = config.replacen(
        "max_concurrency = 64\n",
        "max_concurrency = 64\nmax_task_duration_ms = 5000\n",
        1,
    );
    assert_ne!(edited, config, "the test config limits misbehave");
    edited
}

/// A server of callers `a` and `b` with tasks, `extra` added.
async fn server_with_tasks(extra: &str) -> TestServer {
    TestServer::spawn_edited_process(&format!("{}{extra}", two_callers()), with_tasks, &[], &[])
        .await
}

fn sleep_call(ms: u64, task: Value) -> Value {
    json!({"name": "misbehave.sleep", "arguments": {"ms": ms}, "task": task})
}

/// Starts a task; returns its task object.
pub async fn start(session: &Session<'_>, ms: u64) -> Value {
    let created = session
        .request("tools/call", sleep_call(ms, json!({"ttl": 60_000})))
        .await;
    let task = created["result"]["task"].clone();
    assert_eq!(task["status"], json!("working"), "{created}");
    assert!(
        task["taskId"].as_str().is_some_and(|id| id.len() >= 22),
        "{created}"
    );
    task
}

fn task_id(task: &Value) -> &str {
    task["taskId"].as_str().expect("taskId")
}

/// The error code of a JSON-RPC answer.
fn error_code(answer: &Value) -> i64 {
    answer["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

/// Polls `tasks/get` until the task leaves `working`.
pub async fn until_ended(session: &Session<'_>, id: &str) -> Value {
    for _ in 0..200 {
        let got = session.request("tasks/get", json!({"taskId": id})).await;
        if got["result"]["status"] != json!("working") {
            return got["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} never ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_outlives_the_call_time_limit_and_is_polled_for_its_result() {
    let server = server_with_tasks("").await;
    let a_auth = bearer(CALLER_A);
    let a = server
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;

    let mut tools = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let listed = a.request("tools/list", json!({"cursor": cursor})).await;
        tools.extend(listed["result"]["tools"].as_array().expect("tools").clone());
        cursor = listed["result"]["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let support = |name: &str| {
        tools
            .iter()
            .find(|tool| tool["name"] == json!(name))
            .map(|tool| tool["execution"]["taskSupport"].clone())
    };
    assert_eq!(support("misbehave.sleep"), Some(json!("optional")));
    assert_eq!(support("text.count"), Some(Value::Null));

    // As a plain call, 1.2 s is past the half-second limit.
    let plain = a.call("misbehave.sleep", json!({"ms": 1200})).await;
    assert_eq!(plain["_meta"]["warden/reason"], json!("timeout"), "{plain}");
    // As a task it has five seconds, and the answer comes at once.
    let task = start(&a, 1200).await;
    let id = task_id(&task).to_owned();
    // Asked for a minute; kept as long as it may run (5 s) and a minute.
    assert_eq!(task["ttl"], json!(65_000));
    assert_eq!(task["pollInterval"], json!(1000));
    let got = a.request("tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], json!("working"), "{got}");
    // tasks/result blocks until the task ends.
    let result = a.request("tasks/result", json!({"taskId": id})).await;
    assert_eq!(result["result"]["isError"], json!(false), "{result}");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        json!(id)
    );
    let ended = a.request("tasks/get", json!({"taskId": id})).await;
    assert_eq!(ended["result"]["status"], json!("completed"), "{ended}");
    let listed = a.request("tasks/list", json!({})).await;
    assert_eq!(
        listed["result"]["tasks"][0]["taskId"],
        json!(id),
        "{listed}"
    );
    // Cancelling an ended task is refused.
    let late = a.request("tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(error_code(&late), -32602, "{late}");

    // Another caller finds no such task.
    let b_auth = bearer(CALLER_B);
    let b = server
        .session_with_headers("2025-11-25", &[("authorization", &b_auth)])
        .await;
    for method in ["tasks/get", "tasks/result", "tasks/cancel"] {
        let answer = b.request(method, json!({"taskId": id})).await;
        assert_eq!(error_code(&answer), -32602, "{method}: {answer}");
    }
    let theirs = b.request("tasks/list", json!({})).await;
    assert_eq!(theirs["result"]["tasks"], json!([]), "{theirs}");

    // A tool that does not run as a task refuses `task`.
    let refused = a
        .request(
            "tools/call",
            json!({"name": "text.count", "arguments": {"text": "a"}, "task": {}}),
        )
        .await;
    assert_eq!(error_code(&refused), -32601, "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_failed_and_capped_tasks() {
    let server = server_with_tasks("[tasks]\nmax_open_per_caller = 2\n").await;
    let a_auth = bearer(CALLER_A);
    let a = server
        .session_with_headers("2025-11-25", &[("authorization", &a_auth)])
        .await;
    let first = start(&a, 4000).await;
    let second = start(&a, 4000).await;
    let third = a.request("tools/call", sleep_call(10, json!({}))).await;
    assert!(
        third["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("max_open_per_caller")),
        "{third}"
    );
    // Cancelled: at once, and the call stops.
    let cancelled = a
        .request("tasks/cancel", json!({"taskId": task_id(&first)}))
        .await;
    assert_eq!(
        cancelled["result"]["status"],
        json!("cancelled"),
        "{cancelled}"
    );
    let result = a
        .request("tasks/result", json!({"taskId": task_id(&first)}))
        .await;
    assert!(result.get("error").is_some(), "{result}");
    // The cap counts working tasks only.
    let fourth = start(&a, 10).await;
    assert_eq!(
        until_ended(&a, task_id(&fourth)).await["status"],
        json!("completed")
    );
    a.request("tasks/cancel", json!({"taskId": task_id(&second)}))
        .await;

    // A task past its own limit fails, with the reason in its result.
    let runaway = a
        .request(
            "tools/call",
            json!({"name": "misbehave.loop", "arguments": {}, "task": {}}),
        )
        .await;
    let id = task_id(&runaway["result"]["task"]).to_owned();
    let ended = until_ended(&a, &id).await;
    assert_eq!(ended["status"], json!("failed"), "{ended}");
    let result = a.request("tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        result["result"]["_meta"]["warden/reason"],
        json!("timeout"),
        "{result}"
    );
    assert!(
        server.log().contains("task cancelled by the client"),
        "{}",
        server.log()
    );
}

/// A 2026-07-28 request, declaring the tasks extension when `tasks`.
fn stateless(id: u64, method: &str, mut params: Value, tasks: bool) -> String {
    let extensions = if tasks {
        json!({"io.modelcontextprotocol/tasks": {}})
    } else {
        json!({})
    };
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
        "io.modelcontextprotocol/clientInfo": {"name": "tasks-test", "version": "0"},
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

async fn post_stateless(server: &TestServer, method: &str, name: &str, body: String) -> Value {
    let a_auth = bearer(CALLER_A);
    server
        .post(
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", method),
                ("mcp-name", name),
                ("authorization", &a_auth),
            ],
            body,
        )
        .await
        .json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2026_extension_answers_with_a_task_and_carries_the_result() {
    let server = server_with_tasks("").await;
    let call = json!({"name": "misbehave.sleep", "arguments": {"ms": 700}});
    let created = post_stateless(
        &server,
        "tools/call",
        "misbehave.sleep",
        stateless(1, "tools/call", call.clone(), true),
    )
    .await;
    let task = &created["result"];
    assert_eq!(task["resultType"], json!("task"), "{created}");
    assert_eq!(task["status"], json!("working"));
    assert_eq!(task["ttlMs"], json!(3_600_000));
    let id = task["taskId"].as_str().expect("taskId").to_owned();
    let mut got = json!(null);
    for _ in 0..100 {
        got = post_stateless(
            &server,
            "tasks/get",
            &id,
            stateless(2, "tasks/get", json!({"taskId": id}), true),
        )
        .await;
        if got["result"]["status"] != json!("working") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got["result"]["resultType"], json!("complete"), "{got}");
    assert_eq!(got["result"]["status"], json!("completed"), "{got}");
    assert_eq!(got["result"]["result"]["isError"], json!(false), "{got}");

    // Without the extension: a plain call, and no tasks.
    let plain = post_stateless(
        &server,
        "tools/call",
        "misbehave.sleep",
        stateless(
            3,
            "tools/call",
            json!({"name": "misbehave.sleep", "arguments": {"ms": 10}}),
            false,
        ),
    )
    .await;
    assert_eq!(plain["result"]["resultType"], json!("complete"), "{plain}");
    let undeclared = post_stateless(
        &server,
        "tasks/get",
        &id,
        stateless(4, "tasks/get", json!({"taskId": id}), false),
    )
    .await;
    assert_eq!(error_code(&undeclared), -32021, "{undeclared}");
    // tasks/result is not part of the extension.
    let result = post_stateless(
        &server,
        "tasks/result",
        &id,
        stateless(5, "tasks/result", json!({"taskId": id}), true),
    )
    .await;
    assert_eq!(error_code(&result), -32601, "{result}");
}
