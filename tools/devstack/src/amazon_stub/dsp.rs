//! The DSP and AMC endpoints of the Amazon stand-in, checking what Amazon's
//! DSP and AMC API references say Amazon checks (reference
//! amazon-dsp-amc.md §1–§3, §6): DSP advertisers under an agency profile
//! named by the scope header (paged by `startIndex`, pages capped by the
//! login's `dsp_page_cap` as Amazon may answer fewer than asked); AMC
//! accounts, and each AMC account's instances (its AdvertiserId and
//! MarketplaceId headers); an advertiser's seats (`Amazon-Ads-AccountId` of
//! an advertiser the login reaches under an agency profile or through a
//! manager account, else 403; a scope beside it must be the agency profile
//! listing it, else 401; `nextToken` pages). Logins without access get
//! Amazon's 401/403 answers. Every call is recorded; answers can be
//! scripted.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::world::{AmazonWorld, Endpoint, Login, Slow, ads_headers_ok, unauthorized};

/// The stand-in's page of AMC accounts, AMC instances and seats: smaller
/// than Amazon's maximum (a server may answer fewer), so paging shows.
const PAGE: usize = 10;

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        for (verb, route, endpoint) in [
            ("GET", "/dsp/advertisers", Endpoint::DspAdvertisers),
            ("GET", "/amc/accounts", Endpoint::AmcAccounts),
            ("GET", "/amc/instances", Endpoint::AmcInstances),
            (
                "POST",
                "/dsp/v1/seats/advertisers/current/list",
                Endpoint::Seats,
            ),
        ] {
            Mock::given(method(verb))
                .and(path(format!("/{region}{route}")))
                .respond_with(Slow(
                    DspEndpoint(world.clone(), region, endpoint),
                    world.clone(),
                ))
                .mount(server)
                .await;
        }
    }
}

pub(super) fn refusal(status: u16, code: &str, details: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code, "details": details, "message": details,
        "requestId": uuid::Uuid::new_v4().to_string()
    }))
}

pub(super) fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `items[start..]` as one page of at most `size`, and the `nextToken` of
/// the rest.
fn page(items: &[Value], start: usize, size: usize) -> (Vec<Value>, Option<String>) {
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("page-{end}"));
    (items.get(start..end).unwrap_or_default().to_vec(), next)
}

fn token_start(token: Option<String>) -> Option<usize> {
    match token {
        None => Some(0),
        Some(token) => token.strip_prefix("page-")?.parse().ok(),
    }
}

struct DspEndpoint(AmazonWorld, &'static str, Endpoint);

impl Respond for DspEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
        if let Some(scripted) = self.0.scripted(self.2) {
            return scripted;
        }
        let Some(login) = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))
        else {
            return unauthorized();
        };
        match self.2 {
            Endpoint::DspAdvertisers => self.advertisers(request, &login),
            Endpoint::AmcAccounts => self.amc_accounts(request, &login),
            Endpoint::AmcInstances => self.amc_instances(request, &login),
            _ => list_seats(request, &login, self.1),
        }
    }
}

impl DspEndpoint {
    fn advertisers(&self, request: &Request, login: &Login) -> ResponseTemplate {
        let scope = header(request, "amazon-advertising-api-scope").unwrap_or_default();
        let agency = login.profiles.get(self.1).is_some_and(|profiles| {
            profiles.iter().any(|p| {
                p["profileId"].as_u64().map(|id| id.to_string()).as_deref() == Some(scope)
                    && p["accountInfo"]["type"] == "agency"
            })
        });
        if !agency {
            return refusal(401, "UNAUTHORIZED", "Not authorized to access scope");
        }
        let Some(advertisers) = login.dsp_advertisers.get(scope) else {
            return refusal(403, "FORBIDDEN", "No DSP access for this profile");
        };
        let start: Option<usize> = query(request, "startIndex").map_or(Some(0), |s| s.parse().ok());
        let count: Option<usize> = query(request, "count").map_or(Some(100), |s| s.parse().ok());
        let (Some(start), Some(count)) = (start, count) else {
            return refusal(
                422,
                "DSP_INVALID_QUERY_PARAM",
                "startIndex and count are numbers",
            );
        };
        if start > 29_900 || !(1..=100).contains(&count) {
            return refusal(
                422,
                "DSP_INVALID_QUERY_PARAM",
                "startIndex or count out of range",
            );
        }
        // Amazon may answer fewer than `count` before the last page.
        let size = login.dsp_page_cap.map_or(count, |cap| count.min(cap));
        let (listed, _) = page(advertisers, start, size);
        ResponseTemplate::new(200)
            .set_body_json(json!({"totalResults": advertisers.len(), "response": listed}))
    }

