//! Baseline for Warden's load benchmark: the `text` and `json` tools,
//! compiled natively from the same crates as the wasm components, served by
//! rmcp (the official Rust MCP SDK) over streamable HTTP on loopback.
//!
//! ```text
//! rmcp-baseline --port PORT [--stateless]
//! ```
//!
//! By default sessions are kept (`Mcp-Session-Id`, as Warden does) and rmcp
//! answers every POST with an event stream: it has no JSON responses in
//! that mode. `--stateless` serves without sessions and answers with
//! `application/json`.

use std::convert::Infallible;

use anyhow::Context as _;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use warden_tool::{CallResult, Content, ToolInfo, Toolbox};

/// The tools, listed once at start; calls build a fresh toolbox instead, as
/// each wasm instance does.
#[derive(Clone)]
struct NativeTools {
    tools: std::sync::Arc<Vec<Tool>>,
}

impl NativeTools {
    fn new() -> anyhow::Result<Self> {
        let infos = text_tool::toolbox()
            .list()
            .into_iter()
            .chain(json_tool::toolbox().list());
        let tools = infos.map(to_rmcp_tool).collect::<anyhow::Result<_>>()?;
        Ok(Self {
            tools: std::sync::Arc::new(tools),
        })
    }
}

fn to_rmcp_tool(info: ToolInfo) -> anyhow::Result<Tool> {
    let input = serde_json::from_str(&info.input_schema).context("input schema")?;
    let mut tool = Tool::new(info.name, info.description, std::sync::Arc::new(input));
    if let Some(title) = info.title {
        tool = tool.with_title(title);
    }
    if let Some(output) = info.output_schema {
        let output = serde_json::from_str(&output).context("output schema")?;
        tool = tool.with_raw_output_schema(std::sync::Arc::new(output));
    }
    Ok(tool)
}

/// The toolbox that provides `name`, as Warden's catalog would route it.
fn toolbox_for(name: &str) -> Option<Toolbox> {
    if name.starts_with("text.") {
        Some(text_tool::toolbox())
    } else if name.starts_with("json.") {
        Some(json_tool::toolbox())
    } else {
        None
    }
}

fn to_rmcp_result(result: CallResult) -> Result<CallToolResult, ErrorData> {
    let content = result
        .content
        .into_iter()
        .filter_map(|item| match item {
            Content::Text(text) => Some(ContentBlock::text(text)),
            // The benchmark's tools return text only.
            _ => None,
        })
        .collect();
    let mut out = if result.is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    out.structured_content = result
        .structured_content
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
    Ok(out)
}

impl ServerHandler for NativeTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("rmcp-baseline", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(toolbox) = toolbox_for(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {}", request.name),
                None,
            ));
        };
        // The tools take their arguments as JSON text, as the wasm guest does.
        let arguments = serde_json::to_string(&request.arguments.unwrap_or_default())
            .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
        to_rmcp_result(toolbox.call(&request.name, &arguments)).map(CallToolResponse::from)
    }
}

struct Args {
    port: u16,
    stateless: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut port = None;
    let mut stateless = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = Some(args.next().context("--port needs a value")?.parse()?),
            "--stateless" => stateless = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        port: port.context("usage: rmcp-baseline --port PORT [--stateless]")?,
        stateless,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let tools = NativeTools::new()?;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(!args.stateless)
        .with_json_response(args.stateless)
        .with_sse_keep_alive(None);
    let service = StreamableHttpService::new(
        move || Ok(tools.clone()),
        LocalSessionManager::default().into(),
        config,
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    eprintln!("rmcp baseline serving at {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let serve = service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(service.handle(request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), serve)
                .await;
        });
    }
}
