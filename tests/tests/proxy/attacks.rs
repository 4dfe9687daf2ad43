//! Another user's accounts, paths that try to leave the account's API
//! (reserved characters, `.` and `..` however encoded, double encoding,
//! overlong UTF-8), the allow-list by path and method (a read-only
//! deployment) and sizes: each refused before Amazon is called.

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

#[tokio::test]
async fn encoded_segments_that_could_mean_something_else_are_refused_before_amazon() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    // Read-only: a refused path is refused as a path, not by the allow-list.
    let read_only = stack.proxy_allowing(&["GET /"]);
    for path in [
        "sp;jsessionid=1/campaigns",
        "sp/campaigns%3Blist",
        "sp/campaigns%3blist",
        "sp%2Fcampaigns",
        "sp%5Ccampaigns",
        "sp/%00/campaigns",
        "sp/%25/campaigns",
        "sp/%252e%252e/v2/profiles",
        "sp/camp%20aigns",
        "sp/a:b",
    ] {
        for (proxy, method) in [(&stack.proxy, "POST"), (&read_only, "GET")] {
            let request = Request::new(method, &format!("/api/v1/accounts/{us}/ads/{path}"));
            let answer = stack.send(proxy, &request, Some(USER)).await;
            assert_eq!(answer.status, 400, "{method} {path}: {:?}", answer.body);
            assert_eq!(
                answer.error_code(),
                "INVALID_PATH",
                "{method} {path}: {:?}",
                answer.body
            );
        }
    }
    // `.` and `..` segments, plain or `%2e`-encoded, are resolved by the
    // HTTP layer before the function runs (or refused by it): the path
    // they resolve to is what the allow-list judges.
    let sp_only = stack.proxy_allowing(&["/sp"]);
    for path in [
        "sp/%2e%2e/v2/profiles",
        "sp/%2E%2E/v2/profiles",
        "sp/../v2/profiles",
        "sp/campaigns/%2e%2e/%2e%2e/reporting/reports",
    ] {
        let request = Request::new("POST", &format!("/api/v1/accounts/{us}/ads/{path}"));
        let answer = stack.send(&sp_only, &request, Some(USER)).await;
        assert!(
            ["INVALID_PATH", "PATH_NOT_ALLOWED"].contains(&answer.error_code()),
            "{path}: {} {:?}",
            answer.status,
            answer.body
        );
    }
    assert!(stack.amazon.ads_calls().is_empty());
}

/// Overlong UTF-8 (`%c0%ae` is an overlong `.`) and bytes that are no
/// UTF-8 at all: refused as a path, in the contract's error envelope.
#[tokio::test]
async fn invalid_utf8_in_a_segment_is_an_invalid_path() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    for path in [
        "sp/%c0%ae%c0%ae/v2/profiles",
        "sp/%e0%80%ae/campaigns",
        "sp/%ff/campaigns",
    ] {
        let request = Request::new("POST", &format!("/api/v1/accounts/{us}/ads/{path}"));
        let answer = stack.proxy(&request, USER).await;
        assert_eq!(answer.status, 400, "{path}: {:?}", answer.body);
        assert_eq!(
            answer.error_code(),
            "INVALID_PATH",
            "{path}: {:?}",
            answer.body
        );
    }
    assert!(stack.amazon.ads_calls().is_empty());
}

#[tokio::test]
async fn an_encoded_unreserved_character_is_sent_decoded() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let proxy = stack.proxy_allowing(&["POST /sp/campaigns"]);
    let request = Request::new(
        "POST",
        &format!("/api/v1/accounts/{us}/ads/sp/%63ampaigns/lis%74"),
    )
    .header("content-type", CAMPAIGNS_MEDIA_TYPE)
    .body(b"{}".to_vec());
    let answer = stack.send(&proxy, &request, Some(USER)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(stack.amazon.ads_calls()[0].path, "/na/sp/campaigns/list");
}

#[tokio::test]
async fn a_read_only_deployment_passes_gets_and_refuses_the_rest() {
    let (stack, [_, _, instance]) = super::kinds::agency_stack().await;
    let user = super::kinds::AGENCY_USER;
    let base = format!("/api/v1/accounts/{instance}/ads");
    let create = || {
        Request::new("POST", &format!("{base}/amc/audiences/query"))
            .header("Amazon-Advertising-API-EntityId", AMC_ACCOUNT)
            .header("Amazon-Marketing-Cloud-Audience-InstanceId", "amcr1inst000")
            .json(&json!({"audienceName": "a", "query": "SELECT 1"}))
    };
    let read_only = stack.proxy_allowing(&["GET /"]);
    let list = Request::new("GET", &format!("{base}/amc/instances"))
        .header("content-type", "application/json");
    let read = stack.send(&read_only, &list, Some(user)).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let write = Request::new(method, &format!("{base}/amc/instances")).json(&json!({}));
        let refused = stack.send(&read_only, &write, Some(user)).await;
        assert_eq!(refused.status, 404, "{method}");
        assert_eq!(refused.error_code(), "PATH_NOT_ALLOWED", "{method}");
    }
    let refused = stack.send(&read_only, &create(), Some(user)).await;
    assert_eq!(refused.error_code(), "PATH_NOT_ALLOWED");
    assert_eq!(stack.amazon.ads_calls().len(), 1);

    // Methods per entry, whole segments only.
    let audiences_only = stack.proxy_allowing(&["POST /amc/audiences", "GET /amc/instances"]);
    let created = stack.send(&audiences_only, &create(), Some(user)).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    for (method, path) in [
        ("GET", "amc/audiences/query"),
        ("POST", "amc/instances"),
        ("GET", "amc/instancesX"),
        ("GET", "amc"),
    ] {
        let request = Request::new(method, &format!("{base}/{path}"));
        let refused = stack.send(&audiences_only, &request, Some(user)).await;
        assert_eq!(refused.status, 404, "{method} {path}");
        assert_eq!(refused.error_code(), "PATH_NOT_ALLOWED", "{method} {path}");
    }
    let instances = stack.send(&audiences_only, &list, Some(user)).await;
    assert_eq!(instances.status, 200, "{:?}", instances.body);
    assert_eq!(stack.amazon.ads_calls().len(), 3);
}
