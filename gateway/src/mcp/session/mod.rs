//! Sessions of the handshake revisions: issued on `initialize`, opened on
//! every later request, ended by `DELETE` or by their lifetime.
//!
//! A session id is a sealed token ([`token`]) carrying everything a replica
//! needs to serve the session, so any process holding the key accepts it.
//! Each process also keeps local state for the sessions it serves (the event
//! stream, the last request's time) and a list of the sessions a `DELETE`
//! ended here, kept until their ids expire.

pub mod pending;
pub mod token;

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use warden_sandbox::LogLevel;

use super::error::McpError;
use super::revision::Revision;
use super::watch::{CatalogChange, Wants, WatchGuard};
use crate::auth::Caller;
use crate::config::SessionKey;
use pending::PendingRequests;
use token::{OpenError, SESSION_ID_BYTES, SealError, SessionClaims, SessionSealer};

/// What the server knows about one session.
#[derive(Debug)]
pub struct Session {
    /// The negotiated revision.
    pub revision: Revision,
    /// The client's declared capabilities; shared, so each call's requests
    /// to the client read them without a copy.
    pub client_capabilities: Arc<Value>,
    /// The authenticated caller the session belongs to, if any.
    pub owner: Option<String>,
    /// A short name for the session in logs, the same on every replica. The
    /// id itself is a bearer secret and is never logged.
    pub log_tag: String,
    /// Cancelled when the session ends here (DELETE, expiry) or this
    /// process forgets it: its transport's streams close.
    ended: CancellationToken,
    /// What the transport serving the session keeps for it in this process
    /// (HTTP: its event streams and their replay log), made on first use
    /// and gone with the session's local state.
    transport_state: TransportState,
    /// The lowest level of tool log messages sent to the client, as
    /// `logging/setLevel` set it in this process; `None` sends none.
    log_level: Mutex<Option<LogLevel>>,
    /// The calls running in this process, by request id (its JSON text), so
    /// that `notifications/cancelled` can stop them.
    calls: Mutex<HashMap<String, CancellationToken>>,
    /// Requests sent to the client from this process that wait for answers.
    pub pending: Arc<PendingRequests>,
    /// The resources the client subscribed to in this process, each with
    /// who subscribed (updates go only while it may read them).
    subscriptions: Mutex<HashMap<String, (WatchGuard, Arc<Caller>)>>,
}

/// Most resources one session may subscribe to.
pub const MAX_SUBSCRIPTIONS_PER_SESSION: usize = 256;

/// The slot of [`Session::transport_state`].
#[derive(Default)]
struct TransportState(OnceLock<Arc<dyn Any + Send + Sync>>);

impl std::fmt::Debug for TransportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "TransportState(kept)"
        } else {
            "TransportState(none)"
        })
    }
}

/// A running call's place in its session's list; leaves it when dropped.
#[derive(Debug)]
pub struct RunningCall<'a> {
    session: &'a Session,
    /// `None` for a call whose id was already running: it cannot be
    /// cancelled by id.
    key: Option<String>,
    cancelled: CancellationToken,
}

impl RunningCall<'_> {
    /// Cancelled when the client cancels the request.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancelled.clone()
    }
}

impl Drop for RunningCall<'_> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.session.running_calls().remove(key);
        }
    }
}

/// A [`RunningCall`] holding its session.
#[derive(Debug)]
pub struct OwnedCall {
    session: Arc<Session>,
    key: Option<String>,
    cancelled: CancellationToken,
}

impl OwnedCall {
    /// Cancelled when the client cancels the request.
    pub fn cancelled(&self) -> CancellationToken {
        self.cancelled.clone()
    }
}

impl Drop for OwnedCall {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            self.session.running_calls().remove(key);
        }
    }
}

impl Session {
    /// The state of one 2026-07-28 request, which has no session: what its
    /// `_meta` declares, for the length of the request. Nothing of it is
    /// kept; its streams cannot be resumed.
    pub fn for_one_request(
        revision: Revision,
        client_capabilities: Value,
        owner: Option<String>,
        log_level: Option<LogLevel>,
    ) -> Self {
        Self {
            revision,
            client_capabilities: Arc::new(client_capabilities),
            owner,
            log_tag: format!("{:08x}", random_tag()),
            ended: CancellationToken::new(),
            transport_state: TransportState::default(),
            log_level: Mutex::new(log_level),
            calls: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            pending: Arc::default(),
        }
    }

