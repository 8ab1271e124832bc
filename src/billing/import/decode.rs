//! Files as French spreadsheets and banks write them: encoding detection
//! (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252 /
//! ISO-8859-15), separator and header sniffing, header names compared without
//! case or accents, and amounts and dates as written in France.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use encoding_rs::Encoding;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::rows::DecodingReader;
use super::ImportError;

pub(crate) const CHUNK: usize = 64 * 1024;
/// How many non-blank lines at the top may precede the header (a bank's preamble).
const HEADER_SEARCH: usize = 30;

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ImportError + '_ {
    move |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads until `buf` is full or the end of the input.
pub(crate) fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// What one read of the whole file tells: its encoding and SHA-256.
pub(crate) struct Scan {
    pub encoding: &'static Encoding,
    pub sha256: String,
}

/// Reads the file once: hashes it and decides its encoding (valid UTF-8 → UTF-8;
/// else Windows-1252, or ISO-8859-15 when `0xA4` (€) appears without any
/// Windows-1252-only byte). Refuses binary files with a word on what they are.
pub(crate) fn scan(path: &Path) -> Result<Scan, ImportError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut buf = vec![0u8; CHUNK];
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(4);
    let (mut utf8, mut carry) = (true, Vec::<u8>::new());
    let (mut nul, mut c1, mut a4) = (false, false, false);
    loop {
        let n = read_some(&mut file, &mut buf).map_err(io_error(path))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        head.extend(chunk.iter().take(4 - head.len()));
        for &b in chunk {
            match b {
                0 => nul = true,
                0x80..=0x9f => c1 = true,
                0xa4 => a4 = true,
                _ => {}
            }
        }
        if utf8 {
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    carry.drain(..e.valid_up_to());
                }
                Err(_) => utf8 = false,
            }
        }
    }
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let encoding = if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        encoding_rs::UTF_8
    } else if head.starts_with(&[0xff, 0xfe]) {
        encoding_rs::UTF_16LE
    } else if head.starts_with(&[0xfe, 0xff]) {
        encoding_rs::UTF_16BE
    } else if head.starts_with(b"PK\x03\x04") {
        return Err(ImportError::NotText(crate::text!(
            "c'est un fichier ZIP (un tableur .xlsx ou .ods ?) : enregistrez-le en CSV"
        )));
    } else if head.starts_with(b"%PDF") {
        return Err(ImportError::NotText(crate::text!("c'est un fichier PDF")));
    } else if nul {
        return Err(ImportError::NotText(crate::text!(
            "le fichier contient des données binaires (octets NUL)"
        )));
    } else if utf8 && carry.is_empty() {
        encoding_rs::UTF_8
    } else if a4 && !c1 {
        encoding_rs::ISO_8859_15
    } else {
        encoding_rs::WINDOWS_1252
    };
    Ok(Scan { encoding, sha256 })
}

/// Where the header is and which separator the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub header_line: u64,
    pub separator: u8,
}

const SEPARATORS: [u8; 4] = [b';', b'\t', b',', b'|'];

/// The separator used most in `line` outside quotes (`;` wins ties).
pub(crate) fn detect_separator(line: &str) -> u8 {
    let mut counts = [0usize; SEPARATORS.len()];
    let mut quoted = false;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = SEPARATORS.iter().position(|s| *s == b) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..SEPARATORS.len()).rev().max_by_key(|i| counts[*i]).unwrap_or(0);
    SEPARATORS[best]
}

/// The fields of one line, split as the CSV reader will split them.
pub(crate) fn split_line(line: &str, separator: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(separator)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(|f| f.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Physical lines (`\n`, `\r\n` or a lone `\r`), numbered from 1.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|piece| piece.strip_suffix('\r').unwrap_or(piece).split('\r'))
}

/// Finds the header among the first lines: the first one `recognized` as a
/// header of this kind of file (a bank may put its account details above),
/// else the first non-blank line. An Excel `sep=;` first line sets the separator.
pub(crate) fn sniff(
    path: &Path,
    encoding: &'static Encoding,
    recognized: impl Fn(&[String]) -> bool,
) -> Result<Layout, ImportError> {
    let file = File::open(path).map_err(io_error(path))?;
    let mut reader = DecodingReader::new(file, encoding);
    let mut head = Vec::with_capacity(CHUNK);
    (&mut reader)
        .take(CHUNK as u64)
        .read_to_end(&mut head)
        .map_err(io_error(path))?;
    let complete = head.len() < CHUNK;
    let text = String::from_utf8_lossy(&head);
    let mut lines: Vec<&str> = physical_lines(&text).collect();
    if !complete {
        lines.pop();
    }
    let mut hint = None;
    let mut first = None;
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate() {
        let no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        if seen == 0 && hint.is_none() {
            let l = line.trim_matches(' ').to_ascii_lowercase();
            if let Some(sep) = l.strip_prefix("sep=").filter(|s| s.len() == 1) {
                hint = Some(sep.as_bytes()[0]);
                continue;
            }
        }
        let separator = hint.unwrap_or_else(|| detect_separator(line));
        let fields = split_line(line, separator);
        if fields.iter().all(|f| f.is_empty()) {
            continue;
        }
        let layout = Layout {
            header_line: no,
            separator,
        };
        first.get_or_insert(layout);
        if recognized(&fields) {
            return Ok(layout);
        }
        seen += 1;
        if seen == HEADER_SEARCH {
            break;
        }
    }
    first.ok_or(ImportError::EmptyFile)
}

