//! Issue 27's measurement, through `scripts/bench` (needs moto): the
//! DynamoDB and KMS calls of each route for a member of an organization
//! acting on its connection, next to the same route for a user acting on
//! their own. Every call is measured warm (the route called once before),
//! as a function's process serves most requests. Prints a markdown table.

use adsconnect_tests::{Request, Stack, campaigns_list, na_login};

const OWN: &str = "user_2benchOwn";
const ADMIN: &str = "user_2benchAdmin";
const ADMIN_AT_AGENCY: &str = "user_2benchAdmin@org_2benchAgency:admin";

/// One workspace: who acts, on which connection, with which accounts.
struct Workspace {
    session: &'static str,
    partition: String,
    connection: String,
    accounts: Vec<String>,
}

/// `(method, path, router)` of each measured route.
fn routes(w: &Workspace) -> Vec<(&'static str, String, Router)> {
    let (connection, account) = (&w.connection, &w.accounts[0]);
    vec![
        ("GET", "/api/v1/connections".into(), Router::Users),
        (
            "GET",
            format!("/api/v1/connections/{connection}"),
            Router::Users,
        ),
        (
            "GET",
            format!("/api/v1/connections/{connection}/events"),
            Router::Users,
        ),
        ("GET", "/api/v1/accounts".into(), Router::Users),
        ("GET", format!("/api/v1/accounts/{account}"), Router::Users),
        ("GET", "/api/v1/accounts/health".into(), Router::Users),
        ("GET", "/api/v1/users/me/full".into(), Router::Users),
        ("GET", "/api/v1/users/me/accounts".into(), Router::Users),
        (
            "PUT",
            format!("/api/v1/accounts/{account}/default"),
            Router::Users,
        ),
        (
            "POST",
            format!("/api/v1/connections/{connection}/sync"),
            Router::Users,
        ),
        ("POST", "/api/v1/amazon/connect".into(), Router::Start),
        (
            "POST",
            format!("/api/v1/accounts/{account}/ads/sp/campaigns/list"),
            Router::Proxy,
        ),
    ]
}

#[derive(Clone, Copy)]
enum Router {
    Users,
    Start,
    Proxy,
}

async fn call(stack: &Stack, w: &Workspace, method: &str, path: &str, router: Router) -> u16 {
    let session = Some(w.session);
    match router {
        Router::Users => {
            if path.ends_with("/sync") {
                // One sync a minute: let this one pass at once.
                stack
                    .set_number(
                        &w.partition,
                        &format!("CONN#{}", w.connection),
                        "sync_requested_at",
                        0,
                    )
                    .await;
            }
            stack
                .send(&stack.users, &Request::new(method, path), session)
                .await
                .status
        }
        Router::Start => {
            stack
                .connect(w.session, &serde_json::json!({}))
                .await
                .status
        }
        Router::Proxy => {
            stack
                .proxy(&campaigns_list(&w.accounts[0]), w.session)
                .await
                .status
        }
    }
}

#[tokio::main]
async fn main() {
    let stack = Stack::new().await;
    for user in [OWN, ADMIN] {
        stack
            .create_user(user, &format!("{user}@example.com"))
            .await;
    }
    for login in ["own", "agency"] {
        stack
            .amazon
            .add_login(login, na_login(login, &[(1, "US"), (2, "CA"), (3, "MX")]));
    }
    let (connection, accounts) = stack.connected(OWN, "own").await;
    let personal = Workspace {
        session: OWN,
        partition: format!("USER#{OWN}"),
        connection,
        accounts,
    };
    let (connection, accounts) = stack.connected(ADMIN_AT_AGENCY, "agency").await;
    let organization = Workspace {
        session: ADMIN_AT_AGENCY,
        partition: "ORG#org_2benchAgency".into(),
        connection,
        accounts,
    };
    println!(
        "| route | DynamoDB, own | DynamoDB, organization's | KMS, own | KMS, organization's |"
    );
    println!("|---|---|---|---|---|");
    for ((method, path, router), (_, org_path, _)) in
        routes(&personal).into_iter().zip(routes(&organization))
    {
        let mut counts = Vec::new();
        for (w, path) in [(&personal, &path), (&organization, &org_path)] {
            // Warm: the process has served this route once.
            call(&stack, w, method, path, router).await;
            stack.calls.take();
            stack.kms_calls.take();
            let status = call(&stack, w, method, path, router).await;
            assert!(status < 300, "{} {method} {path}: {status}", w.session);
            let dynamo: Vec<String> = stack
                .calls
                .take()
                .into_iter()
                // The test's own aging of the sync slot is not the route's.
                .filter(|op| !op.contains("UpdateItem") || !path.ends_with("/sync"))
                .collect();
            counts.push((dynamo, stack.kms_calls.take().len()));
        }
        let shown = path
            .replace(&personal.connection, "{id}")
            .replace(&personal.accounts[0], "{id}");
        println!(
            "| `{method} {shown}` | {} | {} | {} | {} |",
            summary(&counts[0].0),
            summary(&counts[1].0),
            counts[0].1,
            counts[1].1
        );
    }
}

/// `3 (Query, GetItem ×2)`: how many calls, of which operations.
fn summary(ops: &[String]) -> String {
    let mut by_op: std::collections::BTreeMap<&str, usize> = Default::default();
    for op in ops {
        *by_op
            .entry(op.rsplit('.').next().unwrap_or(op))
            .or_default() += 1;
    }
    let parts: Vec<String> = by_op
        .iter()
        .map(|(op, n)| {
            if *n == 1 {
                (*op).to_owned()
            } else {
                format!("{op} ×{n}")
            }
        })
        .collect();
    format!("{} ({})", ops.len(), parts.join(", "))
}
