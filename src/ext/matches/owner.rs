//! `-m owner [!] --uid-owner U[-U] [!] --gid-owner G[-G] [--suppl-groups] [!] --socket-exists`
//! (libxt_owner.c / kernel `xt_owner.c` `owner_mt`), OUTPUT and POSTROUTING only.
//!
//! User and group names: iptables resolves them through NSS on the machine that loads the
//! rules, which an offline check cannot reproduce; fwcheck accepts numbers (and ranges `A-B`
//! or `A:B`) and the name `root` (0 on every system), and reports other names as errors that
//! ask for the number.
//!
//! Evaluation: a packet without a local socket (forwarded packets, i.e. POSTROUTING with an input
//! device) matches exactly when every given option is negated (`(match ^ invert) == 0`), as the
//! kernel decides for `!sk`. Locally generated packets have a socket whose owner is not known
//! offline (and some, such as kernel-made resets, have none): `Unknown`.

use std::any::Any;
use std::fmt::Write;

use super::{bad, missing};
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{strtoul_prefix, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};
use crate::netfilter::{Hook, HookMask};
use crate::packet::tcp_flags;

pub const UID: u8 = 1;
pub const GID: u8 = 2;
pub(crate) const SOCKET: u8 = 4;
pub(crate) const SUPPL: u8 = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: (u32, u32),
    pub gid: (u32, u32),
    pub(crate) matchf: u8,
    pub invert: u8,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Owner {
        uid: (0, 0),
        gid: (0, 0),
        matchf: 0,
        invert: 0,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("uid-owner", UID, Arg::One).inv(),
    OptSpec::new("gid-owner", GID, Arg::One).inv(),
    OptSpec::new("socket-exists", SOCKET, Arg::None).inv(),
    OptSpec::new("suppl-groups", SUPPL, Arg::None),
];

/// The users Debian's base-passwd allocates statically (`passwd.master`): the same number on
/// every Debian and Ubuntu host.
const STATIC_USERS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("sync", 4),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("list", 38),
    ("irc", 39),
    ("nobody", 65534),
];

