//! The AMC audience and advertiser-update endpoints of the Amazon stand-in,
//! as Amazon's Postman collection calls them. Audiences name the AMC
//! account in `Amazon-Advertising-API-EntityId` and the instance in
//! `Amazon-Marketing-Cloud-Audience-InstanceId`; advertiser updates name
//! the account in `Amazon-Advertising-API-AdvertiserId` with its
//! `Amazon-Advertising-API-MarketplaceId`, on a path Amazon documents with
//! a trailing slash (matched only with it). Both want a live token and our
//! client id (else 401), the account among the login's AMC accounts of the
//! host's region and the instance among the account's (else 403/404).

use chrono::SecondsFormat;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::dsp::{header, refusal};
use super::world::{AmazonWorld, Endpoint, Login, Slow, ads_headers_ok, unauthorized};

/// The media type Amazon answers audience lists in (and callers accept).
pub const AMC_AUDIENCE_MEDIA_TYPE: &str = "application/vnd.amcquerybasedaudience.v1.2+json";

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        let endpoint = |endpoint| Slow(AmcEndpoint(world.clone(), region, endpoint), world.clone());
        for verb in ["POST", "GET"] {
            Mock::given(method(verb))
                .and(path(format!("/{region}/amc/audiences/query")))
                .respond_with(endpoint(Endpoint::AmcAudiences))
                .mount(server)
                .await;
        }
        Mock::given(method("GET"))
            .and(path_regex(format!(
                "^/{region}/amc/instances/[^/]+/advertisers/updates/$"
            )))
            .respond_with(endpoint(Endpoint::AmcAdvertiserUpdates))
            .mount(server)
            .await;
    }
}

struct AmcEndpoint(AmazonWorld, &'static str, Endpoint);

impl Respond for AmcEndpoint {
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
        let Some(regions) = &login.amc_accounts else {
            return refusal(401, "UNAUTHORIZED", "Not authorized to access AMC");
        };
        let accounts = regions.get(self.1).map(Vec::as_slice).unwrap_or_default();
        match self.2 {
            Endpoint::AmcAdvertiserUpdates => advertiser_updates(request, &login, accounts),
            _ => self.audiences(request, &login, accounts),
        }
    }
}

fn advertiser_updates(request: &Request, login: &Login, accounts: &[Value]) -> ResponseTemplate {
    let Some(account_id) = header(request, "amazon-advertising-api-advertiserid") else {
        return missing("Amazon-Advertising-API-AdvertiserId");
    };
    let Some(marketplace) = header(request, "amazon-advertising-api-marketplaceid") else {
        return missing("Amazon-Advertising-API-MarketplaceId");
    };
    if !accounts
        .iter()
        .any(|a| a["accountId"] == account_id && a["marketplaceId"] == marketplace)
    {
        return refusal(403, "403", "Not authorized for this AMC account");
    }
    // The path is /{region}/amc/instances/{instanceId}/advertisers/updates/.
    let instance_id = request.url.path().split('/').nth(4).unwrap_or_default();
    if let Some(refused) = instance_refusal(login, account_id, instance_id) {
        return refused;
    }
    ResponseTemplate::new(200).set_body_json(json!({
        "advertiserUpdate": {"updateId": 0, "status": "COMPLETE",
                             "advertisersToAdd": [], "advertisersToRemove": []}
    }))
}

impl AmcEndpoint {
    fn audiences(&self, request: &Request, login: &Login, accounts: &[Value]) -> ResponseTemplate {
        let Some(entity_id) = header(request, "amazon-advertising-api-entityid") else {
            return missing("Amazon-Advertising-API-EntityId");
        };
        let Some(instance_id) = header(request, "amazon-marketing-cloud-audience-instanceid")
        else {
            return missing("Amazon-Marketing-Cloud-Audience-InstanceId");
        };
        if !accounts.iter().any(|a| a["accountId"] == entity_id) {
            return refusal(403, "403", "Not authorized for this AMC account");
        }
        if let Some(refused) = instance_refusal(login, entity_id, instance_id) {
            return refused;
        }
        if request.method.as_str() == "GET" {
            self.list_audiences(request, instance_id)
        } else {
            self.create_audience(request, instance_id)
        }
    }

    fn create_audience(&self, request: &Request, instance_id: &str) -> ResponseTemplate {
        let body: Value = request.body_json().unwrap_or_default();
        let (Some(name), Some(query)) = (body["audienceName"].as_str(), body["query"].as_str())
        else {
            return refusal(400, "400", "audienceName and query are required");
        };
        let execution_id = uuid::Uuid::new_v4().to_string();
        self.0.world().amc_audiences.push(json!({
            "audienceExecutionId": execution_id, "audienceName": name, "query": query,
            "advertiserId": body["advertiserId"], "instanceId": instance_id,
            "audienceType": "RULE_BASED", "status": "PENDING",
            "createTime": chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
        }));
        ResponseTemplate::new(200).set_body_json(json!({
            "audienceExecutionDescription": "Successfully started audience creation workflow.",
            "audienceExecutionId": execution_id, "status": "PENDING"
        }))
    }

    fn list_audiences(&self, request: &Request, instance_id: &str) -> ResponseTemplate {
        let max_results = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "maxResults")
            .map_or(Some(100), |(_, v)| v.parse::<usize>().ok());
        let Some(max_results) = max_results.filter(|m| (1..=100).contains(m)) else {
            return refusal(400, "400", "maxResults must be 1 to 100");
        };
        let listed: Vec<Value> = self
            .0
            .world()
            .amc_audiences
            .iter()
            .filter(|a| a["instanceId"] == instance_id)
            .take(max_results)
            .cloned()
            .collect();
        ResponseTemplate::new(200).set_body_raw(
            json!({"executionDataList": listed, "nextToken": null}).to_string(),
            AMC_AUDIENCE_MEDIA_TYPE,
        )
    }
}

/// Amazon's refusal when `instance_id` is not one of the AMC account's
/// instances.
fn instance_refusal(
    login: &Login,
    account_id: &str,
    instance_id: &str,
) -> Option<ResponseTemplate> {
    let Some(instances) = login.amc_instances.get(account_id) else {
        return Some(refusal(
            403,
            "403",
            "Terms and conditions must be accepted to continue",
        ));
    };
    let known = instances.iter().any(|i| i["instanceId"] == instance_id);
    (!known).then(|| refusal(404, "404", "AMC instance not found"))
}

/// Amazon's 400 for a header the call must carry.
fn missing(name: &str) -> ResponseTemplate {
    refusal(400, "400", &format!("{name} header is required"))
}
