//! Another user's accounts, paths that try to leave the account's API,
//! headers only the proxy may set, the allow-list and sizes: each refused
//! before Amazon is called, or ignored.

use super::*;

#[tokio::test]
async fn another_users_or_an_unknown_account_is_a_404_and_amazon_is_not_called() {
    let (stack, accounts) = connected_stack().await;
    stack.create_user(OTHER, "b@example.com").await;
    let us = accounts.of_profile("5001");
    for (who, account) in [
        (OTHER, us.to_owned()),
        (USER, "acct_000000000000000000000000".to_owned()),
        (USER, "not-an-account".to_owned()),
    ] {
        let answer = stack.proxy(&campaigns_list(&account), who).await;
        assert_eq!(answer.status, 404, "{who} {account}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "ACCOUNT_NOT_FOUND");
    }
    assert!(stack.amazon.ads_calls().is_empty());
    // Without the authorizer's context: 401.
    let anonymous = stack.send(&stack.proxy, &campaigns_list(us), None).await;
    assert_eq!(anonymous.status, 401);
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn paths_that_could_reach_another_api_are_refused() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // (`..` and `.` segments, encoded or not, are resolved by the HTTP layer
    // before any function runs: one that climbs out of `/ads/` is another
    // route, never this one.)
    for path in [
        "sp%2F..%2Fv2%2Fprofiles",
        "sp//campaigns",
        "sp/campaigns%5Clist",
    ] {
        let request = Request::new("GET", &format!("/api/v1/accounts/{us}/ads/{path}"));
        let answer = stack.proxy(&request, USER).await;
        assert_eq!(answer.status, 400, "{path}: {:?}", answer.body);
        assert_eq!(answer.error_code(), "INVALID_PATH", "{path}");
    }
    let head = Request::new("HEAD", &format!("/api/v1/accounts/{us}/ads/sp/campaigns"));
    assert_eq!(stack.proxy(&head, USER).await.status, 405);
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn the_allow_list_admits_only_its_paths() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let proxy = stack.proxy_allowing(&["/sp/campaigns"]);
    let allowed = stack.send(&proxy, &campaigns_list(us), Some(USER)).await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
    let report = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/reporting/reports"),
    )
    .header("content-type", REPORT_MEDIA_TYPE)
    .body(b"{}".to_vec());
    let refused = stack.send(&proxy, &report, Some(USER)).await;
    assert_eq!(refused.status, 404);
    assert_eq!(refused.error_code(), "PATH_NOT_ALLOWED");
    assert_eq!(stack.amazon.ads_calls().len(), 1);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_before_amazon() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let huge = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/sp/campaigns/list"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .body(vec![b' '; adsconnect::amazon::proxy::MAX_REQUEST_BYTES + 1]);
    let answer = stack.proxy(&huge, USER).await;
    assert_eq!(answer.status, 413, "{:?}", answer.body);
    assert_eq!(answer.error_code(), "PAYLOAD_TOO_LARGE");
    assert!(stack.amazon.ads_calls().is_empty());
}
