//! One command line (`-A -I -D -R -N -P -F -X -Z -E`), as iptables' `do_command4` reads it
//! (iptables/iptables.c, xshared.c): the command option found wherever getopt permutes it,
//! then applied to the table being built as libiptc would (`iptc_append_entry`,
//! `iptc_insert_entry`, `iptc_delete_entry`, `iptc_create_chain`, ...).

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmdKind {
    Append,
    Insert,
    Delete,
    Replace,
    NewChain,
    Policy,
    Flush,
    DeleteChain,
    Zero,
    Rename,
    /// Read-only commands of scripts (-L, -S, -C, -h, -V).
    ReadOnly,
}

pub(super) fn command_of(t: &Token) -> Option<CmdKind> {
    if t.quoted {
        return None;
    }
    let s = t.str();
    if !s.starts_with('-') {
        return None;
    }
    let long = |name: &str| s.len() > 3 && s.starts_with("--") && name.starts_with(&s[2..]);
    Some(match s {
        "-A" => CmdKind::Append,
        "-I" => CmdKind::Insert,
        "-D" => CmdKind::Delete,
        "-R" => CmdKind::Replace,
        "-N" => CmdKind::NewChain,
        "-P" => CmdKind::Policy,
        "-F" => CmdKind::Flush,
        "-X" => CmdKind::DeleteChain,
        "-Z" => CmdKind::Zero,
        "-E" => CmdKind::Rename,
        "-L" | "-S" | "-C" | "-h" | "-V" => CmdKind::ReadOnly,
        _ if long("append") => CmdKind::Append,
        _ if long("insert") => CmdKind::Insert,
        _ if s == "--delete" => CmdKind::Delete,
        _ if long("delete-chain") && s.len() > "--delete".len() => CmdKind::DeleteChain,
        _ if long("replace") => CmdKind::Replace,
        _ if long("new-chain") => CmdKind::NewChain,
        _ if long("policy") => CmdKind::Policy,
        _ if long("flush") => CmdKind::Flush,
        _ if long("zero") => CmdKind::Zero,
        _ if long("rename-chain") => CmdKind::Rename,
        _ if long("list")
            || long("list-rules")
            || long("check")
            || long("help")
            || long("version") =>
        {
            CmdKind::ReadOnly
        }
        _ => return None,
    })
}

/// Why a command changed nothing. A line stops at its first error.
pub(super) enum Refused {
    /// This diagnostic says why.
    Diag(Diagnostic),
    /// The reasons are already reported (a rule specification's diagnostics).
    Reported,
}

impl From<Diagnostic> for Refused {
    fn from(d: Diagnostic) -> Refused {
        Refused::Diag(d)
    }
}

/// What one command returns: applied, or refused.
pub(super) type CmdResult = Result<(), Refused>;

/// One command line, its command found.
pub(super) struct CommandLine<'t> {
    pub(super) toks: &'t [Token<'t>],
    /// Index of the command option in `toks`.
    pub(super) ci: usize,
    pub(super) kind: CmdKind,
    pub(super) line_span: Span,
    pub(super) counters: Option<Counters>,
    pub(super) family: Family,
    pub(super) script: bool,
}

impl<'t> CommandLine<'t> {
    fn cmd_tok(&self) -> &'t Token<'t> {
        &self.toks[self.ci]
    }
    /// The command's positional arguments follow it directly.
    fn after(&self) -> &'t [Token<'t>] {
        &self.toks[self.ci + 1..]
    }
    fn name(&self) -> &'t str {
        self.cmd_tok().str()
    }
}

/// The chain argument right after the command, if there is one (not an option).
fn take_chain<'t>(after: &'t [Token<'t>]) -> Option<&'t Token<'t>> {
    after
        .first()
        .filter(|t| t.quoted || !t.text.starts_with('-') || t.text.len() == 1)
}

