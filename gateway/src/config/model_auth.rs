//! The validated `[auth]` configuration: API keys, JWT access tokens and
//! where their keys come from. Re-exported by [`super::model`].

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::Deserialize;

/// The `[auth]` table: how HTTP callers prove who they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// Whether callers present client certificates (`tls.client_ca_file`):
    /// the certificate's subject names the caller.
    pub client_certificates: bool,
    /// The API keys, from the config file and `api_keys_file` together.
    pub api_keys: Vec<ApiKey>,
    /// A separate file of `[[api_keys]]` (a mounted Secret), watched for
    /// changes like the config file.
    pub api_keys_file: Option<PathBuf>,
    /// `[auth.jwt]`: bearer tokens from an OAuth 2.1 authorization server.
    pub jwt: Option<JwtConfig>,
}

impl AuthConfig {
    /// Whether HTTP callers must authenticate: some source of credentials
    /// is configured (even one that lists no key yet, which lets nobody in).
    pub fn is_enabled(&self) -> bool {
        !self.api_keys.is_empty()
            || self.api_keys_file.is_some()
            || self.client_certificates
            || self.jwt.is_some()
    }
}

/// `[auth.jwt]`: Warden as an OAuth 2.1 resource server. Callers present
/// JWT access tokens; each is checked against the issuer's keys, issuer,
/// audience, expiry and not-before, and names its caller, roles and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// The canonical URI of this MCP endpoint (e.g.
    /// `https://mcp.example.com/mcp`), published as `resource` in the
    /// protected resource metadata.
    pub resource: HttpUrl,
    /// The `aud` a token must carry. Default: `resource`.
    pub audience: String,
    /// The `iss` a token must carry.
    pub issuer: String,
    /// Published in the metadata for clients to find where to get tokens.
    /// Default: `[issuer]`.
    pub authorization_servers: Vec<String>,
    /// Where the issuer's keys come from.
    pub jwks: JwksSource,
    /// The algorithms a token may be signed with. Default RS256, ES256 and
    /// EdDSA; HS256 only when listed (its keys are shared secrets).
    pub algorithms: BTreeSet<JwtAlgorithm>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds. Default
    /// [`DEFAULT_JWT_LEEWAY_SECS`], range [`JWT_LEEWAY_SECS_RANGE`].
    pub leeway_secs: u64,
    /// The claim that names the caller. Default `sub`.
    pub caller_claim: String,
    /// The claim holding the caller's roles (an array of strings or a
    /// space-separated string). Default `roles`.
    pub roles_claim: String,
    /// The claim holding the token's scopes (a space-separated string or an
    /// array). Default `scope`.
    pub scopes_claim: String,
    /// Scopes every token must carry; a token without one gets 403
    /// `insufficient_scope`. Default none.
    pub required_scopes: BTreeSet<String>,
    /// `scopes_supported` in the metadata. Default: `required_scopes` and
    /// every scope the access rules name.
    pub scopes_supported: BTreeSet<String>,
}

/// Where a JWT issuer's public keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// A JWK Set file, read at load (and at every reload: it is watched).
    File {
        /// The file.
        path: PathBuf,
        /// Its keys.
        keys: jsonwebtoken::jwk::JwkSet,
    },
    /// A JWK Set fetched over HTTPS (plain HTTP only on loopback), cached
    /// and refreshed.
    Url {
        /// The URL.
        url: HttpUrl,
        /// Extra trust anchors (PEM) besides the Mozilla roots, for an issuer
        /// behind a private CA.
        ca_file: Option<PathBuf>,
        /// How long fetched keys are used before they are fetched again, in
        /// seconds. A token naming an unknown key fetches them sooner (at
        /// most every [`JWKS_MIN_REFETCH_SECS`]). Default
        /// [`DEFAULT_JWKS_REFRESH_SECS`], range [`JWKS_REFRESH_SECS_RANGE`].
        refresh_secs: u64,
        /// Deadline of one fetch, in milliseconds. Default
        /// [`DEFAULT_JWKS_TIMEOUT_MS`], range [`JWKS_TIMEOUT_MS_RANGE`].
        timeout_ms: u64,
    },
}

/// A signature algorithm Warden accepts on tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`kty: RSA`).
    Rs256,
    /// ECDSA on P-256 with SHA-256 (`kty: EC`, `crv: P-256`).
    Es256,
    /// Ed25519 (`kty: OKP`, `crv: Ed25519`).
    EdDsa,
    /// HMAC with SHA-256 (`kty: oct`).
    Hs256,
}

impl JwtAlgorithm {
    /// Every algorithm, as `alg` names it.
    pub const ALL: [(&'static str, Self); 4] = [
        ("RS256", Self::Rs256),
        ("ES256", Self::Es256),
        ("EdDSA", Self::EdDsa),
        ("HS256", Self::Hs256),
    ];

    /// The name a JWT header's `alg` uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }
}

/// An `http` or `https` URL with a host, as configuration states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The URL as written, normalised (lowercase scheme and host).
    pub text: String,
    /// `https`.
    pub https: bool,
    /// The host, without IPv6 brackets.
    pub host: String,
    /// The port, explicit or the scheme's default.
    pub port: u16,
    /// The path (with any query), `/` when absent.
    pub path: String,
    /// Whether the host is `localhost` or a loopback address.
    pub loopback: bool,
}

