//! Which backups the periodic job keeps, the way restic's `forget
//! --keep-daily 7 --keep-weekly 4 --keep-monthly 12` does: going from the
//! newest, the newest backup of each of the last 7 days that have one, of the
//! last 4 ISO weeks and of the last 12 months (`COMPTOIR_BACKUP_KEEP=7,4,12`).
//! Only files named like a backup are ever considered; anything else in the
//! directory (the archives, the operator's own files) is left alone.
//!
//! Written here rather than taken from a crate: the rule is a few lines over
//! file names this module defines, and no maintained crate does only this.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Utc};

use super::backup::time_of;
use super::KeepingError;

/// A day, an ISO week or a month: (year, number, day or 0).
type Bucket = (i32, u32, u32);

/// How many days, weeks and months of backups are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// The environment variable that sets the policy: `days,weeks,months`.
pub const KEEP_ENV: &str = "COMPTOIR_BACKUP_KEEP";

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            daily: 7,
            weekly: 4,
            monthly: 12,
        }
    }
}

impl Policy {
    /// `7,4,12` → 7 days, 4 weeks, 12 months.
    pub fn parse(text: &str) -> Result<Policy, KeepingError> {
        let bad = || {
            KeepingError::Refused(format!(
                "{KEEP_ENV}={text:?} : attendu « jours,semaines,mois », par exemple 7,4,12 (au moins une sauvegarde gardée)"
            ))
        };
        let parts: Vec<usize> = text
            .split(',')
            .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        match parts.as_slice() {
            [daily, weekly, monthly] if daily + weekly + monthly > 0 => Ok(Policy {
                daily: *daily,
                weekly: *weekly,
                monthly: *monthly,
            }),
            _ => Err(bad()),
        }
    }

    pub fn from_env() -> Result<Policy, KeepingError> {
        match std::env::var(KEEP_ENV) {
            Ok(text) if !text.trim().is_empty() => Policy::parse(&text),
            _ => Ok(Policy::default()),
        }
    }

    /// Of `times` (any order), the ones kept.
    pub fn keep(&self, times: &[DateTime<Utc>]) -> BTreeSet<DateTime<Utc>> {
        let mut newest_first: Vec<DateTime<Utc>> = times.to_vec();
        newest_first.sort_by(|a, b| b.cmp(a));
        let mut kept = BTreeSet::new();
        let mut bucket = |count: usize, key: &dyn Fn(&DateTime<Utc>) -> Bucket| {
            let mut seen = BTreeSet::new();
            for t in &newest_first {
                if seen.len() == count {
                    break;
                }
                if seen.insert(key(t)) {
                    kept.insert(*t);
                }
            }
        };
        bucket(self.daily, &|t| (t.year(), t.month(), t.day()));
        bucket(self.weekly, &|t| {
            let week = t.iso_week();
            (week.year(), week.week(), 0)
        });
        bucket(self.monthly, &|t| (t.year(), t.month(), 0));
        kept
    }
}

/// Deletes the backups in `dir` the policy does not keep (never
/// `just_taken`); returns the files deleted.
pub fn apply(dir: &Path, policy: Policy, just_taken: &Path) -> Result<Vec<PathBuf>, KeepingError> {
    let mut backups: Vec<(PathBuf, DateTime<Utc>)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(KeepingError::io(dir))? {
        let entry = entry.map_err(KeepingError::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".zip") || !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        if let Some(time) = time_of(&name) {
            backups.push((entry.path(), time));
        }
    }
    let times: Vec<DateTime<Utc>> = backups.iter().map(|(_, t)| *t).collect();
    let kept = policy.keep(&times);
    let mut removed = Vec::new();
    // Two files of the same second keep or go together with their time; the
    // one just taken always stays.
    for (path, time) in backups {
        if kept.contains(&time) || path == just_taken {
            continue;
        }
        std::fs::remove_file(&path).map_err(KeepingError::io(&path))?;
        tracing::info!(file = %path.display(), "old backup deleted by the retention");
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 30, 0).unwrap()
    }

    #[test]
    fn a_year_of_nightly_backups_keeps_7_days_4_weeks_12_months() {
        // One backup every night at 02:30 from 2026-01-01 to 2026-12-07, plus a second on the last day.
        let mut times: Vec<DateTime<Utc>> = (0..341).map(|i| at(2026, 1, 1, 2) + Duration::days(i)).collect();
        times.push(at(2026, 12, 7, 14));
        let kept = Policy::default().keep(&times);
        let days: BTreeSet<_> = kept.iter().map(|t| t.date_naive()).collect();
        // The last 7 days (the 7th keeps only its newest), the Sundays of the 4 last ISO weeks
        // (the current one's newest is the 7th's), and the last of each of the 12 months
        // (December's is the 7th).
        let expected: BTreeSet<_> = [
            "2026-12-01",
            "2026-12-02",
            "2026-12-03",
            "2026-12-04",
            "2026-12-05",
            "2026-12-06",
            "2026-12-07",
            "2026-11-29",
            "2026-11-22", // weeks 48 and 47 (weeks 50 and 49 are in the days)
            "2026-11-30",
            "2026-10-31",
            "2026-09-30",
            "2026-08-31",
            "2026-07-31",
            "2026-06-30",
            "2026-05-31",
            "2026-04-30",
            "2026-03-31",
            "2026-02-28",
            "2026-01-31",
        ]
        .iter()
        .map(|d| d.parse::<chrono::NaiveDate>().unwrap())
        .collect();
        assert_eq!(days, expected);
        assert!(kept.contains(&at(2026, 12, 7, 14)));
        assert!(!kept.contains(&at(2026, 12, 7, 2)), "the 7th's earlier backup goes");
    }

    #[test]
    fn nothing_is_dropped_while_there_are_few() {
        let times: Vec<_> = (0..5).map(|i| at(2026, 12, 1, 2) + Duration::days(i)).collect();
        assert_eq!(Policy::default().keep(&times).len(), 5);
        assert_eq!(Policy::default().keep(&[]).len(), 0);
    }

    #[test]
    fn policies_parse_or_are_refused_in_french() {
        assert_eq!(
            Policy::parse("3, 2,1").unwrap(),
            Policy {
                daily: 3,
                weekly: 2,
                monthly: 1
            }
        );
        for bad in ["", "7,4", "0,0,0", "a,b,c", "7,4,12,1", "-1,4,12"] {
            let e = Policy::parse(bad).unwrap_err().to_string();
            assert!(e.contains("jours,semaines,mois"), "{bad}: {e}");
        }
    }

    #[test]
    fn only_backups_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "comptoir-backup-20261201T023000Z.zip",
            "comptoir-backup-20261202T023000Z.zip",
            "comptoir-backup-20261203T023000Z.zip",
            "comptoir-archive-2025.zip",
            "notes.zip",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), n).unwrap();
        }
        let policy = Policy {
            daily: 1,
            weekly: 0,
            monthly: 0,
        };
        let just = dir.path().join("comptoir-backup-20261202T023000Z.zip");
        let removed = apply(dir.path(), policy, &just).unwrap();
        assert_eq!(removed, vec![dir.path().join("comptoir-backup-20261201T023000Z.zip")]);
        for n in &names[1..] {
            assert!(dir.path().join(n).exists(), "{n}");
        }
    }
}
