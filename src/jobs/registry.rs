//! The explicit list of kinds a worker can run, and its periodic jobs.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::job::{Job, JobContext, JobKind, JobResult, KindOptions};
use super::periodic::Periodic;
use super::Error;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RunFn<C> = dyn Fn(Value, JobContext<C>) -> Result<BoxFuture<JobResult>, serde_json::Error> + Send + Sync;

/// A registered kind, with its args erased to JSON.
pub(crate) struct Handler<C> {
    pub options: KindOptions,
    pub run: Box<RunFn<C>>,
    pub validate: fn(&Value) -> Result<(), serde_json::Error>,
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
        };
        let previous = self.kinds.insert(J::KIND, Arc::new(handler));
        assert!(previous.is_none(), "job kind {:?} registered twice", J::KIND);
        self
    }

    /// Enqueues `job` once per slot of the cron expression `cron` (5 fields,
    /// or 6 with seconds first), however many workers run. `name` identifies
    /// the schedule in unique keys: keep it stable.
    pub fn periodic<J: JobKind>(mut self, name: &str, cron: &str, job: &J) -> Result<Self, Error> {
        if !self.kinds.contains_key(J::KIND) {
            return Err(Error::UnknownKind(J::KIND.to_string()));
        }
        self.periodic.push(Periodic::new(
            name,
            cron,
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
}
