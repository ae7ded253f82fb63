//! Shell scripts of `iptables` commands (as guides print them): simple variables expanded
//! (`IPT=/sbin/iptables`, `$IPT -A ...`), each `iptables` call run as one command, lines that
//! look like iptables calls but cannot be understood (loops, command substitution) warned about.

use super::*;

/// `NAME=value` (a shell assignment), split.
pub(super) fn assignment(w: &str) -> Option<(&str, &str)> {
    let (name, value) = w.split_once('=')?;
    let mut c = name.chars();
    let first = c.next()?;
    (first.is_ascii_alphabetic() || first == '_')
        .then_some(())
        .filter(|_| c.all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|_| (name, value))
}

/// The program a command substitution that only looks one up names: `$(which iptables)`,
/// `` `which iptables` ``, `$(command -v ip6tables)`, `$(type -P iptables)` — the path the
/// shell finds, which runs that program.
fn looked_up_program(v: &str) -> Option<&str> {
    let inner = v
        .strip_prefix("$(")
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| v.strip_prefix('`').and_then(|r| r.strip_suffix('`')))?;
    let words: Vec<&str> = inner.split_whitespace().collect();
    let prog = match words.as_slice() {
        ["which", p] | ["command", "-v", p] | ["type", "-p" | "-P", p] => *p,
        _ => return None,
    };
    is_iptables_program(prog.rsplit('/').next().unwrap_or(prog)).map(|_| prog)
}

/// Expands `$NAME` and `${NAME}` in `w` from `vars`. `Err` names the first expansion that
/// cannot be done: an unset variable, a positional or special parameter, `$(…)`, `` `…` ``.
pub(super) fn expand(w: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    if w.contains('`') {
        return Err("`…` (command substitution)".into());
    }
    if !w.contains('$') {
        return Ok(w.to_string());
    }
    let mut out = String::with_capacity(w.len());
    let mut rest = w;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, used) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(j) => (&inner[..j], j + 2),
                None => return Err(format!("${after}")),
            }
        } else if after.starts_with("((") {
            return Err("$((…)) (arithmetic expansion)".into());
        } else if after.starts_with('(') {
            return Err("$(…) (command substitution)".into());
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..n], n)
        };
        if name.is_empty() {
            // `$1`-style names are ASCII; anything else (`$?`, `$é`, a lone `$`) is shown as is.
            let c = after.chars().next().map(String::from).unwrap_or_default();
            return Err(format!("${c}"));
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("${name}"));
        }
        // `${NAME:-default}` / `${NAME-default}`: the default when NAME is unset (or empty).
        let (name, default) = match name.split_once(":-").or_else(|| name.split_once('-')) {
            Some((n, d)) => (n, Some(d)),
            None => (name, None),
        };
        match (vars.get(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) if !d.contains('$') && !d.contains('`') => out.push_str(d),
            _ => return Err(format!("${name}")),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
    Ok(out)
}

/// W005 for a command of the other family's program (`ip6tables` in an IPv4 run).
fn other_family(family: Family, span: Span, program: &str) -> Diagnostic {
    Diagnostic::warning(code::IGNORED, span, format!("{program} command ignored")).note(format!(
        "this run reads {} rules",
        if family == Family::V4 {
            "IPv4 (iptables)"
        } else {
            "IPv6 (ip6tables)"
        }
    ))
}

/// Words that open shell control flow (a loop, a conditional): the commands up to the matching
/// close run repeatedly or conditionally, which fwcheck cannot follow.
const SHELL_OPEN: &[&str] = &["for", "while", "until", "if", "case", "select"];
const SHELL_CLOSE: &[&str] = &["done", "fi", "esac"];
/// Words that continue a construct and may start a line before a command (`do iptables ...`).
const SHELL_CONTINUE: &[&str] = &["do", "then", "else", "elif"];

