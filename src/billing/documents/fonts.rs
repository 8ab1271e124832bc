//! The embedded DejaVu fonts (they render `€` and accents everywhere, unlike the PDF builtin
//! fonts) and text measurement: widths, word wrap, truncation with an ellipsis.

use std::collections::{BTreeMap, BTreeSet};

use printpdf::{FontId, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, TextItem};

use super::DocumentError;

const REGULAR_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub weight: Weight,
    pub size: f32,
}

impl Style {
    pub const fn regular(size: f32) -> Style {
        Style {
            weight: Weight::Regular,
            size,
        }
    }

    pub const fn bold(size: f32) -> Style {
        Style {
            weight: Weight::Bold,
            size,
        }
    }

    pub fn leading(self) -> f32 {
        self.size * 1.3
    }
}

struct Face {
    id: FontId,
    metrics: ParsedFont,
    /// The PostScript name, for the PDF's /BaseFont.
    name: &'static str,
}

/// The two faces, registered in one document.
pub(crate) struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    pub fn load(doc: &mut PdfDocument) -> Result<Fonts, DocumentError> {
        let regular = load_face(doc, REGULAR_TTF, "DejaVuSans.ttf", "DejaVuSans")?;
        let bold = load_face(doc, BOLD_TTF, "DejaVuSans-Bold.ttf", "DejaVuSans-Bold")?;
        Ok(Fonts { regular, bold })
    }

    pub fn id(&self, weight: Weight) -> &FontId {
        &self.face(weight).id
    }

    /// The advance width of `text` in points (no kerning, as the PDF is written).
    pub fn width_of(&self, style: Style, text: &str) -> f32 {
        let font = &self.face(style.weight).metrics;
        let per_em = f32::from(font.units_per_em.max(1));
        let units: f32 = text
            .chars()
            .map(|c| {
                font.lookup_glyph_index(u32::from(c))
                    .and_then(|gid| font.get_glyph_width(gid))
                    .map_or(per_em / 2.0, f32::from)
            })
            .sum();
        units / per_em * style.size
    }

    /// Greedy word wrap; a word wider than `width` is cut. Keeps the text's own line breaks.
    pub fn wrap(&self, style: Style, text: &str, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.lines() {
            let mut current = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if current.is_empty() {
                    word.to_string()
                } else {
                    format!("{current} {word}")
                };
                if self.width_of(style, &candidate) <= width {
                    current = candidate;
                    continue;
                }
                if !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                }
                for ch in word.chars() {
                    current.push(ch);
                    if current.chars().nth(1).is_some() && self.width_of(style, &current) > width {
                        current.pop();
                        lines.push(std::mem::replace(&mut current, ch.to_string()));
                    }
                }
            }
            lines.push(current);
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    /// `text`, cut with an ellipsis to fit `width`.
    pub fn truncate(&self, style: Style, text: &str, width: f32) -> String {
        if self.width_of(style, text) <= width {
            return text.to_string();
        }
        let mut kept: String = text.to_string();
        while !kept.is_empty() && self.width_of(style, &format!("{kept}…")) > width {
            kept.pop();
        }
        format!("{}…", kept.trim_end())
    }

    /// Replaces, in `doc`, each face the pages use by a subset holding only the glyphs of the
    /// characters they show (and .notdef), renumbered; the PDF then embeds a few KB per face.
    pub fn subset_into(&self, doc: &mut PdfDocument, pages: &[PdfPage]) -> Result<(), DocumentError> {
        let mut used: BTreeMap<bool, BTreeSet<char>> = BTreeMap::new();
        let mut current = None;
        for op in pages.iter().flat_map(|page| &page.ops) {
            match op {
                Op::SetFont {
                    font: PdfFontHandle::External(id),
                    ..
                } => current = [Weight::Regular, Weight::Bold].into_iter().find(|w| self.id(*w) == id),
                Op::ShowText { items } => {
                    if let Some(weight) = current {
                        let chars = used.entry(weight == Weight::Bold).or_default();
                        for item in items {
                            if let TextItem::Text(text) = item {
                                chars.extend(text.chars());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        for (bold, chars) in used {
            let face = self.face(if bold { Weight::Bold } else { Weight::Regular });
            let subset = subset_face(&face.metrics, &chars, face.name)?;
            doc.resources
                .fonts
                .map
                .insert(face.id.clone(), printpdf::PdfFont::new(subset));
        }
        Ok(())
    }

    fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

fn load_face(
    doc: &mut PdfDocument,
    bytes: &[u8],
    file: &'static str,
    name: &'static str,
) -> Result<Face, DocumentError> {
    let metrics = ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).ok_or(DocumentError::FontLoad(file))?;
    if metrics.lookup_glyph_index(u32::from('€')).is_none() {
        return Err(DocumentError::FontLoad(file));
    }
    let id = doc.add_font(&metrics);
    Ok(Face { id, metrics, name })
}

/// `font` cut down to the glyphs of `chars` (glyph 0 first, then the used glyphs in id order,
/// as allsorts numbers them), with its character map and widths renumbered to match, and a
/// subset tag ("ABCDEF+") on its name as ISO 32000 asks of a subset font.
fn subset_face(font: &ParsedFont, chars: &BTreeSet<char>, name: &str) -> Result<ParsedFont, DocumentError> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{subset, CmapTarget, SubsetProfile};

    let failed = |e: String| DocumentError::PdfWrite(format!("cannot subset the font {name}: {e}"));
    let glyph_of = |c: &char| font.codepoint_to_glyph.get(&u32::from(*c)).copied();
    let used: BTreeSet<u16> = chars.iter().filter_map(glyph_of).filter(|gid| *gid != 0).collect();
    let ids: Vec<u16> = std::iter::once(0).chain(used).collect();
    let data = ReadScope::new(&font.original_bytes)
        .read::<FontData<'_>>()
        .map_err(|e| failed(e.to_string()))?;
    let provider = data.table_provider(0).map_err(|e| failed(e.to_string()))?;
    let bytes = subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode).map_err(|e| failed(e.to_string()))?;
    let renumbered: BTreeMap<u16, u16> = ids
        .iter()
        .enumerate()
        .filter_map(|(new, old)| u16::try_from(new).ok().map(|new| (*old, new)))
        .collect();
    let mut out = font.clone();
    out.original_bytes = bytes;
    out.codepoint_to_glyph = chars
        .iter()
        .filter_map(|c| Some((u32::from(*c), *renumbered.get(&glyph_of(c)?)?)))
        .collect();
    out.glyph_widths = renumbered
        .iter()
        .filter_map(|(old, new)| Some((*new, *font.glyph_widths.get(old)?)))
        .collect();
    out.font_name = Some(format!("{}+{name}", subset_tag(&ids)));
    Ok(out)
}

/// Six capital letters derived from the glyph set (FNV-1a), stable from one run to the next.
fn subset_tag(ids: &[u16]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in ids {
        for byte in id.to_be_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        Fonts::load(&mut PdfDocument::new("test")).expect("embedded fonts load")
    }

    #[test]
    fn widths_come_from_the_font() {
        let fonts = fonts();
        let body = Style::regular(10.0);
        assert!(fonts.width_of(body, "€") > 3.0);
        assert!(fonts.width_of(body, "MMMM") > fonts.width_of(body, "iiii"));
        assert!(fonts.width_of(Style::bold(10.0), "Total") > fonts.width_of(body, "Total"));
        assert!((fonts.width_of(Style::regular(20.0), "abc") - 2.0 * fonts.width_of(body, "abc")).abs() < 0.01);
    }

    #[test]
    fn wrap_fits_the_width_cuts_long_words_and_keeps_line_breaks() {
        let fonts = fonts();
        let style = Style::regular(10.0);
        let text = "Développement d'une application de caisse pour un café\nDeuxième ligne";
        let lines = fonts.wrap(style, text, 120.0);
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(lines.iter().all(|l| fonts.width_of(style, l) <= 120.0), "{lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("Deuxième ligne"));
        assert_eq!(
            lines.join(" ").split_whitespace().count(),
            text.split_whitespace().count()
        );
        let long = "x".repeat(200);
        let cut = fonts.wrap(style, &long, 50.0);
        assert!(cut.len() > 3 && cut.concat() == long, "{cut:?}");
        assert_eq!(fonts.wrap(style, "", 50.0), [""]);
    }

    #[test]
    fn truncate_adds_an_ellipsis_only_when_needed() {
        let fonts = fonts();
        let style = Style::regular(9.0);
        assert_eq!(fonts.truncate(style, "Léa", 100.0), "Léa");
        let cut = fonts.truncate(style, "Client avec un nom beaucoup trop long pour la colonne", 80.0);
        assert!(cut.ends_with('…') && fonts.width_of(style, &cut) <= 80.0, "{cut}");
    }
}
