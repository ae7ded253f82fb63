//! How a decision and a packet are named in reports and findings: the rule, chain policy or
//! stack check that decided ([`RuleInfo`], as `iptables -L --line-numbers` numbers rules), TCP
//! flags as letters and protocol names as `/etc/protocols` (what iptables prints).
//!
//! Mirrors iptables' rule numbering and `xtables_proto_to_name`; shared by the analyses and the
//! reports above them.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;

use super::Decision;
use crate::packet::{proto, tcp_flags as F};
use crate::ruleset::printer::rule_text;
use crate::ruleset::{Ruleset, TableKind};

/// Where a decision came from, as printed in reports.
#[derive(Debug, Serialize)]
pub struct RuleInfo {
    pub table: &'static str,
    pub chain: String,
    /// 1-based rule number in the chain (as `iptables -L --line-numbers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Set when a built-in chain's policy decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<&'static str>,
    /// Set when the IP stack or conntrack decided, not a rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<&'static str>,
    /// This value as JSON, made once ([`RuleInfo::json`]): a replay's JSON output names the
    /// same few rules for millions of packets.
    #[serde(skip)]
    json: std::sync::OnceLock<Box<serde_json::value::RawValue>>,
    /// [`RuleInfo::short`], made once (the streamed packet lines name it per packet).
    #[serde(skip)]
    short: std::sync::OnceLock<String>,
    /// The rules file of the rule or policy, when a replay judges with two rulesets (IPv4 and
    /// IPv6 side by side, `--parity`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
}

/// A clone starts with empty caches: its fields are public and may be changed, and the caches
/// are only ever made from the value as it is when first asked.
impl Clone for RuleInfo {
    fn clone(&self) -> RuleInfo {
        RuleInfo {
            table: self.table,
            chain: self.chain.clone(),
            number: self.number,
            line: self.line,
            text: self.text.clone(),
            policy: self.policy,
            stack: self.stack,
            json: Default::default(),
            short: Default::default(),
            file: self.file.clone(),
        }
    }
}

/// Equality of the described place (the caches are derived from it).
impl PartialEq for RuleInfo {
    fn eq(&self, o: &RuleInfo) -> bool {
        (
            self.table,
            &self.chain,
            self.number,
            self.line,
            &self.text,
            self.policy,
            self.stack,
            &self.file,
        ) == (
            o.table, &o.chain, o.number, o.line, &o.text, o.policy, o.stack, &o.file,
        )
    }
}

impl Eq for RuleInfo {}

impl RuleInfo {
    /// [`RuleInfo::short`], computed on first use.
    pub(crate) fn short_cached(&self) -> &str {
        self.short.get_or_init(|| self.short())
    }

    /// This value serialised as JSON (what `serde_json` writes for it), computed on first use.
    pub(crate) fn json(&self) -> &serde_json::value::RawValue {
        self.json
            .get_or_init(|| serde_json::value::to_raw_value(self).expect("a RuleInfo serialises"))
    }

    /// `filter INPUT #3 (line 8)`, `filter OUTPUT policy DROP`, `stack: bad IP header checksum`;
    /// with a file (two rulesets): `filter INPUT #3 (rules.v6 line 8)`,
    /// `filter OUTPUT policy DROP (rules.v6)`.
    pub fn short(&self) -> String {
        if let Some(s) = self.stack {
            return format!("stack: {s}");
        }
        let file = self.file.as_deref();
        match (self.number, self.policy, file) {
            (Some(n), _, None) => format!(
                "{} {} #{n} (line {})",
                self.table,
                self.chain,
                self.line.unwrap_or(0)
            ),
            (Some(n), _, Some(f)) => format!(
                "{} {} #{n} ({f} line {})",
                self.table,
                self.chain,
                self.line.unwrap_or(0)
            ),
            (None, Some(p), None) => format!("{} {} policy {p}", self.table, self.chain),
            (None, Some(p), Some(f)) => format!("{} {} policy {p} ({f})", self.table, self.chain),
            _ => format!("{} {}", self.table, self.chain),
        }
    }
}

