//! Malformed listings are refused at load, naming the item and the
//! reason; a listing choice the host does not know loads as usual.

use warden_sandbox::{LoadError, Policy};

use super::served::LISTS_ENV;
use super::{misbehave, sandbox};

async fn load_listing(lists: &str) -> LoadError {
    let sandbox = sandbox(false);
    let mut policy = Policy::default();
    policy.capabilities.env = vec![(LISTS_ENV.to_owned(), lists.to_owned())];
    sandbox
        .load(
            "misbehave",
            warden_tool_artifacts::MISBEHAVE.as_ref(),
            policy,
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("MISBEHAVE_LISTS={lists} must be refused"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_listed_twice_is_refused_at_load() {
    let error = load_listing("duplicate-uri").await;
    assert!(
        matches!(
            &error,
            LoadError::InvalidItem { component, item, reason }
                if component == "misbehave"
                    && item == "resource `misbehave://twice`"
                    && reason == "listed twice"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "component `misbehave`: resource `misbehave://twice`: listed twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relative_resource_uri_is_refused_at_load() {
    let error = load_listing("relative-uri").await;
    let LoadError::InvalidItem { item, reason, .. } = &error else {
        panic!("an invalid item: {error:?}");
    };
    assert_eq!(item, "resource `relative/path.txt`");
    assert!(reason.contains("not an absolute URI"), "{reason}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "component `misbehave`: resource `relative/path.txt`: not an absolute URI"
        ),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn resource_meta_that_is_not_an_object_is_refused_at_load() {
    let error = load_listing("bad-meta").await;
    let LoadError::InvalidItem { item, reason, .. } = &error else {
        panic!("an invalid item: {error:?}");
    };
    assert_eq!(item, "resource `misbehave://bad-meta`");
    assert!(reason.contains("must be a JSON object"), "{reason}");
    assert_eq!(
        error.to_string(),
        "component `misbehave`: resource `misbehave://bad-meta`: its meta must be a JSON object"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_listing_choice_loads_as_usual() {
    let sandbox = sandbox(false);
    let mut policy = Policy::default();
    policy.capabilities.env = vec![(LISTS_ENV.to_owned(), "nothing-wrong".to_owned())];
    let misbehave = misbehave(&sandbox, policy).await;
    assert_eq!(misbehave.resources().len(), 7);
}
