//! The operator's time. Instants are stored in UTC; the admin shows them, and
//! reads the dates and times typed in it, in the operator's time zone:
//! `COMPTOIR_TIME_ZONE` (an IANA name), Europe/Paris by default.

use std::sync::OnceLock;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const ZONE_ENV: &str = "COMPTOIR_TIME_ZONE";
const DEFAULT: Tz = chrono_tz::Europe::Paris;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LocalTimeError {
    #[error("{0} n'existe pas à {1} : l'heure y a été avancée ce jour-là (passage à l'heure d'été)")]
    Skipped(NaiveDateTime, Tz),
    #[error("date hors limites : {0}")]
    OutOfRange(NaiveDate),
}

/// The operator's time zone, read once; an unknown name is said in the log
/// and Europe/Paris is used.
pub fn zone() -> Tz {
    static ZONE: OnceLock<Tz> = OnceLock::new();
    *ZONE.get_or_init(|| match std::env::var(ZONE_ENV) {
        Ok(name) if !name.trim().is_empty() => name.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(%name, "{ZONE_ENV}: unknown time zone, Europe/Paris used");
            DEFAULT
        }),
        _ => DEFAULT,
    })
}

/// `07/12/2026 17:27:05`, in the operator's time zone.
pub fn format_fr(t: DateTime<Utc>) -> String {
    t.with_timezone(&zone()).format("%d/%m/%Y %H:%M:%S").to_string()
}

/// `07/12/2026 17:27`, in the operator's time zone.
pub fn format_fr_minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&zone()).format("%d/%m/%Y %H:%M").to_string()
}

/// The value of a `datetime-local` input for `t` (`2026-12-07T17:27`).
pub fn input_value(t: DateTime<Utc>) -> String {
    t.with_timezone(&zone()).format("%Y-%m-%dT%H:%M").to_string()
}

/// A date and time typed in the operator's time zone, as an instant. A time
/// the clocks skipped (spring forward) is refused; one they passed twice
/// (autumn) is the first.
pub fn from_local(local: NaiveDateTime) -> Result<DateTime<Utc>, LocalTimeError> {
    in_zone(zone(), local)
}

fn in_zone(tz: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>, LocalTimeError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(LocalTimeError::Skipped(local, tz)),
    }
}

/// The first instant of `day` in the operator's time zone (midnight, or the
/// first hour that exists).
pub fn day_start(day: NaiveDate) -> Result<DateTime<Utc>, LocalTimeError> {
    let midnight = day.and_hms_opt(0, 0, 0).ok_or(LocalTimeError::OutOfRange(day))?;
    (0..3)
        .find_map(|h| in_zone(zone(), midnight + chrono::TimeDelta::hours(h)).ok())
        .ok_or(LocalTimeError::OutOfRange(day))
}

/// `t`'s hour in the operator's time zone (0 to 23), for a chart's labels.
pub fn hour_of(t: DateTime<Utc>) -> u32 {
    use chrono::Timelike;
    t.with_timezone(&zone()).hour()
}

/// A time of day in UTC (a periodic job's slot) as the operator reads it
/// today: 02:30 UTC is "03:30" in Paris in winter, "04:30" in summer.
pub fn utc_time_of_day(hour: u32, minute: u32) -> String {
    let today = Utc::now().date_naive();
    match today.and_hms_opt(hour, minute, 0) {
        Some(t) => t.and_utc().with_timezone(&zone()).format("%H:%M").to_string(),
        None => format!("{hour:02}:{minute:02} UTC"),
    }
}

/// The zone's name, for the pages that say which it is.
pub fn zone_name() -> &'static str {
    zone().name()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn paris_winter_summer_and_the_changes() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            in_zone(paris, local("2026-12-07T17:30")).unwrap().to_rfc3339(),
            "2026-12-07T16:30:00+00:00"
        );
        assert_eq!(
            in_zone(paris, local("2026-07-01T08:00")).unwrap().to_rfc3339(),
            "2026-07-01T06:00:00+00:00"
        );
        // 29 March 2026, 02:30 does not exist in Paris.
        assert!(matches!(
            in_zone(paris, local("2026-03-29T02:30")),
            Err(LocalTimeError::Skipped(..))
        ));
        // 25 October 2026, 02:30 happens twice: the first (summer time).
        assert_eq!(
            in_zone(paris, local("2026-10-25T02:30")).unwrap().to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn shown_in_paris() {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 16, 27, 5).unwrap();
        assert_eq!(format_fr(t), "07/12/2026 17:27:05");
        assert_eq!(input_value(t), "2026-12-07T17:27");
        assert_eq!(hour_of(t), 17);
    }
}
