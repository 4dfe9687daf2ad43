//! Clerk webhook event payloads (`ClerkEvent::parse`) on arbitrary bytes.
//!
//! Input: the delivery body.
//!
//! Properties: nothing panics, including rendering the error; only JSON is
//! accepted; `Other` is never one of the
//! handled event types; a user profile built from an event survives the JSON
//! and DynamoDB item round trips the store relies on.

#![no_main]

use adsconnect::clerk::events::ClerkEvent;
use adsconnect::model::user::UserProfile;
use libfuzzer_sys::fuzz_target;

const HANDLED: [&str; 8] = [
    "user.created",
    "user.updated",
    "user.deleted",
    "organization.deleted",
    "session.created",
    "session.ended",
    "session.removed",
    "session.revoked",
];

fuzz_target!(|data: &[u8]| {
    let event = match ClerkEvent::parse(data) {
        Ok(event) => event,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    // Syntax only: serde_json checks neither the UTF-8 nor the number range
    // of members it skips (harmless: only signed deliveries get here, and
    // nothing reads those members).
    assert!(
        serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok(),
        "accepted a body that is not JSON"
    );
    match event {
        ClerkEvent::UserUpserted(profile) => {
            assert!(profile.user_id.as_str().starts_with("user_"));
            let json = serde_json::to_vec(&profile).expect("a profile serialises");
            let back: UserProfile = serde_json::from_slice(&json).expect("a profile reads back");
            assert_eq!(back, profile);
            let item: serde_dynamo::Item =
                serde_dynamo::to_item(&profile).expect("a profile is a DynamoDB item");
            let back: UserProfile = serde_dynamo::from_item(item).expect("the item reads back");
            assert_eq!(back, profile);
        }
        ClerkEvent::UserDeleted(user_id) => assert!(user_id.as_str().starts_with("user_")),
        ClerkEvent::OrganizationDeleted(org_id) => assert!(org_id.as_str().starts_with("org_")),
        ClerkEvent::SessionCreated {
            user_id,
            session_id,
            ..
        }
        | ClerkEvent::SessionClosed {
            user_id,
            session_id,
            ..
        } => {
            assert!(user_id.as_str().starts_with("user_"));
            assert!(session_id.as_str().starts_with("sess_"));
        }
        ClerkEvent::Other(kind) => {
            assert!(
                !HANDLED.contains(&kind.as_str()),
                "handled type `{kind}` fell through"
            );
        }
    }
});
