//! Batches what a worker writes about its running jobs: starts and
//! completions. Whatever happened while the previous batch was being written
//! goes out in the next one: under load this turns thousands of commits into
//! a few dozen; when idle a start or a completion is written at once.
//!
//! A start is recorded so that a lost lease costs the job an attempt only if
//! it had really started (a claimed job may wait in its worker's buffer). A
//! job that starts and completes within one batch needs no start of its own:
//! its completion says it all.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::Store;

const MAX_BATCH: usize = 2_000;

enum Event {
    Started(i64, i32),
    Completed(i64, i32),
}

#[derive(Clone)]
pub(crate) struct Completer {
    tx: mpsc::UnboundedSender<Event>,
}

impl Completer {
    /// Starts the writer task for `worker_id`'s jobs; it ends once every
    /// `Completer` clone is dropped and the last batch is written.
    pub fn spawn(store: Store, worker_id: String) -> (Completer, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Completer { tx }, tokio::spawn(run(store, worker_id, rx)))
    }

    /// The attempt `(id, attempt)` is starting now.
    pub fn started(&self, id: i64, attempt: i32) {
        // The receiver lives until every sender is gone.
        let _ = self.tx.send(Event::Started(id, attempt));
    }

    /// The attempt `(id, attempt)` succeeded.
    pub fn completed(&self, id: i64, attempt: i32) {
        let _ = self.tx.send(Event::Completed(id, attempt));
    }
}

async fn run(store: Store, worker_id: String, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut events, MAX_BATCH).await > 0 {
        let (started, completed) = split(&mut events);
        // Completions first: a job done but not recorded runs again if the
        // worker dies, so that window is kept as short as before starts
        // were recorded.
        write(&store, &worker_id, &completed, Write::Completions).await;
        write(&store, &worker_id, &started, Write::Starts).await;
    }
}

/// An attempt: job id and attempt number.
type Attempt = (i64, i32);

/// The starts of jobs still running, and the completions, of one batch.
fn split(events: &mut Vec<Event>) -> (Vec<Attempt>, Vec<Attempt>) {
    let done: HashSet<Attempt> = events
        .iter()
        .filter_map(|e| match e {
            Event::Completed(id, attempt) => Some((*id, *attempt)),
            Event::Started(..) => None,
        })
        .collect();
    let mut started = Vec::new();
    let mut completed = Vec::with_capacity(done.len());
    for event in events.drain(..) {
        match event {
            Event::Started(id, attempt) if !done.contains(&(id, attempt)) => started.push((id, attempt)),
            Event::Started(..) => {}
            Event::Completed(id, attempt) => completed.push((id, attempt)),
        }
    }
    (started, completed)
}

#[derive(Clone, Copy, Debug)]
enum Write {
    Starts,
    Completions,
}

async fn write(store: &Store, worker_id: &str, jobs: &[(i64, i32)], what: Write) {
    if jobs.is_empty() {
        return;
    }
    let mut wait = Duration::from_millis(50);
    for tries in 0.. {
        let result = match what {
            Write::Starts => store.mark_jobs_started(worker_id, jobs).await,
            Write::Completions => store.complete_jobs(worker_id, jobs).await.map(|ids| {
                // One line per completion recorded (debug): what the chaos
                // harness counts, so a completion recorded twice would show.
                for id in &ids {
                    tracing::debug!(job.id = id, "completion recorded");
                }
                ids.len() as u64
            }),
        };
        match result {
            Ok(_) => return,
            Err(e) if tries < 20 => {
                tracing::error!(error = %e, count = jobs.len(), ?what, "cannot record; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                // Completions: their leases expire and the jobs run again (at
                // least once). Starts: a lost lease then gives the attempt back.
                tracing::error!(error = %e, count = jobs.len(), ?what, "giving up recording");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_started_and_completed_in_one_batch_needs_no_start() {
        let mut events = vec![
            Event::Started(1, 1),
            Event::Started(2, 1),
            Event::Completed(1, 1),
            Event::Started(3, 2),
            Event::Completed(4, 1),
        ];
        let (started, completed) = split(&mut events);
        assert_eq!(started, vec![(2, 1), (3, 2)]);
        assert_eq!(completed, vec![(1, 1), (4, 1)]);
        assert!(events.is_empty());
    }
}
