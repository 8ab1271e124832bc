//! The livre des recettes PDF, A4 landscape: the seller, the period, one row per receipt in the
//! order given (chronological), then the totals by quarter and year.

use super::pdf::{Align, Column, Orientation, Style, Writer};
use super::totals::{revenue_totals, Period, PeriodTotals};
use super::wording::{fill, t};
use super::{address_lines, date_fr, identity, DocumentError, RevenueBookDoc};

const TITLE: Style = Style::bold(16.0);
const NAME: Style = Style::bold(11.0);
const BODY: Style = Style::regular(9.5);
const SUBTITLE: Style = Style::bold(12.0);
const CELL: Style = Style::regular(8.5);

pub fn revenue_book_pdf(doc: &RevenueBookDoc) -> Result<Vec<u8>, DocumentError> {
    let title = format!("{} – {}", t("book.title"), doc.title_period);
    let mut writer = Writer::new(&title, Orientation::Landscape)?;
    writer.set_running_head(Some(fill("document.continued", &[("title", &title)])));
    heading(&mut writer, doc);
    receipts(&mut writer, doc);
    totals(&mut writer, doc);
    seal(&mut writer, doc);
    writer.finish_document(&identity(&doc.seller))?.save()
}

fn heading(writer: &mut Writer, doc: &RevenueBookDoc) {
    writer.paragraph(TITLE, t("book.title"));
    writer.gap(4.0);
    writer.paragraph(NAME, &doc.seller.name);
    for line in address_lines(&doc.seller.address) {
        writer.paragraph(BODY, &line);
    }
    if let Some(siren) = &doc.seller.siren {
        writer.paragraph(BODY, &fill("common.siren", &[("siren", siren)]));
    }
    writer.gap(4.0);
    writer.paragraph(
        Style::bold(10.0),
        &fill("book.period", &[("period", &doc.title_period)]),
    );
    writer.gap(10.0);
}

fn receipts(writer: &mut Writer, doc: &RevenueBookDoc) {
    let column = |key: &'static str, weight: f32, align: Align| Column {
        title: t(key).to_string(),
        weight,
        align,
        wrap: false,
    };
    writer.begin_table(vec![
        column("book.col.date", 9.0, Align::Left),
        column("book.col.client", 27.0, Align::Left),
        column("book.col.nature", 17.0, Align::Left),
        column("book.col.amount", 13.0, Align::Right),
        column("book.col.method", 16.0, Align::Left),
        column("book.col.reference", 18.0, Align::Left),
    ]);
    for line in &doc.lines {
        let cells = [
            date_fr(line.date),
            line.client.clone(),
            line.nature.label().to_string(),
            line.amount.format_fr(),
            line.method.clone(),
            line.reference.clone(),
        ];
        writer.row(&cells, CELL);
    }
    writer.end_table();
    if doc.lines.is_empty() {
        writer.paragraph(BODY, t("book.empty"));
    }
}

/// One row per quarter, then the year, for each currency: goods, services, cash, other, total.
fn totals(writer: &mut Writer, doc: &RevenueBookDoc) {
    let totals = revenue_totals(&doc.lines);
    if totals.periods.is_empty() {
        return;
    }
    writer.gap(8.0);
    writer.ensure(SUBTITLE.leading() + 40.0);
    writer.paragraph(SUBTITLE, t("book.totals"));
    let column = |key: &'static str, align: Align| Column {
        title: t(key).to_string(),
        weight: if align == Align::Left { 20.0 } else { 16.0 },
        align,
        wrap: false,
    };
    writer.begin_table(vec![
        column("book.totals.period", Align::Left),
        column("book.totals.goods", Align::Right),
        column("book.totals.services", Align::Right),
        column("book.totals.cash", Align::Right),
        column("book.totals.other", Align::Right),
        column("book.totals.total", Align::Right),
    ]);
    for period in &totals.periods {
        let style = match period.period {
            Period::Year(_) => Style::bold(CELL.size),
            Period::Quarter { .. } => CELL,
        };
        writer.row(&totals_cells(period), style);
    }
    writer.end_table();
}

fn totals_cells(totals: &PeriodTotals) -> [String; 6] {
    [
        totals.period.label(),
        totals.goods.format_fr(),
        totals.services.format_fr(),
        totals.cash.format_fr(),
        totals.other_methods.format_fr(),
        totals.total.format_fr(),
    ]
}

/// The state of the book when exported: what anchors a printed copy.
fn seal(writer: &mut Writer, doc: &RevenueBookDoc) {
    let Some(seal) = &doc.seal else {
        return;
    };
    writer.gap(8.0);
    writer.ensure(SUBTITLE.leading() + 60.0);
    writer.paragraph(SUBTITLE, t("book.seal"));
    for sentence in seal.sentences() {
        writer.paragraph(SEAL, &sentence);
    }
}

const SEAL: Style = Style::regular(7.5);
