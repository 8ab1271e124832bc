//! A small paginating writer over printpdf: text in the embedded DejaVu fonts (so `€` and
//! accents render everywhere), wrapping, rules, and tables whose header repeats on each page.
//! Pages are laid out first and written at the end, when the footer knows the page count.
//!
//! Coordinates are PDF points from the bottom-left corner; `y` is the top of the next line.

use printpdf::{
    Color, Greyscale, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfParseErrorSeverity,
    PdfSaveOptions, Point, Pt, TextItem,
};

use super::fonts::Fonts;
pub(crate) use super::fonts::Style;
use super::wording::fill;
use super::DocumentError;

const PT_PER_MM: f32 = 72.0 / 25.4;
const A4_SHORT: f32 = 210.0 * PT_PER_MM;
const A4_LONG: f32 = 297.0 * PT_PER_MM;
/// Room kept at the bottom of every page for the footer.
const FOOTER_SPACE: f32 = 22.0;
const FOOTER: Style = Style::regular(8.0);
const CELL_PADDING: f32 = 5.0;
const TABLE_HEADER: Style = Style::bold(8.5);
const RUNNING_HEAD: Style = Style::regular(8.0);
const RUNNING_HEAD_GAP: f32 = 6.0;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Orientation {
    Portrait,
    Landscape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A table column. `weight` is its share of the content width; a `wrap` cell grows the row
/// over several lines, any other cell is cut to its width with an ellipsis.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub title: String,
    pub weight: f32,
    pub align: Align,
    pub wrap: bool,
}

struct Table {
    columns: Vec<Column>,
    /// Left edge and width of each column, in points.
    spans: Vec<(f32, f32)>,
}

/// A laid-out PDF, as objects, before it is written.
pub(crate) struct Finished {
    pub document: lopdf::Document,
}

impl Finished {
    /// Drops the objects nothing refers to any more (printpdf's replaced Info dictionary),
    /// compresses the streams that allow it and writes the file.
    pub fn save(mut self) -> Result<Vec<u8>, DocumentError> {
        self.document.prune_objects();
        self.document.compress();
        let mut bytes = Vec::new();
        self.document
            .save_to(&mut bytes)
            .map_err(|e| DocumentError::PdfWrite(e.to_string()))?;
        if !bytes.starts_with(b"%PDF") {
            return Err(DocumentError::PdfWrite("the serializer produced no PDF".to_string()));
        }
        Ok(bytes)
    }
}

pub(crate) struct Writer {
    doc: PdfDocument,
    fonts: Fonts,
    width: f32,
    height: f32,
    margin: f32,
    pages: Vec<Vec<Op>>,
    y: f32,
    running_head: Option<String>,
    table: Option<Table>,
}

impl Writer {
    pub fn new(title: &str, orientation: Orientation) -> Result<Writer, DocumentError> {
        let mut doc = PdfDocument::new(title);
        let fonts = Fonts::load(&mut doc)?;
        let (width, height) = match orientation {
            Orientation::Portrait => (A4_SHORT, A4_LONG),
            Orientation::Landscape => (A4_LONG, A4_SHORT),
        };
        let margin = 15.0 * PT_PER_MM;
        let y = height - margin;
        let pages = vec![Vec::new()];
        Ok(Writer {
            doc,
            fonts,
            width,
            height,
            margin,
            pages,
            y,
            running_head: None,
            table: None,
        })
    }

    pub fn left(&self) -> f32 {
        self.margin
    }

    pub fn right(&self) -> f32 {
        self.width - self.margin
    }

    pub fn content_width(&self) -> f32 {
        self.right() - self.left()
    }

    pub fn y(&self) -> f32 {
        self.y
    }

    pub fn set_y(&mut self, y: f32) {
        self.y = y;
    }

    pub fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    /// A line shown under the top margin of every following page.
    pub fn set_running_head(&mut self, text: Option<String>) {
        self.running_head = text;
    }

