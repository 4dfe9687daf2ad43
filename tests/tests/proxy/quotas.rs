//! Fair use: a user over their quota of proxied calls is answered 429 with
//! `Retry-After` (Amazon not called) while another user's calls pass.

use adsconnect::users::quota::{Limit, QuotaLimits};

use super::*;

#[tokio::test]
async fn a_user_over_the_proxy_quota_waits_while_another_users_calls_pass() {
    let (stack, accounts) = connected_stack().await;
    stack.create_user(OTHER, "o@example.com").await;
    stack.amazon.add_login("other", na_seller("other", &[7001]));
    stack.connected(OTHER, "other").await;
    let theirs = Accounts::of(&stack, OTHER).await;
    stack.amazon.forget_ads_calls();
    // Three calls an hour: the fourth is over.
    let limits = QuotaLimits {
        proxy: Limit {
            requests: 3,
            // An hour's window: no window ends inside the test.
            per: std::time::Duration::from_secs(3600),
        },
        ..QuotaLimits::default()
    };
    let proxy = stack.proxy_with_quotas(limits);
    let ours = campaigns_list(accounts.of_profile("5001"));
    for _ in 0..3 {
        assert_eq!(stack.send(&proxy, &ours, Some(USER)).await.status, 200);
    }
    let over = stack.send(&proxy, &ours, Some(USER)).await;
    assert_eq!(over.status, 429, "{:?}", over.body);
    assert_eq!(over.error_code(), "RATE_LIMITED");
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After {wait}");
    assert_eq!(stack.amazon.ads_calls().len(), 3, "Amazon not called");

    let other = campaigns_list(theirs.of_profile("7001"));
    assert_eq!(stack.send(&proxy, &other, Some(OTHER)).await.status, 200);
    assert_eq!(stack.amazon.ads_calls().len(), 4);
}
