//! `verify-book`: the livre de recettes checked against itself, its closures
//! and the book's key, naming each thing found. What it catches: a line
//! changed (its hash), a chain recomputed after a change (the signatures,
//! which need the key), a line deleted in the middle (the numbering and
//! the chain) or at the end (the book's counter and every closure that
//! covered it), a line inserted (its signature; one dated in a closed period
//! after the closure), a closure changed, deleted or re-signed with another
//! key (their chain, hashes and signatures), totals that no longer add up.

use serde::Serialize;

use super::closures::{self, body_of, closure_hash, Closure};
use super::error::BillingError;
use super::revenue_book::{line_hash, BookLine, GENESIS};
use super::seal::PublicKey;
use crate::billing::sql::revenue_book as sql;
use crate::store::Store;

/// One thing found, in French, with the line or closure it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub line: Option<i64>,
    pub closure: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    pub lines_checked: i64,
    pub closures_checked: i64,
    /// The key the book was checked with (hex) and its fingerprint.
    pub public_key: String,
    pub fingerprint: String,
    /// The newest closure, which anchors the book up to its line.
    pub last_closure: Option<Closure>,
    /// Lines entered after the last closure: signed, not yet closed.
    pub lines_after_last_closure: i64,
    pub findings: Vec<Finding>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }

    /// One sentence for a refusal: the first finding and how many others.
    pub fn summary(&self) -> String {
        match self.findings.as_slice() {
            [] => format!(
                "livre de recettes intact : {} ligne(s), {} clôture(s) vérifiées",
                self.lines_checked, self.closures_checked
            ),
            [one] => format!("livre de recettes altéré : {}", one.message),
            [first, rest @ ..] => format!(
                "livre de recettes altéré : {} (et {} autre(s) anomalie(s))",
                first.message,
                rest.len()
            ),
        }
    }
}

fn at_line(seq: i64, message: String) -> Finding {
    Finding {
        line: Some(seq),
        closure: None,
        message,
    }
}

fn at_closure(number: i64, message: String) -> Finding {
    Finding {
        line: None,
        closure: Some(number),
        message,
    }
}

/// Checks the whole book with `key` (the book's key: the one attached to the
/// store, or the public key printed on an export).
#[tracing::instrument(skip_all)]
pub async fn verify_with(store: &Store, key: PublicKey) -> Result<Verification, BillingError> {
    let lines = sql::all_by_seq(store).await?;
    let counter = sql::counter(store).await?;
    let closures = closures::all(store).await?;
    // Lines written before the book was sealed carry no signature: the first
    // closure pins them; past it, every line must be signed.
    let sealed_from = closures.first().map(|c| c.book_seq);
    let mut findings = check_lines(&lines, counter, &key, sealed_from);
    findings.extend(check_head(&lines, sql::head(store).await?, &key));
    findings.extend(check_closures(&closures, &lines, &key));
    let last_closure = closures.last().cloned();
    let sealed_through = last_closure.as_ref().map_or(0, |c| c.book_seq);
    Ok(Verification {
        lines_checked: lines.len() as i64,
        closures_checked: closures.len() as i64,
        public_key: key.hex(),
        fingerprint: key.fingerprint(),
        lines_after_last_closure: lines.iter().filter(|l| l.seq > sealed_through).count() as i64,
        last_closure,
        findings,
    })
}

/// Checks the book with the key attached to the store.
pub async fn verify(store: &Store) -> Result<Verification, BillingError> {
    let key = super::seal::key_of(store)?;
    verify_with(store, key.public()).await
}

