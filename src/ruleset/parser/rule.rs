//! One rule specification (what follows `-A CHAIN`): iptables' option parsing for a rule
//! (xshared.c `command_default`, libxtables' getopt_long over the merged option table of the
//! loaded modules, newest first), generic options (`-p -s -d -i -o -f -j -g`), implicit
//! protocol matches, address lists expanding into several rules.

use super::*;

/// Most rules one line may expand into through `-s`/`-d` address lists (E113).
pub(super) const MAX_EXPANSION: usize = 100_000;

/// Who owns an option in the merged getopt table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Generic(Gen),
    Match(usize),
    Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gen {
    Src,
    Dst,
    Proto,
    InIface,
    OutIface,
    Jump,
    Goto,
    Match,
    Frag,
    Counters,
    V4,
    V6,
    /// Flags that do not change a rule (`-v`, `-w`, …).
    Noop,
    /// `-n`, `-x`, `--line-numbers`: options of the listing commands, which iptables'
    /// `generic_opt_check` (xshared.c, `commands_v_options`) refuses with a rule command
    /// ("Illegal option `-n' with this command"). The letter is iptables' name for it.
    ListOnly(char),
    /// A command's long name (`--append`, `--delete`, `--list`, …) or `--table`: in
    /// iptables' getopt table beside the rule options, so an abbreviation that is also a
    /// prefix of one of them (`--d`: `--delete`, `--destination`) is ambiguous.
    Command,
    NoopArg,
    /// `-w`/`--wait` with an optional number of seconds (`-w`, `-w 5`, `--wait=5`: iptables'
    /// `parse_wait_time` takes the next word when it does not start with `-`).
    NoopOptArg,
}

const GENERIC_LONG: &[(&str, Gen)] = &[
    ("source", Gen::Src),
    ("src", Gen::Src),
    ("destination", Gen::Dst),
    ("dst", Gen::Dst),
    ("protocol", Gen::Proto),
    ("in-interface", Gen::InIface),
    ("out-interface", Gen::OutIface),
    ("jump", Gen::Jump),
    ("goto", Gen::Goto),
    ("match", Gen::Match),
    ("fragment", Gen::Frag),
    ("fragments", Gen::Frag),
    ("set-counters", Gen::Counters),
    ("ipv4", Gen::V4),
    ("ipv6", Gen::V6),
    ("verbose", Gen::Noop),
    ("numeric", Gen::ListOnly('n')),
    ("exact", Gen::ListOnly('x')),
    ("line-numbers", Gen::ListOnly('0')),
    ("wait", Gen::NoopOptArg),
    ("wait-interval", Gen::NoopArg),
    ("modprobe", Gen::NoopArg),
    // The commands of iptables' `original_opts` (xshared.c), never a rule option here: the
    // line's command is found before its rule is parsed (`command::find_command`).
    ("append", Gen::Command),
    ("delete", Gen::Command),
    ("check", Gen::Command),
    ("insert", Gen::Command),
    ("replace", Gen::Command),
    ("list", Gen::Command),
    ("list-rules", Gen::Command),
    ("flush", Gen::Command),
    ("zero", Gen::Command),
    ("new-chain", Gen::Command),
    ("delete-chain", Gen::Command),
    ("rename-chain", Gen::Command),
    ("policy", Gen::Command),
    ("table", Gen::Command),
    ("version", Gen::Command),
    ("help", Gen::Command),
];

pub(super) fn generic_short(c: char) -> Option<Gen> {
    Some(match c {
        's' => Gen::Src,
        'd' => Gen::Dst,
        'p' => Gen::Proto,
        'i' => Gen::InIface,
        'o' => Gen::OutIface,
        'j' => Gen::Jump,
        'g' => Gen::Goto,
        'm' => Gen::Match,
        'f' => Gen::Frag,
        'c' => Gen::Counters,
        '4' => Gen::V4,
        '6' => Gen::V6,
        'v' => Gen::Noop,
        'n' | 'x' => Gen::ListOnly(c),
        'w' => Gen::NoopOptArg,
        'W' | 'M' => Gen::NoopArg,
        _ => return None,
    })
}

pub(super) fn gen_arg(g: Gen) -> bool {
    !matches!(
        g,
        Gen::Frag | Gen::V4 | Gen::V6 | Gen::Noop | Gen::ListOnly(_) | Gen::Command
    )
}

pub(super) fn gen_invertible(g: Gen) -> bool {
    matches!(
        g,
        Gen::Src | Gen::Dst | Gen::Proto | Gen::InIface | Gen::OutIface | Gen::Frag
    )
}

pub(super) struct LoadedMatch {
    pub(super) module: Box<dyn Match>,
    pub(super) span: Span,
    pub(super) implicit: bool,
    pub(super) seen: Vec<u8>,
}

pub(super) enum TargetSel {
    Standard(Action),
    Ext(Box<dyn Target>, Vec<u8>),
}

