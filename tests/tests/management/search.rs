//! Searching and sorting the accounts list of an agency with hundreds of
//! accounts: every sort in both directions over several pages, each account
//! once; search by name and by every kind of id; cursors tied to their sort;
//! bad input refused; the same DynamoDB calls as an unsorted page.

use std::cmp::Ordering;

use adsconnect_dev::amazon_stub::{ads_account, profile};
use adsconnect_tests::*;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const AGENCY: &str = "user_2searchAgency";
const ADS_ACCOUNT: &str = "amzn1.ads-account.g.searchable";

/// The agency of the kind tests (about 260 accounts of every kind), then a
/// seller whose profile has an Ads account: two connections, two sync times.
async fn agency_stack() -> Stack {
    let stack = Stack::with_user(AGENCY, "agency@example.com").await;
    stack.amazon.add_login("agency", agency_login());
    stack.connect_flow(AGENCY, "agency").await;
    stack.amazon.add_login(
        "ads-seller",
        amazon_login(
            json!({"user_id": "amzn1.account.ADSSELLER", "name": "Ads seller", "email": "ads@example.com"}),
            vec![("na", vec![profile(5001, "US", "Zeta Shoes", "seller")])],
            vec![ads_account(ADS_ACCOUNT, "CREATED", &[(5001, "US")])],
        ),
    );
    stack.connect_flow(AGENCY, "ads-seller").await;
    stack.calls.take();
    stack
}

/// Every page of `query` (with `limit`), in order, and how many pages.
async fn walk(stack: &Stack, query: &str, limit: u32) -> (Vec<Value>, usize) {
    let mut accounts = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let path = format!("/api/v1/accounts?{query}&limit={limit}{cursor}");
        let page = stack.get(&path, AGENCY).await;
        assert_eq!(page.status, 200, "{path}: {:?}", page.body);
        accounts.extend(page.body["accounts"].as_array().unwrap().iter().cloned());
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return (accounts, pages),
        }
    }
}

fn ids(accounts: &[Value]) -> Vec<&str> {
    accounts
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect()
}

fn text(account: &Value, field: &str) -> Option<String> {
    account[field].as_str().map(str::to_lowercase)
}

/// What `field` sorts by, as the API documents it (`None`: comes last).
#[derive(PartialEq, PartialOrd)]
enum Sorted {
    Text(String),
    Rank(usize),
    Time(DateTime<Utc>),
}

fn sorted_value(account: &Value, field: &str) -> Option<Sorted> {
    match field {
        "name" => text(account, "name").map(Sorted::Text),
        "marketplace" => text(account, "marketplace_name")
            .or_else(|| text(account, "marketplace_id"))
            .map(Sorted::Text),
        "status" => ["active", "partial", "pending", "disabled"]
            .iter()
            .position(|s| account["status"] == *s)
            .map(Sorted::Rank),
        "last_synced" => account["last_synced_at"]
            .as_str()
            .map(|t| Sorted::Time(t.parse().unwrap())),
        other => panic!("{other}"),
    }
}

