//! The leaves of the file's shape: tables that refuse arrays, and the
//! strings that are parsed and checked where serde reads them (addresses,
//! origins, targets, keys, quotas, names), so that an error carries the
//! span of the offending value.

use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::RangeInclusive;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::model::{self, ComponentName};
use super::values;

// ---- Tables ---------------------------------------------------------------------

/// A TOML table deserialized as `T`, and nothing else: serde's derived
/// structs would also accept an array of values in field order (so
/// `limits = [5000]` would set `timeout_ms`), which a configuration file
/// should refuse.
#[derive(Debug, Default)]
pub(super) struct Table<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TableVisitor(PhantomData))
    }
}

struct TableVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for TableVisitor<T> {
    type Value = Table<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Table)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::invalid_type(
            de::Unexpected::Other("array"),
            &self,
        ))
    }
}

// ---- Validated strings --------------------------------------------------------

/// A visitor for a string checked (and normalised) by `parse`. Errors raised
/// inside the visitor get the span of the string itself.
pub(super) struct ParsedStr<T> {
    pub(super) expecting: &'static str,
    pub(super) parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for ParsedStr<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

/// Implements `Deserialize` for a newtype over a checked string.
macro_rules! parsed_str {
    ($ty:ty, $expecting:literal, $parse:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(ParsedStr {
                    expecting: $expecting,
                    parse: $parse,
                })
            }
        }
    };
}

/// `server.listen`.
#[derive(Debug)]
pub(super) struct Listen(pub SocketAddr);
parsed_str!(
    Listen,
    "an IP:port string such as \"127.0.0.1:8080\"",
    |s| { values::parse_listen(s).map(Listen) }
);

/// One entry of `server.allowed_origins`, normalised.
#[derive(Debug)]
pub(super) struct AllowedOrigin(pub String);
parsed_str!(
    AllowedOrigin,
    "an origin string such as \"https://app.example.com\"",
    |s| values::Origin::parse(s).map(|o| AllowedOrigin(o.to_string()))
);

/// One entry of `capabilities.tcp_connect`, normalised.
#[derive(Debug)]
pub(super) struct TcpTarget(pub String);
parsed_str!(
    TcpTarget,
    "a host:port string such as \"db.internal:5432\"",
    |s| values::parse_tcp_target(s).map(TcpTarget)
);

/// `server.session_key` and each of `server.session_old_keys`.
pub(super) struct SessionKeyText(pub model::SessionKey);
parsed_str!(
    SessionKeyText,
    "a base64 session key string (`warden new-session-key` makes one)",
    |s| model::SessionKey::parse(s).map(SessionKeyText)
);

impl fmt::Debug for SessionKeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One entry of `http.allowed_hosts`, lowercase.
#[derive(Debug)]
pub(super) struct AllowedHost(pub String);
parsed_str!(
    AllowedHost,
    "a host name string such as \"mcp.example.com\"",
    |s| values::parse_allowed_host(s).map(AllowedHost)
);

/// A caller name or a role.
#[derive(Debug)]
pub(super) struct Identity(pub String);
parsed_str!(Identity, "a name string such as \"ci-bot\"", |s| {
    values::check_identity(s).map(|()| Identity(s.to_owned()))
});

/// An OAuth scope token (RFC 6749 §3.3).
#[derive(Debug)]
pub(super) struct Scope(pub String);
parsed_str!(Scope, "a scope string such as \"tools:read\"", |s| {
    values::check_scope(s).map(|()| Scope(s.to_owned()))
});

/// A claim's name or an expected claim value (`iss`, `aud`).
#[derive(Debug)]
pub(super) struct ClaimText(pub String);
parsed_str!(ClaimText, "a non-empty string", |s| {
    values::check_claim_text(s).map(|()| ClaimText(s.to_owned()))
});

/// A URL Warden fetches or publishes.
#[derive(Debug)]
pub(super) struct UrlText(pub model::HttpUrl);
parsed_str!(
    UrlText,
    "a URL string such as \"https://auth.example.com\"",
    |s| model::HttpUrl::parse(s).map(UrlText)
);

