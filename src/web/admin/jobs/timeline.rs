//! A job's timeline, as its page tells it: created (by whom, when the audit
//! journal recorded it), each attempt with its start, end, duration and
//! error (from the job's error history, which records when each failed
//! attempt started and when its retry was due), the retries scheduled, the
//! operators' actions (from the audit journal), what comes next, and how it
//! finished.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::audit::AuditEntry;
use crate::i18n::{Lang, Text};
use crate::jobs::mask;
use crate::local_time::format_fr;
use crate::store::types::{JobRow, JobState};
use crate::text;

/// One line of the timeline.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Event {
    /// When it happened (or, for what comes next, when it is due).
    pub at: DateTime<Utc>,
    /// `created`, `operator`, `attempt`, `error`, `retry`, `next` or
    /// `finished`: the line's class, and the tests' handle.
    pub kind: &'static str,
    pub title: String,
    pub detail: Option<String>,
    /// An error, masked.
    pub error: Option<String>,
}

/// An audit entry and the error-history entry a cancel or a discard wrote
/// in the same transaction are one act: this close in time.
const SAME_ACT: TimeDelta = TimeDelta::seconds(2);

/// `job`'s timeline, oldest first, in `lang`; `audit` is what the journal
/// holds on it (target `job:{id}`), oldest first; `now` dates a running attempt.
pub(super) fn events(job: &JobRow, audit: &[AuditEntry], now: DateTime<Utc>, lang: Lang) -> Vec<Event> {
    let say = |t: Text| t.in_lang(lang);
    let mut out = Vec::new();

    // Created, by whoever asked for it if the journal says (an operator's
    // archive request…); the operators' actions on the job are lines of their own.
    let creator = audit.iter().find(|e| !e.action.starts_with("job."));
    out.push(Event {
        at: job.created_at,
        kind: "created",
        title: match creator {
            Some(e) => say(text!(
                "Créée dans la file « {queue} » par {who}",
                queue = job.queue,
                who = e.actor
            )),
            None => say(text!("Créée dans la file « {queue} »", queue = job.queue)),
        },
        detail: None,
        error: None,
    });

    let operator: Vec<&AuditEntry> = audit.iter().filter(|e| e.action.starts_with("job.")).collect();
    for e in &operator {
        let who = e.actor.as_str();
        let title = match e.action.as_str() {
            "job.retry" => text!("Relancée par {who}", who = who),
            "job.cancel" => text!("Annulée par {who}", who = who),
            "job.discard" => text!("Écartée par {who}", who = who),
            "job.reschedule" => match e.details["run_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            {
                Some(at) => text!(
                    "Reprogrammée par {who} pour le {at}",
                    who = who,
                    at = format_fr(at.with_timezone(&Utc))
                ),
                None => text!("Reprogrammée par {who}", who = who),
            },
            _ => continue,
        };
        let reason = e.details["reason"].as_str().filter(|r| !r.is_empty());
        out.push(Event {
            at: e.at,
            kind: "operator",
            title: say(title),
            detail: reason.map(|r| say(text!("Motif : {reason}", reason = mask::mask_text(r)))),
            error: None,
        });
    }
    // The reason a cancel or a discard wrote in the error history is said by its operator's line.
    let said_by_operator = |at: DateTime<Utc>| {
        operator
            .iter()
            .any(|e| matches!(e.action.as_str(), "job.cancel" | "job.discard") && (e.at - at).abs() <= SAME_ACT)
    };

    for e in &job.errors {
        match e.started_at {
            Some(started) => out.push(Event {
                at: started,
                kind: "attempt",
                title: say(text!("Tentative {n}", n = e.attempt)),
                detail: Some(say(text!(
                    "échec au bout de {duration}, le {end}",
                    duration = duration(e.at - started, lang),
                    end = format_fr(e.at)
                ))),
                error: Some(mask::mask_text(&e.error)),
            }),
            None if said_by_operator(e.at) => {}
            None => out.push(Event {
                at: e.at,
                kind: "error",
                title: if e.attempt == 0 {
                    say(text!("Motif enregistré"))
                } else {
                    say(text!("Erreur de la tentative {n}", n = e.attempt))
                },
                detail: None,
                error: Some(mask::mask_text(&e.error)),
            }),
        }
        if let Some(retry_at) = e.retry_at {
            out.push(Event {
                at: retry_at,
                kind: "retry",
                title: say(text!("Nouvelle tentative prévue")),
                detail: None,
                error: None,
            });
        }
    }

    // The attempt the error history does not hold: the one running or the one that succeeded.
    match (job.state, job.started_at) {
        (JobState::Running, Some(started)) => out.push(Event {
            at: started,
            kind: "attempt",
            title: say(text!("Tentative {n}", n = job.attempt)),
            detail: Some(say(text!(
                "en cours depuis {duration}",
                duration = duration(now - started, lang)
            ))),
            error: None,
        }),
        (JobState::Running, None) => out.push(Event {
            at: job.locked_at.unwrap_or(job.updated_at),
            kind: "attempt",
            title: say(text!("Tentative {n}", n = job.attempt)),
            detail: Some(say(text!(
                "réservée par {worker}, pas encore commencée",
                worker = job.locked_by.as_deref().unwrap_or("?")
            ))),
            error: None,
        }),
        (JobState::Completed, started) => {
            // A start is not written when the attempt ended within the same
            // batch of its worker's writes: its claim is when it started.
            let started = started.or(job.locked_at);
            let end = job.finished_at.unwrap_or(job.updated_at);
            out.push(Event {
                at: started.unwrap_or(end),
                kind: "attempt",
                title: say(text!("Tentative {n}", n = job.attempt)),
                detail: Some(match started {
                    Some(started) => say(text!(
                        "réussie en {duration}, le {end}",
                        duration = duration(end - started, lang),
                        end = format_fr(end)
                    )),
                    None => say(text!("réussie le {end}", end = format_fr(end))),
                }),
                error: None,
            });
        }
        _ => {}
    }

    // What comes next.
    let retry_said = job.errors.iter().any(|e| e.retry_at == Some(job.run_at));
    let next = match job.state {
        JobState::Available => Some(text!("Prête : attend son tour")),
        JobState::Scheduled => Some(text!("Prochaine exécution prévue")),
        JobState::Retryable if !retry_said => Some(text!("Nouvelle tentative prévue")),
        _ => None,
    };
    if let Some(title) = next {
        out.push(Event {
            at: job.run_at,
            kind: "next",
            title: say(title),
            detail: None,
            error: None,
        });
    }

    // How it finished, unless an operator's line already says it.
    if let (true, Some(finished)) = (job.state.is_final(), job.finished_at) {
        let by_operator = operator.iter().any(|e| {
            let matching = matches!(
                (e.action.as_str(), job.state),
                ("job.cancel", JobState::Cancelled) | ("job.discard", JobState::Discarded)
            );
            matching && (e.at - finished).abs() <= SAME_ACT
        });
        if !by_operator {
            let title = match job.state {
                JobState::Completed => text!("Terminée"),
                JobState::Cancelled => text!("Annulée"),
                _ if job.attempt >= job.max_attempts => {
                    text!(
                        "Écartée : plus aucune tentative permise ({n} sur {max})",
                        n = job.attempt,
                        max = job.max_attempts
                    )
                }
                _ => text!("Écartée"),
            };
            out.push(Event {
                at: finished,
                kind: "finished",
                title: say(title),
                detail: None,
                error: None,
            });
        }
    }

    // Oldest first; lines at the same instant keep the order above.
    out.sort_by_key(|e| e.at);
    out
}

