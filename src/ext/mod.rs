//! xtables extensions: one self-contained unit per match module (`-m NAME`) and per target
//! (`-j NAME`), behind a registry, in the style of iptables' `libxt_*.c` + the kernel's `xt_*.c`.
//!
//! Every unit has the same faces: the options it accepts ([`OptSpec`]), `parse` for each option
//! occurrence, `finish` for whole-match checks, `save` for the canonical `iptables-save` text, and
//! `eval` (matches) / `apply` (targets) for simulation. Adding a module means one new file under
//! `matches/` or `targets/` and one line in [`registry`].

pub mod ctx;
pub mod ipset;
pub mod matches;
pub mod registry;
mod rewrite;
pub mod targets;
pub mod xtopt;

use std::any::Any;
use std::fmt::Debug;

use crate::diag::{Diagnostic, Span};
pub use crate::netfilter::Backend;
use crate::netfilter::{Family, HookMask, TableKind};
pub use ctx::*;
pub(crate) use rewrite::PacketBytes;

pub use xtopt::*;

/// How many values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A flag (`--syn`, `--set`).
    None,
    /// One value (`--dport 80`).
    One,
    /// Two values (`--tcp-flags MASK COMP`, `--match-set NAME FLAGS`).
    Two,
}

/// One option an extension accepts.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    /// Long name without the leading `--`.
    pub name: &'static str,
    /// Extension-local identifier passed back to `parse`.
    pub id: u8,
    pub arg: Arg,
    /// `! --opt` is allowed.
    pub invert: bool,
    /// May be given more than once.
    pub multi: bool,
    /// The value's type when the framework converts it (`xtopt::convert`); `Raw` leaves the
    /// arguments to the unit.
    pub ty: XtType,
}

impl OptSpec {
    pub const fn new(name: &'static str, id: u8, arg: Arg) -> Self {
        OptSpec {
            name,
            id,
            arg,
            invert: false,
            multi: false,
            ty: XtType::Raw,
        }
    }
    /// Declare the value's type: the framework converts it into [`ParseCtx::val`].
    pub const fn ty(mut self, ty: XtType) -> Self {
        self.ty = ty;
        self
    }
    pub(crate) const fn inv(mut self) -> Self {
        self.invert = true;
        self
    }
    pub const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
}

/// One value of an option, with its place in the file.
#[derive(Debug, Clone, Copy)]
pub struct OptArg<'a> {
    pub text: &'a str,
    pub span: Span,
}

/// What an extension may know about the rule it is parsed in.
#[derive(Debug)]
pub struct ParseCtx<'a> {
    pub family: Family,
    /// Which iptables the ruleset is for: iptables-nft translates some matches into native
    /// nftables expressions with their own semantics.
    pub backend: Backend,
    pub table: TableKind,
    pub chain: &'a str,
    /// The rule's `-p` (protocol number, negated).
    pub proto: Option<(u8, bool)>,
    /// Span of the option token being parsed (`--dport`), or of `-m NAME` in `finish`.
    pub span: Span,
    /// Warnings an extension wants to report without failing.
    pub warnings: &'a mut Vec<Diagnostic>,
    /// The converted value of the option being parsed, when its spec declares a type
    /// (`xt_option_call.val`); [`OptVal::None`] otherwise and in `finish`.
    pub val: OptVal,
}

impl ParseCtx<'_> {
    pub(crate) fn warn(&mut self, d: Diagnostic) {
        self.warnings.push(d);
    }
}

/// Result of evaluating a match against a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchResult {
    No,
    Yes,
    /// The match cannot be decided offline (the reason names what is missing). The engine
    /// treats it as not matching and marks every verdict it influences uncertain.
    Unknown(&'static str),
    /// The match asks for the packet to be dropped at once (`par->hotdrop`).
    HotDrop,
}

impl MatchResult {
    #[inline]
    pub(crate) fn from_bool(b: bool) -> Self {
        if b {
            MatchResult::Yes
        } else {
            MatchResult::No
        }
    }
}

/// Ports a match requires of a packet's transport header: the port lies in one of the
/// inclusive `ranges` (in none of them when `invert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSet {
    pub ranges: Vec<(u16, u16)>,
    pub invert: bool,
}

impl PortSet {
    /// One range, as `--dport A:B` gives.
    pub fn range(lo: u16, hi: u16, invert: bool) -> PortSet {
        PortSet {
            ranges: vec![(lo, hi)],
            invert,
        }
    }
    /// The single range, when the set is one.
    pub fn single(&self) -> Option<(u16, u16, bool)> {
        match self.ranges[..] {
            [(lo, hi)] => Some((lo, hi, self.invert)),
            _ => None,
        }
    }
}

