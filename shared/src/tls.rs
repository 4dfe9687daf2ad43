//! One crypto backend for every TLS connection and signature check: ring.
//!
//! rustls, reqwest and the AWS SDK default to aws-lc-rs, which adds about
//! 2.5 MB to every binary (a third of the authorizer); ring does the same
//! job here (TLS 1.2/1.3 to Clerk, Amazon and AWS; RS256 verification).

use std::sync::Once;

/// A reqwest client builder whose TLS uses ring.
pub fn http_client() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if the process already chose a provider; either way one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// The AWS SDK's HTTPS client on ring.
#[cfg(feature = "service")]
pub fn aws_http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
