//! Amazon DSP: the advertisers under an agency profile, and an advertiser's
//! seats on the ad exchanges (facts and their uncertainties:
//! `reference/amazon-dsp-amc.md`).

use std::time::Instant;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::ads::{AdsApi, AdsError, optional_number_as_text};
use super::http::{self, HttpError};
use super::paging::{self, Listed, OffsetPage};
use crate::model::region::Region;
use crate::model::seats::Seat;
use crate::secrets::Secret;

/// Amazon's maximum (and default) page of `/dsp/advertisers`.
const ADVERTISERS_PAGE: usize = 100;
/// Amazon's largest `startIndex`.
const MAX_START_INDEX: usize = 29_900;
/// Amazon's largest page of seats.
const SEATS_PAGE: u32 = 200;
/// A runaway `nextToken` chain must end somewhere.
const MAX_SEAT_PAGES: usize = 50;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DspAdvertiser {
    /// 18-digit ids: kept as text, whichever way Amazon sends them.
    #[serde(deserialize_with = "super::ads::number_as_text")]
    pub advertiser_id: String,
    pub name: Option<String>,
    pub currency: Option<String>,
    pub country: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdvertiserPage {
    #[serde(default)]
    total_results: Option<usize>,
    /// The documented field; older answers named it `advertisers`.
    #[serde(default, alias = "advertisers")]
    response: Vec<DspAdvertiser>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmazonSeat {
    #[serde(deserialize_with = "super::ads::number_as_text")]
    exchange_id: String,
    exchange_name: Option<String>,
    #[serde(default, deserialize_with = "optional_number_as_text")]
    deal_creation_id: Option<String>,
    #[serde(default, deserialize_with = "optional_number_as_text")]
    spend_tracking_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdvertiserSeats {
    #[serde(default)]
    current_seats: Vec<AmazonSeat>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeatPage {
    #[serde(default)]
    advertiser_seats: Vec<AdvertiserSeats>,
    next_token: Option<String>,
}

/// Why seats could not be listed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SeatsError {
    #[error(transparent)]
    Unavailable(#[from] HttpError),
    /// Amazon refused: its status and error code, passed on unchanged.
    #[error("Amazon refused with {status} {code}")]
    Refused { status: u16, code: String },
    #[error("unexpected body: {0}")]
    Body(String),
}

/// Amazon's error code in a refusal (`code`, `errorCode` or the first
/// `errors[].errorType`), when it has the shape of one: never free text.
fn amazon_error_code(body: &serde_json::Value) -> Option<String> {
    let code = body
        .get("code")
        .or_else(|| body.get("errorCode"))
        .or_else(|| body.pointer("/errors/0/errorType"))
        .or_else(|| body.pointer("/errors/0/code"))?
        .as_str()?;
    let shaped = (1..=100).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    shaped.then(|| code.to_owned())
}

impl AdsApi {
    /// Every advertiser under agency profile `profile_id`, page by page
    /// ([`paging::by_offset`]: each page starts where the advertisers
    /// received so far end; Amazon's `totalResults` ends it).
    pub async fn dsp_advertisers(
        &self,
        region: Region,
        profile_id: &str,
        access_token: &Secret,
        stop_at: Option<Instant>,
    ) -> Result<Listed<DspAdvertiser>, AdsError> {
        paging::by_offset(MAX_START_INDEX, stop_at, |start| async move {
            let page: AdvertiserPage = self
                .get_json(
                    region,
                    "/dsp/advertisers",
                    access_token,
                    &[("Amazon-Advertising-API-Scope", profile_id)],
                    &[
                        ("startIndex", start.to_string()),
                        ("count", ADVERTISERS_PAGE.to_string()),
                    ],
                )
                .await?;
            Ok(OffsetPage {
                items: page.response,
                total: page.total_results,
            })
        })
        .await
    }

    /// Every seat of DSP advertiser `advertiser_id`, following `nextToken`
    /// to the end; `exchange_ids` narrows to those exchanges. A list call:
    /// repeating it is harmless.
    pub async fn dsp_seats(
        &self,
        region: Region,
        advertiser_id: &str,
        parent_entity_id: Option<&str>,
        exchange_ids: &[String],
        access_token: &Secret,
    ) -> Result<Listed<Seat>, SeatsError> {
        let url = format!(
            "{}/dsp/v1/seats/advertisers/current/list",
            self.hosts.get(region)
        );
        let url = url.as_str();
        // A page started later could not finish before the call margin.
        let stop_at = crate::budget::deadline()
            .and_then(|at| at.checked_sub(crate::budget::CALL_MARGIN + crate::budget::MIN_ATTEMPT));
        paging::by_token(MAX_SEAT_PAGES, stop_at, |next_token| async move {
            let mut body = json!({ "maxResults": SEATS_PAGE });
            if !exchange_ids.is_empty() {
                body["exchangeIdFilter"] = json!(exchange_ids);
            }
            if let Some(token) = next_token {
                body["nextToken"] = json!(token);
            }
            let body = body.to_string();
            let response = http::send(|| {
                let mut request = self
                    .http
                    .post(url)
                    .bearer_auth(access_token.expose())
                    .header("Amazon-Advertising-API-ClientId", self.client_id.expose())
                    .header("Amazon-Ads-AccountId", advertiser_id)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(reqwest::header::ACCEPT, "application/json")
                    .body(body.clone());
                // Undocumented, but Amazon refused advertiser calls without it.
                if let Some(entity) = parent_entity_id {
                    request = request.header("parentEntityId", entity);
                }
                request
            })
            .await?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| SeatsError::Body(e.without_url().to_string()))?;
            if status != StatusCode::OK {
                let body = serde_json::from_str(&text).unwrap_or_default();
                return Err(SeatsError::Refused {
                    status: status.as_u16(),
                    code: amazon_error_code(&body).unwrap_or_else(|| format!("HTTP_{status}")),
                });
            }
            let page: SeatPage =
                serde_json::from_str(&text).map_err(|e| SeatsError::Body(e.to_string()))?;
            let seats = page
                .advertiser_seats
                .into_iter()
                .flat_map(|a| a.current_seats)
                .map(|s| Seat {
                    exchange_id: s.exchange_id,
                    exchange_name: s.exchange_name,
                    deal_creation_id: s.deal_creation_id,
                    spend_tracking_id: s.spend_tracking_id,
                })
                .collect();
            Ok((seats, page.next_token))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertiser_pages_parse_either_shape_and_keep_ids_exact() {
        let page: AdvertiserPage = serde_json::from_str(
            r#"{"totalResults": 2, "response": [{"advertiserId": "592207944055236095", "name": "A",
                "currency": "USD", "url": "https://a.example", "country": "US", "timezone": "America/New_York"},
                {"advertiserId": 592207944055236096}]}"#,
        )
        .unwrap();
        assert_eq!(page.response[0].advertiser_id, "592207944055236095");
        assert_eq!(page.response[1].advertiser_id, "592207944055236096");
        let old: AdvertiserPage =
            serde_json::from_str(r#"{"advertisers": [{"advertiserId": "1"}]}"#).unwrap();
        assert_eq!(old.response.len(), 1);
        assert_eq!(old.total_results, None);
    }

    #[test]
    fn only_code_shaped_values_pass_as_amazons_error_code() {
        let code = |v: serde_json::Value| amazon_error_code(&v);
        assert_eq!(
            code(
                json!({"code": "NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT", "message": "x"})
            ),
            Some("NO_PARENT_ENTITY_ID_OR_ADVERTISER_ID_FOR_ADVERTISER_CONTEXT".into())
        );
        assert_eq!(
            code(json!({"errors": [{"errorType": "DSP_INVALID_QUERY_PARAM"}]})),
            Some("DSP_INVALID_QUERY_PARAM".into())
        );
        assert_eq!(code(json!({"code": "token abc.def leaked"})), None);
        assert_eq!(code(json!("nothing")), None);
    }
}
