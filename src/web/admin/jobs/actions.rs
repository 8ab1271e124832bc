//! What an operator can do to a job, in which states, and how each attempt
//! is applied (with its audit entry, in one transaction) and told back, in
//! the operator's language.
//!
//! | action | allowed when the job is | refused when |
//! |---|---|---|
//! | retry now | scheduled, retryable, discarded, cancelled | available (already due), running, completed |
//! | cancel (reason) | available, scheduled, retryable, running (its worker stops it) | completed, cancelled, discarded |
//! | discard (reason) | available, scheduled, retryable | running (cancel it), completed, cancelled, discarded |
//! | run at (operator's time) | available, scheduled, retryable, discarded, cancelled | running, completed |
//! | delete (after a confirmation) | completed, cancelled, discarded (finished) | available, scheduled, running, retryable |
//!
//! A completed job is never run again from the admin: its effects (a charge,
//! an e-mail) happened. The store's own guards decide in the end; a job that
//! changed state between the page and the click is refused, never half-done.
//! A deleted job's audit entry keeps what it was (kind, queue, state, attempts,
//! dates, args masked).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use super::super::{Admin, AdminError, Flash};
use crate::audit::{self, Record};
use crate::i18n::{Lang, Text};
use crate::input::TextError;
use crate::jobs::mask;
use crate::local_time::LocalTimeError;
use crate::store::types::{JobRow, JobState};
use crate::store::StoreError;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Cancel,
    Discard,
    RunAt,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Retry,
        Action::Cancel,
        Action::Discard,
        Action::RunAt,
        Action::Delete,
    ];

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Cancel => "cancel",
            Action::Discard => "discard",
            Action::RunAt => "run_at",
            Action::Delete => "delete",
        }
    }

    pub fn allows(self, state: JobState) -> bool {
        use JobState::*;
        match self {
            Action::Retry => matches!(state, Scheduled | Retryable | Discarded | Cancelled),
            Action::Cancel => matches!(state, Available | Scheduled | Retryable | Running),
            Action::Discard => matches!(state, Available | Scheduled | Retryable),
            Action::RunAt => matches!(state, Available | Scheduled | Retryable | Discarded | Cancelled),
            Action::Delete => state.is_final(),
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            Action::Retry => "job.retry",
            Action::Cancel => "job.cancel",
            Action::Discard => "job.discard",
            Action::RunAt => "job.reschedule",
            Action::Delete => "job.delete",
        }
    }

    /// What the operator asks, as the confirmation page says it.
    pub fn infinitive(self) -> Text {
        match self {
            Action::Retry => text!("Relancer maintenant"),
            Action::Cancel => text!("Annuler"),
            Action::Discard => text!("Écarter"),
            Action::RunAt => text!("Reprogrammer"),
            Action::Delete => text!("Supprimer"),
        }
    }

    /// For the flash: "3 relancées" (the past participle, feminine like « tâche »).
    fn done_word(self, n: usize, lang: Lang) -> String {
        let (one, other) = match self {
            Action::Retry => (text!("{n} relancée"), text!("{n} relancées")),
            Action::Cancel => (text!("{n} annulée"), text!("{n} annulées")),
            Action::Discard => (text!("{n} écartée"), text!("{n} écartées")),
            Action::RunAt => (text!("{n} reprogrammée"), text!("{n} reprogrammées")),
            Action::Delete => (text!("{n} supprimée"), text!("{n} supprimées")),
        };
        plural(lang, one, other, n)
    }
}

/// `one` or `other` for `n`, in `lang`, `{n}` filled in.
fn plural(lang: Lang, one: Text, other: Text, n: usize) -> String {
    crate::i18n::tr_plural(lang, one.key(), other.key(), n as i64, &[])
}

/// Why job `id` in `state` refuses an action that does not allow it.
fn state_says(id: i64, state: JobState) -> Text {
    match state {
        JobState::Available => text!("#{id} attend déjà son tour", id = id),
        JobState::Scheduled => text!("#{id} est programmée", id = id),
        JobState::Running => text!("#{id} est en cours", id = id),
        JobState::Retryable => text!("#{id} attend une nouvelle tentative", id = id),
        JobState::Completed => text!("#{id} est terminée", id = id),
        JobState::Cancelled => text!("#{id} est annulée", id = id),
        JobState::Discarded => text!("#{id} est écartée", id = id),
    }
}

