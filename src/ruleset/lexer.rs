//! Tokenizers: one for `iptables-restore` lines (libxtables `add_param_to_argv` rules: double
//! quotes with backslash escapes inside them), one for shell command scripts (POSIX-like quoting,
//! `\` line continuations, `;`/`&&`/`||` separators, `#` comments).

use std::borrow::Cow;

use crate::diag::{Diagnostic, Span};

/// One word of a rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The word with quotes and escapes removed; borrowed from the line when it had none.
    pub text: Cow<'a, str>,
    pub span: Span,
    /// The word was (at least partly) quoted: `"!"` is a value, not negation.
    pub quoted: bool,
}

impl Token<'_> {
    pub fn str(&self) -> &str {
        &self.text
    }
}

pub(crate) const E_SYNTAX: &str = crate::diag::codes::SYNTAX;
pub(crate) const W_QUOTE: &str = crate::diag::codes::QUOTE;

/// Split one restore-format line (`base` = byte offset of the line in the file).
///
/// Inside double quotes a backslash escapes the next character and the closing quote ends the
/// word, as iptables-restore does. Single quotes are ordinary characters to iptables-restore
/// 1.8 (kernel hunt: ufw's `--comment 'dapp_OpenSSH'` loads, its quotes part of the comment,
/// and `'a b'` is two words): so they are here, with a warning.
pub(crate) fn tokenize_restore<'a>(
    line: &'a str,
    base: usize,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Token<'a>> {
    // Byte-wise: every character with a meaning here is ASCII, so words split at ASCII bytes
    // and stay valid UTF-8. A word without quotes borrows from the line; a quoted one is built
    // in `buf`.
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(24);
    let mut start: Option<usize> = None;
    let mut buf: Option<Vec<u8>> = None;
    let flush = |out: &mut Vec<Token<'a>>,
                 start: &mut Option<usize>,
                 buf: &mut Option<Vec<u8>>,
                 end: usize| {
        if let Some(s) = start.take() {
            let (text, quoted) = match buf.take() {
                Some(v) => (
                    Cow::Owned(
                        String::from_utf8(v)
                            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                    ),
                    true,
                ),
                None => (Cow::Borrowed(&line[s..end]), false),
            };
            out.push(Token {
                text,
                span: Span::new(base + s, base + end),
                quoted,
            });
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => {
                flush(&mut out, &mut start, &mut buf, i);
                i += 1;
            }
            q @ b'"' => {
                let pos = i;
                let s = *start.get_or_insert(pos);
                let mut v = buf.take().unwrap_or_else(|| b[s..pos].to_vec());
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    let c = b[i];
                    if c == b'\\' && i + 1 < b.len() {
                        v.push(b[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if c == q {
                        closed = true;
                        break;
                    }
                    v.push(c);
                }
                buf = Some(v);
                if closed {
                    // The closing quote ends the word (iptables-restore behaviour).
                    flush(&mut out, &mut start, &mut buf, i);
                } else {
                    diags.push(
                        Diagnostic::error(
                            E_SYNTAX,
                            Span::new(base + pos, base + line.len()),
                            "unterminated double quote",
                        )
                        .expected("a closing \" before the end of the line"),
                    );
                    flush(&mut out, &mut start, &mut buf, line.len());
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(i);
                }
                // The rest of this bare run in one step.
                let end = b[i..]
                    .iter()
                    .position(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'"'))
                    .map_or(b.len(), |n| i + n);
                if b[i] == b'\'' {
                    diags.push(
                        Diagnostic::warning(
                            W_QUOTE,
                            Span::new(base + i, base + end),
                            "single quotes are ordinary characters to iptables-restore",
                        )
                        .note(
                            "the value keeps its quotes (a comment or log prefix two bytes \
                             longer), and a space inside them ends the word; use double quotes",
                        ),
                    );
                }
                if let Some(v) = buf.as_mut() {
                    v.extend_from_slice(&b[i..end]);
                }
                i = end;
            }
        }
    }
    flush(&mut out, &mut start, &mut buf, line.len());
    out
}

/// One command of a shell script: its words, and the span of the whole command.
#[derive(Debug, Clone)]
pub(crate) struct ShellCommand {
    pub words: Vec<Token<'static>>,
    pub span: Span,
    /// The byte range of the here-document fed to the command (`<<EOF` … `EOF`), its lines
    /// without the delimiter line.
    pub heredoc: Option<std::ops::Range<usize>>,
}

