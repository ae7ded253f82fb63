//! The registry: maps `-m NAME` and `-j NAME` to extension units, and keeps modules this build
//! does not simulate verbatim (with a warning) rather than failing.

use std::any::Any;

use crate::diag::Diagnostic;
use crate::ext::matches;
use crate::ext::targets;
use crate::ext::EvalCtx;
use crate::ext::{Match, MatchResult, OptArg, OptSpec, ParseCtx, Target, TargetVerdict};
use crate::netfilter::Family;

type MatchCtor = fn() -> Box<dyn Match>;
type TargetCtor = fn() -> Box<dyn Target>;

/// Which families a unit exists for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fam {
    Any,
    V4,
    V6,
}

impl Fam {
    fn has(self, f: Family) -> bool {
        match self {
            Fam::Any => true,
            Fam::V4 => f == Family::V4,
            Fam::V6 => f == Family::V6,
        }
    }
}

/// `(name, family, required -p protocol, constructor)` for every match module.
pub const MATCHES: &[(&str, Fam, Option<u8>, MatchCtor)] = &[
    ("tcp", Fam::Any, Some(6), matches::tcp::new),
    ("udp", Fam::Any, Some(17), matches::udp::new),
    ("sctp", Fam::Any, Some(132), matches::sctp::new),
    ("icmp", Fam::V4, Some(1), matches::icmp::new),
    ("icmp6", Fam::V6, Some(58), matches::icmp::new6),
    ("icmpv6", Fam::V6, Some(58), matches::icmp::new6),
    ("ipv6-icmp", Fam::V6, Some(58), matches::icmp::new6),
    ("conntrack", Fam::Any, None, matches::conntrack::new),
    ("state", Fam::Any, None, matches::conntrack::new_state),
    ("comment", Fam::Any, None, matches::comment::new),
    ("nfacct", Fam::Any, None, matches::nfacct::new),
    ("multiport", Fam::Any, None, matches::multiport::new),
    ("iprange", Fam::Any, None, matches::iprange::new),
    ("addrtype", Fam::Any, None, matches::addrtype::new),
    ("mark", Fam::Any, None, matches::mark::new),
    ("connmark", Fam::Any, None, matches::mark::connmark),
    ("length", Fam::Any, None, matches::length::new),
    ("ttl", Fam::V4, None, matches::ttl::new),
    ("hl", Fam::V6, None, matches::ttl::new6),
    ("mac", Fam::Any, None, matches::mac::new),
    ("pkttype", Fam::Any, None, matches::pkttype::new),
    ("tos", Fam::Any, None, matches::tos::new),
    ("dscp", Fam::Any, None, matches::dscp::new),
    ("limit", Fam::Any, None, matches::limit::new),
    ("hashlimit", Fam::Any, None, matches::hashlimit::new),
    ("recent", Fam::Any, None, matches::recent::new),
    ("statistic", Fam::Any, None, matches::statistic::new),
    ("connlimit", Fam::Any, None, matches::connlimit::new),
    ("owner", Fam::Any, None, matches::owner::new),
    ("helper", Fam::Any, None, matches::helper::new),
    ("u32", Fam::Any, None, matches::u32::new),
    ("string", Fam::Any, None, matches::string::new),
    ("time", Fam::Any, None, matches::time::new),
    ("physdev", Fam::Any, None, matches::physdev::new),
    ("set", Fam::Any, None, matches::set::new),
    ("esp", Fam::Any, Some(50), matches::esp::new),
    ("ah", Fam::V4, Some(51), matches::esp::new_ah),
    ("tcpmss", Fam::Any, Some(6), matches::tcpmss::new),
    ("ecn", Fam::Any, None, matches::ecn::new),
    ("rt", Fam::V6, None, matches::rt::new),
    ("frag", Fam::V6, None, matches::frag::new),
    ("rpfilter", Fam::Any, None, matches::rpfilter::new),
    ("connbytes", Fam::Any, None, matches::connbytes::new),
    ("quota", Fam::Any, None, matches::quota::new),
    ("ipv6header", Fam::V6, None, matches::ipv6header::new),
    ("policy", Fam::Any, None, matches::policy::new),
];

/// `(name, family, constructor)` for every extension target.
pub const TARGETS: &[(&str, Fam, TargetCtor)] = &[
    ("REJECT", Fam::Any, targets::reject::new),
    ("LOG", Fam::Any, targets::log::new),
    ("NFQUEUE", Fam::Any, targets::nfqueue::new),
    ("NFLOG", Fam::Any, targets::nflog::new),
    ("MARK", Fam::Any, targets::mark::new),
    ("CONNMARK", Fam::Any, targets::connmark::new),
    ("CT", Fam::Any, targets::ct::new),
    ("NOTRACK", Fam::Any, targets::notrack::new),
    ("TRACE", Fam::Any, targets::trace::new),
    ("CHECKSUM", Fam::Any, targets::checksum::new),
    ("TCPMSS", Fam::Any, targets::tcpmss::new),
    ("DNAT", Fam::Any, targets::nat::dnat),
    ("SNAT", Fam::Any, targets::nat::snat),
    ("MASQUERADE", Fam::Any, targets::masquerade::new),
    ("REDIRECT", Fam::Any, targets::redirect::new),
    ("NETMAP", Fam::Any, targets::netmap::new),
    ("TOS", Fam::Any, targets::tos::new),
    ("DSCP", Fam::Any, targets::dscp::new),
    ("ECN", Fam::V4, targets::ecn::new),
    ("TTL", Fam::V4, targets::ttl::new),
    ("HL", Fam::V6, targets::ttl::new_hl),
    ("CLASSIFY", Fam::Any, targets::classify::new),
    ("SET", Fam::Any, targets::set::new),
    ("SECMARK", Fam::Any, targets::secmark::new),
    ("CONNSECMARK", Fam::Any, targets::connsecmark::new),
    ("AUDIT", Fam::Any, targets::audit::new),
    ("SYNPROXY", Fam::Any, targets::synproxy::new),
    ("TEE", Fam::Any, targets::tee::new),
    ("TPROXY", Fam::Any, targets::tproxy::new),
    ("ULOG", Fam::V4, targets::ulog::new),
];

