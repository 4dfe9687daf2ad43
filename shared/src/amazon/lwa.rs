//! Login with Amazon: consent URLs with PKCE, code exchange and refresh, with
//! client credentials in the form body as LWA requires.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};

use super::http::{self, HttpError, Repeat};
use super::{AmazonConfig, PerRegion};
use crate::configuration::values::ConfigError;
use crate::model::region::Region;
use crate::secrets::Secret;

/// LWA access tokens live an hour.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(3600);
/// A longer claimed lifetime is garbage (and one no date can hold would
/// overflow the expiry): the hour is assumed, so the token is refreshed early
/// rather than used expired.
const MAX_EXPIRES_IN: Duration = Duration::from_secs(86_400);

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// How LWA answered a token request, classified for what to do next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LwaError {
    /// The code or refresh token is dead (expired, reused, revoked): only the
    /// user can fix it by consenting again. Never retried.
    #[error("invalid_grant")]
    InvalidGrant,
    /// Our client id/secret or grant is refused: an operator problem that
    /// affects every user at once.
    #[error("client rejected: {0}")]
    ClientRejected(&'static str),
    /// Another refusal (bad request, scope): a bug or misconfiguration.
    #[error("request rejected: {0}")]
    Rejected(String),
    /// Timeouts, 429, 5xx after retries.
    #[error("LWA unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// Tokens as LWA returned them. `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Duration,
    pub scopes: Vec<String>,
}

pub struct Lwa {
    clients: PerRegion<Client>,
    scopes: Vec<String>,
    http: crate::tls::Https,
}

/// A PKCE pair: the challenge goes to Amazon, the verifier stays with us.
pub struct Pkce {
    pub challenge: PkceCodeChallenge,
    pub verifier: Secret,
}

impl Pkce {
    pub fn new() -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            challenge,
            verifier: Secret::new(verifier.secret().clone()),
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

impl Lwa {
    pub fn new(config: &AmazonConfig) -> Result<Self, ConfigError> {
        let invalid = |name: &'static str| {
            move |e: oauth2::url::ParseError| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }
        };
        let token_url =
            TokenUrl::new(config.token_url.clone()).map_err(invalid("AMAZON_TOKEN_URL"))?;
        let redirect = config
            .redirect_uri
            .clone()
            .map(|uri| RedirectUrl::new(uri).map_err(invalid("AMAZON_REDIRECT_URI")))
            .transpose()?;
        let client = |auth_url: &str, name: &'static str| -> Result<Client, ConfigError> {
            let client = BasicClient::new(ClientId::new(config.client_id.expose().to_owned()))
                .set_client_secret(ClientSecret::new(config.client_secret.expose().to_owned()))
                .set_auth_uri(AuthUrl::new(auth_url.to_owned()).map_err(invalid(name))?)
                .set_token_uri(token_url.clone())
                // LWA wants client credentials in the body, not HTTP Basic.
                .set_auth_type(AuthType::RequestBody);
            Ok(match &redirect {
                Some(redirect) => client.set_redirect_uri(redirect.clone()),
                None => client,
            })
        };
        Ok(Self {
            clients: PerRegion {
                na: client(&config.auth_urls.na, "AMAZON_AUTH_URL_NA")?,
                eu: client(&config.auth_urls.eu, "AMAZON_AUTH_URL_EU")?,
                fe: client(&config.auth_urls.fe, "AMAZON_AUTH_URL_FE")?,
            },
            scopes: config.scopes.clone(),
            http: crate::tls::Https,
        })
    }

    /// The consent URL for `region`: client id, scopes, `response_type=code`,
    /// redirect URI, state and an S256 PKCE challenge.
    pub fn authorization_url(
        &self,
        region: Region,
        state: &str,
        challenge: PkceCodeChallenge,
    ) -> String {
        let state = state.to_owned();
        let (url, _) = self
            .clients
            .get(region)
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        url.to_string()
    }

    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &Secret,
    ) -> Result<TokenGrant, LwaError> {
        let result = self
            .clients
            .na
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
            .request_async(&Transport(&self.http, Repeat::OnlyIfUnprocessed))
            .await;
        grant(result)
    }

    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenGrant, LwaError> {
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let result = self
            .clients
            .na
            .exchange_refresh_token(&token)
            .request_async(&Transport(&self.http, Repeat::Safe))
            .await;
        grant(result)
    }
}

/// oauth2's transport: reqwest with our timeouts and retries, as far as the
/// request may be repeated. A named type rather than a closure, so that the
/// futures it makes are `Send`.
struct Transport<'a>(&'a reqwest::Client, Repeat);

impl<'c> AsyncHttpClient<'c> for Transport<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(execute(self.0, self.1, request))
    }
}

async fn execute(
    client: &reqwest::Client,
    repeat: Repeat,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http::send_with(repeat, || {
        client
            .request(parts.method.clone(), parts.uri.to_string())
            .headers(parts.headers.clone())
            .body(body.clone())
    })
    .await?;
    let mut builder = http_1::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let bytes = response.bytes().await.map_err(|e| HttpError::Transient {
        reason: e.without_url().to_string(),
        retry_after: None,
    })?;
    builder
        .body(bytes.to_vec())
        .map_err(|e| HttpError::Transient {
            reason: e.to_string(),
            retry_after: None,
        })
}

use ::http as http_1;

type TokenResult = Result<
    BasicTokenResponse,
    RequestTokenError<HttpError, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
>;

fn grant(result: TokenResult) -> Result<TokenGrant, LwaError> {
    match result {
        Ok(response) => Ok(TokenGrant {
            access_token: Secret::new(response.access_token().secret().clone()),
            refresh_token: response
                .refresh_token()
                .map(|t| Secret::new(t.secret().clone())),
            expires_in: response
                .expires_in()
                .filter(|lifetime| *lifetime <= MAX_EXPIRES_IN)
                .unwrap_or(DEFAULT_EXPIRES_IN),
            scopes: response
                .scopes()
                .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default(),
        }),
        Err(RequestTokenError::ServerResponse(error)) => Err(match error.error() {
            BasicErrorResponseType::InvalidGrant => LwaError::InvalidGrant,
            BasicErrorResponseType::InvalidClient => LwaError::ClientRejected("invalid_client"),
            BasicErrorResponseType::UnauthorizedClient => {
                LwaError::ClientRejected("unauthorized_client")
            }
            BasicErrorResponseType::Extension(code)
                if code == "server_error" || code == "temporarily_unavailable" =>
            {
                LwaError::Unavailable {
                    reason: code.clone(),
                    retry_after: None,
                }
            }
            other => LwaError::Rejected(other.to_string()),
        }),
        Err(RequestTokenError::Request(HttpError::Transient {
            reason,
            retry_after,
        })) => Err(LwaError::Unavailable {
            reason,
            retry_after,
        }),
        Err(RequestTokenError::Parse(_, _)) => {
            Err(LwaError::Rejected("unparseable token response".into()))
        }
        Err(RequestTokenError::Other(reason)) => Err(LwaError::Rejected(reason)),
    }
}
