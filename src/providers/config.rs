//! Which providers exist, from the environment. A provider without credentials is absent;
//! asking for it names the variable to set.

use std::time::Duration;

use super::paypal::{PaypalClient, PaypalConfig, DEFAULT_PAYPAL_API_BASE};
use super::simulated::{Simulated, SimulatedConfig};
use super::stripe::{StripeClient, StripeConfig, DEFAULT_STRIPE_API_BASE};
use super::{Provider, ProviderError};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The configuration is wrong (bad value, half-given credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment providers: {0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub stripe: Option<StripeConfig>,
    pub paypal: Option<PaypalConfig>,
    pub simulated: SimulatedConfig,
}

impl ProvidersConfig {
    /// Reads `COMPTOIR_STRIPE_*`, `COMPTOIR_PAYPAL_*`, `COMPTOIR_SIMULATED_*` and
    /// `COMPTOIR_PROVIDER_TIMEOUT` (default 20 s).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ProvidersConfig::from_env`], from any source of variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let timeout = match var("COMPTOIR_PROVIDER_TIMEOUT") {
            Some(text) => crate::config::parse_duration(&text)
                .map_err(|e| ConfigError(format!("COMPTOIR_PROVIDER_TIMEOUT: {e}")))?,
            None => DEFAULT_TIMEOUT,
        };
        let stripe = match var("COMPTOIR_STRIPE_SECRET_KEY") {
            Some(secret_key) => Some(StripeConfig {
                api_base: var("COMPTOIR_STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.into()),
                secret_key,
                webhook_secret: var("COMPTOIR_STRIPE_WEBHOOK_SECRET"),
                timeout,
            }),
            None => {
                if var("COMPTOIR_STRIPE_WEBHOOK_SECRET").is_some() {
                    tracing::warn!(
                        "COMPTOIR_STRIPE_WEBHOOK_SECRET is set without COMPTOIR_STRIPE_SECRET_KEY: Stripe stays off"
                    );
                }
                None
            }
        };
        let paypal = match (var("COMPTOIR_PAYPAL_CLIENT_ID"), var("COMPTOIR_PAYPAL_CLIENT_SECRET")) {
            (Some(client_id), Some(client_secret)) => Some(PaypalConfig {
                api_base: var("COMPTOIR_PAYPAL_API_BASE").unwrap_or_else(|| DEFAULT_PAYPAL_API_BASE.into()),
                client_id,
                client_secret,
                webhook_id: var("COMPTOIR_PAYPAL_WEBHOOK_ID"),
                timeout,
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError(
                    "COMPTOIR_PAYPAL_CLIENT_ID is set but not COMPTOIR_PAYPAL_CLIENT_SECRET".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError(
                    "COMPTOIR_PAYPAL_CLIENT_SECRET is set but not COMPTOIR_PAYPAL_CLIENT_ID".into(),
                ))
            }
        };
        let defaults = SimulatedConfig::default();
        let simulated = SimulatedConfig {
            decline_cents: match var("COMPTOIR_SIMULATED_DECLINE_CENTS") {
                Some(list) => cents_list("COMPTOIR_SIMULATED_DECLINE_CENTS", &list)?,
                None => defaults.decline_cents,
            },
            fail_cents: match var("COMPTOIR_SIMULATED_FAIL_CENTS") {
                Some(list) => cents_list("COMPTOIR_SIMULATED_FAIL_CENTS", &list)?,
                None => defaults.fail_cents,
            },
            failing_attempts: defaults.failing_attempts,
        };
        Ok(ProvidersConfig {
            stripe,
            paypal,
            simulated,
        })
    }
}

/// `13`, `13,42` or `13 42`; `none` for an empty list.
fn cents_list(name: &str, text: &str) -> Result<Vec<u8>, ConfigError> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u8>() {
            Ok(n) if n < 100 => Ok(n),
            _ => Err(ConfigError(format!(
                "{name}: {s:?} is not a number of cents between 0 and 99 (example: 13,42)"
            ))),
        })
        .collect()
}

/// The providers this process can use.
#[derive(Debug, Clone)]
pub struct Providers {
    stripe: Option<StripeClient>,
    paypal: Option<PaypalClient>,
    simulated: Simulated,
}

impl Providers {
    pub fn new(config: ProvidersConfig) -> Result<Self, ConfigError> {
        Ok(Providers {
            stripe: config.stripe.map(StripeClient::new).transpose()?,
            paypal: config.paypal.map(PaypalClient::new).transpose()?,
            simulated: Simulated::new(config.simulated),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Providers::new(ProvidersConfig::from_env()?)
    }

    /// The provider named as in `Payment::provider`: `stripe`, `paypal`, `manual`, `simulated`.
    pub fn get(&self, name: &str) -> Result<Provider, ProviderError> {
        match name {
            "stripe" => self.stripe().cloned().map(Provider::Stripe),
            "paypal" => self.paypal().cloned().map(Provider::Paypal),
            "manual" => Ok(Provider::Manual),
            "simulated" => Ok(Provider::Simulated(self.simulated.clone())),
            other => Err(ProviderError::Permanent(format!(
                "unknown payment provider {other:?} (expected stripe, paypal, manual or simulated)"
            ))),
        }
    }

    pub fn stripe(&self) -> Result<&StripeClient, ProviderError> {
        self.stripe.as_ref().ok_or(ProviderError::NotConfigured {
            provider: "stripe",
            missing: "COMPTOIR_STRIPE_SECRET_KEY",
        })
    }

    pub fn paypal(&self) -> Result<&PaypalClient, ProviderError> {
        self.paypal.as_ref().ok_or(ProviderError::NotConfigured {
            provider: "paypal",
            missing: "COMPTOIR_PAYPAL_CLIENT_ID and COMPTOIR_PAYPAL_CLIENT_SECRET",
        })
    }

    pub fn simulated(&self) -> &Simulated {
        &self.simulated
    }

    /// Names of the providers available, for forms and health pages.
    pub fn available(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.stripe.is_some() {
            names.push("stripe");
        }
        if self.paypal.is_some() {
            names.push("paypal");
        }
        names.extend(["manual", "simulated"]);
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_lists() {
        assert_eq!(cents_list("X", "13, 42").unwrap(), vec![13, 42]);
        assert_eq!(cents_list("X", "none").unwrap(), Vec::<u8>::new());
        assert!(cents_list("X", "130").is_err());
        assert!(cents_list("X", "1,3€").is_err());
    }
}
