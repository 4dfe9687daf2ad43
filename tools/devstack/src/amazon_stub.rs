//! A stand-in for Login with Amazon and the Amazon Ads API, on wiremock. It
//! checks what Amazon checks: form-encoded token requests with the client
//! credentials in the body, the exact redirect URI, the S256 PKCE challenge,
//! single-use codes, bearer tokens and the Ads API client-id header. Tests
//! and the local stack both use it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CLIENT_ID: &str = "amzn1.application-oa2-client.stub";
pub const CLIENT_SECRET: &str = "stub-client-secret";
const ADS_MEDIA_TYPE: &str = "application/vnd.listaccountsresource.v1+json";

/// The endpoints whose answers a test can script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Profiles(&'static str),
    AdsAccounts,
    UserProfile,
    /// `POST /sp/campaigns/list` on any region's host.
    Campaigns,
    /// `POST /reporting/reports` on any region's host.
    Reports,
    /// `GET /dsp/advertisers` on any region's host.
    DspAdvertisers,
    /// `GET /amc/accounts` on any region's host.
    AmcAccounts,
    /// `GET /amc/instances` on any region's host.
    AmcInstances,
    /// `POST /dsp/v1/seats/advertisers/current/list` on any region's host.
    Seats,
    /// `GET /managerAccounts` on the NA host.
    ManagerAccounts,
}

/// An Amazon login: what it can see.
#[derive(Debug, Clone, Default)]
pub struct Login {
    /// `None`: the `profile` scope was not granted.
    pub lwa_profile: Option<Value>,
    /// Region (`na`, `eu`, `fe`) → `/v2/profiles` entries.
    pub profiles: HashMap<&'static str, Vec<Value>>,
    pub ads_accounts: Vec<Value>,
    /// Agency profile id → its DSP advertisers (`/dsp/advertisers`
    /// entries); an agency profile without an entry has no DSP access (403).
    pub dsp_advertisers: HashMap<String, Vec<Value>>,
    /// Region → AMC accounts (`/amc/accounts` entries); `None`: no AMC
    /// access at all (401).
    pub amc_accounts: Option<HashMap<&'static str, Vec<Value>>>,
    /// AMC account id → its instances; an account without an entry has not
    /// accepted AMC's terms (403).
    pub amc_instances: HashMap<String, Vec<Value>>,
    /// DSP advertiser id → its `currentSeats`; an advertiser without an
    /// entry is not visible to the login (403).
    pub seats: HashMap<String, Vec<Value>>,
    /// Seat calls without a `parentEntityId` header are refused, as Amazon
    /// once refused the original system's.
    pub seats_need_parent_entity: bool,
    /// DSP advertiser id → its entity id, as `/managerAccounts` links them.
    pub dsp_entity_ids: HashMap<String, String>,
}

struct Code {
    login: String,
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
pub(crate) struct World {
    pub(crate) logins: HashMap<String, Login>,
    codes: HashMap<String, Code>,
    pub(crate) access_tokens: HashMap<String, String>,
    refresh_tokens: HashMap<String, String>,
    scripted: HashMap<Endpoint, VecDeque<ResponseTemplate>>,
    calls: HashMap<Endpoint, usize>,
    /// The login that consents on the consent page when it is the only one.
    pub(crate) consenting: String,
    /// Every value the token endpoint received, to prove none was stored.
    seen_secrets: Vec<String>,
    /// How long the token endpoint takes to answer normally.
    token_delay: std::time::Duration,
    /// How long every endpoint takes to answer (a slow Amazon).
    latency: std::time::Duration,
    /// Whether a refresh retires the refresh token it was given and issues a
    /// new one (LWA may rotate); off by default.
    rotate_refresh_tokens: bool,
    /// The login behind each refresh request, in the order they arrived.
    refresh_requests: Vec<String>,
    /// Every Ads API call the campaign and report endpoints received.
    pub(crate) ads_calls: Vec<crate::ads_stub::AdsCall>,
}

#[derive(Clone, Default)]
pub struct AmazonWorld(Arc<Mutex<World>>);

impl AmazonWorld {
    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_login(&self, name: &str, login: Login) {
        let mut world = self.world();
        if world.consenting.is_empty() {
            world.consenting = name.to_owned();
        }
        world.logins.insert(name.to_owned(), login);
    }

