//! `web`: tools that call the web through the gateway.
//!
//! - `web.fetch` GETs a page and returns its status, content type and text
//!   (HTML reduced to readable text).
//! - `web.github_repo` reads a repository's summary from the GitHub API.
//!   The API token is not the tool's: the operator's policy adds it to
//!   requests to `api.github.com` on the way out (see
//!   `examples/warden.toml`). `GITHUB_API_URL` in the component's
//!   environment points it at another server (GitHub Enterprise, a test).
//!
//! Every URL must be allowed by the component's
//! `[components.web.capabilities.http]` grant; the gateway refuses the rest.

pub mod html;

use serde::{Deserialize, Serialize};
use warden_tool::http::{HttpError, Request};
use warden_tool::schemars::{self, JsonSchema};
use warden_tool::{Tool, ToolError, Toolbox};

/// Bytes of a page `web.fetch` reads unless told otherwise.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 20;
/// The most `max_bytes` may ask for.
pub const MAX_MAX_BYTES: u64 = 8 << 20;

/// Arguments of `web.fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// The `http://` or `https://` URL to GET.
    pub url: String,
    /// Stop with an error past this many bytes of the response (1 MiB by
    /// default, at most 8 MiB).
    #[serde(default)]
    #[schemars(range(min = 1, max = 8_388_608))]
    pub max_bytes: Option<u64>,
}

/// What `web.fetch` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The page's title, for HTML.
    pub title: Option<String>,
    /// The body as text; for HTML, the readable text without markup.
    pub text: String,
    /// Where a redirect points (redirects are not followed).
    pub location: Option<String>,
}

/// GETs `url` and returns its text.
pub fn fetch(args: FetchArgs) -> Result<Page, ToolError> {
    let limit = args.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    if limit == 0 || limit > MAX_MAX_BYTES {
        return Err(ToolError::new(format!(
            "max_bytes must be between 1 and {MAX_MAX_BYTES}"
        )));
    }
    let response = Request::get(&args.url)
        .header(
            "accept",
            "text/html, text/plain, application/json;q=0.9, */*;q=0.5",
        )
        .header("user-agent", "warden-web-tool/0.1")
        .max_body_bytes(limit)
        .send()
        .map_err(|error| fetch_error(&args.url, error))?;
    let content_type = response.header("content-type").map(str::to_owned);
    let body = response.text();
    let (title, text) = if html::is_html(content_type.as_deref(), &body) {
        (html::title(&body), html::to_text(&body))
    } else {
        (None, body)
    };
    Ok(Page {
        status: response.status,
        location: response.header("location").map(str::to_owned),
        content_type,
        title,
        text,
    })
}

fn fetch_error(url: &str, error: HttpError) -> ToolError {
    ToolError::new(match error {
        HttpError::Denied => format!(
            "`{url}` is not allowed by this tool's policy: ask the operator to add it to \
             the web component's http allow list"
        ),
        other => format!("cannot fetch `{url}`: {other}"),
    })
}

/// Arguments of `web.github_repo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoArgs {
    /// The owner (user or organisation), e.g. `rust-lang`.
    pub owner: String,
    /// The repository, e.g. `rust`.
    pub repo: String,
}

/// A repository's summary.
#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct Repo {
    /// `owner/name`.
    pub full_name: String,
    /// The description, if any.
    pub description: Option<String>,
    /// Stars.
    pub stars: u64,
    /// Forks.
    pub forks: u64,
    /// Open issues and pull requests.
    pub open_issues: u64,
    /// The default branch.
    pub default_branch: String,
    /// The repository's page.
    pub html_url: String,
}

/// The fields of the API's repository object the summary uses.
#[derive(Debug, Deserialize)]
struct ApiRepo {
    full_name: String,
    description: Option<String>,
    stargazers_count: u64,
    forks_count: u64,
    open_issues_count: u64,
    default_branch: String,
    html_url: String,
}

impl From<ApiRepo> for Repo {
    fn from(api: ApiRepo) -> Self {
        Self {
            full_name: api.full_name,
            description: api.description,
            stars: api.stargazers_count,
            forks: api.forks_count,
            open_issues: api.open_issues_count,
            default_branch: api.default_branch,
            html_url: api.html_url,
        }
    }
}

