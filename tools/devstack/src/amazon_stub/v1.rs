//! Ads API v1's campaign query (`POST /adsApi/v1/query/campaigns`) in the
//! Amazon stand-in, checking what v1 checks (reference amazon-dsp-amc.md
//! §7, §8): a live bearer token and v1's own client-id header
//! `Amazon-Ads-ClientId` (else 401), one ad product in
//! `adProductFilter.include` (else 400), and the account (else 403): for
//! AMAZON_DSP a DSP advertiser the login reaches in the host's region (under
//! an agency profile or through a manager account) named by
//! `Amazon-Ads-AccountId`, with any scope beside it the agency profile
//! listing it (else 401); for sponsored ads a profile the login reaches in
//! that region (its own or a linked seller or vendor account's) named by
//! `Amazon-Advertising-API-Scope`, or an Ads account (`amzn1.ads-account…`)
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
            match self.dsp_account(request, &login) {
                Ok(account) => account,
                Err(refusal) => return error(401, "UNAUTHORIZED", refusal),
            }
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
    /// The DSP advertiser `Amazon-Ads-AccountId` names, when the login
    /// reaches it in the host's region (under an agency profile or through
    /// a manager account); a scope beside it must be the agency profile
    /// listing it (§7, §8), else Amazon's 401 message.
    fn dsp_account(
        &self,
        request: &Request,
        login: &Login,
    ) -> Result<Option<String>, &'static str> {
        let Some(named) = header(request, "amazon-ads-accountid") else {
            return Ok(None);
        };
        if header(request, "amazon-advertising-api-scope")
            .is_some_and(|scope| !login.agency_lists(self.1, scope, named))
        {
            return Err("No matching advertiser found for scope");
        }
        Ok(login
            .reaches_advertiser_in(self.1, named)
            .then(|| named.to_owned()))
    }

    /// The profile the scope header names (the login's own or a linked
    /// seller or vendor account's), else the Ads account
    /// `Amazon-Ads-AccountId` names, when the login has it.
    fn sponsored_account(&self, request: &Request, login: &Login) -> Option<String> {
        if let Some(scope) = header(request, "amazon-advertising-api-scope") {
            return login.scope_access(self.1, scope).map(|_| scope.to_owned());
        }
        let account = header(request, "amazon-ads-accountid")?;
        let known = login
            .ads_accounts
            .iter()
            .any(|a| a["adsAccountId"] == account);
        known.then(|| account.to_owned())
    }
}
