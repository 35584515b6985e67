//! Requests to the client (`sample`, `elicit`) as the sandbox carries them:
//! the embedder's answer reaches the guest, waiting stops the call's clock,
//! and each bound holds.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use warden_sandbox::{
    CallError, CallEvents, ClientReply, ClientReplyFuture, ClientRequest, LogLevel,
};

use super::{limits, misbehave, sandbox};

/// Answers every request with its own kind and params, after `delay`; or
/// suspends the call.
struct Client {
    delay: Duration,
    suspend: bool,
}

impl CallEvents for Client {
    fn log(&self, _: &str, _: LogLevel, _: &str) {}
    fn progress(&self, _: &str, _: f64, _: Option<f64>, _: Option<&str>) {}
    fn client_request(&self, _tool: &str, request: ClientRequest) -> ClientReplyFuture {
        let (delay, suspend) = (self.delay, self.suspend);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if suspend {
                return ClientReply::Suspend;
            }
            let asked = json!({"kind": request.kind.as_str(), "asked": request.params});
            ClientReply::Answered(asked.to_string())
        })
    }
}

fn questions(count: usize) -> String {
    let question = json!({"kind": "sample", "request": {"messages": [], "maxTokens": 1}});
    json!({"questions": vec![question; count], "together": true}).to_string()
}

async fn answers(
    policy_limits: impl FnOnce(&mut warden_sandbox::Limits),
    client: Client,
    count: usize,
) -> Result<serde_json::Value, CallError> {
    let sandbox = sandbox(false);
    let component = misbehave(&sandbox, limits(policy_limits)).await;
    let output = component
        .call("misbehave.ask", &questions(count), Arc::new(client))
        .await?;
    let structured = output.result.structured_content.expect("structured");
    let value: serde_json::Value = serde_json::from_str(&structured).expect("JSON");
    Ok(value["answers"].clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_for_the_client_does_not_count_against_the_time_limit() {
    let client = Client {
        delay: Duration::from_millis(400),
        suspend: false,
    };
    // Two requests at once, each taking longer than the call may run.
    let answers = answers(|limits| limits.timeout_ms = 250, client, 2)
        .await
        .expect("answered");
    assert_eq!(answers[0]["answer"]["kind"], "sample");
    assert_eq!(
        answers[1]["answer"]["asked"],
        json!({"messages": [], "maxTokens": 1}).to_string()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_does_not_answer_in_time_is_unavailable() {
    let client = Client {
        delay: Duration::from_secs(30),
        suspend: false,
    };
    let answers = answers(|limits| limits.client_request_timeout_ms = 200, client, 1)
        .await
        .expect("the tool handles the error");
    assert_eq!(answers[0]["error"], "unavailable");
    assert_eq!(
        answers[0]["reason"],
        "the client did not answer within 200 ms"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_past_the_limit_are_invalid() {
    let client = Client {
        delay: Duration::ZERO,
        suspend: false,
    };
    let answers = answers(|limits| limits.max_client_requests = 2, client, 3)
        .await
        .expect("answered");
    assert!(answers[1].get("answer").is_some());
    assert_eq!(answers[2]["error"], "invalid");
    assert_eq!(
        answers[2]["reason"],
        "a call may make at most 2 requests to the client"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_call_ends_awaiting_the_client() {
    let client = Client {
        delay: Duration::ZERO,
        suspend: true,
    };
    let error = answers(|_| {}, client, 1).await.expect_err("suspended");
    assert!(
        matches!(error, CallError::AwaitingClient { ref subject } if subject == "tool `misbehave.ask`"),
        "{error:?}"
    );
    assert_eq!(error.reason(), "awaiting_client");
}