    /// The lowest level of tool log messages the client wants; `None` when
    /// it wants none.
    pub fn log_level(&self) -> Option<LogLevel> {
        *self
            .log_level
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lists a call under its request id until the returned guard drops.
    /// A request id already running keeps its first entry: the client reused
    /// an id, and only the first call can be cancelled by it.
    pub fn start_call(&self, request_id: &Value) -> RunningCall<'_> {
        let (key, cancelled) = self.list_call(request_id);
        RunningCall {
            session: self,
            key,
            cancelled,
        }
    }

    /// Lists `request_id` as running, unless it already is; its key in the
    /// list (`None`: not listed) and its cancellation.
    fn list_call(&self, request_id: &Value) -> (Option<String>, CancellationToken) {
        let key = request_id.to_string();
        let cancelled = CancellationToken::new();
        let mut calls = self.running_calls();
        let key = (!calls.contains_key(&key)).then(|| {
            calls.insert(key.clone(), cancelled.clone());
            key
        });
        (key, cancelled)
    }

    /// [`start_call`](Self::start_call) for a request that outlives any
    /// borrow of its session (a subscription the transport keeps).
    pub fn start_owned_call(self: &Arc<Self>, request_id: &Value) -> OwnedCall {
        let (key, cancelled) = self.list_call(request_id);
        OwnedCall {
            session: Arc::clone(self),
            key,
            cancelled,
        }
    }

    /// Subscribes the session to `uri`, held by `guard`, for `caller`.
    pub fn subscribe(
        &self,
        uri: String,
        guard: WatchGuard,
        caller: Arc<Caller>,
    ) -> Result<(), McpError> {
        let mut subscriptions = self.lock_subscriptions();
        if !subscriptions.contains_key(&uri) && subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_SESSION
        {
            return Err(McpError::invalid_params(format!(
                "a session may subscribe to at most {MAX_SUBSCRIPTIONS_PER_SESSION} resources; \
                 unsubscribe from one first"
            )));
        }
        subscriptions.insert(uri, (guard, caller));
        Ok(())
    }

    /// Ends the subscription to `uri`, if there is one.
    pub fn unsubscribe(&self, uri: &str) {
        self.lock_subscriptions().remove(uri);
    }

    /// The notification messages `change` means for this session: every
    /// list change, and updates of the resources it subscribed to that its
    /// subscriber may still read.
    pub fn change_messages(&self, change: &CatalogChange) -> Vec<Value> {
        change
            .notifications(Wants::ALL, |uri| {
                self.subscriber(uri)
                    .is_some_and(|caller| change.allows(uri, &caller))
            })
            .into_iter()
            .map(|(method, params)| {
                // A list change has no params; MCP's own examples leave them out.
                if params.as_object().is_some_and(serde_json::Map::is_empty) {
                    json!({ "jsonrpc": "2.0", "method": method })
                } else {
                    json!({ "jsonrpc": "2.0", "method": method, "params": params })
                }
            })
            .collect()
    }

    /// Who subscribed to `uri` in this session, if anyone.
    pub fn subscriber(&self, uri: &str) -> Option<Arc<Caller>> {
        self.lock_subscriptions()
            .get(uri)
            .map(|(_, caller)| Arc::clone(caller))
    }

    fn lock_subscriptions(&self) -> MutexGuard<'_, HashMap<String, (WatchGuard, Arc<Caller>)>> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Cancels the call running under `request_id`; false when none is.
    pub fn cancel_call(&self, request_id: &Value) -> bool {
        match self.running_calls().get(&request_id.to_string()) {
            Some(cancelled) => {
                cancelled.cancel();
                true
            }
            None => false,
        }
    }

    fn running_calls(&self) -> MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Cancelled when the session ends here (DELETE, expiry) or this
    /// process forgets it.
    pub fn ended(&self) -> CancellationToken {
        self.ended.clone()
    }