/// Why `action` refuses job `id` in `state`, in `lang`.
pub fn refusal(action: Action, id: i64, state: JobState, lang: Lang) -> Text {
    match action {
        Action::Delete => text!(
            "#{id} n'est pas finie ({state}) : seule une tâche terminée, annulée ou écartée peut être supprimée",
            id = id,
            state = state.words().in_lang(lang)
        ),
        _ => state_says(id, state),
    }
}

/// What the operator asked, checked.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: Action,
    pub reason: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
}

impl Request {
    /// From the form's text fields; refusals name the field as the form does.
    pub fn parse(action: &str, reason: Option<&str>, run_at: Option<&str>) -> Result<Request, AdminError> {
        let action = Action::parse(action.trim()).ok_or_else(|| {
            AdminError::Invalid(text!(
                "Action : « {action} » inconnue",
                action = action.chars().take(40).collect::<String>()
            ))
        })?;
        let reason = match reason.map(|r| crate::input::single_line(r, 500)) {
            None => None,
            Some(Ok(r)) => Some(r).filter(|r| !r.is_empty()),
            Some(Err(e)) => return Err(AdminError::Invalid(reason_refused(&e))),
        };
        let run_at = match run_at.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => Some(parse_local(text)?),
            None => None,
        };
        if action == Action::RunAt && run_at.is_none() {
            return Err(AdminError::Invalid(text!("Date et heure : requises pour reprogrammer")));
        }
        Ok(Request { action, reason, run_at })
    }
}

/// A reason the input policy refuses, said for the "Motif" field.
fn reason_refused(e: &TextError) -> Text {
    match e {
        TextError::LineBreak => text!("Motif : une seule ligne, sans retour à la ligne"),
        TextError::Control(c) => text!(
            "Motif : caractère de contrôle {code} refusé",
            code = crate::input::code(*c)
        ),
        TextError::Bidi(c) => text!(
            "Motif : caractère de sens d'écriture {code} refusé",
            code = crate::input::code(*c)
        ),
        TextError::Separator(c) => text!("Motif : séparateur {code} refusé", code = crate::input::code(*c)),
        TextError::TooLong(max) => text!("Motif : {max} caractères au plus", max = max),
    }
}

/// A `datetime-local` value (`2026-12-01T08:30`, seconds optional), read in
/// the operator's time zone.
fn parse_local(text: &str) -> Result<DateTime<Utc>, AdminError> {
    let local = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .ok_or_else(|| {
        AdminError::Invalid(text!(
            "Date et heure : « {text} » n'est pas une date et heure (AAAA-MM-JJTHH:MM)",
            text = text.chars().take(40).collect::<String>()
        ))
    })?;
    crate::local_time::from_local(local).map_err(|e| {
        AdminError::Invalid(match e {
            LocalTimeError::Skipped(at, zone) => text!(
                "Date et heure : {time} n'existe pas à {zone} : l'heure y a été avancée ce jour-là (passage à l'heure d'été)",
                time = at.format("%d/%m/%Y %H:%M"),
                zone = zone.name()
            ),
            LocalTimeError::OutOfRange(day) => {
                text!("Date et heure : hors limites ({day})", day = day.format("%d/%m/%Y"))
            }
        })
    })
}

/// How one job's action went.
#[derive(Debug)]
pub enum Outcome {
    Done(Box<JobRow>),
    /// Refused, with why ("#12 est en cours"), its words already in the operator's language.
    Refused(String),
}

/// Applies `req` to job `id`: checks its state, then changes it (or deletes
/// it) and writes the audit entry in one transaction. `NotFound` for an
/// unknown id.
pub async fn apply(admin: &Admin, id: i64, req: &Request) -> Result<Outcome, AdminError> {
    let store = &admin.state.store;
    let lang = admin.lang();
    let before = store.get_job(id).await?;
    if !req.action.allows(before.state) {
        return Ok(Outcome::Refused(
            refusal(req.action, id, before.state, lang).in_lang(lang),
        ));
    }
    let mut tx = store.begin().await?;
    let result = match req.action {
        Action::Retry => tx.retry_job(id).await,
        Action::Cancel => tx.cancel_job(id, &reason_text(admin, req, "annulée")).await,
        Action::Discard => tx.discard_job(id, &reason_text(admin, req, "écartée")).await,
        Action::Delete => tx.delete_job(id).await,
        Action::RunAt => match req.run_at {
            Some(at) => tx.reschedule_job(id, at).await,
            None => return Err(AdminError::Invalid(text!("Date et heure : requises pour reprogrammer"))),
        },
    };
    let after = match result {
        Ok(job) => job,
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            return Ok(Outcome::Refused(explain_conflict(admin, id, req.action).await?));
        }
        Err(e) => return Err(e.into()),
    };
    let details = match req.action {
        // What was deleted, since the job no longer says it.
        Action::Delete => json!({
            "from": after.state,
            "kind": after.kind,
            "queue": after.queue,
            "attempt": after.attempt,
            "max_attempts": after.max_attempts,
            "errors": after.errors.len(),
            "created_at": after.created_at,
            "finished_at": after.finished_at,
            "args": mask::mask_json(&after.args),
        }),
        _ => json!({
            "from": before.state,
            "to": after.state,
            "kind": after.kind,
            "reason": req.reason,
            "run_at": req.run_at,
        }),
    };
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new(req.action.audit_action(), format!("job:{id}")).details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Done(Box::new(after)))
}

