//! `fwcheck lint --chains`: the chains as `iptables -L -v -n --line-numbers` lists them
//! (iptables 1.8.9: `print_header`, `print_firewall` / `print_rule_details` in
//! `iptables/xshared.c`, numbers from `xtables_print_num` with `FMT_KILOMEGAGIGA`), with the
//! counters of a replay when traffic is given (zero otherwise, as after `iptables-restore`).
//!
//! Columns are byte-exact with iptables for the rule header (addresses, interfaces, protocol
//! number, fragment flag). The options column uses each match's `-L` wording
//! ([`Match::listing`](crate::ext::Match::listing): `tcp`, `udp`, `icmp`, `conntrack`/`state`,
//! `multiport`, `comment`, `limit`, `iprange`); other matches and targets are shown in their
//! `iptables-save` syntax.

use std::fmt::Write;

use crate::engine::Engine;
use crate::ruleset::model::{Action, AddrMask, Policy, Rule, Ruleset};

/// `xtables_print_num` with `FMT_KILOMEGAGIGA`: `%5llu `, or 4 digits and K/M/G/T.
fn num(out: &mut String, mut n: u64) {
    if n <= 99999 {
        let _ = write!(out, "{n:>5} ");
        return;
    }
    for unit in ['K', 'M', 'G', 'T'] {
        n = n.saturating_add(500) / 1000;
        if n <= 9999 || unit == 'T' {
            let _ = write!(out, "{n:>4}{unit} ");
            return;
        }
    }
}

/// An address as `-n` prints it: the bare address for a host mask, else `addr/len`.
fn addr(a: Option<&(AddrMask, bool)>, v6: bool) -> (bool, String) {
    match a {
        None => (false, if v6 { "::/0" } else { "0.0.0.0/0" }.to_string()),
        Some((m, inv)) => {
            let full = if v6 { 128 } else { 32 };
            let s = match m.prefix_len() {
                Some(l) if l == full => m.addr().to_string(),
                _ => m.to_string(),
            };
            (*inv, s)
        }
    }
}

fn target_name(a: &Action) -> String {
    match a {
        Action::None => String::new(),
        Action::Accept => "ACCEPT".into(),
        Action::Drop => "DROP".into(),
        Action::Return => "RETURN".into(),
        Action::Queue => "QUEUE".into(),
        Action::Jump(c) | Action::Goto(c) => c.name.clone(),
        Action::Target(t) => t.display_name().to_string(),
    }
}

fn rule_line(out: &mut String, n: usize, r: &Rule, v6: bool, pkts: u64, bytes: u64) {
    let _ = write!(out, "{n:<4} ");
    num(out, pkts);
    num(out, bytes);
    let _ = write!(out, "{:<9} ", target_name(&r.action));
    let (pinv, p) = match r.proto {
        Some((p, inv)) => (inv, p.to_string()),
        None => (false, "0".to_string()),
    };
    let _ = write!(out, "{}{p:<4} ", if pinv { '!' } else { ' ' });
    match r.frag {
        Some(inv) => {
            let _ = write!(out, "{}f ", if inv { '!' } else { '-' });
        }
        None => out.push_str("-- "),
    }
    let iface = |i: &Option<crate::ruleset::model::IfaceMatch>| match i {
        None => "*".to_string(),
        Some(i) => format!("{}{}", if i.invert { "!" } else { "" }, i.name),
    };
    let _ = write!(out, " {:<6} ", iface(&r.iniface));
    let _ = write!(out, "{:<6} ", iface(&r.outiface));
    let (sinv, s) = addr(r.src.as_ref(), v6);
    let (dinv, d) = addr(r.dst.as_ref(), v6);
    let _ = write!(
        out,
        "{}{s:<19} {}{d:<19} ",
        if sinv { '!' } else { ' ' },
        if dinv { '!' } else { ' ' }
    );
    for m in r.matches.iter() {
        m.module.listing(out);
    }
    match &r.action {
        Action::Goto(_) => out.push_str(" [goto]"),
        Action::Target(t) => {
            let mut s = String::new();
            t.save(&mut s);
            out.push_str(&s);
        }
        _ => {}
    }
    out.push('\n');
}

/// The listing of every chain (or of the chain `only`, in every table that has one).
pub fn listing(
    rs: &Ruleset,
    engine: Option<&Engine<'_>>,
    only: Option<&str>,
) -> Result<String, String> {
    let v6 = rs.family == crate::packet::Family::V6;
    let mut out = String::new();
    let mut found = false;
    for (ti, t) in rs.tables.iter().enumerate() {
        for (ci, c) in t.chains.iter().enumerate() {
            if only.is_some_and(|o| o != c.name) {
                continue;
            }
            found = true;
            if !out.is_empty() {
                out.push('\n');
            }
            if rs.tables.len() > 1 || only.is_some() {
                let _ = writeln!(out, "# table {}", t.kind.name());
            }
            match c.hook {
                Some(_) => {
                    let pc = engine
                        .map(|e| e.policy_counters(ti, ci))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "Chain {} (policy {} {} packets, {} bytes)",
                        c.name,
                        c.policy.unwrap_or(Policy::Accept).name(),
                        pc.packets,
                        pc.bytes
                    );
                }
                None => {
                    let refs = t
                        .chains
                        .iter()
                        .flat_map(|c| &c.rules)
                        .filter(|r| r.action.chain_ref().is_some_and(|cr| cr.index == ci))
                        .count();
                    let _ = writeln!(out, "Chain {} ({refs} references)", c.name);
                }
            }
            out.push_str(
                "num   pkts bytes target     prot opt in     out     source               destination         \n",
            );
            for (ri, r) in c.rules.iter().enumerate() {
                let ctr = engine
                    .map(|e| e.rule_counters(ti, ci, ri))
                    .unwrap_or_default();
                rule_line(&mut out, ri + 1, r, v6, ctr.packets, ctr.bytes);
            }
        }
    }
    if !found {
        if let Some(o) = only {
            return Err(format!("no chain named `{o}` in the ruleset"));
        }
    }
    Ok(out)
}
