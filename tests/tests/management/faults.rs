//! AWS failing at every call of each multi-write operation (disconnect,
//! account removal, default switch, sync, auto-refresh on and off): all or
//! nothing, and a 503 for what did not happen.

use adsconnect_tests::proxy::Fault;

use super::*;

/// The user's `auto_refresh_tokens` and, per connection, its mirror and
/// whether it is in the `refresh-due` index.
async fn auto_refresh_state(stack: &Stack, user: &str) -> (bool, Vec<(bool, bool)>) {
    let mut setting = None;
    let mut connections = Vec::new();
    for item in owned_items(stack, user).await {
        let sk = attr_s(&item, "sk").unwrap();
        if sk == "PROFILE" {
            setting = Some(
                item.get("settings")
                    .and_then(|s| s.as_m().ok())
                    .and_then(|s| s.get("auto_refresh_tokens"))
                    .is_none_or(|v| v.as_bool() == Ok(&true)),
            );
        } else if sk.starts_with("CONN#") {
            connections.push((
                item.get("auto_refresh")
                    .is_none_or(|v| v.as_bool() == Ok(&true)),
                item.contains_key("refresh_due_at"),
            ));
        }
    }
    (setting.unwrap(), connections)
}

#[tokio::test]
async fn turning_auto_refresh_off_or_back_on_failing_part_way_changes_all_or_nothing() {
    let (stack, proxy) = proxied_stack().await;
    let on = (true, vec![(true, true), (true, true)]);
    let off = (false, vec![(false, false), (false, false)]);
    let patch = Request::new("PATCH", "/api/v1/settings")
        .json(&json!({"auto_refresh_tokens": false, "theme": "dark"}));
    let reset = Request::new("POST", "/api/v1/settings/reset");
    for (name, request, from, to) in [("patch", &patch, &on, &off), ("reset", &reset, &off, &on)] {
        for fault in [Fault::ServerError, Fault::LoseAnswer] {
            for failing_at in 0.. {
                assert!(failing_at < 20, "{name} never completed");
                let user = format!("user_2auto{name}{failing_at}{fault:?}");
                stack.create_user(&user, "f@example.com").await;
                for login in ["a", "b"] {
                    stack
                        .seed_connection(
                            &user,
                            &format!("{user}{login}"),
                            chrono::Duration::hours(1),
                        )
                        .await;
                }
                if *from == off {
                    let response = stack.send(&stack.users, &patch, Some(&user)).await;
                    assert_eq!(response.status, 200);
                }
                assert_eq!(&auto_refresh_state(&stack, &user).await, from);
                proxy.take_calls();
                proxy.fail_after("", failing_at, fault);
                let response = stack.send(&stack.users, request, Some(&user)).await;
                proxy.heal();
                let calls = proxy.take_calls();
                let what = format!("{name}: {fault:?} from call {failing_at} of {calls:?}");
                let state = auto_refresh_state(&stack, &user).await;
                if response.status == 200 {
                    assert_eq!(&state, to, "{what}");
                    break;
                }
                assert_eq!(response.status, 503, "{what}: {:?}", response.body);
                // A failure after the write (or of its answer) leaves it done.
                assert!(&state == from || &state == to, "{what}: {state:?}");
            }
        }
    }
}

fn find<'a>(items: &'a [Item], sk_prefix: &str) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|item| attr_s(item, "sk").unwrap().starts_with(sk_prefix))
        .collect()
}

fn default_setting(items: &[Item]) -> Option<String> {
    let profile = find(items, "PROFILE")[0];
    let settings = profile.get("settings")?.as_m().ok()?;
    settings.get("default_account_id")?.as_s().ok().cloned()
}

/// Whether `account` is the default: the profile's setting is the only
/// place that says so (accounts carry no flag of their own).
fn is_default(items: &[Item], account: &str) -> bool {
    default_setting(items).as_deref() == Some(account)
        && find(items, "ACCT")
            .iter()
            .all(|item| !item.contains_key("is_default"))
}

/// Runs `request` (built from a fresh user's connection and sorted
/// account ids) failing from each AWS call on in turn, until it succeeds
/// with `success`. Every failure must be a 503 that leaves the user's items
/// as they were or, when only the answer failed, `done`.
async fn sweep_account_write(
    name: &str,
    request: fn(&str, &[String]) -> Request,
    success: u16,
    done: fn(&[Item], &[Item]) -> bool,
) {
    let (stack, proxy) = proxied_stack().await;
    stack.amazon.add_login("seller", seller());
    for failing_at in 0.. {
        assert!(failing_at < 20, "{name} never completed");
        let user = format!("user_2tx{name}{failing_at}");
        stack.create_user(&user, "f@example.com").await;
        let (connection, accounts) = stack.connected(&user, "seller").await;
        // The first account is the default, so the switches below change it.
        let first = Request::new("PUT", &format!("/api/v1/accounts/{}/default", accounts[0]));
        assert_eq!(
            stack.send(&stack.users, &first, Some(&user)).await.status,
            200
        );
        let before = owned_items(&stack, &user).await;
        proxy.take_calls();
        proxy.fail_after("", failing_at, Fault::ServerError);
        let response = stack
            .send(&stack.users, &request(&connection, &accounts), Some(&user))
            .await;
        proxy.heal();
        let calls = proxy.take_calls();
        let what = format!("{name} failing from call {failing_at} of {calls:?}");
        let now = owned_items(&stack, &user).await;
        if response.status == success {
            assert!(done(&before, &now), "{what}: {now:?}");
            assert!(failing_at >= 2, "{what}: a fault went unnoticed");
            return;
        }
        assert_eq!(response.status, 503, "{what}: {:?}", response.body);
        assert!(now == before || done(&before, &now), "{what}: {now:?}");
    }
}