/// What goes in the job's error history for a cancel or a discard: kept
/// with the job, in French (the history is the job's, not a page's).
fn reason_text(admin: &Admin, req: &Request, verb: &str) -> String {
    match &req.reason {
        Some(reason) => format!("{reason} ({verb} par {})", admin.actor.name),
        None => format!("{verb} par {}", admin.actor.name),
    }
}

/// The store refused after our check: the job moved meanwhile, or reviving
/// it would take a unique key that another live job holds.
async fn explain_conflict(admin: &Admin, id: i64, action: Action) -> Result<String, AdminError> {
    let lang = admin.lang();
    let now = admin.state.store.get_job(id).await?;
    Ok(if !action.allows(now.state) {
        text!(
            "{why} (elle vient de changer d'état)",
            why = refusal(action, id, now.state, lang).in_lang(lang)
        )
        .in_lang(lang)
    } else {
        text!(
            "#{id} ne peut pas revivre : une autre tâche détient sa clé unique",
            id = id
        )
        .in_lang(lang)
    })
}

/// "Tâche #12 relancée (maintenant prête, prévue le 01/12/2026 09:30:00)",
/// in the operator's time zone.
pub fn done_sentence(action: Action, job: &JobRow, lang: Lang) -> Text {
    let id = job.id;
    let state = job.state.words().in_lang(lang);
    let at = crate::local_time::format_fr(job.run_at);
    match action {
        Action::Retry => text!(
            "Tâche #{id} relancée (maintenant {state}, prévue le {at})",
            id = id,
            state = state,
            at = at
        ),
        Action::RunAt => text!(
            "Tâche #{id} reprogrammée (maintenant {state}, prévue le {at})",
            id = id,
            state = state,
            at = at
        ),
        Action::Cancel => text!("Tâche #{id} annulée", id = id),
        Action::Discard => text!("Tâche #{id} écartée", id = id),
        Action::Delete => text!("Tâche #{id} supprimée", id = id),
    }
}

/// A flash whose words are already in the operator's language: a sentence
/// put together from translated parts (a bulk action's summary).
pub struct Said(pub String);

impl Flash for Said {
    fn said(self, _: Lang) -> String {
        self.0
    }
}

