//! Writes of one user at once.

use super::*;

#[tokio::test]
async fn concurrent_default_switches_leave_exactly_one_default() {
    let stack = Stack::with_user(A, "a@example.com").await;
    let profiles: Vec<(u64, String)> = (0..8).map(|i| (300 + i, format!("Store {i}"))).collect();
    let refs: Vec<(u64, &str)> = profiles
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    stack.amazon.add_login("alice", na_login("alice", &refs));
    stack.connect_flow(A, "alice").await;
    let ids = account_ids(&stack, A).await;
    let replies = futures::future::join_all(ids.iter().map(|id| {
        let request = Request::new("PUT", &format!("/api/v1/accounts/{id}/default"));
        let stack = &stack;
        async move { stack.send(&stack.users, &request, Some(A)).await }
    }))
    .await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let accounts = stack.get("/api/v1/accounts?limit=100", A).await.body["accounts"].clone();
    let defaults: Vec<&Value> = accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["is_default"] == true)
        .collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(
        stack.get("/api/v1/settings", A).await.body["default_account_id"],
        defaults[0]["account_id"]
    );
}