/// One of `auth.jwt.algorithms`.
#[derive(Debug)]
pub(super) struct AlgorithmText(pub model::JwtAlgorithm);
parsed_str!(AlgorithmText, "an algorithm name such as \"RS256\"", |s| {
    model::JwtAlgorithm::ALL
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, algorithm)| AlgorithmText(*algorithm))
        .ok_or_else(|| {
            let names: Vec<&str> = model::JwtAlgorithm::ALL.iter().map(|(n, _)| *n).collect();
            format!(
                "unsupported algorithm `{s}`: use one of {}",
                names.join(", ")
            )
        })
});

/// An API key's hash.
#[derive(Debug)]
pub(super) struct KeyHash(pub model::ApiKeyHash);
parsed_str!(
    KeyHash,
    "a hash string such as \"sha256:<64 hex digits>\"",
    |s| model::ApiKeyHash::parse(s).map(KeyHash)
);

/// A request rate such as `100/s burst 20`.
#[derive(Debug)]
pub(super) struct RateQuotaText(pub model::RateQuota);
parsed_str!(
    RateQuotaText,
    "a rate string such as \"100/s burst 20\"",
    |s| model::RateQuota::parse(s).map(RateQuotaText)
);

/// A fuel budget such as `50000000000/min`.
#[derive(Debug)]
pub(super) struct FuelQuotaText(pub model::FuelQuota);
parsed_str!(
    FuelQuotaText,
    "a fuel budget string such as \"50000000000/min\"",
    |s| model::FuelQuota::parse(s).map(FuelQuotaText)
);

/// `components.<name>.tool_prefix`.
#[derive(Debug)]
pub(super) struct ToolPrefix(pub String);
parsed_str!(ToolPrefix, "a tool name prefix string", |s| {
    values::check_tool_prefix(s).map(|()| ToolPrefix(s.to_owned()))
});

/// `tracing.otlp_endpoint`, normalised.
#[derive(Debug)]
pub(super) struct OtlpEndpoint(pub String);
parsed_str!(
    OtlpEndpoint,
    "a URL string such as \"http://127.0.0.1:4318/v1/traces\"",
    |s| values::parse_otlp_endpoint(s).map(OtlpEndpoint)
);

/// `tracing.service_name`.
#[derive(Debug)]
pub(super) struct ServiceName(pub String);
parsed_str!(ServiceName, "a service name string", |s| {
    values::check_service_name(s).map(|()| ServiceName(s.to_owned()))
});

/// `dirs[].guest`, normalised.
#[derive(Debug)]
pub(super) struct GuestPath(pub String);
parsed_str!(GuestPath, "an absolute guest path such as \"/data\"", |s| {
    values::parse_guest_path(s).map(GuestPath)
});

/// A key of `capabilities.env`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct EnvName(pub String);
parsed_str!(EnvName, "an environment variable name", |s| {
    values::check_env_name(s).map(|()| EnvName(s.to_owned()))
});

/// A value of `capabilities.env`.
#[derive(Debug)]
pub(super) struct EnvValue(pub String);
parsed_str!(EnvValue, "a string", |s| {
    values::check_env_value(s).map(|()| EnvValue(s.to_owned()))
});

/// A file or directory path as written, relative to the config file's folder
/// unless absolute; never empty.
#[derive(Debug)]
pub(super) struct NonEmptyPath(pub String);
parsed_str!(NonEmptyPath, "a path string", |s| {
    if s.is_empty() {
        Err("the path is empty".to_owned())
    } else {
        Ok(NonEmptyPath(s.to_owned()))
    }
});

impl<'de> Deserialize<'de> for ComponentName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParsedStr {
            expecting: "a component name",
            parse: |s| ComponentName::new(s),
        })
    }
}

// ---- Range-checked integers -----------------------------------------------------

