//! What a report request resolves to for one account: a preset or a full
//! Amazon configuration (checked as Amazon checks it), fitted to the
//! account, over a range within the type's retention, split into the Amazon
//! reports the type's longest range allows.

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::presets::{Preset, limits};
use crate::model::account::{AccountRecord, NativeIds};

/// The longest range one job covers (split into several Amazon reports).
pub const MAX_JOB_DAYS: u64 = 366;

/// Why a request cannot become a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Malformed input (400): the field and why.
    #[error("{1}")]
    Invalid(&'static str, String),
    /// Well-formed but not possible for this account or range (422).
    #[error("{1}")]
    Unprocessable(&'static str, String),
}

/// Fields Amazon's `configuration` has (reference §1).
const CONFIGURATION_FIELDS: [&str; 7] = [
    "adProduct",
    "reportTypeId",
    "groupBy",
    "columns",
    "filters",
    "timeUnit",
    "format",
];
const AD_PRODUCTS: [&str; 5] = [
    "SPONSORED_PRODUCTS",
    "SPONSORED_BRANDS",
    "SPONSORED_DISPLAY",
    "SPONSORED_TELEVISION",
    "DEMAND_SIDE_PLATFORM",
];

/// What a job asks for, resolved for one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The folder of its files: the preset's name or `custom-<hash>`.
    pub report: String,
    pub configuration: Value,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

impl Spec {
    /// `preset` or `configuration` (exactly one) for `account`, over
    /// `start..=end`, with `today` the latest day Amazon may have data of.
    pub fn resolve(
        account: &AccountRecord,
        preset: Option<&str>,
        configuration: Option<Value>,
        (start_date, end_date): (NaiveDate, NaiveDate),
        today: NaiveDate,
    ) -> Result<Self, SpecError> {
        let (report, mut configuration) = match (preset, configuration) {
            (Some(name), None) => {
                let preset = Preset::parse(name).ok_or_else(|| {
                    let names: Vec<_> = Preset::ALL.iter().map(|p| p.name()).collect();
                    SpecError::Invalid(
                        "preset",
                        format!("unknown preset; one of {}", names.join(", ")),
                    )
                })?;
                if preset.kind() != account.kind() {
                    return Err(SpecError::Unprocessable(
                        "PRESET_NOT_FOR_ACCOUNT",
                        format!("preset {name} is not for a {:?} account", account.kind()),
                    ));
                }
                (preset.name().to_owned(), preset.configuration())
            }
            (None, Some(configuration)) => {
                check_configuration(&configuration)?;
                let digest = Sha256::digest(configuration.to_string().as_bytes());
                (format!("custom-{}", &hex(&digest)[..12]), configuration)
            }
            _ => {
                return Err(SpecError::Invalid(
                    "preset",
                    "give exactly one of `preset` and `configuration`".into(),
                ));
            }
        };
        for_account(account, &mut configuration)?;
        let report_type = configuration["reportTypeId"].as_str().unwrap_or_default();
        let (_, retention) = limits(report_type);
        if start_date > end_date {
            return Err(SpecError::Invalid(
                "start_date",
                "`start_date` is after `end_date`".into(),
            ));
        }
        if end_date > today {
            return Err(SpecError::Unprocessable(
                "RANGE_IN_FUTURE",
                format!("`end_date` is after {today}, the latest day with data"),
            ));
        }
        let oldest = today - Days::new(retention - 1);
        if start_date < oldest {
            return Err(SpecError::Unprocessable(
                "RANGE_BEYOND_RETENTION",
                format!(
                    "Amazon keeps {report_type} data {retention} days: the earliest start is {oldest}"
                ),
            ));
        }
        if days(start_date, end_date) > MAX_JOB_DAYS {
            return Err(SpecError::Unprocessable(
                "RANGE_TOO_LONG",
                format!("a job covers at most {MAX_JOB_DAYS} days"),
            ));
        }
        Ok(Self {
            report,
            configuration,
            start_date,
            end_date,
        })
    }

    /// The Amazon reports the range splits into, each within its type's
    /// longest range.
    pub fn parts(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let report_type = self.configuration["reportTypeId"]
            .as_str()
            .unwrap_or_default();
        let (longest, _) = limits(report_type);
        let mut parts = Vec::new();
        let mut start = self.start_date;
        while start <= self.end_date {
            let end = (start + Days::new(longest - 1)).min(self.end_date);
            parts.push((start, end));
            start = end + Days::new(1);
        }
        parts
    }

    /// The same request while one runs: account, configuration and range.
    pub fn request_key(&self, account: &AccountRecord) -> String {
        let digest = Sha256::digest(
            format!(
                "{}\n{}\n{}\n{}",
                account.account_id, self.configuration, self.start_date, self.end_date
            )
            .as_bytes(),
        );
        hex(&digest)[..32].to_owned()
    }
}

fn days(start: NaiveDate, end: NaiveDate) -> u64 {
    u64::try_from((end - start).num_days() + 1).unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A custom configuration as Amazon would take it, in the only format our
/// copy reads (gzipped JSON).
fn check_configuration(configuration: &Value) -> Result<(), SpecError> {
    let invalid = |message: &str| SpecError::Invalid("configuration", message.to_owned());
    let object = configuration
        .as_object()
        .ok_or_else(|| invalid("`configuration` must be Amazon's configuration object"))?;
    if let Some(unknown) = object
        .keys()
        .find(|key| !CONFIGURATION_FIELDS.contains(&key.as_str()))
    {
        return Err(invalid(&format!(
            "unknown configuration field `{unknown}`; Amazon's are {}",
            CONFIGURATION_FIELDS.join(", ")
        )));
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    if !text("adProduct").is_some_and(|p| AD_PRODUCTS.contains(&p)) {
        return Err(invalid(&format!(
            "`adProduct` must be one of {}",
            AD_PRODUCTS.join(", ")
        )));
    }
    if !text("reportTypeId").is_some_and(|t| (2..=64).contains(&t.len())) {
        return Err(invalid("`reportTypeId` is required"));
    }
    for list in ["groupBy", "columns"] {
        let names = object.get(list).and_then(Value::as_array);
        let fine = names.is_some_and(|names| {
            (1..=200).contains(&names.len())
                && names
                    .iter()
                    .all(|n| n.as_str().is_some_and(|n| (1..=128).contains(&n.len())))
        });
        if !fine {
            return Err(invalid(&format!(
                "`{list}` must list 1 to 200 names, as Amazon requires"
            )));
        }
    }
    if !matches!(text("timeUnit"), Some("DAILY" | "SUMMARY")) {
        return Err(invalid("`timeUnit` must be DAILY or SUMMARY"));
    }
    if text("format") != Some("GZIP_JSON") {
        return Err(invalid(
            "`format` must be GZIP_JSON (our copy is JSON lines)",
        ));
    }
    if object.get("filters").is_some_and(|f| !f.is_array()) {
        return Err(invalid("`filters` must be Amazon's list of filters"));
    }
    Ok(())
}

/// Fits `configuration` to `account`: a DSP advertiser's reports are DSP
/// reports filtered to it (Amazon requires the `advertiserId` filter); a
/// profile's are Sponsored Ads; an AMC instance has no reports here.
fn for_account(account: &AccountRecord, configuration: &mut Value) -> Result<(), SpecError> {
    let is_dsp = configuration["adProduct"] == "DEMAND_SIDE_PLATFORM";
    match &account.native {
        NativeIds::DspAdvertiser { advertiser_id, .. } if is_dsp => {
            let object = configuration
                .as_object_mut()
                .ok_or_else(|| SpecError::Invalid("configuration", "not an object".into()))?;
            fit_advertiser_filter(object, advertiser_id)
        }
        NativeIds::SponsoredAds { .. } if !is_dsp => Ok(()),
        NativeIds::AmcInstance { .. } => Err(SpecError::Unprocessable(
            "REPORTS_NOT_FOR_ACCOUNT",
            "an AMC instance is queried through AMC, not reports".into(),
        )),
        _ => Err(SpecError::Unprocessable(
            "REPORTS_NOT_FOR_ACCOUNT",
            "DSP reports are made for a dsp_advertiser account, Sponsored Ads reports for a sponsored_ads one".into(),
        )),
    }
}

/// The `advertiserId` filter naming exactly this advertiser: added when
/// missing, refused when it names another.
fn fit_advertiser_filter(
    configuration: &mut Map<String, Value>,
    advertiser_id: &str,
) -> Result<(), SpecError> {
    let filters = configuration
        .entry("filters")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(filters) = filters.as_array_mut() else {
        return Err(SpecError::Invalid(
            "configuration",
            "`filters` must be a list".into(),
        ));
    };
    let wanted = json!({"field": "advertiserId", "values": [advertiser_id]});
    match filters
        .iter()
        .position(|filter| filter["field"] == "advertiserId")
    {
        Some(at) if filters[at]["values"] == wanted["values"] => Ok(()),
        Some(_) => Err(SpecError::Unprocessable(
            "ADVERTISER_MISMATCH",
            "the `advertiserId` filter must name this account's advertiser only".into(),
        )),
        None => {
            filters.push(wanted);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, ConnectionId};
    use crate::model::account::{AccountRole, AccountStatus};
    use crate::model::region::Region;

    fn account(native: NativeIds) -> AccountRecord {
        AccountRecord {
            account_id: AccountId::parse("acct_1").unwrap(),
            connection_id: ConnectionId::parse("conn_1").unwrap(),
            name: "Account".into(),
            native,
            region: Region::Na,
            country_code: None,
            currency_code: None,
            timezone: None,
            marketplace_id: None,
            marketplace_name: None,
            account_type: None,
            status: AccountStatus::Active,
            source_status: None,
            role: AccountRole::default(),
            connected_at: chrono::Utc::now(),
            last_synced_at: None,
        }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn profile() -> AccountRecord {
        account(NativeIds::SponsoredAds {
            profile_id: "5001".into(),
            ads_account_id: None,
        })
    }

    fn advertiser() -> AccountRecord {
        account(NativeIds::DspAdvertiser {
            advertiser_id: "123042566401569500".into(),
            profile_id: None,
            parent_entity_id: None,
        })
    }

    #[test]
    fn a_range_splits_into_the_types_longest_reports() {
        let today = day("2026-12-06");
        let spec = Spec::resolve(
            &profile(),
            Some("sp_campaigns"),
            None,
            (day("2026-10-01"), day("2026-12-05")),
            today,
        )
        .unwrap();
        assert_eq!(
            spec.parts(),
            [
                (day("2026-10-01"), day("2026-10-31")),
                (day("2026-11-01"), day("2026-12-01")),
                (day("2026-12-02"), day("2026-12-05")),
            ]
        );
        assert_eq!(limits("sbPurchasedProduct"), (731, 731));
        assert_eq!(limits("sdCampaigns"), (31, 65));
    }

    #[test]
    fn a_dsp_report_is_filtered_to_its_advertiser_only() {
        let today = day("2026-12-06");
        let range = (day("2026-12-01"), day("2026-12-02"));
        let spec = Spec::resolve(&advertiser(), Some("dsp_campaigns"), None, range, today).unwrap();
        assert_eq!(
            spec.configuration["filters"],
            json!([{"field": "advertiserId", "values": ["123042566401569500"]}])
        );
        let other = json!({"adProduct": "DEMAND_SIDE_PLATFORM", "reportTypeId": "dspCampaign",
            "groupBy": ["campaign"], "columns": ["date"], "timeUnit": "DAILY", "format": "GZIP_JSON",
            "filters": [{"field": "advertiserId", "values": ["1", "2"]}]});
        assert!(matches!(
            Spec::resolve(&advertiser(), None, Some(other), range, today),
            Err(SpecError::Unprocessable("ADVERTISER_MISMATCH", _))
        ));
        assert!(matches!(
            Spec::resolve(&profile(), Some("dsp_campaigns"), None, range, today),
            Err(SpecError::Unprocessable("PRESET_NOT_FOR_ACCOUNT", _))
        ));
    }

    #[test]
    fn the_same_request_has_the_same_key_and_another_range_another() {
        let today = day("2026-12-06");
        let resolve = |end: &str| {
            Spec::resolve(
                &profile(),
                Some("sp_search_terms"),
                None,
                (day("2026-12-01"), day(end)),
                today,
            )
            .unwrap()
            .request_key(&profile())
        };
        assert_eq!(resolve("2026-12-03"), resolve("2026-12-03"));
        assert_ne!(resolve("2026-12-03"), resolve("2026-12-04"));
    }
}