/// A duration as people say it: `850 ms`, `1,2 s`, `42 s`, `3 min 5 s`,
/// `2 h 10 min`, `3 j 4 h` (French numbers in every language).
pub(super) fn duration(d: TimeDelta, lang: Lang) -> String {
    let ms = d.num_milliseconds().max(0);
    if ms < 1_000 {
        return format!("{ms} ms");
    }
    if ms < 10_000 {
        let tenths = (ms + 50) / 100;
        return format!("{},{} s", tenths / 10, tenths % 10);
    }
    let s = (ms + 500) / 1_000;
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3_600 => match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        },
        s if s < 86_400 => match (s % 3_600) / 60 {
            0 => format!("{} h", s / 3_600),
            min => format!("{} h {min} min", s / 3_600),
        },
        s => match (s % 86_400) / 3_600 {
            0 => text!("{d} j", d = s / 86_400).in_lang(lang),
            h => text!("{d} j {h} h", d = s / 86_400, h = h).in_lang(lang),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_people_say_them() {
        let ms = TimeDelta::milliseconds;
        let cases = [
            (ms(0), "0 ms"),
            (ms(850), "850 ms"),
            (ms(1_200), "1,2 s"),
            (ms(9_960), "10,0 s"),
            (ms(42_000), "42 s"),
            (ms(185_000), "3 min 5 s"),
            (ms(180_000), "3 min"),
            (ms(7_800_000), "2 h 10 min"),
            (ms(-5), "0 ms"),
        ];
        for (d, said) in cases {
            assert_eq!(duration(d, Lang::Fr), said, "{d:?}");
            assert_eq!(duration(d, Lang::En), said, "{d:?}");
        }
        let days = TimeDelta::hours(76);
        assert_eq!(duration(days, Lang::Fr), "3 j 4 h");
        assert_eq!(duration(days, Lang::En), "3 d 4 h");
        assert_eq!(duration(TimeDelta::days(2), Lang::En), "2 d");
    }
}