    fn amc_accounts(&self, request: &Request, login: &Login) -> ResponseTemplate {
        let Some(regions) = &login.amc_accounts else {
            return refusal(401, "UNAUTHORIZED", "Not authorized to access AMC");
        };
        let accounts = regions.get(self.1).cloned().unwrap_or_default();
        let Some(start) = token_start(query(request, "nextToken")) else {
            return refusal(400, "INVALID_ARGUMENT", "unknown nextToken");
        };
        let (listed, next) = page(&accounts, start, PAGE);
        ResponseTemplate::new(200).set_body_json(json!({"amcAccounts": listed, "nextToken": next}))
    }

    fn amc_instances(&self, request: &Request, login: &Login) -> ResponseTemplate {
        let (Some(account_id), Some(marketplace)) = (
            header(request, "amazon-advertising-api-advertiserid"),
            header(request, "amazon-advertising-api-marketplaceid"),
        ) else {
            return refusal(400, "400", "entityId provided is null");
        };
        if header(request, "content-type") != Some("application/json") {
            return refusal(415, "415", "Content-Type must be application/json");
        }
        let known = login
            .amc_accounts
            .as_ref()
            .and_then(|regions| regions.get(self.1))
            .is_some_and(|accounts| {
                accounts
                    .iter()
                    .any(|a| a["accountId"] == account_id && a["marketplaceId"] == marketplace)
            });
        if !known {
            return refusal(403, "403", "Not authorized for this AMC account");
        }
        let Some(instances) = login.amc_instances.get(account_id) else {
            return refusal(
                403,
                "403",
                "Terms and conditions must be accepted to continue",
            );
        };
        let limit: usize = query(request, "limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(10);
        let Some(start) = token_start(query(request, "nextToken")) else {
            return refusal(400, "400", "unknown nextToken");
        };
        let (listed, next) = page(instances, start, limit.clamp(1, 100).min(PAGE));
        ResponseTemplate::new(200).set_body_json(json!({"instances": listed, "nextToken": next}))
    }
}

fn list_seats(request: &Request, login: &Login, region: &str) -> ResponseTemplate {
    if header(request, "content-type") != Some("application/json") {
        return refusal(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "Content-Type must be application/json",
        );
    }
    let Some(advertiser_id) = header(request, "amazon-ads-accountid") else {
        return refusal(
            400,
            "MISSING_ACCOUNT_ID",
            "Amazon-Ads-AccountId header is required",
        );
    };
    // A scope beside the account id must be the agency profile listing
    // that advertiser: a managed-service advertiser has none (§3, §6).
    if header(request, "amazon-advertising-api-scope")
        .is_some_and(|scope| !login.agency_lists(region, scope, advertiser_id))
    {
        return refusal(
            401,
            "UNAUTHORIZED",
            "No matching advertiser found for scope",
        );
    }
    let reachable = login.reaches_advertiser(advertiser_id);
    let Some(all) = login.seats.get(advertiser_id).filter(|_| reachable) else {
        return refusal(
            403,
            "FORBIDDEN",
            "No campaign_view permission for this advertiser",
        );
    };
    if login.seats_need_parent_entity && header(request, "parententityid").is_none() {
        return refusal(
            400,
            "NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT",
            "When calling as an advertiser 'parentEntityId' header must be provided along with 'Amazon-Ads-AccountId'",
        );
    }
    let body: Value = request.body_json().unwrap_or_default();
    let max = body["maxResults"].as_u64().unwrap_or(200) as usize;
    if !(1..=200).contains(&max) {
        return refusal(400, "INVALID_ARGUMENT", "maxResults must be 1 to 200");
    }
    let filter: Vec<&str> = body["exchangeIdFilter"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let matching: Vec<Value> = all
        .iter()
        .filter(|s| filter.is_empty() || filter.iter().any(|id| s["exchangeId"] == *id))
        .cloned()
        .collect();
    let Some(start) = token_start(body["nextToken"].as_str().map(str::to_owned)) else {
        return refusal(400, "INVALID_ARGUMENT", "unknown nextToken");
    };
    let (listed, next) = page(&matching, start, max.min(PAGE));
    let mut answer = json!({
        "advertiserSeats": [{"advertiserId": advertiser_id, "currentSeats": listed}]
    });
    if let Some(next) = next {
        answer["nextToken"] = json!(next);
    }
    ResponseTemplate::new(200).set_body_json(answer)
}
