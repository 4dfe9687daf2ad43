//! `clerk-webhook` under load: the same delivery many times at once, a
//! seeded storm of out-of-order and duplicated `user.*` events, and a write
//! racing a deletion.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use adsconnect::clerk::svix::SvixVerifier;
use adsconnect::entrypoints::http as api;
use adsconnect::entrypoints::http::WebhookServices;
use adsconnect::model::connection::DueConnection;
use adsconnect::model::event::{AuditEvent, EventKind};
use adsconnect::secrets::Secret;
use adsconnect::store::Store;
use adsconnect_dev::apigw::to_lambda_request;
use adsconnect_dev::provision;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tower::ServiceExt;

use super::*;

/// Override with `WEBHOOK_STORM_SEED=<n>` to try another interleaving.
/// Seed 1 resurrected two deleted users before the fix of `delete_user`.
const STORM_SEED: u64 = 1;
const STORM_USERS: usize = 20;
const STORM_DELIVERIES: usize = 500;
/// Deliveries in flight at once, as several Lambda instances would run them.
const STORM_CONCURRENCY: usize = 8;
const SAME_DELIVERY_COPIES: usize = 50;

fn storm_seed() -> u64 {
    std::env::var("WEBHOOK_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(STORM_SEED)
}

fn attr_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    }
}

/// The items of one partition, by sort key.
fn partition<'a>(items: &'a [Item], pk: &str) -> BTreeMap<&'a str, &'a Item> {
    items
        .iter()
        .filter(|i| attr_s(i, "pk") == Some(pk))
        .map(|i| (attr_s(i, "sk").unwrap_or_default(), i))
        .collect()
}

#[tokio::test]
async fn a_delivery_replayed_concurrently_has_one_effect() {
    let stack = Stack::new().await;
    let event = user_event(
        "user.created",
        &clerk_user(USER, "a@example.com", 1_700_000_100_000),
    );
    let replies =
        futures::future::join_all((0..20).map(|_| stack.post_event_as(&event, "msg_same"))).await;
    let mut outcomes: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200);
            r.body["outcome"].as_str().unwrap().to_owned()
        })
        .collect();
    outcomes.sort();
    outcomes.dedup_by(|a, b| a == b);
    assert_eq!(outcomes, ["applied", "duplicate"]);
    let applied = replies
        .iter()
        .filter(|r| r.body["outcome"] == "applied")
        .count();
    assert_eq!(applied, 1);
    let delivery = stack
        .item("DELIVERY#msg_same", "DELIVERY")
        .await
        .expect("delivery recorded");
    let ttl: i64 = match delivery.get("ttl") {
        Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => n.parse().unwrap(),
        other => panic!("ttl missing: {other:?}"),
    };
    assert!(
        ttl >= chrono::Utc::now().timestamp() + 71 * 3600,
        "kept at least 72 h"
    );
}

/// What a storm of 50 identical deliveries of one event should leave.
enum SameDelivery {
    UserCreated,
    SessionCreated,
    UserDeleted,
}

const STORM_USER: &str = "user_2stormSame";
const LOGIN_AT_MS: i64 = 1_800_000_000_000;

impl SameDelivery {
    fn name(&self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::SessionCreated => "session.created",
            Self::UserDeleted => "user.deleted",
        }
    }

    /// Whatever must exist before the delivery, then the delivery's event.
    async fn prepare(&self, stack: &Stack) -> Value {
        let user = clerk_user(STORM_USER, "same@example.com", 1_700_000_100_000);
        if !matches!(self, Self::UserCreated) {
            assert_eq!(
                stack
                    .post_event(&user_event("user.created", &user))
                    .await
                    .status,
                200
            );
        }
        match self {
            Self::UserCreated => user_event("user.created", &user),
            Self::SessionCreated => {
                session_event("session.created", STORM_USER, "sess_1", LOGIN_AT_MS)
            }
            Self::UserDeleted => {
                // Something owned in both partitions: a connection and its
                // audit trail, so a second delete would find work to redo.
                let due = stack
                    .seed_connection(STORM_USER, "seller", chrono::Duration::hours(1))
                    .await;
                let connection = stack.connection(&due).await;
                stack
                    .store
                    .events()
                    .put(&AuditEvent::new(
                        &connection,
                        EventKind::Connected,
                        None,
                        None,
                        chrono::Utc::now(),
                    ))
                    .await
                    .unwrap();
                deleted_event(STORM_USER)
            }
        }
    }

    fn check(&self, items: &[Item]) {
        let name = self.name();
        let user = partition(items, &format!("USER#{STORM_USER}"));
        let delivery = partition(items, "DELIVERY#msg_storm_same");
        assert_eq!(delivery.len(), 1, "{name}: one delivery record");
        match self {
            Self::UserCreated => {
                assert_eq!(items.len(), 2, "{name}: profile and delivery: {items:?}");
                let profile = user["PROFILE"];
                assert_eq!(attr_s(profile, "email"), Some("same@example.com"));
            }
            Self::SessionCreated => {
                assert_eq!(
                    attr_n(user["PROFILE"], "last_login_at"),
                    Some(LOGIN_AT_MS),
                    "{name}"
                );
            }
            Self::UserDeleted => {
                assert_eq!(
                    user.keys().copied().collect::<Vec<_>>(),
                    ["TOMBSTONE"],
                    "{name}: only the tombstone is left"
                );
                // Audit events are left to expire; each carries its TTL.
                assert!(
                    partition(items, &format!("EVENTS#{STORM_USER}"))
                        .values()
                        .all(|event| event.contains_key("ttl")),
                    "{name}"
                );
            }
        }
    }
}