/// Targets that exist in iptables but are not simulated: kept verbatim with a warning.
const KNOWN_TARGETS: &[&str] = &[
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
    "MIRROR",
    "SAME",
    "IPV4OPTSSTRIP",
    "ACCOUNT",
    "TARPIT",
    "DELUDE",
    "CHAOS",
    "DHCPMAC",
    "DNETMAP",
    "ECHO",
    "IPMARK",
    "LOGMARK",
    "SYSRQ",
    "STEAL",
    "JOOL",
    "JOOL_SIIT",
    "FULLCONENAT",
];

/// A new instance of match module `name`, if this build knows it.
pub(crate) fn new_match(name: &str, family: Family) -> Option<Box<dyn Match>> {
    MATCHES
        .iter()
        .find(|(n, f, _, _)| *n == name && f.has(family))
        .map(|(_, _, _, ctor)| ctor())
}

/// The protocol match `-p PROTO` loads implicitly for an unclaimed option.
pub(crate) fn proto_match(proto: u8, family: Family) -> Option<Box<dyn Match>> {
    MATCHES
        .iter()
        .find(|(_, f, p, _)| *p == Some(proto) && f.has(family))
        .map(|(_, _, _, ctor)| ctor())
}

/// The protocol a match module requires (`xt_match.proto`).
pub(crate) fn required_proto(name: &str, family: Family) -> Option<u8> {
    MATCHES
        .iter()
        .find(|(n, f, _, _)| *n == name && f.has(family))
        .and_then(|(_, _, p, _)| *p)
}

/// Modules that accept `--name`, for hints.
pub(crate) fn matches_with_option(name: &str, family: Family) -> Vec<&'static str> {
    MATCHES
        .iter()
        .filter(|(_, f, _, _)| f.has(family))
        .filter(|(_, _, _, ctor)| ctor().options().iter().any(|o| o.name == name))
        .map(|(n, _, _, _)| *n)
        .collect()
}

pub(crate) fn new_target(name: &str, family: Family) -> Option<Box<dyn Target>> {
    TARGETS
        .iter()
        .find(|(n, f, _)| *n == name && f.has(family))
        .map(|(_, _, ctor)| ctor())
}

/// Names a user chain may not take.
pub(crate) fn is_target_name(name: &str) -> bool {
    TARGETS.iter().any(|(n, _, _)| *n == name) || KNOWN_TARGETS.contains(&name)
}

/// A target iptables has for `family` that fwcheck does not simulate. The family-specific
/// ones (libipt_CLUSTERIP, libipt_ECN; libip6t_DNPT, libip6t_SNPT) exist for one family only:
/// `ip6tables -j ECN` is no target there (ip6tables-restore: unknown option), nor a typed
/// target of the other family (`-j TTL` in ip6tables, `-j HL` in iptables).
pub(crate) fn is_known_unimplemented_target(name: &str, family: Family) -> bool {
    let fam = match name {
        "CLUSTERIP" | "ECN" => Fam::V4,
        "DNPT" | "SNPT" => Fam::V6,
        _ => Fam::Any,
    };
    fam.has(family) && KNOWN_TARGETS.contains(&name) && !TARGETS.iter().any(|(n, _, _)| *n == name)
}

/// A match module fwcheck does not know, kept as the words that followed `-m NAME`.
#[derive(Debug, Clone)]
pub(crate) struct UnknownMatch {
    pub name: String,
    /// Words as written, and whether each was quoted (printed back the same way).
    pub words: Vec<(String, bool)>,
}

impl Match for UnknownMatch {
    fn name(&self) -> &'static str {
        // Names are printed through `save_name`; leak-free fallback for the trait.
        "unknown"
    }
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(
        &mut self,
        _: &OptSpec,
        _: bool,
        _: &[OptArg<'_>],
        _: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        Ok(())
    }
    fn save(&self, out: &mut String) {
        save_words(out, &self.words);
    }
    fn eval(&self, _: &mut EvalCtx<'_>) -> MatchResult {
        MatchResult::Unknown("match module not simulated")
    }
    fn is_unknown(&self) -> bool {
        true
    }
    fn display_name(&self) -> &str {
        &self.name
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A target fwcheck does not simulate, kept verbatim.
#[derive(Debug, Clone)]
pub(crate) struct UnknownTarget {
    pub name: String,
    pub words: Vec<(String, bool)>,
}

impl Target for UnknownTarget {
    fn name(&self) -> &'static str {
        "unknown"
    }
    fn options(&self) -> &'static [OptSpec] {
        &[]
    }
    fn parse(
        &mut self,
        _: &OptSpec,
        _: bool,
        _: &[OptArg<'_>],
        _: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        Ok(())
    }
    fn save(&self, out: &mut String) {
        save_words(out, &self.words);
    }
    fn apply(&self, _: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Unknown("target not simulated")
    }
    fn is_unknown(&self) -> bool {
        true
    }
    fn display_name(&self) -> &str {
        &self.name
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn save_words(out: &mut String, words: &[(String, bool)]) {
    for (w, quoted) in words {
        if *quoted {
            out.push_str(" \"");
            for c in w.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push(' ');
            out.push_str(w);
        }
    }
}