    /// Starts a new page unless `height` more points fit on this one.
    pub fn ensure(&mut self, height: f32) {
        if self.y - height < self.margin + FOOTER_SPACE {
            self.new_page();
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.height - self.margin;
        if let Some(head) = self.running_head.clone() {
            self.text_at(self.left(), self.y - RUNNING_HEAD.size, RUNNING_HEAD, &head);
            self.y -= RUNNING_HEAD.leading() + RUNNING_HEAD_GAP;
        }
        if self.table.is_some() {
            self.draw_table_header();
        }
    }

    /// Draws `text` with its baseline at `baseline`, starting at `x`.
    fn text_at(&mut self, x: f32, baseline: f32, style: Style, text: &str) {
        let ops = self.text_ops(x, baseline, style, text);
        self.current_page().extend(ops);
    }

    fn text_ops(&self, x: f32, baseline: f32, style: Style, text: &str) -> [Op; 5] {
        let font = PdfFontHandle::External(self.fonts.id(style.weight).clone());
        let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        [
            Op::StartTextSection,
            Op::SetFont {
                font,
                size: Pt(style.size),
            },
            Op::SetTextCursor {
                pos: Point {
                    x: Pt(x),
                    y: Pt(baseline),
                },
            },
            Op::ShowText {
                items: vec![TextItem::Text(text)],
            },
            Op::EndTextSection,
        ]
    }

    fn text_aligned(&mut self, x: f32, align: Align, baseline: f32, style: Style, text: &str) {
        let start = match align {
            Align::Left => x,
            Align::Right => x - self.fonts.width_of(style, text),
        };
        self.text_at(start, baseline, style, text);
    }

    /// Wraps `text` to `width` and draws it line by line from the cursor down, breaking pages as
    /// needed. With `Align::Right`, `x` is the right edge.
    pub fn block(&mut self, x: f32, width: f32, align: Align, style: Style, text: &str) {
        for line in self.fonts.wrap(style, text, width) {
            self.ensure(style.leading());
            self.text_aligned(x, align, self.y - style.size, style, &line);
            self.y -= style.leading();
        }
    }

    /// A paragraph over the whole content width.
    pub fn paragraph(&mut self, style: Style, text: &str) {
        self.block(self.left(), self.content_width(), Align::Left, style, text);
    }

    /// A thin horizontal line across the content width at the cursor.
    fn rule(&mut self) {
        let (left, right, y) = (self.left(), self.right(), self.y);
        let point = |x: f32| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        let ops = [
            Op::SetOutlineColor {
                col: Color::Greyscale(Greyscale {
                    percent: 0.55,
                    icc_profile: None,
                }),
            },
            Op::SetOutlineThickness { pt: Pt(0.6) },
            Op::DrawLine {
                line: Line {
                    points: vec![point(left), point(right)],
                    is_closed: false,
                },
            },
        ];
        self.current_page().extend(ops);
    }

    /// Starts a table: its header is drawn now and again at the top of every new page.
    pub fn begin_table(&mut self, columns: Vec<Column>) {
        let total: f32 = columns.iter().map(|c| c.weight.max(0.0)).sum::<f32>().max(f32::EPSILON);
        let mut x = self.left();
        let mut spans = Vec::with_capacity(columns.len());
        for column in &columns {
            let width = column.weight.max(0.0) / total * self.content_width();
            spans.push((x, width));
            x += width;
        }
        self.table = Some(Table { columns, spans });
        self.ensure(3.0 * TABLE_HEADER.leading());
        self.draw_table_header();
    }

    pub fn end_table(&mut self) {
        self.table = None;
        self.gap(2.0);
        self.rule();
        self.gap(4.0);
    }

    /// One row of the open table. A row that does not fit moves whole to a new page; only a row
    /// taller than a page is split across pages.
    pub fn row(&mut self, cells: &[String], style: Style) {
        let Some(table) = &self.table else { return };
        let mut laid_out = Vec::with_capacity(table.spans.len());
        for ((column, (x, width)), cell) in table.columns.iter().zip(&table.spans).zip(cells) {
            let inner = (width - 2.0 * CELL_PADDING).max(1.0);
            let lines = if column.wrap {
                self.fonts.wrap(style, cell, inner)
            } else {
                vec![self.fonts.truncate(style, cell, inner)]
            };
            let anchor = match column.align {
                Align::Left => x + CELL_PADDING,
                Align::Right => x + width - CELL_PADDING,
            };
            laid_out.push((anchor, column.align, lines));
        }
        let count = laid_out.iter().map(|(_, _, lines)| lines.len()).max().unwrap_or(1);
        let leading = style.leading();
        // Keep a row whole when it fits on a page; only a row taller than a page is split.
        if count as f32 * leading <= self.fresh_page_room() {
            self.ensure(count as f32 * leading);
        }
        let mut start = 0;
        while start < count {
            let mut room = self.lines_left(leading);
            if room == 0 {
                self.new_page();
                room = self.lines_left(leading).max(1);
            }
            let end = count.min(start + room);
            let top = self.y;
            for (anchor, align, lines) in &laid_out {
                for (i, line) in lines.iter().enumerate().take(end).skip(start) {
                    let baseline = top - style.size - (i - start) as f32 * leading;
                    self.text_aligned(*anchor, *align, baseline, style, line);
                }
            }
            self.y = top - (end - start) as f32 * leading;
            start = end;
        }
    }

    /// The height a new page offers below its running head and table header.
    fn fresh_page_room(&self) -> f32 {
        let head = if self.running_head.is_some() {
            RUNNING_HEAD.leading() + RUNNING_HEAD_GAP
        } else {
            0.0
        };
        // The header's text plus the gaps drawn around it (see `draw_table_header`).
        let table = if self.table.is_some() {
            TABLE_HEADER.leading() + 9.0
        } else {
            0.0
        };
        self.height - 2.0 * self.margin - FOOTER_SPACE - head - table
    }

    /// How many lines of `leading` still fit above the footer.
    fn lines_left(&self, leading: f32) -> usize {
        let room = (self.y - self.margin - FOOTER_SPACE) / leading;
        if room >= 1.0 {
            room.floor() as usize
        } else {
            0
        }
    }

    fn draw_table_header(&mut self) {
        let Some(table) = &self.table else { return };
        let style = TABLE_HEADER;
        let cells: Vec<(f32, Align, String)> = table
            .columns
            .iter()
            .zip(&table.spans)
            .map(|(column, (x, width))| {
                let title = self.fonts.truncate(style, &column.title, width - 2.0 * CELL_PADDING);
                match column.align {
                    Align::Left => (x + CELL_PADDING, Align::Left, title),
                    Align::Right => (x + width - CELL_PADDING, Align::Right, title),
                }
            })
            .collect();
        self.gap(2.0);
        self.rule();
        self.gap(3.0);
        let baseline = self.y - style.size;
        for (x, align, title) in cells {
            self.text_aligned(x, align, baseline, style, &title);
        }
        self.y -= style.leading() + 1.0;
        self.rule();
        self.gap(3.0);
    }

    /// Adds the footer (`footer_left`, then "page x / n") to every page and writes the PDF.
    #[cfg(test)]
    pub fn finish(self, footer_left: &str) -> Result<Vec<u8>, DocumentError> {
        self.finish_document(footer_left)?.save()
    }

    /// Adds the footer to every page and builds the PDF objects, fonts embedded and subset;
    /// the caller may complete the file (Factur-X) before saving it.
    pub fn finish_document(mut self, footer_left: &str) -> Result<Finished, DocumentError> {
        let count = self.pages.len();
        let (width_mm, height_mm) = (Mm(self.width / PT_PER_MM), Mm(self.height / PT_PER_MM));
        let mut pages = Vec::with_capacity(count);
        for (index, mut ops) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let label = fill(
                "common.page",
                &[("page", &(index + 1).to_string()), ("pages", &count.to_string())],
            );
            let label_x = self.right() - self.fonts.width_of(FOOTER, &label);
            let left_text = self.fonts.truncate(FOOTER, footer_left, self.content_width() * 0.75);
            ops.extend(self.text_ops(self.left(), self.margin, FOOTER, &left_text));
            ops.extend(self.text_ops(label_x, self.margin, FOOTER, &label));
            pages.push(PdfPage::new(width_mm, height_mm, ops));
        }
        // printpdf 0.12 subsets fonts only when built with its `text_layout` feature (which
        // brings the whole azul layout engine); without it `subset_fonts: true` embeds the
        // complete 700 KB DejaVu faces. So the faces are subset here, to the characters the
        // pages show, before printpdf embeds them.
        self.fonts.subset_into(&mut self.doc, &pages)?;
        let options = PdfSaveOptions {
            subset_fonts: true,
            ..PdfSaveOptions::default()
        };
        let mut warnings = Vec::new();
        let document = self.doc.with_pages(pages).to_lopdf_document(&options, &mut warnings);
        let errors: Vec<String> = warnings
            .into_iter()
            .filter(|w| w.severity == PdfParseErrorSeverity::Error)
            .map(|w| w.msg)
            .collect();
        if !errors.is_empty() {
            return Err(DocumentError::PdfWrite(errors.join("; ")));
        }
        Ok(Finished { document })
    }

