//! What the livre de recettes page shows, built from the domain: the
//! periods one can choose, the period's lines and its totals.

use chrono::Datelike;
use serde::Serialize;

use crate::billing::catalog::Nature;
use crate::billing::documents::{revenue_totals, Period, RevenueLine};
use crate::billing::render::{revenue_line, BookPeriod};
use crate::billing::revenue_book::BookLine;
use crate::i18n::{Lang, Text};
use crate::money::Money;
use crate::text;

/// Lines shown on screen; the files have them all.
pub(super) const LINES_SHOWN: usize = 1000;
/// Years offered: the book is kept ten years.
const YEARS_KEPT: i32 = 10;

#[derive(Serialize)]
pub(super) struct PeriodOption {
    pub key: String,
    pub label: String,
}

#[derive(Serialize)]
pub(super) struct YearOptions {
    pub year: i32,
    pub options: Vec<PeriodOption>,
}

fn option(p: BookPeriod, lang: Lang) -> PeriodOption {
    PeriodOption {
        key: p.key(),
        label: period_label(p, lang),
    }
}

/// A month's name, capitalised as it opens a label ("Décembre 2026").
pub(crate) fn month_name(month: u32) -> Text {
    match month {
        1 => text!("Janvier"),
        2 => text!("Février"),
        3 => text!("Mars"),
        4 => text!("Avril"),
        5 => text!("Mai"),
        6 => text!("Juin"),
        7 => text!("Juillet"),
        8 => text!("Août"),
        9 => text!("Septembre"),
        10 => text!("Octobre"),
        11 => text!("Novembre"),
        _ => text!("Décembre"),
    }
}

/// "T4 2026", "Décembre 2026", "Année 2026" (in French, as the book's files say them).
pub(crate) fn period_label(p: BookPeriod, lang: Lang) -> String {
    match p {
        BookPeriod::Year(year) => text!("Année {year}", year = year).in_lang(lang),
        BookPeriod::Quarter(year, quarter) => text!("T{quarter} {year}", quarter = quarter, year = year).in_lang(lang),
        BookPeriod::Month(year, month) => text!("{month} {year}", year = year)
            .with("month", month_name(month))
            .in_lang(lang),
    }
}

/// For each year from the book's first receipt (ten years back at most) to
/// this year, newest first: the year, its quarters, its months. The chosen
/// period's year is always among them.
pub(super) fn period_options(
    first_year: Option<i32>,
    this_year: i32,
    chosen: BookPeriod,
    lang: Lang,
) -> Vec<YearOptions> {
    let chosen_year = year_of(chosen);
    let oldest = first_year
        .unwrap_or(this_year)
        .clamp(this_year - YEARS_KEPT, this_year)
        .min(chosen_year);
    let newest = this_year.max(chosen_year);
    (oldest..=newest)
        .rev()
        .map(|year| {
            let mut options = vec![option(BookPeriod::Year(year), lang)];
            options.extend((1..=4).map(|q| option(BookPeriod::Quarter(year, q), lang)));
            options.extend((1..=12).map(|m| option(BookPeriod::Month(year, m), lang)));
            YearOptions { year, options }
        })
        .collect()
}

pub(super) fn year_of(p: BookPeriod) -> i32 {
    match p {
        BookPeriod::Year(y) | BookPeriod::Quarter(y, _) | BookPeriod::Month(y, _) => y,
    }
}

/// The period holding `today`'s quarter: what the page shows first.
pub(super) fn current_quarter(today: chrono::NaiveDate) -> BookPeriod {
    BookPeriod::Quarter(today.year(), today.month0() / 3 + 1)
}

#[derive(Serialize)]
pub(super) struct LineView {
    pub seq: i64,
    pub date: chrono::NaiveDate,
    pub client: String,
    pub nature: String,
    pub amount: Money,
    pub method: String,
    pub is_cash: bool,
    pub reference: String,
}

#[derive(Serialize)]
pub(super) struct TotalView {
    pub label: String,
    pub receipts: usize,
    pub goods: Money,
    pub services: Money,
    pub cash: Money,
    pub other_methods: Money,
    pub total: Money,
}