/// Run one command line on table `ti`; a refusal is reported in `st.diags`.
pub(super) fn run_command<'t>(
    st: &mut State,
    ti: usize,
    toks: &'t [Token<'t>],
    line_span: Span,
    counters: Option<Counters>,
    family: Family,
    script: bool,
) {
    let res = find_command(toks, line_span, family, script).and_then(|(ci, kind)| {
        let line = CommandLine {
            toks,
            ci,
            kind,
            line_span,
            counters,
            family,
            script,
        };
        match kind {
            CmdKind::ReadOnly => read_only(&line),
            CmdKind::Append | CmdKind::Insert | CmdKind::Delete | CmdKind::Replace => {
                rule_command(st, ti, &line)
            }
            CmdKind::NewChain => new_chain(st, ti, &line),
            CmdKind::Policy => policy(st, ti, &line),
            CmdKind::Flush | CmdKind::Zero => flush_or_zero(st, ti, &line),
            CmdKind::DeleteChain => delete_chain(st, ti, &line),
            CmdKind::Rename => rename_chain(st, ti, &line),
        }
    });
    if let Err(Refused::Diag(d)) = res {
        st.diags.push(d);
    }
}

/// The command option of a line, wherever it is (getopt permutes), and that the line has
/// exactly one; `-t` is refused in restore input.
fn find_command(
    toks: &[Token<'_>],
    line_span: Span,
    family: Family,
    script: bool,
) -> Result<(usize, CmdKind), Refused> {
    let mut found: Option<(usize, CmdKind)> = None;
    // Options of the match modules loaded so far: as in getopt_long over iptables' merged option
    // table, once `-m policy` is loaded its exact `--pol` is policy's, not an abbreviation of
    // `--policy`; a prefix of both (`--po`) is ambiguous.
    let mut loaded: Vec<&'static [OptSpec]> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if !t.quoted && (t.text == "-m" || t.text == "--match") {
            if let Some(m) = toks
                .get(i + 1)
                .and_then(|n| registry::new_match(n.str(), family))
            {
                loaded.push(m.options());
            }
        }
        let module_opt = if t.quoted || loaded.is_empty() {
            None
        } else {
            t.str()
                .strip_prefix("--")
                .map(|l| l.split('=').next().unwrap_or(l))
        };
        if let Some(name) = module_opt.filter(|n| !n.is_empty()) {
            let exact = loaded.iter().any(|o| o.iter().any(|s| s.name == name));
            if exact {
                i += 1;
                continue;
            }
            let prefix = loaded
                .iter()
                .any(|o| o.iter().any(|s| s.name.starts_with(name)));
            if prefix && command_of(t).is_some() {
                return Err(Diagnostic::error(
                    code::SYNTAX,
                    t.span,
                    format!("option `{}` is ambiguous", t.text),
                )
                .expected("the option's full name")
                .into());
            }
        }
        if let Some(k) = command_of(&toks[i]) {
            if let Some((j, _)) = found {
                return Err(Diagnostic::error(
                    code::COMMAND,
                    toks[i].span,
                    format!("second command `{}` on one line", toks[i].text),
                )
                .expected("one command per line")
                .note(format!("the line already has `{}`", toks[j].text))
                .into());
            }
            found = Some((i, k));
        }
        i += 1;
    }
    let table_option = |t: &&Token<'_>| t.text == "-t" || t.text.starts_with("--table");
    let not_in_restore = |t: &Token<'_>| -> Refused {
        Diagnostic::error(
            code::CONTEXT,
            t.span,
            "-t is not allowed in iptables-restore input",
        )
        .expected("a *table line to select the table")
        .into()
    };
    let Some(found) = found else {
        return Err(match (toks.iter().find(table_option), script) {
            (Some(t), false) => not_in_restore(t),
            _ => {
                // A command typed with a look-alike dash (`–A`) is the likeliest cause.
                let dashed = toks
                    .iter()
                    .find(|t| crate::diag::lookalike_dash(&t.text).is_some());
                let at = dashed.or(toks.first());
                let d = Diagnostic::error(
                    code::COMMAND,
                    at.map(|t| t.span).unwrap_or(line_span),
                    "no command",
                )
                .expected("a command such as -A CHAIN, -I CHAIN, -N CHAIN or -P CHAIN POLICY");
                match dashed {
                    Some(t) => d.pasted_hint(&t.text),
                    None => d,
                }
                .into()
            }
        });
    };
    if !script {
        if let Some(t) = toks.iter().filter(|t| !t.quoted).find(table_option) {
            return Err(not_in_restore(t));
        }
    }
    Ok(found)
}

/// `-L -S -C -h -V`: nothing to apply in a script, refused in restore input.
fn read_only(line: &CommandLine<'_>) -> CmdResult {
    if line.script {
        return Ok(());
    }
    Err(Diagnostic::error(
        code::CONTEXT,
        line.cmd_tok().span,
        format!("`{}` is not allowed in iptables-restore input", line.name()),
    )
    .expected("-A, -I, -D, -R, -N, -P, -F, -X, -Z or -E")
    .into())
}

