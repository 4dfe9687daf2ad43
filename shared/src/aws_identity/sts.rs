//! STS, asked by us: a caller's checked proof is sent to the function's
//! own STS endpoint, never to a URL the caller chose, and STS's answer
//! names who signed it.

use std::time::Duration;

use http::header::CONTENT_TYPE;
use serde::Deserialize;

use super::proof::{CheckedRequest, GET_CALLER_IDENTITY};
use crate::tls::Https;

/// STS answers within a few hundred milliseconds; the function has 10 s.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The function's STS endpoint and its host, which a proof must be
/// signed for.
#[derive(Debug, Clone)]
pub struct Sts {
    url: reqwest::Url,
    host: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// STS refused the request: a bad or expired signature or token.
    #[error("STS refused the proof ({0})")]
    Refused(u16),
    #[error("STS is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityResponse {
    get_caller_identity_result: GetCallerIdentityResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityResult {
    arn: String,
}

impl Sts {
    /// `endpoint`: a base URL (`https://sts.<region>.amazonaws.com`, or an
    /// emulator's); the request goes to its root.
    pub fn new(endpoint: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(endpoint)
            .map_err(|_| format!("expected a base URL, got {endpoint:?}"))?;
        let host = url
            .host_str()
            .ok_or_else(|| format!("expected a base URL, got {endpoint:?}"))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self {
            url: url.join("/").map_err(|e| e.to_string())?,
            host,
        })
    }

    /// The `Host` a proof is signed for.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The ARN STS names as the signer of `request`.
    pub async fn caller_arn(&self, request: CheckedRequest) -> Result<String, StsError> {
        let mut headers = request.headers;
        // The signer (botocore) may leave these to its HTTP client.
        headers.remove(http::header::HOST);
        headers.remove(http::header::CONTENT_LENGTH);
        headers
            .entry(CONTENT_TYPE)
            .or_insert(http::HeaderValue::from_static(
                "application/x-www-form-urlencoded; charset=utf-8",
            ));
        let response = Https
            .post(self.url.clone())
            .headers(headers)
            .body(GET_CALLER_IDENTITY)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| StsError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_client_error() {
            return Err(StsError::Refused(status.as_u16()));
        }
        if !status.is_success() {
            return Err(StsError::Unavailable(format!("status {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|e| StsError::Unavailable(e.without_url().to_string()))?;
        arn_of(&text)
    }
}

/// `GetCallerIdentityResponse/GetCallerIdentityResult/Arn`.
fn arn_of(xml: &str) -> Result<String, StsError> {
    quick_xml::de::from_str::<GetCallerIdentityResponse>(xml)
        .map(|r| r.get_caller_identity_result.arn)
        .map_err(|e| StsError::Unavailable(format!("unexpected answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_is_read_from_stss_answer() {
        let xml = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <UserId>AROA3X42LBCDK0SXZXQ4V:s1</UserId>
    <Account>111122223333</Account>
    <Arn>arn:aws:sts::111122223333:assumed-role/backend/s1</Arn>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        assert_eq!(
            arn_of(xml).unwrap(),
            "arn:aws:sts::111122223333:assumed-role/backend/s1"
        );
        assert!(arn_of("<ErrorResponse><Error/></ErrorResponse>").is_err());
    }

    #[test]
    fn the_host_a_proof_is_signed_for_includes_a_port() {
        assert_eq!(
            Sts::new("http://127.0.0.1:5740").unwrap().host(),
            "127.0.0.1:5740"
        );
        assert_eq!(
            Sts::new("https://sts.eu-west-1.amazonaws.com")
                .unwrap()
                .host(),
            "sts.eu-west-1.amazonaws.com"
        );
        assert!(Sts::new("sts").is_err());
    }
}
