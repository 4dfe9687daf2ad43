//! Fair use: a user over their quota of writes is answered 429 with
//! `Retry-After` and nothing changes, while reads and another user's writes
//! pass.

use adsconnect::users::quota::{Limit, QuotaLimits};

use super::*;

#[tokio::test]
async fn a_user_over_the_writes_quota_waits_while_reads_and_others_pass() {
    let (stack, _, _) = two_users().await;
    let limits = QuotaLimits {
        writes: Limit {
            requests: 2,
            // An hour's window: no window ends inside the test.
            per: std::time::Duration::from_secs(3600),
        },
        ..QuotaLimits::default()
    };
    let users = stack.users_with_quotas(limits);
    let patch =
        |theme: &str| Request::new("PATCH", "/api/v1/settings").json(&json!({"theme": theme}));
    for theme in ["light", "dark"] {
        assert_eq!(stack.send(&users, &patch(theme), Some(A)).await.status, 200);
    }
    let over = stack.send(&users, &patch("system"), Some(A)).await;
    assert_eq!(over.status, 429, "{:?}", over.body);
    assert_eq!(over.error_code(), "RATE_LIMITED");
    assert!(over.headers.contains_key("retry-after"));
    // Nothing changed, and reading is not counted.
    let settings = stack
        .send(&users, &Request::new("GET", "/api/v1/settings"), Some(A))
        .await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.body["theme"], "dark");
    // Another user's writes pass.
    assert_eq!(
        stack.send(&users, &patch("light"), Some(B)).await.status,
        200
    );
}