/// `-A CHAIN`, `-I CHAIN [NUM]`, `-D CHAIN NUM|spec`, `-R CHAIN NUM`: a chain, a rule number,
/// then the rule specification (parsed into one rule per address pair).
fn rule_command(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let (kind, kind_name, cmd_tok, after) = (line.kind, line.name(), line.cmd_tok(), line.after());
    let Some(chain_t) = take_chain(after) else {
        return Err(Diagnostic::error(
            code::MISSING_VALUE,
            after
                .first()
                .map(|t| t.span)
                .unwrap_or(cmd_tok.span.after()),
            format!("option {kind_name} requires a chain name"),
        )
        .expected("a chain name")
        .into());
    };
    let mut k = 1;
    // Optional/required rule number.
    let mut num: Option<(usize, Span)> = None;
    if let Some(t) = after.get(1) {
        if !t.text.is_empty() && t.text.bytes().all(|b| b.is_ascii_digit()) && !t.quoted {
            match t.text.parse::<usize>() {
                Ok(n) if n >= 1 => num = Some((n, t.span)),
                _ => {
                    return Err(Diagnostic::error(
                        code::VALUE,
                        t.span,
                        format!("invalid rule number `{}`", t.text),
                    )
                    .expected("a rule number starting at 1")
                    .into());
                }
            }
            k = 2;
        }
    }
    let before = &line.toks[..line.ci];
    let mut rest: Vec<&Token> = Vec::with_capacity(line.toks.len());
    rest.extend(before);
    rest.extend(&after[k..]);
    let table = &st.tables[ti];
    let chain_name: &str = chain_t.str();
    if !table.has_chain(chain_name) {
        return Err(unknown_chain_diag(
            table,
            chain_name,
            chain_t.span,
            "a chain of table",
            &st.source,
        )
        .into());
    }
    if kind == CmdKind::Replace && num.is_none() {
        return Err(Diagnostic::error(
            code::MISSING_VALUE,
            chain_t.span.after(),
            "-R requires a rule number",
        )
        .expected("-R CHAIN RULENUM rule-specification")
        .into());
    }
    if kind == CmdKind::Append && num.is_some() {
        let s = num.map(|n| n.1).unwrap_or_default();
        return Err(
            Diagnostic::error(code::SYNTAX, s, "-A takes no rule number")
                .expected("-A CHAIN rule-specification (use -I CHAIN NUM to insert at a position)")
                .into(),
        );
    }
    if let (CmdKind::Delete, Some((n, s))) = (kind, num) {
        if let Some(t) = rest
            .iter()
            .find(|t| !before.iter().any(|x| x.span == t.span))
        {
            return Err(Diagnostic::error(
                code::SYNTAX,
                t.span,
                "-D with a rule number takes no rule specification",
            )
            .expected("end of line")
            .into());
        }
        return delete_rule_number(st, ti, chain_name, n, s);
    }
    let rules = parse_rules(st, ti, line, chain_name, &rest)?;
    match kind {
        CmdKind::Append => {
            let c = st.tables[ti].chain_mut(chain_name).expect("checked");
            c.rules.extend(rules);
            Ok(())
        }
        CmdKind::Insert => insert_rules(st, ti, chain_name, num, rules),
        CmdKind::Replace => replace_rule(st, ti, chain_name, num.expect("checked"), rules),
        CmdKind::Delete => delete_rules(st, ti, chain_name, line.line_span, rules),
        _ => unreachable!(),
    }
}

/// The rule specification of a rule command, with the line's `[packets:bytes]` prefix.
fn parse_rules(
    st: &mut State,
    ti: usize,
    line: &CommandLine<'_>,
    chain_name: &str,
    rest: &[&Token],
) -> Result<Vec<Rule>, Refused> {
    let table_ref = &st.tables[ti];
    let mut rp = RuleParser::new(
        line.family,
        table_ref.kind,
        chain_name,
        table_ref,
        line.line_span,
        &st.source,
    );
    rp.backend = st.backend;
    rp.ipsets = st.ipsets.as_deref();
    let r = rp.parse(rest);
    st.diags.append(&mut rp.diags);
    let rules = r.ok_or(Refused::Reported)?;
    Ok(rules
        .into_iter()
        .map(|mut r| {
            if line.counters.is_some() {
                r.counters = line.counters;
            }
            r
        })
        .collect())
}

