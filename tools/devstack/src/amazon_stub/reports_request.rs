//! A report request's body as Amazon checks it on `POST /reporting/reports`
//! (reference amazon-reporting.md §1, §4, §5): dates, the type's longest
//! range, its ad product, group-by, columns, time unit, format, and a DSP
//! report's advertiser filter against the account header the call used.

use chrono::{NaiveDate, Utc};
use serde_json::Value;

const SP: &str = "SPONSORED_PRODUCTS";
const SB: &str = "SPONSORED_BRANDS";
const SD: &str = "SPONSORED_DISPLAY";
// Sponsored TV's value is not in Amazon's docs (reference §1, [U]).
const ST: &str = "SPONSORED_TELEVISION";
pub(super) const DSP: &str = "DEMAND_SIDE_PLATFORM";
const AD_PRODUCTS: [&str; 6] = [SP, SB, SD, ST, DSP, "ALL"];
/// Amazon takes up to 100 advertisers in one agency-scoped DSP report.
const MOST_ADVERTISERS: usize = 100;

/// The ad product a report type belongs to and its longest range in days
/// (the reference's table, §4).
fn report_type(id: &str) -> Option<(&'static str, i64)> {
    Some(match id {
        "spCampaigns"
        | "spTargeting"
        | "spSearchTerm"
        | "spAdvertisedProduct"
        | "spPurchasedProduct" => (SP, 31),
        "sbCampaigns"
        | "sbAdGroup"
        | "sbTargeting"
        | "sbSearchTerm"
        | "sbAds"
        | "sbCampaignPlacement" => (SB, 31),
        "sbPurchasedProduct" => (SB, 731),
        "sdCampaigns"
        | "sdAdGroup"
        | "sdTargeting"
        | "sdAdvertisedProduct"
        | "sdPurchasedProduct" => (SD, 31),
        "stCampaigns" | "stTargeting" => (ST, 31),
        "dspCampaign" | "dspInventory" | "dspGeo" | "dspTech" | "dspProduct" | "dspAudience" => {
            (DSP, 31)
        }
        "spGrossAndInvalids" => (SP, 365),
        "sbGrossAndInvalids" => (SB, 365),
        "sdGrossAndInvalids" => (SD, 365),
        "conversionPath" => ("ALL", 90),
        _ => return None,
    })
}

/// Which account header the call named its account with.
#[derive(Clone, Copy)]
pub(super) enum AccountHeader<'a> {
    /// `Amazon-Advertising-API-Scope`: a profile (an agency's for DSP).
    Scope,
    /// `Amazon-Ads-AccountId`: one DSP advertiser.
    AdvertiserId(&'a str),
}

/// What a valid request asks for.
#[derive(Debug, Clone)]
pub(super) struct ReportRequest {
    pub(super) name: Option<String>,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    /// As sent, echoed back in every answer about the report.
    pub(super) configuration: Value,
    pub(super) report_type: String,
    pub(super) columns: Vec<String>,
    pub(super) daily: bool,
    pub(super) csv: bool,
    pub(super) dsp: bool,
    /// The DSP advertisers the filter names.
    pub(super) advertisers: Vec<String>,
}

