//! Manager accounts in the Amazon stand-in (reference amazon-dsp-amc.md
//! §5): `GET /managerAccounts` on every region's host answers that region's
//! manager accounts, each with at most its first 50 links (Amazon's cap, no
//! paging) and without the stand-in's `role` (Amazon reports none there);
//! `POST /adsApi/v1/query/accountLinks` (closed beta) pages through every
//! link of one manager account, with its role.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::dsp::{header, refusal};
use super::world::{AmazonWorld, CLIENT_ID, Endpoint, Slow, ads_headers_ok, unauthorized};

const MANAGER_ACCOUNTS_MEDIA_TYPE: &str = "application/vnd.getmanageraccountsresponse.v1+json";

/// The most links `/managerAccounts` answers per manager account.
const LINKS_PER_MANAGER_ACCOUNT: usize = 50;

pub(super) async fn mount(world: &AmazonWorld, server: &MockServer) {
    for region in ["na", "eu", "fe"] {
        Mock::given(method("GET"))
            .and(path(format!("/{region}/managerAccounts")))
            .respond_with(Slow(ManagerAccounts(world.clone(), region), world.clone()))
            .mount(server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/{region}/adsApi/v1/query/accountLinks")))
            .respond_with(Slow(AccountLinks(world.clone(), region), world.clone()))
            .mount(server)
            .await;
    }
}

struct ManagerAccounts(AmazonWorld, &'static str);

impl Respond for ManagerAccounts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
        if let Some(scripted) = self.0.scripted(Endpoint::ManagerAccounts) {
            return scripted;
        }
        let Some(login) = self
            .0
            .login_for(request)
            .filter(|_| ads_headers_ok(request))
        else {
            return unauthorized();
        };
        // Amazon's Postman sends no Accept; client libraries send the
        // vendor type; JSON is what it is.
        let accepted = header(request, "accept").is_none_or(|accept| {
            accept.split(',').any(|range| {
                let range = range.split(';').next().unwrap_or_default().trim();
                ["*/*", "application/json", MANAGER_ACCOUNTS_MEDIA_TYPE].contains(&range)
            })
        });
        if !accepted {
            return refusal(406, "NOT_ACCEPTABLE", MANAGER_ACCOUNTS_MEDIA_TYPE);
        }
        let managers: Vec<Value> = login
            .manager_accounts_in(self.1)
            .iter()
            .map(as_listed)
            .collect();
        ResponseTemplate::new(200).set_body_raw(
            json!({"managerAccounts": managers}).to_string(),
            MANAGER_ACCOUNTS_MEDIA_TYPE,
        )
    }
}

/// `manager` as `/managerAccounts` lists it: its first 50 links, the
/// stand-in's own fields (`role`, `withoutAlternateIds`) stripped.
fn as_listed(manager: &Value) -> Value {
    let links: Vec<Value> = manager["linkedAccounts"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .take(LINKS_PER_MANAGER_ACCOUNT)
        .map(|link| {
            let mut link = link.clone();
            if let Some(fields) = link.as_object_mut() {
                fields.remove("role");
                fields.remove("withoutAlternateIds");
            }
            link
        })
        .collect();
    let mut listed = manager.clone();
    listed["linkedAccounts"] = json!(links);
    listed
}

/// The most links one account-links page holds, whatever `maxResults`
/// asked (up to 100): small, so paging shows.
const LINKS_PAGE: usize = 25;

/// v1's error shape.
fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"code": code, "message": message}))
}