#[tokio::test]
async fn one_delivery_sent_fifty_times_at_once_has_exactly_one_effect() {
    for case in [
        SameDelivery::UserCreated,
        SameDelivery::SessionCreated,
        SameDelivery::UserDeleted,
    ] {
        let name = case.name();
        let stack = Stack::new().await;
        let event = case.prepare(&stack).await;
        // Byte-identical copies: same id, timestamp, signature and body, as
        // Svix retries (or a proxy duplicates) them.
        let request = signed_webhook(
            event.to_string().as_bytes(),
            "msg_storm_same",
            chrono::Utc::now().timestamp(),
        );
        let replies = futures::future::join_all(
            (0..SAME_DELIVERY_COPIES).map(|_| stack.send(&stack.webhook, &request, None)),
        )
        .await;
        for reply in &replies {
            assert!(
                (200..300).contains(&reply.status),
                "{name}: {} {:?}",
                reply.status,
                reply.body
            );
        }
        let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
        for reply in &replies {
            *outcomes.entry(outcome(reply)).or_default() += 1;
        }
        assert_eq!(
            outcomes,
            BTreeMap::from([
                ("applied".to_owned(), 1),
                ("duplicate".to_owned(), SAME_DELIVERY_COPIES - 1)
            ]),
            "{name}"
        );
        case.check(&stack.items().await);
    }
}

/// One signed delivery of the storm.
struct Delivery {
    id: String,
    user: usize,
    event: Value,
}

/// The last word Clerk had about a user.
struct Expected {
    user_id: String,
    deleted: bool,
    newest_updated_at: i64,
    newest_email: String,
}

/// Every user gets a create and 1–5 updates with increasing `updated_at`;
/// every third user is deleted. The storm is those events, each under its own
/// svix-id, plus redeliveries (mostly the same svix-id, as Svix retries; some
/// a fresh one, as a manual replay), shuffled.
fn storm(seed: u64) -> (Vec<Delivery>, Vec<Expected>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut deliveries = Vec::new();
    let mut expected = Vec::new();
    for user in 0..STORM_USERS {
        let user_id = format!("user_2storm{user:02}");
        let versions = rng.random_range(2..=6);
        let base = 1_700_000_000_000_i64 + 1_000_000 * user as i64;
        let mut newest = (0, String::new());
        for version in 0..versions {
            let updated_at = base + 1_000 * version + rng.random_range(0..1_000);
            let email = format!("storm{user}-v{version}@example.com");
            let kind = if version == 0 {
                "user.created"
            } else {
                "user.updated"
            };
            deliveries.push(Delivery {
                id: format!("msg_u{user}_v{version}"),
                user,
                event: user_event(kind, &clerk_user(&user_id, &email, updated_at)),
            });
            newest = (updated_at, email);
        }
        let deleted = user % 3 == 0;
        if deleted {
            deliveries.push(Delivery {
                id: format!("msg_u{user}_deleted"),
                user,
                event: deleted_event(&user_id),
            });
        }
        expected.push(Expected {
            user_id,
            deleted,
            newest_updated_at: newest.0,
            newest_email: newest.1,
        });
    }
    let distinct = deliveries.len();
    while deliveries.len() < STORM_DELIVERIES {
        let original = &deliveries[rng.random_range(0..distinct)];
        let id = if rng.random_bool(0.8) {
            original.id.clone()
        } else {
            format!("{}_replay{}", original.id, deliveries.len())
        };
        deliveries.push(Delivery {
            id,
            user: original.user,
            event: original.event.clone(),
        });
    }
    deliveries.shuffle(&mut rng);
    (deliveries, expected)
}