/// Checks `body` as Amazon does, or says why not in a 400's `details`.
/// Unless `complete` is required, a field left out is not refused (the
/// proxy's pass-through tests post partial bodies): the report then covers
/// today, as a summary, with no columns. Every field present is checked.
pub(super) fn check(
    body: &[u8],
    complete: bool,
    header: AccountHeader<'_>,
    agency_lists: &dyn Fn(&str) -> bool,
) -> Result<ReportRequest, String> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| format!("Malformed request body: {e}"))?;
    let field = |value: &Value, name: &str| -> Result<Option<Value>, String> {
        match value.get(name).filter(|v| !v.is_null()) {
            Some(v) => Ok(Some(v.clone())),
            None if complete => Err(format!("{name} is required")),
            None => Ok(None),
        }
    };
    let text = |value: &Value, name: &str| -> Result<Option<String>, String> {
        field(value, name)?
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("{name} must be a string"))
            })
            .transpose()
    };
    let date = |name: &str| -> Result<Option<NaiveDate>, String> {
        text(&body, name)?
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .map_err(|_| format!("{name} must be a date in the format YYYY-MM-DD"))
            })
            .transpose()
    };
    let today = Utc::now().date_naive();
    let start = date("startDate")?.unwrap_or(today);
    let end = date("endDate")?.unwrap_or(today);
    if end < start {
        return Err("endDate must be on or after startDate".into());
    }
    let configuration = field(&body, "configuration")?.unwrap_or(Value::Null);
    let ad_product = text(&configuration, "adProduct")?;
    if let Some(product) = ad_product.as_deref().filter(|p| !AD_PRODUCTS.contains(p)) {
        return Err(format!(
            "Invalid adProduct {product}; allowed values: {}",
            AD_PRODUCTS.join(", ")
        ));
    }
    let report_type_id = text(&configuration, "reportTypeId")?.unwrap_or_default();
    if !report_type_id.is_empty() || complete {
        let (product, most_days) = report_type(&report_type_id)
            .ok_or(format!("Invalid reportTypeId: {report_type_id}"))?;
        if ad_product.as_deref().is_some_and(|p| p != product) {
            return Err(format!(
                "reportTypeId {report_type_id} requires adProduct {product}"
            ));
        }
        if (end - start).num_days() + 1 > most_days {
            return Err(format!(
                "The date range can not exceed {most_days} days for reportTypeId {report_type_id}"
            ));
        }
    }
    let names = |name: &str| -> Result<Vec<String>, String> {
        let Some(list) = field(&configuration, name)? else {
            return Ok(Vec::new());
        };
        let list: Vec<String> = list
            .as_array()
            .and_then(|l| l.iter().map(|v| v.as_str().map(str::to_owned)).collect())
            .ok_or(format!("{name} must be a list of strings"))?;
        if list.is_empty() {
            return Err(format!("{name} must not be empty"));
        }
        Ok(list)
    };
    names("groupBy")?;
    let columns = names("columns")?;
    let daily = match text(&configuration, "timeUnit")?.as_deref() {
        Some("DAILY") => true,
        Some("SUMMARY") | None => false,
        Some(other) => return Err(format!("Invalid timeUnit {other}; use DAILY or SUMMARY")),
    };
    let dsp = ad_product.as_deref() == Some(DSP);
    let csv = match text(&configuration, "format")?.as_deref() {
        Some("GZIP_JSON") | None => false,
        Some("CSV") if dsp => true,
        Some(other) => return Err(format!("Invalid format {other} for this report type")),
    };
    let advertisers = if dsp {
        advertiser_filter(&configuration, complete, header, agency_lists)?
    } else {
        Vec::new()
    };
    Ok(ReportRequest {
        name: body["name"].as_str().map(str::to_owned),
        start,
        end,
        configuration,
        report_type: report_type_id,
        columns,
        daily,
        csv,
        dsp,
        advertisers,
    })
}

/// A DSP report's `advertiserId` filter (§5): required; with
/// `Amazon-Ads-AccountId` exactly that advertiser, with an agency profile's
/// scope up to 100 of the advertisers it lists for the login
/// (`agency_lists`).
fn advertiser_filter(
    configuration: &Value,
    complete: bool,
    header: AccountHeader<'_>,
    agency_lists: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, String> {
    let filter = configuration["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["field"] == "advertiserId");
    let Some(filter) = filter else {
        return if complete || configuration.get("filters").is_some() {
            Err(
                "filters must contain an advertiserId filter for DEMAND_SIDE_PLATFORM reports"
                    .into(),
            )
        } else {
            Ok(Vec::new())
        };
    };
    let advertisers: Vec<String> = filter["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    if advertisers.is_empty() {
        return Err("advertiserId filter values must not be empty".into());
    }
    match header {
        AccountHeader::AdvertiserId(account) => {
            if advertisers != [account] {
                return Err(format!(
                    "With Amazon-Ads-AccountId the advertiserId filter must name exactly that advertiser ({account})"
                ));
            }
        }
        AccountHeader::Scope => {
            if advertisers.len() > MOST_ADVERTISERS {
                return Err(format!(
                    "advertiserId filter accepts at most {MOST_ADVERTISERS} values"
                ));
            }
            if let Some(foreign) = advertisers
                .iter()
                .find(|advertiser| !agency_lists(advertiser))
            {
                return Err(format!("No matching advertiser found for scope: {foreign}"));
            }
        }
    }
    Ok(advertisers)
}
