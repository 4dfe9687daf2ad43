//! A few real Ads API endpoints of the Amazon stand-in, for the proxy and
//! the credentials a backend gets: they check what Amazon checks — a live
//! bearer token, our client id, and a scope header naming a profile the
//! login has in the host's region (else 401) — and the media types of the
//! call (else 415). Every call is recorded for the tests; answers can be
//! scripted (401/429/5xx).

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::amazon_stub::{AmazonWorld, Endpoint, Login, Slow, ads_headers_ok, unauthorized};

pub const CAMPAIGNS_MEDIA_TYPE: &str = "application/vnd.spCampaign.v3+json";
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.createasyncreportrequest.v3+json";

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

impl AmazonWorld {
    /// Every call the campaign, report, DSP and AMC endpoints received, in order.
    pub fn ads_calls(&self) -> Vec<AdsCall> {
        self.world().ads_calls.clone()
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
}

pub(crate) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        Mock::given(method("POST"))
            .and(path(format!("/{region}/sp/campaigns/list")))
            .respond_with(Slow(
                AdsEndpoint(world.clone(), region, Endpoint::Campaigns),
                world.clone(),
            ))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{region}/reporting/reports")))
            .respond_with(Slow(
                AdsEndpoint(world.clone(), region, Endpoint::Reports),
                world.clone(),
            ))
            .mount(server)
            .await;
    }
}

struct AdsEndpoint(AmazonWorld, &'static str, Endpoint);

/// Keeps `request` among the world's Ads calls, as it arrived.
pub(crate) fn record(world: &AmazonWorld, request: &Request) {
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
    world.world().ads_calls.push(call);
}

impl AdsEndpoint {
    /// The login, when the token, client id and scope are what Amazon wants.
    fn authorized(&self, request: &Request) -> Option<(Login, String)> {
        let login = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))?;
        let scope = request
            .headers
            .get("amazon-advertising-api-scope")?
            .to_str()
            .ok()?
            .to_owned();
        let in_region = login.profiles.get(self.1).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"].as_u64().map(|id| id.to_string()).as_deref() == Some(scope.as_str())
            })
        });
        in_region.then_some((login, scope))
    }
}

impl Respond for AdsEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        record(&self.0, request);
        if let Some(scripted) = self.0.scripted(self.2) {
            return scripted;
        }
        let media = match self.2 {
            Endpoint::Reports => REPORT_MEDIA_TYPE,
            _ => CAMPAIGNS_MEDIA_TYPE,
        };
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        if header("content-type") != Some(media) {
            return ResponseTemplate::new(415)
                .set_body_json(json!({"code": "UNSUPPORTED_MEDIA_TYPE", "details": media}));
        }
        let Some((_, profile)) = self.authorized(request) else {
            return unauthorized();
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let body: Value = match self.2 {
            Endpoint::Reports => {
                json!({"reportId": uuid::Uuid::new_v4().to_string(), "status": "PENDING"})
            }
            _ => json!({
                "campaigns": [{
                    "campaignId": format!("{profile}01"),
                    "name": format!("Campaign of {profile}"),
                    "state": "ENABLED"
                }],
                "totalResults": 1
            }),
        };
        ResponseTemplate::new(200)
            .set_body_raw(body.to_string(), media)
            .insert_header("x-amzn-requestid", request_id.as_str())
    }
}
