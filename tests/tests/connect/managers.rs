//! Every account a real agency login reaches: advertisers behind short
//! pages, manager accounts in every region, managed-service DSP advertisers
//! no agency profile lists, more links than `/managerAccounts` returns, and
//! the role each link grants — or, where Amazon does not let us read it
//! all, a warning saying how far the listing got.

use adsconnect_dev::amazon_stub::{
    dsp_advertisers, linked_dsp_advertiser, linked_profile, manager_account,
};

use super::kinds::accounts_of;
use super::*;

const MANAGERS_USER: &str = "user_2managers";
const MANAGED: &str = "777000000000000001";
const MANAGED_ENTITY: &str = "ENTITYMANAGED1";
const VIEWED_PROFILE: u64 = 9_100;

/// An agency login with one NA agency profile of `advertisers` advertisers
/// and manager accounts per region.
fn agency_with(advertisers: usize, managers: Vec<(&'static str, Vec<Value>)>) -> Login {
    let mut login = agency_login();
    login.dsp_advertisers.insert(
        AGENCY_NA.to_string(),
        dsp_advertisers(AGENCY_NA, advertisers),
    );
    login.manager_accounts = managers.into_iter().collect();
    login
}

async fn connected(login: Login) -> Stack {
    let stack = stack_with_user(MANAGERS_USER).await;
    stack.amazon.add_login("agency", login);
    stack.connected(MANAGERS_USER, "agency").await;
    stack
}

fn with_advertiser<'a>(accounts: &'a [Value], advertiser: &str) -> Vec<&'a Value> {
    accounts
        .iter()
        .filter(|a| a["advertiser_id"] == advertiser)
        .collect()
}

fn warnings(connection: &Value) -> Vec<Value> {
    connection["sync_warnings"].as_array().unwrap().clone()
}

