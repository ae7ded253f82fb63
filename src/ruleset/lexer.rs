//! Tokenizers: one for `iptables-restore` lines (libxtables `add_param_to_argv` rules: double
//! quotes with backslash escapes inside them), one for shell command scripts (POSIX-like quoting,
//! `\` line continuations, `;`/`&&`/`||` separators, `#` comments).

use crate::diag::{Diagnostic, Span};

/// One word of a rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub span: Span,
    /// The word was (at least partly) quoted: `"!"` is a value, not negation.
    pub quoted: bool,
}

pub const E_SYNTAX: &str = "E100";
pub const W_QUOTE: &str = "W001";

/// Split one restore-format line (`base` = byte offset of the line in the file).
///
/// Inside double quotes a backslash escapes the next character and the closing quote ends the
/// word, as iptables-restore does. Single quotes are not understood by iptables-restore 1.8 (it
/// keeps them as literal characters); fwcheck reads them as quotes and warns.
pub fn tokenize_restore(line: &str, base: usize, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let bytes: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    let flush = |out: &mut Vec<Token>,
                 buf: &mut String,
                 start: &mut Option<usize>,
                 end: usize,
                 quoted: &mut bool| {
        if let Some(s) = start.take() {
            out.push(Token {
                text: std::mem::take(buf),
                span: Span::new(base + s, base + end),
                quoted: *quoted,
            });
        }
        *quoted = false;
    };
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                flush(&mut out, &mut buf, &mut start, pos, &mut quoted);
                i += 1;
            }
            '"' | '\'' => {
                let q = c;
                if start.is_none() {
                    start = Some(pos);
                }
                quoted = true;
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    let (p2, c2) = bytes[i];
                    if q == '"' && c2 == '\\' && i + 1 < bytes.len() {
                        buf.push(bytes[i + 1].1);
                        i += 2;
                        continue;
                    }
                    if c2 == q {
                        closed = true;
                        i += 1;
                        // The closing quote ends the word (iptables-restore behaviour).
                        flush(&mut out, &mut buf, &mut start, p2 + 1, &mut quoted);
                        break;
                    }
                    buf.push(c2);
                    i += 1;
                }
                if !closed {
                    let s = start.unwrap_or(pos);
                    diags.push(
                        Diagnostic::error(
                            E_SYNTAX,
                            Span::new(base + pos, base + line.len()),
                            format!(
                                "unterminated {} quote",
                                if q == '"' { "double" } else { "single" }
                            ),
                        )
                        .expected(format!("a closing {q} before the end of the line")),
                    );
                    let _ = s;
                    flush(&mut out, &mut buf, &mut start, line.len(), &mut quoted);
                } else if q == '\'' {
                    diags.push(
                        Diagnostic::warning(
                            W_QUOTE,
                            Span::new(base + pos, base + out.last().map(|t| t.span.end as usize - base).unwrap_or(line.len())),
                            "single quotes are not understood by iptables-restore",
                        )
                        .note("iptables-restore 1.8 keeps ' as a literal character and fails on this line; use double quotes"),
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
    flush(&mut out, &mut buf, &mut start, line.len(), &mut quoted);
    out
}

/// One command of a shell script: its words, and the span of the whole command.
#[derive(Debug, Clone)]
pub struct ShellCommand {
    pub words: Vec<Token>,
    pub span: Span,
}

/// Split a shell script into simple commands. Supports `'…'`, `"…"` (with `\"`, `\\`, `\$`),
/// backslash escapes and `\`-newline continuations, `#` comments, and `;`, `&&`, `||`, `|`, `&`
/// as separators. Anything fancier (substitutions, variables) is kept literally.
pub fn tokenize_shell(text: &str, diags: &mut Vec<Diagnostic>) -> Vec<ShellCommand> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut cmds = Vec::new();
    let mut words: Vec<Token> = Vec::new();
    let mut buf = String::new();
    let mut start: Option<usize> = None;
    let mut quoted = false;
    let mut i = 0;
    let end_word = |words: &mut Vec<Token>,
                    buf: &mut String,
                    start: &mut Option<usize>,
                    end: usize,
                    quoted: &mut bool| {
        if let Some(s) = start.take() {
            words.push(Token {
                text: std::mem::take(buf),
                span: Span::new(s, end),
                quoted: *quoted,
            });
        }
        *quoted = false;
    };
    let end_cmd = |cmds: &mut Vec<ShellCommand>, words: &mut Vec<Token>| {
        if !words.is_empty() {
            let span = words[0].span.to(words[words.len() - 1].span);
            cmds.push(ShellCommand {
                words: std::mem::take(words),
                span,
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

/// Print a string value as `xtables_save_string` does: bare when it consists only of
/// `[A-Za-z0-9_-]`, else double-quoted with `"`, `\` and `'` escaped by a backslash.
pub fn save_string(out: &mut String, value: &str) {
    out.push(' ');
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut d = Vec::new();
        tokenize_restore(line, 0, &mut d)
            .into_iter()
            .map(|t| t.text)
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
    fn single_quotes_warn() {
        let mut d = Vec::new();
        let t = tokenize_restore("--comment 'a b'", 0, &mut d);
        assert_eq!(t[1].text, "a b");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, W_QUOTE);
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
