//! Reports: storing Amazon's report files in our bucket (moto S3, Amazon's
//! download URL stubbed with wiremock).

mod files;
