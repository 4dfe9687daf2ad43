//! Where a consent may send the browser back to: only the configured
//! origins, compared after URL normalisation.

use reqwest::Url;

use crate::configuration::values::ConfigError;

/// Where the callback may send the browser back to.
pub struct ReturnPolicy {
    allowed_origins: Vec<String>,
    default_url: Url,
}

impl ReturnPolicy {
    pub fn new(allowed_origins: &[String], default_url: &str) -> Result<Self, ConfigError> {
        let invalid = |name: &'static str, reason: String| ConfigError::Invalid { name, reason };
        let default_url =
            Url::parse(default_url).map_err(|e| invalid("DEFAULT_RETURN_URL", e.to_string()))?;
        if !matches!(default_url.scheme(), "https" | "http") {
            return Err(invalid(
                "DEFAULT_RETURN_URL",
                "expected an http(s) URL".into(),
            ));
        }
        let allowed_origins = allowed_origins
            .iter()
            .map(|origin| {
                let url = Url::parse(origin)
                    .map_err(|e| invalid("ALLOWED_RETURN_ORIGINS", format!("{origin}: {e}")))?;
                Ok(url.origin().ascii_serialization())
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            allowed_origins,
            default_url,
        })
    }

    /// An absolute http(s) URL, without credentials, on an allowed origin.
    /// Hosts are compared after URL normalisation (case, IDNA), so look-alike
    /// spellings of an allowed origin are the origin itself, and anything
    /// else is refused.
    pub fn check(&self, return_to: &str) -> Option<Url> {
        let url = Url::parse(return_to).ok()?;
        let plain = matches!(url.scheme(), "https" | "http")
            && url.username().is_empty()
            && url.password().is_none()
            && url.host().is_some();
        let origin = url.origin().ascii_serialization();
        (plain && self.allowed_origins.contains(&origin)).then_some(url)
    }

    pub fn default_url(&self) -> &Url {
        &self.default_url
    }
}
