//! Many calls at once on a token Amazon stopped taking: one refresh at
//! Login with Amazon, every call answered.

use super::*;

#[tokio::test]
async fn eight_concurrent_calls_on_a_refused_token_refresh_it_once() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001").to_owned();
    // Separate proxy processes, as Lambda runs concurrent calls.
    let proxies: Vec<_> = (0..8).map(|_| stack.proxy_allowing(&[])).collect();
    let request = campaigns_list(&us);
    stack.amazon.expire_access_tokens();
    let answers = futures::future::join_all(
        proxies
            .iter()
            .map(|proxy| stack.send(proxy, &request, Some(USER))),
    )
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    assert_eq!(stack.amazon.refresh_requests().len(), 1, "one refresh");
}
