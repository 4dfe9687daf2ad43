//! Amazon's side: the configuration pointing at the stub, logins, the
//! connect flow, connections seeded as the callback writes them, and the
//! refresher.

use std::collections::HashMap;
use std::sync::Arc;

use adsconnect::amazon::lwa::Lwa;
use adsconnect::amazon::{AmazonConfig, PerRegion};
use adsconnect::api::amazon::{self, AmazonState};
use adsconnect::ids::UserId;
use adsconnect::refresh::{RefreshConfig, Refresher};
use adsconnect::secrets::Secret;
use adsconnect::store::connections::{
    ConnectionRecord, ConnectionStatus, DueConnection, connection_id_for, token_context,
};
use adsconnect::tokens::TokenCipher;
use adsconnect_dev::amazon_stub::{self, Login, profile};
use adsconnect_dev::apigw::ClientRequest;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::answers::{HTML, JSON, raw};
use crate::stack::{Item, Response, Stack};

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
    }
}

/// The seller of the fault tests: two profiles in NA, one in the EU.
pub fn seller() -> Login {
    amazon_login(
        json!({"user_id": "amzn1.account.FAULTS", "name": "Fault Seller", "email": "f@example.com"}),
        vec![
            (
                "na",
                vec![
                    profile(7001, "US", "Faults US", "seller"),
                    profile(7002, "CA", "Faults CA", "seller"),
                ],
            ),
            ("eu", vec![profile(7101, "DE", "Faults DE", "seller")]),
        ],
        vec![],
    )
}

/// The query parameters of a redirect.
pub fn query_of(url: &reqwest::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// Token endpoint answers that are garbage or failures: (case, answers,
/// callback reason, calls made, refresher error code).
pub fn token_endpoint_faults() -> Vec<(
    &'static str,
    Vec<ResponseTemplate>,
    &'static str,
    usize,
    &'static str,
)> {
    let exchange = "token_exchange_failed";
    let rejected = "lwa_rejected";
    vec![
        (
            "an HTML page",
            vec![raw(200, "text/html", HTML)],
            exchange,
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
            rejected,
        ),
        (
            "an empty object",
            vec![raw(200, JSON, "{}")],
            exchange,
            1,
            rejected,
        ),
        (
            "an array",
            vec![raw(200, JSON, "[]")],
            exchange,
            1,
            rejected,
        ),
        (
            "no body",
            vec![ResponseTemplate::new(200)],
            exchange,
            1,
            rejected,
        ),
        (
            "a 400 that is not JSON",
            vec![raw(400, "text/plain", "Bad Request")],
            exchange,
            1,
            rejected,
        ),
        (
            "a 400 with an unknown error",
            vec![raw(400, JSON, r#"{"error": "mystery_error"}"#)],
            exchange,
            1,
            rejected,
        ),
        (
            "500 pages",
            vec![raw(500, "text/html", HTML); 3],
            "lwa_unavailable",
            3,
            "lwa_unavailable",
        ),
        (
            "throttling",
            vec![ResponseTemplate::new(429); 3],
            "lwa_unavailable",
            3,
            "lwa_unavailable",
        ),
        (
            "a JSON 503",
            vec![raw(503, JSON, r#"{"error": "temporarily_unavailable"}"#); 3],
            "lwa_unavailable",
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

    /// The whole flow: start as `user_id`, consent as `login`, follow the
    /// redirect; returns the callback's `Location`.
    pub async fn connect_flow(&self, user_id: &str, login: &str) -> reqwest::Url {
        let started = self.connect(user_id, &json!({"region": "na"})).await;
        assert_eq!(started.status, 200, "{:?}", started.body);
        let (_, query) = self
            .amazon
            .consent(started.body["authorization_url"].as_str().unwrap(), login)
            .unwrap();
        let done = self.amazon_redirect(&query).await;
        assert_eq!(done.status, 302, "{:?}", done.body);
        reqwest::Url::parse(done.headers["location"].to_str().unwrap()).unwrap()
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
        let done = query_of(&self.connect_flow(user, login).await);
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
        amazon::start_router(AmazonState {
            cipher: Arc::new(self.cipher()),
            ..self.amazon_start.clone()
        })
    }

    /// `oauth-callback` in a process of its own, likewise.
    pub fn cold_callback(&self) -> Router {
        amazon::callback_router(AmazonState {
            cipher: Arc::new(self.cipher()),
            ..self.amazon_callback.clone()
        })
    }

    /// A refresher as the `token-refresher` function builds it: its own
    /// process, so its own data-key cache.
    pub fn refresher(&self, config: RefreshConfig) -> Refresher {
        let amazon = amazon_config(&self.amazon_server.uri());
        Refresher {
            store: self.store.clone(),
            cipher: Arc::new(self.cipher()),
            lwa: Arc::new(Lwa::new(&amazon).unwrap()),
            config,
        }
    }

    /// A connection of `user_id` to `login` whose access token expires in
    /// `expires_in`, written as the callback writes one (tokens sealed by the
    /// callback's process).
    pub async fn seed_connection(
        &self,
        user_id: &str,
        login: &str,
        expires_in: chrono::Duration,
    ) -> DueConnection {
        let user_id = UserId::parse(user_id).unwrap();
        let (access, refresh) = self.amazon.grant(login);
        let now = chrono::Utc::now();
        let connection_id = connection_id_for(&user_id, &format!("lwa:{login}"));
        let plaintext = json!({"access_token": access, "refresh_token": refresh}).to_string();
        let sealed = self
            .amazon_callback
            .cipher
            .seal(
                plaintext.as_bytes(),
                &token_context(&user_id, &connection_id),
            )
            .await
            .unwrap();
        let mut connection = ConnectionRecord {
            connection_id: connection_id.clone(),
            user_id: user_id.clone(),
            amazon_identity: format!("lwa:{login}"),
            amazon_user_id: Some(login.to_owned()),
            amazon_name: None,
            amazon_email: None,
            region: adsconnect::amazon::Region::Na,
            status: ConnectionStatus::Active,
            scopes: vec!["advertising::campaign_management".into()],
            access_expires_at: now + expires_in,
            consent_at: now,
            consent_expires_at: now + chrono::Duration::days(365),
            refresh_count: 0,
            last_refresh_at: None,
            failure_count: 0,
            last_error_code: None,
            next_retry_at: None,
            version: 1,
            sync_warnings: vec![],
            last_synced_at: Some(now),
            created_at: now,
            updated_at: now,
            tokens: Some(sealed),
            refresh_shard: None,
            refresh_due_at: None,
            auto_refresh: true,
            sync_requested_at: None,
            lease_owner: None,
            lease_until: None,
        };
        connection.schedule_refresh(Some(connection.access_expires_at));
        // A plain PutItem: moto copies the whole table for every transaction,
        // which would make seeding hundreds of connections quadratic.
        let mut item: Item = serde_dynamo::to_item(&connection).unwrap();
        item.insert("pk".into(), AttributeValue::S(format!("USER#{user_id}")));
        item.insert(
            "sk".into(),
            AttributeValue::S(format!("CONN#{connection_id}")),
        );
        item.insert("entity".into(), AttributeValue::S("connection".into()));
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        self.calls.take();
        self.kms_calls.take();
        DueConnection {
            user_id,
            connection_id,
        }
    }

    pub async fn connection(&self, due: &DueConnection) -> ConnectionRecord {
        let record = self
            .store
            .get_connection(&due.user_id, &due.connection_id)
            .await
            .unwrap()
            .unwrap();
        self.calls.take();
        record
    }
}