/// Where the GitHub API is: `GITHUB_API_URL`, or the public API.
fn github_api() -> String {
    std::env::var("GITHUB_API_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .map_or_else(
            || "https://api.github.com".to_owned(),
            |url| url.trim_end_matches('/').to_owned(),
        )
}

/// Whether `part` may be an owner or repository name (and so a path
/// segment as it is).
fn is_github_name(part: &str) -> bool {
    (1..=100).contains(&part.len())
        && part != "."
        && part != ".."
        && part
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// Reads a repository's summary from the GitHub API.
pub fn github_repo(args: RepoArgs) -> Result<Repo, ToolError> {
    for (what, part) in [("owner", &args.owner), ("repo", &args.repo)] {
        if !is_github_name(part) {
            return Err(ToolError::new(format!(
                "`{part}` is not a GitHub {what} name (letters, digits, `-`, `_`, `.`)"
            )));
        }
    }
    let url = format!("{}/repos/{}/{}", github_api(), args.owner, args.repo);
    let response = Request::get(&url)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header("user-agent", "warden-web-tool/0.1")
        .max_body_bytes(1 << 20)
        .send()
        .map_err(|error| fetch_error(&url, error))?;
    match response.status {
        200 => response
            .json::<ApiRepo>()
            .map(Repo::from)
            .map_err(|error| ToolError::new(error.to_string())),
        404 => Err(ToolError::new(format!(
            "no repository `{}/{}` (or the token may not read it)",
            args.owner, args.repo
        ))),
        401 | 403 => Err(ToolError::new(format!(
            "GitHub refused the request ({}): the token the gateway adds is missing, \
             expired or lacks access",
            response.status
        ))),
        status => Err(ToolError::new(format!(
            "GitHub answered {status}: {}",
            response.text().chars().take(200).collect::<String>()
        ))),
    }
}

/// The component's tools.
pub fn toolbox() -> Toolbox {
    Toolbox::new()
        .tool(
            Tool::new(
                "web.fetch",
                "Fetches a web page or document with GET and returns its status, content \
                 type and text; HTML is reduced to its readable text. Only URLs the \
                 operator allows can be fetched; redirects are returned, not followed.",
                fetch,
            )
            .title("Fetch a URL")
            .read_only()
            .open_world(true),
        )
        .tool(
            Tool::new(
                "web.github_repo",
                "Reads a GitHub repository's summary: description, stars, forks, open \
                 issues, default branch.",
                github_repo,
            )
            .title("GitHub repository")
            .read_only()
            .open_world(true),
        )
}

warden_tool::export_toolbox!(toolbox);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_names_are_path_safe() {
        for good in ["rust-lang", "rust", "a.b_c-d"] {
            assert!(is_github_name(good), "{good}");
        }
        for bad in ["", "..", "a/b", "a?b", "a b", &"x".repeat(101)] {
            assert!(!is_github_name(bad), "{bad}");
        }
        let error = github_repo(RepoArgs {
            owner: "../..".to_owned(),
            repo: "x".to_owned(),
        })
        .expect_err("refused");
        assert!(error.to_string().contains("not a GitHub owner"), "{error}");
    }

    #[test]
    fn tools_are_listed_with_schemas() {
        let names: Vec<String> = toolbox().list().into_iter().map(|tool| tool.name).collect();
        assert_eq!(names, ["web.fetch", "web.github_repo"]);
        let result = toolbox().call("web.fetch", r#"{"url":"https://a.com","max_bytes":0}"#);
        assert!(result.is_error);
    }

    #[test]
    fn a_repository_reads_from_the_api_shape() {
        let repo: ApiRepo = serde_json::from_str(
            r#"{"full_name":"o/r","description":null,"stargazers_count":3,"forks_count":1,
                "open_issues_count":2,"default_branch":"main","html_url":"https://github.com/o/r",
                "extra":true}"#,
        )
        .expect("parses");
        let repo = Repo::from(repo);
        assert_eq!((repo.stars, repo.forks, repo.open_issues), (3, 1, 2));
    }
}