pub fn rule_info(rs: &Ruleset, d: &Decision) -> Option<RuleInfo> {
    let table = |k: TableKind| rs.tables.iter().find(|t| t.kind == k);
    Some(match *d {
        Decision::Rule(r) => {
            let t = table(r.table)?;
            let c = &t.chains[r.chain];
            let rule = &c.rules[r.rule];
            RuleInfo {
                table: r.table.name(),
                chain: c.name.clone(),
                number: Some(r.rule + 1),
                line: Some(rs.line_of(rule.span)),
                text: Some(rule_text(&c.name, rule)),
                policy: None,
                stack: None,
                json: Default::default(),
                short: Default::default(),
                file: None,
            }
        }
        Decision::Policy { table: k, chain } => {
            let t = table(k)?;
            let c = &t.chains[chain];
            RuleInfo {
                table: k.name(),
                chain: c.name.clone(),
                number: None,
                line: (c.declared).then(|| rs.line_of(c.span)),
                text: None,
                policy: c.policy.map(|p| p.name()),
                stack: None,
                json: Default::default(),
                short: Default::default(),
                file: None,
            }
        }
        Decision::Stack(s) | Decision::Conntrack(s) => RuleInfo {
            table: "",
            chain: String::new(),
            number: None,
            line: None,
            text: None,
            policy: None,
            stack: Some(s),
            json: Default::default(),
            short: Default::default(),
            file: None,
        },
        Decision::NoRules => return None,
    })
}

/// [`rule_info`] memoised: a report describes the same few rules for millions of packets.
pub struct RuleInfos<'r> {
    rs: &'r Ruleset,
    cache: foldhash::HashMap<Decision, Option<Arc<RuleInfo>>>,
    /// Set on every rule and policy ([`RuleInfo::file`]).
    file: Option<Arc<str>>,
}

impl<'r> RuleInfos<'r> {
    pub fn new(rs: &'r Ruleset) -> RuleInfos<'r> {
        RuleInfos {
            rs,
            cache: Default::default(),
            file: None,
        }
    }

    /// Descriptions naming the rules file of each rule and policy (a replay with two rulesets).
    pub(crate) fn with_file(rs: &'r Ruleset) -> RuleInfos<'r> {
        RuleInfos {
            file: Some(Arc::from(rs.source.name.as_str())),
            ..RuleInfos::new(rs)
        }
    }

    pub fn get(&mut self, d: &Decision) -> Option<Arc<RuleInfo>> {
        let rs = self.rs;
        let file = &self.file;
        self.cache
            .entry(*d)
            .or_insert_with(|| {
                rule_info(rs, d).map(|mut r| {
                    if r.stack.is_none() {
                        r.file.clone_from(file);
                    }
                    Arc::new(r)
                })
            })
            .clone()
    }
}

/// TCP flags as letters in the order F S R P A U E C (`"S"`, `"SA"`, `"FA"`, `"PA"`).
pub fn tcp_flags(f: u8) -> String {
    tcp_flags_label(f).to_string()
}

/// [`tcp_flags`] made once per flag combination (a replay names them for every packet).
pub fn tcp_flags_label(f: u8) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    &NAMES.get_or_init(|| (0..=255).map(tcp_flags_text).collect())[f as usize]
}

fn tcp_flags_text(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (F::FIN, 'F'),
        (F::SYN, 'S'),
        (F::RST, 'R'),
        (F::PSH, 'P'),
        (F::ACK, 'A'),
        (F::URG, 'U'),
        (F::ECE, 'E'),
        (F::CWR, 'C'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

pub fn proto_name(p: u8) -> String {
    proto_label(p).into_owned()
}

/// [`proto_name`] without allocating for named protocols.
pub fn proto_label(p: u8) -> Cow<'static, str> {
    match p {
        proto::TCP => "tcp".into(),
        proto::UDP => "udp".into(),
        proto::ICMP => "icmp".into(),
        proto::ICMPV6 => "icmpv6".into(),
        n => match crate::ext::proto_name(n) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(n.to_string()),
        },
    }
}