/// What a match tests, in the terms the analyses and the rule classifier reason about: each
/// unit describes itself ([`Match::facets`]), so shadowing, probes, services and the classifier
/// see a new match without naming it. Every field is optional; the default says nothing.
///
/// Contract of the port facets (the classifier skips rules on them): for a packet that is not a
/// later fragment and whose [`Packet::ports`](crate::packet::Packet::ports) is `Some((s, d))`, a
/// non-negated `sport` (`dport`) facet that does not contain `s` (`d`) means [`Match::eval`]
/// returns [`MatchResult::No`] and changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    /// Source ports required (`--sport`, `--sports`).
    pub sport: Option<PortSet>,
    /// Destination ports required (`--dport`, `--dports`).
    pub dport: Option<PortSet>,
    /// Source or destination port (`multiport --ports`).
    pub(crate) either_port: Option<PortSet>,
    /// TCP flags: mask, compare, negated.
    pub tcp_flags: Option<(u8, u8, bool)>,
    /// ICMP type (0xFF any), code range, negated.
    pub icmp: Option<(u8, (u8, u8), bool)>,
    /// Conntrack state bits, negated (a pure state test).
    pub(crate) ct_state: Option<(u32, bool)>,
    /// Source address range (first, last as integers), negated.
    pub(crate) src_range: Option<(u128, u128, bool)>,
    /// The match reads the connection's tracking state (ctstate, status, tuples, …).
    pub(crate) reads_conntrack: bool,
    /// The facets above say everything the match tests: a packet inside all of them matches,
    /// one outside any of them does not (shadowing may conclude from them).
    pub complete: bool,
    /// Evaluating it changes nothing (no state, no randomness) and never hot-drops: a later
    /// match of the same rule may decide the rule as if this one were not there.
    pub pure: bool,
}

/// A match module instance (`-m NAME --opt …`).
pub trait Match: Debug + Send + Sync + MatchClone + Any {
    /// Module name as printed after `-m`.
    fn name(&self) -> &'static str;
    /// Options the module accepts.
    fn options(&self) -> &'static [OptSpec];
    /// Parse one occurrence of an option. Errors point at the offending value.
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic>;
    /// Whole-match checks after all options (`final_check` + kernel `checkentry`).
    fn finish(&mut self, _cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        Ok(())
    }
    /// The options as `iptables-save` prints them, each preceded by a space.
    fn save(&self, out: &mut String);
    /// Evaluate against the packet in `cx`.
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult;
    /// For `fwcheck trace`: why the match held (`held`) or failed for the packet in `cx`, with
    /// the packet's own values (`--dport 22 ≠ 80`). Called right after [`Match::eval`] with its
    /// result, only while tracing; it reads the state `eval` left and changes nothing. `None`
    /// gives the generic "NAME held / did not hold".
    fn explain(&self, _cx: &EvalCtx<'_>, _held: bool) -> Option<String> {
        None
    }
    /// Hooks the module may be used from (kernel `xt_match.hooks`); all when unrestricted.
    fn hooks(&self) -> HookMask {
        HookMask::ALL
    }
    /// The module needs connection tracking (registers the conntrack hooks, as
    /// `nf_ct_netns_get` does in the kernel's `checkentry`).
    fn needs_conntrack(&self) -> bool {
        false
    }
    /// Loading the module switches conntrack accounting on (`connbytes`: `nf_ct_set_acct` in
    /// its `checkentry`), so connections created from then on count their packets and bytes.
    fn enables_acct(&self) -> bool {
        false
    }
    /// Matches every packet (e.g. `comment`): does not make a rule conditional.
    fn always_true(&self) -> bool {
        false
    }
    /// Whether `iptables-save` prints the match at all. iptables-nft 1.8.9 translates `tcp`/`udp`
    /// into native payload expressions and drops clauses that test nothing (a full port range,
    /// even negated); a match left with no expression disappears from the saved rule and from
    /// the kernel's rule (it then always matches).
    fn printed(&self) -> bool {
        true
    }
    /// Keeps state across packets (limit buckets, recent lists, …): evaluation order matters.
    fn stateful(&self) -> bool {
        false
    }
    /// Its answer depends on the time the packet runs at (`EvalCtx::now`): rates, time
    /// windows, entry timeouts. A frame stamped before an earlier one runs at the later time,
    /// and reaching such a match makes its verdict uncertain ([`crate::engine`]'s `behind`).
    fn reads_clock(&self) -> bool {
        self.stateful()
    }
    /// What the kernel's `checkentry` does to state shared by name when the rule is loaded
    /// (creating or joining a `recent` list or a `hashlimit` table: the first rule *loaded*
    /// sets its parameters). Called for every match in load order
    /// (`crate::ruleset::load_order`) before any packet, and again on reload.
    fn load(&self, _ext: &mut ExtState) {}
    /// Limits how often or how many (`limit`, `hashlimit`, `recent`, `connlimit`): a rule
    /// with it that refuses a packet is a rate or brute-force guard, not the policy refusing
    /// that traffic (FW001 does not count a connection attempt such a rule turns away).
    fn rate_guard(&self) -> bool {
        false
    }
    /// Understood only verbatim (unknown module): verdicts depending on it are uncertain.
    fn is_unknown(&self) -> bool {
        false
    }
    /// The match as `iptables -L` lists it in the options column (each piece preceded by a
    /// space; `print` of the libxt_*.c unit). By default the `iptables-save` form.
    fn listing(&self, out: &mut String) {
        if self.printed() {
            out.push_str(" -m ");
            out.push_str(self.display_name());
            self.save(out);
        }
    }
    /// The ipsets the match names (`-m set --match-set NAME`): the kernel refuses the rule
    /// when one does not exist on the host.
    fn ipsets(&self) -> Vec<&str> {
        Vec::new()
    }
    /// What the match tests, for analyses and the classifier (see [`Facets`]).
    fn facets(&self) -> Facets {
        Facets {
            pure: self.always_true(),
            complete: self.always_true(),
            ..Facets::default()
        }
    }
    /// The name printed after `-m` (differs from [`Match::name`] only for unknown modules).
    fn display_name(&self) -> &str {
        self.name()
    }
    fn as_any(&self) -> &dyn Any;
}

