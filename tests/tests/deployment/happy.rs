//! `template.yaml`, the local HTTP API, the sample events, the OpenAPI
//! description and the binaries' start-up agree.

use adsconnect::auth::{SessionVerifier, VerifierConfig};
use adsconnect_dev::keys::SigningKey;
use adsconnect_dev::local_api::{DevTokens, LocalApi, ROUTES};

use super::*;

#[test]
fn local_api_serves_exactly_the_template_routes() {
    let local: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.binary().to_owned(),
                r.authorized,
            )
        })
        .collect();
    assert_eq!(local, template_routes());
}

/// Each crate under `functions/` is a function of the template (built from
/// its own directory, `sam build`'s unit), and each function has its crate
/// and its sample events.
#[test]
fn every_function_crate_is_a_template_function_with_sample_events() {
    let template = load_template().unwrap();
    let mut built = BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        assert_eq!(
            resource["Properties"]["CodeUri"].as_str(),
            Some(format!("functions/{binary}").as_str())
        );
        let samples = repo_root().join("events").join(binary);
        assert!(samples.is_dir(), "no events/{binary}");
        built.insert(binary.to_owned());
    }
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(crates, built);
}

#[test]
fn every_route_has_a_sample_event_and_every_sample_is_an_http_api_event() {
    let mut covered = BTreeSet::new();
    for function in [
        "users",
        "clerk-webhook",
        "oauth-start",
        "oauth-callback",
        "ads-proxy",
    ] {
        for entry in std::fs::read_dir(repo_root().join("events").join(function)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["version"] == "2.0" {
                adsconnect_dev::apigw::to_lambda_request(&event).expect("HTTP API 2.0 event");
                covered.insert(event["routeKey"].as_str().unwrap().to_owned());
            }
        }
    }
    let routes: BTreeSet<String> = template_routes()
        .into_iter()
        .map(|(m, p, _, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(covered, routes);
    let authorizer =
        std::fs::read_to_string(repo_root().join("events/auth-check/authorizer-request.json"))
            .unwrap();
    serde_json::from_str::<aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request>(
        &authorizer,
    )
    .unwrap();
}

#[tokio::test]
async fn sample_events_are_answered_by_their_functions() {
    let stack = Stack::new().await;
    let created: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/clerk-payloads/user-created.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stack.post_event(&created).await.status, 200);
    for entry in std::fs::read_dir(repo_root().join("events/users")).unwrap() {
        let path = entry.unwrap().path();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let response = tower::ServiceExt::oneshot(
            stack.users.clone(),
            adsconnect_dev::apigw::to_lambda_request(&event).unwrap(),
        )
        .await
        .unwrap();
        // Samples naming a connection or account name one the dev user does not have.
        let expected = if event["routeKey"].as_str().unwrap().contains("{id}") {
            404
        } else {
            200
        };
        assert_eq!(response.status(), expected, "{}", path.display());
    }
}

/// The local stack end to end over real HTTP: the authorizer as API Gateway
/// applies it, a signed webhook, then `/users/me` with a dev token.
#[tokio::test]
async fn local_http_api_applies_the_authorizer_like_api_gateway() {
    let stack = Stack::new().await;
    let key: &SigningKey = signing_key();
    let verifier = SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: Some(key.public_pem.clone()),
        jwks_url: String::new(),
        authorized_parties: vec![],
    })
    .unwrap();
    let api = LocalApi {
        verifier: std::sync::Arc::new(verifier),
        users: stack.users.clone(),
        clerk_webhook: stack.webhook.clone(),
        oauth_start: stack.start.clone(),
        oauth_callback: stack.callback.clone(),
        ads_proxy: stack.proxy.clone(),
        cors_origins: vec![],
        dev_tokens: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api.into_router()).await });
    let http = reqwest::Client::new();

    let health = http
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let anonymous = http
        .get(format!("{base}/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let forged = http
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        http.get(format!("{base}/nowhere"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let body = user_event(
        "user.created",
        &clerk_user("user_dev", "dev@example.com", 1_000),
    )
    .to_string();
    let signed = signed_webhook(body.as_bytes(), "msg_local", chrono::Utc::now().timestamp());
    let mut post = http
        .post(format!("{base}/webhooks/clerk"))
        .body(body.clone());
    for (name, value) in &signed.headers {
        post = post.header(name, value);
    }
    assert_eq!(post.send().await.unwrap().status(), 200);

    let token = key.session_token(ISSUER, "user_dev", "sess_dev", 60);
    let me = http
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["email"], "dev@example.com");
}

/// The dashboard's view of the local stack: CORS exactly as the template
/// configures API Gateway's, and the dev sign-in's tokens, which carry the
/// dashboard's origin as `azp` (the only party the verifier accepts).
#[tokio::test]
async fn the_local_api_answers_the_dashboards_preflights_and_signs_it_in() {
    const DASHBOARD: &str = "http://localhost:5173";
    let stack = Stack::with_user("user_2dash", "dash@example.com").await;
    let key = SigningKey::generate("ins_dashboard").unwrap();
    let verifier = SessionVerifier::new(VerifierConfig {
        issuer: ISSUER.into(),
        jwt_key_pem: Some(key.public_pem.clone()),
        jwks_url: String::new(),
        authorized_parties: vec![DASHBOARD.into()],
    })
    .unwrap();
    let without_azp = key.session_token(ISSUER, "user_2dash", "sess_2dash", 60);
    let api = LocalApi {
        verifier: std::sync::Arc::new(verifier),
        users: stack.users.clone(),
        clerk_webhook: stack.webhook.clone(),
        oauth_start: stack.start.clone(),
        oauth_callback: stack.callback.clone(),
        ads_proxy: stack.proxy.clone(),
        cors_origins: vec![DASHBOARD.into()],
        dev_tokens: Some(std::sync::Arc::new(DevTokens {
            key,
            issuer: ISSUER.into(),
            authorized_party: DASHBOARD.into(),
        })),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api.into_router()).await });
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("{base}/api/v1/settings"))
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight(DASHBOARD).await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
    };
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some(DASHBOARD)
    );
    assert!(
        header(&allowed, "access-control-allow-methods")
            .is_some_and(|m| m.contains("patch") && m.contains("delete"))
    );
    assert!(
        header(&allowed, "access-control-allow-headers")
            .is_some_and(|h| h.contains("authorization") && h.contains("content-type"))
    );
    assert_eq!(
        header(&allowed, "access-control-max-age").as_deref(),
        Some("600")
    );
    let foreign = preflight("https://evil.example").await.unwrap();
    assert_eq!(header(&foreign, "access-control-allow-origin"), None);

    let signed_in: Value = http
        .post(format!("{base}/_dev/token"))
        .json(&serde_json::json!({"user_id": "user_2dash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_in["token"].as_str().unwrap();
    let me = http
        .get(format!("{base}/api/v1/users/me"))
        .header("origin", DASHBOARD)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        header(&me, "access-control-allow-origin").as_deref(),
        Some(DASHBOARD)
    );
    assert!(
        header(&me, "access-control-expose-headers")
            .is_some_and(|h| h.contains("x-request-id") && h.contains("retry-after"))
    );
    let refused = http
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(without_azp)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "a token for no authorized party");
    let bad = http
        .post(format!("{base}/_dev/token"))
        .json(&serde_json::json!({"user_id": "bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

/// Runs `name` with only `env` (and a region) set, expecting it to stop at
/// start-up: exit code 1, one line naming `variable`, no panic.
fn assert_start_up_fails_naming(name: &str, env: &[(&str, &str)], variable: &str) {
    let path = binary(name);
    assert!(
        path.exists(),
        "{} not built: scripts/test builds it first",
        path.display()
    );
    let output = std::process::Command::new(&path)
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = format!("{stdout}{stderr}");
    assert_eq!(output.status.code(), Some(1), "{name} {env:?}: {text}");
    assert!(text.contains(variable), "{name} {env:?}: {text}");
    assert!(!text.contains("panicked"), "{name} {env:?}: {text}");
    assert_eq!(
        text.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{name} {env:?}: {text}"
    );
}

#[test]
fn missing_configuration_fails_start_up_with_one_line_naming_the_variable() {
    for (name, variable) in [
        ("auth-check", "CLERK_ISSUER"),
        ("users", "TABLE_NAME"),
        ("clerk-webhook", "TABLE_NAME"),
    ] {
        assert_start_up_fails_naming(name, &[], variable);
    }
}

/// `iss` is compared exactly, so an issuer Clerk never writes would deny
/// every token: the authorizer refuses to start instead.
#[test]
fn an_issuer_other_than_an_exact_https_origin_fails_auth_check_start_up() {
    for issuer in [
        "https://clerk.example.com/",
        "https://clerk.example.com/tenant",
        "http://clerk.example.com",
    ] {
        assert_start_up_fails_naming("auth-check", &[("CLERK_ISSUER", issuer)], "CLERK_ISSUER");
    }
}

/// The dashboard's typed client is generated from `web/openapi.json`: it
/// must be the document the code serves, so the UI cannot compile against
/// a route or field that does not exist.
#[test]
fn the_committed_openapi_document_is_the_one_the_code_serves() {
    let committed: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("web/openapi.json")).expect("web/openapi.json"),
    )
    .expect("web/openapi.json is JSON");
    let served = serde_json::to_value(adsconnect::entrypoints::http::openapi::document()).unwrap();
    assert!(
        committed == served,
        "web/openapi.json differs from the code's document: run scripts/openapi and commit it"
    );
}

/// `GET /api/v1/openapi.json`: OpenAPI 3.1, every route of the template,
/// security exactly where the authorizer is.
#[tokio::test]
async fn the_openapi_description_covers_every_route_with_its_security() {
    let stack = Stack::new().await;
    let response = stack
        .send(
            &stack.users,
            &Request::new("GET", "/api/v1/openapi.json"),
            None,
        )
        .await;
    assert_eq!(response.status, 200);
    let doc = response.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["clerk_session"]["scheme"],
        "bearer"
    );
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            // Public operations carry an empty `security` list.
            let secured = operation["security"]
                .as_array()
                .is_some_and(|requirements| !requirements.is_empty());
            described.insert((method.to_uppercase(), path.clone(), secured));
            for (status, answer) in operation["responses"].as_object().unwrap() {
                let schema = &answer["content"]["application/json"]["schema"];
                // 401 and 403 behind the authorizer are API Gateway's own.
                if secured && (status == "401" || status == "403") {
                    assert!(
                        schema.to_string().contains("GatewayMessage"),
                        "{method} {path} {status}"
                    );
                } else if path == "/api/v1/health" && status == "503" {
                    // Degraded health is a report, not an error: the same body.
                    assert_eq!(schema["$ref"], "#/components/schemas/HealthReport");
                } else if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        schema["$ref"], "#/components/schemas/ErrorResponse",
                        "{method} {path} {status}"
                    );
                }
            }
            if secured {
                assert!(
                    operation["responses"].get("403").is_some(),
                    "{method} {path}"
                );
            }
        }
    }
    // OpenAPI has no ANY and no greedy `{name+}`: the proxy route is
    // described for each method it passes on, with `{proxy}`.
    let routes: BTreeSet<_> = template_routes()
        .into_iter()
        .flat_map(|(method, path, _, authorized)| {
            let methods = match method.as_str() {
                "ANY" => vec!["GET", "POST", "PUT", "PATCH", "DELETE"],
                _ => vec![method.as_str()],
            };
            let path = path.replace("{proxy+}", "{proxy}");
            methods
                .into_iter()
                .map(|m| (m.to_owned(), path.clone(), authorized))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(described, routes);
    // Every schema a response or body names is defined.
    let text = doc.to_string();
    for reference in text.split("#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "undefined schema {name}"
        );
    }
}

