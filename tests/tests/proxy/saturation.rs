//! The proxy saturated — every call waiting on a slow Amazon — takes
//! nothing sign-in or the token refresh need: the authorizer verifies a
//! session and a refresher run refreshes a due connection while the calls
//! are in flight. On Lambda the template also keeps their capacity apart:
//! reserved concurrency for the authorizer and the refresher, a cap for the
//! proxy (checked here from the template).

use std::time::Duration;

use adsconnect::auth::{SessionVerifier, VerifierConfig};
use adsconnect::connections::refresh::RefreshConfig;
use adsconnect::entrypoints::authorizer;
use wiremock::ResponseTemplate;

use super::*;

/// Proxied calls at once, each held 8 s by Amazon (far longer than the
/// authorizer and a refresher run need, even on a loaded machine).
const IN_FLIGHT: usize = 30;

#[tokio::test]
async fn sign_in_and_the_token_refresh_work_while_the_proxy_is_saturated() {
    let (stack, accounts) = connected_stack().await;
    stack.amazon.add_login("due", na_seller("due", &[7101]));
    let due = stack
        .seed_connection(OTHER, "due", chrono::Duration::minutes(1))
        .await;
    let slow = || {
        ResponseTemplate::new(200)
            .set_body_raw(r#"{"campaigns":[]}"#, CAMPAIGNS_MEDIA_TYPE)
            .set_delay(Duration::from_secs(8))
    };
    stack.amazon.script(
        Endpoint::Campaigns,
        (0..IN_FLIGHT).map(|_| slow()).collect(),
    );
    // Separate proxy processes, as Lambda runs concurrent calls.
    let proxies: Vec<_> = (0..IN_FLIGHT).map(|_| stack.proxy_allowing(&[])).collect();
    let request = campaigns_list(accounts.of_profile("5001"));
    let saturated = futures::future::join_all(
        proxies
            .iter()
            .map(|proxy| stack.send(proxy, &request, Some(USER))),
    );
    let meanwhile = async {
        // Every call has reached Amazon and waits there.
        while stack.amazon.calls(Endpoint::Campaigns) < IN_FLIGHT {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let verifier = SessionVerifier::new(VerifierConfig {
            issuer: ISSUER.into(),
            jwt_key_pem: Some(signing_key().public_pem.clone()),
            jwks_url: format!("{ISSUER}/.well-known/jwks.json"),
            authorized_parties: Vec::new(),
        })
        .unwrap();
        let token = signing_key().session_token(ISSUER, USER, "sess_2saturated", 60);
        let event = Request::new("GET", "/api/v1/users/me")
            .header("authorization", &format!("Bearer {token}"))
            .authorizer_event("GET /api/v1/users/me");
        let signed_in =
            authorizer::authorize(&verifier, &serde_json::from_value(event).unwrap()).await;
        let run = stack
            .refresher(RefreshConfig::default())
            .run(chrono::Utc::now(), far())
            .await
            .unwrap();
        // Still in flight: Amazon has answered none of the proxied calls.
        let answered = stack.amazon.calls(Endpoint::Campaigns) - IN_FLIGHT;
        (signed_in, run, answered)
    };
    let (answers, (signed_in, run, answered_meanwhile)) = tokio::join!(saturated, meanwhile);
    assert!(signed_in.is_authorized, "{:?}", signed_in.context);
    assert_eq!(run.refreshed, 1, "the due connection {due:?}: {run:?}");
    assert_eq!(answered_meanwhile, 0);
    assert!(answers.iter().all(|a| a.status == 200));
}

#[test]
fn the_template_keeps_sign_in_and_refresh_capacity_apart_from_the_proxy() {
    let template = adsconnect_dev::template::load_template().unwrap();
    for (function, reservation) in [
        ("AuthCheckFunction", "AuthorizerReservedConcurrency"),
        ("TokenRefresherFunction", "RefresherReservedConcurrency"),
        ("AdsProxyFunction", "ProxyConcurrencyLimit"),
    ] {
        let reserved =
            &template["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        assert!(
            format!("{reserved:?}").contains(reservation),
            "{function} reserves {reservation}: {reserved:?}"
        );
        let default = template["Parameters"][reservation]["Default"].as_u64();
        assert!(
            default.is_some_and(|d| d > 0),
            "{reservation} defaults to {default:?}"
        );
    }
}