/// What a target tells the traversal to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetVerdict {
    /// XT_CONTINUE: go on with the next rule (LOG, MARK, CT, …).
    Continue,
    Accept,
    Drop,
    /// Dropped, and a reply is sent (REJECT).
    Reject(RejectReply),
    /// A NAT target (SNAT/DNAT/MASQUERADE/REDIRECT/NETMAP) asks for a binding; the engine
    /// installs it on the connection, rewrites the packet and ends the table with ACCEPT.
    Nat(NatSpec),
    /// The target's effect cannot be decided offline.
    Unknown(&'static str),
    /// The kernel decides between `taken` (what fwcheck reports, uncertain) and what
    /// [`Target::forced`] gives (the alternative, computed on a fork).
    Undecided {
        why: &'static str,
        taken: Taken,
    },
}

/// What an undecided target is taken to do ([`TargetVerdict::Undecided`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Accept,
    Drop,
}

/// Which NAT manipulation a target requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// Source NAT to the given range.
    Snat,
    /// Destination NAT to the given range.
    Dnat,
    /// SNAT to the address of the outgoing interface (the host's address).
    Masquerade,
    /// DNAT to the host itself (primary address of the incoming interface, 127.0.0.1 locally).
    Redirect,
    /// Stateless 1:1 mapping of a network prefix (`NETMAP --to`): `addr_min` is the new prefix
    /// and `addr_max` holds the mask (as an address).
    Netmap { snat: bool },
}

/// NETMAP's arithmetic (`netmap_tg4`/`netmap_tg6`): the network bits from `prefix`, the host
/// bits from `old`. Mixed families keep `old`.
pub(crate) fn netmap_addr(
    old: std::net::IpAddr,
    prefix: std::net::IpAddr,
    mask: std::net::IpAddr,
) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    match (old, prefix, mask) {
        (IpAddr::V4(o), IpAddr::V4(p), IpAddr::V4(m)) => {
            let (o, p, m) = (u32::from(o), u32::from(p), u32::from(m));
            IpAddr::V4(Ipv4Addr::from((o & !m) | (p & m)))
        }
        (IpAddr::V6(o), IpAddr::V6(p), IpAddr::V6(m)) => {
            let (o, p, m) = (u128::from(o), u128::from(p), u128::from(m));
            IpAddr::V6(Ipv6Addr::from((o & !m) | (p & m)))
        }
        _ => old,
    }
}

/// A NAT request: the address and port ranges a binding is chosen from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatSpec {
    pub kind: NatKind,
    /// Address range (inclusive); `None` keeps the address (port-only NAT) or, for
    /// MASQUERADE/REDIRECT, uses the host's address.
    pub addr: Option<(std::net::IpAddr, std::net::IpAddr)>,
    /// Port range (inclusive), `None` keeps the port when possible.
    pub ports: Option<(u16, u16)>,
    /// Shifted port map (`DNAT --to-destination a:p-q/base`, `NF_NAT_RANGE_PROTO_OFFSET`): the
    /// new port is `p + (old - base) % (q - p + 1)` instead of a free port of the range.
    pub(crate) base_port: Option<u16>,
    /// `--random`/`--random-fully`: the chosen port is not predictable offline.
    pub random: bool,
    pub(crate) persistent: bool,
}

