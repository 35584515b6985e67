use serde_json::json;
use warden_sandbox::ClientRequestKind;

use super::check::Refusal;
use super::*;
use crate::config::SessionKey;
use crate::mcp::jsonrpc::code;
use crate::mcp::session::token::SessionSealer;

fn sealer() -> Arc<SessionSealer> {
    Arc::new(SessionSealer::new(
        &SessionKey::generate().expect("random"),
        &[],
    ))
}

fn sample(params: &Value) -> ClientRequest {
    ClientRequest {
        kind: ClientRequestKind::Sample,
        params: params.to_string(),
        key: None,
        optional: false,
    }
}

fn sample_params() -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
        "maxTokens": 10})
}

/// Asks `round` for `request` as a client declaring `sampling` would.
fn ask(round: &RetryRound, request: &ClientRequest) -> ClientReply {
    let capabilities = json!({"sampling": {}});
    let checked = check(
        request.kind,
        Revision::V2026_07_28,
        &capabilities,
        &request.params,
    );
    round.ask(request, checked)
}

#[test]
fn sampling_with_tools_needs_the_tools_capability() {
    let with_tools = json!({"messages": [{"role": "user"}], "maxTokens": 1, "tools": []});
    let plain = json!({"sampling": {}});
    let refused = check(
        ClientRequestKind::Sample,
        Revision::V2025_11_25,
        &plain,
        &with_tools.to_string(),
    );
    assert!(matches!(
        refused,
        Err(Refusal {
            error: ClientRequestError::Unsupported(_),
            missing: None
        })
    ));
    let able = json!({"sampling": {"tools": {}}});
    let checked = check(
        ClientRequestKind::Sample,
        Revision::V2025_11_25,
        &able,
        &with_tools.to_string(),
    );
    assert!(checked.is_ok());
    let undeclared = check(
        ClientRequestKind::ListRoots,
        Revision::V2025_11_25,
        &plain,
        "{}",
    );
    assert_eq!(
        undeclared.map_err(|refusal| refusal.missing),
        Err(Some("roots"))
    );
}

#[test]
fn elicitation_modes_follow_the_declared_capability() {
    let form = json!({"message": "m", "requestedSchema": {"type": "object"}, "mode": "form"});
    let url = json!({"message": "m", "mode": "url", "url": "https://example.com",
        "elicitationId": "e1"});
    let empty = json!({"elicitation": {}});
    let url_only = json!({"elicitation": {"url": {}}});
    let kind = ClientRequestKind::Elicit;
    let (_, params) = check(kind, Revision::V2025_06_18, &empty, &form.to_string()).expect("form");
    assert!(params.get("mode").is_none(), "2025-06-18 knows no modes");
    assert!(check(kind, Revision::V2025_11_25, &url_only, &form.to_string()).is_err());
    assert!(check(kind, Revision::V2025_11_25, &empty, &url.to_string()).is_err());
    assert!(check(kind, Revision::V2025_11_25, &url_only, &url.to_string()).is_ok());
}

#[test]
fn a_retry_answers_from_its_state_and_a_changed_question_is_asked_anew() {
    let sealer = sealer();
    let binding = Binding::new("alice", "t.ask", &json!({"q": 1}));
    let round =
        RetryRound::start(binding.clone(), Arc::clone(&sealer), None, None).expect("first round");
    let request = sample(&sample_params());
    assert_eq!(ask(&round, &request), ClientReply::Suspend);
    let result = round.input_required().expect("suspended").expect("sealed");
    assert_eq!(
        result["inputRequests"]["sample-1"]["method"],
        "sampling/createMessage"
    );
    let state = result["requestState"].clone();

    let responses = json!({"sample-1": {"content": {"type": "text", "text": "yes"}}});
    let retry = RetryRound::start(
        binding.clone(),
        Arc::clone(&sealer),
        Some(&state),
        Some(&responses),
    )
    .expect("retry");
    assert_eq!(
        ask(&retry, &request),
        ClientReply::Answered(responses["sample-1"].to_string())
    );
    assert!(retry.input_required().is_none());

    let other = RetryRound::start(
        binding.clone(),
        Arc::clone(&sealer),
        Some(&state),
        Some(&responses),
    )
    .expect("retry");
    let changed = sample(&json!({"messages": [{"role": "user"}], "maxTokens": 99}));
    assert_eq!(ask(&other, &changed), ClientReply::Suspend);

    let stranger = Binding::new("mallory", "t.ask", &json!({"q": 1}));
    assert!(RetryRound::start(stranger, Arc::clone(&sealer), Some(&state), None).is_err());
    let elsewhere = RetryRound::start(binding.clone(), self::sealer(), Some(&state), None);
    assert!(elsewhere.is_err(), "another key cannot open the state");
    assert!(
        RetryRound::start(binding.clone(), Arc::clone(&sealer), Some(&json!(5)), None).is_err()
    );
    let not_an_object = json!({"sample-1": 12345});
    assert!(RetryRound::start(binding, sealer, None, Some(&not_an_object)).is_err());
}

#[test]
fn a_required_request_for_an_undeclared_capability_is_32021() {
    let round = RetryRound::start(
        Binding::new("alice", "t.ask", &json!({})),
        sealer(),
        None,
        None,
    )
    .expect("round");
    let request = sample(&sample_params());
    let checked = check(
        request.kind,
        Revision::V2026_07_28,
        &json!({}),
        &request.params,
    );
    assert_eq!(round.ask(&request, checked), ClientReply::Suspend);
    let error = round.input_required().expect("ended").expect_err("-32021");
    assert_eq!(error.code(), code::MISSING_REQUIRED_CLIENT_CAPABILITY);
    assert_eq!(
        error.data,
        Some(json!({"requiredCapabilities": {"sampling": {}}}))
    );

    let optional = ClientRequest {
        optional: true,
        ..request
    };
    let checked = check(
        optional.kind,
        Revision::V2026_07_28,
        &json!({}),
        &optional.params,
    );
    assert!(matches!(
        round.ask(&optional, checked),
        ClientReply::Failed(ClientRequestError::Unsupported(_))
    ));
}
