//! Kinds every worker knows.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::job::{Job, JobContext, JobError, JobKind, JobResult, Outcome};

/// Does nothing, after sleeping `sleep_ms` if given. With `fail` it fails
/// with that message instead, to see retries in a demo or a test. With
/// `record` it writes, as its progress, when it started and ended by its
/// worker's clock (`{"started_at": …, "ended_at": …}`), to check limits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Noop {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
}

impl JobKind for Noop {
    const KIND: &'static str = "noop";
}

impl<C: Send + Sync + 'static> Job<C> for Noop {
    async fn perform(self, ctx: JobContext<C>) -> JobResult {
        let started_at = chrono::Utc::now();
        if self.record {
            ctx.set_progress(serde_json::json!({ "started_at": started_at }))
                .await?;
        }
        if let Some(ms) = self.sleep_ms.filter(|ms| *ms > 0) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.record {
            let ended_at = chrono::Utc::now();
            ctx.set_progress(serde_json::json!({ "started_at": started_at, "ended_at": ended_at }))
                .await?;
        }
        match self.fail {
            Some(message) => Err(JobError::msg(message)),
            None => Ok(Outcome::Done),
        }
    }
}
