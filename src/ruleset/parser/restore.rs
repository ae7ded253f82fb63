//! The `iptables-restore` file format (iptables-restore.c: `*table` lines, `:CHAIN POLICY
//! [packets:bytes]` declarations, `COMMIT`, `[packets:bytes]` rule prefixes), each command line
//! handed to `super::command`.

use super::*;

/// Restore input in `region` of the source, applied to `st`.
/// `columns`: the text is the file iptables-restore reads, so a line's first column decides
/// what it is (below); a here-document in a script passes `false`, as `<<-` strips its tabs.
pub(super) fn parse_restore(st: &mut State, region: std::ops::Range<usize>, columns: bool) {
    let source = st.source.clone();
    let text = &source.text[region.clone()];
    let mut errors_before = st.error_count();
    // Index of the open table in `st.tables` (`None` for an unknown table, whose lines are
    // skipped), and the span of its `*table` line.
    let mut open: Option<(Option<usize>, Span)> = None;
    // Chain names declared anywhere in each table block, to explain use-before-declare.
    let mut offset = region.start;
    for raw_line in text.split('\n') {
        let base = offset;
        offset += raw_line.len() + 1;
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let trimmed = trimmed.trim_end();
        // iptables-restore reads a line by its first byte (xtables-restore.c
        // `xtables_restore_parse_line`, iptables-restore.c): an empty line and a `#` line are
        // skipped, `*`, `:` and `COMMIT` are recognised only in the first column, and anything
        // else is a command line, whose words may be indented. So a line of blanks is a
        // command line without a command, and an indented `# ...`, `COMMIT`, `*table` or
        // `:chain` is a command line whose first word is no option: all refused.
        if trimmed.is_empty() && !(columns && lead > 0) {
            continue;
        }
        if trimmed.starts_with('#') && !(columns && lead > 0) {
            continue;
        }
        if columns
            && lead > 0
            && (trimmed.is_empty()
                || trimmed.starts_with(['#', '*', ':'])
                || trimmed.starts_with("COMMIT"))
        {
            let (at, what) = if trimmed.is_empty() {
                (
                    Span::new(base, base + line.len()),
                    "a line of blanks is a command line without a command".to_string(),
                )
            } else {
                let word = trimmed.split_whitespace().next().unwrap_or(trimmed);
                (
                    Span::new(base + lead, base + lead + word.len()),
                    format!("`{word}` is recognised only in the first column"),
                )
            };
            st.diags.push(
                Diagnostic::error(code::SYNTAX, at, what)
                    .expected("an empty line, or the line without its leading blanks")
                    .note("iptables-restore refuses it (\"no command specified\" or \"Bad argument\")"),
            );
            continue;
        }
        let line_span = Span::new(base + lead, base + lead + trimmed.len());
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some((_, s)) = open {
                st.diags.push(
                    Diagnostic::error(code::NO_COMMIT, s, "table is never committed")
                        .expected("COMMIT before the next *table line")
                        .note("iptables-restore applies a table only at its COMMIT line"),
                );
            }
            let name_span = Span::new(line_span.start as usize + 1, line_span.end as usize);
            let name = name.trim();
            errors_before = st.error_count();
            match TableKind::from_name(name) {
                Some(kind) => {
                    let existing = st.tables.iter().position(|t| t.kind == kind);
                    let again = st.opened.contains(&kind);
                    st.opened.push(kind);
                    if let (Some(i), true) = (existing, st.noflush) {
                        // --noflush: the table stays; its chains may be declared again.
                        st.tables[i]
                            .chains
                            .iter_mut()
                            .for_each(|c| c.declared = false);
                        st.tables[i].span = line_span;
                        open = Some((Some(i), line_span));
                    } else if let (Some(i), false) = (existing, again) {
                        // A table of the ruleset this input is applied to: flushed.
                        st.tables[i] = TableB::new(kind, line_span);
                        open = Some((Some(i), line_span));
                    } else if let Some(i) = existing {
                        st.diags.push(
                            Diagnostic::warning(
                                code::TABLE_REPLACED,
                                line_span,
                                format!("second *{name} block replaces the first"),
                            )
                            .note("iptables-restore flushes a table at each of its *table lines"),
                        );
                        st.tables[i] = TableB::new(kind, line_span);
                        open = Some((Some(i), line_span));
                    } else {
                        st.tables.push(TableB::new(kind, line_span));
                        open = Some((Some(st.tables.len() - 1), line_span));
                    }
                }
                None => {
                    st.diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            name_span,
                            format!("unknown table `{name}`"),
                        )
                        .expected("one of filter, nat, mangle, raw, security"),
                    );
                    open = Some((None, line_span));
                }
            }
            continue;
        }
        if trimmed == "COMMIT" {
            match open {
                None => st.diags.push(
                    Diagnostic::error(code::NO_TABLE, line_span, "COMMIT outside a table")
                        .expected("a *table line before COMMIT"),
                ),
                Some((_, s)) => st.step(s.to(line_span), true, errors_before),
            }
            open = None;
            continue;
        }
        let ti = match open {
            Some((Some(ti), _)) => ti,
            Some((None, _)) => continue,
            None => {
                st.diags.push(
                    Diagnostic::error(code::NO_TABLE, line_span, "line outside a table")
                        .expected("a *filter (or *nat, *mangle, *raw, *security) line first"),
                );
                continue;
            }
        };
        if trimmed.starts_with(':') {
            parse_chain_decl(st, ti, trimmed, line_span);
            continue;
        }
        let mut toks = tokenize_restore(trimmed, line_span.start as usize, &mut st.diags);
        if toks.is_empty() {
            continue;
        }
        // `[pkts:bytes]` prefix.
        let mut counters = None;
        if toks[0].text.starts_with('[') {
            match parse_counters(&toks[0].text) {
                Some(c) => counters = Some(c),
                None => {
                    st.diags.push(
                        Diagnostic::error(
                            code::SYNTAX,
                            toks[0].span,
                            format!("invalid counters `{}`", toks[0].text),
                        )
                        .expected("[PACKETS:BYTES]"),
                    );
                    continue;
                }
            }
            toks.remove(0);
        }
        if toks.is_empty() {
            st.diags.push(
                Diagnostic::error(code::SYNTAX, line_span.after(), "counters without a rule")
                    .expected("a command such as -A CHAIN after the counters"),
            );
            continue;
        }
        if !toks[0].text.starts_with('-') && toks[0].text != "!" {
            st.diags.push(
                Diagnostic::error(code::SYNTAX, toks[0].span, format!("unexpected `{}`", toks[0].text))
                    .expected("*TABLE, :CHAIN POLICY [p:b], a command such as -A CHAIN …, COMMIT, or a # comment")
                    .pasted_hint(&toks[0].text),
            );
            continue;
        }
        let family = st.family;
        run_command(st, ti, &toks, line_span, counters, family, false);
    }
    if let Some((_, s)) = open {
        st.diags.push(
            Diagnostic::error(code::NO_COMMIT, s, "table is never committed")
                .expected("a COMMIT line at the end of the table")
                .note("iptables-restore applies a table only at its COMMIT line"),
        );
    }
}

