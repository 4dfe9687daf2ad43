//! A backend's side of the credentials function's proof, as the docs show
//! it in Python, Node and Rust: assume a role, then sign an
//! `sts:GetCallerIdentity` bound to `<owner_id>/<account_id>` with the
//! role's credentials (aws-sigv4). The local stack's `credentials` command
//! and the tests use it against moto.

use std::time::SystemTime;

use aws_sdk_sts::config::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde_json::{Value, json};

use crate::BoxError;

/// What the proof's request is.
pub const GET_CALLER_IDENTITY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// Credentials of a session of `role_arn`, from the STS at `sts_endpoint`.
pub async fn assume_role(sts_endpoint: &str, role_arn: &str) -> Result<Credentials, BoxError> {
    let sts = aws_sdk_sts::Client::new(&crate::provision::emulator_config(sts_endpoint));
    let answer = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("backend")
        .send()
        .await?;
    let granted = answer
        .credentials
        .ok_or("AssumeRole answered no credentials")?;
    Ok(Credentials::new(
        granted.access_key_id,
        granted.secret_access_key,
        Some(granted.session_token),
        None,
        "assumed-role",
    ))
}

/// The `proof` of a payload: `body` (GetCallerIdentity's, unless a test
/// tampers) signed at `at` for `sts_endpoint`'s host, bound to `binding`.
pub fn sign_proof(
    credentials: Credentials,
    sts_endpoint: &str,
    binding: &str,
    body: &str,
    at: SystemTime,
) -> Result<Value, BoxError> {
    let url = reqwest::Url::parse(sts_endpoint)?.join("/")?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => return Err("the STS endpoint has no host".into()),
    };
    let headers = [
        ("host", host.as_str()),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        ("x-adsconnect-credentials", binding),
    ];
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("sts")
        .time(at)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )?;
    let (instructions, _) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::builder().method("POST").uri(url.as_str());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut request = request.body(())?;
    instructions.apply_to_request_http1x(&mut request);
    let signed: serde_json::Map<String, Value> = request
        .headers()
        .iter()
        .map(|(name, value)| Ok((name.to_string(), json!(value.to_str()?))))
        .collect::<Result<_, BoxError>>()?;
    Ok(json!({"headers": signed, "body": body}))
}
