//! Which Ads API paths the proxy passes on, in which form, and which
//! throttling unit each belongs to. A path is checked segment by segment
//! before anything else sees it: what the allow-list matches is exactly
//! what Amazon gets.

use std::str::FromStr;

use reqwest::Method;

/// The longest path passed on (Amazon's longest are far shorter).
const MAX_PATH: usize = 1024;
/// The longest throttling family kept (it names an attribute).
const MAX_FAMILY: usize = 64;

/// RFC 3986's unreserved characters: the only ones a segment may carry
/// as they are.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The path as Amazon will get it, or `None` when it is refused. Each
/// segment holds unreserved characters and percent-encoded UTF-8 of other
/// letters; percent-encodings of unreserved characters are decoded (they
/// mean the same). Refused: empty segments (except one trailing slash),
/// `.` and `..` however written, any encoded reserved or control character
/// (`%2F`, `%3B`, `%00`; `%25`, so no double encoding such as `%252e`),
/// invalid or overlong UTF-8, and raw characters outside the unreserved
/// set (`;`, `:`, `\`, spaces…).
pub fn normalize(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix('/')?;
    if rest.is_empty() || raw.len() > MAX_PATH {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    let mut normalized = String::with_capacity(raw.len());
    for (index, segment) in segments.iter().enumerate() {
        normalized.push('/');
        if segment.is_empty() && index == last && index > 0 {
            break;
        }
        normalized.push_str(&normalize_segment(segment)?);
    }
    Some(normalized)
}

fn normalize_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = segment.get(index + 1..index + 3)?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            byte if is_unreserved(byte) => {
                decoded.push(byte);
                index += 1;
            }
            _ => return None,
        }
    }
    // `from_utf8` refuses overlong forms and surrogates.
    let text = std::str::from_utf8(&decoded).ok()?;
    if text.is_empty() || text == "." || text == ".." {
        return None;
    }
    let mut encoded = String::with_capacity(segment.len());
    for c in text.chars() {
        if c.is_ascii() {
            if !is_unreserved(c as u8) {
                return None;
            }
            encoded.push(c);
        } else if c.is_control() {
            return None;
        } else {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    Some(encoded)
}

/// Whether the path is one of Ads API v1 (`/adsApi/v1/…`), whose calls
/// name the client and the account with v1's own headers.
pub fn is_v1(path: &str) -> bool {
    path.starts_with("/adsApi/v1/")
}

/// Whether the path is Amazon's reporting API (`/reporting/reports…`), where
/// a DSP advertiser is named by one account header, never two.
pub fn is_reporting(path: &str) -> bool {
    path == "/reporting/reports" || path.starts_with("/reporting/reports/")
}

/// Whether a call changes something at Amazon: what a manager account's
/// Viewer may not do (Amazon: a Viewer may "read data, create reports").
/// GET and HEAD read; PUT, PATCH and DELETE write; POST writes unless it is
/// one of Amazon's reads by POST:
/// - a list or search (last segment `list` or `search`): SP/SB/SD/ST lists,
///   audiences, locations, product eligibility, ad creatives, DSP seats,
///   creative assets;
/// - Ads API v1's `query/…` and `retrieve/…` (forecasts are retrieved);
/// - report creation: `/reporting/reports`, v1's `create/reports`, the
///   older `…/report`, `…/snapshot` and `…/export` requests;
/// - recommendations, forecasts and insights (a segment naming one: SP
///   keyword, target, bid and budget recommendations, SB recommendations,
///   persona-builder `/insights/…`, a store's insights), budget usage
///   (`…/budget/usage`), product metadata and a creative's preview.
///
/// Not reads: AMC's `POST /amc/audiences/query` and `…/lookalike` ("starts
/// the execution workflow to create audience and activate it in DSP"), AMC
/// workflows and executions, Stream subscriptions, and v1's other verbs.
/// Sources: Amazon's Postman collection (amzn/ads-advanced-tools-docs,
/// `postman/Amazon_Ads_API.postman_collection.json`, commit eba13ee: every
/// POST request and its description); Amazon's manager-accounts guide for
/// what a Viewer may do; the v1 verbs (`create|query|update|delete|
/// retrieve`) from `../shared/reference/amazon-dsp-amc.md` §7.
pub fn is_write(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET | Method::HEAD => false,
        Method::POST => !is_read_by_post(path),
        _ => true,
    }
}

fn is_read_by_post(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let names_an_estimate = |segment: &&str| {
        let lower = segment.to_ascii_lowercase();
        lower.contains("recommendation") || lower.contains("forecast") || lower == "insights"
    };
    match segments.as_slice() {
        ["adsApi", "v1", "query" | "retrieve", ..] => true,
        ["adsApi", "v1", "create", resource, ..] => {
            *resource == "reports" || names_an_estimate(resource)
        }
        ["adsApi", ..] => false,
        [.., "budget", "usage"] | ["product", "metadata"] => true,
        [.., last] => {
            matches!(
                *last,
                "list" | "search" | "reports" | "report" | "snapshot" | "export" | "preview"
            ) || segments.iter().any(names_an_estimate)
        }
        [] => false,
    }
}

