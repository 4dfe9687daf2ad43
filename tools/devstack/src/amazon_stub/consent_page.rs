//! The Amazon stand-in's consent page (`/{region}/ap/oa`). With one login it
//! consents at once, as a returning Amazon user may; with several it shows
//! a page to choose which login consents — or to cancel, which redirects
//! with `error=access_denied` as Amazon does.

use std::collections::HashMap;

use wiremock::{Request, Respond, ResponseTemplate};

use super::world::{AmazonWorld, CLIENT_ID};

pub(super) struct ConsentPage(pub(super) AmazonWorld);

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `url` with `name=value` added to its query.
fn with_param(url: &reqwest::Url, name: &str, value: &str) -> String {
    let mut url = url.clone();
    url.query_pairs_mut().append_pair(name, value);
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

impl ConsentPage {
    /// The redirect Amazon makes when the user cancels.
    fn denied(query: &HashMap<String, String>) -> ResponseTemplate {
        let (Some(redirect_uri), Some(state)) = (query.get("redirect_uri"), query.get("state"))
        else {
            return ResponseTemplate::new(400).set_body_string("no redirect_uri or state");
        };
        if query.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            return ResponseTemplate::new(400).set_body_string("unknown client_id");
        }
        let mut target = match reqwest::Url::parse(redirect_uri) {
            Ok(url) => url,
            Err(_) => return ResponseTemplate::new(400).set_body_string("bad redirect_uri"),
        };
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request")
            .append_pair("state", state);
        ResponseTemplate::new(302).insert_header("location", target.as_str())
    }

    fn consented(&self, request: &Request, login: &str) -> ResponseTemplate {
        match self.0.consent(request.url.as_str(), login) {
            Ok((redirect_uri, query)) => ResponseTemplate::new(302)
                .insert_header("location", format!("{redirect_uri}?{query}")),
            Err(reason) => ResponseTemplate::new(400).set_body_string(reason),
        }
    }

    /// The page listing every login, each a link that consents as it.
    fn chooser(&self, request: &Request) -> ResponseTemplate {
        let mut logins: Vec<(String, String, usize)> = self
            .0
            .world()
            .logins
            .iter()
            .map(|(name, login)| {
                let label = login
                    .lwa_profile
                    .as_ref()
                    .and_then(|p| p["name"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| name.clone());
                let profiles = login.profiles.values().map(Vec::len).sum::<usize>();
                (name.clone(), label, profiles)
            })
            .collect();
        logins.sort();
        let items: String = logins
            .iter()
            .map(|(name, label, profiles)| {
                format!(
                    "<li><a href=\"{}\">Continue as {} <small>({profiles} profiles)</small></a></li>",
                    escape(&with_param(&request.url, "login", name)),
                    escape(label)
                )
            })
            .collect();
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Amazon (stand-in): allow AdsConnect?</title>\
             <style>body{{font-family:sans-serif;max-width:40rem;margin:3rem auto;color:#111}}a{{color:#0b57d0}}li{{margin:.5rem 0}}</style></head>\
             <body><main><h1>Amazon stand-in</h1><p>AdsConnect asks for access to your Amazon Ads accounts. Which Amazon login consents?</p>\
             <ul>{items}</ul><p><a href=\"{}\">Cancel (deny access)</a></p></main></body></html>",
            escape(&with_param(&request.url, "deny", "1"))
        );
        ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8")
    }
}

impl Respond for ConsentPage {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        if query.contains_key("deny") {
            return Self::denied(&query);
        }
        if let Some(login) = query.get("login") {
            if !self.0.world().logins.contains_key(login) {
                return ResponseTemplate::new(400).set_body_string("no such login");
            }
            return self.consented(request, login);
        }
        let (count, only) = {
            let world = self.0.world();
            (world.logins.len(), world.consenting.clone())
        };
        if count > 1 {
            return self.chooser(request);
        }
        self.consented(request, &only)
    }
}
