//! The gateway's side of a request, no instance run: JSON-RPC decoding and
//! dispatch, argument validation, session tokens.

use std::cell::OnceCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use warden_gateway::Gateway;
use warden_gateway::auth::Caller;
use warden_gateway::config::SessionKey;
use warden_gateway::mcp::jsonrpc;
use warden_gateway::mcp::revision::{Revision, Transport};
use warden_gateway::mcp::server::{
    Admission, Framing, Incoming, Reply, RequestContext, SessionRef,
};
use warden_gateway::mcp::session::token::{SessionClaims, SessionSealer};
use warden_gateway::mcp::tools::schema_violations;

/// The nesting limit the server applies by default.
const MAX_DEPTH: usize = 64;

/// A `tools/call` as a client sends it for a short text.
const TOOLS_CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"text.count","arguments":{"text":"the quick brown fox jumps over the lazy dog"}}}"#;

/// Bytes of text in the large `tools/call`.
const LARGE_ARGUMENT_BYTES: usize = 10 * 1024;

/// A gateway serving `text` and `json` with one initialized session, built
/// on first use so that a filter excluding every benchmark that needs it
/// spares the component loading.
pub struct LazyGateway<'a> {
    runtime: &'a Runtime,
    cache: PathBuf,
    served: OnceCell<Served>,
}

struct Served {
    gateway: Arc<Gateway>,
    caller: Arc<Caller>,
    session_id: String,
}

impl<'a> LazyGateway<'a> {
    pub fn new(runtime: &'a Runtime, cache: &Path) -> Self {
        Self {
            runtime,
            cache: cache.to_owned(),
            served: OnceCell::new(),
        }
    }

    fn get(&self) -> &Served {
        self.served.get_or_init(|| self.start())
    }

    fn start(&self) -> Served {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ncache_dir = \"{cache}\"\n\n\
             [components.text]\npath = \"{text}\"\n\n\
             [components.json]\npath = \"{json}\"\n",
            cache = self.cache.display(),
            text = warden_tool_artifacts::TEXT,
            json = warden_tool_artifacts::JSON,
        );
        // `parse`, not `load`: no file to write, and no session key or other
        // setting taken from the environment.
        let config = warden_gateway::config::parse(&text, Path::new("micro.toml"))
            .expect("the bench config parses");
        let gateway = self
            .runtime
            .block_on(warden_gateway::build(&config))
            .expect("the gateway builds");
        let caller = Arc::new(Caller::anonymous());
        let initialize = json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {
                "protocolVersion": Revision::LATEST.as_str(),
                "capabilities": { "sampling": {} },
                "clientInfo": { "name": "bench-client", "version": "1.0.0" },
            },
        });
        let context = RequestContext::new(
            Arc::clone(&caller),
            Transport::Http,
            SessionRef::Absent,
            Framing::Session,
            Admission::Capped,
        );
        let incoming = Incoming::decode(initialize.to_string().as_bytes(), MAX_DEPTH);
        let Reply::Opened { session_id, .. } = self
            .runtime
            .block_on(gateway.mcp.handle(incoming, &context))
        else {
            panic!("initialize opens a session");
        };
        // Local state, as a session that has run a call has: a ping or a
        // listing then finds it in memory instead of opening the sealed id.
        gateway
            .mcp
            .sessions()
            .touch(&session_id)
            .expect("the session just opened is live");
        Served {
            gateway,
            caller,
            session_id,
        }
    }
}