/// What an integer counts, for messages.
#[derive(Clone, Copy)]
pub(super) enum Unit {
    /// Shown as bytes with a KiB/MiB/GiB hint.
    Bytes,
    /// A plural noun: "milliseconds", "levels", …
    Of(&'static str),
}

/// Accepts a TOML integer within `min..=max` (inclusive). The range check runs
/// inside the visitor so the error's span is the value's.
struct RangeVisitor<T> {
    min: u64,
    max: u64,
    unit: Unit,
    target: PhantomData<T>,
}

impl<T> RangeVisitor<T> {
    fn describe(&self) -> String {
        let open_ended = self.max == u64::MAX;
        match (self.unit, open_ended) {
            (Unit::Bytes, true) => format!("{} or more bytes", with_binary(self.min)),
            (Unit::Bytes, false) => format!(
                "between {} and {} bytes",
                with_binary(self.min),
                with_binary(self.max)
            ),
            (Unit::Of(noun), true) => format!("{} or more {noun}", self.min),
            (Unit::Of(noun), false) => {
                format!("between {} and {} {noun}", self.min, self.max)
            }
        }
    }
}

/// `1048576 (1 MiB)`; plain digits when not a whole number of KiB.
fn with_binary(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, name) in UNITS {
        if n >= size && n.is_multiple_of(size) {
            return format!("{n} ({} {name})", n / size);
        }
    }
    n.to_string()
}

impl<T: TryFrom<u64>> Visitor<'_> for RangeVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer {}", self.describe())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format!("must be {}, got {v}", self.describe()))),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        Err(E::custom(format!("must be {}, got {v}", self.describe())))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        Err(E::custom(format!("must be {}, got {v}", self.describe())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        if !(self.min..=self.max).contains(&v) {
            return Err(E::custom(format!("must be {}, got {v}", self.describe())));
        }
        T::try_from(v).map_err(|_| E::custom(format!("must be {}, got {v}", self.describe())))
    }
}

pub(super) fn ranged<'de, D, T>(d: D, range: RangeInclusive<T>, unit: Unit) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Copy + TryInto<u64> + TryFrom<u64>,
{
    d.deserialize_u64(RangeVisitor {
        min: (*range.start()).try_into().unwrap_or(u64::MAX),
        max: (*range.end()).try_into().unwrap_or(u64::MAX),
        unit,
        target: PhantomData,
    })
}

/// A `deserialize_with` function for one range-checked field.
macro_rules! ranged_field {
    ($name:ident: $ty:ty = $range:expr, $unit:expr) => {
        pub(super) fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            ranged(d, $range, $unit)
        }
    };
}

