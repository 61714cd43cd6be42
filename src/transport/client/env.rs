//! The settings a [`ClientBuilder`] takes from the environment.

#[cfg(feature = "redis")]
use super::ENV_LIMITER_URL;
use super::{ClientBuilder, ENV_API_KEY, ENV_BASE_URL};
use crate::Error;

impl ClientBuilder {
    /// Reads `ALLOY_API_KEY` (required) and `ALLOY_BASE_URL` (optional).
    #[allow(clippy::wrong_self_convention)]
    pub fn from_env(mut self) -> Result<Self, Error> {
        match std::env::var(ENV_API_KEY) {
            Ok(key) => self.api_key = Some(key),
            Err(std::env::VarError::NotPresent) => {
                return Err(Error::InvalidInput(format!("{ENV_API_KEY} is not set")));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::InvalidInput(format!(
                    "{ENV_API_KEY} is not valid UTF-8"
                )));
            }
        }
        if let Ok(url) = std::env::var(ENV_BASE_URL)
            && !url.is_empty()
        {
            self.base_url = url;
        }
        #[cfg(feature = "redis")]
        if let Ok(url) = std::env::var(ENV_LIMITER_URL)
            && !url.is_empty()
        {
            self.limiter = Some(url);
        }
        Ok(self)
    }
}