/// The lines: numbering, chain, content, signature; then the end of the book
/// against its counter. An unsigned line passes only as one written before
/// the book was sealed: before any signed line, and within the first
/// closure (`unsigned_through`) once there is one, which pins its content.
pub fn check_lines(lines: &[BookLine], counter: i64, key: &PublicKey, unsigned_through: Option<i64>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut expected_seq = 1;
    let mut previous_hash = GENESIS.to_string();
    let mut signed_seen = false;
    for l in lines {
        if l.seq > expected_seq {
            let missing = if l.seq == expected_seq + 1 {
                format!("la ligne n° {expected_seq} manque (supprimée)")
            } else {
                format!("les lignes n° {expected_seq} à {} manquent (supprimées)", l.seq - 1)
            };
            findings.push(at_line(expected_seq, missing));
        } else if l.prev_hash != previous_hash {
            findings.push(at_line(
                l.seq,
                format!(
                    "la ligne n° {} n'est plus chaînée à la précédente (chaîne rompue)",
                    l.seq
                ),
            ));
        }
        if line_hash(l.seq, &l.line, &l.prev_hash) != l.hash {
            findings.push(at_line(
                l.seq,
                format!("la ligne n° {} ne correspond plus à son empreinte (modifiée)", l.seq),
            ));
        }
        match &l.signature {
            Some(signature) => {
                signed_seen = true;
                if !key.verifies(l.hash.as_bytes(), signature) {
                    findings.push(at_line(
                        l.seq,
                        format!(
                            "la signature de la ligne n° {} ne correspond pas à la clé du livre (ligne réécrite ou insérée sans la clé)",
                            l.seq
                        ),
                    ));
                }
            }
            None if signed_seen || unsigned_through.is_some_and(|through| l.seq > through) => findings.push(at_line(
                l.seq,
                format!("la ligne n° {} n'est pas signée (insérée sans la clé du livre)", l.seq),
            )),
            // Written before the book was sealed (migration 0009): its first closure seals it.
            None => {}
        }
        expected_seq = l.seq + 1;
        previous_hash = l.hash.clone();
    }
    let last = lines.last().map_or(0, |l| l.seq);
    if counter > last {
        let missing = if counter == last + 1 {
            format!("la ligne n° {counter} manque en fin de livre (le compteur du livre en a numéroté {counter})")
        } else {
            format!(
                "les lignes n° {} à {counter} manquent en fin de livre (le compteur du livre en a numéroté {counter})",
                last + 1
            )
        };
        findings.push(at_line(last + 1, missing));
    } else if counter < last {
        findings.push(at_line(
            last,
            format!("le compteur du livre ({counter}) est en retard sur sa dernière ligne (n° {last}) : ligne ajoutée hors de l'application"),
        ));
    }
    findings
}

/// The end of the book against its signed head (written at each line since
/// the seal): a line deleted at the end, even with the counter put back, or
/// added after it, is named.
pub fn check_head(lines: &[BookLine], head: Option<(i64, String, String)>, key: &PublicKey) -> Vec<Finding> {
    let last = lines.last();
    let Some((seq, hash, signature)) = head else {
        return match lines.iter().rev().find(|l| l.signature.is_some()) {
            Some(l) => vec![at_line(
                l.seq,
                "la tête signée du livre manque (supprimée) : la fin du livre n'est plus garantie".to_string(),
            )],
            // A book written before the seal: no head until its next line.
            None => Vec::new(),
        };
    };
    if !key.verifies(super::revenue_book::head_message(seq, &hash).as_bytes(), &signature) {
        return vec![at_line(
            seq,
            "la tête du livre ne porte pas la signature de la clé du livre (réécrite)".to_string(),
        )];
    }
    let last_seq = last.map_or(0, |l| l.seq);
    if seq > last_seq {
        let missing = if seq == last_seq + 1 {
            format!("la ligne n° {seq} manque en fin de livre (la tête signée du livre s'arrête à la ligne n° {seq})")
        } else {
            format!(
                "les lignes n° {} à {seq} manquent en fin de livre (la tête signée du livre s'arrête à la ligne n° {seq})",
                last_seq + 1
            )
        };
        return vec![at_line(last_seq + 1, missing)];
    }
    if seq < last_seq {
        return vec![at_line(
            seq + 1,
            format!("des lignes suivent la ligne n° {seq}, où s'arrête la tête signée du livre : ajoutées hors de l'application"),
        )];
    }
    match lines.iter().find(|l| l.seq == seq) {
        Some(l) if l.hash != hash => vec![at_line(
            seq,
            format!("la ligne n° {seq} n'est plus celle que la tête signée du livre a scellée"),
        )],
        _ => Vec::new(),
    }
}

