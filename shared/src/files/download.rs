//! The GET of Amazon's pre-signed report URL, and its body as a byte stream.
//! The URL carries Amazon's security token: it is never logged nor put in
//! an error (reqwest's errors are stripped of it).

use std::fmt;
use std::io;

use bytes::Bytes;
use futures::Stream;
use reqwest::{Response, StatusCode};

/// What the GET answered instead of a report.
#[derive(Debug)]
pub enum Refused {
    /// S3 turned the URL down as past its time (or its token's).
    Expired,
    Failed(String),
}

/// Sends the GET: no `Authorization` header (S3 refuses a second auth
/// mechanism beside the URL's signature), within the invocation's budget.
pub async fn get(http: &reqwest::Client, url: &str) -> Result<Response, Refused> {
    let mut request = http.get(url);
    if let Some(left) = crate::budget::left() {
        request = request.timeout(left);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Refused::Failed(format!("report download: {}", e.without_url())))?;
    match response.status() {
        status if status.is_success() => Ok(response),
        // A pre-signed URL past X-Amz-Expires: 403 AccessDenied "Request has expired".
        StatusCode::FORBIDDEN => Err(Refused::Expired),
        // Past the lifetime of the session token it was signed with.
        StatusCode::BAD_REQUEST if s3_code(response).await.as_deref() == Some("ExpiredToken") => {
            Err(Refused::Expired)
        }
        status => Err(Refused::Failed(format!(
            "report download answered {status}"
        ))),
    }
}

/// The `<Code>` of an S3 error document (a few hundred bytes; read no more
/// than a few KB of it).
async fn s3_code(mut response: Response) -> Option<String> {
    const MAX_ERROR_DOCUMENT: usize = 4096;
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_DOCUMENT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let body = String::from_utf8_lossy(&body);
    let code = body.split_once("<Code>")?.1.split_once("</Code>")?.0;
    Some(code.to_owned())
}

/// The download failed after it started (connection cut, timeout); carried
/// through the readers as an `io::Error` so that it can be told apart from
/// a malformed file at the end.
#[derive(Debug)]
pub struct Cut(reqwest::Error);

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "report download cut: {}", self.0)
    }
}

impl std::error::Error for Cut {}

impl Cut {
    /// The cut behind a read error, if that is what it was.
    pub fn behind(error: &io::Error) -> Option<&Cut> {
        error.get_ref()?.downcast_ref()
    }
}

/// The response's body, chunk by chunk as it arrives.
pub fn body(response: Response) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures::stream::try_unfold(response, |mut response| async move {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| io::Error::other(Cut(e.without_url())))?;
        Ok(chunk.map(|chunk| (chunk, response)))
    })
}