/// The unit Amazon throttles a call by, within one connection and region:
/// the API its path names. Amazon's rate limits apply per API ("per ad
/// product" for v1) and its URLs name the API in their first segment
/// (`/sp/…`, `/sb/…`, `/dsp/…`, `/amc/…`, `/reporting/…`); a leading
/// version (`/v2/…`) is skipped. Two refinements: a v1 call's API is its
/// resource (`/adsApi/v1/query/campaigns` → `adsApi.campaigns`), and
/// report creation (`POST …/reports`) has limits of its own, tied to the
/// report queue, so polling and downloads are not held back by it.
pub fn throttle_family(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_version =
        |s: &str| s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
    let rest = match segments.as_slice() {
        [first, rest @ ..] if is_version(first) && !rest.is_empty() => rest,
        all => all,
    };
    let family = match rest {
        ["adsApi", "v1", _verb, resource, ..] => format!("adsApi.{resource}"),
        [api, .., "reports"] if *method == Method::POST => format!("{api}.reports-create"),
        [api, ..] => (*api).to_owned(),
        [] => "root".to_owned(),
    };
    family.chars().take(MAX_FAMILY).collect()
}

/// One entry of `ADS_PROXY_ALLOWED_PATHS`: a path prefix matched by whole
/// segments, optionally for one method only (`GET /sp/campaigns`), so a
/// read-only deployment is `GET /`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    method: Option<Method>,
    /// Normalized, without a trailing slash (`""` for `/`).
    prefix: String,
}

impl FromStr for AllowRule {
    type Err = String;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let (method, path) = match entry.trim().split_once(char::is_whitespace) {
            Some((method, path)) => {
                let method = match method.to_ascii_uppercase().as_str() {
                    "GET" => Method::GET,
                    "POST" => Method::POST,
                    "PUT" => Method::PUT,
                    "PATCH" => Method::PATCH,
                    "DELETE" => Method::DELETE,
                    _ => return Err(format!("`{method}` is not GET, POST, PUT, PATCH or DELETE")),
                };
                (Some(method), path.trim())
            }
            None => (None, entry.trim()),
        };
        let prefix = if path == "/" {
            String::new()
        } else {
            normalize(path)
                .ok_or_else(|| format!("`{path}` is not a plain path starting with /"))?
                .trim_end_matches('/')
                .to_owned()
        };
        Ok(Self { method, prefix })
    }
}