/// The closures: numbering, chain, content, signature, key; each against the
/// lines it covers (the line it stops at, its counts and totals); and no line
/// dated in a closed period entered after its closure.
pub fn check_closures(closures: &[Closure], lines: &[BookLine], key: &PublicKey) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut expected = 1;
    let mut previous_hash = GENESIS.to_string();
    let last_seq = lines.last().map_or(0, |l| l.seq);
    for c in closures {
        let n = c.number;
        if n > expected {
            findings.push(at_closure(
                expected,
                if n == expected + 1 {
                    format!("la clôture n° {expected} manque (supprimée)")
                } else {
                    format!("les clôtures n° {expected} à {} manquent (supprimées)", n - 1)
                },
            ));
        } else if c.prev_hash != previous_hash {
            findings.push(at_closure(
                n,
                format!("la clôture n° {n} n'est plus chaînée à la précédente"),
            ));
        }
        if let Some(problem) = closure_seal_problem(c, key) {
            findings.push(at_closure(n, problem));
        }
        findings.extend(check_coverage(c, lines, last_seq));
        expected = n + 1;
        previous_hash = c.hash.clone();
    }
    findings
}

/// What is wrong with closure `c` by itself, if anything: its hash no
/// longer matches what it says, or it is not signed by `key`. (Its place in
/// the chain and the lines it covers are the caller's to check.)
pub fn closure_seal_problem(c: &Closure, key: &PublicKey) -> Option<String> {
    let n = c.number;
    let body = super::closures::ClosureBody {
        kind: c.kind,
        period_start: c.period_start,
        period_end: c.period_end,
        book_seq: c.book_seq,
        book_hash: c.book_hash.clone(),
        line_count: c.line_count,
        totals_json: c.totals_json.clone(),
    };
    if closure_hash(n, &body, &c.prev_hash, &c.public_key) != c.hash {
        Some(format!("la clôture n° {n} ({}) a été modifiée", c.label()))
    } else if c.public_key != key.hex() {
        Some(format!(
            "la clôture n° {n} est signée par une autre clé que celle du livre"
        ))
    } else if !key.verifies(c.hash.as_bytes(), &c.signature) {
        Some(format!(
            "la signature de la clôture n° {n} ne correspond pas à la clé du livre"
        ))
    } else {
        None
    }
}

fn check_coverage(c: &Closure, lines: &[BookLine], last_seq: i64) -> Vec<Finding> {
    let n = c.number;
    let mut findings = Vec::new();
    if c.book_seq > 0 {
        match lines.iter().find(|l| l.seq == c.book_seq) {
            None if c.book_seq > last_seq => findings.push(at_line(
                c.book_seq,
                format!(
                    "la ligne n° {} manque en fin de livre : la clôture n° {n} ({}) l'a scellée",
                    c.book_seq,
                    c.label()
                ),
            )),
            None => {} // a gap, already named with the lines
            Some(l) if l.hash != c.book_hash => findings.push(at_closure(
                n,
                format!(
                    "la ligne n° {} n'est plus celle que la clôture n° {n} ({}) a scellée : chaîne recalculée",
                    c.book_seq,
                    c.label()
                ),
            )),
            Some(_) => {}
        }
    }
    let covered: Vec<BookLine> = lines.iter().filter(|l| l.seq <= c.book_seq).cloned().collect();
    let recomputed = body_of(c.kind, c.period_start, c.period_end, &covered);
    if recomputed.line_count != c.line_count || recomputed.totals_json != c.totals_json {
        findings.push(at_closure(
            n,
            format!(
                "les recettes de la {} ne correspondent plus à sa clôture n° {n} ({} ligne(s) scellées, {} aujourd'hui)",
                c.label(),
                c.line_count,
                recomputed.line_count
            ),
        ));
    }
    for late in lines
        .iter()
        .filter(|l| l.seq > c.book_seq && l.line.received_on <= c.period_end && l.line.received_on >= c.period_start)
    {
        findings.push(at_line(
            late.seq,
            format!(
                "la ligne n° {} est datée du {} mais a été entrée après la clôture n° {n} ({})",
                late.seq,
                late.line.received_on.format("%d/%m/%Y"),
                c.label()
            ),
        ));
    }
    findings
}