    /// Changes what `login` can see (Amazon-side changes between syncs).
    pub fn update_login(&self, name: &str, change: impl FnOnce(&mut Login)) {
        if let Some(login) = self.world().logins.get_mut(name) {
            change(login);
        }
    }

    /// The next answers of `endpoint`, before it answers normally again.
    pub fn script(&self, endpoint: Endpoint, responses: Vec<ResponseTemplate>) {
        self.world()
            .scripted
            .entry(endpoint)
            .or_default()
            .extend(responses);
    }

    pub fn calls(&self, endpoint: Endpoint) -> usize {
        self.world().calls.get(&endpoint).copied().unwrap_or(0)
    }

    /// `login` consents on the page `authorization_url` points at: returns the
    /// query Amazon appends to the redirect URI (`code=…&scope=…&state=…`).
    pub fn consent(
        &self,
        authorization_url: &str,
        login: &str,
    ) -> Result<(String, String), String> {
        let url = reqwest::Url::parse(authorization_url).map_err(|e| e.to_string())?;
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let get = |k: &str| {
            query
                .get(k)
                .cloned()
                .ok_or(format!("consent URL lacks {k}"))
        };
        if get("response_type")? != "code"
            || get("code_challenge_method")? != "S256"
            || get("client_id")? != CLIENT_ID
        {
            return Err("consent URL is not a PKCE code request for our client".into());
        }
        let redirect_uri = get("redirect_uri")?;
        let code = format!("ANstub{}", uuid::Uuid::new_v4().simple());
        self.world().codes.insert(
            code.clone(),
            Code {
                login: login.to_owned(),
                challenge: get("code_challenge")?,
                redirect_uri: redirect_uri.clone(),
            },
        );
        // A login without an LWA profile is one that did not grant the
        // `profile` scope: the redirect lists what was granted.
        let granted_profile = self
            .world()
            .logins
            .get(login)
            .is_some_and(|l| l.lwa_profile.is_some());
        let scope = get("scope")?
            .split_whitespace()
            .filter(|scope| granted_profile || *scope != "profile")
            .collect::<Vec<_>>()
            .join(" ");
        let callback = reqwest::Url::parse_with_params(
            &redirect_uri,
            &[
                ("code", code.as_str()),
                ("scope", scope.as_str()),
                ("state", get("state")?.as_str()),
            ],
        )
        .map_err(|e| e.to_string())?;
        Ok((
            redirect_uri,
            callback.query().unwrap_or_default().to_owned(),
        ))
    }

    pub(crate) fn scripted(&self, endpoint: Endpoint) -> Option<ResponseTemplate> {
        let mut world = self.world();
        *world.calls.entry(endpoint).or_default() += 1;
        world
            .scripted
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
    }

    pub(crate) fn login_for(&self, request: &Request) -> Option<Login> {
        let token = request
            .headers
            .get("authorization")?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        let world = self.world();
        let login = world.access_tokens.get(token)?;
        world.logins.get(login).cloned()
    }

    /// Starts the stub on a random loopback port, or on `listener`.
    pub async fn serve(&self, listener: Option<std::net::TcpListener>) -> MockServer {
        let server = match listener {
            Some(listener) => MockServer::builder().listener(listener).start().await,
            None => MockServer::start().await,
        };
        Mock::given(method("POST"))
            .and(path("/auth/o2/token"))
            .respond_with(Slow(TokenEndpoint(self.clone()), self.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/(na|eu|fe)/ap/oa$"))
            .respond_with(crate::consent_page::ConsentPage(self.clone()))
            .mount(&server)
            .await;
        for region in ["na", "eu", "fe"] {
            Mock::given(method("GET"))
                .and(path(format!("/{region}/v2/profiles")))
                .respond_with(Slow(ProfilesEndpoint(self.clone(), region), self.clone()))
                .mount(&server)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/na/adsAccounts/list"))
            .respond_with(Slow(AdsAccountsEndpoint(self.clone()), self.clone()))
            .mount(&server)
            .await;
        crate::ads_stub::mount(self, &server).await;
        crate::dsp_stub::mount(self, &server).await;
        Mock::given(method("GET"))
            .and(path("/user/profile"))
            .respond_with(Slow(UserProfileEndpoint(self.clone()), self.clone()))
            .mount(&server)
            .await;
        server
    }
}

fn error(status: u16, code: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": code, "error_description": description}))
}

/// An endpoint answering after the world's latency.
pub(crate) struct Slow<R>(pub(crate) R, pub(crate) AmazonWorld);

impl<R: Respond> Respond for Slow<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.0.respond(request);
        let latency = self.1.world().latency;
        if latency.is_zero() {
            answer
        } else {
            answer.set_delay(latency)
        }
    }
}

struct TokenEndpoint(AmazonWorld);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record_refresh_request(&request.body);
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

impl AmazonWorld {
    /// Every code, verifier and token that crossed the token endpoint.
    pub fn seen_secrets(&self) -> Vec<String> {
        self.world().seen_secrets.clone()
    }