async fn refresh_seats(stack: &Stack, account: &str) {
    let path = format!("/api/v1/accounts/{account}/seats/refresh");
    let refreshed = stack
        .send(
            &stack.users,
            &Request::new("POST", &path),
            Some(MANAGERS_USER),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
}

async fn the_connection(stack: &Stack) -> Value {
    stack.get("/api/v1/connections", MANAGERS_USER).await.body["connections"][0].clone()
}

#[tokio::test]
async fn an_agency_whose_pages_are_shorter_than_asked_is_listed_whole() {
    let mut login = agency_with(7, vec![]);
    login.dsp_page_cap = Some(3);
    let stack = connected(login).await;
    let na: Vec<Value> = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser")
        .await
        .into_iter()
        .filter(|a| a["profile_id"] == *AGENCY_NA.to_string())
        .collect();
    assert_eq!(na.len(), 7);
    let starts: Vec<String> = stack
        .amazon
        .ads_calls_to("/na/dsp/advertisers")
        .iter()
        .map(|c| c.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(starts.len(), 3, "{starts:?}");
    for (call, start) in starts
        .iter()
        .zip(["startIndex=0", "startIndex=3", "startIndex=6"])
    {
        assert!(call.contains(start), "{starts:?}");
    }
    assert_eq!(warnings(&the_connection(&stack).await), Vec::<Value>::new());
}

#[tokio::test]
async fn manager_accounts_are_read_in_every_region_and_name_each_advertisers_entity() {
    let eu_advertiser = first_advertiser(AGENCY_EU);
    let stack = connected(agency_with(
        3,
        vec![(
            "eu",
            vec![manager_account(
                "amzn1.ads1.ma1.eu",
                "EU agency",
                vec![linked_dsp_advertiser(
                    &eu_advertiser,
                    "ENTITYEUADV",
                    "A1PA6795UKMFR9",
                    "ADMIN",
                )],
            )],
        )],
    ))
    .await;
    for host in ["na", "eu", "fe"] {
        assert_eq!(
            stack
                .amazon
                .ads_calls_to(&format!("/{host}/managerAccounts"))
                .len(),
            1,
            "{host}"
        );
    }
    let dsp = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
    let found = with_advertiser(&dsp, &eu_advertiser);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["profile_id"], AGENCY_EU.to_string());
    // The account link (the login's client is not in the beta here) does
    // not say the role; an agency-listed advertiser's stays unknown.
    assert_eq!(found[0]["role"], "unknown");
    // Its calls carry its own entity id, not the agency's.
    let account = found[0]["account_id"].as_str().unwrap();
    stack.amazon.update_login("agency", |login| {
        login.seats.insert(eu_advertiser.clone(), vec![]);
    });
    refresh_seats(&stack, account).await;
    let seats = stack
        .amazon
        .ads_calls_to("/eu/dsp/v1/seats/advertisers/current/list");
    assert_eq!(seats.len(), 1);
    assert_eq!(seats[0].header("parententityid"), Some("ENTITYEUADV"));
}

#[tokio::test]
async fn a_managed_service_advertiser_is_listed_once_and_named_by_its_account_id_alone() {
    let agency_listed = first_advertiser(AGENCY_NA);
    let links = vec![
        linked_dsp_advertiser(MANAGED, MANAGED_ENTITY, "ATVPDKIKX0DER", "VIEWER"),
        linked_dsp_advertiser(
            &agency_listed,
            FIRST_ADVERTISER_ENTITY,
            "ATVPDKIKX0DER",
            "ADMIN",
        ),
    ];
    let mut login = agency_with(
        3,
        vec![(
            "na",
            vec![
                manager_account("amzn1.ads1.ma1.one", "One", links.clone()),
                // The same advertiser through a second manager account.
                manager_account("amzn1.ads1.ma1.two", "Two", links[..1].to_vec()),
            ],
        )],
    );
    login.seats.insert(MANAGED.to_owned(), vec![]);
    let stack = connected(login).await;
    let dsp = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
    let managed = with_advertiser(&dsp, MANAGED);
    assert_eq!(managed.len(), 1, "{managed:?}");
    assert_eq!(managed[0]["profile_id"], Value::Null);
    assert_eq!(managed[0]["role"], "viewer");
    assert_eq!(managed[0]["region"], "na");
    assert_eq!(managed[0]["marketplace_name"], "Amazon.com");
    assert_eq!(managed[0]["name"], format!("Advertiser {MANAGED}"));
    let listed_both_ways = with_advertiser(&dsp, &agency_listed);
    assert_eq!(listed_both_ways.len(), 1);
    assert_eq!(listed_both_ways[0]["profile_id"], AGENCY_NA.to_string());
    assert_eq!(dsp.len(), 3 + 3 + 1);

    // Reconnecting keeps its id: ids are stable across syncs.
    let id = managed[0]["account_id"].clone();
    stack.connected(MANAGERS_USER, "agency").await;
    let again = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
    assert_eq!(with_advertiser(&again, MANAGED)[0]["account_id"], id);

    stack.amazon.forget_ads_calls();
    let account = id.as_str().unwrap();
    refresh_seats(&stack, account).await;
    let seats = stack
        .amazon
        .ads_calls_to("/na/dsp/v1/seats/advertisers/current/list");
    assert_eq!(seats.len(), 1);
    assert_eq!(seats[0].header("amazon-ads-accountid"), Some(MANAGED));
    assert_eq!(seats[0].header("parententityid"), Some(MANAGED_ENTITY));
    assert_eq!(seats[0].header("amazon-advertising-api-scope"), None);
}

#[tokio::test]
async fn a_hundred_and_twenty_links_are_all_listed_through_account_links() {
    let mut login = agency_with(3, many_links(120, "VIEWER"));
    login.account_links_beta = true;
    let stack = connected(login).await;
    let dsp = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
    let managed = dsp.iter().filter(|a| a["profile_id"].is_null()).count();
    assert_eq!(managed, 120);
    assert_eq!(warnings(&the_connection(&stack).await), Vec::<Value>::new());
    // Pages of the stand-in's 25: five calls for the one manager account.
    let pages = stack
        .amazon
        .ads_calls_to("/na/adsApi/v1/query/accountLinks");
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().all(|c| {
        c.header("amazon-ads-manager-accountid") == Some("amzn1.ads1.ma1.big")
            && c.header("amazon-ads-clientid").is_some()
    }));
}

