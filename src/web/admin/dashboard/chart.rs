//! The dashboard's bar chart of attempts per hour, laid out here and drawn
//! by the template as inline SVG (presentation attributes and CSS classes
//! only: the content policy forbids `style=`).

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::i18n::Lang;
use crate::store::types::HourlyAttempts;
use crate::text;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
/// Room for the y-axis labels on the left and the hours below.
const LEFT: f64 = 34.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 22.0;

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The y of the baseline and of the top of the scale.
    pub base_y: f64,
    pub top_y: f64,
    pub left: f64,
    /// The value at the top of the scale.
    pub max: i64,
    pub bars: Vec<Bar>,
    pub completed: i64,
    pub failed: i64,
    /// What a screen reader says, and the test reads.
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    /// The start of the hour, RFC 3339.
    pub hour: String,
    pub completed: i64,
    pub failed: i64,
    pub title: String,
    pub ok: Rect,
    pub bad: Rect,
    /// `14h` under every third hour, else empty.
    pub label: String,
    pub label_x: f64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// The `hours` hours from `first` (the start of an hour), each with its
/// completed and failed attempts from `data` (hours missing there are zero),
/// its words in `lang`.
pub fn build(first: DateTime<Utc>, hours: usize, data: &[HourlyAttempts], lang: Lang) -> Chart {
    let at = |i: usize| first + TimeDelta::hours(i as i64);
    let counts: Vec<(DateTime<Utc>, i64, i64)> = (0..hours)
        .map(|i| {
            let hour = at(i);
            let found = data.iter().find(|d| d.hour == hour);
            (hour, found.map_or(0, |d| d.completed), found.map_or(0, |d| d.failed))
        })
        .collect();
    let max = nice_max(counts.iter().map(|(_, c, f)| (*c).max(*f)).max().unwrap_or(0));
    let base_y = HEIGHT - BOTTOM;
    let plot_height = base_y - TOP;
    let slot = (WIDTH - LEFT) / hours.max(1) as f64;
    let bar_width = round1(slot * 0.4);
    let scale = |n: i64| round1(plot_height * n as f64 / max as f64);
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (hour, completed, failed))| {
            let x = LEFT + slot * i as f64 + slot * 0.1;
            let rect = |x: f64, n: i64| Rect {
                x: round1(x),
                y: round1(base_y - scale(n)),
                width: bar_width,
                height: scale(n),
            };
            Bar {
                hour: hour.to_rfc3339(),
                completed: *completed,
                failed: *failed,
                title: text!(
                    "{hour} : {completed} terminée(s), {failed} échec(s)",
                    hour = hour.with_timezone(&crate::local_time::zone()).format("%d/%m %Hh"),
                    completed = completed,
                    failed = failed
                )
                .in_lang(lang),
                ok: rect(x, *completed),
                bad: rect(x + bar_width, *failed),
                label: if crate::local_time::hour_of(*hour).is_multiple_of(3) {
                    format!("{}h", crate::local_time::hour_of(*hour))
                } else {
                    String::new()
                },
                label_x: round1(LEFT + slot * i as f64 + slot / 2.0),
            }
        })
        .collect();
    let completed: i64 = counts.iter().map(|(_, c, _)| c).sum();
    let failed: i64 = counts.iter().map(|(_, _, f)| f).sum();
    Chart {
        width: WIDTH,
        height: HEIGHT,
        base_y,
        top_y: TOP,
        left: LEFT,
        max,
        bars,
        completed,
        failed,
        summary: text!(
            "Tentatives par heure, {hours} dernières heures : {completed} terminée(s), {failed} échec(s)",
            hours = hours,
            completed = completed,
            failed = failed
        )
        .in_lang(lang),
    }
}

/// The top of the scale: at least 1, rounded up to 1, 2 or 5 × 10ⁿ.
fn nice_max(n: i64) -> i64 {
    if n <= 1 {
        return 1;
    }
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= n {
                return m * step;
            }
        }
        step *= 10;
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_missing_hours_are_zero() {
        let first = DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let data = [
            HourlyAttempts {
                hour: first + TimeDelta::hours(1),
                completed: 10,
                failed: 5,
            },
            HourlyAttempts {
                hour: first + TimeDelta::hours(3),
                completed: 0,
                failed: 2,
            },
            // Outside the chart: ignored.
            HourlyAttempts {
                hour: first - TimeDelta::hours(1),
                completed: 99,
                failed: 99,
            },
        ];
        let chart = build(first, 24, &data, Lang::Fr);
        assert_eq!(chart.bars.len(), 24);
        assert_eq!((chart.completed, chart.failed, chart.max), (10, 7, 10));
        let full = chart.base_y - chart.top_y;
        let b = &chart.bars[1];
        assert_eq!((b.completed, b.failed), (10, 5));
        assert_eq!(b.ok.height, full);
        assert_eq!(b.ok.y, chart.top_y);
        assert_eq!(b.bad.height, full / 2.0);
        assert_eq!(b.bad.y + b.bad.height, chart.base_y);
        assert!(b.bad.x > b.ok.x, "failures beside completions");
        assert_eq!(chart.bars[0].ok.height, 0.0);
        assert_eq!(chart.bars[3].bad.height, round1(full * 0.2));
        // Labels every third hour of Paris (09:00 UTC is 10h there: 12h, 15h, …).
        assert_eq!(chart.bars[0].label, "");
        assert_eq!(chart.bars[2].label, "12h");
        assert_eq!(chart.bars[5].label, "15h");
        assert!(
            chart.bars[1].title.starts_with("01/12 11h : 10 terminée(s)"),
            "{}",
            chart.bars[1].title
        );
        assert!(
            chart.summary.contains("10 terminée(s), 7 échec(s)"),
            "{}",
            chart.summary
        );
        let english = build(first, 24, &data, Lang::En);
        assert!(
            english.summary.contains("10 completed, 7 failed"),
            "{}",
            english.summary
        );
        assert!(!english.summary.contains("terminée"), "{}", english.summary);
        // Every bar stays inside the drawing.
        for b in &chart.bars {
            assert!(b.bad.x + b.bad.width <= chart.width, "{b:?}");
        }
    }

    #[test]
    fn scale_tops() {
        assert_eq!(
            [0, 1, 2, 3, 7, 10, 11, 180, 2001].map(nice_max),
            [1, 1, 2, 5, 10, 10, 20, 200, 5000]
        );
    }
}
