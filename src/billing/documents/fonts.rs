//! The embedded DejaVu fonts (they render `€` and accents everywhere, unlike the PDF builtin
//! fonts) and text measurement: widths, word wrap, truncation with an ellipsis.

use printpdf::{FontId, ParsedFont, PdfDocument};

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
}

/// The two faces, registered in one document.
pub(crate) struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    pub fn load(doc: &mut PdfDocument) -> Result<Fonts, DocumentError> {
        let regular = load_face(doc, REGULAR_TTF, "DejaVuSans.ttf")?;
        let bold = load_face(doc, BOLD_TTF, "DejaVuSans-Bold.ttf")?;
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

    fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

fn load_face(doc: &mut PdfDocument, bytes: &[u8], name: &'static str) -> Result<Face, DocumentError> {
    let metrics = ParsedFont::from_bytes(bytes, 0, &mut Vec::new()).ok_or(DocumentError::FontLoad(name))?;
    if metrics.lookup_glyph_index(u32::from('€')).is_none() {
        return Err(DocumentError::FontLoad(name));
    }
    let id = doc.add_font(&metrics);
    Ok(Face { id, metrics })
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