struct AccountLinks(AmazonWorld, &'static str);

impl Respond for AccountLinks {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request);
        if let Some(scripted) = self.0.scripted(Endpoint::AccountLinks) {
            return scripted;
        }
        // Amazon's guide names the classic client-id header, other v1
        // calls the v1 one: either will do.
        let client_id = header(request, "amazon-ads-clientid")
            .or_else(|| header(request, "amazon-advertising-api-clientid"));
        let Some(login) = self
            .0
            .login_for(request)
            .filter(|_| client_id == Some(CLIENT_ID))
        else {
            return error(
                401,
                "UNAUTHORIZED",
                "The request lacks the necessary credentials",
            );
        };
        if !login.account_links_beta {
            return error(
                403,
                "FORBIDDEN",
                "Account links are in closed beta; this client is not enrolled",
            );
        }
        let manager = header(request, "amazon-ads-manager-accountid").and_then(|id| {
            login
                .manager_accounts_in(self.1)
                .iter()
                .find(|m| m["managerAccountId"] == id)
        });
        let Some(manager) = manager else {
            return error(
                403,
                "FORBIDDEN",
                "Amazon-Ads-Manager-AccountId names no manager account of the caller",
            );
        };
        let Some((start, size)) = links_query(&request.body) else {
            return error(
                400,
                "BAD_REQUEST",
                r#"The body is {"relationshipTypeFilter": {"include": ["CHILD"]}, "maxResults": 1..100, "nextToken"?}"#,
            );
        };
        // Amazon documents no account-link shape for AMC accounts.
        let links: Vec<Value> = manager["linkedAccounts"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|link| account_link(link, self.1))
            .collect();
        let end = (start + size).min(links.len());
        let mut answer = json!({"accountLinks": links.get(start..end).unwrap_or_default()});
        if end < links.len() {
            answer["nextToken"] = json!(format!("links-{end}"));
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

/// An account-links query; Amazon refuses fields it does not know.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LinksQuery {
    relationship_type_filter: RelationshipFilter,
    max_results: usize,
    next_token: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationshipFilter {
    include: Vec<String>,
}

/// Where the page starts and how long it is, when the body is a CHILD
/// query with `maxResults` 1 to 100 and, if any, a `nextToken` this
/// endpoint issued.
fn links_query(body: &[u8]) -> Option<(usize, usize)> {
    let query: LinksQuery = serde_json::from_slice(body).ok()?;
    if query.relationship_type_filter.include != ["CHILD"]
        || !(1..=100).contains(&query.max_results)
    {
        return None;
    }
    let start = match query.next_token {
        None => 0,
        Some(token) => token.strip_prefix("links-")?.parse().ok()?,
    };
    Some((start, query.max_results.min(LINKS_PAGE)))
}

/// `link` (a `/managerAccounts` link with its stand-in role) as account
/// links answer it on `region`'s host; `None` for an AMC account.
/// Account links name an Ads account by `amzn1.ads-account.g.<profile id>`
/// here: `/adsAccounts/list` fixtures join a link so.
fn account_link(link: &Value, region: &str) -> Option<Value> {
    let role = json!({"role": {"roleName": link["role"]}});
    let country = country_of(link["marketplaceId"].as_str().unwrap_or_default());
    let (account_id, product, alternate) = match link["accountType"].as_str()? {
        "DSP_ADVERTISING_ACCOUNT" => {
            let id = &link["dspAdvertiserId"];
            (
                id.clone(),
                "ADSP",
                json!({"dspAdvertiserId": id, "region": region.to_ascii_uppercase()}),
            )
        }
        // Inferred: the guide shows only a DSP advertiser's alternate id;
        // the profile id one follows /adsAccounts/list's alternateIds.
        "SELLER" | "VENDOR" => {
            let profile = link["profileId"].as_str()?;
            (
                json!(format!("amzn1.ads-account.g.{profile}")),
                "SPONSORED_ADS",
                json!({"countryCode": country, "profileId": profile}),
            )
        }
        _ => return None,
    };
    // Amazon's guide shows sponsored-ads links with no alternate ids: a
    // fixture's `withoutAlternateIds` link is answered so.
    let alternate_ids = match link["withoutAlternateIds"].as_bool() {
        Some(true) => json!([]),
        _ => json!([alternate]),
    };
    Some(json!({
        "accountId": account_id, "accountName": link["accountName"],
        "accountType": "ADVERTISER_ACCOUNT", "adProductGroups": [product],
        "alternateIds": alternate_ids, "countryCode": [country],
        "permissionSet": role, "relationshipType": "CHILD"
    }))
}

/// The country of the marketplaces the stand-in's fixtures use.
fn country_of(marketplace: &str) -> &'static str {
    match marketplace {
        "A2EUQ1WTGCTBG2" => "CA",
        "A1PA6795UKMFR9" => "DE",
        "A1F83G8C2ARO7P" => "UK",
        "A1VC38T7YXB528" => "JP",
        _ => "US",
    }
}
