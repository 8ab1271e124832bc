//! The explicit list of kinds a worker can run, and its periodic jobs.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::job::{Job, JobContext, JobKind, JobResult, KindOptions, LimitKey};
use super::periodic::Periodic;
use super::schedule::Schedule;
use super::Error;
use crate::store::kinds::{KeySource, KindDefaults, KindLimit};
use crate::store::Store;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RunFn<C> = dyn Fn(Value, JobContext<C>) -> Result<BoxFuture<JobResult>, serde_json::Error> + Send + Sync;

/// A registered kind, with its args erased to JSON.
pub(crate) struct Handler<C> {
    pub options: KindOptions,
    pub run: Box<RunFn<C>>,
    pub validate: fn(&Value) -> Result<(), serde_json::Error>,
    /// As `validate`, naming the field at fault.
    pub check: fn(&Value) -> Result<(), ArgsError>,
}

/// Args that do not fit their kind: where (a path into the args such as
/// `lines[0].sku`, empty for the args as a whole) and why (serde's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsError {
    pub path: String,
    pub message: String,
}

/// Kinds are registered explicitly: a worker never runs a kind it was not given.
pub struct Registry<C> {
    kinds: BTreeMap<&'static str, Arc<Handler<C>>>,
    periodic: Vec<Periodic>,
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Registry {
            kinds: BTreeMap::new(),
            periodic: Vec::new(),
        }
    }
}

impl<C: Clone + Send + Sync + 'static> Registry<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds kind `J`.
    ///
    /// # Panics
    /// If a kind of the same name is already registered: two handlers for one
    /// name is a programming error that must not reach production.
    pub fn register<J: Job<C>>(mut self) -> Self {
        let handler = Handler {
            options: J::options(),
            run: Box::new(|args: Value, ctx: JobContext<C>| {
                let job: J = serde_json::from_value(args)?;
                Ok(Box::pin(job.perform(ctx)) as BoxFuture<JobResult>)
            }),
            validate: |args| serde_json::from_value::<J>(args.clone()).map(|_| ()),
            check: |args| {
                serde_path_to_error::deserialize::<_, J>(args).map(|_| ()).map_err(|e| {
                    let path = e.path().to_string();
                    ArgsError {
                        path: if path == "." { String::new() } else { path },
                        message: e.into_inner().to_string(),
                    }
                })
            },
        };
        let previous = self.kinds.insert(J::KIND, Arc::new(handler));
        assert!(previous.is_none(), "job kind {:?} registered twice", J::KIND);
        self
    }

    /// Enqueues `job` once per slot of `schedule`, however many workers run:
    /// a cron expression (5 fields, or 6 with seconds first) in UTC, or a
    /// [`Schedule`] that names its time zone and its policy for missed slots
    /// (`Schedule::cron("0 8 * * *").zone(chrono_tz::Europe::Paris)`). `name`
    /// identifies the schedule in unique keys: keep it stable. A bad
    /// expression, name or grace is an error.
    pub fn periodic<J: JobKind>(mut self, name: &str, schedule: impl Into<Schedule>, job: &J) -> Result<Self, Error> {
        if !self.kinds.contains_key(J::KIND) {
            return Err(Error::UnknownKind(J::KIND.to_string()));
        }
        if self.periodic.iter().any(|p| p.name() == name) {
            return Err(Error::InvalidOption(format!("periodic job {name:?} registered twice")));
        }
        self.periodic.push(Periodic::new(
            name,
            schedule.into(),
            J::KIND,
            serde_json::to_value(job)?,
            J::options(),
        )?);
        Ok(self)
    }
}

impl<C> Registry<C> {
    pub(crate) fn handler(&self, kind: &str) -> Option<&Arc<Handler<C>>> {
        self.kinds.get(kind)
    }

    pub(crate) fn periodic_jobs(&self) -> &[Periodic] {
        &self.periodic
    }

    /// The periodic schedules by name, in the order registered.
    pub fn schedules(&self) -> impl Iterator<Item = (&str, &Schedule)> + '_ {
        self.periodic.iter().map(|p| (p.name(), p.schedule()))
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    pub fn options(&self, kind: &str) -> Option<&KindOptions> {
        self.kinds.get(kind).map(|h| &h.options)
    }

    /// Checks that `args` deserialize into `kind`'s args.
    pub fn validate(&self, kind: &str, args: &Value) -> Result<(), Error> {
        let handler = self
            .kinds
            .get(kind)
            .ok_or_else(|| Error::UnknownKind(kind.to_string()))?;
        (handler.validate)(args).map_err(|e| Error::InvalidArgs {
            kind: kind.to_string(),
            message: e.to_string(),
        })
    }

    /// Every queue a registered kind uses by default, plus `default`.
    pub fn queues(&self) -> BTreeSet<String> {
        let mut queues: BTreeSet<String> = self.kinds.values().map(|h| h.options.queue.to_string()).collect();
        queues.insert("default".to_string());
        queues
    }

    /// Checks `args` against `kind`'s args, naming the field at fault:
    /// `Ok(None)` when they fit. `UnknownKind` for a kind not registered.
    pub fn args_error(&self, kind: &str, args: &Value) -> Result<Option<ArgsError>, Error> {
        let handler = self
            .kinds
            .get(kind)
            .ok_or_else(|| Error::UnknownKind(kind.to_string()))?;
        Ok((handler.check)(args).err())
    }

    /// Every registered kind with its defaults and limit declarations, by
    /// name: what `comptoir_kinds` lists for other programs.
    pub fn describe(&self) -> Vec<KindDefaults> {
        let source = |key: &LimitKey| match key {
            LimitKey::Kind => KeySource::Kind,
            LimitKey::Arg { name, pointer } => KeySource::Arg {
                name: name.to_string(),
                pointer: pointer.to_string(),
            },
        };
        self.kinds
            .iter()
            .map(|(kind, h)| KindDefaults {
                kind: kind.to_string(),
                queue: h.options.queue.to_string(),
                priority: h.options.priority,
                max_attempts: h.options.max_attempts,
                concurrency: h.options.concurrency.map(|c| KindLimit {
                    key: source(&c.key),
                    limit: c.limit,
                    period: None,
                }),
                rate: h.options.rate.map(|r| KindLimit {
                    key: source(&r.key),
                    limit: r.limit,
                    period: Some(r.period),
                }),
            })
            .collect()
    }

    /// Writes [`Registry::describe`] to the database (`comptoir_kinds`), so
    /// that SQL enqueues these kinds with their defaults; a kind no longer
    /// registered is removed. Called when a worker or the web starts.
    pub async fn publish(&self, store: &Store) -> Result<(), Error> {
        store.publish_kinds(&self.describe()).await?;
        Ok(())
    }
}
