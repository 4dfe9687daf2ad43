//! Floods against the JWKS cache: unknown key ids fetch the key set once.

use std::time::Duration;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_keys_are_cached_and_unknown_kid_floods_fetch_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JWKS_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(signing_key().jwks())
                // Slow, so the whole flood arrives while the one fetch is in flight.
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let verifier = Arc::new(jwks_verifier(&server, &[]));
    let now = unix_now();
    let fetches = || async { server.received_requests().await.unwrap().len() };
    // 200 unknown kids and 20 real tokens at once on a cold cache.
    let mut tokens = unknown_kids(now, 0);
    tokens.extend(std::iter::repeat_n(valid(now), 20));
    let results = verify_all(&verifier, tokens, now).await;
    let (bogus, real) = results.split_at(200);
    assert!(
        bogus
            .iter()
            .all(|r| r.as_ref().err() == Some(&Denial::UnknownKid)),
        "{bogus:?}"
    );
    assert!(real.iter().all(Result::is_ok), "{real:?}");
    assert_eq!(fetches().await, 1, "one fetch for the whole flood");
    // The keys it brought are cached for real tokens…
    let results = verify_all(&verifier, vec![valid(now); 5], now).await;
    assert!(results.iter().all(Result::is_ok));
    // …and a second flood of new kids inside the rate-limit interval fetches nothing.
    let results = verify_all(&verifier, unknown_kids(now, 1), now).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().err() == Some(&Denial::UnknownKid))
    );
    assert_eq!(fetches().await, 1);
}
