//! The Login with Amazon side of the stand-in: the token endpoint (form
//! encoded, the client credentials in the body, the exact redirect URI, the
//! S256 PKCE challenge, single-use codes), the user profile, and the
//! profiles and Ads accounts an access token sees.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::world::{
    AmazonWorld, CLIENT_ID, CLIENT_SECRET, Endpoint, Login, Slow, ads_headers_ok, unauthorized,
};

const ADS_MEDIA_TYPE: &str = "application/vnd.listaccountsresource.v1+json";

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(Slow(TokenEndpoint(world.clone()), world.clone()))
        .mount(server)
        .await;
    for region in ["na", "eu", "fe"] {
        Mock::given(method("GET"))
            .and(path(format!("/{region}/v2/profiles")))
            .respond_with(Slow(ProfilesEndpoint(world.clone(), region), world.clone()))
            .mount(server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/na/adsAccounts/list"))
        .respond_with(Slow(AdsAccountsEndpoint(world.clone()), world.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/profile"))
        .respond_with(Slow(UserProfileEndpoint(world.clone()), world.clone()))
        .mount(server)
        .await;
}

fn error(status: u16, code: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": code, "error_description": description}))
}

struct TokenEndpoint(AmazonWorld);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        record_refresh_request(&self.0, &request.body);
        if let Some(scripted) = self.0.scripted(Endpoint::Token) {
            return scripted;
        }
        let form_encoded = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_encoded {
            return error(400, "invalid_request", "body must be form encoded");
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        self.0.world().seen_secrets.extend(
            ["code", "code_verifier", "refresh_token"]
                .iter()
                .filter_map(|k| form.get(*k).cloned()),
        );
        if request.headers.contains_key("authorization")
            || field("client_id") != CLIENT_ID
            || field("client_secret") != CLIENT_SECRET
        {
            return error(401, "invalid_client", "Client authentication failed");
        }
        let mut world = self.0.world();
        let login = match field("grant_type") {
            "authorization_code" => {
                // A code works once, with its own redirect URI and verifier.
                let Some(code) = world.codes.remove(field("code")) else {
                    return error(
                        400,
                        "invalid_grant",
                        "The request has an invalid grant parameter : code",
                    );
                };
                let challenge =
                    URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
                if code.redirect_uri != field("redirect_uri") || code.challenge != challenge {
                    return error(
                        400,
                        "invalid_grant",
                        "The request has an invalid grant parameter : code",
                    );
                }
                code.login
            }
            "refresh_token" => match world.refresh_tokens.get(field("refresh_token")) {
                Some(login) => login.clone(),
                None => {
                    return error(
                        400,
                        "invalid_grant",
                        "The request has an invalid grant parameter : refresh_token",
                    );
                }
            },
            _ => return error(400, "unsupported_grant_type", "unsupported grant type"),
        };
        let access = format!("Atza|{}", uuid::Uuid::new_v4().simple());
        world.access_tokens.insert(access.clone(), login.clone());
        world.seen_secrets.push(access.clone());
        let refresh = match field("grant_type") {
            "refresh_token" if !world.rotate_refresh_tokens => field("refresh_token").to_owned(),
            "refresh_token" => {
                // Rotation: the presented token is retired, a new one issued.
                world.refresh_tokens.remove(field("refresh_token"));
                let refresh = format!("Atzr|{}", uuid::Uuid::new_v4().simple());
                world.refresh_tokens.insert(refresh.clone(), login);
                world.seen_secrets.push(refresh.clone());
                refresh
            }
            _ => {
                let refresh = format!("Atzr|{}", uuid::Uuid::new_v4().simple());
                world.refresh_tokens.insert(refresh.clone(), login);
                world.seen_secrets.push(refresh.clone());
                refresh
            }
        };
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": 3600
            }))
            .set_delay(world.token_delay)
    }
}

/// Notes the login behind a `refresh_token` grant (see
/// [`AmazonWorld::refresh_requests`]).
fn record_refresh_request(world: &AmazonWorld, body: &[u8]) {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return;
    }
    let mut world = world.world();
    let login = form
        .get("refresh_token")
        .and_then(|token| world.refresh_tokens.get(token))
        .cloned()
        .unwrap_or_else(|| "?".to_owned());
    world.refresh_requests.push(login);
}

struct ProfilesEndpoint(AmazonWorld, &'static str);

impl Respond for ProfilesEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(scripted) = self.0.scripted(Endpoint::Profiles(self.1)) {
            return scripted;
        }
        match self.0.login_for(request) {
            Some(login) if ads_headers_ok(request) => ResponseTemplate::new(200)
                .set_body_json(login.profiles.get(self.1).cloned().unwrap_or_default()),
            _ => unauthorized(),
        }
    }
}

struct AdsAccountsEndpoint(AmazonWorld);

impl Respond for AdsAccountsEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(scripted) = self.0.scripted(Endpoint::AdsAccounts) {
            return scripted;
        }
        let media = |name: &str| {
            request.headers.get(name).and_then(|v| v.to_str().ok()) == Some(ADS_MEDIA_TYPE)
        };
        if !media("content-type") || !media("accept") {
            return ResponseTemplate::new(415);
        }
        let Some(login) = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))
        else {
            return unauthorized();
        };
        let body: Value = request.body_json().unwrap_or_default();
        let page = body["maxResults"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
        let start: usize = body["nextToken"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let end = (start + page).min(login.ads_accounts.len());
        let mut answer =
            json!({"adsAccounts": login.ads_accounts.get(start..end).unwrap_or_default()});
        if end < login.ads_accounts.len() {
            answer["nextToken"] = json!(end.to_string());
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

struct UserProfileEndpoint(AmazonWorld);

impl Respond for UserProfileEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if let Some(scripted) = self.0.scripted(Endpoint::UserProfile) {
            return scripted;
        }
        match self.0.login_for(request) {
            Some(Login {
                lwa_profile: Some(profile),
                ..
            }) => ResponseTemplate::new(200).set_body_json(profile),
            Some(_) => error(
                403,
                "insufficient_scope",
                "The access token does not grant the profile scope",
            ),
            None => error(401, "invalid_token", "The access token is invalid"),
        }
    }
}
