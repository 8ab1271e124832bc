//! Batches what a worker writes about its running jobs: starts and
//! completions. Whatever happened while the previous batch was being written
//! goes out in the next one: under load this turns thousands of commits into
//! a few dozen; when idle a start or a completion is written at once.
//!
//! A start is recorded so that a lost lease costs the job an attempt only if
//! it had really started (a claimed job may wait in its worker's buffer). A
//! job that starts and completes within one batch needs no start of its own:
//! its completion says it all.
//!
//! After rounds that completed jobs, the batches those completions
//! finished get their callback (see `batch`; at most every 50 ms under
//! load); [`Completer::flush`] waits until everything sent before it is
//! written, for a drain deciding whether work is left.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::store::Store;

const MAX_BATCH: usize = 2_000;

enum Event {
    Started(i64, i32),
    Completed(i64, i32),
    /// Answered once what came before is written.
    Flush(oneshot::Sender<()>),
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

    /// Returns once every start and completion sent before is written (or
    /// given up on), and the batches they finished are closed.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Event::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

async fn run(store: Store, worker_id: String, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut closer = BatchCloser::default();
    loop {
        // Completions wait for a batch check: come back when it is due, even with nothing received.
        let received = match closer.due_in() {
            Some(wait) => match tokio::time::timeout(wait, rx.recv_many(&mut events, MAX_BATCH)).await {
                Ok(n) => n,
                Err(_elapsed) => {
                    closer.close(&store).await;
                    continue;
                }
            },
            None => rx.recv_many(&mut events, MAX_BATCH).await,
        };
        if received == 0 {
            break;
        }
        let Split {
            started,
            completed,
            flushes,
        } = split(&mut events);
        // Completions first: a job done but not recorded runs again if the
        // worker dies, so that window is kept as short as before starts
        // were recorded.
        let recorded = write(&store, &worker_id, &completed, Write::Completions).await;
        write(&store, &worker_id, &started, Write::Starts).await;
        // One of them may have been the last of a batch.
        closer.pending |= recorded > 0;
        if closer.due_in() == Some(Duration::ZERO) || (closer.pending && !flushes.is_empty()) {
            closer.close(&store).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
    if closer.pending {
        closer.close(&store).await;
    }
}

/// After completions, the batches they may have finished are closed (see
/// `batch`): at most once per [`CLOSE_GAP`] under load, so that a worker
/// writing hundreds of rounds a second does not add a read to each; at once
/// for a flush.
#[derive(Default)]
struct BatchCloser {
    pending: bool,
    last: Option<tokio::time::Instant>,
}

/// The least time between two batch checks of one completer.
const CLOSE_GAP: Duration = Duration::from_millis(50);

impl BatchCloser {
    /// How long until the pending check is due; `None` when none is pending.
    fn due_in(&self) -> Option<Duration> {
        if !self.pending {
            return None;
        }
        Some(match self.last {
            Some(last) => CLOSE_GAP.saturating_sub(last.elapsed()),
            None => Duration::ZERO,
        })
    }

    async fn close(&mut self, store: &Store) {
        self.pending = false;
        self.last = Some(tokio::time::Instant::now());
        super::batch::close_finished_logged(store).await;
    }
}

/// An attempt: job id and attempt number.
type Attempt = (i64, i32);

/// One round's events, sorted.
struct Split {
    /// Starts of jobs still running.
    started: Vec<Attempt>,
    completed: Vec<Attempt>,
    flushes: Vec<oneshot::Sender<()>>,
}

/// Empties `events` into the starts of jobs still running, the completions
/// and the flushes waiting for them.
fn split(events: &mut Vec<Event>) -> Split {
    let done: HashSet<Attempt> = events
        .iter()
        .filter_map(|e| match e {
            Event::Completed(id, attempt) => Some((*id, *attempt)),
            Event::Started(..) | Event::Flush(_) => None,
        })
        .collect();
    let mut out = Split {
        started: Vec::new(),
        completed: Vec::with_capacity(done.len()),
        flushes: Vec::new(),
    };
    for event in events.drain(..) {
        match event {
            Event::Started(id, attempt) if !done.contains(&(id, attempt)) => out.started.push((id, attempt)),
            Event::Started(..) => {}
            Event::Completed(id, attempt) => out.completed.push((id, attempt)),
            Event::Flush(waiting) => out.flushes.push(waiting),
        }
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Write {
    Starts,
    Completions,
}

/// Writes `jobs`, retrying while the database is unreachable; returns how
/// many rows it changed (0 when it gave up).
async fn write(store: &Store, worker_id: &str, jobs: &[(i64, i32)], what: Write) -> u64 {
    if jobs.is_empty() {
        return 0;
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
            Ok(n) => return n,
            Err(e) if tries < 20 => {
                tracing::error!(error = %e, count = jobs.len(), ?what, "cannot record; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(e) => {
                // Completions: their leases expire and the jobs run again (at
                // least once). Starts: a lost lease then gives the attempt back.
                tracing::error!(error = %e, count = jobs.len(), ?what, "giving up recording");
                return 0;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn batch_checks_are_spaced_but_never_dropped() {
        let mut closer = BatchCloser::default();
        assert_eq!(closer.due_in(), None, "nothing completed, nothing to check");
        closer.pending = true;
        assert_eq!(closer.due_in(), Some(Duration::ZERO), "the first check is at once");
        closer.last = Some(tokio::time::Instant::now());
        let wait = closer.due_in().expect("still pending");
        assert!(wait > Duration::ZERO && wait <= CLOSE_GAP, "{wait:?}");
        closer.last = Some(tokio::time::Instant::now() - CLOSE_GAP);
        assert_eq!(closer.due_in(), Some(Duration::ZERO));
    }

    #[test]
    fn a_job_started_and_completed_in_one_batch_needs_no_start() {
        let mut events = vec![
            Event::Started(1, 1),
            Event::Started(2, 1),
            Event::Completed(1, 1),
            Event::Started(3, 2),
            Event::Completed(4, 1),
        ];
        let (done, _written) = oneshot::channel();
        events.push(Event::Flush(done));
        let out = split(&mut events);
        assert_eq!(out.started, vec![(2, 1), (3, 2)]);
        assert_eq!(out.completed, vec![(1, 1), (4, 1)]);
        assert_eq!(out.flushes.len(), 1);
        assert!(events.is_empty());
    }
}
