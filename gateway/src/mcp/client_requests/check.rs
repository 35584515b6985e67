//! Whether a tool's request is one its client can take: the capability
//! it needs is declared, the revision has it, the params are well formed.

use serde_json::{Map, Value};
use warden_sandbox::{ClientRequestError, ClientRequestKind};

use crate::mcp::revision::Revision;

/// Why a request cannot go to the client.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Refusal {
    pub(super) error: ClientRequestError,
    /// The capability the client would have to declare, when that is why.
    pub(super) missing: Option<&'static str>,
}

impl Refusal {
    fn invalid(reason: &str) -> Self {
        Self {
            error: ClientRequestError::Invalid(reason.to_owned()),
            missing: None,
        }
    }

    fn unsupported(reason: String) -> Self {
        Self {
            error: ClientRequestError::Unsupported(reason),
            missing: None,
        }
    }

    fn undeclared(capability: &'static str) -> Self {
        Self {
            error: ClientRequestError::Unsupported(format!(
                "the client did not declare the `{capability}` capability"
            )),
            missing: Some(capability),
        }
    }
}

/// The method and params of a tool's request, once it is one this client
/// can take.
pub(super) fn check(
    kind: ClientRequestKind,
    revision: Revision,
    capabilities: &Value,
    request: &str,
) -> Result<(&'static str, Value), Refusal> {
    let mut params: Map<String, Value> = serde_json::from_str(request).map_err(|error| {
        Refusal::invalid(&format!("the request must be a JSON object: {error}"))
    })?;
    let declared = |name: &'static str| {
        capabilities
            .get(name)
            .and_then(Value::as_object)
            .ok_or(Refusal::undeclared(name))
    };
    match kind {
        ClientRequestKind::Sample => {
            let sampling = declared("sampling")?;
            if params
                .get("messages")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
            {
                return Err(Refusal::invalid("`messages` must be a non-empty array"));
            }
            if params
                .get("maxTokens")
                .and_then(Value::as_u64)
                .is_none_or(|tokens| tokens == 0)
            {
                return Err(Refusal::invalid("`maxTokens` must be a positive integer"));
            }
            let uses_tools = params.contains_key("tools") || params.contains_key("toolChoice");
            if uses_tools && !sampling.contains_key("tools") {
                return Err(Refusal::unsupported(
                    "the client did not declare `sampling.tools`, so a request may not offer it tools"
                        .to_owned(),
                ));
            }
            Ok(("sampling/createMessage", Value::Object(params)))
        }
        ClientRequestKind::Elicit => {
            if !revision.has_elicitation() {
                return Err(Refusal::unsupported(format!(
                    "elicitation needs protocol revision 2025-06-18 or later; this client speaks {}",
                    revision.as_str()
                )));
            }
            let elicitation = declared("elicitation")?;
            if !params.get("message").is_some_and(Value::is_string) {
                return Err(Refusal::invalid("`message` must be a string"));
            }
            let mode = params
                .get("mode")
                .map(|mode| mode.as_str().unwrap_or_default().to_owned());
            match mode.as_deref() {
                None | Some("form") => {
                    // An empty `elicitation` object declares form mode.
                    let form = elicitation.contains_key("form") || !elicitation.contains_key("url");
                    if !form {
                        return Err(Refusal::unsupported(
                            "the client declared only URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("requestedSchema").is_some_and(Value::is_object) {
                        return Err(Refusal::invalid(
                            "`requestedSchema` must be an object schema",
                        ));
                    }
                    // Modes came with 2025-11-25; earlier clients know only forms.
                    if revision < Revision::V2025_11_25 {
                        params.remove("mode");
                    }
                }
                Some("url") => {
                    if revision < Revision::V2025_11_25 || !elicitation.contains_key("url") {
                        return Err(Refusal::unsupported(
                            "the client did not declare URL-mode elicitation".to_owned(),
                        ));
                    }
                    if !params.get("url").is_some_and(Value::is_string)
                        || !params.get("elicitationId").is_some_and(Value::is_string)
                    {
                        return Err(Refusal::invalid(
                            "URL-mode elicitation needs `url` and `elicitationId` strings",
                        ));
                    }
                }
                Some(_) => return Err(Refusal::invalid("`mode` must be \"form\" or \"url\"")),
            }
            Ok(("elicitation/create", Value::Object(params)))
        }
        ClientRequestKind::ListRoots => {
            declared("roots")?;
            Ok(("roots/list", Value::Object(params)))
        }
    }
}
