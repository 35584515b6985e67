//! Which tools a caller may see and call. A tool a caller may not use is
//! left out of its `tools/list` and answered as unknown when called, so the
//! caller cannot even learn that it exists.

use crate::config::AccessRule;

use super::{Caller, CallerKind};

/// A tool's access rule and where the config states it, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolAccess {
    /// Who may use the tool.
    pub rule: AccessRule,
    /// The table that states the rule, e.g. `components.files.access` or
    /// `components.files.access.tools.read`.
    pub source: String,
}

/// Whether `caller` may see and call the tool named `tool`, whose rule is
/// `access` (`None`: every caller). The decision is logged at debug level
/// with the rule that made it.
pub fn allows(access: Option<&ToolAccess>, tool: &str, caller: &Caller) -> bool {
    let (allowed, why) = decide(access, caller);
    tracing::debug!(
        tool,
        caller = caller.name(),
        allowed,
        rule = %why,
        "access decision"
    );
    allowed
}

fn decide(access: Option<&ToolAccess>, caller: &Caller) -> (bool, String) {
    if caller.kind() == CallerKind::Local {
        return (
            true,
            "the local operator is not subject to access rules".to_owned(),
        );
    }
    let Some(access) = access else {
        return (true, "no access table: every caller".to_owned());
    };
    let source = &access.source;
    if access.rule.callers.contains(caller.name()) {
        return (true, format!("caller listed in {source}.callers"));
    }
    if let Some(role) = caller
        .roles()
        .iter()
        .find(|role| access.rule.roles.contains(*role))
    {
        return (true, format!("role `{role}` listed in {source}.roles"));
    }
    if let Some(scope) = caller
        .scopes()
        .iter()
        .find(|scope| access.rule.scopes.contains(*scope))
    {
        return (true, format!("scope `{scope}` listed in {source}.scopes"));
    }
    (
        false,
        format!("neither the caller nor a role or scope of it listed in {source}"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn caller(name: &str, roles: &[&str]) -> Caller {
        Caller::new(
            CallerKind::ApiKey,
            name,
            roles.iter().map(|role| (*role).to_owned()).collect(),
        )
    }

    fn access(callers: &[&str], roles: &[&str]) -> ToolAccess {
        let set = |items: &[&str]| items.iter().map(|item| (*item).to_owned()).collect();
        ToolAccess {
            rule: AccessRule {
                callers: set(callers),
                roles: set(roles),
                scopes: set(&["tools:files"]),
            },
            source: "components.files.access".to_owned(),
        }
    }

    #[test]
    fn callers_match_by_name_or_role() {
        let rule = access(&["ci-bot"], &["reader"]);
        assert!(decide(Some(&rule), &caller("ci-bot", &[])).0);
        let (allowed, why) = decide(Some(&rule), &caller("alice", &["writer", "reader"]));
        assert!(allowed);
        assert_eq!(why, "role `reader` listed in components.files.access.roles");
        let (allowed, why) = decide(Some(&rule), &caller("mallory", &["writer"]));
        assert!(!allowed);
        assert!(why.contains("components.files.access"), "{why}");
    }

    #[test]
    fn token_callers_match_by_scope() {
        let rule = access(&[], &[]);
        let claims = crate::auth::jwt::TokenClaims {
            caller: "agent-7".to_owned(),
            roles: BTreeSet::new(),
            scopes: ["openid", "tools:files"].map(str::to_owned).into(),
        };
        let (allowed, why) = decide(Some(&rule), &Caller::from_token(claims.clone()));
        assert!(allowed);
        assert_eq!(
            why,
            "scope `tools:files` listed in components.files.access.scopes"
        );
        let unscoped = crate::auth::jwt::TokenClaims {
            scopes: BTreeSet::from(["openid".to_owned()]),
            ..claims
        };
        assert!(!decide(Some(&rule), &Caller::from_token(unscoped)).0);
    }

    #[test]
    fn empty_rules_admit_nobody_and_no_rule_admits_everybody() {
        let closed = access(&[], &[]);
        assert!(!decide(Some(&closed), &caller("ci-bot", &["admin"])).0);
        assert!(decide(None, &caller("anyone", &[])).0);
        assert!(decide(Some(&closed), &Caller::local()).0);
    }
}