/// The documented order: the field in its direction (missing values last),
/// then the name A to Z, then the account id.
fn in_order(a: &Value, b: &Value, field: &str, descending: bool) -> bool {
    let first = match (sorted_value(a, field), sorted_value(b, field)) {
        (Some(x), Some(y)) => {
            let ordering = x.partial_cmp(&y).unwrap();
            if descending {
                ordering.reverse()
            } else {
                ordering
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    first
        .then_with(|| text(a, "name").cmp(&text(b, "name")))
        .then_with(|| a["account_id"].as_str().cmp(&b["account_id"].as_str()))
        == Ordering::Less
}

#[tokio::test]
async fn every_sort_both_ways_lists_each_account_once_in_order() {
    let stack = agency_stack().await;
    let (everything, _) = walk(&stack, "", 100).await;
    assert!(everything.len() > 250, "{}", everything.len());
    let mut all_ids = ids(&everything);
    all_ids.sort_unstable();
    for field in ["name", "marketplace", "status", "last_synced"] {
        for descending in [false, true] {
            let sort = if descending {
                format!("-{field}")
            } else {
                field.to_owned()
            };
            let (listed, pages) = walk(&stack, &format!("sort={sort}"), 37).await;
            assert!(pages >= 7, "{sort}: {pages} pages");
            let mut listed_ids = ids(&listed);
            listed_ids.sort_unstable();
            assert_eq!(listed_ids, all_ids, "{sort}: each account once");
            for pair in listed.windows(2) {
                assert!(
                    in_order(&pair[0], &pair[1], field, descending),
                    "{sort}: {} before {}",
                    pair[0]["account_id"],
                    pair[1]["account_id"]
                );
            }
        }
    }
    // The default is by name.
    let by_name = walk(&stack, "sort=name", 100).await.0;
    assert_eq!(ids(&everything), ids(&by_name));
    // Descending is not a no-op.
    let descending = walk(&stack, "sort=-name", 100).await.0;
    assert_ne!(ids(&by_name)[0], ids(&descending)[0]);
}

#[tokio::test]
async fn search_by_name_and_by_each_id_kind() {
    let stack = agency_stack().await;
    let (everything, _) = walk(&stack, "", 100).await;
    let find = |pick: &dyn Fn(&Value) -> bool| everything.iter().find(|a| pick(a)).unwrap().clone();
    let seller = find(&|a| a["name"] == "Zeta Shoes");
    assert_eq!(seller["ads_account_id"], ADS_ACCOUNT, "{seller}");
    let advertiser = find(&|a| a["advertiser_id"] == "8100000042");
    let instance = find(&|a| a["instance_id"] == "amcr1inst007");
    // Each id the account shows, whole and in any case, finds that account
    // alone.
    for (query, expected) in [
        (seller["account_id"].as_str().unwrap().to_owned(), &seller),
        ("5001".to_owned(), &seller),
        (ADS_ACCOUNT.to_uppercase(), &seller),
        ("8100000042".to_owned(), &advertiser),
        ("amcr1inst007".to_owned(), &instance),
    ] {
        let (found, _) = walk(&stack, &format!("q={query}"), 100).await;
        assert_eq!(
            ids(&found),
            [expected["account_id"].as_str().unwrap()],
            "{query}"
        );
    }
    // A prefix finds every account with an id starting so: the instances of
    // one AMC account (its failed ones hidden, as disabled accounts are by
    // default), any case.
    let (instances, _) = walk(&stack, "q=entityamcmain", 100).await;
    let of_account = everything
        .iter()
        .filter(|a| a["amc_account_id"] == "ENTITYAMCMAIN")
        .count();
    assert_eq!((instances.len(), of_account), (19, 19));
    assert!(
        instances
            .iter()
            .all(|a| a["amc_account_id"] == "ENTITYAMCMAIN")
    );
    // A part of the name, any case, across pages, with its total; sorted.
    let page = stack
        .get(
            "/api/v1/accounts?q=%20dVeRtIsEr%208100-1&limit=50&sort=-name",
            AGENCY,
        )
        .await
        .body;
    let expected = everything
        .iter()
        .filter(|a| text(a, "name").unwrap().contains("dvertiser 8100-1"))
        .count();
    assert_eq!(expected, 111, "8100-1, -10…-19, -100…-199");
    assert_eq!(page["total"], expected);
    assert_eq!(page["by_kind"]["dsp_advertiser"], expected);
    let (found, pages) = walk(&stack, "q=advertiser%208100-1&sort=-name", 50).await;
    assert_eq!((found.len(), pages), (expected, 3));
    assert_eq!(found[0]["name"], "Advertiser 8100-199");
    // A part of an id is no match: only its start is.
    let (none, _) = walk(&stack, "q=000042", 100).await;
    assert!(none.is_empty());
    assert_eq!(
        stack
            .get("/api/v1/accounts?q=nothing-like-this", AGENCY)
            .await
            .body["total"],
        0
    );
    // Blank is no search.
    assert_eq!(
        stack.get("/api/v1/accounts?q=%20%20", AGENCY).await.body["total"],
        everything.len()
    );
}

#[tokio::test]
async fn cursors_belong_to_their_sort_and_bad_input_is_refused() {
    let stack = agency_stack().await;
    let page = stack
        .get("/api/v1/accounts?sort=status&limit=5", AGENCY)
        .await
        .body;
    let cursor = page["next_cursor"].as_str().unwrap();
    // Another sort refuses it; the same sort continues it.
    for other in ["", "sort=-status&", "sort=name&", "sort=last_synced&"] {
        let refused = stack
            .get(&format!("/api/v1/accounts?{other}cursor={cursor}"), AGENCY)
            .await;
        assert_eq!(refused.status, 400, "{other}");
        assert_eq!(refused.error_code(), "INVALID_FIELD");
        assert_eq!(refused.body["error"]["field"], "cursor");
    }
    let next = stack
        .get(
            &format!("/api/v1/accounts?sort=status&limit=5&cursor={cursor}"),
            AGENCY,
        )
        .await;
    assert_eq!(next.status, 200);
    // Under another search it is only a place in the same order.
    let searched = stack
        .get(
            &format!("/api/v1/accounts?sort=status&q=instance&cursor={cursor}"),
            AGENCY,
        )
        .await;
    assert_eq!(searched.status, 200);
    for (bad, code, field) in [
        ("sort=size", "INVALID_QUERY", None),
        ("sort=Name", "INVALID_QUERY", None),
        ("sort=--name", "INVALID_QUERY", None),
        ("order=desc", "INVALID_QUERY", None),
        (
            &format!("q={}", "x".repeat(101)) as &str,
            "INVALID_FIELD",
            Some("q"),
        ),
        // The bound is on `q` as sent, spaces too (as the OpenAPI says).
        (
            &format!("q=%20{}", "x".repeat(100)),
            "INVALID_FIELD",
            Some("q"),
        ),
    ] {
        let refused = stack.get(&format!("/api/v1/accounts?{bad}"), AGENCY).await;
        assert_eq!(refused.status, 400, "{bad}");
        assert_eq!(refused.error_code(), code, "{bad}");
        assert!(refused.body["error"]["request_id"].is_string());
        if let Some(field) = field {
            assert_eq!(refused.body["error"]["field"], field);
        }
    }
    let longest = format!("q={}", "x".repeat(100));
    assert_eq!(
        stack
            .get(&format!("/api/v1/accounts?{longest}"), AGENCY)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_searched_sorted_page_costs_what_a_plain_page_does() {
    let stack = agency_stack().await;
    stack.get("/api/v1/accounts?limit=10", AGENCY).await;
    let plain = stack.calls.take();
    let page = stack
        .get(
            "/api/v1/accounts?limit=10&q=advertiser&sort=-last_synced",
            AGENCY,
        )
        .await
        .body;
    assert_eq!(stack.calls.take(), plain);
    let cursor = page["next_cursor"].as_str().unwrap();
    stack
        .get(
            &format!("/api/v1/accounts?limit=10&q=advertiser&sort=-last_synced&cursor={cursor}"),
            AGENCY,
        )
        .await;
    assert_eq!(stack.calls.take(), plain);
    // Refused input costs nothing.
    stack.get("/api/v1/accounts?sort=size", AGENCY).await;
    let long = format!("/api/v1/accounts?q={}", "x".repeat(101));
    stack.get(&long, AGENCY).await;
    assert!(stack.calls.take().is_empty());
}