    /// The state of type `T` the transport keeps for this session in this
    /// process, made by `make` on first use.
    pub fn transport_state<T: Any + Send + Sync>(&self, make: impl Fn() -> T) -> Arc<T> {
        let kept = self.transport_state.0.get_or_init(|| Arc::new(make()));
        // One transport serves a session in a process; a state of another
        // type could only be a second transport's, and this one gets its own.
        Arc::clone(kept)
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(make()))
    }

    /// Sets it (`logging/setLevel`).
    pub fn set_log_level(&self, level: LogLevel) {
        *self
            .log_level
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(level);
    }
}

/// Why a session could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The live-session cap is reached.
    #[error("too many live sessions (limit {0}); retry later")]
    TooMany(usize),
    /// The client's capabilities and info do not fit in a session id.
    #[error(transparent)]
    TooLarge(SealError),
    /// The OS random source failed.
    #[error("cannot generate a session id: {0}")]
    Random(String),
}

/// Why a request's session id was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The id was not sealed here, is altered, or is unreadable.
    #[error("session id {0}")]
    Unopenable(OpenError),
    /// The id's lifetime is over.
    #[error("session expired")]
    Expired,
    /// A `DELETE` ended the session in this process.
    #[error("session ended")]
    Ended,
    /// The session is new to this process, which keeps as many as it may.
    #[error("too many live sessions (limit {0}); retry later")]
    TooMany(usize),
}

/// A session this process keeps local state for.
struct Local {
    /// Shared with the requests that use it: no copy per request.
    session: Arc<Session>,
    id: [u8; SESSION_ID_BYTES],
    expires_at: u64,
    last_seen: Instant,
}

#[derive(Default)]
struct LocalState {
    /// Keyed by the token, so a known session costs a lookup, not an opening.
    live: HashMap<String, Local>,
    /// Sessions a `DELETE` ended here, with their expiry.
    ended: HashMap<[u8; SESSION_ID_BYTES], u64>,
}

/// The sessions of this process: seals new ones, opens and tracks the ones
/// requests name.
pub struct SessionStore {
    sealer: Arc<SessionSealer>,
    state: Mutex<LocalState>,
    idle_timeout: Duration,
    lifetime: Duration,
    max_sessions: usize,
}

/// Bytes of the session id shown in logs.
const LOG_TAG_BYTES: usize = 4;

/// Settings of a [`SessionStore`].
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Seals new ids, opens them too.
    pub key: SessionKey,
    /// Opens ids only (a rotation in progress).
    pub former_keys: Vec<SessionKey>,
    /// How long a session id is valid after `initialize`.
    pub lifetime: Duration,
    /// How long without a request before this process forgets a session's
    /// local state.
    pub idle_timeout: Duration,
    /// Most sessions with local state at once.
    pub max_sessions: usize,
}

impl SessionStore {
    /// An empty store.
    pub fn new(settings: &SessionSettings) -> Self {
        Self {
            sealer: Arc::new(SessionSealer::new(&settings.key, &settings.former_keys)),
            state: Mutex::default(),
            idle_timeout: settings.idle_timeout,
            lifetime: settings.lifetime,
            max_sessions: settings.max_sessions,
        }
    }

    /// Seals and opens this process's tokens (session ids, request states).
    pub fn sealer(&self) -> &Arc<SessionSealer> {
        &self.sealer
    }

    fn lock(&self) -> MutexGuard<'_, LocalState> {
        // Every update leaves the maps consistent, so a poisoned lock is safe to reuse.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a session from `claims` (with a new random id and this
    /// store's lifetime) and returns its id, a sealed token in base64url
    /// (visible ASCII, as the transport requires), and the session. The
    /// id carries everything the session is; local state starts with the
    /// first request that needs it ([`touch`](Self::touch)), so a session
    /// that stays idle costs this process nothing. Refused while this
    /// process is full, since it could not serve the session.
    pub fn create(
        &self,
        mut claims: SessionClaims,
    ) -> Result<(String, Arc<Session>), SessionError> {
        getrandom::fill(&mut claims.id).map_err(|error| SessionError::Random(error.to_string()))?;
        claims.expires_at = unix_now().saturating_add(self.lifetime.as_secs());
        let token = self.sealer.seal(&claims).map_err(|error| match error {
            SealError::Random(message) => SessionError::Random(message),
            too_large @ SealError::TooLarge(_) => SessionError::TooLarge(too_large),
        })?;
        if !self.has_room(&mut self.lock(), Instant::now()) {
            return Err(SessionError::TooMany(self.max_sessions));
        }
        Ok((token, Arc::new(self.fresh_session(claims))))
    }

