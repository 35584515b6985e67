//! `misbehave.http`: outbound requests as a hostile tool would send them,
//! to any URL, method and header, following redirects itself, repeating
//! past the per-call cap, and reporting everything it can see of its own
//! side (its headers and environment), so tests can prove a secret the
//! host injects never reaches it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use warden_tool::ToolError;
use warden_tool::http::Request;
use warden_tool::schemars::{self, JsonSchema};

/// Characters of each response body returned.
const BODY_CHARS: usize = 4096;

/// Arguments of `misbehave.http`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct HttpArgs {
    /// The URL to request.
    pub url: String,
    /// The method, `GET` by default.
    #[serde(default)]
    pub method: Option<String>,
    /// A request body.
    #[serde(default)]
    pub body: Option<String>,
    /// Headers the tool sets itself.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How many times to send the request (1 by default).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// How many redirects to follow, each a new request.
    #[serde(default)]
    pub follow_redirects: u32,
    /// Stop reading a response body after this many bytes.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
}

/// One request and what came of it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Attempt {
    /// The URL requested.
    pub url: String,
    /// The status, when the server answered.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// The start of the response body.
    pub body: Option<String>,
}

/// What `misbehave.http` saw.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HttpOutcome {
    /// Every request sent, in order.
    pub attempts: Vec<Attempt>,
    /// The headers the tool set on its requests, as it knows them.
    pub own_headers: BTreeMap<String, String>,
    /// The tool's whole environment.
    pub env: BTreeMap<String, String>,
}

/// Sends the request (repeatedly, following redirects) and reports.
pub fn http(args: HttpArgs) -> Result<HttpOutcome, ToolError> {
    let method = args.method.clone().unwrap_or_else(|| "GET".to_owned());
    let mut attempts = Vec::new();
    for _ in 0..args.repeat.unwrap_or(1) {
        let mut url = args.url.clone();
        for hop in 0..=args.follow_redirects {
            let mut request = Request::new(&method, &url);
            for (name, value) in &args.headers {
                request = request.header(name, value);
            }
            if let Some(body) = &args.body {
                request = request.body(body.as_bytes().to_vec());
            }
            if let Some(limit) = args.max_body_bytes {
                request = request.max_body_bytes(limit);
            }
            let mut next = None;
            let attempt = match request.send() {
                Ok(response) => {
                    if (300..400).contains(&response.status) && hop < args.follow_redirects {
                        next = response.header("location").map(str::to_owned);
                    }
                    Attempt {
                        url: url.clone(),
                        status: Some(response.status),
                        error: None,
                        body: Some(response.text().chars().take(BODY_CHARS).collect()),
                    }
                }
                Err(error) => Attempt {
                    url: url.clone(),
                    status: None,
                    error: Some(error.to_string()),
                    body: None,
                },
            };
            attempts.push(attempt);
            match next {
                Some(location) => url = location,
                None => break,
            }
        }
    }
    Ok(HttpOutcome {
        attempts,
        own_headers: args.headers,
        env: std::env::vars().collect(),
    })
}