/// The period's lines (the first [`LINES_SHOWN`]) and its totals: for a
/// year its quarters then the year; for a quarter or a month, its own.
pub(super) fn lines_and_totals(period: BookPeriod, book: &[BookLine], lang: Lang) -> (Vec<LineView>, Vec<TotalView>) {
    let lines: Vec<RevenueLine> = book.iter().map(revenue_line).collect();
    let views = book
        .iter()
        .zip(&lines)
        .take(LINES_SHOWN)
        .map(|(b, l)| LineView {
            seq: b.seq,
            date: l.date,
            client: l.client.clone(),
            nature: match b.line.nature {
                Nature::Goods => text!("Vente de marchandises"),
                Nature::Services => text!("Prestation de services"),
            }
            .in_lang(lang),
            amount: l.amount,
            method: method_name(&b.line.method).map_or_else(|| l.method.clone(), |t| t.in_lang(lang)),
            is_cash: l.is_cash,
            reference: match &b.line.credit_note_reference {
                Some(credit) => text!(
                    "{credit} (avoir sur {invoice})",
                    credit = credit,
                    invoice = b.line.invoice_reference
                )
                .in_lang(lang),
                None => b.line.invoice_reference.clone(),
            },
        })
        .collect();
    let year = year_of(period);
    let totals = revenue_totals(&lines)
        .periods
        .into_iter()
        .filter_map(|t| {
            let label = match (period, t.period) {
                (BookPeriod::Year(_), Period::Quarter { year, quarter }) => {
                    period_label(BookPeriod::Quarter(year, quarter), lang)
                }
                (BookPeriod::Year(_), Period::Year(y)) => period_label(BookPeriod::Year(y), lang),
                (BookPeriod::Quarter(_, q), Period::Quarter { quarter, .. }) if q == quarter => {
                    period_label(period, lang)
                }
                // All of a month's lines are in its year: the year's sums are the month's.
                (BookPeriod::Month(..), Period::Year(y)) if y == year => period_label(period, lang),
                _ => return None,
            };
            Some(TotalView {
                label: format!("{label} ({})", t.currency.code()),
                receipts: t.receipts,
                goods: t.goods,
                services: t.services,
                cash: t.cash,
                other_methods: t.other_methods,
                total: t.total,
            })
        })
        .collect();
    (views, totals)
}

/// A payment method in words.
pub(crate) fn method_name(code: &str) -> Option<Text> {
    Some(match code {
        "card" => text!("Carte bancaire"),
        "paypal" => text!("PayPal"),
        "sepa_debit" => text!("Prélèvement SEPA"),
        "transfer" => text!("Virement"),
        "cheque" => text!("Chèque"),
        "cash" => text!("Espèces"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_run_from_the_first_receipt_to_this_year() {
        let years = period_options(Some(2024), 2026, BookPeriod::Quarter(2026, 4), Lang::Fr);
        let listed: Vec<i32> = years.iter().map(|y| y.year).collect();
        assert_eq!(listed, [2026, 2025, 2024]);
        let keys: Vec<&str> = years[0].options.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.len(), 17);
        assert_eq!(
            &keys[..6],
            ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-01"]
        );
        // An empty book offers this year; a period asked for out of range is offered too.
        assert_eq!(period_options(None, 2026, BookPeriod::Year(2026), Lang::Fr).len(), 1);
        assert_eq!(
            period_options(None, 2026, BookPeriod::Month(2023, 2), Lang::Fr).len(),
            4
        );
        // Ten years back at most.
        assert_eq!(
            period_options(Some(1990), 2026, BookPeriod::Year(2026), Lang::Fr).len(),
            11
        );
        assert_eq!(years[0].options[4].label, "T4 2026");
        assert_eq!(period_label(BookPeriod::Month(2026, 12), Lang::Fr), "Décembre 2026");
        assert_eq!(period_label(BookPeriod::Month(2026, 12), Lang::En), "December 2026");
        assert_eq!(period_label(BookPeriod::Quarter(2026, 4), Lang::En), "Q4 2026");
    }
}
