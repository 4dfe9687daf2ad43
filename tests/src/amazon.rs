//! Amazon's side: the configuration pointing at the stub, logins, the
//! connect flow, connections seeded as the callback writes them, and the
//! refresher.

use std::collections::HashMap;
use std::sync::Arc;

use adsconnect::amazon::{AmazonConfig, PerRegion};
use adsconnect::connections::connect::ConnectService;
use adsconnect::connections::connection_id_for;
use adsconnect::connections::lifecycle::{self, Consent};
use adsconnect::connections::refresh::{RefreshConfig, Refresher};
use adsconnect::connections::tokens::TokenPair;
use adsconnect::entrypoints::http as api;
use adsconnect::ids::{OwnerId, UserId};
use adsconnect::model::acting::Acting;
use adsconnect::model::connection::{AmazonIdentity, ConnectionRecord, DueConnection};
use adsconnect::secrets::Secret;
use adsconnect::tokens::TokenCipher;
use adsconnect_dev::amazon_stub::{
    self, Login, agency_profile, amc_account, amc_instance, dsp_advertisers, linked_dsp_advertiser,
    manager_account, profile, seats,
};
use adsconnect_dev::apigw::ClientRequest;
use axum::Router;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::answers::{HTML, JSON, raw};
use crate::stack::{Response, Stack, connect_service};

pub const APP_ORIGIN: &str = "https://app.example.test";
pub const DEFAULT_RETURN_URL: &str = "https://app.example.test/settings/amazon";
pub const REDIRECT_URI: &str = "https://api.example.test/api/v1/amazon/callback";

/// Amazon configuration pointing every host at the stub.
pub fn amazon_config(stub: &str) -> AmazonConfig {
    AmazonConfig {
        client_id: Secret::new(amazon_stub::CLIENT_ID),
        client_secret: Secret::new(amazon_stub::CLIENT_SECRET),
        redirect_uri: Some(REDIRECT_URI.into()),
        scopes: vec!["advertising::campaign_management".into(), "profile".into()],
        auth_urls: PerRegion {
            na: format!("{stub}/na/ap/oa"),
            eu: format!("{stub}/eu/ap/oa"),
            fe: format!("{stub}/fe/ap/oa"),
        },
        token_url: format!("{stub}/auth/o2/token"),
        ads_urls: PerRegion {
            na: format!("{stub}/na"),
            eu: format!("{stub}/eu"),
            fe: format!("{stub}/fe"),
        },
        profile_url: format!("{stub}/user/profile"),
    }
}

