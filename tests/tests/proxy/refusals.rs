//! A 401 is read before anything is refreshed: Amazon refusing a valid
//! token what the login may not do is handed back as Amazon sent it, with
//! no refresh; a refused token is renewed at most once a minute, so no loop
//! of calls can drive Login with Amazon.

use wiremock::ResponseTemplate;

use super::*;

fn refusal(details: &str) -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(json!({"code": "UNAUTHORIZED", "details": details}))
}

#[tokio::test]
async fn a_scope_the_login_lost_is_handed_back_twenty_times_without_a_refresh() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // At Amazon, the login no longer reaches the profile: its token is fine.
    stack.amazon.update_login("seller", |login| {
        login
            .profiles
            .get_mut("na")
            .unwrap()
            .retain(|p| p["profileId"] != 5001);
    });
    let before = number(&connection_item(&stack, USER).await, "refresh_count");
    for call in 0..20 {
        let answer = stack.proxy(&campaigns_list(us), USER).await;
        assert_eq!(answer.status, 401, "call {call}: {:?}", answer.body);
        assert_eq!(
            answer.body,
            json!({"code": "UNAUTHORIZED", "details": "Not authorized to access scope"}),
            "as Amazon sent it"
        );
    }
    assert_eq!(stack.amazon.ads_calls().len(), 20, "one Amazon call each");
    assert!(stack.amazon.refresh_requests().is_empty());
    let item = connection_item(&stack, USER).await;
    assert_eq!(number(&item, "refresh_count"), before);
    // The connection is still fine for the profiles it reaches.
    let ca = stack
        .proxy(&campaigns_list(accounts.of_profile("5002")), USER)
        .await;
    assert_eq!(ca.status, 200, "{:?}", ca.body);
}

#[tokio::test]
async fn every_wording_of_a_permission_refusal_is_handed_back_without_a_refresh() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let wordings = [
        "No matching advertiser found for scope",
        "Not authorized to manage this profile. Please check permissions and consent from the advertiser.",
        "Forbidden: the manager account has Viewer access",
        "Access denied",
    ];
    stack.amazon.script(
        Endpoint::Campaigns,
        wordings.iter().map(|w| refusal(w)).collect(),
    );
    for wording in wordings {
        let answer = stack.proxy(&campaigns_list(us), USER).await;
        assert_eq!(answer.status, 401, "{wording}");
        assert_eq!(answer.body["details"], wording);
    }
    assert_eq!(stack.amazon.ads_calls().len(), wordings.len(), "no retry");
    assert!(stack.amazon.refresh_requests().is_empty());
}

#[tokio::test]
async fn a_loop_on_a_refused_token_renews_once_a_minute_unless_it_expired() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // A refused token: renewed once, the call retried and answered.
    stack.amazon.expire_access_tokens();
    assert_eq!(stack.proxy(&campaigns_list(us), USER).await.status, 200);
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
    // Amazon keeps refusing fresh tokens: a loop gets Amazon's 401, LWA
    // is not asked again within the minute.
    let refused = || refusal("Authentication failed");
    stack
        .amazon
        .script(Endpoint::Campaigns, (0..20).map(|_| refused()).collect());
    for call in 0..20 {
        let answer = stack.proxy(&campaigns_list(us), USER).await;
        assert_eq!(answer.status, 401, "call {call}");
        assert_eq!(answer.body["details"], "Authentication failed");
    }
    assert_eq!(stack.amazon.refresh_requests().len(), 1);
    assert_eq!(stack.amazon.ads_calls().len(), 2 + 20);
    // A token that has actually expired is renewed, minute or not.
    connection_time_in(&stack, "access_expires_at", -chrono::Duration::minutes(1)).await;
    let answer = stack.proxy(&campaigns_list(us), USER).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(stack.amazon.refresh_requests().len(), 2);
}