impl AllowRule {
    fn allows(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && path
                .strip_prefix(&self.prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Whether a call of `method` to the normalized `path` is allowed (no
/// rules: every call).
pub fn is_allowed(method: &Method, path: &str, rules: &[AllowRule]) -> bool {
    rules.is_empty() || rules.iter().any(|rule| rule.allows(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_pass_and_encodings_of_unreserved_characters_are_decoded() {
        for (raw, sent) in [
            ("/sp/campaigns/list", "/sp/campaigns/list"),
            ("/v2/profiles", "/v2/profiles"),
            (
                "/amc/instances/amcr1x/advertisers/updates/",
                "/amc/instances/amcr1x/advertisers/updates/",
            ),
            ("/sp/%63ampaigns", "/sp/campaigns"),
            (
                "/reporting/reports/abc-1_x~y.z",
                "/reporting/reports/abc-1_x~y.z",
            ),
            ("/stores/caf%c3%a9", "/stores/caf%C3%A9"),
        ] {
            assert_eq!(normalize(raw).as_deref(), Some(sent), "{raw}");
        }
    }

    #[test]
    fn paths_that_could_mean_something_else_are_refused() {
        for bad in [
            "",
            "/",
            "//",
            "sp/campaigns",
            "/sp//campaigns",
            "/sp/../v2/profiles",
            "/sp/./campaigns",
            "/sp/%2e%2e/profiles",
            "/sp/%2E",
            "/sp%2F..%2Fprofiles",
            "/sp/%252e%252e/x",
            "/sp;jsessionid=1/campaigns",
            "/sp/%3b",
            "/sp\\campaigns",
            "/sp/camp aigns",
            "/sp/%00",
            "/sp/%c0%ae%c0%ae/x",
            "/sp/%e0%80%ae",
            "/sp/%ff",
            "/sp/%2",
            "/sp/%zz",
            "/sp/a:b",
            "/sp/a@b",
            "/sp/campaigns?x=1",
            "/sp/%c2%85",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_eq!(normalize(&format!("/{}", "a".repeat(MAX_PATH))), None);
    }

    #[test]
    fn the_allow_list_matches_whole_segments_and_may_name_a_method() {
        let rules: Vec<AllowRule> = ["/sp/campaigns", "GET /reporting/", "post /v2/profiles"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect();
        assert!(is_allowed(&Method::POST, "/sp/campaigns", &rules));
        assert!(is_allowed(&Method::DELETE, "/sp/campaigns/list", &rules));
        assert!(is_allowed(&Method::GET, "/reporting/reports/1", &rules));
        assert!(!is_allowed(&Method::POST, "/reporting/reports", &rules));
        assert!(is_allowed(&Method::POST, "/v2/profiles", &rules));
        assert!(!is_allowed(&Method::GET, "/sp/campaignsX", &rules));
        assert!(is_allowed(&Method::GET, "/anything", &[]));
        let read_only: Vec<AllowRule> = vec!["GET /".parse().unwrap()];
        assert!(is_allowed(&Method::GET, "/sp/campaigns/", &read_only));
        assert!(!is_allowed(&Method::PUT, "/sp/campaigns", &read_only));
        assert!("HEAD /x".parse::<AllowRule>().is_err());
        assert!("/x/../y".parse::<AllowRule>().is_err());
    }

    #[test]
    fn reads_and_reports_are_not_writes_and_everything_else_that_changes_is() {
        for (method, path) in [
            (Method::GET, "/sp/campaigns/123"),
            (Method::HEAD, "/v2/profiles"),
            (Method::POST, "/sp/campaigns/list"),
            (Method::POST, "/sb/v4/campaigns/list"),
            (
                Method::POST,
                "/st/creatives/moderations/policyViolations/list",
            ),
            (Method::POST, "/dsp/v1/seats/advertisers/current/list"),
            (Method::POST, "/audiences/taxonomy/list"),
            (Method::POST, "/assets/search"),
            (Method::POST, "/adsApi/v1/query/campaigns"),
            (Method::POST, "/adsApi/v1/retrieve/reports"),
            (Method::POST, "/adsApi/v1/retrieve/campaignForecasts/dsp"),
            (Method::POST, "/adsApi/v1/create/reports"),
            (Method::POST, "/reporting/reports"),
            (Method::POST, "/v2/hsa/keywords/report"),
            (Method::POST, "/v2/sp/campaigns/snapshot"),
            (Method::POST, "/campaigns/export"),
            (Method::POST, "/sp/targets/keywords/recommendations"),
            (Method::POST, "/sp/campaigns/budgetRecommendations"),
            (Method::POST, "/sb/recommendations/bids"),
            (Method::POST, "/insights/demographics"),
            (Method::POST, "/stores/ENTITY1/insights"),
            (Method::POST, "/sd/campaigns/budget/usage"),
            (Method::POST, "/product/metadata"),
            (Method::POST, "/st/creatives/preview"),
        ] {
            assert!(!is_write(&method, path), "{method} {path} reads");
        }
        for (method, path) in [
            (Method::POST, "/sp/campaigns"),
            (Method::POST, "/sp/campaigns/delete"),
            (Method::PUT, "/sp/campaigns"),
            (Method::PUT, "/sp/campaigns/list"),
            (Method::PATCH, "/sp/campaigns"),
            (Method::DELETE, "/reporting/reports/abc"),
            (Method::POST, "/sb/v4/ads/video"),
            (Method::POST, "/adsApi/v1/create/campaigns"),
            (Method::POST, "/adsApi/v1/update/campaigns"),
            (Method::POST, "/adsApi/v1/delete/reports"),
            (Method::POST, "/amc/audiences/query"),
            (Method::POST, "/amc/reporting/amcr1x/workflowExecutions"),
            (Method::POST, "/streams/subscriptions"),
            (Method::POST, "/sp/campaigns/123/budgetRules"),
        ] {
            assert!(is_write(&method, path), "{method} {path} writes");
        }
    }

    #[test]
    fn reporting_is_the_v3_reports_api_alone() {
        assert!(is_reporting("/reporting/reports"));
        assert!(is_reporting("/reporting/reports/abc-1"));
        assert!(!is_reporting("/reporting/reportsX"));
        assert!(!is_reporting("/adsApi/v1/create/reports"));
        assert!(!is_reporting("/amc/reporting/amcr1x/workflows"));
    }

    #[test]
    fn each_api_is_a_throttling_family() {
        for (method, path, family) in [
            (Method::POST, "/sp/campaigns/list", "sp"),
            (Method::GET, "/v2/profiles", "profiles"),
            (Method::GET, "/v2/sp/campaigns/extended", "sp"),
            (
                Method::POST,
                "/reporting/reports",
                "reporting.reports-create",
            ),
            (Method::GET, "/reporting/reports/abc", "reporting"),
            (
                Method::POST,
                "/adsApi/v1/query/campaigns",
                "adsApi.campaigns",
            ),
            (Method::GET, "/amc/instances/x/advertisers/updates/", "amc"),
        ] {
            assert_eq!(throttle_family(&method, path), family, "{path}");
        }
    }
}