/// A login at Amazon: its LWA profile, its Ads API profiles by region
/// (`na`, `eu`, `fe`) and its Ads accounts.
pub fn amazon_login(
    lwa_profile: Value,
    profiles: Vec<(&'static str, Vec<Value>)>,
    ads_accounts: Vec<Value>,
) -> Login {
    Login {
        lwa_profile: Some(lwa_profile),
        profiles: profiles.into_iter().collect(),
        ads_accounts,
        ..Login::default()
    }
}

/// A login called `name` (its LWA user id `amzn1.account.<name>`) that sees
/// the seller profiles `profiles` (id, profile name) in NA.
pub fn na_login(name: &str, profiles: &[(u64, &str)]) -> Login {
    amazon_login(
        json!({"user_id": format!("amzn1.account.{name}"), "name": name, "email": format!("{name}@example.com")}),
        vec![(
            "na",
            profiles
                .iter()
                .map(|(id, profile_name)| profile(*id, "US", profile_name, "seller"))
                .collect(),
        )],
        vec![],
    )
}

/// [`na_login`] with profiles named `<name> <id>`.
pub fn na_seller(name: &str, profiles: &[u64]) -> Login {
    let names: Vec<String> = profiles.iter().map(|id| format!("{name} {id}")).collect();
    let profiles: Vec<(u64, &str)> = profiles
        .iter()
        .zip(&names)
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    na_login(name, &profiles)
}

/// The seller most tests connect: two profiles in NA (5001 US, 5002 CA),
/// one in the EU (5101 DE).
pub fn seller() -> Login {
    amazon_login(
        json!({"user_id": "amzn1.account.SELLER", "name": "Seller", "email": "seller@example.com"}),
        vec![
            (
                "na",
                vec![
                    profile(5001, "US", "Seller US", "seller"),
                    profile(5002, "CA", "Seller CA", "seller"),
                ],
            ),
            ("eu", vec![profile(5101, "DE", "Seller DE", "seller")]),
        ],
        vec![],
    )
}

/// The agency of the kind tests: a seller profile and an agency profile
/// in NA, an agency profile in the EU; 230 DSP advertisers under the NA
/// agency (three pages), 3 under the EU one; two AMC accounts in NA, the
/// first with 23 instances (three pages, every creation status), the
/// second without AMC's terms accepted; 25 seats (three pages) for the
/// first NA advertiser, which Amazon serves only with `parentEntityId`, and
/// an NA manager account linking that advertiser (role ADMIN) to its
/// entity id.
pub fn agency_login() -> Login {
    let statuses = [
        "SUCCEEDED",
        "COMPLETED",
        "IN_PROGRESS",
        "REQUESTED",
        "FAILED",
    ];
    let instances = (0..23)
        .map(|i| amc_instance(&format!("amcr1inst{i:03}"), statuses[i % statuses.len()]))
        .collect();
    Login {
        dsp_advertisers: [
            (AGENCY_NA.to_string(), dsp_advertisers(AGENCY_NA, 230)),
            (AGENCY_EU.to_string(), dsp_advertisers(AGENCY_EU, 3)),
        ]
        .into_iter()
        .collect(),
        amc_accounts: Some(
            [(
                "na",
                vec![
                    amc_account(AMC_ACCOUNT, "ATVPDKIKX0DER"),
                    amc_account("ENTITYAMCNOTERMS", "ATVPDKIKX0DER"),
                ],
            )]
            .into_iter()
            .collect(),
        ),
        amc_instances: [(AMC_ACCOUNT.to_owned(), instances)].into_iter().collect(),
        seats: [(first_advertiser(AGENCY_NA), seats(25))]
            .into_iter()
            .collect(),
        seats_need_parent_entity: true,
        manager_accounts: [(
            "na",
            vec![manager_account(
                "amzn1.ads1.ma1.agency",
                "Agency Manager",
                vec![linked_dsp_advertiser(
                    &first_advertiser(AGENCY_NA),
                    FIRST_ADVERTISER_ENTITY,
                    "ATVPDKIKX0DER",
                    "ADMIN",
                )],
            )],
        )]
        .into_iter()
        .collect(),
        ..amazon_login(
            json!({"user_id": "amzn1.account.AGENCY", "name": "Agency", "email": "agency@example.com"}),
            vec![
                (
                    "na",
                    vec![
                        profile(8001, "US", "Agency Seller US", "seller"),
                        agency_profile(AGENCY_NA, "US", "ATVPDKIKX0DER", "Agency US"),
                    ],
                ),
                (
                    "eu",
                    vec![agency_profile(
                        AGENCY_EU,
                        "DE",
                        "A1PA6795UKMFR9",
                        "Agency DE",
                    )],
                ),
            ],
            vec![],
        )
    }
}

pub const AGENCY_NA: u64 = 8100;
pub const AGENCY_EU: u64 = 8200;
pub const AMC_ACCOUNT: &str = "ENTITYAMCMAIN";
/// The entity id `/managerAccounts` links the first NA advertiser to.
pub const FIRST_ADVERTISER_ENTITY: &str = "ENTITYADVFIRST";

/// One NA manager account linking `count` DSP advertisers no agency
/// profile lists (managed-service ones), each with `role`: a login's
/// `manager_accounts`.
pub fn many_links(count: usize, role: &str) -> Vec<(&'static str, Vec<Value>)> {
    let links = (0..count)
        .map(|i| {
            linked_dsp_advertiser(
                &format!("7770000000{i:08}"),
                &format!("ENTITYLINK{i}"),
                "ATVPDKIKX0DER",
                role,
            )
        })
        .collect();
    vec![(
        "na",
        vec![manager_account("amzn1.ads1.ma1.big", "Big", links)],
    )]
}

/// The id of the first advertiser `dsp_advertisers(prefix, _)` makes.
pub fn first_advertiser(prefix: u64) -> String {
    format!("{prefix}000000")
}

/// The query parameters of a redirect.
pub fn query_of(url: &reqwest::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

pub type TokenEndpointFault = (
    &'static str,
    Vec<ResponseTemplate>,
    &'static str,
    usize,
    usize,
    &'static str,
);

/// Token endpoint answers that are garbage or failures: `(case, answers, callback reason, calls the code exchange makes, calls a
/// refresh makes, refresher error code)`: a code is sent once unless Amazon
/// certainly did not process it (429); a refresh is retried on any
/// transient failure.
pub fn token_endpoint_faults() -> Vec<TokenEndpointFault> {
    let exchange = "token_exchange_failed";
    let rejected = "lwa_rejected";
    vec![
        (
            "an HTML page",
            vec![raw(200, "text/html", HTML)],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "truncated JSON",
            vec![raw(
                200,
                JSON,
                r#"{"access_token": "Atza|cut", "refresh_tok"#,
            )],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "wrong types",
            vec![raw(
                200,
                JSON,
                r#"{"access_token": 42, "token_type": "bearer", "expires_in": "an hour", "refresh_token": []}"#,
            )],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "an empty object",
            vec![raw(200, JSON, "{}")],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "an array",
            vec![raw(200, JSON, "[]")],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "no body",
            vec![ResponseTemplate::new(200)],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "a 400 that is not JSON",
            vec![raw(400, "text/plain", "Bad Request")],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "a 400 with an unknown error",
            vec![raw(400, JSON, r#"{"error": "mystery_error"}"#)],
            exchange,
            1,
            1,
            rejected,
        ),
        (
            "500 pages",
            vec![raw(500, "text/html", HTML); 3],
            "lwa_unavailable",
            1,
            3,
            "lwa_unavailable",
        ),
        (
            "throttling",
            vec![ResponseTemplate::new(429); 3],
            "lwa_unavailable",
            3,
            3,
            "lwa_unavailable",
        ),
        (
            "a JSON 503",
            vec![raw(503, JSON, r#"{"error": "temporarily_unavailable"}"#); 3],
            "lwa_unavailable",
            1,
            3,
            "lwa_unavailable",
        ),
    ]
}

impl Stack {
    /// `POST /api/v1/amazon/connect` as `user_id`.
    pub async fn connect(&self, user_id: &str, body: &Value) -> Response {
        let request = ClientRequest::new("POST", "/api/v1/amazon/connect").json(body);
        self.send(&self.start, &request, Some(user_id)).await
    }

    /// Amazon's redirect to the callback with `query`.
    pub async fn amazon_redirect(&self, query: &str) -> Response {
        let request = ClientRequest::new("GET", &format!("/api/v1/amazon/callback?{query}"));
        self.send(&self.callback, &request, None).await
    }

    /// `POST /api/v1/amazon/complete` as `user_id`.
    pub async fn complete(&self, user_id: &str, completion: &str) -> Response {
        self.complete_on(&self.callback, user_id, completion).await
    }

    /// The same, served by `callback` (an `oauth-callback` of its own).
    pub async fn complete_on(
        &self,
        callback: &Router,
        user_id: &str,
        completion: &str,
    ) -> Response {
        let request = ClientRequest::new("POST", "/api/v1/amazon/complete")
            .json(&json!({ "completion": completion }));
        self.send(callback, &request, Some(user_id)).await
    }

    /// What the app's page does with the callback's redirect `location`:
    /// an `amazon=authorized` one is completed by `user_id`. The outcome as
    /// the page shows it: `amazon=connected` with `connection_id`, or
    /// `amazon=error` with the `reason` (the redirect's, or the completion's
    /// error code in lower case).
    pub async fn finish(&self, user_id: &str, location: &reqwest::Url) -> HashMap<String, String> {
        self.finish_on(&self.callback, user_id, location).await
    }

    /// The same, completed by `callback` (an `oauth-callback` of its own).
    pub async fn finish_on(
        &self,
        callback: &Router,
        user_id: &str,
        location: &reqwest::Url,
    ) -> HashMap<String, String> {
        let redirect = query_of(location);
        if redirect.get("amazon").map(String::as_str) != Some("authorized") {
            return redirect;
        }
        let done = self
            .complete_on(callback, user_id, &redirect["completion"])
            .await;
        let outcome: &[(&str, &str)] = if done.status == 200 {
            &[
                ("amazon", "connected"),
                (
                    "connection_id",
                    done.body["connection_id"].as_str().unwrap(),
                ),
            ]
        } else {
            &[
                ("amazon", "error"),
                ("reason", &done.error_code().to_lowercase()),
            ]
        };
        outcome
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The whole flow: start as `user_id`, consent as `login`, follow the
    /// redirect, complete as `user_id`: the outcome as [`Stack::finish`].
    pub async fn connect_flow(&self, user_id: &str, login: &str) -> HashMap<String, String> {
        let location = self.authorize_flow(user_id, login).await;
        self.finish(user_id, &location).await
    }

    /// Start as `user_id`, consent as `login`, follow the redirect: the
    /// callback's `Location` (nothing connected yet).
    pub async fn authorize_flow(&self, user_id: &str, login: &str) -> reqwest::Url {
        let query = self.consented(user_id, login).await;
        self.amazon_redirect(&query).await.location()
    }

    /// A started connection's consent as `login`: the query Amazon
    /// redirects back with.
    pub async fn consented(&self, user: &str, login: &str) -> String {
        let started = self.connect(user, &json!({"region": "na"})).await;
        assert_eq!(started.status, 200, "{:?}", started.body);
        self.amazon
            .consent(started.body["authorization_url"].as_str().unwrap(), login)
            .unwrap()
            .1
    }

    /// `user` (already created) connects `login`: the connection's id and
    /// its account ids, sorted.
    pub async fn connected(&self, user: &str, login: &str) -> (String, Vec<String>) {
        let done = self.connect_flow(user, login).await;
        assert_eq!(done["amazon"], "connected", "{done:?}");
        let mut accounts: Vec<String> = self.get("/api/v1/accounts", user).await.body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["account_id"].as_str().unwrap().to_owned())
            .collect();
        accounts.sort();
        (done["connection_id"].clone(), accounts)
    }

    /// A token cipher as a process of its own holds it: no data key cached.
    pub fn cipher(&self) -> TokenCipher {
        TokenCipher::new(self.kms.clone(), self.kms_key_id.clone())
    }

    /// `oauth-start` in a process of its own: cold data-key caches, so its
    /// KMS calls are part of what can fail.
    pub fn cold_start(&self) -> Router {
        api::start_router(self.cold_connect_service())
    }

    /// `oauth-callback` in a process of its own, likewise.
    pub fn cold_callback(&self) -> Router {
        api::callback_router(self.cold_connect_service())
    }

    fn cold_connect_service(&self) -> Arc<ConnectService> {
        Arc::new(connect_service(
            &self.startup,
            &self.kms_key_id,
            &self.amazon_config,
        ))
    }

    /// A refresher as the `token-refresher` function builds it: its own
    /// process, so its own data-key cache.
    pub fn refresher(&self, config: RefreshConfig) -> Refresher {
        self.startup
            .refresher(
                self.startup.cipher(&self.kms_key_id),
                &self.amazon_config,
                config,
            )
            .unwrap()
    }

    /// A connection of `owner` (a user or organization id) to `login` whose
    /// access token expires in `expires_in`, written as the callback writes
    /// one (tokens sealed by the callback's process).
    pub async fn seed_connection(
        &self,
        owner: &str,
        login: &str,
        expires_in: chrono::Duration,
    ) -> DueConnection {
        let owner = OwnerId::parse(owner).unwrap();
        let acting = Acting {
            owner: owner.clone(),
            user_id: match &owner {
                OwnerId::User(user_id) => user_id.clone(),
                OwnerId::Org(_) => UserId::parse("user_seeding_admin").unwrap(),
            },
        };
        let (access, refresh) = self.amazon.grant(login);
        let now = chrono::Utc::now();
        let connection_id = connection_id_for(&owner, &AmazonIdentity::lwa(login));
        let sealed = TokenPair {
            access_token: Secret::new(access),
            refresh_token: Secret::new(refresh),
        }
        .seal(&self.amazon_callback.cipher, &owner, &connection_id)
        .await
        .unwrap();
        let (connection, _) = lifecycle::connected(
            None,
            Consent {
                acting,
                connection_id: connection_id.clone(),
                amazon_identity: AmazonIdentity::lwa(login),
                amazon_user_id: Some(login.to_owned()),
                amazon_name: None,
                amazon_email: None,
                region: adsconnect::model::region::Region::Na,
                scopes: vec!["advertising::campaign_management".into()],
                access_expires_at: now + expires_in,
                tokens: sealed,
                sync_warnings: vec![],
                auto_refresh: true,
            },
            now,
        );
        // One PutItem through the store (which adds the refresh index's
        // shard): moto copies the whole table for every transaction, which
        // would make seeding hundreds of connections quadratic.
        self.store.connections().put(&connection).await.unwrap();
        self.calls.take();
        self.kms_calls.take();
        DueConnection {
            owner,
            connection_id,
        }
    }

    pub async fn connection(&self, due: &DueConnection) -> ConnectionRecord {
        let record = self
            .store
            .connections()
            .get(&due.owner, &due.connection_id)
            .await
            .unwrap()
            .unwrap();
        self.calls.take();
        record
    }
}
