//! Every way a tool can misbehave fails its own call with its own reason.

use std::sync::Arc;

use warden_sandbox::{
    CallError, CallOutput, Capabilities, DirMode, NoEvents, Policy, ToolComponent,
};

use super::{call_json, data_dir, limits, misbehave, sandbox, with_dir};

async fn breach(policy: Policy, fuel: bool, tool: &str, args: &str) -> CallError {
    let sandbox = sandbox(fuel);
    let misbehave = misbehave(&sandbox, policy).await;
    let error = misbehave
        .call(tool, args, Arc::new(NoEvents))
        .await
        .err()
        .unwrap_or_else(|| panic!("{tool} should have failed"));
    assert_eq!(
        sandbox.pool_stats().in_use,
        0,
        "pool slot returned after {tool}"
    );
    assert_eq!(misbehave.in_flight(), 0, "permit returned after {tool}");
    error
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infinite_loop_times_out() {
    let error = breach(
        limits(|l| l.timeout_ms = 200),
        false,
        "misbehave.loop",
        "{}",
    )
    .await;
    assert!(
        matches!(error, CallError::Timeout { limit_ms: 200, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "tool `misbehave.loop` exceeded its 200 ms time limit"
    );
}

/// Keeps the usage `finished` reports.
#[derive(Default)]
struct Finished(std::sync::Mutex<Option<warden_sandbox::CallUsage>>);

impl warden_sandbox::CallEvents for Finished {
    fn log(&self, _: &str, _: warden_sandbox::LogLevel, _: &str) {}
    fn progress(&self, _: &str, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn finished(&self, _: &str, usage: &warden_sandbox::CallUsage) {
        *self.0.lock().expect("lock") = Some(usage.clone());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_loop_reports_the_fuel_it_burnt() {
    let sandbox = sandbox(true);
    let misbehave = misbehave(&sandbox, limits(|l| l.timeout_ms = 300)).await;
    let finished = Arc::new(Finished::default());
    let Err(error) = misbehave
        .call("misbehave.loop", "{}", finished.clone())
        .await
    else {
        panic!("the loop should time out");
    };
    assert!(matches!(error, CallError::Timeout { .. }), "{error:?}");
    let usage = finished
        .0
        .lock()
        .expect("lock")
        .clone()
        .expect("usage reported");
    let fuel = usage.fuel_consumed.expect("fuel metered");
    // 300 ms of a tight loop is hundreds of millions of instructions; the
    // count may lag by one slice at most.
    assert!(
        fuel > 3 * warden_sandbox::FUEL_SLICE,
        "only {fuel} fuel reported"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sleeping_in_a_host_call_times_out() {
    let error = breach(
        limits(|l| l.timeout_ms = 200),
        false,
        "misbehave.sleep",
        r#"{"ms":60000}"#,
    )
    .await;
    assert!(matches!(error, CallError::Timeout { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_grow_is_reported_as_what_it_led_to() {
    // 64 MiB asked of a 32 MiB limit: the grow fails, the guest goes on.
    let policy = || limits(|l| l.max_memory_bytes = 32 << 20);
    let args = |then: &str| format!(r#"{{"bytes": 67108864, "then": "{then}"}}"#);
    let error = breach(policy(), false, "misbehave.grow_then", &args("panic")).await;
    let CallError::Trap { message, .. } = &error else {
        panic!("a panic is a trap: {error:?}");
    };
    assert!(
        message.contains("gave up after the reservation (granted: false)"),
        "{message}"
    );
    assert!(
        message.contains("after a memory.grow past its limit of 33554432 bytes was refused"),
        "{message}"
    );

    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, policy()).await;
    let output = misbehave
        .call("misbehave.grow_then", &args("return"), Arc::new(NoEvents))
        .await
        .unwrap_or_else(|error| panic!("a handled refusal is no failure: {error}"));
    let structured: serde_json::Value = serde_json::from_str(
        output
            .result
            .structured_content
            .as_deref()
            .expect("structured content"),
    )
    .expect("JSON");
    assert_eq!(structured, serde_json::json!({"granted": false}));
}

#[tokio::test(flavor = "multi_thread")]
async fn log_text_past_the_output_limit_fails_the_call() {
    // Five messages of 100 KB: within the message count, past 64 KiB of text.
    let error = breach(
        limits(|l| l.max_output_bytes = 64 << 10),
        false,
        "misbehave.log_flood",
        r#"{"count": 5, "bytes": 100000}"#,
    )
    .await;
    assert!(
        matches!(
            error,
            CallError::MessageBytesExceeded {
                limit_bytes: 65536,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.reason(), "log_limit_exceeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exit_is_reported_with_its_status_and_no_backtrace() {
    let error = breach(
        Policy::default(),
        false,
        "misbehave.exit",
        r#"{"status": 3}"#,
    )
    .await;
    let &CallError::Exited { status, .. } = &error else {
        panic!("an exit is reported as one: {error:?}");
    };
    // WASI 0.2's `exit` carries success or failure: a failure arrives as 1
    // unless the guest passes its code through.
    assert!(status == 3 || status == 1, "status {status}");
    assert_eq!(error.reason(), "exited");
    assert_eq!(
        error.to_string(),
        format!("tool `misbehave.exit` exited with status {status} instead of returning a result")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn per_call_limits_too_tight_to_list_the_tools_still_load_the_component() {
    // 1,000 units of fuel and 1 ms are far too little to build a listing of
    // misbehave's tools: loading has its own budget, calls keep theirs.
    let sandbox = sandbox(true);
    let misbehave = misbehave(
        &sandbox,
        limits(|l| {
            l.fuel = Some(1_000);
            l.timeout_ms = 1;
        }),
    )
    .await;
    assert!(misbehave.tools().len() > 10);
    let Err(error) = misbehave
        .call("misbehave.loop", "{}", Arc::new(NoEvents))
        .await
    else {
        panic!("the loop must fail");
    };
    assert!(
        matches!(
            error,
            CallError::OutOfFuel { limit: 1_000, .. } | CallError::Timeout { limit_ms: 1, .. }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loop_runs_out_of_fuel() {
    let policy = limits(|l| {
        l.fuel = Some(5_000_000);
        l.timeout_ms = 30_000;
    });
    let error = breach(policy, true, "misbehave.loop", "{}").await;
    assert!(
        matches!(
            error,
            CallError::OutOfFuel {
                limit: 5_000_000,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_allocation_hits_the_memory_limit() {
    let error = breach(
        limits(|l| l.max_memory_bytes = 16 << 20),
        false,
        "misbehave.alloc",
        "{}",
    )
    .await;
    assert!(
        matches!(error, CallError::MemoryLimit { limit_bytes, .. } if limit_bytes == 16 << 20),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unbounded_recursion_overflows_the_stack() {
    let error = breach(Policy::default(), false, "misbehave.recurse", "{}").await;
    assert!(
        matches!(error, CallError::StackOverflow { .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_a_trap_with_the_guest_message() {
    let error = breach(
        Policy::default(),
        false,
        "misbehave.panic",
        r#"{"message":"boom at step 3"}"#,
    )
    .await;
    match error {
        CallError::Trap { message, .. } => assert!(message.contains("boom at step 3"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flooding_the_log_fails_at_the_limit() {
    let error = breach(
        limits(|l| l.max_log_messages = 10),
        false,
        "misbehave.log_flood",
        r#"{"count":1000}"#,
    )
    .await;
    assert!(
        matches!(error, CallError::LogLimitExceeded { limit: 10, .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_result_is_refused() {
    let error = breach(
        limits(|l| l.max_output_bytes = 4096),
        false,
        "misbehave.huge_output",
        r#"{"bytes":100000}"#,
    )
    .await;
    assert!(
        matches!(
            error,
            CallError::OutputTooLarge {
                limit_bytes: 4096,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn flooding_stdout_is_truncated_not_fatal() {
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, limits(|l| l.max_output_bytes = 4096)).await;
    let output = misbehave
        .call(
            "misbehave.stdout",
            r#"{"bytes":4000000}"#,
            Arc::new(NoEvents),
        )
        .await
        .expect("printing too much is not an error");
    assert!(!output.result.is_error);
    assert_eq!(output.usage.stdout.len(), 4096);
    assert_eq!(output.usage.dropped_output_bytes, 4_000_000 - 4096);
}

#[tokio::test(flavor = "multi_thread")]
async fn files_outside_the_preopen_are_unreachable() {
    let data = data_dir();
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.txt"), "top secret").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        data.path().join("escape"),
    )
    .expect("symlink");
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, with_dir(data.path(), DirMode::ReadOnly)).await;

    let inside = call_json(
        &misbehave,
        "misbehave.read_file",
        serde_json::json!({"path": "/data/hello.txt"}),
    )
    .await
    .expect("reading inside the preopen");
    assert!(
        inside.to_string().contains("hello from the host"),
        "{inside}"
    );

    let secret = outside.path().join("secret.txt");
    for path in [
        "/data/../etc/passwd",
        "/etc/passwd",
        "../secret.txt",
        "/data/escape",
        secret.to_str().expect("utf-8"),
    ] {
        let output = misbehave
            .call(
                "misbehave.read_file",
                &serde_json::json!({"path": path}).to_string(),
                Arc::new(NoEvents),
            )
            .await
            .expect("the call itself completes");
        assert!(
            output.result.is_error,
            "reading {path} must fail: {:?}",
            output.result
        );
        let shown = format!("{:?}", output.result);
        assert!(
            !shown.contains("top secret") && !shown.contains("root:"),
            "{path} leaked: {shown}"
        );
    }

    let written = misbehave
        .call(
            "misbehave.write_file",
            r#"{"path":"/data/new.txt","content":"x"}"#,
            Arc::new(NoEvents),
        )
        .await
        .expect("the call itself completes");
    assert!(
        written.result.is_error,
        "a read-only preopen must refuse writes"
    );
    assert!(!data.path().join("new.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_write_preopen_accepts_writes() {
    let data = data_dir();
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, with_dir(data.path(), DirMode::ReadWrite)).await;
    let output = misbehave
        .call(
            "misbehave.write_file",
            r#"{"path":"/data/new.txt","content":"written"}"#,
            Arc::new(NoEvents),
        )
        .await
        .expect("call");
    assert!(!output.result.is_error, "{:?}", output.result);
    assert_eq!(
        std::fs::read_to_string(data.path().join("new.txt")).expect("read"),
        "written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_cannot_plant_symbolic_links_even_where_it_may_write() {
    let data = data_dir();
    let sandbox = sandbox(false);
    let misbehave = misbehave(&sandbox, with_dir(data.path(), DirMode::ReadWrite)).await;
    for (target, link) in [
        ("../../..", "/data/up"),
        ("/etc", "/data/abs"),
        ("new.txt", "/data/inside"),
    ] {
        let args = serde_json::json!({ "target": target, "link": link }).to_string();
        let output = misbehave
            .call("misbehave.symlink", &args, Arc::new(NoEvents))
            .await
            .expect("call");
        assert!(
            output.result.is_error,
            "{target} -> {link}: {:?}",
            output.result
        );
        let name = link.trim_start_matches("/data/");
        assert!(
            std::fs::symlink_metadata(data.path().join(name)).is_err(),
            "{link} exists on the host"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn env_vars_are_only_those_granted() {
    let sandbox = sandbox(false);
    let mut policy = Policy::default();
    policy.capabilities.env = vec![("GREETING".to_owned(), "hello".to_owned())];
    let misbehave = misbehave(&sandbox, policy).await;
    let granted = call_json(
        &misbehave,
        "misbehave.env",
        serde_json::json!({"name": "GREETING"}),
    )
    .await
    .expect("call");
    assert_eq!(granted["value"], "hello");
    // SAFETY of the test: PATH and HOME exist in the host process.
    for host_var in ["PATH", "HOME"] {
        let hidden = call_json(
            &misbehave,
            "misbehave.env",
            serde_json::json!({"name": host_var}),
        )
        .await
        .expect("call");
        assert!(hidden["value"].is_null(), "{host_var} leaked: {hidden}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn network_is_denied_unless_listed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    listener.set_nonblocking(true).expect("nonblocking");

    let sandbox = sandbox(false);
    let denied = misbehave(&sandbox, Policy::default()).await;
    let output = denied
        .call(
            "misbehave.connect",
            &serde_json::json!({"address": address}).to_string(),
            Arc::new(NoEvents),
        )
        .await
        .expect("call completes");
    assert!(
        output.result.is_error,
        "connect must be refused: {:?}",
        output.result
    );
    assert!(
        listener.accept().is_err(),
        "no connection may reach the listener"
    );

    let allowed_policy = Policy {
        capabilities: Capabilities {
            tcp_connect: vec![address.clone()],
            ..Capabilities::default()
        },
        ..Policy::default()
    };
    let allowed = misbehave(&sandbox, allowed_policy).await;
    let connected = call_json(
        &allowed,
        "misbehave.connect",
        serde_json::json!({"address": address}),
    )
    .await
    .expect("listed address is reachable");
    assert_eq!(connected["connected"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn name_lookups_answer_only_the_listed_names_and_never_ask_the_resolver() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let sandbox = sandbox(false);
    let granted = |entry: String| Policy {
        capabilities: Capabilities {
            tcp_connect: vec![entry],
            ..Capabilities::default()
        },
        ..Policy::default()
    };
    async fn connect(component: &ToolComponent, address: String) -> CallOutput {
        let arguments = serde_json::json!({ "address": address }).to_string();
        component
            .call("misbehave.connect", &arguments, Arc::new(NoEvents))
            .await
            .expect("call completes")
    }

    // Only an address is listed: a name, even one the host resolves
    // without the network, is not looked up.
    let by_address = misbehave(&sandbox, granted(format!("127.0.0.1:{port}"))).await;
    let refused = connect(&by_address, format!("localhost:{port}")).await;
    assert!(refused.result.is_error, "{:?}", refused.result);
    let said = format!("{:?}", refused.result.content);
    assert!(said.contains("cannot connect to `localhost:"), "{said}");
    assert!(listener.accept().is_err(), "nothing may reach the listener");
    let literal = connect(&by_address, format!("127.0.0.1:{port}")).await;
    assert!(!literal.result.is_error, "{:?}", literal.result);

    // A listed name is answered from what it resolved to at load.
    let by_name = misbehave(&sandbox, granted(format!("localhost:{port}"))).await;
    let reached = connect(&by_name, format!("LOCALHOST:{port}")).await;
    assert!(!reached.result.is_error, "{:?}", reached.result);
    let other = connect(&by_name, format!("localhost.localdomain:{port}")).await;
    assert!(other.result.is_error, "{:?}", other.result);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_component_answers_busy_after_the_queue_timeout() {
    let sandbox = sandbox(false);
    let policy = limits(|l| {
        l.max_concurrency = 1;
        l.queue_timeout_ms = 50;
        l.timeout_ms = 2_000;
    });
    let misbehave = Arc::new(misbehave(&sandbox, policy).await);
    let running = tokio::spawn({
        let misbehave = Arc::clone(&misbehave);
        async move {
            misbehave
                .call("misbehave.sleep", r#"{"ms":500}"#, Arc::new(NoEvents))
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let busy = misbehave
        .call("misbehave.echo", r#"{"value":1}"#, Arc::new(NoEvents))
        .await;
    assert!(matches!(busy, Err(CallError::Busy { .. })), "{busy:?}");
    running
        .await
        .expect("join")
        .expect("the first call completes");
    assert_eq!(misbehave.in_flight(), 0);
    assert_eq!(sandbox.pool_stats().in_use, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_holding_the_pool_cannot_make_another_busy() {
    // 16 pool slots; `hog` may run 16 calls at once, each sleeping in a host
    // call. `text` keeps its one slot all the same.
    let sandbox = sandbox(false);
    let hog = Arc::new(
        misbehave(
            &sandbox,
            limits(|l| {
                l.max_concurrency = 16;
                l.timeout_ms = 10_000;
                l.queue_timeout_ms = 0;
            }),
        )
        .await,
    );
    let text = super::text(&sandbox).await;
    let sleepers: Vec<_> = (0..16)
        .map(|_| {
            let hog = Arc::clone(&hog);
            tokio::spawn(async move {
                hog.call("misbehave.sleep", r#"{"ms":1500}"#, Arc::new(NoEvents))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sandbox.pool_stats().in_use,
        15,
        "one slot stays kept for text"
    );
    let counted = call_json(&text, "text.count", serde_json::json!({"text": "a b"}))
        .await
        .unwrap_or_else(|error| panic!("text must not be busy: {error}"));
    assert_eq!(counted["words"], 2);
    let mut busy = 0;
    for sleeper in sleepers {
        if let Err(CallError::Busy { .. }) = sleeper.await.expect("join") {
            busy += 1;
        }
    }
    assert_eq!(busy, 1, "the hog's 16th call found no slot of its own");
    assert_eq!(sandbox.pool_stats().in_use, 0);
}