/// "3 relancées, 1 refusée : #12 est en cours", in `lang`.
pub fn summary(action: Action, outcomes: &[Outcome], lang: Lang) -> Said {
    const SHOWN: usize = 8;
    let done = outcomes.iter().filter(|o| matches!(o, Outcome::Done(_))).count();
    let refused: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Refused(why) => Some(why.as_str()),
            Outcome::Done(_) => None,
        })
        .collect();
    if refused.is_empty() {
        return Said(action.done_word(done, lang));
    }
    let separator = match lang {
        Lang::Fr => " ; ",
        Lang::En => "; ",
    };
    let mut reasons = refused[..refused.len().min(SHOWN)].join(separator);
    if refused.len() > SHOWN {
        let more = plural(lang, text!("{n} autre"), text!("{n} autres"), refused.len() - SHOWN);
        reasons = text!("{reasons} ; … et {more}", reasons = reasons, more = more).in_lang(lang);
    }
    let refused_word = plural(lang, text!("{n} refusée"), text!("{n} refusées"), refused.len());
    let sentence = if done > 0 {
        text!(
            "{done}, {refused} : {reasons}",
            done = action.done_word(done, lang),
            refused = refused_word,
            reasons = reasons
        )
    } else {
        text!("{refused} : {reasons}", refused = refused_word, reasons = reasons)
    };
    Said(sentence.in_lang(lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_allows_what_the_table_says() {
        use JobState::*;
        let allowed = |a: Action| -> Vec<JobState> { JobState::ALL.into_iter().filter(|s| a.allows(*s)).collect() };
        assert_eq!(allowed(Action::Retry), [Scheduled, Retryable, Cancelled, Discarded]);
        assert_eq!(allowed(Action::Cancel), [Available, Scheduled, Running, Retryable]);
        assert_eq!(allowed(Action::Discard), [Available, Scheduled, Retryable]);
        assert_eq!(
            allowed(Action::RunAt),
            [Available, Scheduled, Retryable, Cancelled, Discarded]
        );
        assert_eq!(allowed(Action::Delete), [Completed, Cancelled, Discarded]);
    }

    #[test]
    fn summaries_in_both_languages() {
        let done = || Outcome::Done(Box::new(fake_row()));
        let refused = |s: &str| Outcome::Refused(s.to_string());
        let fr = |a, o: &[Outcome]| summary(a, o, Lang::Fr).0;
        let en = |a, o: &[Outcome]| summary(a, o, Lang::En).0;
        assert_eq!(
            fr(Action::Retry, &[done(), done(), done(), refused("#12 est en cours")]),
            "3 relancées, 1 refusée : #12 est en cours"
        );
        assert_eq!(
            en(Action::Retry, &[done(), done(), done(), refused("#12 is running")]),
            "3 retried, 1 refused: #12 is running"
        );
        assert_eq!(
            fr(Action::Cancel, &[refused("#1 est terminée"), refused("#2 est annulée")]),
            "2 refusées : #1 est terminée ; #2 est annulée"
        );
        assert_eq!(fr(Action::Discard, &[done()]), "1 écartée");
        assert_eq!(fr(Action::Delete, &[]), "0 supprimée", "French: 0 is singular");
        assert_eq!(en(Action::Delete, &[done(), done()]), "2 deleted");
        let many: Vec<Outcome> = (0..10).map(|i| refused(&format!("#{i} est en cours"))).collect();
        assert!(fr(Action::RunAt, &many).ends_with("#7 est en cours ; … et 2 autres"));
        assert!(en(Action::RunAt, &many).ends_with("#7 est en cours; … and 2 more"));
    }

    #[test]
    fn refusals_say_why_in_the_operator_language() {
        assert_eq!(
            refusal(Action::Delete, 7, JobState::Running, Lang::Fr).in_lang(Lang::Fr),
            "#7 n'est pas finie (en cours) : seule une tâche terminée, annulée ou écartée peut être supprimée"
        );
        assert_eq!(
            refusal(Action::Delete, 7, JobState::Scheduled, Lang::En).in_lang(Lang::En),
            "#7 has not finished (scheduled): only a completed, cancelled or discarded job can be deleted"
        );
        assert_eq!(
            refusal(Action::Retry, 7, JobState::Completed, Lang::En).in_lang(Lang::En),
            "#7 has completed"
        );
    }

    #[test]
    fn requests_name_the_bad_field() {
        let r = Request::parse("run_at", None, Some("2026-12-01T08:30")).unwrap();
        // Typed in Paris (winter: UTC+1).
        assert_eq!(r.run_at.unwrap().to_rfc3339(), "2026-12-01T07:30:00+00:00");
        match Request::parse("run_at", None, Some("2027-03-28T02:30")) {
            Err(AdminError::Invalid(m)) => {
                assert!(m.to_string().contains("heure d'été"), "{m}");
                assert!(m.in_lang(Lang::En).contains("summer time"), "{m:?}");
            }
            other => panic!("a time the clocks skip: {other:?}"),
        }
        for (action, at, field) in [
            ("explode", None, "Action"),
            ("run_at", None, "Date et heure"),
            ("run_at", Some("demain"), "Date et heure"),
        ] {
            match Request::parse(action, None, at) {
                Err(AdminError::Invalid(m)) => assert!(m.to_string().starts_with(field), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        match Request::parse("cancel", Some("deux\nlignes"), None) {
            Err(AdminError::Invalid(m)) => assert!(m.in_lang(Lang::En).starts_with("Reason"), "{m:?}"),
            other => panic!("{other:?}"),
        }
    }

    fn fake_row() -> JobRow {
        JobRow {
            id: 1,
            kind: "noop".into(),
            args: json!({}),
            queue: "default".into(),
            priority: 0,
            state: JobState::Available,
            attempt: 0,
            max_attempts: 1,
            run_at: Utc::now(),
            locked_by: None,
            locked_at: None,
            started_at: None,
            lease_expires_at: None,
            errors: vec![],
            unique_key: None,
            progress: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            finished_at: None,
        }
    }
}
