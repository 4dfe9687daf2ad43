//! Secrets never leak from the refresher: with every log line of scheduled
//! runs (a refresh, a revocation, a transient failure) captured at TRACE
//! level, the table, the logs and every answer hold no secret.

use adsconnect_tests::leaks::{Secrets, Transcript, USER, assert_none_leaked};

use super::*;

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);
    stack.create_user(USER, "s@example.com").await;

    // Scheduled refresher runs: a refresh, a revocation (invalid_grant), a
    // transient failure.
    let fine = stack
        .seed_connection(USER, "fine", chrono::Duration::minutes(1))
        .await;
    let revoked = stack
        .seed_connection(USER, "revoked", chrono::Duration::minutes(1))
        .await;
    stack.amazon.revoke("revoked");
    let refresher = stack.refresher(RefreshConfig::default());
    let deadline = chrono::Utc::now().timestamp_millis() as u64 + 300_000;
    let summary = refresher.scheduled(deadline).await.unwrap();
    assert_eq!(
        (summary.refreshed, summary.needs_reauth),
        (1, 1),
        "{summary:?}"
    );
    stack
        .seed_connection(USER, "flaky", chrono::Duration::minutes(1))
        .await;
    stack
        .amazon
        .script(Endpoint::Token, vec![ResponseTemplate::new(503); 3]);
    let summary = refresher.scheduled(deadline).await.unwrap();
    assert_eq!(summary.transient_failures, 1, "{summary:?}");
    t.answers.lock().unwrap().push(format!("{summary:?}"));
    assert_eq!(stack.connection(&fine).await.refresh_count, 1);
    assert!(stack.connection(&revoked).await.tokens.is_none());
    t.dump().await;

    // What must appear nowhere.
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 6);
    secrets.data_keys(&proxy, 3);
    assert_none_leaked(&secrets, &[], &logs.text(), &t);
}
