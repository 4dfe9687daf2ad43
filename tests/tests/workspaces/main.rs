//! Workspaces: connections owned by a Clerk organization, shared by its
//! members, gated by their roles — decided from the session alone.
//!
//! - `isolation`: two organizations, personal beside organization, a member
//!   of both switching, a removed member; every id of another workspace is
//!   the same 404 as an unknown one;
//! - `permissions`: member against admin for every route, custom
//!   permissions over the role, 403 `PERMISSION_REQUIRED` changing nothing;
//! - `lifecycle`: attribution of every change, a user deleted while their
//!   organization's connection lives on;
//! - `moving`: a connection moved into an organization and back, audited;
//!   the moves that may not happen change nothing;
//! - `migration`: items written before owners existed read as personal.

mod isolation;
mod lifecycle;
mod migration;
mod moving;
mod permissions;

use adsconnect_tests::*;
use serde_json::Value;

/// The agency and its people (sessions as `authorizer_context` reads them).
const ACME: &str = "org_2acme";
const ADMIN: &str = "user_2ada";
const MEMBER: &str = "user_2max";
const ADMIN_AT_ACME: &str = "user_2ada@org_2acme:admin";
const MEMBER_AT_ACME: &str = "user_2max@org_2acme:member";
/// Another agency, with a member of both.
const GLOBEX_ADMIN: &str = "user_2gus@org_2globex:admin";
const BOTH: &str = "user_2bea";
const BOTH_AT_ACME: &str = "user_2bea@org_2acme:member";
const BOTH_AT_GLOBEX: &str = "user_2bea@org_2globex:admin";

/// Acme's admin connects the `client` login in Acme's workspace; Globex's
/// admin connects `rival`; Acme's admin also connects `own` for themself.
/// Answers the stack and the three connections' ids with their accounts.
struct Agencies {
    stack: Stack,
    acme: (String, Vec<String>),
    globex: (String, Vec<String>),
    personal: (String, Vec<String>),
}

async fn agencies() -> Agencies {
    let stack = Stack::new().await;
    for user in [ADMIN, MEMBER, BOTH, "user_2gus"] {
        stack
            .create_user(user, &format!("{user}@example.com"))
            .await;
    }
    stack.amazon.add_login(
        "client",
        na_login("client", &[(101, "Client US"), (102, "Client CA")]),
    );
    stack
        .amazon
        .add_login("rival", na_login("rival", &[(201, "Rival US")]));
    stack
        .amazon
        .add_login("own", na_login("own", &[(301, "Own US")]));
    let acme = stack.connected(ADMIN_AT_ACME, "client").await;
    let globex = stack.connected(GLOBEX_ADMIN, "rival").await;
    let personal = stack.connected(ADMIN, "own").await;
    Agencies {
        stack,
        acme,
        globex,
        personal,
    }
}

fn ids(list: &Value, field: &str, id: &str) -> Vec<String> {
    let mut ids: Vec<String> = list[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} in {list}"))
        .iter()
        .map(|item| item[id].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}
