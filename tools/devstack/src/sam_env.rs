//! `sam-env [--host HOST]`: the `env.json` for `sam local invoke` and `sam
//! local start-api` (`--env-vars env.json`), from the local stack's
//! configuration (the environment `scripts/devctl` sets from
//! `scripts/dev.env`): for every function in `template.yaml`, each variable
//! the template declares for it, with the dev Clerk key as `CLERK_JWT_KEY`.
//! The endpoints the functions call themselves (moto, the Amazon and Clerk
//! stand-ins) are rewritten from 127.0.0.1 to `HOST`, which a container
//! reaches the machine by (default `host.docker.internal`; with `sam local
//! … --docker-network host`, pass `--host 127.0.0.1`); the addresses a
//! browser opens (consent, redirect, return) stay as they are.

use std::collections::HashMap;
use std::path::PathBuf;

use adsconnect_dev::BoxError;
use adsconnect_dev::runtime_api::FunctionSpec;
use serde_json::{Map, Value};

/// What the functions themselves connect to.
const CALLED_BY_FUNCTIONS: [&str; 9] = [
    "AWS_ENDPOINT_URL",
    // A queue in moto, like AWS_ENDPOINT_URL.
    "REPORT_QUEUE_URL",
    "CLERK_API_URL",
    "CLERK_JWKS_URL",
    "AMAZON_TOKEN_URL",
    "AMAZON_PROFILE_URL",
    "AMAZON_ADS_URL_NA",
    "AMAZON_ADS_URL_EU",
    "AMAZON_ADS_URL_FE",
];

pub fn print(args: &[String]) -> Result<(), BoxError> {
    let host = match args {
        [] => "host.docker.internal".to_owned(),
        [flag, host] if flag == "--host" => host.clone(),
        _ => return Err("usage: adsconnect-dev sam-env [--host HOST]".into()),
    };
    let mut local: HashMap<String, String> = std::env::vars().collect();
    local.insert("CLERK_JWT_KEY".into(), crate::dev_key()?.public_pem);
    let json = env_json(&local, &host)?;
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

/// `{ "<LogicalId>": { "<VARIABLE>": "<value>", … }, … }`.
pub fn env_json(local: &HashMap<String, String>, host: &str) -> Result<Value, BoxError> {
    let mut functions = Map::new();
    for (binary, logical_id) in adsconnect_dev::template::functions()? {
        let spec = FunctionSpec::from_template(&binary, PathBuf::new(), local)?;
        let variables: Map<String, Value> = spec
            .env
            .into_iter()
            // Lambda sets these itself from `LoggingConfig`.
            .filter(|(name, _)| !name.starts_with("AWS_LAMBDA_"))
            .map(|(name, value)| {
                let value = if CALLED_BY_FUNCTIONS.contains(&name.as_str()) {
                    value
                        .replace("//127.0.0.1:", &format!("//{host}:"))
                        .replace("//localhost:", &format!("//{host}:"))
                } else {
                    value
                };
                (name, Value::String(value))
            })
            .collect();
        functions.insert(logical_id, Value::Object(variables));
    }
    Ok(Value::Object(functions))
}