/// Each function's timeout in the template is the budget its code answers
/// within (`budget::timeouts`), and every HTTP one is under API Gateway's
/// 30 s integration limit.
#[test]
fn function_timeouts_match_the_code_and_stay_under_api_gateways_limit() {
    use adsconnect::budget::timeouts;
    let template = load_template().unwrap();
    let default = template["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let timeout_of = |binary: &str| {
        let resources = template["Resources"].as_mapping().unwrap();
        let function = resources
            .values()
            .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
            .unwrap();
        function["Properties"]["Timeout"]
            .as_u64()
            .unwrap_or(default)
    };
    for (binary, budget) in [
        ("auth-check", timeouts::AUTH_CHECK),
        ("users", timeouts::USERS),
        ("clerk-webhook", timeouts::CLERK_WEBHOOK),
        ("oauth-start", timeouts::OAUTH_START),
        ("oauth-callback", timeouts::OAUTH_CALLBACK),
        ("ads-proxy", timeouts::ADS_PROXY),
        ("credentials", timeouts::CREDENTIALS),
    ] {
        assert_eq!(timeout_of(binary), budget.as_secs(), "{binary}");
        assert!(budget.as_secs() < 30, "{binary}");
    }
}

/// utoipa names a schema after its type and keeps one of two types with the
/// same name, silently describing the other's fields wrongly (a health
/// report once displaced the connection `Health` enum). Every type deriving
/// `ToSchema` must have a name of its own.
#[test]
fn no_two_schema_types_share_a_name() {
    fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&repo_root().join("shared/src"), &mut files);
    let mut seen: std::collections::BTreeMap<String, PathBuf> = Default::default();
    // The type named at the start of `rest`, once in the whole crate.
    let mut record = |rest: &str, file: &Path| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(other) = seen.insert(name.clone(), file.to_path_buf()) {
            panic!(
                "two ToSchema types named {name}: {} and {}",
                other.display(),
                file.display()
            );
        }
    };
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Macros that implement ToSchema for the type they are given first.
        let macros: Vec<String> = text
            .split("macro_rules! ")
            .skip(1)
            .filter(|body| {
                body.split("\n}\n")
                    .next()
                    .unwrap_or_default()
                    .contains("ToSchema for $")
            })
            .filter_map(|body| body.split_whitespace().next().map(|m| format!("{m}!(")))
            .collect();
        let (mut in_derive, mut pending) = (false, false);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, &line) in lines.iter().enumerate() {
            let by_hand = line
                .strip_prefix("impl utoipa::ToSchema for ")
                .filter(|rest| !rest.starts_with('$'));
            // The macro's first argument, past any doc comment.
            let by_macro = macros
                .iter()
                .find_map(|m| line.strip_prefix(m.as_str()))
                .map(|rest| match rest {
                    "" => lines[i + 1..]
                        .iter()
                        .find(|l| !l.starts_with("///") && !l.starts_with("#["))
                        .copied()
                        .unwrap_or_default(),
                    rest => rest,
                });
            if let Some(rest) = by_hand.or(by_macro) {
                record(rest, &file);
                continue;
            }
            in_derive |= line.starts_with("#[derive(");
            pending |= in_derive && line.contains("ToSchema");
            in_derive &= !line.ends_with(")]");
            let name = ["pub struct ", "pub enum ", "struct ", "enum "]
                .iter()
                .find_map(|keyword| line.strip_prefix(keyword));
            if let (true, Some(rest)) = (pending, name) {
                record(rest, &file);
                pending = false;
            }
        }
    }
    // The scan saw at least every type the document describes.
    let document =
        serde_json::to_value(adsconnect::entrypoints::http::openapi::document()).unwrap();
    let described = document["components"]["schemas"].as_object().unwrap();
    // (Besides the ones `entrypoints/http/openapi.rs` adds by name, like API Gateway's own message.)
    let by_name =
        std::fs::read_to_string(repo_root().join("shared/src/entrypoints/http/openapi.rs"))
            .unwrap();
    for name in described.keys() {
        assert!(
            seen.contains_key(name) || by_name.contains(&format!("\"{name}\".into()")),
            "{name} is described but the scan missed it"
        );
    }
}
