//! Secrets never leak from the connect flows: with every log line of the
//! starts, consents, callbacks and completions (connected, replayed,
//! refused, failing, KMS refusing) captured at TRACE level, the table (a
//! pending grant in it too), the logs and every answer hold no secret, and
//! the table no OAuth state or completion.

use adsconnect_tests::leaks::{DOOMED, Secrets, Transcript, USER, assert_none_leaked};
use adsconnect_tests::proxy::Fault;
use wiremock::ResponseTemplate;

use super::*;

#[tokio::test]
async fn no_secret_appears_in_the_table_the_logs_or_any_answer() {
    let (logs, stack, proxy) = adsconnect_tests::leaks::stack().await;
    let t = Transcript::new(&stack);
    stack.create_user(USER, "s@example.com").await;
    stack.create_user(DOOMED, "d@example.com").await;

    // Connect, with discovery in every region; then every way a callback fails.
    let done = t.consent_and_complete(&t.connect().await).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let started = t.connect().await;
    let url = started.body["authorization_url"].as_str().unwrap();
    let (_, query) = stack.amazon.consent(url, "seller").unwrap();
    t.callback(&query).await;
    assert_eq!(
        query_of(&t.callback(&query).await.location())["reason"],
        "invalid_state"
    );
    let state = started.body["state"].as_str().unwrap().to_owned();
    let started = t.connect().await;
    let state_2 = started.body["state"].as_str().unwrap().to_owned();
    t.callback(&format!(
        "error=access_denied&error_description=the+user+said+no&state={state_2}"
    ))
    .await;
    for answers in [
        vec![
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "bad code"})),
        ],
        vec![ResponseTemplate::new(500); 3],
        vec![ResponseTemplate::new(200).set_body_raw("<html>oops</html>", "text/html")],
        vec![ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}))],
    ] {
        stack.amazon.script(Endpoint::Token, answers);
        let reason = t.consent_and_return(&t.connect().await).await;
        assert_eq!(query_of(&reason.location())["amazon"], "error");
    }
    t.send(
        &stack.start,
        Request::new("POST", "/api/v1/amazon/connect")
            .json(&json!({"return_to": "https://evil.example/steal"})),
        Some(USER),
    )
    .await;
    t.dump().await;

    // KMS refusing, in a fresh process: no data key cached.
    let cold_start = stack.cold_start();
    proxy.fail_after("TrentService.", 0, Fault::Error(400, "DisabledException"));
    let refused = t
        .send(
            &cold_start,
            Request::new("POST", "/api/v1/amazon/connect"),
            Some(DOOMED),
        )
        .await;
    proxy.heal();
    assert_eq!(refused.status, 503);
    t.dump().await;

    // What must appear nowhere; OAuth states are stored by hash only.
    let mut secrets = Secrets::new(&t.jwt);
    secrets.amazon(&stack, 8);
    secrets.data_keys(&proxy, 3);
    assert_none_leaked(&secrets, &[state, state_2], &logs.text(), &t);
}
