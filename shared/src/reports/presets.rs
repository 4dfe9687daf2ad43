//! The named reports (Amazon's own example configurations, reference
//! amazon-reporting.md §7) and each report type's limits (§4).

use serde_json::{Value, json};

use crate::model::account::AccountKind;

/// A named report: Amazon's configuration for it comes from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    SpCampaigns,
    SpAdGroups,
    SpTargeting,
    SpSearchTerms,
    SpAdvertisedProducts,
    SbCampaigns,
    SdCampaigns,
    DspCampaigns,
}

impl Preset {
    pub const ALL: [Preset; 8] = [
        Self::SpCampaigns,
        Self::SpAdGroups,
        Self::SpTargeting,
        Self::SpSearchTerms,
        Self::SpAdvertisedProducts,
        Self::SbCampaigns,
        Self::SdCampaigns,
        Self::DspCampaigns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::SpCampaigns => "sp_campaigns",
            Self::SpAdGroups => "sp_ad_groups",
            Self::SpTargeting => "sp_targeting",
            Self::SpSearchTerms => "sp_search_terms",
            Self::SpAdvertisedProducts => "sp_advertised_products",
            Self::SbCampaigns => "sb_campaigns",
            Self::SdCampaigns => "sd_campaigns",
            Self::DspCampaigns => "dsp_campaigns",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|preset| preset.name() == name)
    }

    /// The kind of account whose reports these are.
    pub fn kind(self) -> AccountKind {
        match self {
            Self::DspCampaigns => AccountKind::DspAdvertiser,
            _ => AccountKind::SponsoredAds,
        }
    }

    /// Amazon's configuration (daily rows, gzipped JSON), without the DSP
    /// advertiser filter (`super::spec::Spec::resolve` adds it).
    pub(super) fn configuration(self) -> Value {
        let (ad_product, report_type, group_by, columns): (_, _, &[&str], &[&str]) = match self {
            Self::SpCampaigns => (
                "SPONSORED_PRODUCTS",
                "spCampaigns",
                &["campaign"],
                &[
                    "date",
                    "campaignId",
                    "campaignName",
                    "campaignStatus",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases14d",
                    "sales14d",
                    "unitsSoldClicks14d",
                ],
            ),
            // Amazon's Postman example, with sales.
            Self::SpAdGroups => (
                "SPONSORED_PRODUCTS",
                "spCampaigns",
                &["campaign", "adGroup"],
                &[
                    "date",
                    "campaignId",
                    "adGroupId",
                    "adGroupName",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases1d",
                    "purchases7d",
                    "purchases14d",
                    "purchases30d",
                    "sales14d",
                ],
            ),
            Self::SpTargeting => (
                "SPONSORED_PRODUCTS",
                "spTargeting",
                &["targeting"],
                &[
                    "date",
                    "campaignId",
                    "adGroupId",
                    "keywordId",
                    "keyword",
                    "keywordType",
                    "targeting",
                    "matchType",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases14d",
                    "sales14d",
                ],
            ),
            // Amazon's Postman example, with sales.
            Self::SpSearchTerms => (
                "SPONSORED_PRODUCTS",
                "spSearchTerm",
                &["searchTerm"],
                &[
                    "date",
                    "campaignId",
                    "adGroupId",
                    "keywordId",
                    "targeting",
                    "searchTerm",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases1d",
                    "purchases7d",
                    "purchases14d",
                    "purchases30d",
                    "sales14d",
                ],
            ),
            Self::SpAdvertisedProducts => (
                "SPONSORED_PRODUCTS",
                "spAdvertisedProduct",
                &["advertiser"],
                &[
                    "date",
                    "campaignId",
                    "adGroupId",
                    "adId",
                    "advertisedAsin",
                    "advertisedSku",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases14d",
                    "sales14d",
                ],
            ),
            // Amazon's SB campaign sample, daily.
            Self::SbCampaigns => (
                "SPONSORED_BRANDS",
                "sbCampaigns",
                &["campaign"],
                &[
                    "date",
                    "campaignId",
                    "campaignName",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases",
                    "sales",
                ],
            ),
            Self::SdCampaigns => (
                "SPONSORED_DISPLAY",
                "sdCampaigns",
                &["campaign"],
                &[
                    "date",
                    "campaignId",
                    "campaignName",
                    "impressions",
                    "clicks",
                    "cost",
                    "purchases",
                    "sales",
                    "unitsSold",
                ],
            ),
            // Amazon's DSP campaign base metrics, daily (migration guide).
            Self::DspCampaigns => (
                "DEMAND_SIDE_PLATFORM",
                "dspCampaign",
                &["campaign"],
                &[
                    "date",
                    "orderId",
                    "orderName",
                    "impressions",
                    "clicks",
                    "totalCost",
                    "purchases",
                    "sales",
                ],
            ),
        };
        json!({
            "adProduct": ad_product,
            "reportTypeId": report_type,
            "groupBy": group_by,
            "columns": columns,
            "timeUnit": "DAILY",
            "format": "GZIP_JSON",
        })
    }
}

/// Amazon's limits for a report type: the longest range one report may
/// cover, and how far back its data is kept (days).
pub fn limits(report_type_id: &str) -> (u64, u64) {
    match report_type_id {
        "sbPurchasedProduct" => (731, 731),
        "spGrossAndInvalids" | "sbGrossAndInvalids" | "sdGrossAndInvalids" => (365, 365),
        "conversionPath" => (90, 95),
        t if t.starts_with("sb") => (31, 60),
        t if t.starts_with("sd") => (31, 65),
        // sp*, st*, dsp*, and types this table does not know yet: the
        // common 31 days and 95 days.
        _ => (31, 95),
    }
}