#[tokio::test]
async fn a_storm_of_shuffled_duplicated_user_events_converges_to_the_newest_version() {
    let seed = storm_seed();
    let (deliveries, expected) = storm(seed);
    let stack = &Stack::new().await;

    let replies: Vec<(&Delivery, Response)> = futures::stream::iter(&deliveries)
        .map(|d| async move { (d, stack.post_event_as(&d.event, &d.id).await) })
        .buffer_unordered(STORM_CONCURRENCY)
        .collect()
        .await;
    for (delivery, reply) in &replies {
        assert!(
            (200..300).contains(&reply.status),
            "seed {seed}: {} for {}: {:?}",
            reply.status,
            delivery.id,
            reply.body
        );
    }

    // A user brought back from the dead would be served from the profile, or
    // provisioned again from Clerk, which still knows them here.
    for user in expected.iter().filter(|u| u.deleted) {
        stack
            .clerk_has_user(&clerk_user(
                &user.user_id,
                "ghost@example.com",
                1_900_000_000_000,
            ))
            .await;
    }
    let items = stack.items().await;
    let mut wrong = Vec::new();
    for user in &expected {
        let id = &user.user_id;
        let owned = partition(&items, &format!("USER#{id}"));
        let me = stack.get("/api/v1/users/me", id).await;
        if user.deleted {
            if owned.keys().copied().collect::<Vec<_>>() != ["TOMBSTONE"] {
                wrong.push(format!(
                    "{id}: deleted, yet holds {:?}",
                    owned.keys().collect::<Vec<_>>()
                ));
            }
            if me.status != 404 {
                wrong.push(format!(
                    "{id}: deleted, yet /users/me is {} {}",
                    me.status, me.body
                ));
            }
            continue;
        }
        let Some(profile) = owned.get("PROFILE") else {
            wrong.push(format!("{id}: no profile"));
            continue;
        };
        if owned.contains_key("TOMBSTONE") {
            wrong.push(format!("{id}: never deleted, yet has a tombstone"));
        }
        let stored = (
            attr_n(profile, "clerk_updated_at"),
            attr_s(profile, "email"),
        );
        if stored
            != (
                Some(user.newest_updated_at),
                Some(user.newest_email.as_str()),
            )
        {
            wrong.push(format!(
                "{id}: stored {stored:?}, newest is ({}, {})",
                user.newest_updated_at, user.newest_email
            ));
        }
        if me.body["email"] != user.newest_email.as_str() {
            wrong.push(format!("{id}: /users/me shows {}", me.body["email"]));
        }
    }
    assert!(
        wrong.is_empty(),
        "seed {seed} ({} deliveries, {STORM_CONCURRENCY} at a time):\n{}",
        deliveries.len(),
        wrong.join("\n")
    );

    // Late arrivals after the storm, under fresh ids (so de-duplication
    // cannot be what stops them): no deleted user comes back.
    let before = stack.snapshot().await;
    let late: Vec<&Delivery> = deliveries
        .iter()
        .filter(|d| expected[d.user].deleted && d.event["type"] != "user.deleted")
        .collect();
    let late_replies: Vec<(&Delivery, Response)> = futures::stream::iter(late)
        .map(|d| async move {
            let id = format!("msg_late_{}", uuid::Uuid::new_v4().simple());
            (d, stack.post_event_as(&d.event, &id).await)
        })
        .buffer_unordered(STORM_CONCURRENCY)
        .collect()
        .await;
    for (delivery, reply) in &late_replies {
        assert_eq!(
            (reply.status, outcome(reply).as_str()),
            (200, "user_deleted"),
            "seed {seed}: late {}",
            delivery.id
        );
    }
    assert_eq!(stack.snapshot().await, before, "seed {seed}");
}

/// Holds the first `TransactWriteItems` of a client until told to go on, so
/// a test can slip another write in between a read and the write it decided.
#[derive(Debug, Clone)]
struct HoldFirstTransaction {
    reached: Arc<Mutex<Option<std::sync::mpsc::Sender<()>>>>,
    go: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
}