pub(super) fn parse_script(st: &mut State, region: std::ops::Range<usize>) {
    let source = st.source.clone();
    let shift = region.start as u32;
    let first_diag = st.diags.len();
    let mut cmds = tokenize_shell(&source.text[region], &mut st.diags);
    if shift > 0 {
        let moved = |s: &mut Span| {
            s.start += shift;
            s.end += shift;
        };
        for c in &mut cmds {
            moved(&mut c.span);
            c.words.iter_mut().for_each(|w| moved(&mut w.span));
            if let Some(h) = &mut c.heredoc {
                *h = h.start + shift as usize..h.end + shift as usize;
            }
        }
        st.diags[first_diag..]
            .iter_mut()
            .for_each(|d| moved(&mut d.span));
    }
    let mut ignored_programs: HashMap<String, ()> = HashMap::new();
    // Which iptables programs ran: `iptables-legacy` beside `iptables`/`iptables-nft` builds
    // two rulesets in the kernel (x_tables and nf_tables), both hooked, each judging packets.
    let (mut legacy_at, mut nft_at): (Option<Span>, Option<Span>) = (None, None);
    let mut mixed_warned = false;
    // Shell variables set by simple assignments (`IPT=/sbin/iptables`, `ADMIN=198.51.100.0/24`),
    // expanded in later commands.
    let mut vars: HashMap<String, String> = HashMap::new();
    // Nesting of loops and conditionals around the current command.
    let mut depth = 0usize;
    // `set -e` (`set -o errexit`): the shell stops at the first command that fails.
    let mut errexit = false;
    for cmd in cmds {
        if let [set, opt, rest @ ..] = cmd.words.as_slice() {
            if set.text == "set" {
                let opt = opt.text.as_ref();
                let errexit_o = rest.first().is_some_and(|w| w.text == "errexit");
                match opt {
                    "-o" if errexit_o => errexit = true,
                    "+o" if errexit_o => errexit = false,
                    _ if opt.starts_with('-') && !opt.starts_with("--") => {
                        errexit |= opt.contains('e')
                    }
                    _ if opt.starts_with('+') && opt.contains('e') => errexit = false,
                    _ => {}
                }
            }
        }
        // Assignments alone on a command (also after export/readonly/local/declare).
        let body = match cmd.words.first().map(|w| w.text.as_ref()) {
            Some("export" | "readonly" | "local" | "declare") => &cmd.words[1..],
            _ => &cmd.words[..],
        };
        // `IPT=$(which iptables)` unquoted: the shell keeps the substitution one word.
        if let [first, rest @ ..] = body {
            if let Some((name, value)) = assignment(&first.text) {
                let open = value.starts_with("$(") && !value.ends_with(')')
                    || value.starts_with('`') && (value.len() == 1 || !value.ends_with('`'));
                let whole = std::iter::once(first.text.as_ref())
                    .chain(rest.iter().map(|w| w.text.as_ref()))
                    .collect::<Vec<_>>()
                    .join(" ");
                if open && !rest.is_empty() {
                    if let Some(prog) = whole
                        .split_once('=')
                        .and_then(|(_, v)| looked_up_program(v))
                    {
                        vars.insert(name.to_string(), prog.to_string());
                        continue;
                    }
                }
            }
        }
        if !body.is_empty() && body.iter().all(|w| assignment(&w.text).is_some()) {
            for w in body {
                let (name, value) = assignment(&w.text).expect("checked");
                let value = match looked_up_program(value) {
                    Some(prog) => prog.to_string(),
                    None => expand(value, &vars).unwrap_or_else(|_| value.to_string()),
                };
                vars.insert(name.to_string(), value);
            }
            continue;
        }
        // Expand variables; an unquoted expansion is split into words, as the shell does.
        let mut expanded: Vec<Token<'static>> = Vec::with_capacity(cmd.words.len());
        let mut unexpandable: Option<(String, Span)> = None;
        for w in &cmd.words {
            match expand(&w.text, &vars) {
                Ok(x) if x == w.text => expanded.push(w.clone()),
                Ok(x) if !w.quoted => expanded.extend(x.split_whitespace().map(|part| Token {
                    text: std::borrow::Cow::Owned(part.to_string()),
                    span: w.span,
                    quoted: false,
                })),
                Ok(x) => expanded.push(Token {
                    text: std::borrow::Cow::Owned(x),
                    span: w.span,
                    quoted: true,
                }),
                Err(what) => {
                    unexpandable.get_or_insert((what, w.span));
                    expanded.push(w.clone());
                }
            }
        }
        let mentions_iptables = expanded.iter().any(|w| {
            let last = w.text.rsplit('/').next().unwrap_or(&w.text);
            is_iptables_program(last.trim_start_matches("$(")).is_some()
        });
        let first = expanded
            .first()
            .map(|w| w.text.to_string())
            .unwrap_or_default();
        if SHELL_CLOSE.contains(&first.as_str()) {
            depth = depth.saturating_sub(1);
        }
        let opens = SHELL_OPEN.contains(&first.as_str());
        if opens {
            depth += 1;
        }
        if SHELL_CONTINUE.contains(&first.as_str()) {
            expanded.remove(0);
        }
        if depth > 0 || opens || SHELL_CLOSE.contains(&first.as_str()) {
            if mentions_iptables {
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        cmd.span,
                        "iptables command inside a shell loop or conditional: not applied",
                    )
                    .note(
                        "fwcheck does not run shell loops or conditionals; write the commands \
                         out, or give iptables-save output",
                    ),
                );
            }
            continue;
        }
        if let Some((what, span)) = unexpandable {
            if mentions_iptables {
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        span,
                        format!("cannot expand {what}: this iptables command is not applied"),
                    )
                    .note("only variables set earlier in the script by NAME=value are expanded"),
                );
                continue;
            }
        }
        let mut words = expanded.as_slice();
        // Skip `sudo` and its simple flags, and `VAR=value` assignments.
        while let Some(w) = words.first() {
            if w.text == "sudo" || w.text.contains('=') && !w.text.starts_with('-') {
                words = &words[1..];
                while words.first().is_some_and(|w| w.text.starts_with('-')) {
                    words = &words[1..];
                }
            } else {
                break;
            }
        }
        let Some(prog) = words.first() else { continue };
        let pname = prog
            .text
            .rsplit('/')
            .next()
            .unwrap_or(&prog.text)
            .to_string();
        let Some(fam) = is_iptables_program(&pname) else {
            let restore = pname.ends_with("tables-restore")
                || pname.ends_with("tables-nft-restore")
                || pname.ends_with("tables-legacy-restore");
            if let (true, Some(body)) = (restore, cmd.heredoc.clone()) {
                // The rules are in the script: applied as iptables-restore applies them, one
                // step per COMMIT (flushing each table it names, unless -n/--noflush).
                let fam = if pname.starts_with("ip6") {
                    Family::V6
                } else {
                    Family::V4
                };
                if fam != st.family {
                    st.diags.push(other_family(st.family, prog.span, &pname));
                    continue;
                }
                let noflush = words[1..]
                    .iter()
                    .any(|w| matches!(w.str(), "-n" | "--noflush"));
                let saved = (st.noflush, std::mem::take(&mut st.opened));
                st.noflush = noflush;
                super::restore::parse_restore(st, body, false);
                (st.noflush, st.opened) = saved;
                continue;
            }
            if restore {
                // A ruleset fed to iptables-restore (a here-document, a file): not followed.
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        prog.span,
                        format!("{pname} command not applied"),
                    )
                    .note(
                        "fwcheck does not follow the rules it reads (a here-document or a \
                         file); check that ruleset on its own (fwcheck FILE)",
                    ),
                );
                continue;
            }
            // `$IPT -A INPUT ...` with IPT set by a command substitution fwcheck cannot run:
            // most likely iptables, but not known.
            let from_var = cmd.words.first().is_some_and(|w| w.text.starts_with('$'));
            let looks_like_iptables = words[1..].iter().any(|w| {
                matches!(
                    w.str(),
                    "-A" | "-I"
                        | "-D"
                        | "-R"
                        | "-P"
                        | "-N"
                        | "-F"
                        | "-X"
                        | "-E"
                        | "-Z"
                        | "--append"
                        | "--insert"
                        | "--delete"
                        | "--policy"
                )
            });
            if from_var && looks_like_iptables {
                st.diags.push(
                    Diagnostic::warning(
                        code::IGNORED,
                        cmd.words[0].span,
                        format!(
                            "cannot tell which program `{}` runs: this command is not applied",
                            cmd.words[0].text
                        ),
                    )
                    .note(
                        "set the variable to the program's path or name (IPT=/sbin/iptables) \
                         or to $(which iptables)",
                    ),
                );
                continue;
            }
            if !ignored_programs.contains_key(&pname) {
                ignored_programs.insert(pname.clone(), ());
            }
            continue;
        };
        if pname.ends_with("-legacy") {
            legacy_at.get_or_insert(prog.span);
        } else {
            nft_at.get_or_insert(prog.span);
        }
        if let (Some(_), Some(_), false) = (legacy_at, nft_at, mixed_warned) {
            mixed_warned = true;
            st.diags.push(
                Diagnostic::warning(
                    code::BACKEND,
                    prog.span,
                    "this script runs both iptables-legacy and iptables-nft (or plain iptables, \
                     nft on current systems)",
                )
                .note(
                    "the kernel keeps two rulesets, both hooked: a packet must pass each; \
                     fwcheck merges the commands into one ruleset, so verdicts can differ",
                ),
            );
        }
        if fam != st.family {
            st.diags.push(other_family(st.family, prog.span, &pname));
            continue;
        }
        let args = &words[1..];
        // -t TABLE anywhere in the command.
        let mut table = TableKind::Filter;
        let mut rest: Vec<Token> = Vec::with_capacity(args.len());
        let mut i = 0;
        let mut bad = false;
        while i < args.len() {
            let t = &args[i];
            let (is_t, attached) = match t.str() {
                "-t" | "--table" => (true, None),
                s if s.starts_with("--table=") => (true, Some(s["--table=".len()..].to_string())),
                s if s.starts_with("-t") && s.len() > 2 && !s.starts_with("--") => {
                    (true, Some(s[2..].to_string()))
                }
                _ => (false, None),
            };
            if is_t && !t.quoted {
                let (val, span) = match attached {
                    Some(v) => (v, t.span),
                    None => match args.get(i + 1) {
                        Some(v) => {
                            i += 1;
                            (v.text.to_string(), v.span)
                        }
                        None => {
                            st.diags.push(
                                Diagnostic::error(
                                    code::MISSING_VALUE,
                                    t.span.after(),
                                    "option -t requires a table name",
                                )
                                .expected("filter, nat, mangle, raw or security"),
                            );
                            bad = true;
                            break;
                        }
                    },
                };
                match TableKind::from_name(&val) {
                    Some(k) => table = k,
                    None => {
                        st.diags.push(
                            Diagnostic::error(code::VALUE, span, format!("unknown table `{val}`"))
                                .expected("filter, nat, mangle, raw or security"),
                        );
                        bad = true;
                        break;
                    }
                }
            } else {
                rest.push(t.clone());
            }
            i += 1;
        }
        if bad {
            continue;
        }
        let ti = match st.tables.iter().position(|t| t.kind == table) {
            Some(i) => i,
            None => {
                st.tables.push(TableB::new(table, cmd.span));
                st.tables.len() - 1
            }
        };
        let family = st.family;
        let errors_before = st.error_count();
        let diags_before = st.diags.len();
        let kind = rest.iter().find_map(command_of);
        let changes = kind != Some(CmdKind::ReadOnly);
        match st.refused.iter().find(|d| d.span == cmd.span) {
            // The kernel refuses it at commit: iptables prints the error, nothing changes.
            Some(d) => st.diags.push(d.clone()),
            None => run_command(st, ti, &rest, cmd.span, None, family, true),
        }
        st.step(cmd.span, changes, errors_before);
        // Clean-up before set-up (`iptables -F MYCHAIN 2>/dev/null`, `-X`, `-D … || true`,
        // `-N` of a chain an earlier run left): in a script each command stands alone, so one
        // that finds nothing to remove (or the chain already there) fails, changes nothing,
        // and the script goes on (kernel hunt: such scripts were refused whole) — unless
        // `set -e` stops it there (and no `||` catches the failure).
        let caught = || {
            source.text[cmd.span.end as usize..]
                .trim_start_matches([' ', '\t'])
                .starts_with("||")
        };
        if matches!(
            kind,
            Some(
                CmdKind::Delete
                    | CmdKind::Flush
                    | CmdKind::DeleteChain
                    | CmdKind::Zero
                    | CmdKind::NewChain
            )
        ) && (!errexit || caught())
        {
            for d in &mut st.diags[diags_before..] {
                if d.is_error()
                    && matches!(
                        d.code,
                        code::UNKNOWN_CHAIN | code::COMMAND | code::DUP_CHAIN
                    )
                {
                    d.severity = crate::diag::Severity::Warning;
                    d.notes.push(format!(
                        "this command fails and changes nothing ({} in a restore file): in a \
                         script each iptables command stands alone, iptables prints the error \
                         and the script goes on with the next command",
                        d.code
                    ));
                    d.code = code::IGNORED;
                }
            }
        }
    }
}