    /// The session `token` names, touched as used now, with its local state
    /// in this process (started if it has none yet).
    pub fn touch(&self, token: &str) -> Result<Arc<Session>, LookupError> {
        let now = Instant::now();
        if let Some(session) = self.touch_local(token, now)? {
            return Ok(session);
        }
        // New to this process: open it outside the lock.
        let claims = self.open(token)?;
        self.register(token.to_owned(), claims, now)
    }

    /// The session `token` names for a request that needs no local state
    /// (a `ping`, a listing, a notification): its local session if this
    /// process has one, else one opened from the id for this request only,
    /// which leaves nothing behind.
    pub fn view(&self, token: &str) -> Result<Arc<Session>, LookupError> {
        if let Some(session) = self.touch_local(token, Instant::now())? {
            return Ok(session);
        }
        let claims = self.open(token)?;
        if self.lock().ended.contains_key(&claims.id) {
            return Err(LookupError::Ended);
        }
        Ok(Arc::new(self.fresh_session(claims)))
    }

    /// The local session `token` names, touched as used at `now`; `None`
    /// if this process has none.
    fn touch_local(&self, token: &str, now: Instant) -> Result<Option<Arc<Session>>, LookupError> {
        let mut state = self.lock();
        let Some(local) = state.live.get_mut(token) else {
            return Ok(None);
        };
        if local.expires_at <= unix_now() {
            if let Some(expired) = state.live.remove(token) {
                expired.session.ended.cancel();
            }
            return Err(LookupError::Expired);
        }
        local.last_seen = now;
        Ok(Some(Arc::clone(&local.session)))
    }

    /// Ends the session `token` names in this process and returns its log
    /// tag; `None` if it was not a live session.
    pub fn end(&self, token: &str) -> Option<String> {
        let known = self.lock().live.remove(token);
        let (id, expires_at) = match known {
            Some(local) => {
                local.session.ended.cancel();
                (local.id, local.expires_at)
            }
            None => {
                let claims = self.open(token).ok()?;
                (claims.id, claims.expires_at)
            }
        };
        let mut state = self.lock();
        if state.ended.contains_key(&id) {
            return None;
        }
        self.remember_ended(&mut state, id, expires_at);
        Some(log_tag(&id))
    }

    /// The id bytes and expiry of the session `token` names, to tell other
    /// replicas it ended; `None` if it is not a live session.
    pub fn revocation_of(&self, token: &str) -> Option<([u8; SESSION_ID_BYTES], u64)> {
        let claims = self.open(token).ok()?;
        if self.lock().ended.contains_key(&claims.id) {
            return None;
        }
        Some((claims.id, claims.expires_at))
    }

    /// Ends the session whose id bytes are `id` (another replica's
    /// `DELETE`); returns its log tag if it was live here.
    pub fn end_revoked(&self, id: [u8; SESSION_ID_BYTES], expires_at: u64) -> Option<String> {
        let mut state = self.lock();
        if state.ended.contains_key(&id) {
            return None;
        }
        let mut live_here = false;
        state.live.retain(|_, local| {
            let revoked = local.id == id;
            if revoked {
                local.session.ended.cancel();
                live_here = true;
            }
            !revoked
        });
        self.remember_ended(&mut state, id, expires_at);
        live_here.then(|| log_tag(&id))
    }