/// The groups of base-passwd's `group.master`.
const STATIC_GROUPS: &[(&str, u32)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("uucp", 10),
    ("man", 12),
    ("proxy", 13),
    ("kmem", 15),
    ("dialout", 20),
    ("fax", 21),
    ("voice", 22),
    ("cdrom", 24),
    ("floppy", 25),
    ("tape", 26),
    ("sudo", 27),
    ("audio", 29),
    ("dip", 30),
    ("www-data", 33),
    ("backup", 34),
    ("operator", 37),
    ("list", 38),
    ("irc", 39),
    ("src", 40),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("sasl", 45),
    ("plugdev", 46),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

/// `owner_parse_range`, plus the names of [`STATIC_USERS`] / [`STATIC_GROUPS`], which iptables
/// resolves in the loading host's user database: a name other than `root` gets a warning
/// (kernel hunt: `--uid-owner nobody` in VPN kill switches was refused).
fn parse_id_range(
    a: &OptArg<'_>,
    what: &str,
    cx: &mut ParseCtx<'_>,
) -> Result<(u32, u32), Diagnostic> {
    let names = if what == "user" {
        STATIC_USERS
    } else {
        STATIC_GROUPS
    };
    if let Some(&(name, id)) = names.iter().find(|(n, _)| *n == a.text) {
        if name != "root" {
            cx.warn(
                Diagnostic::warning(
                    crate::diag::codes::HOST_STATE,
                    a.span,
                    format!("{what} `{name}` taken as {id}, Debian's static id"),
                )
                .note(
                    "iptables looks the name up on the host that loads the rules; write the \
                     number if that host numbers it otherwise",
                ),
            );
        }
        return Ok((id, id));
    }
    let t = a.text;
    let max = u32::MAX as u64 - 1;
    let err = || {
        let looks_name = t
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let d = bad(
            a.span,
            if looks_name {
                format!("{what} name `{t}` cannot be resolved offline")
            } else {
                format!("bad {what} `{t}`")
            },
            format!("a numeric {what} id or range A-B (0 to 4294967294)"),
        );
        if looks_name {
            d.note("iptables looks names up in the loading host's user database; write the number (e.g. `id -u NAME`)")
        } else {
            d
        }
    };
    let (from, n) = strtoul_prefix(t)
        .filter(|(v, _)| *v <= max)
        .ok_or_else(err)?;
    let rest = &t[n..];
    if rest.is_empty() {
        return Ok((from as u32, from as u32));
    }
    let Some(r) = rest.strip_prefix('-').or_else(|| rest.strip_prefix(':')) else {
        return Err(err());
    };
    match strtoul_prefix(r) {
        // xt_owner.c `owner_check` refuses a range whose end is below its start (EINVAL,
        // "RULE_APPEND failed (Invalid argument)"); libxt_owner passes it on.
        Some((to, k)) if to <= max && k == r.len() && to < from => Err(bad(
            a.span,
            format!("{what} range `{t}` ends below its start"),
            format!("a {what} range A-B with A <= B"),
        )
        .note("iptables passes it on and the kernel refuses the rule (owner_check: EINVAL)")),
        Some((to, k)) if to <= max && k == r.len() => Ok((from as u32, to as u32)),
        _ => Err(err()),
    }
}

/// An ICMP echo reply or error message: what the kernel answers with its own ICMP socket.
fn sent_by_icmp_socket(p: &crate::packet::Packet) -> bool {
    match &p.l4 {
        crate::packet::L4::Icmp(i) => {
            i.icmp_type == 0 || crate::packet::decode::icmp_is_error(p.family, i.icmp_type)
        }
        crate::packet::L4::Icmpv6(i) => {
            i.icmp_type == 129 || crate::packet::decode::icmp_is_error(p.family, i.icmp_type)
        }
        _ => false,
    }
}

impl Match for Owner {
    fn name(&self) -> &'static str {
        "owner"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            UID => self.uid = parse_id_range(&args[0], "user", cx)?,
            GID => self.gid = parse_id_range(&args[0], "group", cx)?,
            SUPPL if self.matchf & GID == 0 => {
                return Err(super::conflict(
                    cx,
                    "--suppl-groups needs --gid-owner first",
                    "--gid-owner G --suppl-groups",
                ))
            }
            _ => {}
        }
        self.matchf |= opt.id;
        if invert {
            self.invert |= opt.id;
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        if self.matchf == 0 {
            return Err(missing(
                cx,
                "-m owner requires --uid-owner, --gid-owner or --socket-exists",
                "--uid-owner UID, --gid-owner GID or --socket-exists",
            ));
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        for (flag, label, range) in [
            (SOCKET, "--socket-exists", None),
            (UID, "--uid-owner", Some(self.uid)),
            (GID, "--gid-owner", Some(self.gid)),
            (SUPPL, "--suppl-groups", None),
        ] {
            if self.matchf & flag == 0 {
                continue;
            }
            if self.invert & flag != 0 {
                out.push_str(" !");
            }
            let _ = write!(out, " {label}");
            if let Some((a, b)) = range {
                if a == b {
                    let _ = write!(out, " {a}");
                } else {
                    let _ = write!(out, " {a}-{b}");
                }
            }
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if !cx.is_local_out() || cx.skb.no_socket {
            // No socket: forwarded traffic, REJECT's TCP reset (`nf_send_reset`).
            return MatchResult::from_bool((self.matchf ^ self.invert) == 0);
        }
        // The host's ICMP echo replies and errors leave from the kernel's per-namespace ICMP
        // socket (`icmp_reply`, `icmp_send`; IPv6 likewise), which has no file: owner_mt
        // matches neither --uid-owner nor --gid-owner there (their negations do), and
        // --socket-exists holds. Kernel-checked: the oracle's guard (`oracle::lab`) lets
        // through only packets of a socket with a file of its uid and counts the namespace's
        // echo replies and errors as dropped in every replay (`oracle_ipv6`, `oracle_conntrack`
        // assert it); a kernel lab's port unreachable matched `! --uid-owner 0-65535` and not
        // `! --socket-exists`. The guard sits before every table, so the oracle cannot show
        // these packets to a ruleset's OUTPUT chain.
        // The host's reset to a SYN no socket took (a closed port: RST|ACK with sequence 0,
        // `tcp_v4_send_reset`/`tcp_v6_send_reset` with no socket to stand for) leaves from the
        // kernel's per-CPU TCP control socket, which has no file either (kernel hunt
        // `owner-rst`: matched `! --uid-owner 0-65535`).
        let control_socket = matches!(&cx.pkt.l4, crate::packet::L4::Tcp(t)
            if t.flags & (tcp_flags::RST | tcp_flags::ACK) == tcp_flags::RST | tcp_flags::ACK
                && t.seq == 0);
        if !cx.env.frames_injected && (sent_by_icmp_socket(cx.pkt) || control_socket) {
            if self.matchf & self.invert & SOCKET != 0 {
                return MatchResult::No;
            }
            return MatchResult::from_bool((self.matchf ^ self.invert) & (UID | GID) == 0);
        }
        // The host's last ACK of a connection it closed first: if the application closed its
        // socket, the kernel had turned it into a timewait socket, which sends the ACK
        // (`tcp_v4_timewait_ack`) and which `owner_mt` takes as no socket (`sk_to_full_sk`);
        // if it only shut down its sending side, the full socket sends it. Not in a capture.
        let pure_ack = matches!(&cx.pkt.l4, crate::packet::L4::Tcp(t)
            if t.flags & !(tcp_flags::ECE | tcp_flags::CWR) == tcp_flags::ACK)
            && cx.pkt.payload_len == 0;
        if !cx.env.frames_injected
            && pure_ack
            && cx
                .ct()
                .and_then(|e| e.tcp())
                .is_some_and(|t| t.state == crate::conntrack::tcp::TcpState::TimeWait)
        {
            return MatchResult::Unknown(
                "the host's ACK in TIME_WAIT: a timewait socket sends it (no socket for -m owner) \
                 if the application closed its socket, the full socket if it only shut down \
                 sending, which a capture does not show",
            );
        }
        let Some(o) = cx.env.socket_owner(cx.pkt) else {
            return MatchResult::Unknown(
                "the owner of a local socket is not known offline (give --socket-owner)",
            );
        };
        // owner_mt with a full socket: --socket-exists holds; each of uid and gid must hold as
        // given (inverted where `!`).
        if self.matchf & self.invert & SOCKET != 0 {
            return MatchResult::from_bool(false);
        }
        if self.matchf & UID != 0 {
            let hit = (self.uid.0..=self.uid.1).contains(&o.uid);
            if hit == (self.invert & UID != 0) {
                return MatchResult::from_bool(false);
            }
        }
        if self.matchf & GID != 0 {
            let Some(gid) = o.gid else {
                return MatchResult::Unknown(
                    "the group of a local socket is not known offline (give --socket-owner UID:GID)",
                );
            };
            let hit = (self.gid.0..=self.gid.1).contains(&gid);
            if !hit && self.matchf & SUPPL != 0 {
                return MatchResult::Unknown(
                    "the supplementary groups of a local socket are not known offline",
                );
            }
            if hit == (self.invert & GID != 0) {
                return MatchResult::from_bool(false);
            }
        }
        MatchResult::from_bool(true)
    }
    fn hooks(&self) -> HookMask {
        HookMask::of(&[Hook::Output, Hook::Postrouting])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