#[tokio::test]
async fn links_amazon_will_not_list_are_reported_with_how_far_the_listing_got() {
    let stack = connected(agency_with(3, many_links(120, "VIEWER"))).await;
    let dsp = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
    let managed = dsp.iter().filter(|a| a["profile_id"].is_null()).count();
    assert_eq!(managed, 50);
    assert_eq!(
        warnings(&the_connection(&stack).await),
        vec![json!({"source": "manager_accounts_na", "reason": "link_limit", "listed": 50})]
    );
}

#[tokio::test]
async fn a_profile_linked_for_viewing_is_an_account_and_roles_come_from_the_links() {
    let links = vec![
        linked_profile(
            VIEWED_PROFILE,
            "ENTITYVIEWED",
            "SELLER",
            "A1F83G8C2ARO7P",
            "VIEWER",
        ),
        linked_dsp_advertiser(MANAGED, MANAGED_ENTITY, "ATVPDKIKX0DER", "EDITOR"),
        linked_dsp_advertiser(
            &first_advertiser(AGENCY_NA),
            FIRST_ADVERTISER_ENTITY,
            "ATVPDKIKX0DER",
            "ADMIN",
        ),
    ];
    for beta in [false, true] {
        let mut login = agency_with(
            3,
            vec![
                ("eu", vec![]),
                (
                    "na",
                    vec![manager_account("amzn1.ads1.ma1.v", "V", links.clone())],
                ),
            ],
        );
        login.account_links_beta = beta;
        let stack = connected(login).await;
        let sponsored = accounts_of(&stack, MANAGERS_USER, "sponsored_ads").await;
        let viewed: Vec<&Value> = sponsored
            .iter()
            .filter(|a| a["profile_id"] == *VIEWED_PROFILE.to_string())
            .collect();
        assert_eq!(viewed.len(), 1, "beta {beta}");
        assert_eq!(viewed[0]["role"], "viewer", "beta {beta}");
        assert_eq!(viewed[0]["account_type"], "seller");
        assert_eq!(viewed[0]["marketplace_name"], "Amazon.co.uk");
        assert_eq!(viewed[0]["country_code"], "UK");
        let own = sponsored
            .iter()
            .find(|a| a["profile_id"] == "8001")
            .unwrap();
        assert_eq!(own["role"], "editor", "beta {beta}");
        let dsp = accounts_of(&stack, MANAGERS_USER, "dsp_advertiser").await;
        let role_of = |id: &str| with_advertiser(&dsp, id)[0]["role"].clone();
        // Without account links, a managed-service link reads as Amazon's
        // ADSP Reports (viewer); with them, the link's own role stands.
        let (managed, agency) = match beta {
            false => ("viewer", "unknown"),
            true => ("editor", "admin"),
        };
        assert_eq!(role_of(MANAGED), managed, "beta {beta}");
        assert_eq!(role_of(&first_advertiser(AGENCY_NA)), agency, "beta {beta}");
    }
}

#[tokio::test]
async fn links_past_the_fifty_without_a_profile_are_found_through_their_ads_account_or_counted() {
    // 60 seller links for viewing; the last 10 come from account links with
    // no alternate ids, five of them known to `/adsAccounts/list`.
    let links = (0..60u64)
        .map(|i| {
            let mut link = linked_profile(
                9_200 + i,
                "ENTITYSELLER",
                "SELLER",
                "ATVPDKIKX0DER",
                "VIEWER",
            );
            link["withoutAlternateIds"] = json!(i >= 50);
            link
        })
        .collect();
    let mut login = agency_with(
        3,
        vec![("na", vec![manager_account("amzn1.ads1.ma1.s", "S", links)])],
    );
    login.account_links_beta = true;
    login.ads_accounts.extend((50..55u64).map(|i| {
        let profile = 9_200 + i;
        adsconnect_dev::amazon_stub::ads_account(
            &format!("amzn1.ads-account.g.{profile}"),
            "CREATED",
            &[(profile, "US")],
        )
    }));
    let stack = connected(login).await;
    let viewed = accounts_of(&stack, MANAGERS_USER, "sponsored_ads")
        .await
        .into_iter()
        .filter(|a| a["role"] == "viewer")
        .count();
    assert_eq!(viewed, 55);
    assert_eq!(
        warnings(&the_connection(&stack).await),
        vec![
            json!({"source": "manager_accounts_na", "reason": "links_without_profile", "listed": 5})
        ]
    );
}