impl Intercept for HoldFirstTransaction {
    fn name(&self) -> &'static str {
        "HoldFirstTransaction"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context
            .input()
            .downcast_ref::<TransactWriteItemsInput>()
            .is_none()
        {
            return Ok(());
        }
        let Some(reached) = self.reached.lock().unwrap().take() else {
            return Ok(());
        };
        reached.send(()).unwrap();
        // Blocks this worker only; the test goes on on another one.
        tokio::task::block_in_place(|| self.go.lock().unwrap().recv().unwrap());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_written_while_a_deletion_is_under_way_is_deleted_too() {
    let stack = Stack::new().await;
    let user = "user_2raceDelete";
    let (reached_tx, reached_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel();
    let hold = HoldFirstTransaction {
        reached: Arc::new(Mutex::new(Some(reached_tx))),
        go: Arc::new(Mutex::new(go_rx)),
    };
    let held = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&provision::emulator_config(&moto_endpoint()))
            .interceptor(hold)
            .build(),
    );
    let deleter = api::webhook_router(WebhookServices {
        store: Store::new(held, stack.table.clone()),
        verifier: Arc::new(SvixVerifier::new(&Secret::new(WEBHOOK_SECRET)).unwrap()),
    });
    let deletion = signed_webhook(
        deleted_event(user).to_string().as_bytes(),
        "msg_race_deleted",
        chrono::Utc::now().timestamp(),
    )
    .http_api_event("$default", None);
    // The deletion reads the (still empty) partition, then waits…
    let deleting = tokio::spawn(async move {
        let response = deleter
            .oneshot(to_lambda_request(&deletion).unwrap())
            .await
            .unwrap();
        response.status().as_u16()
    });
    tokio::task::spawn_blocking(move || reached_rx.recv().unwrap())
        .await
        .unwrap();
    // …while the (delayed) user.created lands…
    let created = stack
        .post_event(&user_event(
            "user.created",
            &clerk_user(user, "late@example.com", 1_000),
        ))
        .await;
    assert_eq!(created.body["outcome"], "applied");
    go_tx.send(()).unwrap();
    // …and then writes the tombstone.
    assert_eq!(deleting.await.unwrap(), 200);

    let items = stack.items().await;
    assert_eq!(
        partition(&items, &format!("USER#{user}"))
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        ["TOMBSTONE"]
    );
    stack
        .clerk_has_user(&clerk_user(user, "late@example.com", 1_000))
        .await;
    assert_eq!(stack.get("/api/v1/users/me", user).await.status, 404);
}

/// Seeds `count` audit events of `connection` in the table directly (25 a
/// batch), as years of refreshes would leave them.
async fn seed_events(stack: &Stack, connection: &DueConnection, count: usize) {
    let record = stack.connection(connection).await;
    let now = chrono::Utc::now();
    let items = (0..count)
        .map(|i| {
            let at = now - chrono::Duration::minutes(i as i64);
            let event = AuditEvent::new(&record, EventKind::Refreshed, None, None, at);
            let mut item: Item = serde_dynamo::to_item(&event).unwrap();
            let sk = format!(
                "{}#{:013}#{}",
                record.connection_id,
                at.timestamp_millis(),
                event.event_id
            );
            let ttl = (at + chrono::Duration::days(90)).timestamp();
            item.insert(
                "pk".into(),
                AttributeValue::S(format!("EVENTS#{}", record.owner)),
            );
            item.insert("sk".into(), AttributeValue::S(sk));
            item.insert("ttl".into(), AttributeValue::N(ttl.to_string()));
            item
        })
        .collect();
    batch_put(stack, items).await;
}

/// A deletion takes the profile, the connection (its sealed tokens) and the
/// accounts at once, and costs the same DynamoDB calls whether the audit
/// trail holds nothing or 5,000 events (those expire by TTL).
#[tokio::test]
async fn deleting_a_user_costs_the_same_with_5000_audit_events() {
    let stack = Stack::new().await;
    let mut costs = Vec::new();
    for (user, events) in [("user_2quiet", 0), ("user_2chatty", 5_000)] {
        stack.create_user(user, "c@example.com").await;
        let connection = stack
            .seed_connection(user, &format!("login-{user}"), chrono::Duration::hours(1))
            .await;
        seed_events(&stack, &connection, events).await;
        stack.calls.take();
        let deleted = stack.post_event(&deleted_event(user)).await;
        assert_eq!(
            deleted.body["outcome"], "applied",
            "{user}: {:?}",
            deleted.body
        );
        costs.push(stack.calls.take());
        assert_eq!(
            owned(&stack, user).await.get("TOMBSTONE"),
            Some(&1),
            "{user}"
        );
        let left = owned(&stack, user).await;
        assert!(
            !left.contains_key("CONN") && !left.contains_key("PROFILE"),
            "{user}: {left:?}"
        );
        assert_eq!(
            left.get("EVENT").copied().unwrap_or(0),
            events,
            "{user}: left to expire"
        );
    }
    assert_eq!(
        costs[0], costs[1],
        "the audit trail costs nothing to delete"
    );
    // The partition; the tombstone with everything in it; the partition
    // again (a racing writer); the delivery record.
    assert_eq!(
        costs[1],
        ["Query", "TransactWriteItems", "Query", "TransactWriteItems"]
    );
}