/// `jsonrpc/decode/*` and `jsonrpc/decode+dispatch/*`.
pub fn jsonrpc(criterion: &mut Criterion, runtime: &Runtime, gateway: &LazyGateway) {
    let large = large_tools_call();
    let mut group = criterion.benchmark_group("jsonrpc");
    for (label, body) in [
        ("tools-call", TOOLS_CALL.as_bytes()),
        ("tools-call-10KB", large.as_bytes()),
    ] {
        group.bench_function(BenchmarkId::new("decode", label), |b| {
            b.iter(|| jsonrpc::decode(black_box(body), MAX_DEPTH).expect("decode"));
        });
    }

    for (label, body) in [
        ("ping", r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#),
        (
            "tools-list",
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#,
        ),
    ] {
        group.bench_function(BenchmarkId::new("decode+dispatch", label), |b| {
            let served = gateway.get();
            let depth = served.gateway.settings.max_json_depth;
            let reply = runtime.block_on(decode_and_dispatch(served, body.as_bytes(), depth));
            assert!(reply.get("result").is_some(), "{label} failed: {reply}");
            b.to_async(runtime)
                .iter(|| decode_and_dispatch(served, black_box(body.as_bytes()), depth));
        });
    }
    group.finish();
}

/// What the HTTP endpoint does with a request body once the transport
/// checks passed: decode it and hand it to the server, which finds its
/// session and answers it.
async fn decode_and_dispatch(served: &Served, body: &[u8], depth: usize) -> Value {
    let context = RequestContext::new(
        Arc::clone(&served.caller),
        Transport::Http,
        SessionRef::Named {
            id: served.session_id.clone(),
            protocol_version: None,
        },
        Framing::Session,
        Admission::Capped,
    );
    match served
        .gateway
        .mcp
        .handle(Incoming::decode(body, depth), &context)
        .await
    {
        Reply::Answer(answer) => answer.message,
        other => panic!("a ping or a listing is answered at once: {other:?}"),
    }
}

/// A `tools/call` of `text.count` whose text is [`LARGE_ARGUMENT_BYTES`]
/// long, with the escapes and non-ASCII text a real document has.
fn large_tools_call() -> String {
    let sentence = "Line one said \"hello\"; the café's menu\tlisted crème brûlée.\n";
    let mut text = String::with_capacity(LARGE_ARGUMENT_BYTES + sentence.len());
    while text.len() < LARGE_ARGUMENT_BYTES {
        text.push_str(sentence);
    }
    json!({
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": { "name": "text.count", "arguments": { "text": text } },
    })
    .to_string()
}

/// `validate/<tool>/{valid,invalid}`: the catalog's compiled input schema,
/// checked as `tools/call` checks it (every violation listed).
pub fn validate(criterion: &mut Criterion, gateway: &LazyGateway) {
    let cases = [
        (
            "text.count",
            json!({ "text": "the quick brown fox jumps over the lazy dog" }),
            json!({ "text": 42 }),
        ),
        (
            "json.query",
            json!({
                "document": {
                    "items": [
                        { "name": "pen", "price": 2.5, "tags": ["office"] },
                        { "name": "lamp", "price": 30, "tags": ["home", "light"] },
                    ],
                },
                "query": ".items[] | select(.price > 10) | .name",
            }),
            json!({ "document": { "items": [] }, "query": [".items"] }),
        ),
    ];
    let mut group = criterion.benchmark_group("validate");
    for (tool, valid, invalid) in &cases {
        for (label, arguments, expect_valid) in
            [("valid", valid, true), ("invalid", invalid, false)]
        {
            group.bench_function(BenchmarkId::new(*tool, label), |b| {
                let catalog = gateway.get().gateway.mcp.catalog();
                let tool = catalog.get(tool).expect("the tool is served");
                let validator = &tool.input_validator;
                assert_eq!(
                    schema_violations(validator, arguments).is_empty(),
                    expect_valid,
                    "{label} arguments of {}",
                    tool.name
                );
                b.iter(|| schema_violations(validator, black_box(arguments)));
            });
        }
    }
    group.finish();
}

/// `session/seal` and `session/open`: the session id a client gets from
/// `initialize` and presents with every request after it.
pub fn session(criterion: &mut Criterion) {
    let key = SessionKey::generate().expect("random key");
    let sealer = SessionSealer::new(&key, &[]);
    let mut claims = SessionClaims::new(
        Revision::LATEST,
        json!({ "sampling": {} }),
        json!({ "name": "bench-client", "title": "Bench Client", "version": "1.0.0" }),
        Some("alice@example.com"),
    );
    // What the store fills in: a random id and an expiry (here 2100-01-01).
    claims.id = std::array::from_fn(|i| (i as u8).wrapping_mul(37));
    claims.expires_at = 4_102_444_800;
    let token = sealer.seal(&claims).expect("seal");
    assert_eq!(sealer.open(&token).expect("open"), claims);

    let mut group = criterion.benchmark_group("session");
    group.bench_function("seal", |b| {
        b.iter(|| sealer.seal(black_box(&claims)).expect("seal"));
    });
    group.bench_function("open", |b| {
        b.iter(|| sealer.open(black_box(&token)).expect("open"));
    });
    group.finish();
}