/// Lower case without accents: `Libellé` → `libelle`, `Œuvre` → `oeuvre`.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'î' | 'ï' | 'í' | 'ì' => out.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => out.push('u'),
            'ÿ' | 'ý' => out.push('y'),
            'ñ' => out.push('n'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    out
}

/// A header name as compared: folded, letters and digits only (`E-mail` → `email`).
pub(crate) fn header_key(name: &str) -> String {
    fold(name).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Folded words, separated by single spaces (`  Société  Générale ` → `societe generale`).
pub(crate) fn words(text: &str) -> String {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An amount as written in France or elsewhere: `1 234,56`, `1234.56`, `-12,50`,
/// `12,50 €`, `1.234,56`, `1,234.56`, `(12,50)`, `12,50-`, with regular,
/// no-break or narrow no-break spaces between thousands.
pub(crate) fn parse_amount(text: &str) -> Result<Decimal, String> {
    let bad = || format!("« {} » n'est pas un montant", text.trim());
    let mut s: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' | '€' | '¤'))
        .collect();
    for code in ["EUR", "eur", "Eur"] {
        s = s.replace(code, "");
    }
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') {
        negative = true;
        s = s[1..s.len() - 1].to_string();
    }
    if let Some(rest) = s.strip_prefix(['-', '−', '–']) {
        negative = !negative;
        s = rest.to_string();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.to_string();
    } else if let Some(rest) = s.strip_suffix(['-', '−']) {
        negative = !negative;
        s = rest.to_string();
    }
    let (commas, dots) = (s.matches(',').count(), s.matches('.').count());
    let (group, decimal) = match (commas, dots) {
        (0, 0) => (None, None),
        (_, 0) if commas == 1 => (None, Some(',')),
        (_, 0) => (Some(','), None),
        (0, 1) => (None, Some('.')),
        (0, _) => (Some('.'), None),
        _ => {
            if s.rfind(',') > s.rfind('.') {
                (Some('.'), Some(','))
            } else {
                (Some(','), Some('.'))
            }
        }
    };
    let (int_part, frac) = match decimal {
        Some(d) => {
            let (i, f) = s.rsplit_once(d).ok_or_else(bad)?;
            (i.to_string(), f.to_string())
        }
        None => (s.clone(), String::new()),
    };
    let int_digits = match group {
        Some(g) => {
            let groups: Vec<&str> = int_part.split(g).collect();
            let ok =
                groups.len() > 1 && (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|grp| grp.len() == 3);
            if !ok {
                return Err(bad());
            }
            groups.concat()
        }
        None => int_part,
    };
    let digits_ok = |d: &str| d.chars().all(|c| c.is_ascii_digit());
    if (int_digits.is_empty() && frac.is_empty())
        || !digits_ok(&int_digits)
        || !digits_ok(&frac)
        || (decimal.is_some() && frac.is_empty())
        || int_digits.len() > 15
    {
        return Err(bad());
    }
    let sign = if negative { "-" } else { "" };
    let int_digits = if int_digits.is_empty() { "0" } else { &int_digits };
    let number = if frac.is_empty() {
        format!("{sign}{int_digits}")
    } else {
        format!("{sign}{int_digits}.{frac}")
    };
    Decimal::from_str(&number).map_err(|_| bad())
}

/// A date as `dd/mm/yyyy`, `dd/mm/yy`, `dd.mm.yyyy`, `dd-mm-yyyy` or
/// `yyyy-mm-dd`, possibly followed by a time (ignored). Two-digit years are
/// 2000–2069 below 70, else 1970–1999.
pub(crate) fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let t = text.trim();
    let bad = || format!("« {t} » n'est pas une date (jj/mm/aaaa ou aaaa-mm-jj attendu)");
    let day_part = t.split([' ', 'T']).next().unwrap_or("");
    let separator = day_part
        .chars()
        .find(|c| matches!(c, '/' | '.' | '-'))
        .ok_or_else(bad)?;
    let parts: Vec<&str> = day_part.split(separator).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (y, m, d) = match (parts[0].len(), parts[1].len(), parts[2].len()) {
        (4, 1..=2, 1..=2) => (num(parts[0])? as i32, num(parts[1])?, num(parts[2])?),
        (1..=2, 1..=2, 4) => (num(parts[2])? as i32, num(parts[1])?, num(parts[0])?),
        (1..=2, 1..=2, 2) => {
            let yy = num(parts[2])? as i32;
            (
                if yy < 70 { 2000 + yy } else { 1900 + yy },
                num(parts[1])?,
                num(parts[0])?,
            )
        }
        _ => return Err(bad()),
    };
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("« {t} » n'est pas une date valide"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts() {
        for (text, want) in [
            ("1 234,56", "1234.56"),
            ("1\u{a0}234,56", "1234.56"),
            ("1\u{202f}234,56 €", "1234.56"),
            ("1234.56", "1234.56"),
            ("-12,50", "-12.50"),
            ("12,50 €", "12.50"),
            ("1.234,56", "1234.56"),
            ("1,234.56", "1234.56"),
            ("1.234.567", "1234567"),
            ("+3", "3"),
            ("(12,50)", "-12.50"),
            ("12,50-", "-12.50"),
            ("EUR 7,00", "7.00"),
            (",5", "0.5"),
        ] {
            assert_eq!(parse_amount(text).unwrap(), dec(want), "{text}");
        }
        for text in [
            "", "abc", "12,5,0", "1.23.4", "1 2,3x", "12,", "--1", "1,2.3,4", "1.23,4.5",
        ] {
            assert!(parse_amount(text).is_err(), "{text}");
        }
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        for text in [
            "05/03/2026",
            "5/3/2026",
            "05/03/26",
            "2026-03-05",
            "05.03.2026",
            "05-03-2026",
            "05/03/2026 00:00:00",
        ] {
            assert_eq!(parse_date(text).unwrap(), d, "{text}");
        }
        assert_eq!(
            parse_date("01/01/99").unwrap(),
            NaiveDate::from_ymd_opt(1999, 1, 1).unwrap()
        );
        for text in [
            "",
            "31/02/2026",
            "2026/13/01",
            "5 mars 2026",
            "05/03",
            "05/03/2026/1",
            "0x/03/2026",
        ] {
            assert!(parse_date(text).is_err(), "{text}");
        }
    }

    #[test]
    fn separators_and_headers() {
        assert_eq!(detect_separator("Date;Libellé;Montant"), b';');
        assert_eq!(detect_separator("date,label,amount"), b',');
        assert_eq!(detect_separator("a\tb\tc"), b'\t');
        assert_eq!(detect_separator("a|b|c"), b'|');
        assert_eq!(detect_separator("\"Nom, prénom\";Adresse"), b';');
        assert_eq!(split_line("\"a;b\";c", b';'), vec!["a;b", "c"]);
        assert_eq!(header_key("E-mail"), "email");
        assert_eq!(header_key(" Libellé de l'opération "), "libelledeloperation");
        assert_eq!(header_key("N° SIREN"), "nsiren");
        assert_eq!(words("  Société   Générale, Œuvres "), "societe generale oeuvres");
    }

    #[test]
    fn encodings_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let detect = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            scan(&path).map(|s| s.encoding.name())
        };
        assert_eq!(detect("utf8", "Libellé;Montant\n".as_bytes()).unwrap(), "UTF-8");
        assert_eq!(detect("bom", b"\xef\xbb\xbfa;b\n").unwrap(), "UTF-8");
        assert_eq!(detect("1252", b"Libell\xe9;12,50 \x80\n").unwrap(), "windows-1252");
        assert_eq!(detect("8859-15", b"Libell\xe9;12,50 \xa4\n").unwrap(), "ISO-8859-15");
        assert_eq!(detect("utf16", b"\xff\xfea\x00;\x00").unwrap(), "UTF-16LE");
        assert_eq!(detect("ascii", b"a;b\n").unwrap(), "UTF-8");
        assert!(matches!(detect("zip", b"PK\x03\x04..."), Err(ImportError::NotText(_))));
        assert!(matches!(detect("nul", b"a;b\x00\n"), Err(ImportError::NotText(_))));
        // A multi-byte character split across two chunks is still UTF-8.
        let mut long = vec![b'a'; CHUNK - 1];
        long.extend("é".as_bytes());
        assert_eq!(detect("split", &long).unwrap(), "UTF-8");
        assert_eq!(
            scan(&dir.path().join("utf8")).unwrap().sha256,
            super::super::sha256_hex("Libellé;Montant\n".as_bytes())
        );
    }
}