/// The reply REJECT sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReply {
    Icmp { icmp_type: u8, code: u8 },
    Icmpv6 { icmp_type: u8, code: u8 },
    TcpReset,
}

/// `tcp-reset`, `icmp 3/3`, `icmpv6 1/4`: as the table and JSON name what REJECT sends.
impl std::fmt::Display for RejectReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReply::TcpReset => f.write_str("tcp-reset"),
            RejectReply::Icmp { icmp_type, code } => write!(f, "icmp {icmp_type}/{code}"),
            RejectReply::Icmpv6 { icmp_type, code } => write!(f, "icmpv6 {icmp_type}/{code}"),
        }
    }
}

/// A target instance (`-j NAME --opt …`).
pub trait Target: Debug + Send + Sync + TargetClone + Any {
    fn name(&self) -> &'static str;
    fn options(&self) -> &'static [OptSpec];
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic>;
    fn finish(&mut self, _cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        Ok(())
    }
    fn save(&self, out: &mut String);
    fn apply(&self, cx: &mut EvalCtx<'_>) -> TargetVerdict;
    /// For a target whose [`Target::apply`] said [`TargetVerdict::Undecided`]: its other
    /// outcome, with its effects (a fork taking the other answer).
    fn forced(&self, _cx: &mut EvalCtx<'_>) -> TargetVerdict {
        TargetVerdict::Continue
    }
    /// Tables the target may be used in (kernel `xt_target.table`); `None` = any.
    fn table(&self) -> Option<TableKind> {
        None
    }
    /// Hooks the target may be used from; all when unrestricted.
    fn hooks(&self) -> HookMask {
        HookMask::ALL
    }
    /// Always ends the traversal (ACCEPT-like, DROP-like, REJECT, DNAT, …).
    fn is_terminal(&self) -> bool {
        false
    }
    fn needs_conntrack(&self) -> bool {
        false
    }
    fn is_unknown(&self) -> bool {
        false
    }
    /// What it does depends on the time the packet runs at (see [`Match::reads_clock`]).
    fn reads_clock(&self) -> bool {
        false
    }
    /// The ipsets the target names (`-j SET --add-set NAME`): the kernel refuses the rule
    /// when one does not exist on the host.
    fn ipsets(&self) -> Vec<&str> {
        Vec::new()
    }
    /// Only observes the packet (LOG, NFLOG, TRACE, …): continues with the next rule and
    /// changes nothing the verdict depends on.
    fn observes_only(&self) -> bool {
        false
    }
    /// The reply, for a target that always rejects (REJECT).
    fn reject_reply(&self) -> Option<RejectReply> {
        None
    }
    /// The binding requested, for a NAT target whose request does not depend on the packet
    /// (`SNAT`, `DNAT`).
    fn nat_spec(&self) -> Option<NatSpec> {
        None
    }
    /// For a target rewriting packet headers in place (`TTL`, `HL`, `TOS`, `DSCP`, `TCPMSS`,
    /// `ECN`): whether `pkt`, as a capture shows it after the rewrite, may be what this target
    /// made, and the names of the matches that read what it rewrites (what rules before it
    /// saw is then not known). `None` for any other target, or when it cannot have (a set
    /// value the packet does not carry).
    fn rewrote(&self, _pkt: &crate::packet::Packet) -> Option<&'static [&'static str]> {
        None
    }
    /// The name printed after `-j` (differs from [`Target::name`] only for unknown targets).
    fn display_name(&self) -> &str {
        self.name()
    }
    fn as_any(&self) -> &dyn Any;
}

/// Object-safe cloning for boxed matches.
pub trait MatchClone {
    fn clone_box(&self) -> Box<dyn Match>;
}
impl<T: Match + Clone + 'static> MatchClone for T {
    fn clone_box(&self) -> Box<dyn Match> {
        Box::new(self.clone())
    }
}
impl Clone for Box<dyn Match> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Object-safe cloning for boxed targets.
pub trait TargetClone {
    fn clone_box(&self) -> Box<dyn Target>;
}
impl<T: Target + Clone + 'static> TargetClone for T {
    fn clone_box(&self) -> Box<dyn Target> {
        Box::new(self.clone())
    }
}
impl Clone for Box<dyn Target> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
