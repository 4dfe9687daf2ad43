//! What the Amazon stand-in knows — its logins, the codes and tokens it
//! issued, the answers a test scripted, the calls it received — and what
//! every endpoint shares: finding a request's login, the client-id check,
//! Amazon's 401, a slow Amazon.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::throttle::Throttle;

pub const CLIENT_ID: &str = "amzn1.application-oa2-client.stub";
pub const CLIENT_SECRET: &str = "stub-client-secret";

/// The endpoints whose answers a test can script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Profiles(&'static str),
    AdsAccounts,
    UserProfile,
    /// `POST /sp/campaigns/list` on any region's host.
    Campaigns,
    /// `POST /sp/campaigns` (create) on any region's host.
    CampaignWrites,
    /// `POST /reporting/reports` on any region's host.
    Reports,
    /// `GET` and `DELETE /reporting/reports/{reportId}` on any region's host.
    ReportStatus,
    /// `GET` of a report's file at the pre-signed URL a completed report
    /// names (the stand-in's S3).
    ReportDownload,
    /// `GET /dsp/advertisers` on any region's host.
    DspAdvertisers,
    /// `GET /amc/accounts` on any region's host.
    AmcAccounts,
    /// `GET /amc/instances` on any region's host.
    AmcInstances,
    /// `POST /dsp/v1/seats/advertisers/current/list` on any region's host.
    Seats,
    /// `GET /managerAccounts` on any region's host.
    ManagerAccounts,
    /// `POST /adsApi/v1/query/accountLinks` on any region's host.
    AccountLinks,
    /// `POST` and `GET /amc/audiences/query` on any region's host.
    AmcAudiences,
    /// `GET /amc/instances/{instanceId}/advertisers/updates/` (with its
    /// trailing slash) on any region's host.
    AmcAdvertiserUpdates,
    /// `POST /adsApi/v1/query/campaigns` on any region's host.
    V1Campaigns,
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
    /// Region (`na`, `eu`, `fe`) → the login's manager accounts there, as
    /// `GET /managerAccounts` on that host lists them (built with
    /// [`super::manager_account`]), with any number of links. Each link also
    /// carries a stand-in-only `role` (`ADMIN`, `EDITOR`, `VIEWER`) that
    /// `/managerAccounts` strips (Amazon reports no roles there) and account
    /// links and the write checks use.
    pub manager_accounts: HashMap<&'static str, Vec<Value>>,
    /// The login's client is in Amazon's closed beta of account links
    /// (`POST /adsApi/v1/query/accountLinks`); else that call is 403.
    pub account_links_beta: bool,
    /// The most advertisers one `/dsp/advertisers` page holds, whatever
    /// `count` asked (Amazon may answer fewer than asked before the last
    /// page); `totalResults` stays the true total.
    pub dsp_page_cap: Option<usize>,
}

/// An authorization code the consent issued, for the token endpoint.
pub(super) struct Code {
    pub(super) login: String,
    pub(super) challenge: String,
    pub(super) redirect_uri: String,
}

#[derive(Default)]
pub(super) struct World {
    pub(super) logins: HashMap<String, Login>,
    pub(super) codes: HashMap<String, Code>,
    pub(super) access_tokens: HashMap<String, String>,
    pub(super) refresh_tokens: HashMap<String, String>,
    scripted: HashMap<Endpoint, VecDeque<ResponseTemplate>>,
    calls: HashMap<Endpoint, usize>,
    /// The login that consents on the consent page when it is the only one.
    pub(super) consenting: String,
    /// Every value the token endpoint received, to prove none was stored.
    pub(super) seen_secrets: Vec<String>,
    /// How long the token endpoint takes to answer normally.
    pub(super) token_delay: std::time::Duration,
    /// How long every endpoint takes to answer (a slow Amazon).
    latency: std::time::Duration,
    /// Whether a refresh retires the refresh token it was given and issues a
    /// new one (LWA may rotate); off by default.
    pub(super) rotate_refresh_tokens: bool,
    /// The login behind each refresh request, in the order they arrived.
    pub(super) refresh_requests: Vec<String>,
    /// Every call the Ads endpoints (campaigns, reports, DSP, AMC, v1)
    /// received.
    ads_calls: Vec<AdsCall>,
    /// The endpoints a test throttled, as Amazon does.
    pub(super) throttles: HashMap<Endpoint, Throttle>,
    /// (scope, request body) → id of a created report still pending: the
    /// same request again is Amazon's duplicate (425).
    pub(super) pending_reports: HashMap<(String, Vec<u8>), String>,
    /// The reports created so far and the reporting knobs.
    pub(super) reporting: super::reports_state::Reporting,
    /// The AMC audience executions created so far, as Amazon lists them.
    pub(super) amc_audiences: Vec<Value>,
}

