//! `tools/call`: running on, the cap on calls in flight, argument errors
//! by revision, and cancellation.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_call_runs_on_and_reports_while_it_runs() {
    let server = server().await;
    let id = initialize(&server, "2025-11-25").await;
    let reply = server
        .handle(
            request(
                1,
                "tools/call",
                json!({"name": "text.count", "arguments": {"text": "a b c"}}),
            ),
            &context(Transport::Http, named(&id)),
        )
        .await;
    let Reply::Running(running) = reply else {
        panic!("a call runs on: {reply:?}");
    };
    assert!(running.notifications.is_some(), "a call alone may report");
    let answer = running.answer.await.expect("answered");
    assert_eq!(answer.message["result"]["structuredContent"]["words"], 3);
    assert_eq!(answer.message["result"]["isError"], false);
}

#[tokio::test]
async fn a_call_beyond_the_cap_is_shed_with_when_to_retry() {
    let server = server().await;
    let id = initialize(&server, "2025-03-26").await;
    let in_session = context(Transport::Http, named(&id));
    let sleeping = server
        .handle(
            request(
                1,
                "tools/call",
                json!({"name": "misbehave.sleep", "arguments": {"ms": 2000}}),
            ),
            &in_session,
        )
        .await;
    let Reply::Running(first) = sleeping else {
        panic!("the first call runs");
    };
    let shed = settle(
        server
            .handle(
                request(
                    2,
                    "tools/call",
                    json!({"name": "text.count", "arguments": {"text": "x"}}),
                ),
                &in_session,
            )
            .await,
    )
    .await
    .expect("refused");
    let refusal = shed.refusal.expect("a refusal");
    assert_eq!(refusal.kind, ErrorKind::Overloaded);
    assert!(refusal.retry_after.is_some());
    // In a batch the same call is an error answer under its id.
    let batch = message(json!([
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "text.count", "arguments": {"text": "x"}}},
    ]));
    let answers = settle(server.handle(batch, &in_session).await)
        .await
        .expect("answered");
    assert_eq!(answers.message[0]["id"], 3);
    assert_eq!(answers.message[0]["error"]["code"], code::INTERNAL_ERROR);
    assert_eq!(answers.refusal, None);
    drop(first);
}

#[tokio::test]
async fn bad_arguments_are_a_tool_error_from_2025_11_25_and_invalid_params_before() {
    let server = server().await;
    for (revision, as_tool_error) in [("2025-06-18", false), ("2025-11-25", true)] {
        let id = initialize(&server, revision).await;
        let call = json!({"name": "text.count", "arguments": {"text": 42}});
        let answer = settle(
            server
                .handle(
                    request(1, "tools/call", call),
                    &context(Transport::Http, named(&id)),
                )
                .await,
        )
        .await
        .expect("answered");
        if as_tool_error {
            assert_eq!(answer.message["result"]["isError"], true, "{revision}");
            assert_eq!(
                answer.message["result"]["_meta"]["warden/reason"],
                "invalid_arguments"
            );
        } else {
            assert_eq!(
                error_code(&answer),
                Some(code::INVALID_PARAMS),
                "{revision}"
            );
            assert!(answer.message["error"]["data"]["errors"].is_array());
        }
    }
}

#[tokio::test]
async fn over_stdio_an_envelope_makes_a_request_stateless_and_cancellable() {
    let server = server().await;
    let in_flight = Arc::new(InFlight::default());
    let mut stdio = context(Transport::Stdio, SessionRef::Absent);
    stdio.in_flight = Some(&in_flight);
    let call = envelope(json!({"name": "misbehave.sleep", "arguments": {"ms": 30000}}));
    let Reply::Running(running) = server.handle(request(11, "tools/call", call), &stdio).await
    else {
        panic!("the call runs without a session");
    };
    let answer = tokio::spawn(running.answer);
    // The call lists itself when it starts running.
    while in_flight.find(&json!(11)).is_none() {
        tokio::task::yield_now().await;
    }
    let cancel = message(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                "params": {"requestId": 11}}),
    );
    assert!(matches!(
        server.handle(cancel, &stdio).await,
        Reply::Nothing
    ));
    let answered = answer.await.expect("the call task ends");
    assert_eq!(answered, None, "a cancelled call gets no answer");
    assert!(
        in_flight.find(&json!(11)).is_none(),
        "its listing ends with it"
    );
}