    /// Keeps `id` as ended until it expires, within the cap.
    fn remember_ended(&self, state: &mut LocalState, id: [u8; SESSION_ID_BYTES], expires_at: u64) {
        if state.ended.len() >= self.max_sessions {
            let now = unix_now();
            state.ended.retain(|_, expires_at| *expires_at > now);
        }
        if state.ended.len() >= self.max_sessions {
            // Still full: forget the one that expires soonest. Worst case it
            // is accepted again here, as on a replica that never saw the DELETE.
            let soonest = state
                .ended
                .iter()
                .min_by_key(|(_, expires_at)| **expires_at)
                .map(|(id, _)| *id);
            if let Some(soonest) = soonest {
                state.ended.remove(&soonest);
            }
        }
        state.ended.insert(id, expires_at);
    }

    /// Forgets sessions idle past the timeout or expired, and ended ones
    /// whose ids have expired; returns how many sessions remain.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let unix = unix_now();
        let mut state = self.lock();
        state.live.retain(|_, local| self.keep(local, now, unix));
        state.ended.retain(|_, expires_at| *expires_at > unix);
        state.live.len()
    }

    /// Sessions with local state in this process now.
    pub fn len(&self) -> usize {
        self.lock().live.len()
    }

    /// Whether this process has no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unexpired claims `token` carries.
    fn open(&self, token: &str) -> Result<SessionClaims, LookupError> {
        let claims = self.sealer.open(token).map_err(LookupError::Unopenable)?;
        if claims.expires_at <= unix_now() {
            return Err(LookupError::Expired);
        }
        Ok(claims)
    }

    /// Starts local state for a session, unless a `DELETE` ended it here or
    /// the cap is reached even after forgetting idle sessions.
    fn register(
        &self,
        token: String,
        claims: SessionClaims,
        now: Instant,
    ) -> Result<Arc<Session>, LookupError> {
        let mut state = self.lock();
        if state.ended.contains_key(&claims.id) {
            return Err(LookupError::Ended);
        }
        if !self.has_room(&mut state, now) {
            return Err(LookupError::TooMany(self.max_sessions));
        }
        let (id, expires_at) = (claims.id, claims.expires_at);
        let session = self.fresh_session(claims);
        let local = state.live.entry(token).or_insert(Local {
            session: Arc::new(session),
            id,
            expires_at,
            last_seen: now,
        });
        Ok(Arc::clone(&local.session))
    }

    /// Whether one more session can have local state, after forgetting
    /// idle ones if the cap is reached.
    fn has_room(&self, state: &mut LocalState, now: Instant) -> bool {
        if state.live.len() >= self.max_sessions {
            let unix = unix_now();
            state.live.retain(|_, local| self.keep(local, now, unix));
        }
        state.live.len() < self.max_sessions
    }

    /// A session as `claims` describe it, with fresh local parts.
    fn fresh_session(&self, claims: SessionClaims) -> Session {
        Session {
            revision: claims.revision,
            log_tag: log_tag(&claims.id),
            client_capabilities: Arc::new(claims.client_capabilities),
            owner: claims.owner,
            ended: CancellationToken::new(),
            transport_state: TransportState::default(),
            log_level: Mutex::new(Some(super::notify::DEFAULT_LOG_LEVEL)),
            calls: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            pending: Arc::default(),
        }
    }

    /// Whether `local` keeps its state at `now`; one forgotten has its event
    /// stream ended.
    fn keep(&self, local: &Local, now: Instant, unix: u64) -> bool {
        let keep =
            now.duration_since(local.last_seen) < self.idle_timeout && local.expires_at > unix;
        if !keep {
            local.session.ended.cancel();
        }
        keep
    }
}

/// A random tag (a 2026-07-28 request's name in logs, a stream's in its
/// event ids). A failing random source gives the clock's nanoseconds: tags
/// need to differ, not to be secret.
pub fn random_tag() -> u32 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
    }
    u32::from_le_bytes(bytes)
}

/// The start of a session's id, in hex: names it in logs alike on every
/// replica.
fn log_tag(id: &[u8; SESSION_ID_BYTES]) -> String {
    hex::encode(&id[..LOG_TAG_BYTES])
}

/// Seconds since the Unix epoch: session ids carry wall-clock expiry so
/// that every replica reads it alike.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests;