pub(super) struct RuleParser<'a> {
    pub(super) backend: Backend,
    pub(super) family: Family,
    pub(super) table: TableKind,
    pub(super) chain: &'a str,
    pub(super) table_state: &'a TableB,
    pub(super) line_span: Span,
    pub(super) source: &'a SourceFile,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) src: Vec<AddrMask>,
    pub(super) src_inv: bool,
    pub(super) dst: Vec<AddrMask>,
    pub(super) dst_inv: bool,
    pub(super) src_span: Option<Span>,
    pub(super) dst_span: Option<Span>,
    pub(super) iniface: Option<IfaceMatch>,
    pub(super) outiface: Option<IfaceMatch>,
    pub(super) proto: Option<(u8, bool)>,
    pub(super) proto_span: Option<Span>,
    pub(super) frag: Option<bool>,
    pub(super) counters: Option<Counters>,
    pub(super) matches: Vec<LoadedMatch>,
    pub(super) target: Option<(TargetSel, Span)>,
    pub(super) goto: bool,
    /// Load order: newest last.
    pub(super) order: Vec<Owner>,
    pub(super) implicit_loaded: bool,
    pub(super) skip_rule: bool,
    /// The host's sets, when known (`ParseOptions::ipsets`).
    pub(super) ipsets: Option<&'a IpSets>,
}

pub(super) struct Resolved<'t> {
    pub(super) owner: Owner,
    pub(super) opt: Option<OptSpec>,
    pub(super) gen: Option<Gen>,
    /// A value attached to the option (`--dport=22`, `-ptcp`).
    pub(super) attached: Option<(&'t str, Span)>,
}

impl<'a> RuleParser<'a> {
    pub(super) fn new(
        family: Family,
        table: TableKind,
        chain: &'a str,
        table_state: &'a TableB,
        line_span: Span,
        source: &'a SourceFile,
    ) -> Self {
        RuleParser {
            backend: Backend::Nft,
            family,
            table,
            chain,
            table_state,
            line_span,
            source,
            diags: Vec::new(),
            src: Vec::new(),
            src_inv: false,
            dst: Vec::new(),
            dst_inv: false,
            src_span: None,
            dst_span: None,
            iniface: None,
            outiface: None,
            proto: None,
            proto_span: None,
            frag: None,
            counters: None,
            matches: Vec::new(),
            target: None,
            goto: false,
            order: Vec::new(),
            implicit_loaded: false,
            skip_rule: false,
            ipsets: None,
        }
    }

    pub(super) fn err(&mut self, d: Diagnostic) -> Option<Vec<Rule>> {
        self.diags.push(d);
        None
    }

