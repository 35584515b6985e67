//! `[cluster]`.

use std::fs;

use super::tests::{Fixture, minimal_with};
use super::*;

#[test]
fn without_the_table_nothing_is_shared() {
    let config = Fixture::new().ok(&minimal_with(""));
    assert_eq!(config.cluster, ClusterConfig::default());
    assert!(config.cluster.redis.is_none());
    assert_eq!(config.cluster.on_unavailable, OnUnavailable::Local);
}

#[test]
fn a_redis_with_its_password_from_a_file() {
    let f = Fixture::new();
    fs::write(f.root().join("redis-password"), "s3cret\n").expect("write");
    fs::write(f.root().join("ca.pem"), "not read at load").expect("write");
    let config = f.ok(&minimal_with(
        "[cluster]\nredis_url = \"rediss://redis.internal:6380/2\"\nusername = \"warden\"\n\
         password = \"${file:redis-password}\"\nca_file = \"ca.pem\"\n\
         on_unavailable = \"reject\"\ntimeout_ms = 100\nlease_max = 4\nlease_ms = 50\n\
         key_prefix = \"prod:eu\"\n",
    ));
    let cluster = &config.cluster;
    let redis = cluster.redis.as_ref().expect("redis");
    assert_eq!(redis.url, "rediss://redis.internal:6380/2");
    assert_eq!(redis.username.as_deref(), Some("warden"));
    assert_eq!(redis.password.as_deref(), Some("s3cret"));
    assert_eq!(redis.ca_file, Some(f.canonical("ca.pem")));
    assert_eq!(redis.secret_files, vec![f.root().join("redis-password")]);
    assert_eq!(cluster.on_unavailable, OnUnavailable::Reject);
    assert_eq!(
        (cluster.timeout_ms, cluster.lease_max, cluster.lease_ms),
        (100, 4, 50)
    );
    assert_eq!(cluster.key_prefix, "prod:eu");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

#[test]
fn passwords_are_never_written_in_the_text() {
    let f = Fixture::new();
    f.invalid(&minimal_with(
        "[cluster]\nredis_url = \"redis://r:6379\"\npassword = \"hunter2\"\n",
    ))
    .assert("cluster.password", 5, &["${env:NAME}"]);
    f.invalid(&minimal_with(
        "[cluster]\nredis_url = \"redis://:hunter2@r:6379\"\n",
    ))
    .assert(
        "cluster.redis_url",
        4,
        &["holds a password", "cluster.password"],
    );
    f.invalid(&minimal_with(
        "[cluster]\nredis_url = \"redis://r:6379\"\npassword = \"${env:WARDEN_TEST_UNSET_REDIS}\"\n",
    ))
    .assert("cluster.password", 5, &["WARDEN_TEST_UNSET_REDIS", "not set"]);
}

#[test]
fn bad_values_name_their_key_and_line() {
    let f = Fixture::new();
    let cases: &[(&str, &str, usize, &[&str])] = &[
        (
            "redis_url = \"http://r:6379\"",
            "cluster.redis_url",
            4,
            &["`http` is not `redis` or `rediss`"],
        ),
        (
            "redis_url = \"redis://\"",
            "cluster.redis_url",
            4,
            &["names no host"],
        ),
        (
            "redis_url = \"redis://r:6379\"\non_unavailable = \"ignore\"",
            "cluster.on_unavailable",
            5,
            &["local", "reject"],
        ),
        (
            "redis_url = \"redis://r:6379\"\ntimeout_ms = 5",
            "cluster.timeout_ms",
            5,
            &["10"],
        ),
        (
            "redis_url = \"redis://r:6379\"\nlease_max = 0",
            "cluster.lease_max",
            5,
            &["1"],
        ),
        (
            "redis_url = \"redis://r:6379\"\nkey_prefix = \"a b\"",
            "cluster.key_prefix",
            5,
            &["letters, digits"],
        ),
        (
            "username = \"warden\"",
            "cluster.username",
            4,
            &["without `cluster.redis_url`"],
        ),
        (
            "redis_url = \"redis://r:6379\"\nca_file = \"missing.pem\"",
            "cluster.ca_file",
            5,
            &["missing.pem"],
        ),
    ];
    for (table, key, line, words) in cases {
        f.invalid(&minimal_with(&format!("[cluster]\n{table}\n")))
            .assert(key, *line, words);
    }
}

#[test]
fn tasks_and_a_components_task_duration() {
    let f = Fixture::new();
    let config = f.ok(&minimal_with(
        "[components.text.limits]\nmax_task_duration_ms = 600000\n\
         [tasks]\ndefault_ttl_ms = 60000\nmax_ttl_ms = 120000\nmax_open_per_caller = 4\n\
         poll_interval_ms = 250\nmax_kept = 100\n",
    ));
    let text = config.component("text").expect("text");
    assert_eq!(text.max_task_duration_ms, Some(600_000));
    assert_eq!(
        config.tasks,
        TasksConfig {
            default_ttl_ms: 60_000,
            max_ttl_ms: 120_000,
            max_open_per_caller: 4,
            poll_interval_ms: 250,
            max_kept: 100,
        }
    );
    assert_eq!(
        Fixture::new().ok(&minimal_with("")).tasks,
        TasksConfig::default()
    );
    f.invalid(&minimal_with(
        "[components.text.limits]\nmax_task_duration_ms = 500\n",
    ))
    .assert("components.text.limits.max_task_duration_ms", 4, &["1000"]);
    f.invalid(&minimal_with(
        "[tasks]\ndefault_ttl_ms = 90000\nmax_ttl_ms = 60000\n",
    ))
    .assert("tasks", 3, &["longer than max_ttl_ms"]);
    f.invalid(&minimal_with("[tasks]\nmax_open_per_caller = 0\n"))
        .assert("tasks.max_open_per_caller", 4, &["1"]);
}
