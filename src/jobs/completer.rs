//! Batches completions: whatever finished while the previous batch was being
//! written goes out in the next single statement. Under load this turns
//! thousands of commits into a few dozen; when idle a completion is written at
//! once.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::Store;

const MAX_BATCH: usize = 2_000;

#[derive(Clone)]
pub(crate) struct Completer {
    tx: mpsc::UnboundedSender<(i64, i32)>,
}

impl Completer {
    /// Starts the writer task; it ends once every `Completer` clone is dropped
    /// and the last batch is written.
    pub fn spawn(store: Store) -> (Completer, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Completer { tx }, tokio::spawn(run(store, rx)))
    }

    pub fn send(&self, id: i64, attempt: i32) {
        // The receiver lives until every sender is gone.
        let _ = self.tx.send((id, attempt));
    }
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<(i64, i32)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut wait = Duration::from_millis(50);
        let mut tries = 0;
        loop {
            match store.complete_jobs(&batch).await {
                Ok(_) => break,
                Err(e) if tries < 20 => {
                    tries += 1;
                    tracing::error!(error = %e, count = batch.len(), "cannot record completions; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    // Their leases expire and the jobs run again: at least once.
                    tracing::error!(error = %e, count = batch.len(), "giving up recording completions");
                    break;
                }
            }
        }
        batch.clear();
    }
}
