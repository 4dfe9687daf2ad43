//! The stand-in's S3, serving completed reports' files at their
//! pre-signed URLs (reference amazon-reporting.md §3): without any
//! `Authorization` header (S3 refuses a second auth mechanism), with a
//! signature issued for the file, until it expires; S3's XML errors.

use std::sync::Arc;

use chrono::Utc;
use wiremock::{Request, Respond, ResponseTemplate};

use super::reports_state::Stage;
use super::world::{AmazonWorld, Endpoint};

/// Why S3 refuses a download, in its words.
enum S3Refusal {
    NoSuchKey,
    SignatureDoesNotMatch,
    Expired,
}

impl AmazonWorld {
    /// Report `id`'s file if `signature` is one issued for it and still
    /// valid; counts the download.
    fn report_file(&self, id: &str, signature: &str) -> Result<Arc<Vec<u8>>, S3Refusal> {
        let mut world = self.world();
        let report = world
            .reporting
            .reports
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or(S3Refusal::NoSuchKey)?;
        let Stage::Completed(completed) = &report.stage else {
            return Err(S3Refusal::NoSuchKey);
        };
        let expiry = completed
            .urls
            .get(signature)
            .ok_or(S3Refusal::SignatureDoesNotMatch)?;
        if *expiry <= Utc::now() {
            return Err(S3Refusal::Expired);
        }
        let file = Arc::clone(&completed.file);
        report.downloads += 1;
        Ok(file)
    }
}

/// `GET /_s3/reports/{reportId}.json.gz?X-Amz-…`: the stand-in's S3.
pub(super) struct S3Download(pub(super) AmazonWorld);

fn s3_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
        "application/xml",
    )
}

impl Respond for S3Download {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self
            .0
            .scripted(Endpoint::ReportDownload)
            .unwrap_or_else(|| self.download(request));
        answer.insert_header(
            "x-amz-request-id",
            format!("{:016X}", rand::random::<u64>()),
        )
    }
}

impl S3Download {
    fn download(&self, request: &Request) -> ResponseTemplate {
        if request.headers.contains_key("authorization") {
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
            );
        }
        let file_name = request.url.path().rsplit('/').next().unwrap_or_default();
        let id = file_name.split('.').next().unwrap_or_default();
        let signature = request
            .url
            .query_pairs()
            .find(|(name, _)| name == "X-Amz-Signature")
            .map(|(_, value)| value.into_owned());
        let Some(signature) = signature else {
            return s3_error(403, "AccessDenied", "Access Denied");
        };
        match self.0.report_file(id, &signature) {
            Ok(file) => {
                ResponseTemplate::new(200).set_body_raw(file.to_vec(), "binary/octet-stream")
            }
            Err(S3Refusal::NoSuchKey) => {
                s3_error(404, "NoSuchKey", "The specified key does not exist.")
            }
            Err(S3Refusal::SignatureDoesNotMatch) => s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ),
            Err(S3Refusal::Expired) => s3_error(403, "AccessDenied", "Request has expired"),
        }
    }
}
