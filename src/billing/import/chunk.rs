//! The state of a run and the application of rows in chunks: counts and
//! notes, the keys that make each row count once, one transaction per chunk.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{reason, ImportError, ImportProgress, ImportReport, ImportStatus, RowNote, StoredNote, MAX_LISTED};
use crate::billing::sql::imports as sql;
use crate::billing::BillingError;
use crate::store::{Store, Tx};

#[derive(Default)]
pub(crate) struct Tally {
    pub total: u64,
    pub done: u64,
    pub imported: u64,
    pub skipped: u64,
    pub bad_rows: u64,
    pub skips: Vec<RowNote>,
    pub errors: Vec<RowNote>,
}

/// The counts of a tally before a chunk, to go back to if the chunk rolls back.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    imported: u64,
    skipped: u64,
    skips: usize,
}

impl Tally {
    pub fn skip(&mut self, line: u64, reason: impl Into<String>) {
        self.skipped += 1;
        if self.skips.len() < MAX_LISTED {
            self.skips.push(RowNote {
                line,
                message: reason.into(),
            });
        }
    }

    pub fn error(&mut self, line: u64, message: impl Into<String>) {
        self.bad_rows += 1;
        if self.errors.len() < MAX_LISTED {
            self.errors.push(RowNote {
                line,
                message: message.into(),
            });
        }
    }

    pub fn mark(&self) -> Mark {
        Mark {
            imported: self.imported,
            skipped: self.skipped,
            skips: self.skips.len(),
        }
    }

    pub fn rewind(&mut self, m: Mark) {
        self.imported = m.imported;
        self.skipped = m.skipped;
        self.skips.truncate(m.skips);
    }

    pub(super) fn counts(&self) -> sql::Counts {
        sql::Counts {
            total: self.total as i64,
            imported: self.imported as i64,
            skipped: self.skipped as i64,
        }
    }

    pub(super) fn notes(&self) -> Vec<StoredNote> {
        let mut notes: Vec<StoredNote> = Vec::new();
        if self.bad_rows > 0 {
            notes.push(StoredNote {
                line: None,
                error: Some(format!(
                    "{} ligne{} en erreur : {}",
                    self.bad_rows,
                    if self.bad_rows > 1 { "s" } else { "" },
                    if self.done == 0 {
                        "rien n'a été importé"
                    } else {
                        "les lignes d'avant ont été importées"
                    }
                )),
                skipped: None,
            });
        }
        let errors = self.errors.iter().map(|n| StoredNote {
            line: Some(n.line),
            error: Some(n.message.clone()),
            skipped: None,
        });
        let skips = self.skips.iter().map(|n| StoredNote {
            line: Some(n.line),
            error: None,
            skipped: Some(n.message.clone()),
        });
        notes.extend(errors.chain(skips));
        notes
    }

    pub(super) fn report(&self, import_id: i64, status: ImportStatus) -> ImportReport {
        ImportReport {
            import_id,
            status,
            total: self.total,
            imported: self.imported,
            skipped: self.skipped,
            bad_rows: self.bad_rows,
            skips: self.skips.clone(),
            errors: self.errors.clone(),
        }
    }
}

/// A row ready to apply, with the key that guards it.
pub(crate) struct Pending<T> {
    pub line: u64,
    pub key: String,
    pub item: T,
}

/// What the keys already recorded say about a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Never imported: apply it.
    New,
    /// Applied by an earlier, interrupted run of this same import.
    Resumed,
    /// The same row as an earlier line of this file.
    Duplicate(u64),
    /// Imported by another import.
    Taken(i64),
}

/// The state of one run.
pub(crate) struct Ctx<'a> {
    pub store: &'a Store,
    pub import_id: i64,
    pub tally: Tally,
    /// Keys met in this run (a hash of each) and the line that had them first.
    seen: HashMap<u128, u64>,
    progress: &'a mut (dyn FnMut(ImportProgress) + Send),
}

fn key_hash(key: &str) -> u128 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, import_id: i64, progress: &'a mut (dyn FnMut(ImportProgress) + Send)) -> Ctx<'a> {
        Ctx {
            store,
            import_id,
            tally: Tally::default(),
            seen: HashMap::new(),
            progress,
        }
    }

    /// Classifies the rows of a chunk by their keys, inside the chunk's transaction.
    pub async fn classify<T>(&mut self, tx: &mut Tx, chunk: &[Pending<T>]) -> Result<Vec<Claim>, ImportError> {
        let mut claims = vec![Claim::New; chunk.len()];
        let mut lookup: Vec<&str> = Vec::with_capacity(chunk.len());
        for (claim, p) in claims.iter_mut().zip(chunk) {
            match *self.seen.entry(key_hash(&p.key)).or_insert(p.line) {
                first if first != p.line => *claim = Claim::Duplicate(first),
                _ => lookup.push(&p.key),
            }
        }
        let holders: HashMap<String, i64> = sql::key_holders(tx, &lookup).await?.into_iter().collect();
        for (claim, p) in claims.iter_mut().zip(chunk) {
            if *claim == Claim::New {
                if let Some(&holder) = holders.get(&p.key) {
                    *claim = if holder == self.import_id {
                        Claim::Resumed
                    } else {
                        Claim::Taken(holder)
                    };
                }
            }
        }
        Ok(claims)
    }

    /// Counts a row that is not applied because of its claim.
    pub fn settle(&mut self, line: u64, claim: Claim) {
        match claim {
            Claim::New => {}
            Claim::Resumed => self.tally.imported += 1,
            Claim::Duplicate(first) => self.tally.skip(line, format!("identique à la ligne {first}")),
            Claim::Taken(by) => self.tally.skip(line, format!("déjà importée (import n° {by})")),
        }
    }

    /// Records the keys of the rows applied and commits the chunk. `false`
    /// when another import recorded one of the keys meanwhile: the chunk
    /// rolled back and must be done again.
    pub async fn commit_chunk(
        &mut self,
        mut tx: Tx,
        entity: &str,
        applied: &[(String, i64)],
        rows: usize,
    ) -> Result<bool, ImportError> {
        let inserted = sql::insert_keys(&mut tx, entity, self.import_id, applied).await?;
        if inserted != applied.len() as u64 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.tally.done += rows as u64;
        sql::set_counts(&mut tx, self.import_id, &self.tally.counts()).await?;
        tx.commit().await?;
        (self.progress)(ImportProgress {
            done: self.tally.done,
            total: self.tally.total,
        });
        tokio::task::yield_now().await;
        Ok(true)
    }

    /// A row that could not be applied although pass one accepted it (the
    /// database changed meanwhile): the chunk rolls back and the run stops.
    pub async fn row_failed(&mut self, tx: Tx, mark: Mark, line: u64, e: BillingError) -> Result<(), ImportError> {
        tx.rollback().await?;
        self.tally.rewind(mark);
        match e {
            BillingError::Store(e) => Err(ImportError::Store(e)),
            other => {
                let message = if self.tally.done == 0 {
                    reason(other)
                } else {
                    format!(
                        "{} (les lignes d'avant ce lot ont été importées ; relancez l'import pour le reste)",
                        reason(other)
                    )
                };
                self.tally.error(line, message);
                Ok(())
            }
        }
    }
}

/// How many times a chunk is tried when other imports write the same keys.
pub(crate) const CHUNK_ATTEMPTS: usize = 3;
