//! A few real Ads API endpoints of the Amazon stand-in, for the proxy and
//! the credentials a backend gets: they check what Amazon checks — a live
//! bearer token, our client id, and a scope header naming a profile the
//! login has in the host's region (else 401) — and the media types of the
//! call (else 415). A report request identical to one still pending is
//! Amazon's duplicate (425, naming the pending report). Every call is
//! recorded for the tests; answers can be scripted (401/429/5xx).

use std::collections::hash_map::Entry;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::world::{AmazonWorld, Endpoint, Login, Slow, ads_headers_ok, unauthorized};

pub const CAMPAIGNS_MEDIA_TYPE: &str = "application/vnd.spCampaign.v3+json";
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.createasyncreportrequest.v3+json";

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        for (route, endpoint) in [
            ("/sp/campaigns/list", Endpoint::Campaigns),
            ("/reporting/reports", Endpoint::Reports),
        ] {
            Mock::given(method("POST"))
                .and(path(format!("/{region}{route}")))
                .respond_with(Slow(
                    AdsEndpoint(world.clone(), region, endpoint),
                    world.clone(),
                ))
                .mount(server)
                .await;
        }
    }
}

struct AdsEndpoint(AmazonWorld, &'static str, Endpoint);

impl AdsEndpoint {
    /// The login and its profile, when the token, client id and scope are
    /// what Amazon wants; else Amazon's 401, in its wording for each case
    /// (a token it refuses; a scope missing, or not the login's here).
    fn authorized(&self, request: &Request) -> Result<(Login, String), Refusal> {
        let login = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))
            .ok_or(Refusal::Token)?;
        let scope = request
            .headers
            .get("amazon-advertising-api-scope")
            .and_then(|v| v.to_str().ok())
            .ok_or(Refusal::Scope("Scope header is missing"))?
            .to_owned();
        let in_region = login.profiles.get(self.1).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"].as_u64().map(|id| id.to_string()).as_deref() == Some(scope.as_str())
            })
        });
        if in_region {
            Ok((login, scope))
        } else {
            Err(Refusal::Scope("Not authorized to access scope"))
        }
    }
}

/// Why Amazon refuses a call with 401.
enum Refusal {
    Token,
    Scope(&'static str),
}

impl Refusal {
    fn answer(self) -> ResponseTemplate {
        match self {
            Self::Token => unauthorized(),
            Self::Scope(details) => ResponseTemplate::new(401)
                .set_body_json(json!({"code": "UNAUTHORIZED", "details": details})),
        }
    }
}

impl Respond for AdsEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
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
        let (_, profile) = match self.authorized(request) {
            Ok(authorized) => authorized,
            Err(refusal) => return refusal.answer(),
        };
        let body: Value = match self.2 {
            Endpoint::Reports => match self.0.create_report(profile, request.body.clone()) {
                Ok(report_id) => json!({"reportId": report_id, "status": "PENDING"}),
                Err(pending) => {
                    return ResponseTemplate::new(425).set_body_json(json!({
                        "code": "425",
                        "detail": format!("The Request is a duplicate of : {pending}")
                    }));
                }
            },
            _ => json!({
                "campaigns": [{
                    "campaignId": format!("{profile}01"),
                    "name": format!("Campaign of {profile}"),
                    "state": "ENABLED"
                }],
                "totalResults": 1
            }),
        };
        ResponseTemplate::new(200).set_body_raw(body.to_string(), media)
    }
}

impl AmazonWorld {
    /// A new pending report's id, or `Err` with the id of the pending one
    /// the same request for the same scope already created.
    fn create_report(&self, scope: String, body: Vec<u8>) -> Result<String, String> {
        let mut world = self.world();
        match world.pending_reports.entry((scope, body)) {
            Entry::Occupied(pending) => Err(pending.get().clone()),
            Entry::Vacant(new) => Ok(new.insert(uuid::Uuid::new_v4().to_string()).clone()),
        }
    }

    /// Every report created so far is done: the same request may be made
    /// again.
    pub fn finish_reports(&self) {
        self.world().pending_reports.clear();
    }
}
