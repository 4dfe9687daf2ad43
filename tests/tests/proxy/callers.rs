//! Who gets a token from `credentials`: only a session of a listed role,
//! proven by a GetCallerIdentity it signed for this owner and account,
//! recently, once. moto executes the proofs but does not verify SigV4
//! signatures, so a forged or altered signature is refused here only by
//! what the function checks itself (what is signed, the binding, the date,
//! the host, single use); on AWS, STS refuses the rest.

use std::time::{Duration, SystemTime};

use adsconnect::aws_identity::sts::Sts;
use adsconnect::entrypoints::credentials::vend;
use adsconnect_dev::backend_proof::{GET_CALLER_IDENTITY, assume_role, sign_proof};
use adsconnect_tests::logs::Capture;

use super::credentials::{LISTED, function, payload, proof};
use super::*;

const UNLISTED: &str = "arn:aws:iam::111122223333:role/ci-deploy";
/// The listed role's name in another account.
const LISTED_ELSEWHERE: &str = "arn:aws:iam::444455556666:role/reporting";

async fn code(stack: &Stack, payload: Value) -> Option<&'static str> {
    vend(&function(stack), payload).await.err().map(|e| e.code)
}

fn signed_as(proof: Value, owner: &str, account: &str) -> Value {
    json!({"owner_id": owner, "account_id": account, "proof": proof})
}

#[tokio::test]
async fn a_listed_role_gets_a_token_and_the_log_names_it() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let logs = Capture::start();
    let payload = payload(USER, us).await;
    let granted = vend(&function(&stack), payload.clone())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("credentials handed out"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("arn:aws:sts::111122223333:assumed-role/reporting/backend"),
        "{line}"
    );
    assert!(line.contains(USER) && line.contains(us), "{line}");
    let authorization = payload["proof"]["headers"]["authorization"]
        .as_str()
        .unwrap();
    let signature = authorization.rsplit('=').next().unwrap();
    let session_token = payload["proof"]["headers"]["x-amz-security-token"]
        .as_str()
        .unwrap();
    for secret in [signature, session_token, granted.access_token.as_str()] {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
}

#[tokio::test]
async fn an_unlisted_role_is_forbidden_and_logged() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let logs = Capture::start();
    for role in [UNLISTED, LISTED_ELSEWHERE] {
        let proof = proof(
            role,
            &format!("{USER}/{us}"),
            GET_CALLER_IDENTITY,
            SystemTime::now(),
        )
        .await;
        let failure = vend(&function(&stack), signed_as(proof, USER, us))
            .await
            .err()
            .unwrap();
        assert_eq!(failure.code, "forbidden", "{role}");
        assert!(
            !failure.message.contains("arn:"),
            "nothing that helps: {}",
            failure.message
        );
    }
    let text = logs.text();
    assert!(
        text.lines().any(|l| l.contains("credentials refused")
            && l.contains("assumed-role/ci-deploy/backend")
            && l.contains(USER)),
        "{text}"
    );
}

#[tokio::test]
async fn a_replayed_proof_is_forbidden() {
    let (stack, accounts) = connected_stack().await;
    let payload = payload(USER, accounts.of_profile("5001")).await;
    assert!(vend(&function(&stack), payload.clone()).await.is_ok());
    assert_eq!(code(&stack, payload.clone()).await, Some("forbidden"));
    // Another instance of the function shares the record.
    assert_eq!(code(&stack, payload).await, Some("forbidden"));
}

#[tokio::test]
async fn a_proof_bound_to_another_owner_or_account_is_forbidden() {
    let (stack, accounts) = connected_stack().await;
    stack.create_user(OTHER, "b@example.com").await;
    let (us, de) = (accounts.of_profile("5001"), accounts.of_profile("5101"));
    let for_us = payload(USER, us).await["proof"].clone();
    assert_eq!(
        code(&stack, signed_as(for_us.clone(), USER, de)).await,
        Some("forbidden")
    );
    assert_eq!(
        code(&stack, signed_as(for_us.clone(), OTHER, us)).await,
        Some("forbidden")
    );
    let unbound = proof(LISTED, "", GET_CALLER_IDENTITY, SystemTime::now()).await;
    assert_eq!(
        code(&stack, signed_as(unbound, USER, us)).await,
        Some("forbidden")
    );
    // Rebinding after signing: STS would refuse the signature; the function
    // refuses a proof that does not sign its binding at all.
    let mut unsigned_binding = for_us;
    let authorization = unsigned_binding["headers"]["authorization"]
        .as_str()
        .unwrap()
        .replace("x-adsconnect-credentials;", "");
    unsigned_binding["headers"]["authorization"] = json!(authorization);
    unsigned_binding["headers"]["x-adsconnect-credentials"] = json!(format!("{USER}/{de}"));
    assert_eq!(
        code(&stack, signed_as(unsigned_binding, USER, de)).await,
        Some("forbidden")
    );
}