impl HttpUrl {
    /// Parses `scheme://host[:port][/path]`.
    pub fn parse(text: &str) -> Result<Self, String> {
        super::values::parse_http_url(text)
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        let after_scheme = self.text.find("://").map_or(0, |at| at + 3);
        let end = self.text[after_scheme..]
            .find('/')
            .map_or(self.text.len(), |at| after_scheme + at);
        &self.text[..end]
    }
}

/// Default of `auth.jwt.leeway_secs`.
pub const DEFAULT_JWT_LEEWAY_SECS: u64 = 60;
/// Range of `auth.jwt.leeway_secs`.
pub const JWT_LEEWAY_SECS_RANGE: RangeInclusive<u64> = 0..=600;
/// Default of `auth.jwt.jwks_refresh_secs`.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 300;
/// Range of `auth.jwt.jwks_refresh_secs`.
pub const JWKS_REFRESH_SECS_RANGE: RangeInclusive<u64> = 10..=86_400;
/// Default of `auth.jwt.jwks_timeout_ms`.
pub const DEFAULT_JWKS_TIMEOUT_MS: u64 = 5_000;
/// Range of `auth.jwt.jwks_timeout_ms`.
pub const JWKS_TIMEOUT_MS_RANGE: RangeInclusive<u64> = 100..=60_000;
/// The shortest time between two fetches of a JWK Set caused by tokens
/// naming a key it lacks, so forged key ids cannot make Warden hammer the
/// issuer.
pub const JWKS_MIN_REFETCH_SECS: u64 = 10;

/// One API key: who presents it, and only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The caller's name, in logs and in access rules.
    pub name: String,
    /// SHA-256 of the key.
    pub hash: ApiKeyHash,
    /// The caller's roles, for access rules.
    pub roles: BTreeSet<String>,
}

/// The SHA-256 digest of an API key. API keys are long random strings, so a
/// fast hash is enough to make a leaked config useless to an attacker, and
/// keeps checking a key cheap on every request.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(pub [u8; 32]);

impl ApiKeyHash {
    /// Shortest API key `warden hash-key` accepts, in characters.
    pub const MIN_KEY_CHARS: usize = 32;

    /// The hash of `key`.
    pub fn of(key: &str) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(key.as_bytes()).into())
    }

    /// Reads `sha256:<64 hex digits>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        super::values::parse_key_hash(text).map(Self)
    }
}

impl std::fmt::Display for ApiKeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The `[tracing]` table: where spans go besides the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracingConfig {
    /// Span export over OTLP, when `otlp_endpoint` is set. Default: none.
    pub otlp: Option<OtlpConfig>,
}

/// OpenTelemetry span export over OTLP/HTTP (protobuf).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpConfig {
    /// The collector's traces URL, `http://host:port/path`; a bare
    /// `http://host:port` gets the standard `/v1/traces` path.
    pub endpoint: String,
    /// The `service.name` resource attribute. Default
    /// [`DEFAULT_SERVICE_NAME`].
    pub service_name: String,
    /// The share of new traces exported. A request whose `traceparent`
    /// carries the caller's sampling decision follows that decision instead.
    /// Default [`DEFAULT_SAMPLE_RATIO`] (all).
    pub sample_ratio: SampleRatio,
    /// Deadline of one export request, in milliseconds. Default
    /// [`DEFAULT_OTLP_TIMEOUT_MS`], range [`OTLP_TIMEOUT_MS_RANGE`].
    pub timeout_ms: u64,
}

/// A sampling probability in parts per million, so the configuration stays
/// comparable with `==` (a reload compares old and new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleRatio(u32);

impl SampleRatio {
    /// No new trace (only those the caller sampled).
    pub const NONE: Self = Self(0);
    /// Every trace.
    pub const ALL: Self = Self(1_000_000);

    /// `ratio` (0.0 ..= 1.0), to the nearest part per million; `None`
    /// outside that range or for NaN.
    pub fn new(ratio: f64) -> Option<Self> {
        // The cast cannot truncate: the value is within 0 ..= 1e6.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (0.0..=1.0)
            .contains(&ratio)
            .then(|| Self((ratio * 1_000_000.0).round() as u32))
    }

    /// The probability as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 1_000_000.0
    }
}

/// Access to a preopened directory (`mode = "ro" | "rw"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirMode {
    /// `"ro"`, read-only (the default): read files and list directories.
    #[default]
    Ro,
    /// `"rw"`, read-write: also create, write, rename and remove.
    Rw,
}

impl From<DirMode> for warden_sandbox::DirMode {
    fn from(mode: DirMode) -> Self {
        match mode {
            DirMode::Ro => Self::ReadOnly,
            DirMode::Rw => Self::ReadWrite,
        }
    }
}
