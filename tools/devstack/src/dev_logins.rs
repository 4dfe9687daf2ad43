//! The Amazon logins the local stack's stand-in offers on its consent page:
//! a seller with profiles in two regions, DSP advertisers and AMC instances,
//! and an agency with enough of each to page through.

use adsconnect_dev::amazon_stub::{self, Login};
use serde_json::json;

/// The Amazon login that consents on the local stack's consent page.
pub fn dev_login() -> Login {
    Login {
        lwa_profile: Some(
            json!({"user_id": "amzn1.account.DEVLOGIN", "name": "Dev Seller", "email": "seller@example.test"}),
        ),
        profiles: [
            (
                "na",
                vec![
                    amazon_stub::profile(1_000_001, "US", "Dev Store US", "seller"),
                    amazon_stub::profile(1_000_002, "CA", "Dev Store CA", "seller"),
                    amazon_stub::agency_profile(1_000_009, "US", "ATVPDKIKX0DER", "Dev Agency"),
                ],
            ),
            (
                "eu",
                vec![amazon_stub::profile(
                    2_000_001,
                    "DE",
                    "Dev Store DE",
                    "vendor",
                )],
            ),
        ]
        .into_iter()
        .collect(),
        ads_accounts: vec![
            amazon_stub::ads_account(
                "amzn1.ads-account.g.devna",
                "CREATED",
                &[(1_000_001, "US"), (1_000_002, "CA")],
            ),
            amazon_stub::ads_account(
                "amzn1.ads-account.g.deveu",
                "PARTIALLY_CREATED",
                &[(2_000_001, "DE")],
            ),
        ],
        // An agency with enough DSP advertisers to page, and AMC instances.
        dsp_advertisers: [(
            "1000009".to_owned(),
            amazon_stub::dsp_advertisers(5_000_000, 12),
        )]
        .into_iter()
        .collect(),
        amc_accounts: Some(
            [(
                "na",
                vec![amazon_stub::amc_account("ENTITYDEVAMC", "ATVPDKIKX0DER")],
            )]
            .into_iter()
            .collect(),
        ),
        amc_instances: [(
            "ENTITYDEVAMC".to_owned(),
            vec![
                amazon_stub::amc_instance("amcdev0001", "SUCCEEDED"),
                amazon_stub::amc_instance("amcdev0002", "IN_PROGRESS"),
            ],
        )]
        .into_iter()
        .collect(),
        seats: (0..12)
            .map(|i| (format!("5000000{i:06}"), amazon_stub::seats(3)))
            .collect(),
        ..Login::default()
    }
}

/// A second login for the consent page's choice: an agency with enough
/// accounts of each kind to page through (45 DSP advertisers, 30 AMC
/// instances, 25 profiles), and manager accounts (its client in Amazon's
/// account-links beta): in NA two managed-service DSP advertisers and a
/// seller it may only view (not in its `/v2/profiles`), in the EU one
/// managed-service advertiser; every managed-service advertiser has seats.
pub fn dev_agency_login() -> Login {
    let profiles = (0..24)
        .map(|i| {
            amazon_stub::profile(
                3_000_000 + i,
                "US",
                &format!("Agency Client {i:02}"),
                "seller",
            )
        })
        .chain([amazon_stub::agency_profile(
            3_000_100,
            "US",
            "ATVPDKIKX0DER",
            "Dev Agency Inc.",
        )])
        .collect();
    let statuses = [
        "SUCCEEDED",
        "IN_PROGRESS",
        "SUCCEEDED",
        "FAILED",
        "REQUESTED",
    ];
    Login {
        lwa_profile: Some(
            json!({"user_id": "amzn1.account.DEVAGENCY", "name": "Dev Agency", "email": "agency@example.test"}),
        ),
        profiles: [("na", profiles)].into_iter().collect(),
        dsp_advertisers: [(
            "3000100".to_owned(),
            amazon_stub::dsp_advertisers(6_000_000, 45),
        )]
        .into_iter()
        .collect(),
        amc_accounts: Some(
            [(
                "na",
                vec![amazon_stub::amc_account("ENTITYDEVAGENCY", "ATVPDKIKX0DER")],
            )]
            .into_iter()
            .collect(),
        ),
        amc_instances: [(
            "ENTITYDEVAGENCY".to_owned(),
            (0..30)
                .map(|i| amazon_stub::amc_instance(&format!("amcagency{i:03}"), statuses[i % 5]))
                .collect(),
        )]
        .into_iter()
        .collect(),
        seats: (0..45)
            .map(|i| (format!("6000000{i:06}"), amazon_stub::seats(i % 7 + 1)))
            .chain(
                MANAGED_SERVICE_ADVERTISERS
                    .iter()
                    .map(|(id, _, _)| ((*id).to_owned(), amazon_stub::seats(2))),
            )
            .collect(),
        manager_accounts: [
            (
                "na",
                vec![amazon_stub::manager_account(
                    "amzn1.ads1.ma1.devagencyna",
                    "Dev Agency Managed NA",
                    managed_service_links("ATVPDKIKX0DER")
                        .chain([amazon_stub::linked_profile(
                            3_000_500,
                            "ENTITYDEVVIEWER",
                            "SELLER",
                            "ATVPDKIKX0DER",
                            "VIEWER",
                        )])
                        .collect(),
                )],
            ),
            (
                "eu",
                vec![amazon_stub::manager_account(
                    "amzn1.ads1.ma1.devagencyeu",
                    "Dev Agency Managed EU",
                    managed_service_links("A1PA6795UKMFR9").collect(),
                )],
            ),
        ]
        .into_iter()
        .collect(),
        account_links_beta: true,
        ..Login::default()
    }
}

/// The dev agency's managed-service DSP advertisers: id, entity id,
/// marketplace (which region's manager account links it).
const MANAGED_SERVICE_ADVERTISERS: [(&str, &str, &str); 3] = [
    ("6100000000001", "ENTITYDEVMANAGED1", "ATVPDKIKX0DER"),
    ("6100000000002", "ENTITYDEVMANAGED2", "ATVPDKIKX0DER"),
    ("6200000000001", "ENTITYDEVMANAGEDEU", "A1PA6795UKMFR9"),
];

/// Manager-account links (ADSP Reports: role VIEWER) to the dev agency's
/// managed-service advertisers in `marketplace`.
fn managed_service_links(marketplace: &'static str) -> impl Iterator<Item = serde_json::Value> {
    MANAGED_SERVICE_ADVERTISERS
        .iter()
        .filter(move |(_, _, m)| *m == marketplace)
        .map(|(id, entity, m)| amazon_stub::linked_dsp_advertiser(id, entity, m, "VIEWER"))
}
