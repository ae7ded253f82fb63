//! Diagnostics: errors and warnings with a source span, rendered as `file:line:column` with the
//! offending line and a caret under the token, plus what was expected.
//!
//! Every problem fwcheck finds in its input becomes a [`Diagnostic`]. Parsing never stops at the
//! first error: all diagnostics of a file are collected and reported together.

pub mod codes;

use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::term::{self, Config};
use serde::Serialize;

/// A loaded input file: its display name, its text and a line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

/// A [`SourceFile`] as codespan's `Files`, using its line index; the same answers as
/// `codespan_reporting::files::SimpleFile` over its text (same line starts).
struct Lines<'a>(&'a SourceFile);

impl Lines<'_> {
    fn line_start(&self, i: usize) -> Result<usize, codespan_reporting::files::Error> {
        let starts = &self.0.line_starts;
        match i.cmp(&starts.len()) {
            std::cmp::Ordering::Less => Ok(starts[i]),
            std::cmp::Ordering::Equal => Ok(self.0.text.len()),
            std::cmp::Ordering::Greater => Err(codespan_reporting::files::Error::LineTooLarge {
                given: i,
                max: starts.len() - 1,
            }),
        }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Lines<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.0.name.as_str())
    }

    fn source(&self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.0.text.as_str())
    }

    fn line_index(&self, (): (), byte: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self
            .0
            .line_starts
            .binary_search(&byte)
            .unwrap_or_else(|next| next - 1))
    }

    fn line_range(
        &self,
        (): (),
        line: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        Ok(self.line_start(line)?..self.line_start(line + 1)?)
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, col + 1)
    }

    /// 1-based line number of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_col(offset).0
    }

    /// Byte range of a 1-based line, without its line terminator.
    pub(crate) fn line_range(&self, line: usize) -> Range<usize> {
        let start = self
            .line_starts
            .get(line - 1)
            .copied()
            .unwrap_or(self.text.len());
        let mut end = self
            .line_starts
            .get(line)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }

    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// A byte range into a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    /// An empty span just after this one (for "missing value" errors).
    pub fn after(self) -> Span {
        Span {
            start: self.end,
            end: self.end,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, see [`codes`].
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// What was expected at the span (shown under the caret).
    pub expected: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            expected: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }
    pub fn expected(mut self, what: impl Into<String>) -> Self {
        self.expected = Some(what.into());
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    /// With [`lookalike_dash`]'s or [`typographic_quote`]'s note when `token` has the
    /// punctuation of text pasted from a web page.
    pub fn pasted_hint(self, token: &str) -> Self {
        match lookalike_dash(token).or_else(|| typographic_quote(token)) {
            Some(n) => self.note(n),
            None => self,
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// When `token` begins with a dash that is not `-` (an en dash, em dash or minus sign, as web
/// pages and word processors turn `-` and `--` into): a note saying so and what to type.
/// iptables reads such a token as a word, not an option.
pub fn lookalike_dash(token: &str) -> Option<String> {
    let c = token.chars().next()?;
    let (name, typed) = match c {
        '\u{2013}' => ("an en dash (U+2013)", "-"),
        '\u{2014}' => ("an em dash (U+2014)", "--"),
        '\u{2212}' => ("a minus sign (U+2212)", "-"),
        '\u{2010}' | '\u{2011}' => ("a Unicode hyphen", "-"),
        _ => return None,
    };
    let rest = &token[c.len_utf8()..];
    // A single dash before a long name stands for `--` too (`–dport`).
    let typed = if typed == "-" && rest.chars().count() > 1 && !rest.starts_with('-') {
        "--"
    } else {
        typed
    };
    Some(format!(
        "`{token}` begins with {name}, not `-`: text copied from a web page or a word \
         processor? Type `{typed}{rest}`"
    ))
}

/// When `token` holds a typographic quote (“ ” ‘ ’ „): a note that the shell, and iptables,
/// take it as an ordinary character, not as a quote around words.
pub fn typographic_quote(token: &str) -> Option<String> {
    let q = token
        .chars()
        .find(|c| matches!(c, '“' | '”' | '‘' | '’' | '„'))?;
    Some(format!(
        "`{q}` (U+{:04X}) is a typographic quote, which the shell does not take as a quote: \
         text copied from a web page or a word processor? Type `\"` or `'`",
        q as u32
    ))
}

/// A diagnostic located in a file: what JSON output and SARIF carry.
#[derive(Debug, Clone, Serialize)]
pub struct LocatedDiagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn locate(&self, file: &SourceFile) -> LocatedDiagnostic {
        let (line, column) = file.line_col(self.span.start as usize);
        let (end_line, end_column) = file.line_col(self.span.end as usize);
        LocatedDiagnostic {
            severity: self.severity,
            code: self.code,
            message: self.message.clone(),
            file: file.name.clone(),
            line,
            column,
            end_line,
            end_column,
            expected: self.expected.clone(),
            notes: self.notes.clone(),
        }
    }

    /// Render as text: `error[E101]: message`, ` --> file:line:col`, the line, a caret. A
    /// line longer than [`CLIP_OVER`] bytes (a list of 100,000 addresses) is shown as a window
    /// around the span, cut at both ends with `…`: the location stays the line's own.
    pub fn render(&self, file: &SourceFile, color: bool) -> String {
        let mut range = self.span.range();
        range.end = range.end.min(file.text.len());
        range.start = range.start.min(range.end);
        let line = file.line_of(range.start);
        let line_range = file.line_range(line);
        let rendered = if line_range.len() > CLIP_OVER {
            let clip = Clipped::new(file, line, line_range, &range);
            let label = clip.label.clone();
            self.emit(&clip, label, color)
        } else {
            // The file's own line index: building codespan's `SimpleFile` would scan the whole
            // text again for every diagnostic (quadratic over thousands of findings).
            self.emit(&Lines(file), range, color)
        };
        rendered.unwrap_or_else(|| {
            let (l, c) = file.line_col(self.span.start as usize);
            format!(
                "{}: {}:{}:{}: {}\n",
                self.severity.as_str(),
                file.name,
                l,
                c,
                self.message
            )
        })
    }

    /// The diagnostic through codespan, its label on `range` of `files`' one file.
    fn emit<'a, F: codespan_reporting::files::Files<'a, FileId = ()>>(
        &self,
        files: &'a F,
        range: Range<usize>,
        color: bool,
    ) -> Option<String> {
        let mut label = Label::primary((), range);
        if let Some(e) = &self.expected {
            label = label.with_message(format!("expected {e}"));
        }
        let d = match self.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Note => CsDiagnostic::note(),
        }
        .with_code(self.code)
        .with_message(&self.message)
        .with_labels(vec![label])
        .with_notes(self.notes.clone());
        let config = Config {
            chars: term::Chars::ascii(),
            ..Config::default()
        };
        if color {
            let mut buf = term::termcolor::Buffer::ansi();
            if term::emit(&mut buf, &config, files, &d).is_ok() {
                return Some(String::from_utf8_lossy(buf.as_slice()).into_owned());
            }
        }
        let mut buf = term::termcolor::Buffer::no_color();
        term::emit(&mut buf, &config, files, &d).ok()?;
        Some(String::from_utf8_lossy(buf.as_slice()).into_owned())
    }
}

/// Lines longer than this many bytes are shown clipped around the span ([`Diagnostic::render`]).
pub const CLIP_OVER: usize = 300;
/// How much of a clipped line is shown before the span's start, and at most in all (bytes).
const CLIP_BEFORE: usize = 60;
const CLIP_WIDTH: usize = 240;

/// One long line of a file, cut to a window around a span, as codespan's `Files`: its line
/// number and the span's location are the file's own.
struct Clipped<'a> {
    file: &'a SourceFile,
    line: usize,
    /// The window's text (with `…` where it was cut) and a newline.
    text: String,
    /// Where the window begins in the file, and how many bytes the leading `…` adds.
    from: usize,
    lead: usize,
    /// The span, as a range of `text`.
    label: Range<usize>,
}

impl<'a> Clipped<'a> {
    fn new(
        file: &'a SourceFile,
        line: usize,
        line_range: Range<usize>,
        span: &Range<usize>,
    ) -> Self {
        let t = &file.text;
        let floor = |mut i: usize| {
            while !t.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let from = floor(span.start.saturating_sub(CLIP_BEFORE).max(line_range.start));
        let to = floor((from + CLIP_WIDTH).min(line_range.end));
        let mut text = String::with_capacity(to - from + 8);
        if from > line_range.start {
            text.push('…');
        }
        let lead = text.len();
        text.push_str(&t[from..to]);
        if to < line_range.end {
            text.push('…');
        }
        text.push('\n');
        let at = |i: usize| lead + i.clamp(from, to) - from;
        let label = at(span.start)..at(span.end);
        Clipped {
            file,
            line,
            text,
            from,
            lead,
            label,
        }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for Clipped<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.file.name.as_str())
    }

    fn source(&'a self, (): ()) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.text.as_str())
    }

    fn line_index(&'a self, (): (), _: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(0)
    }

    fn line_number(&'a self, (): (), _: usize) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self.line)
    }

    fn location(
        &'a self,
        (): (),
        byte: usize,
    ) -> Result<codespan_reporting::files::Location, codespan_reporting::files::Error> {
        let (line_number, column_number) = self
            .file
            .line_col(self.from + byte.saturating_sub(self.lead));
        Ok(codespan_reporting::files::Location {
            line_number,
            column_number,
        })
    }

    fn line_range(
        &'a self,
        (): (),
        line: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        match line {
            0 => Ok(0..self.text.len()),
            _ => Ok(self.text.len()..self.text.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long line is shown as a window around the span; the location stays the line's own,
    /// the caret under the span's place in the window.
    #[test]
    fn long_lines_are_clipped_around_the_span() {
        let list: Vec<String> = (0..2000).map(|i| format!("é{i}")).collect();
        let text = format!("# head\n-A INPUT -s {} -j DROP\n", list.join(","));
        let file = SourceFile::new("r.v4", text.clone());
        let at = text.find("é1500").unwrap();
        let d = Diagnostic::error("E999", Span::new(at, at + "é1500".len()), "bad address");
        let out = d.render(&file, false);
        let (line, col) = file.line_col(at);
        assert!(out.contains(&format!("--> r.v4:{line}:{col}")), "{out}");
        assert!(out.len() < 1200, "{} bytes:\n{out}", out.len());
        let shown = out.lines().find(|l| l.starts_with("2 | ")).unwrap();
        assert!(
            shown.starts_with("2 | …") && shown.ends_with('…'),
            "{shown}"
        );
        let carets = out.lines().find(|l| l.contains('^')).unwrap();
        let pos = carets.find('^').unwrap();
        assert_eq!(
            shown[..].chars().skip(pos).take(5).collect::<String>(),
            "é1500",
            "{out}"
        );
        // A line of ordinary length is shown whole.
        let short = SourceFile::new("r.v4", "-A INPUT -s 192.0.2.300 -j DROP\n");
        let d = Diagnostic::error("E999", Span::new(12, 23), "bad address");
        assert!(d
            .render(&short, false)
            .contains("1 | -A INPUT -s 192.0.2.300 -j DROP"));
    }
}
