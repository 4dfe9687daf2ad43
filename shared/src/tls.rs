//! One crypto backend for every TLS connection and signature check: ring.
//!
//! rustls, reqwest and the AWS SDK default to aws-lc-rs, which adds about
//! 2.5 MB to every binary (a third of the authorizer); ring does the same
//! job here (TLS 1.2/1.3 to Clerk, Amazon and AWS; RS256 verification).

use std::sync::{LazyLock, Once};
use std::time::Duration;

/// A reqwest client builder whose TLS uses ring.
pub fn http_client() -> reqwest::ClientBuilder {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only if the process already chose a provider; either way one is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// The process's one client for Clerk, Amazon and the JWKS. Built on first
/// use, so the root certificates are read once per process, and never by a
/// function or invocation that calls none of them (one client per API read
/// them once each, during init). Redirects are not followed: none of these
/// APIs redirects, and following one could carry a token or the client
/// secret to another host. Every request sets its own timeout.
static HTTPS: LazyLock<reqwest::Client> = LazyLock::new(|| {
    http_client()
        .connect_timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
});

/// A handle on [`HTTPS`]: holding one costs nothing until a request is made
/// through it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Https;

impl std::ops::Deref for Https {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        &HTTPS
    }
}

/// The AWS SDK's HTTPS client on ring, connecting (and reading the root
/// certificates) on the first request rather than when an SDK client is
/// built: the SDK validates its HTTP client in every client's constructor by
/// building a connector, which read the certificate store during init.
#[cfg(feature = "service")]
pub fn aws_http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_sdk_dynamodb::config::SharedHttpClient::new(ConnectOnFirstRequest(
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https(),
    ))
}

#[cfg(feature = "service")]
mod on_first_request {
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

    /// Hands out connectors that ask the real client for its (cached)
    /// connector only when a request is sent. No
    /// `validate_base_client_config`: the real client's builds a connector.
    #[derive(Debug)]
    pub struct ConnectOnFirstRequest(pub SharedHttpClient);

    impl HttpClient for ConnectOnFirstRequest {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(Deferred {
                client: self.0.clone(),
                settings: settings.clone(),
                components: components.clone(),
            })
        }
    }

    #[derive(Debug)]
    struct Deferred {
        client: SharedHttpClient,
        settings: HttpConnectorSettings,
        components: RuntimeComponents,
    }

    impl HttpConnector for Deferred {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            self.client
                .http_connector(&self.settings, &self.components)
                .call(request)
        }
    }
}
#[cfg(feature = "service")]
use on_first_request::ConnectOnFirstRequest;