    /// Tokens for `login` as a finished consent would have issued them.
    pub fn grant(&self, login: &str) -> (String, String) {
        let mut world = self.world();
        let access = format!("Atza|{}", uuid::Uuid::new_v4().simple());
        let refresh = format!("Atzr|{}", uuid::Uuid::new_v4().simple());
        world.access_tokens.insert(access.clone(), login.to_owned());
        world
            .refresh_tokens
            .insert(refresh.clone(), login.to_owned());
        world.seen_secrets.extend([access.clone(), refresh.clone()]);
        (access, refresh)
    }

    /// Makes every endpoint answer after `latency` (`ZERO`: at once).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.world().latency = latency;
    }

    /// Makes the token endpoint answer after `delay` (an LWA latency).
    pub fn set_token_delay(&self, delay: std::time::Duration) {
        self.world().token_delay = delay;
    }

    /// From now on a refresh retires the refresh token it was given and
    /// issues a new one, as LWA may do: the old token then gets
    /// `invalid_grant`.
    pub fn rotate_refresh_tokens(&self, rotate: bool) {
        self.world().rotate_refresh_tokens = rotate;
    }

    /// The login behind each `refresh_token` grant the token endpoint
    /// received (scripted answers included), in arrival order; `"?"` for a
    /// token it does not know (never issued, or retired by rotation).
    pub fn refresh_requests(&self) -> Vec<String> {
        self.world().refresh_requests.clone()
    }

    fn record_refresh_request(&self, body: &[u8]) {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
            return;
        }
        let mut world = self.world();
        let login = form
            .get("refresh_token")
            .and_then(|token| world.refresh_tokens.get(token))
            .cloned()
            .unwrap_or_else(|| "?".to_owned());
        world.refresh_requests.push(login);
    }

    /// Revokes every token of `login` (the user removed the app at Amazon).
    pub fn revoke(&self, login: &str) {
        let mut world = self.world();
        world.refresh_tokens.retain(|_, l| l != login);
        world.access_tokens.retain(|_, l| l != login);
    }
}

pub(crate) fn ads_headers_ok(request: &Request) -> bool {
    request
        .headers
        .get("amazon-advertising-api-clientid")
        .and_then(|v| v.to_str().ok())
        == Some(CLIENT_ID)
}

pub(crate) fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(json!({"code": "UNAUTHORIZED", "details": "Not authorized"}))
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

/// A profile as `/v2/profiles` lists it.
pub fn profile(id: u64, country: &str, name: &str, kind: &str) -> Value {
    json!({
        "profileId": id, "countryCode": country, "currencyCode": "USD", "dailyBudget": 999999999.0,
        "timezone": "America/Los_Angeles",
        "accountInfo": {"marketplaceStringId": "ATVPDKIKX0DER", "id": format!("A{id}"), "type": kind,
                        "name": name, "validPaymentMethod": true}
    })
}

/// An Ads account as `/adsAccounts/list` lists it.
pub fn ads_account(id: &str, status: &str, profile_ids: &[(u64, &str)]) -> Value {
    json!({
        "adsAccountId": id, "accountName": format!("Account {id}"), "status": status,
        "alternateIds": profile_ids.iter().map(|(p, c)| json!({"countryCode": c, "entityId": "ENTITY1", "profileId": p})).collect::<Vec<_>>(),
        "countryCodes": profile_ids.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
    })
}
