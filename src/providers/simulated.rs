//! An offline provider for demos and tests: it charges nothing, takes a fee of 1.4 % + 0.25,
//! declines amounts whose cents are in a decline list (,13 by default) and fails the first two
//! attempts of amounts whose cents are in a fail list (,66 by default), so retries can be
//! watched without a network. Attempts are counted per idempotency key, in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};

use super::{CaptureMethod, ChargeOutcome, ChargeRequest, ProviderError, RefundOutcome, RefundStatus};
use crate::money::{Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedConfig {
    /// Cents (0–99) that are declined.
    pub decline_cents: Vec<u8>,
    /// Cents (0–99) whose first attempts fail with a transient error.
    pub fail_cents: Vec<u8>,
    /// How many attempts fail before one succeeds.
    pub failing_attempts: u32,
}

impl Default for SimulatedConfig {
    fn default() -> Self {
        SimulatedConfig {
            decline_cents: vec![13],
            fail_cents: vec![66],
            failing_attempts: 2,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    attempts: HashMap<String, u32>,
    /// Answers by idempotency key, replayed like a real provider does.
    answers: HashMap<String, ChargeOutcome>,
    /// Charges by reference.
    charges: HashMap<String, ChargeOutcome>,
}

#[derive(Debug, Clone, Default)]
pub struct Simulated {
    config: Arc<SimulatedConfig>,
    state: Arc<Mutex<State>>,
}

impl Simulated {
    pub fn new(config: SimulatedConfig) -> Self {
        Simulated {
            config: Arc::new(config),
            state: Arc::default(),
        }
    }

    /// 1.4 % of the amount plus 0.25, rounded half away from zero, never more than the amount.
    pub fn fee(amount: Money) -> Money {
        let exponent = amount.currency.exponent();
        let fee = (amount.to_decimal() * Decimal::new(14, 3) + Decimal::new(25, 2))
            .round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero);
        let fee = Money::from_decimal(fee, amount.currency).unwrap_or(Money::zero(amount.currency));
        if fee.minor > amount.minor {
            amount
        } else {
            fee
        }
    }

    /// How many times `idempotency_key` was tried.
    pub fn attempts(&self, idempotency_key: &str) -> u32 {
        self.lock().attempts.get(idempotency_key).copied().unwrap_or(0)
    }

    pub fn create_payment(&self, req: &ChargeRequest) -> Result<ChargeOutcome, ProviderError> {
        let cents = (req.amount.minor.unsigned_abs() % 100) as u8;
        let mut state = self.lock();
        let attempt = {
            let n = state.attempts.entry(req.idempotency_key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if let Some(answer) = state.answers.get(&req.idempotency_key) {
            return Ok(answer.clone());
        }
        if self.config.fail_cents.contains(&cents) && attempt <= self.config.failing_attempts {
            return Err(ProviderError::Transient(format!(
                "simulated: provider unavailable (attempt {attempt} of {} that fail for amounts ending in ,{cents:02})",
                self.config.failing_attempts
            )));
        }
        if req.amount.minor <= 0 {
            return Err(ProviderError::Permanent(format!(
                "simulated: cannot charge {}",
                req.amount
            )));
        }
        let outcome = if self.config.decline_cents.contains(&cents) {
            ChargeOutcome::Declined {
                reason: format!("simulated decline: the card was refused (amount ending in ,{cents:02})"),
                code: Some("card_declined".into()),
            }
        } else {
            let reference = reference(req.amount, &req.idempotency_key);
            let outcome = match req.capture {
                CaptureMethod::Automatic => ChargeOutcome::Succeeded {
                    reference: reference.clone(),
                    fee: Some(Simulated::fee(req.amount)),
                },
                CaptureMethod::Manual => ChargeOutcome::Authorized {
                    reference: reference.clone(),
                },
            };
            state.charges.insert(reference, outcome.clone());
            outcome
        };
        state.answers.insert(req.idempotency_key.clone(), outcome.clone());
        Ok(outcome)
    }

    pub fn capture(&self, reference: &str) -> Result<ChargeOutcome, ProviderError> {
        let amount = parse_reference(reference)?;
        let captured = ChargeOutcome::Succeeded {
            reference: reference.to_string(),
            fee: Some(Simulated::fee(amount)),
        };
        self.lock().charges.insert(reference.to_string(), captured.clone());
        Ok(captured)
    }

    pub fn refund(
        &self,
        reference: &str,
        amount: Money,
        idempotency_key: &str,
    ) -> Result<RefundOutcome, ProviderError> {
        let charged = parse_reference(reference)?;
        if amount.currency != charged.currency || amount.minor > charged.minor {
            return Err(ProviderError::Permanent(format!(
                "simulated: cannot refund {amount} of a {charged} charge"
            )));
        }
        Ok(RefundOutcome {
            reference: format!("sim_re_{}", digest(idempotency_key)),
            status: RefundStatus::Succeeded,
        })
    }

    /// The answer given to `idempotency_key`, if this process made one.
    pub fn find_charge(&self, idempotency_key: &str) -> Option<ChargeOutcome> {
        self.lock().answers.get(idempotency_key).cloned()
    }

    /// What this process remembers, else what the reference says (a charge that succeeded).
    pub fn status(&self, reference: &str) -> Result<ChargeOutcome, ProviderError> {
        if let Some(known) = self.lock().charges.get(reference) {
            return Ok(known.clone());
        }
        let amount = parse_reference(reference)?;
        Ok(ChargeOutcome::Succeeded {
            reference: reference.to_string(),
            fee: Some(Simulated::fee(amount)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `sim_EUR1234_3fa9c0d1e2b4`: the amount travels in the reference, so a restarted process
/// can still capture, refund and report it.
fn reference(amount: Money, key: &str) -> String {
    format!("sim_{}{}_{}", amount.currency, amount.minor, digest(key))
}

fn parse_reference(reference: &str) -> Result<Money, ProviderError> {
    let unknown = || ProviderError::Permanent(format!("simulated: unknown payment {reference:?}"));
    let rest = reference.strip_prefix("sim_").ok_or_else(unknown)?;
    let (amount, _) = rest.split_once('_').ok_or_else(unknown)?;
    let currency: Currency = amount.get(..3).ok_or_else(unknown)?.parse().map_err(|_| unknown())?;
    let minor: i64 = amount[3..].parse().map_err(|_| unknown())?;
    Ok(Money::new(minor, currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_is_one_point_four_percent_plus_a_quarter() {
        let eur = |minor| Money::new(minor, Currency::EUR);
        assert_eq!(Simulated::fee(eur(10_000)), eur(165));
        assert_eq!(Simulated::fee(eur(1_013)), eur(39));
        assert_eq!(Simulated::fee(eur(10)), eur(10));
    }

    #[test]
    fn references_carry_the_amount() {
        let amount = Money::new(1_234, Currency::EUR);
        let r = reference(amount, "k");
        assert!(r.starts_with("sim_EUR1234_"), "{r}");
        assert_eq!(parse_reference(&r).unwrap(), amount);
        assert!(parse_reference("pi_123").is_err());
    }
}