/// `-D CHAIN NUM`.
fn delete_rule_number(st: &mut State, ti: usize, chain_name: &str, n: usize, s: Span) -> CmdResult {
    let c = st.tables[ti].chain_mut(chain_name).expect("checked");
    if n > c.rules.len() {
        return Err(Diagnostic::error(
            code::COMMAND,
            s,
            format!("chain {chain_name} has no rule {n}"),
        )
        .expected(format!("a rule number from 1 to {}", c.rules.len()))
        .into());
    }
    c.rules.remove(n - 1);
    Ok(())
}

/// `-I CHAIN [NUM]`: at position NUM (default 1), at most one past the last rule; several rules
/// (`-s A,B`) end up in reverse order (kernel-checked in `tests/kernel_commands.rs`).
fn insert_rules(
    st: &mut State,
    ti: usize,
    chain_name: &str,
    num: Option<(usize, Span)>,
    rules: Vec<Rule>,
) -> CmdResult {
    let c = st.tables[ti].chain_mut(chain_name).expect("checked");
    let pos = num.map(|n| n.0).unwrap_or(1);
    if pos > c.rules.len() + 1 {
        let s = num.map(|n| n.1).unwrap_or_default();
        return Err(Diagnostic::error(
            code::COMMAND,
            s,
            format!(
                "index of insertion too big: chain {chain_name} has {} rules",
                c.rules.len()
            ),
        )
        .expected(format!("a position from 1 to {}", c.rules.len() + 1))
        .into());
    }
    // One rule per address combination, each inserted at NUM in turn (`insert_entry` in a
    // loop, both backends): the chain holds them in reverse order.
    for r in rules {
        c.rules.insert(pos - 1, r);
    }
    Ok(())
}

/// `-R CHAIN NUM`: one rule (no address lists) in place of rule NUM.
fn replace_rule(
    st: &mut State,
    ti: usize,
    chain_name: &str,
    (n, s): (usize, Span),
    rules: Vec<Rule>,
) -> CmdResult {
    let c = st.tables[ti].chain_mut(chain_name).expect("checked");
    if n > c.rules.len() || rules.len() != 1 {
        let msg = if rules.len() != 1 {
            "-R needs a rule specification that is a single rule (no address lists)".to_string()
        } else {
            format!("chain {chain_name} has no rule {n}")
        };
        return Err(Diagnostic::error(code::COMMAND, s, msg)
            .expected(format!("a rule number from 1 to {}", c.rules.len()))
            .into());
    }
    c.rules[n - 1] = rules.into_iter().next().expect("one rule");
    Ok(())
}

/// `-D CHAIN spec`: the first rule equal to each rule of the specification, in turn.
fn delete_rules(
    st: &mut State,
    ti: usize,
    chain_name: &str,
    line_span: Span,
    rules: Vec<Rule>,
) -> CmdResult {
    for r in rules {
        let want = printer::rule_body(&r);
        let table = &st.tables[ti];
        let pos = table
            .chain(chain_name)
            .and_then(|c| c.rules.iter().position(|x| printer::rule_body(x) == want));
        let Some(p) = pos else {
            return Err(Diagnostic::error(
                code::COMMAND,
                line_span,
                format!("no such rule in chain {chain_name}"),
            )
            .expected("a rule specification equal to an existing rule")
            .note(format!("looked for: -A {chain_name}{want}"))
            .into());
        };
        st.tables[ti]
            .chain_mut(chain_name)
            .expect("checked")
            .rules
            .remove(p);
    }
    Ok(())
}

