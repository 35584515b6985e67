//! The lease bound of shared request quotas, against a real Redis with
//! three `SharedRates` standing for three replicas: from a full bucket no
//! more than the burst is allowed fleet-wide, and over a window that starts
//! with tokens leased, at most `replicas × lease` more than one process
//! would allow.

use std::sync::Arc;
use std::time::Duration;

use warden_gateway::cluster::rates::SharedRates;
use warden_gateway::cluster::store::Store;
use warden_gateway::config::{ClusterConfig, QuotaPeriod, RateQuota, RedisConfig};

use crate::support_redis::TestRedis;

fn replicas(redis: &TestRedis, lease_for: Duration) -> Vec<SharedRates> {
    let config = ClusterConfig {
        redis: Some(RedisConfig {
            url: redis.url(),
            username: None,
            password: None,
            ca_file: None,
            secret_files: Vec::new(),
        }),
        ..ClusterConfig::default()
    };
    let redis_config = config.redis.as_ref().expect("set above");
    (0..3)
        .map(|_| {
            let store = Arc::new(Store::new(&config, redis_config).expect("client"));
            SharedRates::new(store, config.lease_max, lease_for)
        })
        .collect()
}

async fn allowed(rates: &SharedRates, quota: RateQuota) -> bool {
    rates
        .take("requests", "a", quota)
        .await
        .expect("Redis answers")
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_bound_the_overshoot_by_replicas_times_lease() {
    let mut redis = TestRedis::start().await;
    // One an hour after a burst of 128: no refill within the test.
    let quota = RateQuota {
        count: 1,
        period: QuotaPeriod::Hour,
        burst: 128,
    };
    // Leases outlive the test, so what is held stays usable.
    let fleet = replicas(&redis, Duration::from_secs(3600));
    let lease = fleet[0].lease_size(quota);
    assert_eq!(lease, 8, "128 / 16, under lease_max 64");

    // From a full bucket: never more than the burst fleet-wide.
    let mut total = 0;
    loop {
        let mut any = false;
        for replica in &fleet {
            if allowed(replica, quota).await {
                total += 1;
                any = true;
            }
        }
        if !any {
            break;
        }
    }
    assert_eq!(total, 128, "every leased token was spent, none beyond");

    // A window that opens while one replica holds a lease: it spends what
    // it holds though the shared bucket is empty, never more than a lease.
    redis.restart().await;
    // Replicas that remember no refusal of the empty bucket above.
    let fleet = replicas(&redis, Duration::from_secs(3600));
    let (holder, others) = fleet.split_first().expect("three");
    assert!(allowed(holder, quota).await, "takes a lease of {lease}");
    let mut drained = 0;
    'drain: for replica in others {
        while allowed(replica, quota).await {
            drained += 1;
            if drained > 128 {
                break 'drain;
            }
        }
    }
    let mut spent_from_lease = 0;
    while allowed(holder, quota).await {
        spent_from_lease += 1;
    }
    assert_eq!(drained + 1 + spent_from_lease, 128);
    assert!(
        spent_from_lease < lease as usize,
        "{spent_from_lease} past an empty bucket"
    );
    assert_eq!(spent_from_lease, lease as usize - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_bursts_are_counted_exactly_and_leases_expire() {
    let redis = TestRedis::start().await;
    let fleet = replicas(&redis, Duration::from_millis(50));
    let small = RateQuota {
        count: 1,
        period: QuotaPeriod::Hour,
        burst: 31,
    };
    assert_eq!(fleet[0].lease_size(small), 1);
    let big = RateQuota {
        count: 1,
        period: QuotaPeriod::Hour,
        burst: 10_000,
    };
    assert_eq!(fleet[0].lease_size(big), 64, "capped by lease_max");
    // A lease not spent in time is dropped: its tokens are lost to the
    // fleet (the quota errs on refusing), never handed out twice.
    assert!(allowed(&fleet[0], big).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    let mut total = 1;
    while allowed(&fleet[1], big).await {
        total += 1;
    }
    assert_eq!(
        total,
        10_000 - 63,
        "the first lease's 63 unspent tokens expired"
    );
    assert!(!allowed(&fleet[0], big).await, "its lease has ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refill_that_times_out_leaves_the_key_free() {
    let redis = TestRedis::start().await;
    let fleet = replicas(&redis, Duration::from_secs(60));
    let quota = RateQuota {
        count: 1,
        period: QuotaPeriod::Hour,
        burst: 1_000,
    };
    redis.freeze().await;
    let (first, second) = tokio::join!(
        fleet[0].take("requests", "a", quota),
        fleet[0].take("requests", "a", quota)
    );
    assert!(first.is_err() && second.is_err(), "{first:?} {second:?}");
    redis.thaw().await;
    // The store probes again 500 ms after its last failure.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        allowed(&fleet[0], quota).await,
        "the key is not stuck refilling"
    );
}
