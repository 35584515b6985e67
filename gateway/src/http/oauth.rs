//! The OAuth 2.1 resource server face of `[auth.jwt]`: the protected
//! resource metadata of RFC 9728, and the `WWW-Authenticate` challenges
//! (RFC 6750) that point clients to it.

use hyper::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::json;

use super::MCP_PATH;
use super::response::{self, Body};
use crate::auth::AuthError;
use crate::auth::jwt::JwtError;
use crate::config::JwtConfig;
use crate::mcp::{ErrorKind, McpError};

/// Where RFC 9728 metadata lives; a resource with a path also has it at
/// this prefix followed by the path.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// How long a client waits before retrying while the issuer's keys cannot
/// be fetched.
const KEYS_UNAVAILABLE_RETRY_SECS: u32 = 10;

/// Whether `path` is one of the metadata documents' paths.
pub fn is_metadata_path(path: &str) -> bool {
    path.starts_with(METADATA_PATH)
}

/// The metadata document at `path`, or 404 when tokens are not accepted or
/// the path names another resource.
pub fn metadata(jwt: Option<&JwtConfig>, path: &str) -> Response<Body> {
    let suffix = &path[METADATA_PATH.len().min(path.len())..];
    let Some(jwt) =
        jwt.filter(|jwt| suffix.is_empty() || suffix == MCP_PATH || suffix == resource_path(jwt))
    else {
        return response::http_refusal(
            StatusCode::NOT_FOUND,
            "no protected resource metadata here: [auth.jwt] is not configured, or the path \
             names another resource",
        );
    };
    let scopes: Vec<&String> = jwt.scopes_supported.iter().collect();
    response::json(
        StatusCode::OK,
        &json!({
            "resource": jwt.resource.text,
            "authorization_servers": jwt.authorization_servers,
            "scopes_supported": scopes,
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported":
                jwt.algorithms.iter().map(|a| a.name()).collect::<Vec<_>>(),
            "resource_name": "Warden MCP gateway",
        }),
    )
}

/// The resource's path, `""` for `/`.
fn resource_path(jwt: &JwtConfig) -> &str {
    match jwt.resource.path.as_str() {
        "/" => "",
        path => path,
    }
}

/// The URL of the metadata document, as challenges name it.
pub fn metadata_url(jwt: &JwtConfig) -> String {
    format!(
        "{}{METADATA_PATH}{}",
        jwt.resource.origin(),
        resource_path(jwt)
    )
}

/// The refusal for an unauthenticated request: 401 with a challenge, 403
/// for a token without a required scope, 503 when the issuer's keys
/// cannot be fetched.
pub fn refusal(jwt: Option<&JwtConfig>, error: &AuthError) -> Response<Body> {
    let (status, error_code) = match error {
        AuthError::Missing => (StatusCode::UNAUTHORIZED, None),
        AuthError::Malformed => (StatusCode::UNAUTHORIZED, Some("invalid_request")),
        AuthError::UnknownKey | AuthError::Token(_) => {
            (StatusCode::UNAUTHORIZED, Some("invalid_token"))
        }
        AuthError::InsufficientScope(_) => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
    };
    if let AuthError::Token(JwtError::KeysUnavailable(_)) = error {
        tracing::warn!(%error, "refused a request: the issuer's keys are unavailable");
        let mut refusal = response::refusal(McpError::new(
            ErrorKind::Unavailable,
            "the token cannot be checked now: the issuer's keys are unavailable; retry later",
        ));
        refusal
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(KEYS_UNAVAILABLE_RETRY_SECS));
        return refusal;
    }
    tracing::info!(%error, "refused an unauthenticated request");
    let mut refusal = response::http_refusal(status, &error.to_string());
    let challenge = challenge(jwt, error, error_code);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        refusal.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    refusal
}

fn challenge(jwt: Option<&JwtConfig>, error: &AuthError, error_code: Option<&str>) -> String {
    let mut parameters = Vec::new();
    match jwt {
        None => parameters.push(r#"realm="warden""#.to_owned()),
        Some(jwt) => parameters.push(format!(r#"resource_metadata="{}""#, metadata_url(jwt))),
    }
    if let Some(error_code) = error_code {
        parameters.push(format!(r#"error="{error_code}""#));
        if matches!(error, AuthError::Token(_) | AuthError::InsufficientScope(_)) {
            parameters.push(format!(
                r#"error_description="{}""#,
                quotable(&error.to_string())
            ));
        }
    }
    let scope = match (error, jwt) {
        (AuthError::InsufficientScope(missing), Some(jwt)) => Some(
            jwt.required_scopes
                .union(missing)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (_, Some(jwt)) if !jwt.required_scopes.is_empty() => Some(
            jwt.required_scopes
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    if let Some(scope) = scope {
        parameters.push(format!(r#"scope="{scope}""#));
    }
    format!("Bearer {}", parameters.join(", "))
}

/// `text` as the content of a quoted-string: visible ASCII and spaces,
/// without `"` and `\`.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c == ' ' || c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect()
}