#[tokio::test]
async fn a_proof_of_another_request_is_forbidden() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let binding = format!("{USER}/{us}");
    for body in [
        "Action=GetCallerIdentity&Version=2011-06-15&Extra=1",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::111122223333:role/admin&RoleSessionName=x",
    ] {
        let proof = proof(LISTED, &binding, body, SystemTime::now()).await;
        assert_eq!(
            code(&stack, signed_as(proof, USER, us)).await,
            Some("forbidden"),
            "{body}"
        );
    }
    // Signed for another host (one the caller would have us call).
    let mut other_host = proof(LISTED, &binding, GET_CALLER_IDENTITY, SystemTime::now()).await;
    other_host["headers"]["host"] = json!("sts.attacker.example");
    assert_eq!(
        code(&stack, signed_as(other_host, USER, us)).await,
        Some("forbidden")
    );
    // A signature that is no SigV4 signature.
    let mut garbled = proof(LISTED, &binding, GET_CALLER_IDENTITY, SystemTime::now()).await;
    garbled["headers"]["authorization"] = json!(
        "AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host;x-amz-date;x-adsconnect-credentials, Signature=zz"
    );
    assert_eq!(
        code(&stack, signed_as(garbled, USER, us)).await,
        Some("forbidden")
    );
}

#[tokio::test]
async fn a_stale_or_future_proof_is_forbidden() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let binding = format!("{USER}/{us}");
    for at in [
        SystemTime::now() - Duration::from_secs(6 * 60),
        SystemTime::now() + Duration::from_secs(6 * 60),
    ] {
        let proof = proof(LISTED, &binding, GET_CALLER_IDENTITY, at).await;
        assert_eq!(
            code(&stack, signed_as(proof, USER, us)).await,
            Some("forbidden")
        );
    }
}

#[tokio::test]
async fn a_crafted_event_claiming_a_listed_role_proves_nothing() {
    let (stack, accounts) = connected_stack().await;
    let us = accounts.of_profile("5001");
    let claims = json!({
        "identity": {"userArn": "arn:aws:sts::111122223333:assumed-role/reporting/backend"},
        "authorizer": {"iam": {"userArn": "arn:aws:sts::111122223333:assumed-role/reporting/backend"}},
    });
    for payload in [
        json!({"owner_id": USER, "account_id": us, "requestContext": claims}),
        json!({"owner_id": USER, "account_id": us, "requestContext": claims, "proof": null}),
        json!({"requestContext": claims, "body": {"owner_id": USER, "account_id": us}}),
    ] {
        let answer = code(&stack, payload.clone()).await;
        assert_eq!(answer, Some("invalid_request"), "{payload}");
    }
}

#[tokio::test]
async fn an_sts_that_cannot_be_reached_is_unavailable() {
    let (stack, accounts) = connected_stack().await;
    let silent_sts = "http://127.0.0.1:9";
    let function = stack.startup.credentials(
        stack.access(),
        vec![LISTED.parse().unwrap()],
        Sts::new(silent_sts).unwrap(),
    );
    let us = accounts.of_profile("5001");
    let session = assume_role(&moto_endpoint(), LISTED).await.unwrap();
    let proof = sign_proof(
        session,
        silent_sts,
        &format!("{USER}/{us}"),
        GET_CALLER_IDENTITY,
        SystemTime::now(),
    )
    .unwrap();
    let failure = vend(&function, signed_as(proof, USER, us))
        .await
        .err()
        .unwrap();
    assert_eq!(failure.code, "unavailable");
}
