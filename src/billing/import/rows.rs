//! Streaming the records of a file: bytes decoded to UTF-8 chunk by chunk
//! through a `Read` adapter, parsed by the `csv` crate, each record with the
//! physical line it starts on (`\n`, `\r\n` or a lone `\r` end a line).
//!
//! Lines are counted here rather than taken from `csv::Position`, whose line
//! is where the previous record ended: one too low after a CRLF line end or
//! a blank line.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use encoding_rs::{CoderResult, Decoder, Encoding};

use super::decode::{io_error, read_some, Layout, CHUNK};
use super::ImportError;

/// Where lines start in the decoded text, kept only for the lines the CSV
/// reader has not passed yet.
struct LineIndex {
    /// (offset of the line's first byte, whether the line is empty).
    starts: VecDeque<(u64, bool)>,
    /// The number of the line at the front of `starts`.
    first_no: u64,
    pending_cr: bool,
    fresh: bool,
}

impl LineIndex {
    fn new() -> LineIndex {
        LineIndex {
            starts: VecDeque::from([(0, true)]),
            first_no: 1,
            pending_cr: false,
            fresh: true,
        }
    }

    fn start_line(&mut self, at: u64) {
        self.starts.push_back((at, true));
        self.fresh = true;
    }

    fn scan(&mut self, base: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let at = base + i as u64;
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.start_line(at + 1);
                    continue;
                }
                self.start_line(at);
            }
            if self.fresh {
                self.fresh = false;
                if let Some(last) = self.starts.back_mut() {
                    last.1 = b == b'\n' || b == b'\r';
                }
            }
            match b {
                b'\n' => self.start_line(at + 1),
                b'\r' => self.pending_cr = true,
                _ => {}
            }
        }
    }

    /// The line of a record read from byte `at`: the first non-empty line
    /// starting there or later (the reader skips empty lines and a CRLF's `\n`).
    fn line_of_record_at(&mut self, at: u64) -> u64 {
        while self.starts.len() > 1 && self.starts[0].0 < at {
            self.starts.pop_front();
            self.first_no += 1;
        }
        let skip = self.starts.iter().position(|(_, empty)| !empty).unwrap_or(0);
        self.first_no + skip as u64
    }
}

/// A `Read` adapter decoding any supported encoding to UTF-8, chunk by chunk.
pub(crate) struct DecodingReader<R> {
    inner: R,
    decoder: Decoder,
    raw: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// Offset in the decoded stream of `out[0]`.
    offset: u64,
    done: bool,
    lines: LineIndex,
}

impl<R: Read> DecodingReader<R> {
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> DecodingReader<R> {
        DecodingReader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            raw: vec![0; CHUNK],
            out: Vec::new(),
            out_pos: 0,
            offset: 0,
            done: false,
            lines: LineIndex::new(),
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.offset += self.out.len() as u64;
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.done {
            let n = read_some(&mut self.inner, &mut self.raw)?;
            let last = n == 0;
            let mut src = &self.raw[..n];
            loop {
                let room = self
                    .decoder
                    .max_utf8_buffer_length(src.len())
                    .unwrap_or(CHUNK * 4)
                    .max(16);
                let start = self.out.len();
                self.out.resize(start + room, 0);
                let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out[start..], last);
                self.out.truncate(start + written);
                src = &src[read..];
                if matches!(result, CoderResult::InputEmpty) {
                    break;
                }
            }
            self.done = last;
        }
        self.lines.scan(self.offset, &self.out);
        Ok(())
    }
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_pos == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

/// The records of a file, each with the line it starts on.
pub(crate) struct Rows {
    csv: csv::Reader<DecodingReader<File>>,
    record: csv::StringRecord,
    path: String,
}

impl Rows {
    /// Opens the file and reads up to its header; returns the header's fields.
    pub(crate) fn open(
        path: &Path,
        encoding: &'static Encoding,
        layout: Layout,
    ) -> Result<(Rows, Vec<String>), ImportError> {
        let file = File::open(path).map_err(io_error(path))?;
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(layout.separator)
            .from_reader(DecodingReader::new(file, encoding));
        let mut rows = Rows {
            csv,
            record: csv::StringRecord::new(),
            path: path.display().to_string(),
        };
        loop {
            match rows.next_record()? {
                None => return Err(ImportError::EmptyFile),
                Some(line) if line >= layout.header_line => break,
                Some(_) => {}
            }
        }
        let header = rows.record.iter().map(|f| f.trim().to_string()).collect();
        Ok((rows, header))
    }

    fn next_record(&mut self) -> Result<Option<u64>, ImportError> {
        let more = self.csv.read_record(&mut self.record).map_err(|e| ImportError::Io {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        if !more {
            return Ok(None);
        }
        let at = self.record.position().map(|p| p.byte()).unwrap_or(0);
        Ok(Some(self.csv.get_mut().lines.line_of_record_at(at)))
    }

    /// The next row that is not entirely blank, with its line number.
    pub(crate) fn next(&mut self) -> Result<Option<(u64, &csv::StringRecord)>, ImportError> {
        loop {
            match self.next_record()? {
                None => return Ok(None),
                Some(line) if self.record.iter().any(|f| !f.trim().is_empty()) => {
                    return Ok(Some((line, &self.record)));
                }
                Some(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &[u8], encoding: &'static Encoding) -> Vec<(u64, Vec<String>)> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(b';')
            .from_reader(DecodingReader::new(text, encoding));
        let mut record = csv::StringRecord::new();
        let mut out = Vec::new();
        while csv.read_record(&mut record).unwrap() {
            let at = record.position().unwrap().byte();
            let line = csv.get_mut().lines.line_of_record_at(at);
            out.push((line, record.iter().map(String::from).collect()));
        }
        out
    }

    #[test]
    fn record_lines_count_physical_lines() {
        let want = |v: &[(u64, &str)]| -> Vec<(u64, Vec<String>)> {
            v.iter().map(|(l, f)| (*l, vec![f.to_string()])).collect()
        };
        for (text, expected) in [
            (&b"a\nb\nc\n"[..], want(&[(1, "a"), (2, "b"), (3, "c")])),
            (&b"a\r\nb\r\nc"[..], want(&[(1, "a"), (2, "b"), (3, "c")])),
            (&b"a\r\n\r\n\r\nb\r\n"[..], want(&[(1, "a"), (4, "b")])),
            (&b"a\rb\rc"[..], want(&[(1, "a"), (2, "b"), (3, "c")])),
            (
                &b"a\r\n\"x\r\ny\r\nz\"\r\nb"[..],
                want(&[(1, "a"), (2, "x\r\ny\r\nz"), (5, "b")]),
            ),
            (&b"\xef\xbb\xbfa\n\nb"[..], want(&[(1, "a"), (3, "b")])),
        ] {
            assert_eq!(lines_of(text, encoding_rs::UTF_8), expected);
        }
        let latin = b"Soci\xe9t\xe9\r\n\xc9t\xe9 \x80";
        assert_eq!(
            lines_of(latin, encoding_rs::WINDOWS_1252),
            vec![(1, vec!["Société".to_string()]), (2, vec!["Été €".to_string()])]
        );
    }
}
