//! Secrets never leak from the management flows: with every log line of the
//! settings, connection and account routes (an on-demand refresh, a
//! re-authorization and a disconnect among them) captured at TRACE level, the
//! table, the logs and every answer hold no secret.

use adsconnect_tests::leaks::{Secrets, Transcript, USER, assert_none_leaked};

use super::*;

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);
    stack.create_user(USER, "s@example.com").await;
    let done = t.consent_and_complete(&t.connect().await).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let connection = done.body["connection_id"].as_str().unwrap().to_owned();

    // Settings.
    for path in ["/api/v1/settings", "/api/v1/settings/defaults"] {
        assert_eq!(t.users("GET", path, None).await.status, 200, "{path}");
    }
    t.users(
        "PATCH",
        "/api/v1/settings",
        Some(json!({"theme": "dark", "items_per_page": 50})),
    )
    .await;
    t.users(
        "PATCH",
        "/api/v1/settings",
        Some(json!({"items_per_page": 500})),
    )
    .await;
    t.users("POST", "/api/v1/settings/reset", None).await;

    // Connections and accounts, an on-demand refresh (a sync whose access
    // token is about to expire), a re-authorization.
    let expiring = chrono::Utc::now().timestamp_millis() + 20_000;
    stack
        .set_number(
            &format!("USER#{USER}"),
            &format!("CONN#{connection}"),
            "access_expires_at",
            expiring,
        )
        .await;
    let c = format!("/api/v1/connections/{connection}");
    for path in [
        "/api/v1/connections".to_owned(),
        c.clone(),
        format!("{c}/events"),
        "/api/v1/accounts".to_owned(),
        "/api/v1/accounts/health".to_owned(),
    ] {
        assert_eq!(t.users("GET", &path, None).await.status, 200, "{path}");
    }
    let synced = t.users("POST", &format!("{c}/sync"), None).await;
    assert_eq!(synced.status, 200, "{:?}", synced.body);
    let accounts: Vec<String> = synced.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account_id"].as_str().unwrap().to_owned())
        .collect();
    t.users("GET", &format!("/api/v1/accounts/{}", accounts[0]), None)
        .await;
    t.users(
        "PUT",
        &format!("/api/v1/accounts/{}/default", accounts[1]),
        None,
    )
    .await;
    t.users("DELETE", &format!("/api/v1/accounts/{}", accounts[2]), None)
        .await;
    // DSP seats: a refresh (three pages), the snapshot and the history.
    let dsp = t
        .users("GET", "/api/v1/accounts?kind=dsp_advertiser", None)
        .await;
    let advertiser = dsp.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["advertiser_id"] == "9201000000")
        .and_then(|a| a["account_id"].as_str())
        .unwrap()
        .to_owned();
    let a = format!("/api/v1/accounts/{advertiser}/seats");
    let refreshed = t.users("POST", &format!("{a}/refresh"), None).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    for path in [a.clone(), format!("{a}/history")] {
        assert_eq!(t.users("GET", &path, None).await.status, 200, "{path}");
    }
    let reauthorize = t.users("POST", &format!("{c}/reauthorize"), None).await;
    let renewed = t.consent_and_complete(&reauthorize).await;
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    t.dump().await;

    // Disconnecting.
    assert_eq!(t.users("DELETE", &c, None).await.status, 200);
    t.dump().await;

    // What must appear nowhere.
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 8);
    secrets.data_keys(&proxy, 3);
    assert_none_leaked(&secrets, &[], &logs.text(), &t);
}
