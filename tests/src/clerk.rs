//! Clerk's side: the session-token signing key, users and webhook events as
//! Clerk sends them, Svix-signed deliveries, and the Backend API stub.

use std::sync::OnceLock;

use adsconnect::clerk::svix;
use adsconnect::entrypoints::authorizer::context_keys;
use adsconnect::secrets::Secret;
use adsconnect_dev::apigw::ClientRequest;
use adsconnect_dev::keys::SigningKey;
use serde_json::{Map, Value, json};

use crate::stack::{Response, Stack};

pub const ISSUER: &str = "https://clerk.test.example";
pub const CLERK_SECRET_KEY: &str = "sk_test_harness_secret";
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One RSA key per test binary: generating one takes a while.
pub fn signing_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate("ins_test_instance").unwrap())
}

/// The authorizer's context for a session as tests name it: `user_a` (no
/// organization active), `user_a@org_x:admin` (organization `org_x` active,
/// with role `admin`), `user_a@org_x:analyst+read,use` (with custom `ads`
/// permissions, which win over the role).
pub fn authorizer_context(session: &str) -> Map<String, Value> {
    let (user_id, organization) = match session.split_once('@') {
        Some((user_id, organization)) => (user_id, Some(organization)),
        None => (session, None),
    };
    let mut context = Map::new();
    context.insert(context_keys::USER_ID.into(), json!(user_id));
    context.insert(context_keys::SESSION_ID.into(), json!("sess_test"));
    if let Some(organization) = organization {
        let (membership, permissions) = match organization.split_once('+') {
            Some((membership, permissions)) => (membership, Some(permissions)),
            None => (organization, None),
        };
        let (org_id, role) = membership.split_once(':').unwrap_or((membership, "member"));
        context.insert(context_keys::ORG_ID.into(), json!(org_id));
        context.insert(context_keys::ORG_ROLE.into(), json!(role));
        if let Some(permissions) = permissions {
            context.insert(context_keys::ORG_PERMISSIONS.into(), json!(permissions));
        }
    }
    context
}

pub fn signed_webhook(body: &[u8], delivery_id: &str, timestamp: i64) -> ClientRequest {
    signed_webhook_with(&[WEBHOOK_SECRET], body, delivery_id, timestamp)
}

/// A delivery signed with each of `secrets` (each adds a `v1,` entry, as Svix
/// does while a rotation is under way).
pub fn signed_webhook_with(
    secrets: &[&str],
    body: &[u8],
    delivery_id: &str,
    timestamp: i64,
) -> ClientRequest {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| {
            svix::signature_header(&Secret::new(*secret), delivery_id, timestamp, body).unwrap()
        })
        .collect();
    ClientRequest::new("POST", "/webhooks/clerk")
        .raw_json(body.to_vec())
        .header("svix-id", delivery_id)
        .header("svix-timestamp", &timestamp.to_string())
        .header("svix-signature", &signatures.join(" "))
}

/// A Clerk user object as webhooks and the Backend API carry it.
pub fn clerk_user(id: &str, email: &str, updated_at_ms: i64) -> Value {
    json!({
        "object": "user", "id": id, "first_name": "Ada", "last_name": "Lovelace",
        "username": null, "image_url": "https://img.clerk.com/ada.png", "has_image": true,
        "primary_email_address_id": "idn_primary",
        "email_addresses": [{"id": "idn_primary", "object": "email_address", "email_address": email,
                             "verification": {"status": "verified", "strategy": "email_code"}}],
        "phone_numbers": [], "external_id": null, "public_metadata": {}, "private_metadata": {},
        "unsafe_metadata": {}, "created_at": 1_700_000_000_000_i64, "updated_at": updated_at_ms,
        "last_sign_in_at": 1_700_000_050_000_i64, "banned": false, "locked": false,
    })
}

pub fn user_event(kind: &str, user: &Value) -> Value {
    json!({"type": kind, "object": "event", "data": user, "timestamp": 1_700_000_000_000_i64,
           "instance_id": "ins_test_instance"})
}

pub fn deleted_event(user_id: &str) -> Value {
    json!({"type": "user.deleted", "object": "event",
           "data": {"object": "user", "id": user_id, "deleted": true}})
}

pub fn session_event(kind: &str, user_id: &str, session_id: &str, created_at_ms: i64) -> Value {
    json!({"type": kind, "object": "event", "data": {
        "object": "session", "id": session_id, "user_id": user_id, "client_id": "client_1",
        "status": "active", "created_at": created_at_ms, "updated_at": created_at_ms,
        "last_active_at": created_at_ms, "expire_at": created_at_ms + 604_800_000_i64,
        "abandon_at": created_at_ms + 2_592_000_000_i64}})
}

impl Stack {
    /// Posts a Clerk event signed with the harness secret, under a fresh delivery id.
    pub async fn post_event(&self, event: &Value) -> Response {
        self.post_event_as(event, &format!("msg_{}", uuid::Uuid::new_v4().simple()))
            .await
    }

    pub async fn post_event_as(&self, event: &Value, delivery_id: &str) -> Response {
        let body = event.to_string().into_bytes();
        let request = signed_webhook(&body, delivery_id, chrono::Utc::now().timestamp());
        self.send(&self.webhook, &request, None).await
    }

    /// `user` signs up: Clerk's `user.created`, which must be applied.
    pub async fn create_user(&self, user: &str, email: &str) {
        let created = self
            .post_event(&user_event("user.created", &clerk_user(user, email, 1_000)))
            .await;
        assert_eq!(created.status, 200, "{:?}", created.body);
    }

    /// Stubs Clerk's `GET /v1/users/{id}`, checking the secret key as Clerk does.
    pub async fn clerk_has_user(&self, user: &Value) {
        use wiremock::matchers::{header, method, path};
        let id = user["id"].as_str().unwrap();
        wiremock::Mock::given(method("GET"))
            .and(path(format!("/v1/users/{id}")))
            .and(header(
                "authorization",
                format!("Bearer {CLERK_SECRET_KEY}").as_str(),
            ))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(user))
            .mount(&self.clerk)
            .await;
    }
}