/// `-N CHAIN`.
fn new_chain(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let after = line.after();
    let Some(chain_t) = take_chain(after) else {
        return Err(Diagnostic::error(
            code::MISSING_VALUE,
            line.cmd_tok().span.after(),
            "-N requires a chain name",
        )
        .expected("a chain name")
        .into());
    };
    if let Some(t) = after.get(1) {
        return Err(
            Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                .expected("end of line after -N CHAIN")
                .into(),
        );
    }
    check_chain_name(&chain_t.text, chain_t.span)?;
    if registry::is_target_name(&chain_t.text)
        || matches!(chain_t.str(), "ACCEPT" | "DROP" | "RETURN" | "QUEUE")
    {
        return Err(Diagnostic::error(
            code::VALUE,
            chain_t.span,
            format!("chain name `{}` clashes with a target name", chain_t.text),
        )
        .expected("a chain name that is not a target")
        .into());
    }
    let table = &mut st.tables[ti];
    if table.has_chain(&chain_t.text) {
        return Err(duplicate_chain(&chain_t.text, chain_t.span).into());
    }
    table.push_chain(Chain {
        name: chain_t.text.to_string(),
        hook: None,
        policy: None,
        counters: Counters::default(),
        rules: Vec::new(),
        span: line.line_span,
        declared: true,
    });
    Ok(())
}

/// `-P CHAIN ACCEPT|DROP` on a built-in chain.
fn policy(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let after = line.after();
    let (Some(chain_t), Some(pol_t)) = (take_chain(after), after.get(1)) else {
        return Err(Diagnostic::error(
            code::MISSING_VALUE,
            after
                .last()
                .map(|t| t.span.after())
                .unwrap_or(line.cmd_tok().span.after()),
            "-P requires a chain and a policy",
        )
        .expected("-P CHAIN ACCEPT|DROP")
        .into());
    };
    if let Some(t) = after.get(2) {
        return Err(
            Diagnostic::error(code::SYNTAX, t.span, format!("unexpected `{}`", t.text))
                .expected("end of line after -P CHAIN POLICY")
                .into(),
        );
    }
    let table = &mut st.tables[ti];
    let kind_t = table.kind;
    let Some(c) = table.chain_mut(&chain_t.text) else {
        return Err(unknown_chain_diag(
            &st.tables[ti],
            &chain_t.text,
            chain_t.span,
            "a built-in chain of table",
            &st.source,
        )
        .into());
    };
    if c.hook.is_none() {
        return Err(Diagnostic::error(
            code::POLICY,
            chain_t.span,
            format!("user chain `{}` cannot have a policy", chain_t.text),
        )
        .expected(format!("a built-in chain of table {kind_t}"))
        .into());
    }
    c.policy = Some(match pol_t.str() {
        "ACCEPT" => Policy::Accept,
        "DROP" => Policy::Drop,
        other => {
            return Err(Diagnostic::error(
                code::POLICY,
                pol_t.span,
                format!("invalid policy `{other}`"),
            )
            .expected("ACCEPT or DROP")
            .into())
        }
    });
    Ok(())
}

/// `-F [CHAIN]` (rules) and `-Z [CHAIN]` (counters), one chain or all of the table's.
fn flush_or_zero(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let flush = line.kind == CmdKind::Flush;
    // iptables-nft 1.8.9 zeroes a built-in chain in restore input by writing the chain anew,
    // with the policy ACCEPT, whatever it was (kernel hunt: `:INPUT DROP` then `-Z` loads
    // INPUT ACCEPT; a later `-P` or `:INPUT DROP` sets it again; a script's `iptables -Z`
    // and iptables-legacy-restore keep it).
    let resets = !flush && !line.script && st.backend == Backend::Nft;
    let mut reset: Vec<String> = Vec::new();
    let mut clear = |c: &mut Chain| {
        if flush {
            c.rules.clear();
        } else {
            c.counters = Counters::default();
            c.rules.iter_mut().for_each(|r| r.counters = None);
            if resets && c.hook.is_some() && c.policy == Some(Policy::Drop) {
                c.policy = Some(Policy::Accept);
                reset.push(c.name.clone());
            }
        }
    };
    let table = &mut st.tables[ti];
    match take_chain(line.after()) {
        Some(chain_t) => match table.chain_mut(&chain_t.text) {
            Some(c) => clear(c),
            None => {
                return Err(unknown_chain_diag(
                    &st.tables[ti],
                    &chain_t.text,
                    chain_t.span,
                    "a chain of table",
                    &st.source,
                )
                .into())
            }
        },
        None => table.chains.iter_mut().for_each(&mut clear),
    }
    if !reset.is_empty() {
        st.diags.push(
            Diagnostic::warning(
                code::BACKEND,
                line.cmd_tok().span,
                format!(
                    "-Z in restore input sets the policy of {} to ACCEPT (iptables-nft)",
                    reset.join(", ")
                ),
            )
            .note(
                "iptables-nft-restore writes a zeroed built-in chain anew, with the policy \
                 ACCEPT; set the policy after the -Z, or zero the counters with `iptables -Z` \
                 outside the file",
            ),
        );
    }
    Ok(())
}