#[tokio::test]
async fn a_disconnect_failing_at_any_aws_call_shreds_all_or_nothing() {
    sweep_account_write(
        "disconnect",
        |c, _| Request::new("DELETE", &format!("/api/v1/connections/{c}")),
        200,
        |_, now| {
            find(now, "CONN").is_empty()
                && find(now, "ACCT").is_empty()
                && default_setting(now).is_none()
        },
    )
    .await;
}

#[tokio::test]
async fn an_account_removal_failing_at_any_aws_call_removes_it_or_nothing() {
    sweep_account_write(
        "remove",
        |_, a| Request::new("DELETE", &format!("/api/v1/accounts/{}", a[1])),
        204,
        |_, now| find(now, "ACCT").len() == 2,
    )
    .await;
}

#[tokio::test]
async fn a_default_switch_failing_at_any_aws_call_switches_all_or_nothing() {
    sweep_account_write(
        "switch",
        |_, a| Request::new("PUT", &format!("/api/v1/accounts/{}/default", a[1])),
        200,
        |before, now| {
            let new = attr_s(find(before, "ACCT")[1], "account_id").unwrap();
            let old = default_setting(before).unwrap();
            default_setting(now).as_deref() == Some(new)
                && is_default(now, new)
                && !is_default(now, &old)
        },
    )
    .await;
    sweep_account_write(
        "patch",
        |_, a| {
            Request::new("PATCH", "/api/v1/settings")
                .json(&json!({"default_account_id": a[2], "theme": "dark"}))
        },
        200,
        |before, now| {
            let new = attr_s(find(before, "ACCT")[2], "account_id").unwrap();
            default_setting(now).as_deref() == Some(new)
        },
    )
    .await;
}

#[tokio::test]
async fn a_sync_failing_at_any_aws_call_writes_all_or_nothing() {
    // Done: the accounts rewritten and one `synced` event more.
    sweep_account_write(
        "sync",
        |c, _| Request::new("POST", &format!("/api/v1/connections/{c}/sync")),
        200,
        |before, now| find(now, "").len() == find(before, "").len() + 1,
    )
    .await;
}

/// Amazon answering just under each call's timeout on every call: a sync
/// (token refresh first, then every region) answers inside `users`'
/// budget; with a deadline too close, in time with a retryable 502, and
/// the connection as it was.
#[tokio::test]
async fn a_sync_against_a_slow_amazon_answers_inside_the_users_budget() {
    use adsconnect::amazon::http::REQUEST_TIMEOUT;
    use adsconnect::budget::timeouts::USERS;
    use std::time::Duration;

    let stack = stack_with_user().await;
    stack
        .amazon
        .add_login("ada", na_seller("Ada", &[7001, 7002]));
    stack.amazon.add_login("bea", na_seller("Bea", &[8001]));
    let sync = |due: &adsconnect::model::connection::DueConnection| {
        Request::new(
            "POST",
            &format!("/api/v1/connections/{}/sync", due.connection_id),
        )
    };
    let fresh = stack
        .seed_connection(USER, "ada", chrono::Duration::hours(1))
        .await;
    let expiring = stack
        .seed_connection(USER, "bea", chrono::Duration::seconds(30))
        .await;
    stack
        .amazon
        .set_latency(REQUEST_TIMEOUT - Duration::from_millis(300));

    // Discovery gets 2.5 s of Amazon's 4.7.
    let short = Duration::from_secs(4);
    let before = owned_items(&stack, USER).await;
    let (late, took) = stack
        .send_within(&stack.users, &sync(&fresh), Some(USER), short)
        .await;
    assert!(took < short, "took {took:?}");
    assert_eq!(late.status, 502, "{:?}", late.body);
    assert_eq!(late.error_code(), "ADS_UNAVAILABLE");
    assert_eq!(late.headers["retry-after"], "60");
    assert_eq!(owned_items(&stack, USER).await, before);

    // A refresh, then every region, in the whole budget.
    let (done, took) = stack
        .send_within(&stack.users, &sync(&expiring), Some(USER), USERS)
        .await;
    assert!(took < USERS, "took {took:?}");
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(done.body["connection"]["refresh_count"], 1);
}

/// DynamoDB accepting calls and never answering, with less time left than
/// the SDK's own timeout: the answer is the 504 envelope with
/// `Retry-After`, before the deadline, never Lambda's timeout.
#[tokio::test]
async fn a_stalled_table_is_answered_with_a_504_before_the_deadline() {
    use std::time::Duration;

    let (stack, proxy) = proxied_stack().await;
    stack.create_user(USER, "ada@example.com").await;
    proxy.fail_after("DynamoDB", 0, Fault::Stall);
    let budget = Duration::from_secs(2);
    let (answer, took) = stack
        .send_within(
            &stack.users,
            &Request::new("GET", "/api/v1/users/me"),
            Some(USER),
            budget,
        )
        .await;
    proxy.heal();
    assert!(took < budget, "took {took:?}");
    assert_eq!(answer.status, 504, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "TIMED_OUT");
    assert_eq!(answer.headers["retry-after"], "1");
    assert!(answer.body["error"]["request_id"].is_string());
}
