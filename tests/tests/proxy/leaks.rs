//! No token or secret in the proxy's answers or in any log line of the
//! proxy and the credentials function, captured at TRACE.

use adsconnect_tests::leaks::{Secrets, Transcript, assert_none_leaked};

use super::*;

#[tokio::test]
async fn no_token_appears_in_the_proxys_answers_or_any_log_line() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);
    let user = adsconnect_tests::leaks::USER;
    stack.create_user(user, "s@example.com").await;
    assert_eq!(t.consent_and_complete(&t.connect().await).await.status, 200);
    let account = Accounts::of(&stack, user).await.0[0].1.clone();
    for _ in 0..2 {
        let answer = t
            .send(&stack.proxy, campaigns_list(&account), Some(user))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    stack.amazon.expire_access_tokens();
    assert_eq!(
        t.send(&stack.proxy, campaigns_list(&account), Some(user))
            .await
            .status,
        200
    );
    stack.amazon.script(
        Endpoint::Campaigns,
        vec![wiremock::ResponseTemplate::new(429).insert_header("retry-after", "3")],
    );
    t.send(&stack.proxy, campaigns_list(&account), Some(user))
        .await;
    // The credentials function logs nothing of what it hands out.
    let function = super::credentials::function(&stack);
    let granted = adsconnect::entrypoints::credentials::vend(
        &function,
        super::credentials::payload(user, &account).await,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    t.dump().await;
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 6);
    secrets.data_keys(&proxy, 1);
    assert!(
        stack.amazon.seen_secrets().contains(&granted.access_token),
        "the handed-out token is one of the checked secrets"
    );
    assert_none_leaked(&secrets, &[], &logs.text(), &t);
}
