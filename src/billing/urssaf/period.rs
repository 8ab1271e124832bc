//! Declaration periods: a month or a quarter, its deadline and its status.
//! URSSAF's deadline is the last day of the month after the period: a month
//! is declared by the end of the next one; a quarter by 30 April, 31 July,
//! 31 October or 31 January of the next year.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::billing::dates::EARLIEST;
use crate::billing::error::{invalid, BillingError};
use crate::text;

/// How often the seller declares (chosen at registration, changeable each year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeclarationFrequency {
    Monthly,
    #[default]
    Quarterly,
}

impl DeclarationFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationFrequency::Monthly => "monthly",
            DeclarationFrequency::Quarterly => "quarterly",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            DeclarationFrequency::Monthly => "mensuelle",
            DeclarationFrequency::Quarterly => "trimestrielle",
        }
    }

    pub fn parse(s: &str) -> Result<DeclarationFrequency, BillingError> {
        match s.trim() {
            "monthly" => Ok(DeclarationFrequency::Monthly),
            "quarterly" => Ok(DeclarationFrequency::Quarterly),
            other => Err(invalid(
                "declaration_frequency",
                text!(
                    "« {value} » : mensuelle (monthly) ou trimestrielle (quarterly)",
                    value = other
                ),
            )),
        }
    }
}

/// A period of declaration. Built only through [`DeclarationPeriod::parse`]
/// or [`DeclarationPeriod::containing`], so its month or quarter is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeclarationPeriod {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
}

/// Where a period stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationStatus {
    /// The period has not ended: nothing to declare yet.
    InProgress,
    /// Ended, deadline not passed.
    ToDeclare,
    /// The deadline has passed.
    Overdue,
}

impl DeclarationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclarationStatus::InProgress => "in_progress",
            DeclarationStatus::ToDeclare => "to_declare",
            DeclarationStatus::Overdue => "overdue",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            DeclarationStatus::InProgress => "en cours",
            DeclarationStatus::ToDeclare => "à déclarer",
            DeclarationStatus::Overdue => "échéance passée",
        }
    }
}

/// The first of `month` (1–12) of `year`; years are kept within
/// 2000..=9999 by every constructor, so the date exists.
fn first_of(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(EARLIEST)
}

/// The last day of the month of `day`.
fn end_of_month(day: NaiveDate) -> NaiveDate {
    first_of(day.year(), day.month())
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(day)
}

impl DeclarationPeriod {
    /// `2026-Q3` (or `2026-T3`) for a quarter, `2026-11` for a month.
    pub fn parse(text: &str) -> Result<DeclarationPeriod, BillingError> {
        let t = text.trim();
        let bad = || {
            invalid(
                "period",
                text!(
                    "« {text} » n'est ni un trimestre (2026-Q3) ni un mois (2026-11)",
                    text = t
                ),
            )
        };
        let (year, rest) = t.split_once('-').ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        if !(EARLIEST.year()..=9999).contains(&year) {
            return Err(bad());
        }
        match rest.strip_prefix(['Q', 'T', 'q', 't']) {
            Some(q) => match q.parse::<u32>() {
                Ok(quarter @ 1..=4) if q.len() == 1 => Ok(DeclarationPeriod::Quarter { year, quarter }),
                _ => Err(bad()),
            },
            None => match rest.parse::<u32>() {
                Ok(month @ 1..=12) if rest.len() == 2 => Ok(DeclarationPeriod::Month { year, month }),
                _ => Err(bad()),
            },
        }
    }

    /// The period of `frequency` that holds `day`.
    pub fn containing(frequency: DeclarationFrequency, day: NaiveDate) -> DeclarationPeriod {
        let year = day.year().clamp(EARLIEST.year(), 9999);
        match frequency {
            DeclarationFrequency::Monthly => DeclarationPeriod::Month {
                year,
                month: day.month(),
            },
            DeclarationFrequency::Quarterly => DeclarationPeriod::Quarter {
                year,
                quarter: (day.month() - 1) / 3 + 1,
            },
        }
    }

    /// The last period of `frequency` that has ended on `today`.
    pub fn last_ended(frequency: DeclarationFrequency, today: NaiveDate) -> DeclarationPeriod {
        let current = DeclarationPeriod::containing(frequency, today);
        let before = current.first_day().pred_opt().unwrap_or(current.first_day());
        DeclarationPeriod::containing(frequency, before)
    }

    /// Every period of `frequency` in `year`, in order.
    pub fn of_year(frequency: DeclarationFrequency, year: i32) -> Vec<DeclarationPeriod> {
        match frequency {
            DeclarationFrequency::Monthly => (1..=12).map(|month| DeclarationPeriod::Month { year, month }).collect(),
            DeclarationFrequency::Quarterly => (1..=4)
                .map(|quarter| DeclarationPeriod::Quarter { year, quarter })
                .collect(),
        }
    }

    pub fn frequency(self) -> DeclarationFrequency {
        match self {
            DeclarationPeriod::Month { .. } => DeclarationFrequency::Monthly,
            DeclarationPeriod::Quarter { .. } => DeclarationFrequency::Quarterly,
        }
    }

    pub fn year(self) -> i32 {
        match self {
            DeclarationPeriod::Month { year, .. } | DeclarationPeriod::Quarter { year, .. } => year,
        }
    }

