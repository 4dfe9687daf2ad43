//! Our bucket: one object per partition written once per pull, and
//! pre-signed GETs of an exact version. The bucket is versioned (a later
//! pull of the same day is a new version of the same key) and encrypts with
//! its default key: no SSE headers here.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

/// Object metadata naming the pull that wrote a version.
const PULL: &str = "pull";
const ROWS: &str = "rows";
/// JSON lines; the gzip is the stored data, not a transfer encoding.
const CONTENT_TYPE: &str = "application/x-ndjson";

/// The version holding one pull's copy of a partition.
#[derive(Debug)]
pub struct Written {
    pub version_id: Option<String>,
    pub bytes: u64,
}

/// Uploads the file at `path` to `key`, unless the key's current version
/// already comes from `pull` (a redelivered job): one stored copy per pull.
pub async fn put_once(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    pull: &str,
    rows: u64,
    path: &Path,
) -> Result<Written, String> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(current)
            if current
                .metadata()
                .and_then(|m| m.get(PULL))
                .map(String::as_str)
                == Some(pull) =>
        {
            return Ok(Written {
                version_id: current.version_id,
                bytes: current
                    .content_length
                    .unwrap_or_default()
                    .try_into()
                    .unwrap_or_default(),
            });
        }
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(e) => return Err(format!("reading {key}: {}", DisplayErrorContext(e))),
    }
    let bytes = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("temporary file: {e}"))?
        .len();
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| format!("temporary file: {e}"))?;
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(CONTENT_TYPE)
        .metadata(PULL, pull)
        .metadata(ROWS, rows.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| format!("writing {key}: {}", DisplayErrorContext(e)))?;
    Ok(Written {
        version_id: put.version_id,
        bytes,
    })
}

/// A GET of `key` (at `version_id`, if versioned) signed from `now` for
/// `valid_for` (at most 7 days, S3's limit).
pub async fn presign(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    now: SystemTime,
    valid_for: Duration,
) -> Result<String, String> {
    let config = PresigningConfig::builder()
        .start_time(now)
        .expires_in(valid_for)
        .build()
        .map_err(|e| format!("link validity: {e}"))?;
    let request = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .presigned(config)
        .await
        .map_err(|e| format!("signing a link to {key}: {}", DisplayErrorContext(e)))?;
    Ok(request.uri().to_owned())
}
