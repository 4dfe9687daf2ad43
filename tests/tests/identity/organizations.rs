//! The active organization's permissions, as the authorizer passes them on
//! (issue 27.2): Clerk's `ads` permissions when the organization defines
//! that feature, nothing for the role to decide otherwise; a malformed
//! organization claim is denied like any malformed token.

use adsconnect_dev::keys::DevOrganization;

use super::*;

const ALL: &[&str] = &["connect", "manage", "use", "read"];

fn acme<'a>(role: &'a str, features: &'a [(&'a str, &'a [&'a str])]) -> DevOrganization<'a> {
    DevOrganization {
        id: "org_2acme",
        slug: "acme",
        role,
        features,
    }
}

async fn context_of(token: &str) -> Value {
    let response = authorize(
        &pem_verifier(&[APP]),
        &[("Authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert!(response.is_authorized, "{token}");
    Value::Object(response.context)
}

fn in_acme(role: &str, features: &[(&str, &[&str])]) -> String {
    with_claims(unix_now(), |c| acme(role, features).apply(c))
}

#[tokio::test]
async fn an_admin_and_a_member_carry_their_ads_permissions_as_a_comma_list() {
    let admin = in_acme("admin", &[("reports", &["view"]), ("ads", ALL)]);
    assert_eq!(
        context_of(&admin).await,
        json!({"user_id": USER, "session_id": "sess_2abc", "org_id": "org_2acme", "org_slug": "acme",
               "org_role": "admin", "org_permissions": "connect,manage,use,read"})
    );
    let member = in_acme("member", &[("ads", &["read", "use"])]);
    assert_eq!(context_of(&member).await["org_permissions"], "read,use");
    // The organization defines `ads` but grants this member none of it.
    let none = in_acme("analyst", &[("ads", &[]), ("reports", &["view"])]);
    assert_eq!(context_of(&none).await["org_permissions"], "");
}

#[tokio::test]
async fn without_the_ads_feature_the_role_alone_travels() {
    for features in [&[][..], &[("reports", &["view", "export"][..])][..]] {
        let context = context_of(&in_acme("member", features)).await;
        assert_eq!(context["org_role"], "member");
        assert!(context.get("org_permissions").is_none(), "{context}");
    }
    let personal = context_of(&valid(unix_now())).await;
    assert!(personal.get("org_id").is_none() && personal.get("org_permissions").is_none());
}

#[tokio::test]
async fn a_version_1_token_carries_its_ads_permissions_from_org_permissions() {
    let token = with_claims(unix_now(), |c| {
        remove("v")(c);
        remove("sts")(c);
        c["org_id"] = json!("org_2acme");
        c["org_role"] = json!("org:member");
        c["org_permissions"] = json!(["org:ads:read", "org:sys_profile:manage", "org:adsx:use"]);
    });
    let context = context_of(&token).await;
    assert_eq!(context["org_role"], "org:member");
    assert_eq!(context["org_permissions"], "read");
    // A v2 token reads `o` alone, as Clerk's SDK does: its v1 claims are ignored.
    let mixed = with_claims(unix_now(), |c| c["org_id"] = json!("org_2acme"));
    assert!(context_of(&mixed).await.get("org_id").is_none());
}

#[tokio::test]
async fn a_malformed_organization_claim_is_denied() {
    let verifier = pem_verifier(&[APP]);
    let now = unix_now();
    let admin = |c: &mut Value| acme("admin", &[("ads", ALL)]).apply(c);
    let cases: Vec<(&str, String)> = vec![
        (
            "o is a string",
            with_claims(now, |c| c["o"] = json!("org_2acme")),
        ),
        (
            "o without id",
            with_claims(now, |c| c["o"] = json!({"slg": "acme"})),
        ),
        (
            "o.id not an organization id",
            with_claims(now, |c| c["o"] = json!({"id": "user_2acme"})),
        ),
        (
            "o.rol a number",
            with_claims(now, |c| {
                admin(c);
                c["o"]["rol"] = json!(1);
            }),
        ),
        (
            "o.per a list",
            with_claims(now, |c| {
                admin(c);
                c["o"]["per"] = json!(["read"]);
            }),
        ),
        (
            "o.fpm not a decimal",
            with_claims(now, |c| {
                admin(c);
                c["o"]["fpm"] = json!("0xf");
            }),
        ),
        (
            "o.fpm naming a fifth permission",
            with_claims(now, |c| {
                admin(c);
                c["o"]["fpm"] = json!("31");
            }),
        ),
        (
            "fea without a scope",
            with_claims(now, |c| {
                admin(c);
                c["fea"] = json!("ads");
            }),
        ),
        (
            "fea a list",
            with_claims(now, |c| {
                admin(c);
                c["fea"] = json!(["o:ads"]);
            }),
        ),
        (
            "v a string",
            with_claims(now, |c| {
                admin(c);
                c["v"] = json!("2");
            }),
        ),
        (
            "v1 org_permissions a string",
            with_claims(now, |c| {
                remove("v")(c);
                c["org_id"] = json!("org_2acme");
                c["org_permissions"] = json!("org:ads:read");
            }),
        ),
        (
            "v1 org_id not an organization id",
            with_claims(now, |c| {
                remove("v")(c);
                c["org_id"] = json!("acme");
            }),
        ),
    ];
    for (name, token) in &cases {
        assert_eq!(
            verifier.verify_at(token, now).await.err(),
            Some(Denial::Malformed),
            "{name}"
        );
        let response = authorize(&verifier, &[("Authorization", &format!("Bearer {token}"))]).await;
        assert!(
            !response.is_authorized && response.context.is_empty(),
            "{name}"
        );
    }
}