    /// Resolve an option token against the merged option table (getopt_long rules).
    pub(super) fn resolve<'t>(&self, tok: &'t Token) -> Result<Option<Resolved<'t>>, Diagnostic> {
        let text = tok.str();
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => {
                    let vs = Span::new(
                        tok.span.start as usize + 2 + n.len() + 1,
                        tok.span.end as usize,
                    );
                    (n, Some((v, vs)))
                }
                None => (long, None),
            };
            if name.is_empty() {
                return Ok(None);
            }
            // Candidates in precedence order: generic, then newest module first.
            if let Some((o, opt, g, _)) = self.candidates().find(|c| c.3 == name) {
                return Ok(Some(Resolved {
                    owner: o,
                    opt,
                    gen: g,
                    attached,
                }));
            }
            // An unknown module's options are unknown too: an unclaimed `--set` after
            // `-m frob` is frob's, not an abbreviation of a generic option such as
            // `--set-counters`.
            let unknown_loaded = self.order.iter().any(|o| match o {
                Owner::Match(i) => self.matches[*i].module.is_unknown(),
                Owner::Target => {
                    matches!(&self.target, Some((TargetSel::Ext(t, _), _)) if t.is_unknown())
                }
                Owner::Generic(_) => false,
            });
            if unknown_loaded {
                return Ok(None);
            }
            let mut pref = self.candidates().filter(|c| c.3.starts_with(name));
            let Some(first) = pref.next() else {
                return Ok(None);
            };
            let same = |c: &(Owner, Option<OptSpec>, Option<Gen>, &str)| {
                c.0 == first.0 && c.1.map(|o| o.id) == first.1.map(|o| o.id) && c.2 == first.2
            };
            if !pref.all(|c| same(&c)) {
                let names: Vec<String> = self
                    .candidates()
                    .filter(|c| c.3.starts_with(name))
                    .map(|c| format!("--{}", c.3))
                    .collect();
                return Err(Diagnostic::error(
                    code::SYNTAX,
                    tok.span,
                    format!("option `{text}` is ambiguous"),
                )
                .expected(format!("one of {}", names.join(", "))));
            }
            return Ok(Some(Resolved {
                owner: first.0,
                opt: first.1,
                gen: first.2,
                attached,
            }));
        }
        if let Some(short) = text.strip_prefix('-') {
            let mut chars = short.chars();
            let Some(c) = chars.next() else {
                return Ok(None);
            };
            let Some(g) = generic_short(c) else {
                return Ok(None);
            };
            let rest = chars.as_str();
            let attached = if rest.is_empty() {
                None
            } else if gen_arg(g) {
                Some((
                    rest,
                    Span::new(tok.span.start as usize + 2, tok.span.end as usize),
                ))
            } else {
                return Ok(None);
            };
            return Ok(Some(Resolved {
                owner: Owner::Generic(g),
                opt: None,
                gen: Some(g),
                attached,
            }));
        }
        Ok(None)
    }

    /// The merged getopt option table in precedence order: generic options, then the options of
    /// loaded modules and the target, newest first.
    pub(super) fn candidates(
        &self,
    ) -> impl Iterator<Item = (Owner, Option<OptSpec>, Option<Gen>, &'static str)> + '_ {
        let generic = GENERIC_LONG
            .iter()
            .map(|(n, g)| (Owner::Generic(*g), None, Some(*g), *n));
        let loaded = self.order.iter().rev().flat_map(move |o| {
            let opts: &'static [OptSpec] = match o {
                Owner::Match(i) => self.matches[*i].module.options(),
                Owner::Target => match &self.target {
                    Some((TargetSel::Ext(t, _), _)) => t.options(),
                    _ => &[],
                },
                Owner::Generic(_) => &[],
            };
            opts.iter().map(move |opt| (*o, Some(*opt), None, opt.name))
        });
        generic.chain(loaded)
    }

    /// Which registered modules offer an option (for "did you forget -m" hints).
    pub(super) fn modules_offering(&self, name: &str) -> Vec<&'static str> {
        registry::matches_with_option(name, self.family)
    }

    pub(super) fn parse(&mut self, toks: &[&Token]) -> Option<Vec<Rule>> {
        let mut i = 0;
        let mut pending_inv: Option<Span> = None;
        while i < toks.len() {
            let tok = toks[i];
            if tok.text == "!" && !tok.quoted {
                if let Some(prev) = pending_inv {
                    return self.err(
                        Diagnostic::error(code::SYNTAX, tok.span, "multiple `!` in a row")
                            .expected("an option after `!`")
                            .note(format!(
                                "first `!` at column {}",
                                self.source.line_col(prev.start as usize).1
                            )),
                    );
                }
                pending_inv = Some(tok.span);
                i += 1;
                continue;
            }
            if !tok.text.starts_with('-') || tok.quoted || tok.text == "-" {
                return self.err(
                    Diagnostic::error(code::SYNTAX, tok.span, format!("unexpected `{}`", tok.text))
                        .expected("an option such as -p, -m MODULE, --dport or -j TARGET")
                        .pasted_hint(&tok.text),
                );
            }
            let resolved = match self.resolve(tok) {
                Ok(r) => r,
                Err(d) => return self.err(d),
            };
            let resolved = match resolved {
                Some(r) => r,
                None => {
                    // Implicit protocol match (`-p tcp --dport 22` without `-m tcp`).
                    if let (Some((p, false)), false) = (self.proto, self.implicit_loaded) {
                        let name = tok.text.trim_start_matches('-');
                        let name = name.split('=').next().unwrap_or(name);
                        let offers = |m: &dyn Match| {
                            !name.is_empty() && m.options().iter().any(|o| o.name.starts_with(name))
                        };
                        if let Some(m) =
                            registry::proto_match(p, self.family).filter(|m| offers(m.as_ref()))
                        {
                            let idx = self.matches.len();
                            self.matches.push(LoadedMatch {
                                module: m,
                                span: tok.span,
                                implicit: true,
                                seen: Vec::new(),
                            });
                            self.order.push(Owner::Match(idx));
                            self.implicit_loaded = true;
                            continue; // retry this token
                        }
                    }
                    // An unknown module swallows options no one else claims.
                    if let Some(idx) = self.last_unknown_match() {
                        i = self.swallow_unknown(idx, toks, i, pending_inv.take());
                        continue;
                    }
                    if let Some((TargetSel::Ext(t, _), _)) = &self.target {
                        if t.is_unknown() {
                            i = self.swallow_unknown_target(toks, i, pending_inv.take());
                            continue;
                        }
                    }
                    let name = tok.text.trim_start_matches('-');
                    let name = name.split('=').next().unwrap_or(name);
                    let offering = self.modules_offering(name);
                    let mut d = Diagnostic::error(
                        code::NO_MODULE,
                        tok.span,
                        format!("unknown option `{}`", tok.text),
                    );
                    if offering.is_empty() {
                        d = d.expected("a generic option (-s -d -i -o -p -f -m -j -g) or an option of a loaded module");
                    } else {
                        let mods: Vec<String> =
                            offering.iter().map(|m| format!("-m {m}")).collect();
                        d = d
                            .expected(format!("{} before `{}`", mods.join(" or "), tok.text))
                            .note(format!(
                                "`{}` belongs to {}, which this rule does not load",
                                tok.text,
                                mods.join(" / ")
                            ));
                        if offering.iter().any(|m| {
                            matches!(*m, "tcp" | "udp" | "sctp" | "dccp" | "icmp" | "icmp6")
                        }) && self.proto.is_none()
                        {
                            d = d.note(
                                "a protocol match is loaded implicitly by -p (for example -p tcp)",
                            );
                        }
                    }
                    return self.err(d);
                }
            };
            let inv = pending_inv.take();
            // Collect values.
            let nargs = match (resolved.gen, resolved.opt) {
                (Some(Gen::Counters), _) => 2,
                (Some(Gen::NoopOptArg), _) => usize::from(
                    resolved.attached.is_some()
                        || toks
                            .get(i + 1)
                            .is_some_and(|t| !t.text.is_empty() && !t.text.starts_with('-')),
                ),
                (Some(g), _) => usize::from(gen_arg(g)),
                (None, Some(o)) => match o.arg {
                    Arg::None => 0,
                    Arg::One => 1,
                    Arg::Two => 2,
                },
                _ => 0,
            };
            // At most two values per option; kept on the stack (this runs for every option).
            let mut arg_buf = [OptArg {
                text: "",
                span: tok.span,
            }; 2];
            let mut nargs_got = 0usize;
            let mut j = i + 1;
            if let Some((text, span)) = resolved.attached {
                let a = OptArg { text, span };
                if nargs == 0 {
                    return self.err(
                        Diagnostic::error(
                            code::SYNTAX,
                            a.span,
                            format!(
                                "option `{}` takes no value",
                                tok.text.split('=').next().unwrap_or(&tok.text)
                            ),
                        )
                        .expected("the option alone"),
                    );
                }
                arg_buf[0] = a;
                nargs_got = 1;
            }
            while nargs_got < nargs {
                match toks.get(j) {
                    Some(t) => {
                        if t.text == "!" && !t.quoted && nargs_got == 0 {
                            // Legacy intrapositioned negation: `-s ! x`, `--dport ! 80`:
                            // iptables 1.8 refuses the command.
                            return self.err(
                                Diagnostic::error(
                                    code::LEGACY,
                                    t.span,
                                    format!(
                                        "`{} ! value` is the legacy negation form, which \
                                         iptables 1.8 refuses",
                                        tok.text
                                    ),
                                )
                                .expected(format!("`! {} value`", tok.text)),
                            );
                        }
                        arg_buf[nargs_got] = OptArg {
                            text: t.str(),
                            span: t.span,
                        };
                        nargs_got += 1;
                        j += 1;
                    }
                    None => {
                        let what = match (resolved.gen, resolved.opt) {
                            (Some(Gen::Jump), _) => "a target: ACCEPT, DROP, RETURN, a chain name or an extension target such as REJECT or LOG".to_string(),
                            (Some(Gen::Goto), _) => "a user chain name".to_string(),
                            (Some(Gen::Match), _) => "a match module name such as tcp, conntrack, multiport".to_string(),
                            (Some(Gen::Proto), _) => "a protocol such as tcp, udp, icmp or a number".to_string(),
                            (Some(Gen::Src) | Some(Gen::Dst), _) => "an address such as 192.0.2.1 or 192.0.2.0/24".to_string(),
                            (Some(Gen::InIface) | Some(Gen::OutIface), _) => "an interface name such as eth0".to_string(),
                                                        (_, Some(o)) if o.arg == Arg::Two && nargs_got == 1 => format!("a second value for --{}", o.name),
                            _ => "a value".to_string(),
                        };
                        let at = toks
                            .get(j.saturating_sub(1))
                            .map(|t| t.span.after())
                            .unwrap_or(tok.span.after());
                        return self.err(
                            Diagnostic::error(
                                code::MISSING_VALUE,
                                at,
                                format!("option `{}` requires a value", tok.text),
                            )
                            .expected(what),
                        );
                    }
                }
            }
            let invert = inv.is_some();
            let optname: &str = &tok.text;
            if invert {
                let ok = match (resolved.gen, resolved.opt) {
                    (Some(g), _) => gen_invertible(g),
                    (None, Some(o)) => o.invert,
                    _ => false,
                };
                if !ok {
                    return self.err(
                        Diagnostic::error(
                            code::SYNTAX,
                            inv.unwrap_or(tok.span),
                            format!("option `{optname}` cannot be negated"),
                        )
                        .expected(format!("`{optname}` without `!`")),
                    );
                }
            }
            i = j;
            let argv = &arg_buf[..nargs_got];
            let res = match resolved.owner {
                Owner::Generic(g) => self.generic(g, tok, invert, argv),
                Owner::Match(idx) => {
                    let opt = resolved.opt.expect("module option");
                    if !opt.multi && self.matches[idx].seen.contains(&opt.id) {
                        Err(Diagnostic::error(
                            code::SYNTAX,
                            tok.span,
                            format!("option `{optname}` given twice"),
                        )
                        .expected(format!(
                            "--{} only once per -m {}",
                            opt.name,
                            self.matches[idx].module.name()
                        )))
                    } else {
                        self.matches[idx].seen.push(opt.id);
                        let mut warnings = Vec::new();
                        let mut cx = ParseCtx {
                            family: self.family,
                            backend: self.backend,
                            table: self.table,
                            chain: self.chain,
                            proto: self.proto,
                            span: tok.span,
                            warnings: &mut warnings,
                            val: OptVal::None,
                        };
                        let r = crate::ext::convert(&opt, argv, &mut cx).and_then(|val| {
                            cx.val = val;
                            self.matches[idx].module.parse(&opt, invert, argv, &mut cx)
                        });
                        let end = argv.last().map(|a| a.span).unwrap_or(tok.span);
                        self.matches[idx].span = self.matches[idx].span.to(end);
                        self.diags.extend(warnings);
                        r
                    }
                }
                Owner::Target => {
                    let opt = resolved.opt.expect("target option");
                    let table = self.table;
                    let (family, chain, proto, backend) =
                        (self.family, self.chain, self.proto, self.backend);
                    let mut warnings = Vec::new();
                    let r = match &mut self.target {
                        Some((TargetSel::Ext(t, seen), _)) => {
                            if !opt.multi && seen.contains(&opt.id) {
                                Err(Diagnostic::error(
                                    code::SYNTAX,
                                    tok.span,
                                    format!("option `{optname}` given twice"),
                                )
                                .expected(format!("--{} only once", opt.name)))
                            } else {
                                seen.push(opt.id);
                                let mut cx = ParseCtx {
                                    family,
                                    backend,
                                    table,
                                    chain,
                                    proto,
                                    span: tok.span,
                                    warnings: &mut warnings,
                                    val: OptVal::None,
                                };
                                crate::ext::convert(&opt, argv, &mut cx).and_then(|val| {
                                    cx.val = val;
                                    t.parse(&opt, invert, argv, &mut cx)
                                })
                            }
                        }
                        _ => Ok(()),
                    };
                    self.diags.extend(warnings);
                    r
                }
            };
            if let Err(d) = res {
                return self.err(d);
            }
            if self.skip_rule {
                return Some(Vec::new());
            }
        }
        if let Some(s) = pending_inv {
            return self.err(
                Diagnostic::error(code::SYNTAX, s, "`!` at the end of the rule")
                    .expected("an option after `!`"),
            );
        }
        self.finish()
    }

    pub(super) fn last_unknown_match(&self) -> Option<usize> {
        self.order.iter().rev().find_map(|o| match o {
            Owner::Match(i) if self.matches[*i].module.is_unknown() => Some(*i),
            _ => None,
        })
    }

    /// Give `toks[i]` (an unclaimed option) and its values to the unknown module `idx`.
    pub(super) fn swallow_unknown(
        &mut self,
        idx: usize,
        toks: &[&Token],
        mut i: usize,
        inv: Option<Span>,
    ) -> usize {
        let mut words: Vec<(String, bool)> = Vec::new();
        if inv.is_some() {
            words.push(("!".into(), false));
        }
        words.push((toks[i].text.to_string(), false));
        let mut end = toks[i].span;
        i += 1;
        while let Some(t) = toks.get(i) {
            if !t.quoted && (t.text.starts_with('-') && t.text.len() > 1 || t.text == "!") {
                break;
            }
            words.push((t.text.to_string(), t.quoted));
            end = t.span;
            i += 1;
        }
        if let Some(u) = self.matches[idx]
            .module
            .as_any()
            .downcast_ref::<registry::UnknownMatch>()
        {
            let mut u = u.clone();
            u.words.extend(words);
            self.matches[idx].module = Box::new(u);
        }
        self.matches[idx].span = self.matches[idx].span.to(end);
        i
    }

    pub(super) fn swallow_unknown_target(
        &mut self,
        toks: &[&Token],
        mut i: usize,
        inv: Option<Span>,
    ) -> usize {
        let mut words: Vec<(String, bool)> = Vec::new();
        if inv.is_some() {
            words.push(("!".into(), false));
        }
        words.push((toks[i].text.to_string(), false));
        i += 1;
        while let Some(t) = toks.get(i) {
            if !t.quoted && (t.text.starts_with('-') && t.text.len() > 1 || t.text == "!") {
                break;
            }
            words.push((t.text.to_string(), t.quoted));
            i += 1;
        }
        if let Some((TargetSel::Ext(t, _), _)) = &mut self.target {
            if let Some(u) = t.as_any().downcast_ref::<registry::UnknownTarget>() {
                let mut u = u.clone();
                u.words.extend(words);
                *t = Box::new(u);
            }
        }
        i
    }

    pub(super) fn generic(
        &mut self,
        g: Gen,
        tok: &Token,
        invert: bool,
        args: &[OptArg<'_>],
    ) -> Result<(), Diagnostic> {
        let once = |present: bool, what: &str| -> Result<(), Diagnostic> {
            if present {
                Err(Diagnostic::error(
                    code::SYNTAX,
                    tok.span,
                    format!("multiple {what} flags not allowed"),
                )
                .expected(format!("{what} only once per rule")))
            } else {
                Ok(())
            }
        };
        match g {
            Gen::Src | Gen::Dst => {
                let is_src = g == Gen::Src;
                once(
                    if is_src {
                        self.src_span.is_some()
                    } else {
                        self.dst_span.is_some()
                    },
                    if is_src { "-s" } else { "-d" },
                )?;
                let mut list = Vec::new();
                for part in crate::ext::split_list(&args[0], ',') {
                    list.push(crate::ext::parse_addr_mask(&part, self.family)?);
                }
                if invert && list.len() > 1 {
                    return Err(Diagnostic::error(
                        code::SYNTAX,
                        args[0].span,
                        "! not allowed with multiple source or destination addresses",
                    )
                    .expected("a single address after `!`"));
                }
                if invert && list.iter().any(|a| a.is_any()) {
                    return Err(Diagnostic::error(
                        code::VALUE,
                        args[0].span,
                        "negated match on any address can never match",
                    )
                    .expected("a specific address or network after `!`"));
                }
                if is_src {
                    self.src = list;
                    self.src_inv = invert;
                    self.src_span = Some(args[0].span);
                } else {
                    self.dst = list;
                    self.dst_inv = invert;
                    self.dst_span = Some(args[0].span);
                }
            }
            Gen::Proto => {
                once(self.proto_span.is_some(), "-p")?;
                let p = crate::ext::parse_protocol(&args[0])?;
                self.proto_span = Some(args[0].span);
                if p == 0 {
                    if invert {
                        return Err(Diagnostic::error(
                            code::VALUE,
                            args[0].span,
                            "rule would never match protocol",
                        )
                        .expected("a specific protocol after `! -p`"));
                    }
                } else {
                    let other = match self.family {
                        Family::V6 => (p == 1).then_some(("icmp", "ip6tables", "ipv6-icmp")),
                        Family::V4 => (p == 58).then_some(("ipv6-icmp", "iptables", "icmp")),
                    };
                    if let Some((said, tool, meant)) = other {
                        self.diags.push(
                            Diagnostic::warning(
                                code::OTHER_FAMILY_ICMP,
                                args[0].span,
                                format!(
                                    "`-p {}` in {tool} rules matches protocol number {p}, \
                                     which {} never is",
                                    args[0].text,
                                    if p == 1 { "ICMPv6" } else { "ICMP" }
                                ),
                            )
                            .note(format!(
                                "{said} is the other family's protocol; this family's is `-p \
                                 {meant}`"
                            )),
                        );
                    }
                    self.proto = Some((p, invert));
                }
            }
            Gen::InIface | Gen::OutIface => {
                let is_in = g == Gen::InIface;
                once(
                    if is_in {
                        self.iniface.is_some()
                    } else {
                        self.outiface.is_some()
                    },
                    if is_in { "-i" } else { "-o" },
                )?;
                crate::ext::check_iface(&args[0])?;
                if args[0].text.contains([' ', '/']) {
                    // iptables warns (`xtables_parse_interface`) and loads it; iptables-save
                    // then prints the name unquoted, which reads back as something else.
                    self.diags.push(
                        Diagnostic::warning(
                            code::WEIRD_IFACE,
                            args[0].span,
                            format!(
                                "weird character in interface `{}` ('/' and ' ' are not allowed \
                                 by the kernel)",
                                args[0].text
                            ),
                        )
                        .note(
                            "no packet can match it, and iptables-save prints it unquoted, so \
                             the saved rule does not read back the same",
                        ),
                    );
                }
                if let Some(h) = Hook::from_chain_name(self.chain)
                    .filter(|h| self.table.builtin_hooks().contains(h))
                {
                    let bad = if is_in {
                        !h.has_indev()
                    } else {
                        !h.has_outdev()
                    };
                    if bad {
                        return Err(Diagnostic::error(
                            code::CONTEXT,
                            tok.span,
                            format!(
                                "can't use {} with {}",
                                if is_in { "-i" } else { "-o" },
                                self.chain
                            ),
                        )
                        .expected(format!(
                            "{} in {} (packets there have no {} interface)",
                            if is_in { "-o" } else { "-i" },
                            self.chain,
                            if is_in { "input" } else { "output" }
                        )));
                    }
                }
                let m = IfaceMatch {
                    name: args[0].text.to_string(),
                    invert,
                };
                if is_in {
                    self.iniface = Some(m);
                } else {
                    self.outiface = Some(m);
                }
            }
            Gen::Frag => {
                once(self.frag.is_some(), "-f")?;
                if self.family == Family::V6 {
                    return Err(Diagnostic::error(
                        code::CONTEXT,
                        tok.span,
                        "-f does not exist in ip6tables",
                    )
                    .expected("-m frag for IPv6 fragment matching"));
                }
                self.frag = Some(invert);
            }
            Gen::Counters => {
                // -c PKTS BYTES: the bytes are the next word.
                let packets = crate::ext::parse_num(&args[0], 0, u64::MAX, "packet counter")?;
                let bytes = crate::ext::parse_num(&args[1], 0, u64::MAX, "byte counter")?;
                self.counters = Some(Counters { packets, bytes });
            }
            Gen::Match => {
                let name = args[0].text;
                if name.is_empty() {
                    // iptables-restore: "Couldn't load match `'".
                    return Err(Diagnostic::error(
                        code::NO_MODULE,
                        args[0].span,
                        "empty match module name",
                    )
                    .expected("a match module name, e.g. -m conntrack"));
                }
                let m = match registry::new_match(name, self.family) {
                    Some(m) => m,
                    None => {
                        self.diags.push(
                            Diagnostic::warning(code::UNKNOWN_EXT, args[0].span, format!("unknown match module `{name}` kept verbatim"))
                                .note("fwcheck cannot evaluate it: verdicts of packets reaching this rule are marked uncertain"),
                        );
                        Box::new(registry::UnknownMatch {
                            name: name.to_string(),
                            words: Vec::new(),
                        })
                    }
                };
                let idx = self.matches.len();
                self.matches.push(LoadedMatch {
                    module: m,
                    span: tok.span.to(args[0].span),
                    implicit: false,
                    seen: Vec::new(),
                });
                self.order.push(Owner::Match(idx));
            }
            Gen::Jump | Gen::Goto => {
                if let Some((_, s)) = &self.target {
                    let line = self.source.line_col(s.start as usize).1;
                    return Err(Diagnostic::error(
                        code::SYNTAX,
                        tok.span,
                        "multiple -j/-g flags not allowed",
                    )
                    .expected("one target per rule")
                    .note(format!("the target is already given at column {line}")));
                }
                let name = args[0].text;
                let span = args[0].span;
                let is_goto = g == Gen::Goto;
                self.goto = is_goto;
                let std = match name {
                    "ACCEPT" => Some(Action::Accept),
                    "DROP" => Some(Action::Drop),
                    "RETURN" => Some(Action::Return),
                    "QUEUE" => Some(Action::Queue),
                    _ => None,
                };
                if let Some(a) = std {
                    if matches!(a, Action::Queue) {
                        self.diags.push(
                            Diagnostic::warning(crate::ext::targets::common::W_BACKEND, span, "-j QUEUE cannot be loaded by iptables-nft")
                                .note("iptables 1.8 (nf_tables) asks the kernel for an xt target named QUEUE, which does not exist; iptables-legacy loads it. Use -j NFQUEUE --queue-num 0"),
                        );
                    }
                    if is_goto {
                        return Err(Diagnostic::error(
                            code::UNKNOWN_CHAIN,
                            span,
                            format!("-g {name}: goto needs a user chain"),
                        )
                        .expected("a user chain name after -g"));
                    }
                    self.target = Some((TargetSel::Standard(a), span));
                    return Ok(());
                }
                if let Some(c) = self.table_state.chain(name) {
                    let is_builtin = c.hook.is_some();
                    if is_builtin {
                        return Err(Diagnostic::error(
                            code::UNKNOWN_CHAIN,
                            span,
                            format!("cannot jump to built-in chain {name}"),
                        )
                        .expected("a user chain, ACCEPT, DROP, RETURN or an extension target"));
                    }
                    let cr = ChainRef {
                        name: name.to_string(),
                        index: usize::MAX,
                    };
                    self.target = Some((
                        TargetSel::Standard(if is_goto {
                            Action::Goto(cr)
                        } else {
                            Action::Jump(cr)
                        }),
                        span,
                    ));
                    return Ok(());
                }
                if !is_goto {
                    if let Some(t) = registry::new_target(name, self.family) {
                        self.target = Some((TargetSel::Ext(t, Vec::new()), span));
                        self.order.push(Owner::Target);
                        return Ok(());
                    }
                    if registry::is_known_unimplemented_target(name, self.family) {
                        self.diags.push(
                            Diagnostic::warning(
                                code::UNKNOWN_EXT,
                                span,
                                format!("target `{name}` is not simulated; kept verbatim"),
                            )
                            .note("verdicts of packets reaching this rule are marked uncertain"),
                        );
                        self.target = Some((
                            TargetSel::Ext(
                                Box::new(registry::UnknownTarget {
                                    name: name.to_string(),
                                    words: Vec::new(),
                                }),
                                Vec::new(),
                            ),
                            span,
                        ));
                        self.order.push(Owner::Target);
                        return Ok(());
                    }
                }
                let mut d = Diagnostic::error(code::UNKNOWN_CHAIN, span, format!("unknown chain `{name}` in {}", if is_goto { "-g" } else { "-j" }))
                    .expected(format!("ACCEPT, DROP, RETURN, a target such as REJECT or LOG, or a chain of table {} declared before this rule", self.table));
                // Declared later?
                if let Some(line) = self.declared_later(name) {
                    d = d.note(format!("chain `{name}` is declared on line {line}, after this rule; iptables-restore needs it declared first"));
                } else {
                    let mut names: Vec<&str> = self
                        .table_state
                        .chains
                        .iter()
                        .filter(|c| c.hook.is_none())
                        .map(|c| c.name.as_str())
                        .collect();
                    names.extend(["ACCEPT", "DROP", "RETURN", "REJECT", "LOG"]);
                    if let Some(s) = suggest(name, &names) {
                        d = d.note(format!("did you mean `{s}`?"));
                    }
                }
                return Err(d);
            }
            // xshared.c `do_parse`: in restore input a rule for the other family is skipped
            // (`-4` in ip6tables-restore, `-6` in iptables-restore).
            Gen::V4 => {
                if self.family == Family::V6 {
                    self.diags.push(
                        Diagnostic::warning(
                            code::IGNORED,
                            tok.span,
                            "rule marked -4 is skipped by ip6tables",
                        )
                        .note("iptables ignores rules for the other family"),
                    );
                    self.skip_rule = true;
                }
            }
            Gen::V6 => {
                if self.family == Family::V4 {
                    self.diags.push(
                        Diagnostic::warning(
                            code::IGNORED,
                            tok.span,
                            "rule marked -6 is skipped by iptables",
                        )
                        .note("iptables ignores rules for the other family"),
                    );
                    self.skip_rule = true;
                }
            }
            Gen::ListOnly(c) => {
                return Err(Diagnostic::error(
                    code::COMMAND,
                    tok.span,
                    format!("illegal option `-{c}` with this command"),
                )
                .expected("the rule without it")
                .note(format!(
                    "`{}` is an option of the listing commands (-L, -S); iptables refuses it with a rule command",
                    tok.text
                )));
            }
            Gen::Command => {
                return Err(Diagnostic::error(
                    code::COMMAND,
                    tok.span,
                    format!("second command `{}` on one line", tok.text),
                )
                .expected("one command per line"));
            }
            Gen::Noop | Gen::NoopArg | Gen::NoopOptArg => {}
        }
        Ok(())
    }

    pub(super) fn declared_later(&self, name: &str) -> Option<usize> {
        let text = &self.source.text;
        let from = self.line_span.end as usize;
        let mut off = from;
        for line in text[from.min(text.len())..].split('\n') {
            let l = line.trim();
            if l.starts_with("COMMIT") || l.starts_with('*') {
                return None;
            }
            if let Some(rest) = l.strip_prefix(':') {
                if rest.split_whitespace().next() == Some(name) {
                    return Some(self.source.line_of(off + 1));
                }
            }
            if let Some(rest) = l.strip_prefix("-N") {
                if rest.split_whitespace().next() == Some(name) {
                    return Some(self.source.line_of(off + 1));
                }
            }
            off += line.len() + 1;
        }
        None
    }

    /// With the host's sets known, the first of `names` they do not hold: the kernel looks a
    /// set up when the rule is loaded (`ip_set_nfnl_get_byname` in xt_set's checkentry), so
    /// iptables-restore refuses the rule ("Set NAME doesn't exist").
    fn missing_set<'n>(
        &self,
        names: impl FnOnce() -> Vec<&'n str>,
        span: Span,
    ) -> Option<Diagnostic> {
        let sets = self.ipsets?;
        let missing = names().into_iter().find(|n| sets.get(n).is_none())?;
        Some(
            Diagnostic::error(
                code::NO_SET,
                span,
                format!(
                    "set `{missing}` is not in --ipset: on that host iptables-restore refuses \
                     this rule (\"Set {missing} doesn't exist\")"
                ),
            )
            .expected("a set the --ipset file creates"),
        )
    }

    pub(super) fn finish(&mut self) -> Option<Vec<Rule>> {
        // Module-level checks.
        let mut built: Vec<MatchEntry> = Vec::with_capacity(self.matches.len());
        let matches = std::mem::take(&mut self.matches);
        for mut lm in matches {
            let mut warnings = Vec::new();
            let mut cx = ParseCtx {
                family: self.family,
                backend: self.backend,
                table: self.table,
                chain: self.chain,
                proto: self.proto,
                span: lm.span,
                warnings: &mut warnings,
                val: OptVal::None,
            };
            let r = lm.module.finish(&mut cx);
            self.diags.extend(warnings);
            if let Err(d) = r {
                return self.err(d);
            }
            if let Some(d) = self.missing_set(|| lm.module.ipsets(), lm.span) {
                return self.err(d);
            }
            if let Some(req) = registry::required_proto(lm.module.name(), self.family) {
                let ok = matches!(self.proto, Some((p, false)) if p == req);
                if !ok {
                    let pname = crate::ext::proto_name(req).unwrap_or("?");
                    return self.err(
                        Diagnostic::error(
                            code::CONTEXT,
                            lm.span,
                            format!("match `{}` requires `-p {pname}`", lm.module.name()),
                        )
                        .expected(format!("-p {pname} in the rule (not negated)")),
                    );
                }
            }
            built.push(MatchEntry {
                module: lm.module.into(),
                span: lm.span,
                implicit: lm.implicit,
            });
        }
        let (action, target_span) = match self.target.take() {
            None => (Action::None, None),
            Some((TargetSel::Standard(a), s)) => (a, Some(s)),
            Some((TargetSel::Ext(mut t, _), s)) => {
                let mut warnings = Vec::new();
                let mut cx = ParseCtx {
                    family: self.family,
                    backend: self.backend,
                    table: self.table,
                    chain: self.chain,
                    proto: self.proto,
                    span: s,
                    warnings: &mut warnings,
                    val: OptVal::None,
                };
                let r = t.finish(&mut cx);
                self.diags.extend(warnings);
                if let Err(d) = r {
                    return self.err(d);
                }
                if let Some(d) = self.missing_set(|| t.ipsets(), s) {
                    return self.err(d);
                }
                if let Some(tb) = t.table() {
                    if tb != self.table {
                        return self.err(
                            Diagnostic::error(
                                code::CONTEXT,
                                s,
                                format!("target {} is only valid in table {tb}", t.name()),
                            )
                            .expected(format!("a target valid in table {}", self.table)),
                        );
                    }
                }
                (Action::Target(t.into()), Some(s))
            }
        };
        let srcs: Vec<Option<(AddrMask, bool)>> = if self.src.is_empty() {
            vec![None]
        } else {
            self.src
                .iter()
                .map(|a| (!a.is_any() || self.src_inv).then_some((*a, self.src_inv)))
                .collect()
        };
        let dsts: Vec<Option<(AddrMask, bool)>> = if self.dst.is_empty() {
            vec![None]
        } else {
            self.dst
                .iter()
                .map(|a| (!a.is_any() || self.dst_inv).then_some((*a, self.dst_inv)))
                .collect()
        };
        let n = srcs.len() * dsts.len();
        if n > MAX_EXPANSION {
            let span = match (self.src_span, self.dst_span) {
                (Some(a), Some(b)) => {
                    Span::new(a.start.min(b.start) as usize, a.end.max(b.end) as usize)
                }
                (a, b) => a.or(b).unwrap_or(self.line_span),
            };
            return self.err(
                Diagnostic::error(
                    code::EXPANSION,
                    span,
                    format!(
                        "this line expands to {n} rules ({} source{} × {} destination{}); \
                         fwcheck loads at most {MAX_EXPANSION} from one line",
                        srcs.len(),
                        if srcs.len() == 1 { "" } else { "s" },
                        dsts.len(),
                        if dsts.len() == 1 { "" } else { "s" },
                    ),
                )
                .expected("shorter address lists (or an ipset)"),
            );
        }
        let mut out = Vec::with_capacity(n);
        let (mut built, mut action) = (
            Some(std::sync::Arc::<[MatchEntry]>::from(built)),
            Some(action),
        );
        for s in &srcs {
            for d in &dsts {
                // The last rule takes the matches and target; address lists clone them.
                let last = out.len() + 1 == n;
                fn take<T: Clone>(v: &mut Option<T>, last: bool) -> T {
                    if last {
                        v.take().expect("once")
                    } else {
                        v.clone().expect("present")
                    }
                }
                out.push(Rule {
                    span: self.line_span,
                    counters: self.counters,
                    src: *s,
                    dst: *d,
                    iniface: self.iniface.clone(),
                    outiface: self.outiface.clone(),
                    proto: self.proto,
                    frag: self.frag,
                    matches: take(&mut built, last),
                    action: take(&mut action, last),
                    target_span,
                });
            }
        }
        Some(out)
    }
}
