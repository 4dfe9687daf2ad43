//! Deployment: the deployable pieces agree with each other and hold up as a
//! whole.
//!
//! - `happy`: `template.yaml`, the local HTTP API, the sample events, the
//!   OpenAPI description and the binaries' start-up behaviour agree;
//! - `faults`: the whole stack with AWS (moto) killed or hanging mid-request,
//!   and garbage bodies on every write route of every function;
//! - `leaks`: every function's built binary behind the Runtime API emulator,
//!   logging as verbosely as a deployer can set: no event, header or body;
//! - `secrets`: each function may read exactly the secrets it uses (from the
//!   template), starts with those alone and stops naming the variable
//!   without one; webhook and Amazon client rotations;
//! - `start_up`: the built functions as Lambda starts them: no AWS call in
//!   init, the secrets read on the first event, a 503 until it can be;
//! - `reports`: the report engine's template resources and permissions, and
//!   the local stack's report queue and bucket;
//! - `docs`: the README, ARCHITECTURE.md and docs/ link only to what exists
//!   and show only scripts that exist.

mod docs;
mod faults;
mod happy;
mod leaks;
mod reports;
mod secrets;
mod start_up;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use adsconnect_dev::template::load_template;
use adsconnect_tests::*;
use serde_json::Value;

/// Built binaries sit next to the test executable's parent directory.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join(name)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (method, path, binary, behind the authorizer) for every HttpApi event.
fn template_routes() -> BTreeSet<(String, String, String, bool)> {
    let template = load_template().unwrap();
    let resources = template["Resources"].as_mapping().unwrap();
    let mut routes = BTreeSet::new();
    for (_, resource) in resources {
        let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            let public = props["Auth"]["Authorizer"].as_str() == Some("NONE");
            routes.insert((
                props["Method"].as_str().unwrap().to_owned(),
                props["Path"].as_str().unwrap().to_owned(),
                binary.to_owned(),
                !public,
            ));
        }
    }
    routes
}
