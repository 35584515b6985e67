//! The `warden` binary: command-line parsing and process set-up over the
//! `warden_gateway` library.

mod call;
mod describe;
mod keys;
mod probe;
mod registry;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use warden_gateway::config::LogFormat;
use warden_gateway::mcp::revision::{Revision, Transport};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes besides 0 (success), 1 (error) and 2 (bad command line).
mod exit {
    /// `serve`: the drain deadline passed, so calls were cancelled or
    /// connections closed with requests open.
    pub const DRAIN_INCOMPLETE: u8 = 3;
    /// `call`: the tool ran and returned an error result (`isError: true`).
    pub const TOOL_ERROR: u8 = 4;
}

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success; for serve, every request in flight finished before exiting
  1  error: bad config, a component that does not load, an address in use...
  2  bad command line
  3  serve: stopped after the drain deadline, cancelling calls still running
  4  call: the tool returned an error result (isError: true)";

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "An MCP gateway that runs every tool call in a fresh, sandboxed WebAssembly instance",
    after_help = EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over Streamable HTTP (or stdio) until SIGTERM/SIGINT, then
    /// drain: stop accepting, let requests in flight finish within
    /// server.drain_timeout_secs, cancel the rest. A second signal cancels
    /// at once.
    Serve {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
        /// Listen on this address instead of the configured one.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log format; overrides the configured one.
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
        /// Speak newline-delimited JSON-RPC on stdin/stdout instead of HTTP
        /// (for clients that launch Warden themselves); logs go to stderr.
        #[arg(long, conflicts_with = "listen")]
        stdio: bool,
    },
    /// Load and compile every component, print the tools with their limits,
    /// and exit non-zero on any problem.
    Check {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
    },
    /// List the tools a configuration serves, with their schemas and the
    /// policy each runs under.
    Tools {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run one tool call locally, through the same validation, sandbox and
    /// policy as a served call; print the result (stdout) and the resources
    /// it used (stderr).
    Call {
        /// The tool's name, e.g. text.count.
        tool: String,
        /// The arguments, a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
        /// Print one JSON document with the result and the resources used.
        #[arg(long)]
        json: bool,
    },
    /// Show the tools a component file declares and their schemas, under
    /// the default deny-all policy, without a configuration.
    Inspect {
        /// The component, a .wasm file.
        file: PathBuf,
        /// Print the tools as `tools/list` returns them (JSON).
        #[arg(long)]
        json: bool,
    },
    /// Check a running Warden over HTTP: exit 0 when the URL answers 2xx
    /// within 3 seconds, 1 otherwise. For container health checks.
    Probe {
        /// What to GET.
        #[arg(default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
    /// Pull every registry component the configuration names into
    /// server.cache_dir, checking digests and signatures, and compile it:
    /// ahead of serving, for air-gapped nodes and image builds.
    Pull {
        /// The configuration file.
        #[arg(long, short, env = "WARDEN_CONFIG")]
        config: PathBuf,
    },
    /// Publish a component (.wasm) at REFERENCE (with a tag) in the wasm
    /// OCI artifact layout (as `wkg oci push` does); print the reference
    /// pinned to its digest.
    Push {
        /// The component, a .wasm file.
        file: PathBuf,
        /// Where to publish it, e.g. ghcr.io/acme/tool:1.0.
        reference: String,
        #[command(flatten)]
        registry: registry::RegistryArgs,
    },
    /// Sign the manifest REFERENCE names with a private key (PKCS #8 PEM,
    /// ECDSA P-256 or Ed25519) in cosign's key-based format, and push the
    /// signature beside it (the sha256-<hex>.sig tag).
    Sign {
        /// The private key.
        #[arg(long)]
        key: PathBuf,
        /// What to sign: a reference with a digest, or a tag (signs the
        /// digest the tag names now).
        reference: String,
        #[command(flatten)]
        registry: registry::RegistryArgs,
    },
    /// Print the hash of an API key, read from stdin, for a
    /// [[auth.api_keys]] entry's `hash`. With --generate, make a new random
    /// key and print it (line 1, for the client) and its hash (line 2).
    HashKey {
        /// Make a new key instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// Print a new random session key (base64, 32 bytes) for
    /// WARDEN_SESSION_KEY or server.session_key. Replicas that share a key
    /// accept each other's sessions.
    NewSessionKey,
    /// Print the version, the MCP revisions and the tool interface served.
    Version,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(format: LogFormatArg) -> Self {
        match format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let success = |()| ExitCode::SUCCESS;
    let outcome = match cli.command {
        Command::Serve {
            config,
            listen,
            log_format,
            stdio,
        } => runtime.block_on(serve::run(
            config,
            listen,
            log_format.map(LogFormat::from),
            stdio,
        )),
        Command::Check { config } => runtime.block_on(describe::check(&config)).map(success),
        Command::Tools { config, json } => runtime
            .block_on(describe::tools(&config, json))
            .map(success),
        Command::Call {
            tool,
            args,
            config,
            json,
        } => runtime.block_on(call::run(&config, tool, &args, json)),
        Command::Inspect { file, json } => runtime
            .block_on(describe::inspect(&file, json))
            .map(success),
        Command::Pull { config } => runtime.block_on(registry::pull(&config)).map(success),
        Command::Push {
            file,
            reference,
            registry,
        } => runtime
            .block_on(registry::push(&file, &reference, &registry))
            .map(success),
        Command::Sign {
            key,
            reference,
            registry,
        } => runtime
            .block_on(registry::sign(&key, &reference, &registry))
            .map(success),
        Command::Probe { url } => runtime.block_on(probe::run(&url)).map(success),
        Command::HashKey { generate } => keys::hash_key(generate).map(success),
        Command::NewSessionKey => keys::new_session_key().map(success),
        Command::Version => describe::emit(&version()).map(success),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn version() -> String {
    let revisions: Vec<String> = Revision::SUPPORTED
        .iter()
        .map(|revision| {
            match (
                revision.served_over(Transport::Http),
                revision.served_over(Transport::Stdio),
            ) {
                (true, false) => format!("{} (HTTP only)", revision.as_str()),
                (false, true) => format!("{} (stdio only)", revision.as_str()),
                _ => revision.as_str().to_owned(),
            }
        })
        .collect();
    format!(
        "warden {}\nMCP revisions: {}\ntool interface: {}\n",
        env!("CARGO_PKG_VERSION"),
        revisions.join(", "),
        warden_sandbox::WIT_PACKAGE
    )
}
