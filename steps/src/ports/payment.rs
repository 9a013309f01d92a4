//! Port: charge the customer through a payment provider; a deterministic simulated provider.

use async_trait::async_trait;

use crate::error::PortError;
use crate::model::PaymentToken;

/// The token the simulated provider always declines.
pub const DECLINED_TOKEN: &str = "tok_chargeDeclined";

/// One charge. `idempotency_key` is stable across retries of the same order, so a provider that
/// supports idempotency keys charges once however often the step is retried.
#[derive(Debug, Clone, Copy)]
pub struct ChargeRequest<'a> {
    pub order_id: &'a str,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub token: Option<&'a PaymentToken>,
    pub idempotency_key: &'a str,
}

/// What the provider decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved { payment_id: String },
    Declined { reason: String },
}

/// A payment provider. Transport problems are `Err` (transient errors are retried by the
/// workflow); a business refusal is `Ok(ChargeOutcome::Declined)`.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    async fn charge(&self, request: &ChargeRequest<'_>) -> Result<ChargeOutcome, PortError>;
}

/// A simulated provider: token [`DECLINED_TOKEN`] is declined, any other token (or none) is
/// approved with a payment id derived from the order id, so a retry gets the same id.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatedGateway;

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn charge(&self, request: &ChargeRequest<'_>) -> Result<ChargeOutcome, PortError> {
        if request.token.map(PaymentToken::expose) == Some(DECLINED_TOKEN) {
            return Ok(ChargeOutcome::Declined {
                reason: "the card was declined".into(),
            });
        }
        Ok(ChargeOutcome::Approved {
            payment_id: format!(
                "pay_sim_{:016x}",
                fnv1a64(request.idempotency_key.as_bytes())
            ),
        })
    }
}

/// 64-bit FNV-1a: a small, stable (across builds and platforms) hash for derived ids.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(order_id: &'a str, token: Option<&'a PaymentToken>) -> ChargeRequest<'a> {
        ChargeRequest {
            order_id,
            amount_cents: 100,
            currency: "USD",
            token,
            idempotency_key: order_id,
        }
    }

    #[tokio::test]
    async fn declined_token_is_declined() {
        let token = PaymentToken::new(DECLINED_TOKEN);
        let outcome = SimulatedGateway
            .charge(&request("o-1", Some(&token)))
            .await
            .unwrap();
        assert!(matches!(outcome, ChargeOutcome::Declined { .. }));
    }

    #[tokio::test]
    async fn approval_is_deterministic_per_order() {
        let token = PaymentToken::new("tok_visa");
        let a = SimulatedGateway
            .charge(&request("o-1", Some(&token)))
            .await
            .unwrap();
        let b = SimulatedGateway
            .charge(&request("o-1", None))
            .await
            .unwrap();
        let c = SimulatedGateway
            .charge(&request("o-2", None))
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(
            matches!(a, ChargeOutcome::Approved { ref payment_id } if payment_id.starts_with("pay_sim_"))
        );
    }

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }
}