ranged_field!(max_body_bytes: usize = model::MAX_BODY_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_json_depth: usize = model::MAX_JSON_DEPTH_RANGE, Unit::Of("levels"));
ranged_field!(page_size: usize = model::PAGE_SIZE_RANGE, Unit::Of("tools"));
ranged_field!(
    session_idle_timeout_secs: u64 = model::SESSION_IDLE_TIMEOUT_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    session_lifetime_secs: u64 = model::SESSION_LIFETIME_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    drain_timeout_secs: u64 = model::DRAIN_TIMEOUT_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    watch_interval_ms: u64 = model::WATCH_INTERVAL_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(max_sessions: usize = model::MAX_SESSIONS_RANGE, Unit::Of("sessions"));
ranged_field!(
    stream_replay_events: usize = model::STREAM_REPLAY_EVENTS_RANGE,
    Unit::Of("events")
);
ranged_field!(
    stream_replay_bytes: usize = model::STREAM_REPLAY_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(
    stream_replay_total_bytes: usize = model::STREAM_REPLAY_TOTAL_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(pool_instances: u32 = model::POOL_INSTANCES_RANGE, Unit::Of("instances"));
ranged_field!(
    pool_keep_resident_bytes: u64 = model::POOL_KEEP_RESIDENT_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(
    max_calls_in_flight: u32 = model::MAX_CALLS_IN_FLIGHT_RANGE,
    Unit::Of("calls")
);
ranged_field!(
    header_read_timeout_ms: u64 = model::HEADER_READ_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    body_read_timeout_ms: u64 = model::BODY_READ_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    request_timeout_ms: u64 = model::REQUEST_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(max_connections: u32 = model::MAX_CONNECTIONS_RANGE, Unit::Of("connections"));
ranged_field!(
    max_requests_per_connection: u32 = model::MAX_REQUESTS_PER_CONNECTION_RANGE,
    Unit::Of("requests")
);
ranged_field!(
    max_concurrent_streams: u32 = model::MAX_CONCURRENT_STREAMS_RANGE,
    Unit::Of("streams")
);
ranged_field!(
    max_unsent_bytes_per_connection: usize = model::MAX_UNSENT_BYTES_PER_CONNECTION_RANGE,
    Unit::Bytes
);
ranged_field!(max_unsent_bytes: usize = model::MAX_UNSENT_BYTES_RANGE, Unit::Bytes);
ranged_field!(
    send_timeout_ms: u64 = model::SEND_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(max_header_bytes: usize = model::MAX_HEADER_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_headers: usize = model::MAX_HEADERS_RANGE, Unit::Of("headers"));
ranged_field!(
    audit_max_file_bytes: u64 = model::AUDIT_MAX_FILE_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(audit_max_files: u32 = model::AUDIT_MAX_FILES_RANGE, Unit::Of("files"));
ranged_field!(
    audit_queue_records: u32 = model::AUDIT_QUEUE_RECORDS_RANGE,
    Unit::Of("records")
);
ranged_field!(call_queue: u32 = model::CALL_QUEUE_RANGE, Unit::Of("calls"));
ranged_field!(
    http_max_requests_per_call: u32 = model::HTTP_MAX_REQUESTS_PER_CALL_RANGE,
    Unit::Of("requests")
);
ranged_field!(
    http_max_request_bytes: u64 = model::HTTP_BODY_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(
    http_max_response_bytes: u64 = model::HTTP_BODY_BYTES_RANGE,
    Unit::Bytes
);
ranged_field!(
    http_connect_timeout_ms: u64 = model::HTTP_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    http_first_byte_timeout_ms: u64 = model::HTTP_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    http_max_concurrent_requests: u32 = model::HTTP_MAX_CONCURRENT_REQUESTS_RANGE,
    Unit::Of("requests")
);
ranged_field!(
    call_queue_timeout_ms: u64 = model::CALL_QUEUE_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    jwks_refresh_secs: u64 = model::JWKS_REFRESH_SECS_RANGE,
    Unit::Of("seconds")
);
ranged_field!(
    jwks_timeout_ms: u64 = model::JWKS_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(jwt_leeway_secs: u64 = model::JWT_LEEWAY_SECS_RANGE, Unit::Of("seconds"));
ranged_field!(otlp_timeout_ms: u64 = model::OTLP_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(timeout_ms: u64 = model::TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(max_memory_bytes: u64 = model::MAX_MEMORY_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_output_bytes: u64 = model::MAX_OUTPUT_BYTES_RANGE, Unit::Bytes);
ranged_field!(max_log_messages: u32 = model::MAX_LOG_MESSAGES_RANGE, Unit::Of("messages"));
ranged_field!(max_concurrency: u32 = model::MAX_CONCURRENCY_RANGE, Unit::Of("calls"));
ranged_field!(queue_timeout_ms: u64 = model::QUEUE_TIMEOUT_MS_RANGE, Unit::Of("milliseconds"));
ranged_field!(
    client_request_timeout_ms: u64 = model::CLIENT_REQUEST_TIMEOUT_MS_RANGE,
    Unit::Of("milliseconds")
);
ranged_field!(
    max_client_requests: u32 = model::MAX_CLIENT_REQUESTS_RANGE,
    Unit::Of("requests")
);
ranged_field!(min_pool_slots: u32 = model::MIN_POOL_SLOTS_RANGE, Unit::Of("slots"));

/// `limits.fuel`: optional, so present means `Some`.
pub(super) fn fuel<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    ranged(d, model::FUEL_RANGE, Unit::Of("units of fuel")).map(Some)
}

/// `tracing.sample_ratio`: a number from 0 to 1 (TOML integers 0 and 1
/// included).
pub(super) fn sample_ratio<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<model::SampleRatio, D::Error> {
    struct RatioVisitor;

    impl Visitor<'_> for RatioVisitor {
        type Value = model::SampleRatio;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number between 0.0 and 1.0")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            model::SampleRatio::new(v)
                .ok_or_else(|| E::custom(format!("must be between 0.0 and 1.0, got {v}")))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(model::SampleRatio::NONE),
                1 => Ok(model::SampleRatio::ALL),
                _ => Err(E::custom(format!("must be between 0.0 and 1.0, got {v}"))),
            }
        }
    }

    d.deserialize_any(RatioVisitor)
}