/// `-X [CHAIN]`: one empty, unreferenced user chain, or every user chain when no built-in
/// chain jumps to one.
fn delete_chain(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let table = &mut st.tables[ti];
    let Some(chain_t) = take_chain(line.after()) else {
        // Delete every user chain (they must not be referenced from built-ins).
        let builtin_refs = table
            .chains
            .iter()
            .filter(|c| c.hook.is_some())
            .flat_map(|c| &c.rules)
            .find_map(|r| r.action.chain_ref().map(|cr| (cr.name.clone(), r.span)));
        if let Some((name, s)) = builtin_refs {
            let line_no = st.source.line_of(s.start as usize);
            return Err(Diagnostic::error(
                code::COMMAND,
                line.cmd_tok().span,
                format!(
                    "cannot delete user chains: chain {name} is referenced from a built-in chain"
                ),
            )
            .expected("no references from built-in chains")
            .note(format!("referenced on line {line_no}"))
            .into());
        }
        table.chains.retain(|c| c.hook.is_some());
        table.reindex();
        return Ok(());
    };
    let name = chain_t.text.to_string();
    let Some(p) = table.position(&name) else {
        return Err(unknown_chain_diag(
            &st.tables[ti],
            &name,
            chain_t.span,
            "a user chain of table",
            &st.source,
        )
        .into());
    };
    if table.chains[p].hook.is_some() {
        return Err(Diagnostic::error(
            code::COMMAND,
            chain_t.span,
            format!("cannot delete built-in chain {name}"),
        )
        .expected("a user chain")
        .into());
    }
    let referenced = table.chains.iter().find_map(|c| {
        c.rules
            .iter()
            .find(|r| r.action.chain_ref().is_some_and(|cr| cr.name == name))
            .map(|r| (c.name.clone(), r.span))
    });
    if let Some((from, s)) = referenced {
        let line_no = st.source.line_of(s.start as usize);
        return Err(Diagnostic::error(
            code::COMMAND,
            chain_t.span,
            format!("cannot delete chain {name}: it is referenced from chain {from}"),
        )
        .expected("a chain no rule jumps to")
        .note(format!("referenced by the rule on line {line_no}"))
        .into());
    }
    if !table.chains[p].rules.is_empty() {
        return Err(Diagnostic::error(
            code::COMMAND,
            chain_t.span,
            format!("cannot delete chain {name}: it is not empty"),
        )
        .expected("an empty chain (flush it with -F first)")
        .into());
    }
    table.chains.remove(p);
    table.reindex();
    Ok(())
}

/// `-E OLD NEW`: a user chain renamed, and every jump to it.
fn rename_chain(st: &mut State, ti: usize, line: &CommandLine<'_>) -> CmdResult {
    let after = line.after();
    let (Some(old_t), Some(new_t)) = (take_chain(after), after.get(1)) else {
        return Err(Diagnostic::error(
            code::MISSING_VALUE,
            line.cmd_tok().span.after(),
            "-E requires the old and the new chain name",
        )
        .expected("-E OLD NEW")
        .into());
    };
    check_chain_name(&new_t.text, new_t.span)?;
    let table = &mut st.tables[ti];
    if table.has_chain(&new_t.text) {
        return Err(duplicate_chain(&new_t.text, new_t.span).into());
    }
    match table.position(&old_t.text) {
        Some(p) if table.chains[p].hook.is_none() => {
            table.chains[p].name = new_t.text.to_string();
            table.reindex();
            for c in &mut table.chains {
                for r in &mut c.rules {
                    if let Action::Jump(cr) | Action::Goto(cr) = &mut r.action {
                        if cr.name == old_t.text {
                            cr.name = new_t.text.to_string();
                        }
                    }
                }
            }
            Ok(())
        }
        Some(_) => {
            Err(
                Diagnostic::error(code::COMMAND, old_t.span, "cannot rename a built-in chain")
                    .expected("a user chain")
                    .into(),
            )
        }
        None => Err(unknown_chain_diag(
            &st.tables[ti],
            &old_t.text,
            old_t.span,
            "a user chain of table",
            &st.source,
        )
        .into()),
    }
}