    /// `2026-Q3`, `2026-11`.
    pub fn key(self) -> String {
        match self {
            DeclarationPeriod::Month { year, month } => format!("{year}-{month:02}"),
            DeclarationPeriod::Quarter { year, quarter } => format!("{year}-Q{quarter}"),
        }
    }

    /// `3e trimestre 2026`, `novembre 2026`.
    pub fn label(self) -> String {
        match self {
            DeclarationPeriod::Month { year, month } => {
                format!("{} {year}", crate::billing::dates::month_fr(month))
            }
            DeclarationPeriod::Quarter { year, quarter: 1 } => format!("1er trimestre {year}"),
            DeclarationPeriod::Quarter { year, quarter } => format!("{quarter}e trimestre {year}"),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        match self {
            DeclarationPeriod::Month { year, month } => first_of(year, month),
            DeclarationPeriod::Quarter { year, quarter } => first_of(year, (quarter - 1) * 3 + 1),
        }
    }

    pub fn last_day(self) -> NaiveDate {
        match self {
            DeclarationPeriod::Month { .. } => end_of_month(self.first_day()),
            DeclarationPeriod::Quarter { year, quarter } => end_of_month(first_of(year, quarter * 3)),
        }
    }

    /// The last day to declare and pay: the end of the month after the period.
    pub fn deadline(self) -> NaiveDate {
        let next = self.last_day().succ_opt().unwrap_or(self.last_day());
        end_of_month(next)
    }

    pub fn status(self, today: NaiveDate) -> DeclarationStatus {
        if today <= self.last_day() {
            DeclarationStatus::InProgress
        } else if today <= self.deadline() {
            DeclarationStatus::ToDeclare
        } else {
            DeclarationStatus::Overdue
        }
    }
}

impl std::fmt::Display for DeclarationPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_parse_and_print() {
        let q3 = DeclarationPeriod::parse("2026-Q3").unwrap();
        assert_eq!(q3, DeclarationPeriod::Quarter { year: 2026, quarter: 3 });
        assert_eq!(DeclarationPeriod::parse(" 2026-T3 ").unwrap(), q3);
        assert_eq!((q3.key(), q3.label()), ("2026-Q3".into(), "3e trimestre 2026".into()));
        let nov = DeclarationPeriod::parse("2026-11").unwrap();
        assert_eq!((nov.key(), nov.label()), ("2026-11".into(), "novembre 2026".into()));
        assert_eq!(
            DeclarationPeriod::parse("2026-Q1").unwrap().label(),
            "1er trimestre 2026"
        );
        for bad in [
            "2026", "2026-Q5", "2026-Q0", "2026-13", "2026-1", "1999-01", "2026-Q12", "x-01", "",
        ] {
            assert!(DeclarationPeriod::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn quarterly_deadlines_are_the_end_of_the_next_month() {
        let deadlines: Vec<NaiveDate> = DeclarationPeriod::of_year(DeclarationFrequency::Quarterly, 2026)
            .into_iter()
            .map(DeclarationPeriod::deadline)
            .collect();
        assert_eq!(
            deadlines,
            [d(2026, 4, 30), d(2026, 7, 31), d(2026, 10, 31), d(2027, 1, 31)]
        );
        let q4 = DeclarationPeriod::parse("2026-Q4").unwrap();
        assert_eq!((q4.first_day(), q4.last_day()), (d(2026, 10, 1), d(2026, 12, 31)));
    }

    #[test]
    fn monthly_deadlines_are_the_last_day_of_the_following_month() {
        let p = |s| DeclarationPeriod::parse(s).unwrap();
        assert_eq!(p("2026-01").deadline(), d(2026, 2, 28));
        assert_eq!(p("2028-01").deadline(), d(2028, 2, 29));
        assert_eq!(p("2026-02").deadline(), d(2026, 3, 31));
        assert_eq!(p("2026-03").deadline(), d(2026, 4, 30));
        assert_eq!(p("2026-12").deadline(), d(2027, 1, 31));
        assert_eq!(
            (p("2026-02").first_day(), p("2026-02").last_day()),
            (d(2026, 2, 1), d(2026, 2, 28))
        );
    }

    #[test]
    fn statuses_follow_the_period_end_and_the_deadline() {
        let q3 = DeclarationPeriod::parse("2026-Q3").unwrap();
        assert_eq!(q3.status(d(2026, 9, 30)), DeclarationStatus::InProgress);
        assert_eq!(q3.status(d(2026, 10, 1)), DeclarationStatus::ToDeclare);
        assert_eq!(q3.status(d(2026, 10, 31)), DeclarationStatus::ToDeclare);
        assert_eq!(q3.status(d(2026, 11, 1)), DeclarationStatus::Overdue);
    }

    #[test]
    fn the_last_ended_period() {
        use DeclarationFrequency::*;
        assert_eq!(
            DeclarationPeriod::last_ended(Quarterly, d(2026, 12, 7)).key(),
            "2026-Q3"
        );
        assert_eq!(DeclarationPeriod::last_ended(Quarterly, d(2026, 1, 1)).key(), "2025-Q4");
        assert_eq!(DeclarationPeriod::last_ended(Monthly, d(2026, 12, 7)).key(), "2026-11");
        assert_eq!(DeclarationPeriod::last_ended(Monthly, d(2026, 1, 31)).key(), "2025-12");
    }
}
