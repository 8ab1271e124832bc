//! An order not paid in time expires.

use serde::{Deserialize, Serialize};

use super::settle;
use crate::billing::{orders, payments};
use crate::context::AppContext;
use crate::jobs::{Job, JobContext, JobKind, JobResult, KindOptions};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpireOrder {
    pub order_id: i64,
}

impl JobKind for ExpireOrder {
    const KIND: &'static str = "billing.expire_order";
    fn options() -> KindOptions {
        KindOptions {
            queue: "billing".into(),
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for ExpireOrder {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = async {
            let mut tx = ctx.store().begin().await?;
            orders::lock(&mut tx, self.order_id).await?;
            // Only a pending order expires; a paid one is left alone.
            let expired = orders::expire(&mut tx, self.order_id).await?;
            if expired {
                // A payment still waiting for the payer's approval will not be captured now.
                for payment_id in crate::billing::sql::payments::waiting_for_order(&mut tx, self.order_id).await? {
                    payments::fail(&mut tx, payment_id, "the order expired before the payment was approved").await?;
                }
            }
            tx.commit().await?;
            if expired {
                tracing::info!(order = self.order_id, "order expired unpaid");
            }
            Ok(())
        }
        .await;
        settle(result)
    }
}
