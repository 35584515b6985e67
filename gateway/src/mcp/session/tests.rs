//! The session store: sealing, opening, local state, ending.

use super::*;

fn settings(key: &SessionKey) -> SessionSettings {
    SessionSettings {
        key: key.clone(),
        former_keys: Vec::new(),
        lifetime: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(60),
        max_sessions: 10,
    }
}

fn key() -> SessionKey {
    SessionKey::generate().expect("random")
}

fn claims(revision: Revision, capabilities: Value) -> SessionClaims {
    SessionClaims::new(revision, capabilities, Value::Null, None)
}

fn create(store: &SessionStore) -> String {
    store
        .create(claims(Revision::LATEST, Value::Null))
        .expect("create")
        .0
}

#[test]
fn ids_are_unique_visible_ascii_and_end_once() {
    let store = SessionStore::new(&settings(&key()));
    let a = create(&store);
    let b = create(&store);
    assert_ne!(a, b);
    assert!(a.bytes().all(|byte| (0x21..=0x7e).contains(&byte)));
    assert!(store.touch(&a).is_ok());
    assert!(store.end(&a).is_some());
    assert!(store.end(&a).is_none());
    assert_eq!(store.touch(&a).err(), Some(LookupError::Ended));
    assert_eq!(store.view(&a).err(), Some(LookupError::Ended));
    assert!(matches!(
        store.touch("unknown"),
        Err(LookupError::Unopenable(_))
    ));
    assert!(store.end("unknown").is_none());
}

#[test]
fn another_process_with_the_key_serves_the_session_until_it_ends_there() {
    let key = key();
    let (first, second) = (
        SessionStore::new(&settings(&key)),
        SessionStore::new(&settings(&key)),
    );
    let (id, _) = first
        .create(SessionClaims::new(
            Revision::V2025_06_18,
            serde_json::json!({"sampling": {}}),
            serde_json::json!({"name": "c"}),
            Some("ci-bot"),
        ))
        .expect("create");
    let here = first.touch(&id).expect("first");
    let there = second.touch(&id).expect("second");
    assert_eq!(there.revision, Revision::V2025_06_18);
    assert_eq!(
        *there.client_capabilities,
        serde_json::json!({"sampling": {}})
    );
    assert_eq!(there.log_tag, here.log_tag);
    assert_eq!(there.owner.as_deref(), Some("ci-bot"));
    assert_eq!(second.len(), 1);

    assert_eq!(second.end(&id), Some(here.log_tag.clone()));
    assert_eq!(second.touch(&id).err(), Some(LookupError::Ended));
    assert!(
        first.touch(&id).is_ok(),
        "DELETE ends it in its own process only"
    );

    let stranger = SessionStore::new(&settings(&self::key()));
    assert_eq!(
        stranger.touch(&id).err(),
        Some(LookupError::Unopenable(OpenError::UnknownKey))
    );
}

#[test]
fn caps_live_sessions_and_forgets_idle_ones_without_ending_them() {
    let key = key();
    let mut capped = settings(&key);
    capped.max_sessions = 1;
    let store = SessionStore::new(&capped);
    let first = create(&store);
    let second = create(&store);
    assert_eq!(store.len(), 0, "an idle session keeps no local state");
    assert!(store.view(&second).is_ok(), "nor does a view of it");
    assert_eq!(store.len(), 0);
    assert!(store.touch(&first).is_ok());
    assert_eq!(store.len(), 1);
    assert_eq!(
        store.create(claims(Revision::LATEST, Value::Null)).err(),
        Some(SessionError::TooMany(1))
    );
    assert_eq!(store.touch(&second).err(), Some(LookupError::TooMany(1)));
    assert!(
        store.view(&second).is_ok(),
        "a request that needs no local state is served when full"
    );
    let other = SessionStore::new(&settings(&key));
    let foreign = create(&other);
    assert_eq!(store.touch(&foreign).err(), Some(LookupError::TooMany(1)));
    assert!(store.touch(&first).is_ok());

    let mut forgetful = settings(&key);
    forgetful.idle_timeout = Duration::ZERO;
    let store = SessionStore::new(&forgetful);
    let id = create(&store);
    let stream = store.touch(&id).expect("live").ended();
    assert_eq!(store.sweep(), 0);
    assert!(stream.is_cancelled(), "a forgotten session's stream ends");
    assert!(store.touch(&id).is_ok(), "forgotten is not ended");
}

#[test]
fn expired_ids_are_refused() {
    let key = key();
    let mut short = settings(&key);
    short.lifetime = Duration::ZERO;
    let store = SessionStore::new(&short);
    let id = create(&store);
    assert_eq!(store.touch(&id).err(), Some(LookupError::Expired));
    let other = SessionStore::new(&settings(&key));
    assert_eq!(other.touch(&id).err(), Some(LookupError::Expired));
    assert!(other.end(&id).is_none());
}

#[test]
fn the_ended_list_stays_bounded() {
    let key = key();
    let mut small = settings(&key);
    small.max_sessions = 2;
    let issuer = SessionStore::new(&settings(&key));
    let store = SessionStore::new(&small);
    let ids: Vec<String> = (0..3).map(|_| create(&issuer)).collect();
    for id in &ids {
        assert!(store.end(id).is_some());
    }
    assert_eq!(store.lock().ended.len(), 2);
}
