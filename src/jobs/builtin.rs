//! Kinds every worker knows.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::job::{Job, JobContext, JobError, JobKind, JobResult, Outcome};

/// Does nothing, after sleeping `sleep_ms` if given. With `fail` it fails
/// with that message instead, to see retries in a demo or a test.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Noop {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<String>,
}

impl JobKind for Noop {
    const KIND: &'static str = "noop";
}

impl<C: Send + Sync + 'static> Job<C> for Noop {
    async fn perform(self, _ctx: JobContext<C>) -> JobResult {
        if let Some(ms) = self.sleep_ms.filter(|ms| *ms > 0) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        match self.fail {
            Some(message) => Err(JobError::msg(message)),
            None => Ok(Outcome::Done),
        }
    }
}
