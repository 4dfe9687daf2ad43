//! Amazon's request-header vocabulary as the proxy treats it: the
//! caller's headers of Amazon's families and the content headers reach
//! Amazon unchanged; the credentials and the account-identifying headers
//! for the account's kind are the proxy's own. A caller may repeat an
//! owned header with the account's value; any other value is refused,
//! never replaced in silence and never forwarded.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Header names (lower case) of Amazon's families: every one Amazon's
/// documentation and examples use starts so.
const FAMILIES: &[&str] = &[
    "amazon-advertising-api-",
    "amazon-ads-",
    "amazon-marketing-cloud-",
];
/// How the body is encoded and what the caller accepts (Amazon's vendor
/// media types among them).
const CONTENT: &[&str] = &["content-type", "accept", "accept-language", "prefer"];
/// The client id in both spellings (v1 and the rest): always the proxy's.
pub const CLIENT_ID_HEADERS: [&str; 2] = ["Amazon-Advertising-API-ClientId", "Amazon-Ads-ClientId"];

/// The caller's headers that may reach Amazon: Amazon's families and the
/// content headers. Everything else (the caller's session, cookies,
/// hop-by-hop headers, tracing) stays here.
pub fn forwardable(caller: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for (name, value) in caller {
        let lower = name.as_str();
        if CONTENT.contains(&lower) || FAMILIES.iter().any(|f| lower.starts_with(f)) {
            kept.append(name.clone(), value.clone());
        }
    }
    kept
}

/// A caller's value for a header the proxy owns that differs from the
/// account's: the header's name (never its value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {0} header is set by AdsConnect for this account")]
pub struct OwnedHeader(pub &'static str);

/// The headers sent to Amazon: the caller's `forwarded` ones, with `ours`
/// (credentials, client id, the account's identifying headers) in place of
/// any the caller repeated. Also owned even when not sent: both client-id
/// spellings.
pub fn merge(
    forwarded: &HeaderMap,
    ours: &[(&'static str, String)],
) -> Result<HeaderMap, OwnedHeader> {
    let owned = ours
        .iter()
        .map(|(name, value)| (*name, Some(value.as_str())))
        .chain(
            CLIENT_ID_HEADERS
                .iter()
                .filter(|name| !ours.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
                .map(|name| (*name, None)),
        );
    let mut merged = forwarded.clone();
    for (name, value) in owned {
        let key = HeaderName::from_bytes(name.as_bytes()).map_err(|_| OwnedHeader(name))?;
        // Not ours to send here (the other client-id spelling): the
        // caller may not send it either, unless it is our client id.
        let expected = value.or_else(|| {
            ours.iter()
                .find(|(n, _)| CLIENT_ID_HEADERS.iter().any(|c| c.eq_ignore_ascii_case(n)))
                .map(|(_, v)| v.as_str())
        });
        if merged
            .get_all(&key)
            .iter()
            .any(|sent| Some(sent.as_bytes()) != expected.map(str::as_bytes))
        {
            return Err(OwnedHeader(name));
        }
        merged.remove(&key);
        if let Some(value) = value {
            let value = HeaderValue::from_str(value).map_err(|_| OwnedHeader(name))?;
            merged.insert(key, value);
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn amazons_families_and_content_headers_pass_and_nothing_else() {
        let kept = forwardable(&headers(&[
            ("authorization", "Bearer the-callers-session"),
            ("cookie", "session=1"),
            ("connection", "keep-alive"),
            ("x-forwarded-for", "10.0.0.1"),
            ("amazon-advertising-api-entityid", "ENTITY1"),
            ("amazon-marketing-cloud-audience-instanceid", "amcr1x"),
            ("amazon-ads-manager-accountid", "amzn1.ads1.ma1.x"),
            ("content-type", "application/vnd.spCampaign.v3+json"),
            ("prefer", "return=representation"),
        ]));
        let names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names,
            [
                "amazon-advertising-api-entityid",
                "amazon-marketing-cloud-audience-instanceid",
                "amazon-ads-manager-accountid",
                "content-type",
                "prefer"
            ]
        );
    }

    #[test]
    fn owned_headers_are_ours_and_a_differing_value_is_refused_by_name() {
        let ours = [
            ("Authorization", "Bearer Atza|x".to_owned()),
            ("Amazon-Advertising-API-ClientId", "client".to_owned()),
            ("Amazon-Advertising-API-Scope", "5001".to_owned()),
        ];
        let same = merge(&headers(&[("amazon-advertising-api-scope", "5001")]), &ours).unwrap();
        assert_eq!(
            same.get_all("amazon-advertising-api-scope").iter().count(),
            1
        );
        assert_eq!(same["authorization"], "Bearer Atza|x");
        assert_eq!(
            merge(&headers(&[("amazon-advertising-api-scope", "9999")]), &ours),
            Err(OwnedHeader("Amazon-Advertising-API-Scope"))
        );
        assert_eq!(
            merge(&headers(&[("amazon-ads-clientid", "someone-else")]), &ours),
            Err(OwnedHeader("Amazon-Ads-ClientId"))
        );
        assert!(merge(&headers(&[("amazon-ads-clientid", "client")]), &ours).is_ok());
        let passed = merge(&headers(&[("amazon-ads-accountid", "123")]), &ours).unwrap();
        assert_eq!(passed["amazon-ads-accountid"], "123");
    }
}
