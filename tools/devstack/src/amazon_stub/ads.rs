//! A few real Ads API endpoints of the Amazon stand-in, for the proxy and
//! the credentials a backend gets: listing and creating SP campaigns and
//! requesting reports. They check what Amazon checks (reference
//! amazon-dsp-amc.md §5, §6, §8): a live bearer token and our client id;
//! a scope header naming a profile the login reaches in the host's region
//! (its own, or a seller or vendor account its manager accounts link), else
//! 401, and an `Amazon-Ads-AccountId` without a scope is 400; a Viewer
//! link's profile reads but does not write (401); a report names either a
//! scope or a DSP advertiser the login reaches by `Amazon-Ads-AccountId`,
//! never both (400); and the media types of the call (else 415). A report
//! request identical to one still pending is Amazon's duplicate (425,
//! naming the pending report); its body is checked as Amazon does and the
//! report lives on in `reports`. Every call is recorded for the tests;
//! answers can be scripted (401/429/5xx).

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::access::Access;
use super::world::{AmazonWorld, Endpoint, Slow, ads_headers_ok, unauthorized};

pub const CAMPAIGNS_MEDIA_TYPE: &str = "application/vnd.spCampaign.v3+json";
pub const REPORT_MEDIA_TYPE: &str = "application/vnd.createasyncreportrequest.v3+json";

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        for (route, endpoint) in [
            ("/sp/campaigns/list", Endpoint::Campaigns),
            ("/sp/campaigns", Endpoint::CampaignWrites),
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
    /// The account the call names — a profile (scope header), or for
    /// reports a DSP advertiser (`Amazon-Ads-AccountId`) — when the token,
    /// client id and account headers are what Amazon wants; else Amazon's
    /// refusal, in its wording for each case.
    fn authorized(&self, request: &Request) -> Result<String, Refusal> {
        let login = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))
            .ok_or(Refusal::Token)?;
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let scope = header("amazon-advertising-api-scope");
        let account = header("amazon-ads-accountid");
        let scope = match (self.2, scope, account) {
            // Reporting names an ADSP-Reports advertiser by its id alone
            // and refuses both headers together (§6).
            (Endpoint::Reports, Some(_), Some(_)) => {
                return Err(Refusal::BadRequest(
                    "Amazon-Ads-AccountId and Amazon-Advertising-API-Scope: only use one of these headers, not both",
                ));
            }
            (Endpoint::Reports, None, Some(advertiser)) => {
                return if login.reaches_advertiser(advertiser) {
                    Ok(advertiser.to_owned())
                } else {
                    Err(Refusal::Scope("Not authorized to access this advertiser"))
                };
            }
            (_, Some(scope), _) => scope,
            // Sponsored ads need a profile: an account id is no scope
            // (§7, §8).
            (_, None, Some(_)) => return Err(Refusal::BadRequest("Scope header is missing")),
            (_, None, None) => return Err(Refusal::Scope("Scope header is missing")),
        };
        match login.scope_access(self.1, scope) {
            None => Err(Refusal::Scope("Not authorized to access scope")),
            // A Viewer link reads and reports, and is refused edits (§5).
            Some(Access::ReadOnly) if self.2 == Endpoint::CampaignWrites => {
                Err(Refusal::Scope("Not authorized to access scope"))
            }
            Some(_) => Ok(scope.to_owned()),
        }
    }
}

/// Why Amazon refuses a call: 401 for the token or the account, 400 for
/// account headers it cannot use.
pub(super) enum Refusal {
    Token,
    Scope(&'static str),
    BadRequest(&'static str),
}

impl Refusal {
    pub(super) fn answer(self) -> ResponseTemplate {
        match self {
            Self::Token => unauthorized(),
            Self::Scope(details) => ResponseTemplate::new(401)
                .set_body_json(json!({"code": "UNAUTHORIZED", "details": details})),
            Self::BadRequest(details) => {
                ResponseTemplate::new(400).set_body_json(json!({"code": "400", "details": details}))
            }
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
        let accepted = self.2 != Endpoint::CampaignWrites || header("accept") == Some(media);
        if header("content-type") != Some(media) || !accepted {
            return ResponseTemplate::new(415)
                .set_body_json(json!({"code": "UNSUPPORTED_MEDIA_TYPE", "details": media}));
        }
        let account = match self.authorized(request) {
            Ok(account) => account,
            Err(refusal) => return refusal.answer(),
        };
        let (status, body) = match self.2 {
            Endpoint::Reports => return self.0.create_report(self.1, account, request),
            // SP v3 writes answer 207, each item's outcome by its index.
            Endpoint::CampaignWrites => (
                207,
                json!({"campaigns": {
                    "success": [{"index": 0, "campaignId": format!("{account}{}", rand::random::<u32>())}],
                    "error": []
                }}),
            ),
            _ => (
                200,
                json!({
                    "campaigns": [{
                        "campaignId": format!("{account}01"),
                        "name": format!("Campaign of {account}"),
                        "state": "ENABLED"
                    }],
                    "totalResults": 1
                }),
            ),
        };
        ResponseTemplate::new(status).set_body_raw(body.to_string(), media)
    }
}

/// The account a call about an existing report names, checked as its
/// create is (`reports` shares the create's header rules), or Amazon's
/// refusal.
pub(super) fn report_account(
    world: &AmazonWorld,
    region: &'static str,
    request: &Request,
) -> Result<String, Refusal> {
    AdsEndpoint(world.clone(), region, Endpoint::Reports).authorized(request)
}
