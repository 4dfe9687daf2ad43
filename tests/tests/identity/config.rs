//! The verifier's configuration: `CLERK_ISSUER` must be exactly the origin
//! Clerk writes into `iss`, else the authorizer does not start (one line
//! naming the variable; `deployment` runs the binary itself).

use super::*;

fn verifier_for(issuer: &str) -> Result<SessionVerifier, String> {
    SessionVerifier::new(VerifierConfig {
        issuer: issuer.into(),
        jwt_key_pem: Some(signing_key().public_pem.clone()),
        jwks_url: format!("{ISSUER}{JWKS_PATH}"),
        authorized_parties: Vec::new(),
    })
    .map_err(|e| e.to_string())
}

#[test]
fn an_issuer_that_is_not_exactly_an_https_origin_stops_the_verifier() {
    let refused = [
        ("a trailing slash", format!("{ISSUER}/")),
        ("two trailing slashes", format!("{ISSUER}//")),
        ("a path", format!("{ISSUER}/v1")),
        ("a query", format!("{ISSUER}?instance=1")),
        ("a fragment", format!("{ISSUER}#top")),
        (
            "user information",
            ISSUER.replace("https://", "https://admin@"),
        ),
        ("http", ISSUER.replace("https:", "http:")),
        ("another scheme", ISSUER.replace("https:", "ftp:")),
        ("no scheme", ISSUER.replace("https://", "")),
        ("upper case", ISSUER.to_uppercase()),
        ("the default port spelt out", format!("{ISSUER}:443")),
        ("surrounding space", format!(" {ISSUER} ")),
        ("http to a private address", "http://10.0.0.7:3000".into()),
        (
            "http to a name starting like loopback",
            "http://127.0.0.1.evil.example".into(),
        ),
        (
            "http to a name ending like loopback",
            "http://localhost.evil.example".into(),
        ),
        (
            "http to loopback with a path",
            "http://127.0.0.1:3000/".into(),
        ),
        ("not a URL", "clerk".into()),
    ];
    for (case, issuer) in refused {
        let error = verifier_for(&issuer).err();
        let error = error.unwrap_or_else(|| panic!("{case}: {issuer:?} accepted"));
        assert!(error.contains("CLERK_ISSUER"), "{case}: {error}");
        assert_eq!(error.lines().count(), 1, "{case}: {error}");
    }
}

#[test]
fn https_origins_and_http_on_loopback_are_accepted_as_issuers() {
    for issuer in [
        ISSUER,
        "https://clerk.example.com",
        "https://inspired-puma-74.clerk.accounts.dev",
        "https://clerk.example.com:8443",
        // The local stack's issuer.
        "https://clerk.adsconnect.localhost",
        // A Clerk stand-in on this machine may speak plain http.
        "http://127.0.0.1:3000",
        "http://localhost:3000",
        "http://localhost",
        "http://[::1]:3000",
    ] {
        if let Err(error) = verifier_for(issuer) {
            panic!("{issuer}: {error}");
        }
    }
}