/// One call an Ads endpoint received, as it arrived.
#[derive(Debug, Clone)]
pub struct AdsCall {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl AdsCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
pub struct AmazonWorld(Arc<Mutex<World>>);

impl AmazonWorld {
    pub(super) fn world(&self) -> std::sync::MutexGuard<'_, World> {
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

    /// Counts a call of `endpoint`; the answer that comes before the
    /// endpoint's own, if any: a scripted one, else Amazon's 429 when the
    /// endpoint is throttled.
    pub(super) fn scripted(&self, endpoint: Endpoint) -> Option<ResponseTemplate> {
        let mut world = self.world();
        *world.calls.entry(endpoint).or_default() += 1;
        if let Some(scripted) = world
            .scripted
            .get_mut(&endpoint)
            .and_then(VecDeque::pop_front)
        {
            return Some(scripted);
        }
        world
            .throttles
            .get_mut(&endpoint)
            .and_then(|throttle| throttle.refusal(std::time::Instant::now()))
    }

    /// The login whose access token the request bears.
    pub(super) fn login_for(&self, request: &Request) -> Option<Login> {
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

    /// Keeps `request` among the Ads calls, as it arrived.
    pub(super) fn record(&self, request: &Request) {
        let call = AdsCall {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            body: request.body.clone(),
        };
        self.world().ads_calls.push(call);
    }

    /// Every call the Ads endpoints received, in order.
    pub fn ads_calls(&self) -> Vec<AdsCall> {
        self.world().ads_calls.clone()
    }

    /// The Ads calls whose path ends with `path_suffix`, in order.
    pub fn ads_calls_to(&self, path_suffix: &str) -> Vec<AdsCall> {
        self.world()
            .ads_calls
            .iter()
            .filter(|call| call.path.ends_with(path_suffix))
            .cloned()
            .collect()
    }

    /// Forgets the Ads calls so far (discovery's, when a test looks only at
    /// what came after connecting).
    pub fn forget_ads_calls(&self) {
        self.world().ads_calls.clear();
    }

    /// Every access token issued so far stops working (as one expiring
    /// early, or revoked by Amazon); refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        self.world().access_tokens.clear();
    }

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

    /// Revokes every token of `login` (the user removed the app at Amazon).
    pub fn revoke(&self, login: &str) {
        let mut world = self.world();
        world.refresh_tokens.retain(|_, l| l != login);
        world.access_tokens.retain(|_, l| l != login);
    }
}

/// Whether the call names our client, as every Ads API call must.
pub(super) fn ads_headers_ok(request: &Request) -> bool {
    request
        .headers
        .get("amazon-advertising-api-clientid")
        .and_then(|v| v.to_str().ok())
        == Some(CLIENT_ID)
}

/// Amazon's answer to a token, client id or scope it refuses.
pub(super) fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401)
        .set_body_json(json!({"code": "UNAUTHORIZED", "details": "Not authorized"}))
}

/// An endpoint answering after the world's latency, with a request id as
/// every Amazon answer has (callers log it for Amazon's support).
pub(super) struct Slow<R>(pub(super) R, pub(super) AmazonWorld);

impl<R: Respond> Respond for Slow<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self
            .0
            .respond(request)
            .insert_header("x-amzn-RequestId", uuid::Uuid::new_v4().to_string());
        let latency = self.1.world().latency;
        if latency.is_zero() {
            answer
        } else {
            answer.set_delay(latency)
        }
    }
}