pub(super) fn parse_counters(t: &str) -> Option<Counters> {
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    if p.is_empty()
        || b.is_empty()
        || !p.bytes().all(|c| c.is_ascii_digit())
        || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

pub(super) fn parse_chain_decl(st: &mut State, ti: usize, line: &str, span: Span) {
    let mut d = Vec::new();
    let toks = tokenize_restore(&line[1..], span.start as usize + 1, &mut d);
    st.diags.extend(d);
    let Some(name_t) = toks.first() else {
        st.diags.push(
            Diagnostic::error(code::SYNTAX, span, "chain declaration without a name")
                .expected(":NAME POLICY [PACKETS:BYTES]"),
        );
        return;
    };
    let name = name_t.text.to_string();
    if let Err(e) = check_chain_name(&name, name_t.span) {
        st.diags.push(e);
        return;
    }
    // iptables-restore refuses the standard verdicts as chain names (nft: "chain name may not
    // clash with target name"; legacy: "error creating chain 'DROP': File exists"); unlike
    // `iptables -N`, it takes extension target names (`:LOG - [0:0]`). Checked with 1.8.9.
    if matches!(name.as_str(), "ACCEPT" | "DROP" | "RETURN" | "QUEUE") {
        st.diags.push(
            Diagnostic::error(
                code::VALUE,
                name_t.span,
                format!("chain name `{name}` clashes with a target name"),
            )
            .expected("a chain name that is not ACCEPT, DROP, RETURN or QUEUE"),
        );
        return;
    }
    let Some(pol_t) = toks.get(1) else {
        st.diags.push(
            Diagnostic::error(
                code::POLICY,
                name_t.span.after(),
                format!("chain `{name}` has no policy"),
            )
            .expected("ACCEPT or DROP for a built-in chain, - for a user chain"),
        );
        return;
    };
    let counters = match toks.get(2) {
        Some(t) => match parse_counters(&t.text) {
            Some(c) => c,
            None => {
                st.diags.push(
                    Diagnostic::error(
                        code::SYNTAX,
                        t.span,
                        format!("invalid counters `{}`", t.text),
                    )
                    .expected("[PACKETS:BYTES]"),
                );
                return;
            }
        },
        None => Counters::default(),
    };
    if let Some(t) = toks.get(3) {
        st.diags.push(
            Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                .expected("end of line after the counters"),
        );
        return;
    }
    let table = &mut st.tables[ti];
    let kind = table.kind;
    let builtin = kind.builtin_hooks().iter().any(|h| h.chain_name() == name);
    if let Some(existing) = table.chain_mut(&name) {
        if existing.declared {
            let prev = existing.span;
            let prev_line = st.source.line_of(prev.start as usize);
            st.diags.push(
                Diagnostic::error(
                    code::DUP_CHAIN,
                    name_t.span,
                    format!("chain `{name}` is declared twice"),
                )
                .expected("each chain declared once per table")
                .note(format!("first declared on line {prev_line}")),
            );
            return;
        }
    }
    if builtin {
        let policy = match pol_t.str() {
            "ACCEPT" => Policy::Accept,
            "DROP" => Policy::Drop,
            other => {
                st.diags.push(
                    Diagnostic::error(
                        code::POLICY,
                        pol_t.span,
                        format!("invalid policy `{other}` for built-in chain {name}"),
                    )
                    .expected("ACCEPT or DROP (a built-in chain's policy can only accept or drop)"),
                );
                return;
            }
        };
        let c = table.chain_mut(&name).expect("built-in chain exists");
        c.policy = Some(policy);
        c.counters = counters;
        c.span = span;
        c.declared = true;
    } else {
        if pol_t.text != "-" {
            st.diags.push(
                Diagnostic::error(
                    code::POLICY,
                    pol_t.span,
                    format!("user chain `{name}` cannot have a policy"),
                )
                .expected(format!(
                    "`-` (only the built-in chains of table {kind} have policies)"
                )),
            );
            return;
        }
        if let Some(c) = table.chain_mut(&name) {
            // iptables-restore --noflush flushes a declared user chain that exists.
            c.rules.clear();
            c.counters = counters;
            c.span = span;
            c.declared = true;
            return;
        }
        table.push_chain(Chain {
            name,
            hook: None,
            policy: None,
            counters,
            rules: Vec::new(),
            span,
            declared: true,
        });
    }
}

/// `-N`/`-E` naming a chain that already exists.
pub(super) fn duplicate_chain(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        code::DUP_CHAIN,
        span,
        format!("chain `{name}` already exists"),
    )
    .expected("a new chain name")
}

pub(super) fn check_chain_name(name: &str, span: Span) -> Result<(), Diagnostic> {
    if name.len() >= 29 {
        return Err(Diagnostic::error(
            code::VALUE,
            span,
            format!("chain name `{name}` is too long"),
        )
        .expected("a chain name of at most 28 characters"));
    }
    if name.starts_with('-') || name.starts_with('!') || name.is_empty() {
        return Err(
            Diagnostic::error(code::VALUE, span, format!("invalid chain name `{name}`"))
                .expected("a chain name not starting with - or !"),
        );
    }
    Ok(())
}