/// Split a shell script into simple commands. Supports `'…'`, `"…"` (with `\"`, `\\`, `\$`),
/// backslash escapes and `\`-newline continuations, `#` comments, and `;`, `&&`, `||`, `|`, `&`
/// as separators. Anything fancier (substitutions, variables) is kept literally.
pub(crate) fn tokenize_shell(text: &str, diags: &mut Vec<Diagnostic>) -> Vec<ShellCommand> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut cmds = Vec::new();
    let mut words: Vec<Token<'static>> = Vec::new();
    let mut buf = String::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let mut i = 0;
    let end_word = |words: &mut Vec<Token<'static>>,
                    buf: &mut String,
                    start: &mut Option<usize>,
                    end: usize,
                    quoted: &mut bool| {
        if let Some(s) = start.take() {
            words.push(Token {
                text: Cow::Owned(std::mem::take(buf)),
                span: Span::new(s, end),
                quoted: *quoted,
            });
        }
        *quoted = false;
    };
    let end_cmd = |cmds: &mut Vec<ShellCommand>, words: &mut Vec<Token<'static>>| {
        if !words.is_empty() {
            let span = words[0].span.to(words[words.len() - 1].span);
            cmds.push(ShellCommand {
                words: std::mem::take(words),
                span,
                heredoc: None,
            });
        }
    };
    while i < chars.len() {
        let (pos, c) = chars[i];
        match c {
            '\\' => {
                if i + 1 < chars.len() && chars[i + 1].1 == '\n' {
                    end_word(&mut words, &mut buf, &mut start, pos, &mut quoted);
                    i += 2;
                } else if i + 2 < chars.len() && chars[i + 1].1 == '\r' && chars[i + 2].1 == '\n' {
                    end_word(&mut words, &mut buf, &mut start, pos, &mut quoted);
                    i += 3;
                } else if i + 1 < chars.len() {
                    if start.is_none() {
                        start = Some(pos);
                    }
                    buf.push(chars[i + 1].1);
                    quoted = true;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            ' ' | '\t' | '\r' => {
                end_word(&mut words, &mut buf, &mut start, pos, &mut quoted);
                i += 1;
            }
            '\n' | ';' | '|' | '&' => {
                end_word(&mut words, &mut buf, &mut start, pos, &mut quoted);
                end_cmd(&mut cmds, &mut words);
                i += 1;
            }
            '#' if start.is_none() => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '>' | '<' => {
                // A redirection (`2>/dev/null`, `>>log`, `2>&1`, `<file`) is not an argument of
                // the command; the file descriptor number right before it (`2>`) belongs to it.
                if start.is_some() && !quoted && buf.chars().all(|d| d.is_ascii_digit()) {
                    buf.clear();
                    start = None;
                } else {
                    end_word(&mut words, &mut buf, &mut start, pos, &mut quoted);
                }
                let heredoc = c == '<' && chars.get(i + 1).is_some_and(|n| n.1 == '<');
                i += 1;
                while i < chars.len() && matches!(chars[i].1, '>' | '<' | '&' | '|' | '-') {
                    i += 1;
                }
                while i < chars.len() && matches!(chars[i].1, ' ' | '\t') {
                    i += 1;
                }
                // The file (or here-document delimiter), quotes removed.
                let mut target = String::new();
                while i < chars.len()
                    && !matches!(chars[i].1, ' ' | '\t' | '\n' | ';' | '|' | '&' | '>' | '<')
                {
                    if !matches!(chars[i].1, '\'' | '"') {
                        target.push(chars[i].1);
                    }
                    i += 1;
                }
                if heredoc && !target.is_empty() {
                    // The here-document's lines are input to the command, not commands: skip
                    // them, up to the delimiter line (`<<-`: after leading tabs).
                    let rest = &text[chars.get(i).map_or(text.len(), |c| c.0)..];
                    let body = rest.find('\n').map_or(rest.len(), |n| n + 1);
                    let mut at = body;
                    let mut end = None;
                    let mut body_end = rest.len();
                    for line in rest[body..].split_inclusive('\n') {
                        let line_start = at;
                        at += line.len();
                        if line.trim_end_matches('\n').trim_start_matches('\t') == target {
                            end = Some(at);
                            body_end = line_start;
                            break;
                        }
                    }
                    // The command ends with its line (what follows the delimiter on it is
                    // dropped); lexing resumes after the delimiter line.
                    let base = text.len() - rest.len();
                    let resume = base + end.unwrap_or(rest.len());
                    let fed = !words.is_empty();
                    end_cmd(&mut cmds, &mut words);
                    if fed {
                        if let Some(last) = cmds.last_mut() {
                            last.heredoc = Some(base + body..base + body_end);
                        }
                    }
                    let skip_to = chars.partition_point(|c| c.0 < resume);
                    i = skip_to;
                }
            }
            '\'' | '"' => {
                if start.is_none() {
                    start = Some(pos);
                }
                quoted = true;
                let q = c;
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    let c2 = chars[i].1;
                    if c2 == q {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if q == '"'
                        && c2 == '\\'
                        && i + 1 < chars.len()
                        && matches!(chars[i + 1].1, '"' | '\\' | '$' | '`' | '\n')
                    {
                        if chars[i + 1].1 != '\n' {
                            buf.push(chars[i + 1].1);
                        }
                        i += 2;
                        continue;
                    }
                    buf.push(c2);
                    i += 1;
                }
                if !closed {
                    diags.push(
                        Diagnostic::error(
                            E_SYNTAX,
                            Span::new(pos, text.len()),
                            format!("unterminated {q} quote"),
                        )
                        .expected(format!("a closing {q}")),
                    );
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(pos);
                }
                buf.push(c);
                i += 1;
            }
        }
    }
    end_word(&mut words, &mut buf, &mut start, text.len(), &mut quoted);
    end_cmd(&mut cmds, &mut words);
    cmds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netfilter::save_string;

    fn words(line: &str) -> Vec<String> {
        let mut d = Vec::new();
        tokenize_restore(line, 0, &mut d)
            .into_iter()
            .map(|t| t.text.into_owned())
            .collect()
    }

    #[test]
    fn restore_quotes() {
        assert_eq!(
            words(r#"-A INPUT -m comment --comment "a \"b\"" -j ACCEPT"#)[5],
            "a \"b\""
        );
        assert_eq!(
            words("-A  INPUT\t-j ACCEPT"),
            vec!["-A", "INPUT", "-j", "ACCEPT"]
        );
        assert_eq!(words(r#"--comment "x y"z"#), vec!["--comment", "x y", "z"]);
        assert_eq!(words(r#"--comment """#), vec!["--comment", ""]);
    }

    #[test]
    fn restore_spans_and_borrowing() {
        let mut d = Vec::new();
        let line = "-A IN\u{e9}PUT  -m comment --comment \"caf\u{e9} \\\u{e9}\"x\t-j DROP\r";
        let t = tokenize_restore(line, 100, &mut d);
        assert!(d.is_empty());
        let texts: Vec<&str> = t.iter().map(|t| t.str()).collect();
        assert_eq!(
            texts,
            [
                "-A",
                "IN\u{e9}PUT",
                "-m",
                "comment",
                "--comment",
                "caf\u{e9} \u{e9}",
                "x",
                "-j",
                "DROP"
            ]
        );
        for tok in &t {
            let (s, e) = (tok.span.start as usize - 100, tok.span.end as usize - 100);
            if tok.quoted {
                assert!(line[s..e].starts_with('"') && line[s..e].ends_with('"'));
                assert!(matches!(tok.text, Cow::Owned(_)));
            } else {
                assert_eq!(&line[s..e], tok.str());
                assert!(matches!(tok.text, Cow::Borrowed(_)));
            }
        }
        // A word that starts bare and continues quoted keeps its bare part.
        assert_eq!(words(r#"ab"c d"e"#), vec!["abc d", "e"]);
        // Unterminated: an error, and the rest of the line is the word.
        let mut d = Vec::new();
        let t = tokenize_restore(r#"--comment "a b"#, 0, &mut d);
        assert_eq!(t[1].str(), "a b");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, E_SYNTAX);
    }

    #[test]
    fn single_quotes_are_characters_with_a_warning() {
        let mut d = Vec::new();
        let t = tokenize_restore("--comment 'a b'", 0, &mut d);
        assert_eq!(t.len(), 3);
        assert_eq!(t[1].text, "'a");
        assert_eq!(t[2].text, "b'");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, W_QUOTE);
        let mut d = Vec::new();
        let t = tokenize_restore("--comment 'dapp_OpenSSH'", 0, &mut d);
        assert_eq!(t[1].text, "'dapp_OpenSSH'");
        assert!(!t[1].quoted);
    }

    #[test]
    fn shell_commands() {
        let mut d = Vec::new();
        let c = tokenize_shell(
            "sudo iptables -A INPUT -j ACCEPT; \\\nsudo iptables -P INPUT DROP\n# c\necho 'a b'",
            &mut d,
        );
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].words[4].text, "DROP");
        assert_eq!(c[2].words[1].text, "a b");
    }

    #[test]
    fn save_string_quotes_like_xtables() {
        let mut s = String::new();
        save_string(&mut s, "ssh-in_1");
        save_string(&mut s, "a b");
        save_string(&mut s, "it's \"x\"");
        assert_eq!(s, r#" ssh-in_1 "a b" "it\'s \"x\"""#);
    }
}
