//! Ads API v1's campaign query (`POST /adsApi/v1/query/campaigns`) in the
//! Amazon stand-in, checking what v1 checks: a live bearer token and v1's
//! own client-id header `Amazon-Ads-ClientId` (else 401), one ad product in
//! `adProductFilter.include` (else 400), and the account (else 403): for
//! AMAZON_DSP a DSP advertiser of the login in the host's region named by
//! `Amazon-Ads-AccountId`; for sponsored ads a profile of that region named
//! by `Amazon-Advertising-API-Scope`, or an Ads account (`amzn1.ads-account…`)
//! named by `Amazon-Ads-AccountId`. Errors are v1's `{"code", "message"}`.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::dsp::header;
use super::world::{AmazonWorld, CLIENT_ID, Endpoint, Login, Slow};

const AD_PRODUCTS: [&str; 5] = [
    "SPONSORED_PRODUCTS",
    "SPONSORED_BRANDS",
    "SPONSORED_DISPLAY",
    "SPONSORED_TELEVISION",
    "AMAZON_DSP",
];

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        Mock::given(method("POST"))
            .and(path(format!("/{region}/adsApi/v1/query/campaigns")))
            .respond_with(Slow(V1Campaigns(world.clone(), region), world.clone()))
            .mount(server)
            .await;
    }
}

fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"code": code, "message": message}))
}

struct V1Campaigns(AmazonWorld, &'static str);

impl Respond for V1Campaigns {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
        if let Some(scripted) = self.0.scripted(Endpoint::V1Campaigns) {
            return scripted;
        }
        let Some(login) = self
            .0
            .login_for(request)
            .filter(|_| header(request, "amazon-ads-clientid") == Some(CLIENT_ID))
        else {
            return error(
                401,
                "UNAUTHORIZED",
                "The request lacks the necessary credentials",
            );
        };
        let body: Value = request.body_json().unwrap_or_default();
        let ad_product = match body["adProductFilter"]["include"]
            .as_array()
            .map(Vec::as_slice)
        {
            Some([one]) => one.as_str().filter(|p| AD_PRODUCTS.contains(p)),
            _ => None,
        };
        let Some(ad_product) = ad_product else {
            return error(
                400,
                "BAD_REQUEST",
                "adProductFilter.include must name one ad product",
            );
        };
        if body
            .get("maxResults")
            .is_some_and(|m| !m.as_u64().is_some_and(|m| (1..=5000).contains(&m)))
        {
            return error(400, "BAD_REQUEST", "maxResults must be 1 to 5000");
        }
        let account = if ad_product == "AMAZON_DSP" {
            self.dsp_account(request, &login)
        } else if header(request, "amazon-advertising-api-scope")
            .or(header(request, "amazon-ads-accountid"))
            .is_none()
        {
            return error(
                400,
                "BAD_REQUEST",
                "Amazon-Advertising-API-Scope or Amazon-Ads-AccountId is required",
            );
        } else {
            self.sponsored_account(request, &login)
        };
        let Some(account) = account else {
            return error(
                403,
                "FORBIDDEN",
                "The caller is not authorized to make the given request",
            );
        };
        let campaigns = json!({
            "campaigns": [{
                "campaignId": format!("{account}01"),
                "name": format!("Campaign of {account}"),
                "adProduct": ad_product,
                "state": "ENABLED"
            }],
            "nextToken": null
        });
        ResponseTemplate::new(200).set_body_json(campaigns)
    }
}

impl V1Campaigns {
    /// The login's profile ids in the host's region.
    fn profile_ids<'a>(&self, login: &'a Login) -> impl Iterator<Item = String> + 'a {
        login
            .profiles
            .get(self.1)
            .into_iter()
            .flatten()
            .filter_map(|p| p["profileId"].as_u64().map(|id| id.to_string()))
    }

    /// The DSP advertiser `Amazon-Ads-AccountId` names, when the login sees
    /// it under an agency profile of the host's region.
    fn dsp_account(&self, request: &Request, login: &Login) -> Option<String> {
        let named = header(request, "amazon-ads-accountid")?;
        let visible = self.profile_ids(login).any(|profile| {
            login
                .dsp_advertisers
                .get(&profile)
                .is_some_and(|advertisers| advertisers.iter().any(|a| a["advertiserId"] == named))
        });
        visible.then(|| named.to_owned())
    }

    /// The profile the scope header names, else the Ads account
    /// `Amazon-Ads-AccountId` names, when the login has it.
    fn sponsored_account(&self, request: &Request, login: &Login) -> Option<String> {
        if let Some(scope) = header(request, "amazon-advertising-api-scope") {
            let known = self.profile_ids(login).any(|id| id == scope);
            return known.then(|| scope.to_owned());
        }
        let account = header(request, "amazon-ads-accountid")?;
        let known = login
            .ads_accounts
            .iter()
            .any(|a| a["adsAccountId"] == account);
        known.then(|| account.to_owned())
    }
}
