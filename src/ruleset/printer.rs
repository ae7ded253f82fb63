//! Canonical printer: the exact text `iptables-save` (1.8, nf_tables or legacy) prints for a
//! ruleset after restoring it — built-in chains in hook order, user chains sorted by name, the
//! generic options in the order `-s -d -i -o -p -f`, matches in load order with their canonical
//! options, then `-j`/`-g`.

use std::fmt::Write;

use crate::ruleset::model::*;

/// Options for [`print_ruleset`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintOptions {
    /// Print rule counters as `[pkts:bytes]` prefixes (like `iptables-save -c`).
    pub counters: bool,
}

/// The order `iptables-save` (nf_tables backend) prints tables in: its `enum nft_table_type`.
pub(crate) const SAVE_ORDER: [TableKind; 5] = [
    TableKind::Mangle,
    TableKind::Security,
    TableKind::Raw,
    TableKind::Filter,
    TableKind::Nat,
];

/// The whole ruleset in `iptables-save` form (no `#` lines), tables in the order the backend's
/// iptables-save prints them: iptables-nft in `SAVE_ORDER`; iptables-legacy in the order of
/// `/proc/net/ip_tables_names`, the newest table first (`xt_register_table` adds at the head of
/// the list), which after a restore into a fresh network namespace is the reverse of the order
/// the tables first appear in the input (checked with iptables 1.8.9 on Linux 6.18).
pub fn print_ruleset(rs: &Ruleset, opts: PrintOptions) -> String {
    let mut out = String::with_capacity(rs.rule_count() * 80 + 256);
    if rs.backend == crate::ext::Backend::Legacy {
        for t in rs.tables.iter().rev() {
            print_table(&mut out, t, opts);
        }
        return out;
    }
    for kind in SAVE_ORDER {
        if let Some(t) = rs.table(kind) {
            print_table(&mut out, t, opts);
        }
    }
    out
}

pub(crate) fn print_table(out: &mut String, t: &Table, opts: PrintOptions) {
    let _ = writeln!(out, "*{}", t.kind.name());
    for c in &t.chains {
        let policy = c.policy.map(|p| p.name()).unwrap_or("-");
        // iptables-restore sets a built-in chain's counters only with `-c`, and never a user
        // chain's (both backends, checked with 1.8.9): iptables-save then prints zeros.
        let ct = if opts.counters && c.policy.is_some() {
            c.counters
        } else {
            Default::default()
        };
        let _ = writeln!(out, ":{} {} [{}:{}]", c.name, policy, ct.packets, ct.bytes);
    }
    for c in &t.chains {
        for r in &c.rules {
            if opts.counters {
                let ct = r.counters.unwrap_or_default();
                let _ = write!(out, "[{}:{}] ", ct.packets, ct.bytes);
            }
            out.push_str("-A ");
            out.push_str(&c.name);
            out.push_str(&rule_body(r));
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}

/// `-A CHAIN` + body, the rule's canonical one-line text.
pub(crate) fn rule_text(chain: &str, r: &Rule) -> String {
    format!("-A {chain}{}", rule_body(r))
}

/// Everything after `-A CHAIN`, starting with a space (empty for a rule with no options).
pub fn rule_body(r: &Rule) -> String {
    let mut out = String::with_capacity(96);
    if let Some((a, inv)) = &r.src {
        if *inv {
            out.push_str(" !");
        }
        let _ = write!(out, " -s {a}");
    }
    if let Some((a, inv)) = &r.dst {
        if *inv {
            out.push_str(" !");
        }
        let _ = write!(out, " -d {a}");
    }
    // `-i +` (any interface) is a zero-length mask: iptables-save leaves it out (both
    // backends, 1.8.9); `! -i +` stays under nf_tables.
    for (flag, iface) in [(" -i ", &r.iniface), (" -o ", &r.outiface)] {
        let Some(i) = iface.as_ref().filter(|i| i.invert || i.name != "+") else {
            continue;
        };
        if i.invert {
            out.push_str(" !");
        }
        out.push_str(flag);
        out.push_str(&i.name);
    }
    if let Some((p, inv)) = r.proto {
        if inv {
            out.push_str(" !");
        }
        match crate::ext::proto_name(p) {
            Some(n) => {
                let _ = write!(out, " -p {n}");
            }
            None => {
                let _ = write!(out, " -p {p}");
            }
        }
    }
    if let Some(inv) = r.frag {
        if inv {
            out.push_str(" !");
        }
        out.push_str(" -f");
    }
    for m in r.matches.iter().filter(|m| m.module.printed()) {
        out.push_str(" -m ");
        out.push_str(m.module.display_name());
        m.module.save(&mut out);
    }
    match &r.action {
        Action::None => {}
        Action::Accept => out.push_str(" -j ACCEPT"),
        Action::Drop => out.push_str(" -j DROP"),
        Action::Return => out.push_str(" -j RETURN"),
        Action::Queue => out.push_str(" -j QUEUE"),
        Action::Jump(c) => {
            let _ = write!(out, " -j {}", c.name);
        }
        Action::Goto(c) => {
            let _ = write!(out, " -g {}", c.name);
        }
        Action::Target(t) => {
            out.push_str(" -j ");
            out.push_str(t.display_name());
            t.save(&mut out);
        }
    }
    out
}
