//! The connect flow under attack, table-driven: `return_to` open redirects
//! at `POST /api/v1/amazon/connect`, forged, replayed and expired states,
//! PKCE substitutions, and markup or header injection in Amazon's error
//! parameters at the callback. Every refused case must leave the table as it
//! was.

use std::collections::BTreeMap;

use adsconnect::connections::tokens::token_context;
use adsconnect::model::oauth::state_hash;
use adsconnect::model::sealed::Sealed;
use adsconnect::tokens::CipherError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;

use super::*;

mod completion;
mod parameters;
mod return_to;
mod states;

const USER: &str = "user_2oauthAttacks";
const LOGIN: &str = "seller";

async fn stack() -> Stack {
    let stack = Stack::with_user(USER, "victim@example.com").await;
    stack.amazon.add_login(
        LOGIN,
        amazon_login(
            json!({"user_id": "amzn1.account.SELLER", "name": "Seller"}),
            vec![("na", vec![profile(4242, "US", "Seller US", "seller")])],
            vec![],
        ),
    );
    stack
}

async fn connections(stack: &Stack) -> usize {
    let items = stack.items().await;
    items
        .iter()
        .filter(|i| attr_s(i, "sk").is_some_and(|sk| sk.starts_with("CONN#")))
        .count()
}

/// A started connect: its state and consent URL.
struct Started {
    state: String,
    authorization_url: String,
}

impl Started {
    fn hash(&self) -> String {
        state_hash(&self.state)
    }
}

async fn start(stack: &Stack, body: &Value) -> Started {
    let started = stack.connect(USER, body).await;
    assert_eq!(started.status, 200, "{body}: {:?}", started.body);
    Started {
        state: started.body["state"].as_str().unwrap().to_owned(),
        authorization_url: started.body["authorization_url"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

/// The seller consents: the query Amazon sends the browser back with.
fn consent(stack: &Stack, authorization_url: &str) -> String {
    stack.amazon.consent(authorization_url, LOGIN).unwrap().1
}

/// The `code` of a consent's redirect query.
fn code_of(query: &str) -> String {
    let url = reqwest::Url::parse(&format!("https://callback/?{query}")).unwrap();
    query_of(&url)["code"].clone()
}

/// `value` as a query parameter value.
fn enc(value: &str) -> String {
    let mut url = reqwest::Url::parse("https://callback/").unwrap();
    url.query_pairs_mut().append_pair("v", value);
    url.query().unwrap()["v=".len()..].to_owned()
}

/// Where the callback sent the browser, checked to carry only our own
/// outcome parameters: the URL, `amazon`, and `reason` or `connection_id`.
fn outcome(name: &str, response: &Response) -> (reqwest::Url, BTreeMap<String, String>) {
    assert_eq!(response.status, 302, "{name}: {:?}", response.body);
    assert_eq!(response.body, Value::Null, "{name}: a redirect has no body");
    assert!(
        response.headers.get("set-cookie").is_none(),
        "{name}: {:?}",
        response.headers
    );
    let location = response.location();
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    let query: BTreeMap<String, String> = pairs.iter().cloned().collect();
    assert_eq!(pairs.len(), query.len(), "{name}: repeated parameters");
    (location, query)
}

fn assert_refused_to(name: &str, response: &Response, base: &str, reason: &str) {
    let (location, query) = outcome(name, response);
    assert!(
        location.as_str().starts_with(&format!("{base}?")),
        "{name}: {location}"
    );
    assert_eq!(
        query,
        BTreeMap::from([
            ("amazon".to_owned(), "error".to_owned()),
            ("reason".to_owned(), reason.to_owned())
        ]),
        "{name}: {location}"
    );
}
