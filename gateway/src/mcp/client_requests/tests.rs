use serde_json::json;

use super::*;
use crate::config::SessionKey;

fn sealer() -> Arc<SessionSealer> {
    Arc::new(SessionSealer::new(
        &SessionKey::generate().expect("random"),
        &[],
    ))
}

fn sample() -> String {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
        "maxTokens": 10})
    .to_string()
}

#[test]
fn sampling_with_tools_needs_the_tools_capability() {
    let with_tools = json!({"messages": [{"role": "user"}], "maxTokens": 1, "tools": []});
    let plain = json!({"sampling": {}});
    assert!(matches!(
        check(
            ClientRequestKind::Sample,
            Revision::V2025_11_25,
            &plain,
            &with_tools.to_string()
        ),
        Err(ClientRequestError::Unsupported(_))
    ));
    let able = json!({"sampling": {"tools": {}}});
    assert!(
        check(
            ClientRequestKind::Sample,
            Revision::V2025_11_25,
            &able,
            &with_tools.to_string()
        )
        .is_ok()
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
    let params: Value = serde_json::from_str(&sample()).expect("params");
    let reply = round.ask(
        ClientRequestKind::Sample,
        "sampling/createMessage",
        params.clone(),
    );
    assert_eq!(reply, ClientReply::Suspend);
    let result = round.input_required().expect("suspended").expect("sealed");
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
        retry.ask(ClientRequestKind::Sample, "sampling/createMessage", params),
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
    let changed = json!({"messages": [{"role": "user"}], "maxTokens": 99});
    assert_eq!(
        other.ask(ClientRequestKind::Sample, "sampling/createMessage", changed),
        ClientReply::Suspend
    );

    let stranger = Binding::new("mallory", "t.ask", &json!({"q": 1}));
    assert!(RetryRound::start(stranger, Arc::clone(&sealer), Some(&state), None).is_err());
    let elsewhere = RetryRound::start(binding.clone(), self::sealer(), Some(&state), None);
    assert!(elsewhere.is_err(), "another key cannot open the state");
    assert!(RetryRound::start(binding, sealer, Some(&json!(5)), None).is_err());
}