    fn current_page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(title: &str, wrap: bool) -> Column {
        Column {
            title: title.to_string(),
            weight: 1.0,
            align: Align::Left,
            wrap,
        }
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_not_lost() {
        let mut writer = Writer::new("test", Orientation::Portrait).expect("writer");
        writer.begin_table(vec![column("A", true), column("B", false)]);
        let huge = (0..400).map(|i| format!("mot{i}")).collect::<Vec<_>>().join("\n");
        writer.row(&[huge, "b".to_string()], Style::regular(9.0));
        writer.end_table();
        assert!(writer.pages.len() >= 3, "{} pages", writer.pages.len());
        let shown = writer
            .pages
            .iter()
            .flatten()
            .filter(|op| matches!(op, Op::ShowText { items } if matches!(&items[..], [TextItem::Text(t)] if t.starts_with("mot"))))
            .count();
        assert_eq!(shown, 400);
    }

    #[test]
    fn rows_that_fit_stay_whole_and_pages_get_numbered() {
        let mut writer = Writer::new("test", Orientation::Landscape).expect("writer");
        writer.begin_table(vec![column("A", true)]);
        for i in 0..200 {
            writer.row(&[format!("ligne {i}\nsuite {i}")], Style::regular(9.0));
        }
        assert!(writer.pages.len() > 3);
        let pdf = writer.finish("pied").expect("PDF");
        assert!(pdf.starts_with(b"%PDF"));
    }
}
