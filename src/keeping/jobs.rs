//! The keeping jobs: `keeping.backup` (every night; then the retention) and
//! `keeping.archive_years` (every day: archives each ended year whose year
//! closure exists and whose archive was not made yet).

use serde::{Deserialize, Serialize};

use super::KeepingError;
use crate::context::AppContext;
use crate::jobs::{Job, JobContext, JobError, JobKind, JobResult, KindOptions, Outcome};
use crate::store::Backend;

/// Takes a backup into the backup directory, then deletes the backups the
/// retention no longer keeps. On PostgreSQL there is nothing to do here
/// (the database is backed up with `pg_dump`): the job says so and ends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Backup {}

impl JobKind for Backup {
    const KIND: &'static str = "keeping.backup";
    fn options() -> KindOptions {
        KindOptions {
            queue: "documents".into(),
            max_attempts: 5,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for Backup {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        if ctx.store().backend() == Backend::Postgres {
            tracing::info!("PostgreSQL is backed up with pg_dump (see the README): nothing to do here");
            return Ok(Outcome::Done);
        }
        let config = &ctx.app.config;
        let dir = config.backup_dir();
        let written = super::backup::take(ctx.store(), config, &dir, super::backup::Origin::Job)
            .await
            .map_err(JobError::msg)?;
        let removed = super::retention::apply(
            &dir,
            super::retention::Policy::from_env().map_err(JobError::msg)?,
            written.path.as_path(),
        )
        .map_err(JobError::msg)?;
        tracing::info!(file = %written.path.display(), size = written.size, removed = removed.len(), "backup taken");
        Ok(Outcome::Done)
    }
}

/// Archives every ended year that has its year closure and no archive yet.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveYears {}

impl JobKind for ArchiveYears {
    const KIND: &'static str = "keeping.archive_years";
    fn options() -> KindOptions {
        KindOptions {
            queue: "documents".into(),
            max_attempts: 5,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for ArchiveYears {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let dir = ctx.app.config.archive_dir();
        match super::archive::make_due(ctx.store(), &dir).await {
            Ok(made) => {
                for w in &made {
                    tracing::info!(file = %w.path.display(), files = w.files, "yearly archive made");
                }
                Ok(Outcome::Done)
            }
            Err(
                e @ (KeepingError::Refused(_) | KeepingError::Billing(crate::billing::BillingError::BookAltered(_))),
            ) => Ok(Outcome::Discard(e.to_string())),
            Err(e) => Err(JobError::msg(e)),
        }
    }
}
