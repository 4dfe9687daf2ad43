//! Manager accounts in the Amazon stand-in (reference amazon-dsp-amc.md
//! §5): `GET /managerAccounts` on every region's host answers that region's
//! manager accounts, each with at most its first 50 links (Amazon's cap, no
//! paging) and without the stand-in's `role` (Amazon reports none there).

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::dsp::{header, refusal};
use super::world::{AmazonWorld, Endpoint, Login, Slow, ads_headers_ok, unauthorized};

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
        let managers: Vec<Value> = self
            .manager_accounts(&login)
            .iter()
            .map(as_listed)
            .collect();
        ResponseTemplate::new(200).set_body_raw(
            json!({"managerAccounts": managers}).to_string(),
            MANAGER_ACCOUNTS_MEDIA_TYPE,
        )
    }
}

impl ManagerAccounts {
    fn manager_accounts<'a>(&self, login: &'a Login) -> &'a [Value] {
        login
            .manager_accounts
            .get(self.1)
            .map_or(&[], Vec::as_slice)
    }
}

/// `manager` as `/managerAccounts` lists it: its first 50 links, roles
/// stripped.
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
            }
            link
        })
        .collect();
    let mut listed = manager.clone();
    listed["linkedAccounts"] = json!(links);
    listed
}
