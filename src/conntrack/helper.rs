//! Conntrack helpers: the kernel's table of `struct nf_conntrack_helper`, which helper a new
//! connection gets, and the call of `helper->help()` for every packet of a connection that has
//! one.
//!
//! Mirrors `net/netfilter/nf_conntrack_helper.c` and `nf_conntrack_proto.c`:
//! * **Assignment** (`__nf_ct_try_assign_helper`): since Linux 6.0 a connection gets a helper
//!   only from a `CT --helper NAME` template in the raw table (the automatic assignment by port,
//!   `nf_conntrack_helper=1`, is gone). A connection created by an expectation gets the
//!   expectation's helper instead (none, for FTP and TFTP) and never the template's.
//! * **When it runs** (`nf_confirm`): at the confirm hooks — LOCAL_IN and POSTROUTING, after
//!   every table — so only for packets the ruleset accepted, on the packet as NAT left it, for
//!   every ctinfo except `IP_CT_RELATED_REPLY` (ICMP errors in the reply direction).
//! * **What it does**: the FTP helper ([`super::ftp`]) reads commands and replies and expects
//!   the data connection; the TFTP helper ([`super::tftp`]) expects the server's reply from a
//!   new port. Expectations live in [`super::expect`]. A helper's `NF_DROP` drops the packet
//!   after the ruleset accepted it (FTP: a command split so that its start is seen without the
//!   rest, "partial matching of `PORT`"; any helper: "cannot add expectation").
//!
//! * **Through NAT** (`nf_nat_ftp.c`, `nf_nat_tftp.c`, `nf_nat_helper.c`), for a master with
//!   `IPS_SRC_NAT` or `IPS_DST_NAT` whose packets the host forwards: the expectation carries
//!   `nf_nat_follow_master` (see [`super::expect`]); FTP registers it itself on the announced
//!   port (`nf_nat_exp_find_port`: another only when another master holds that one, then at
//!   random: uncertain) and rewrites the command's address and port to what the other side
//!   must use (`nf_nat_ftp_fmt_cmd`, `__nf_nat_mangle_tcp_packet`); a rewrite of another length
//!   shifts the sequence numbers of the rest of that direction, and the acknowledgments of the
//!   other (`nf_ct_seqadj_set`, `nf_ct_seq_adjust` at the confirm hook, `nf_ct_seq_offset` in
//!   `tcp_in_window`) — [`SeqAdj`]. TFTP only saves the client's port. For the host's own
//!   connections (the capture shows their packets after the rewrite) it stays uncertain.
//!
//! Helpers fwcheck does not model (irc, sip, h323's RAS/Q.931/H.245, pptp, amanda, sane,
//! netbios-ns, snmp, userspace helpers) are still attached: once such a connection carried
//! payload, any later new connection could be one of its expectations, so new connections are
//! reported uncertain (never certainly NEW) while it lives.

use std::net::IpAddr;

use super::expect::{ExpectErr, ExpectKey, Follow};
use super::{ftp, tftp, Conntrack, CtDir, CtId, CtInfo};
use crate::packet::{proto, Family, Packet, L4};

/// What fwcheck knows of a helper's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Ftp,
    Tftp,
    /// Attached and counted, but its expectations are not computed.
    NotModelled,
}

/// One in-kernel helper (`nf_conntrack_helper_register` of its module).
#[derive(Debug, Clone, Copy)]
pub struct HelperDef {
    pub name: &'static str,
    pub proto: u8,
    /// Registered for IPv6 too.
    pub ipv6: bool,
    pub model: Model,
}

/// The kernel's helpers. `sip` exists for UDP and TCP; the H.323 helper registers three.
pub(crate) const HELPERS: &[HelperDef] = &[
    def("ftp", proto::TCP, true, Model::Ftp),
    def("tftp", proto::UDP, true, Model::Tftp),
    def("irc", proto::TCP, false, Model::NotModelled),
    def("sip", proto::UDP, true, Model::NotModelled),
    def("sip", proto::TCP, true, Model::NotModelled),
    def("RAS", proto::UDP, true, Model::NotModelled),
    def("Q.931", proto::TCP, true, Model::NotModelled),
    def("H.245", proto::UDP, true, Model::NotModelled),
    def("pptp", proto::TCP, false, Model::NotModelled),
    def("amanda", proto::UDP, true, Model::NotModelled),
    def("sane", proto::TCP, true, Model::NotModelled),
    def("netbios-ns", proto::UDP, false, Model::NotModelled),
    def("snmp", proto::UDP, false, Model::NotModelled),
    def("snmp_trap", proto::UDP, false, Model::NotModelled),
];

const fn def(name: &'static str, proto: u8, ipv6: bool, model: Model) -> HelperDef {
    HelperDef {
        name,
        proto,
        ipv6,
        model,
    }
}

/// A helper: an index into `HELPERS`, or a userspace helper (`nfct helper add`), which
/// fwcheck cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelperId(u8);

impl HelperId {
    pub(crate) const USERSPACE: HelperId = HelperId(u8::MAX);

    /// The helper `CT --helper NAME` attaches to a connection of protocol `l4` (a name the
    /// kernel does not have is a userspace helper).
    pub fn lookup(name: &str, l4: u8) -> HelperId {
        HELPERS
            .iter()
            .position(|h| h.name == name && h.proto == l4)
            .or_else(|| HELPERS.iter().position(|h| h.name == name))
            .map_or(HelperId::USERSPACE, |i| HelperId(i as u8))
    }

    pub fn def(self) -> Option<&'static HelperDef> {
        HELPERS.get(self.0 as usize)
    }

    /// `helper->name` (a userspace helper's name is not kept: `?`).
    pub fn name(self) -> &'static str {
        self.def().map_or("?", |d| d.name)
    }

    pub fn model(self) -> Model {
        self.def().map_or(Model::NotModelled, |d| d.model)
    }
}

/// A connection's helper and its private data (`struct nf_conn_help`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    pub helper: HelperId,
    /// `struct nf_ct_ftp_master`.
    pub ftp: ftp::FtpMaster,
    /// A helper fwcheck does not model saw payload: its expectations are unknown.
    pub(crate) unmodelled_payload: bool,
    /// `struct nf_conn_seqadj` (the connection's `IPS_SEQ_ADJUST`), per direction.
    pub(crate) seqadj: [SeqAdj; 2],
}

impl Help {
    pub fn new(helper: HelperId) -> Self {
        Help {
            helper,
            ftp: ftp::FtpMaster::default(),
            unmodelled_payload: false,
            seqadj: [SeqAdj::default(); 2],
        }
    }
}

/// `struct nf_ct_seqadj`: from `correction_pos` on, the direction's sequence numbers are
/// `offset_after` further on the far side (before it, `offset_before`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqAdj {
    pub(crate) correction_pos: u32,
    pub(crate) offset_before: i32,
    pub(crate) offset_after: i32,
}

/// `after(a, b)` on sequence numbers.
fn seq_after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

impl SeqAdj {
    /// `nf_ct_seqadj_set`: a segment at `seq` grew by `off` bytes ("we don't handle more than
    /// one adjustment in the window, but do deal with the common case of a retransmit").
    fn set(&mut self, seq: u32, off: i32) {
        if off == 0 {
            return;
        }
        if self.offset_before == self.offset_after || seq_after(seq, self.correction_pos) {
            self.correction_pos = seq;
            self.offset_before = self.offset_after;
            self.offset_after += off;
        }
    }

    /// `nf_ct_seq_offset`: the offset of sequence number `seq` of this direction.
    pub(crate) fn offset(&self, seq: u32) -> i32 {
        if seq_after(seq, self.correction_pos) {
            self.offset_after
        } else {
            self.offset_before
        }
    }

    /// `nf_ct_seq_adjust`'s acknowledgment of this direction's data, as the far side sent it,
    /// turned back: `ack - offset`.
    fn unadjust_ack(&self, ack: u32) -> u32 {
        let off = if seq_after(
            ack.wrapping_sub(self.offset_before as u32),
            self.correction_pos,
        ) {
            self.offset_after
        } else {
            self.offset_before
        };
        ack.wrapping_sub(off as u32)
    }
}

/// `nf_ct_seq_adjust` for a TCP segment of a connection with `IPS_SEQ_ADJUST`, sent in
/// direction `dir`: its sequence number and acknowledgment as it leaves (`None`: no change).
pub(crate) fn seq_adjust(
    ct: &Conntrack,
    id: CtId,
    dir: CtDir,
    seq: u32,
    ack: Option<u32>,
) -> Option<(u32, u32)> {
    let e = ct.get(id)?;
    if e.status & super::status::SEQ_ADJUST == 0 {
        return None;
    }
    let adj = &e.help.as_deref()?.seqadj;
    let d = dir as usize;
    let seq = seq.wrapping_add(adj[d].offset(seq) as u32);
    let ack = ack.map_or(0, |a| adj[1 - d].unadjust_ack(a));
    Some((seq, ack))
}

/// `nf_ct_seq_offset(ct, !dir, ack - 1)` for `tcp_in_window`: how far the acknowledgments of a
/// segment sent in direction `dir` are off the data conntrack saw (0 without adjustment).
pub(crate) fn ack_offset(ct: &Conntrack, id: CtId, dir: CtDir, ack: u32) -> i32 {
    match ct.get(id) {
        Some(e) if e.status & super::status::SEQ_ADJUST != 0 => e.help.as_deref().map_or(0, |h| {
            h.seqadj[1 - dir as usize].offset(ack.wrapping_sub(1))
        }),
        _ => 0,
    }
}

/// What the NAT half of a helper needs: the expectation's `exp->dir` and saved port, and for
/// FTP the command and where its numbers lie in the payload.
type NatPart = (Follow, Option<(ftp::FtpCmd, (usize, usize))>);

/// The rewrite `nf_nat_mangle_tcp_packet` made: `len` payload bytes at `off` became `rep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mangle {
    pub off: usize,
    pub len: usize,
    pub rep: Box<[u8]>,
}

/// What `helper->help()` did to one packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helped {
    /// `NF_DROP`: the packet is dropped although the ruleset accepted it.
    pub drop: Option<&'static str>,
    /// What the helper saw or did, for traces (`227 reply: expect tcp …`).
    pub note: Option<String>,
    /// The helper's result depends on something fwcheck cannot see.
    pub uncertain: Option<&'static str>,
    /// `nf_nat_ftp` rewrote the payload.
    pub mangle: Option<Mangle>,
}

/// `nf_confirm`'s helper call for a packet of connection `id` that the ruleset accepted.
/// `doubt`: the packet's own verdict is uncertain (why), so what the helper expects is too.
/// `forwarded`: the host forwards the packet (the capture shows it as it came in, before the
/// helper's NAT rewrote it), so the NAT half of the helper is modelled.
#[allow(clippy::too_many_arguments)]
pub fn help(
    ct: &mut Conntrack,
    id: CtId,
    info: CtInfo,
    pkt: &Packet,
    now: u64,
    p: &super::Params,
    doubt: Option<&str>,
    forwarded: bool,
) -> Helped {
    let Some(e) = ct.get(id) else {
        return Helped::default();
    };
    let Some(h) = e.help.as_deref() else {
        return Helped::default();
    };
    // helper->help() does not expect ICMP packets.
    if info == CtInfo::RelatedReply {
        return Helped::default();
    }
    let helper = h.helper;
    // The payload is there but the capture (snap length) did not keep all of it.
    let cut = pkt.payload_len > 0 && pkt.data.len() < pkt.ip_len as usize;
    let natted = e.status & (super::status::SRC_NAT | super::status::DST_NAT) != 0;
    let dir = info.dir();
    let (fwd, back) = match dir {
        CtDir::Original => (0, 1),
        CtDir::Reply => (1, 0),
    };
    let sender = e.tuple[fwd].src;
    let (exp_src, exp_dst) = (e.tuple[back].src, e.tuple[back].dst);
    let reply = e.tuple[1];
    let orig_sport = e.tuple[0].sport;
    // Where the other side must connect to: `ct->tuplehash[!dir].tuple.dst.u3`.
    let new_addr = e.tuple[back].dst;
    let zone = e.zone;
    let (master_serial, master_mark) = (e.serial, e.mark);
    let family = pkt.family;
    let mut out = Helped::default();
    // The NAT half: (`exp->dir`, saved port) and, for FTP, the command to rewrite.
    let nat: Option<NatPart>;
    let key = match (helper.model(), &pkt.l4) {
        (Model::Ftp, L4::Tcp(th)) => {
            // Until there's been traffic both ways, don't look in packets.
            if !matches!(info, CtInfo::Established | CtInfo::EstablishedReply) {
                return out;
            }
            let data = pkt.payload();
            if data.is_empty() && !cut {
                return out;
            }
            if cut {
                out.uncertain = Some(
                    "the FTP helper reads the whole payload, which the capture cut off (a \
                     data connection it would expect may be RELATED)",
                );
                ct.add_doubt(
                    Some((exp_src, exp_dst)),
                    id,
                    master_serial,
                    format!(
                        "frame {}: the FTP helper could not read a command the capture cut off",
                        pkt.frame
                    ),
                    now,
                );
                return out;
            }
            let e = ct.get_mut(id).expect("entry");
            let h = e.help.as_deref_mut().expect("help");
            match ftp::help(&mut h.ftp, fwd, th.seq, data, sender, family) {
                ftp::FtpResult::Accept => return out,
                ftp::FtpResult::Drop(why) => {
                    out.drop = Some(why);
                    out.note = Some(format!("conntrack helper ftp: NF_DROP, {why}"));
                    return out;
                }
                ftp::FtpResult::NotRecorded { cmd, addr } => {
                    out.note = Some(format!(
                        "conntrack helper ftp: {cmd} names {addr}, not the sender {sender}: \
                         nothing expected (nf_conntrack_ftp loose=0)"
                    ));
                    return out;
                }
                ftp::FtpResult::Expect { cmd, port, at } => {
                    out.note = Some(format!("conntrack helper ftp: {cmd}"));
                    // nf_nat_ftp: "connection will come from wherever this packet goes,
                    // hence !dir".
                    nat = Some((
                        Follow {
                            dir: if fwd == 0 {
                                CtDir::Reply
                            } else {
                                CtDir::Original
                            },
                            port,
                        },
                        Some((cmd, at)),
                    ));
                    ExpectKey {
                        src: exp_src,
                        dst: exp_dst,
                        proto: proto::TCP,
                        dport: port,
                        zone,
                    }
                }
            }
        }
        (Model::Tftp, L4::Udp(_)) => {
            let data = pkt.payload();
            if data.len() < 2 {
                if cut {
                    out.uncertain = Some(
                        "the TFTP helper reads the opcode, which the capture cut off (a reply \
                         it would expect may be RELATED)",
                    );
                    ct.add_doubt(
                        Some((reply.src, reply.dst)),
                        id,
                        master_serial,
                        format!(
                            "frame {}: the TFTP helper could not read an opcode the capture cut \
                             off",
                            pkt.frame
                        ),
                        now,
                    );
                }
                return out;
            }
            match tftp::help(data) {
                None => return out,
                Some(op) => {
                    out.note = Some(format!("conntrack helper tftp: {op}"));
                    // nf_nat_tftp: to the client's own port, whatever NAT made of it.
                    nat = Some((
                        Follow {
                            dir: CtDir::Reply,
                            port: orig_sport,
                        },
                        None,
                    ));
                    ExpectKey {
                        src: reply.src,
                        dst: reply.dst,
                        proto: proto::UDP,
                        dport: reply.dport,
                        zone,
                    }
                }
            }
        }
        (Model::Ftp | Model::Tftp, _) => return out,
        (Model::NotModelled, _) => {
            if pkt.payload_len > 0 {
                let e = ct.get_mut(id).expect("entry");
                let h = e.help.as_deref_mut().expect("help");
                if !std::mem::replace(&mut h.unmodelled_payload, true) {
                    ct.add_doubt(
                        None,
                        id,
                        master_serial,
                        format!(
                            "conntrack helper {} (frame {}) is not modelled: its expectations \
                             are unknown",
                            helper.name(),
                            pkt.frame
                        ),
                        now,
                    );
                }
            }
            return out;
        }
    };
    let mut doubt = doubt.map(|d| format!("frame {} was uncertain ({d})", pkt.frame));
    if natted && forwarded {
        return nat_help(
            ct,
            out,
            key,
            nat,
            doubt,
            (id, master_serial, master_mark),
            helper,
            pkt,
            now,
            p,
            (fwd, new_addr),
        );
    }
    if natted {
        // nf_nat_ftp / nf_nat_tftp rewrite the payload and register the expectation
        // themselves, possibly on another port.
        out.uncertain = Some("the helper's NAT part (nf_nat_ftp/nf_nat_tftp) is not modelled");
        doubt.get_or_insert_with(|| {
            format!(
                "frame {}: the expectation of a NATed {} connection (nf_nat_{} is not modelled)",
                pkt.frame,
                helper.name(),
                helper.name()
            )
        });
    }
    let expect = super::expect::Expectation {
        master: id,
        master_serial,
        master_mark,
        helper,
        deadline: now + super::expect::EXPECT_TIMEOUT_SECS * p.hz as u64,
        frame: pkt.frame,
        doubt: doubt.map(String::into_boxed_str),
        follow: None,
    };
    let described = describe(&key, family);
    match ct.expect_related(key, expect, now, super::expect::expect_max(p.ct_buckets)) {
        Ok(()) => {
            if let Some(n) = out.note.as_mut() {
                n.push_str(&format!(
                    ": expect {described} for {} s",
                    super::expect::EXPECT_TIMEOUT_SECS
                ));
            }
        }
        Err(e) => {
            let why = e.why();
            out.drop = Some(why);
            if let Some(n) = out.note.as_mut() {
                n.push_str(&format!(": {described}: NF_DROP, {why}"));
            }
        }
    }
    out
}

/// The NAT half of a helper on a forwarded packet of a NATed master: `nf_nat_tftp`'s `help`
/// (the expectation with `nf_nat_follow_master`) or `nf_nat_ftp` (that, on the announced port
/// or another, and the command rewritten to `new_addr` and that port).
#[allow(clippy::too_many_arguments)]
fn nat_help(
    ct: &mut Conntrack,
    mut out: Helped,
    key: ExpectKey,
    nat: Option<NatPart>,
    doubt: Option<String>,
    (id, master_serial, master_mark): (CtId, u64, u32),
    helper: HelperId,
    pkt: &Packet,
    now: u64,
    p: &super::Params,
    (dir, new_addr): (usize, IpAddr),
) -> Helped {
    let Some((follow, cmd)) = nat else {
        return out;
    };
    let uncertain = doubt.is_some();
    let expect = super::expect::Expectation {
        master: id,
        master_serial,
        master_mark,
        helper,
        deadline: now + super::expect::EXPECT_TIMEOUT_SECS * p.hz as u64,
        frame: pkt.frame,
        doubt: doubt.map(String::into_boxed_str),
        follow: Some(follow),
    };
    let max = super::expect::expect_max(p.ct_buckets);
    let registered = ct.expect_related(key, expect.clone(), now, max);
    let Some((cmd, (off, len))) = cmd else {
        // nf_nat_tftp: "cannot add expectation" drops, as without NAT.
        let described = describe(&key, pkt.family);
        match registered {
            Ok(()) => {
                if let Some(n) = out.note.as_mut() {
                    n.push_str(&format!(
                        ": expect {described} for {} s, NATed as its master                          (nf_nat_follow_master)",
                        super::expect::EXPECT_TIMEOUT_SECS
                    ));
                }
            }
            Err(e) => {
                out.drop = Some(e.why());
                if let Some(n) = out.note.as_mut() {
                    n.push_str(&format!(": {described}: NF_DROP, {}", e.why()));
                }
            }
        }
        return out;
    };
    match registered {
        Ok(()) => {}
        Err(ExpectErr::Busy) => {
            // nf_nat_exp_find_port: up to 128 ports at random in [port, 65535).
            out.uncertain = Some(
                "another connection expects the announced port: nf_nat_ftp tries ports at                  random (nf_nat_exp_find_port), and rewrites the command to the one it gets",
            );
            ct.add_doubt(
                Some((key.src, key.dst)),
                id,
                master_serial,
                format!(
                    "frame {}: nf_nat_ftp chose a port at random for the expectation",
                    pkt.frame
                ),
                now,
            );
            return out;
        }
        Err(ExpectErr::Full) => {
            out.drop = Some("all ports in use");
            out.note = Some("conntrack helper ftp (nf_nat_ftp): NF_DROP, all ports in use".into());
            return out;
        }
    }
    // nf_nat_ftp_fmt_cmd.
    let port = key.dport;
    let rep = match (cmd, new_addr) {
        (ftp::FtpCmd::Port | ftp::FtpCmd::Pasv, IpAddr::V4(a)) => {
            crate::packet::traffic::gen::port_arg(a.octets(), port)
        }
        // `addr->ip`: the first four bytes of the union.
        (ftp::FtpCmd::Port | ftp::FtpCmd::Pasv, IpAddr::V6(a)) => {
            let o = a.octets();
            crate::packet::traffic::gen::port_arg([o[0], o[1], o[2], o[3]], port)
        }
        (ftp::FtpCmd::Eprt, IpAddr::V4(a)) => format!("|1|{a}|{port}|"),
        // `%pI6`: eight groups of four hex digits, never shortened.
        (ftp::FtpCmd::Eprt, IpAddr::V6(a)) => {
            let s = a.segments();
            format!(
                "|2|{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}|{port}|",
                s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]
            )
        }
        (ftp::FtpCmd::Epsv, _) => format!("|||{port}|"),
    };
    let diff = rep.len() as i64 - len as i64;
    // enlarge_skb: no packet beyond 64 KiB.
    if pkt.ip_len as i64 + diff > 65535 {
        ct.unexpect(&key, id);
        out.drop = Some("cannot mangle packet");
        out.note = Some("conntrack helper ftp (nf_nat_ftp): NF_DROP, cannot mangle packet".into());
        return out;
    }
    let L4::Tcp(th) = &pkt.l4 else { return out };
    if diff != 0 {
        if let Some(e) = ct.get_mut(id) {
            e.status |= super::status::SEQ_ADJUST;
            if let Some(h) = e.help.as_deref_mut() {
                h.seqadj[dir].set(th.seq, diff as i32);
            }
        }
    }
    if let Some(n) = out.note.as_mut() {
        n.push_str(&format!(
            ": expect {} for {} s, NATed as its master (nf_nat_follow_master); rewritten to \"{rep}\"{}",
            describe(&key, pkt.family),
            super::expect::EXPECT_TIMEOUT_SECS,
            if uncertain { " (on uncertain ground)" } else { "" }
        ));
    }
    out.mangle = Some(Mangle {
        off,
        len,
        rep: rep.into_bytes().into_boxed_slice(),
    });
    out
}

/// A packet of connection `id` with an uncertain verdict was dropped here, so its helper did
/// not read it — but in the kernel it may have passed, and been read: whatever the helper would
/// have expected from it is unknown. Remembered as a doubt between the addresses an
/// expectation of this helper can join (anywhere, for a helper fwcheck does not model).
pub(crate) fn doubt_unhelped(ct: &mut Conntrack, id: CtId, pkt: &Packet, now: u64, why: &str) {
    let Some(e) = ct.get(id) else { return };
    let Some(h) = e.help.as_deref() else { return };
    // The payload is there but the capture (snap length) did not keep all of it.
    let cut = pkt.payload_len > 0 && pkt.data.len() < pkt.ip_len as usize;
    if !cut && pkt.payload_len == 0 {
        return;
    }
    let helper = h.helper;
    let between = match helper.model() {
        Model::NotModelled => None,
        // The expectation joins the reply tuple's addresses of the sending direction.
        _ if pkt.src == e.tuple[0].src => Some((e.tuple[1].src, e.tuple[1].dst)),
        _ => Some((e.tuple[0].src, e.tuple[0].dst)),
    };
    let serial = e.serial;
    ct.add_doubt(
        between,
        id,
        serial,
        format!(
            "frame {} was uncertain ({why}), and the {} helper reads the packets that pass",
            pkt.frame,
            helper.name()
        ),
        now,
    );
}

/// `tcp 198.51.100.7 > 192.0.2.10:50000` (any source port).
fn describe(k: &ExpectKey, family: Family) -> String {
    let p = if k.proto == proto::TCP { "tcp" } else { "udp" };
    let dst = match (family, k.dst) {
        (Family::V6, IpAddr::V6(a)) => format!("[{a}]"),
        (_, a) => a.to_string(),
    };
    format!("{p} {} > {dst}:{}", k.src, k.dport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_adjustment_follows_the_rewrite() {
        // router-ftp-nat-masq: `PORT 10,9,0,2,207,133` at seq 36 left as
        // `PORT 198,51,100,1,207,133`, 4 bytes longer.
        let mut a = SeqAdj::default();
        a.set(36, 4);
        // The rewritten segment itself keeps its number; the next one moves on.
        assert_eq!(a.offset(36), 0);
        assert_eq!(a.offset(59), 4);
        // The server's acknowledgment of 63 is the client's 59; of 36 still 36.
        assert_eq!(a.unadjust_ack(63), 59);
        assert_eq!(a.unadjust_ack(36), 36);
        // A retransmission of the rewritten segment does not count twice.
        a.set(36, 4);
        assert_eq!((a.offset_before, a.offset_after), (0, 4));
        // A second rewrite later on adds up.
        a.set(100, 5);
        assert_eq!(
            (a.correction_pos, a.offset_before, a.offset_after),
            (100, 4, 9)
        );
        assert_eq!(a.offset(100), 4);
        assert_eq!(a.offset(101), 9);
    }

    #[test]
    fn names_resolve_per_protocol() {
        assert_eq!(HelperId::lookup("ftp", proto::TCP).name(), "ftp");
        assert_eq!(HelperId::lookup("ftp", proto::TCP).model(), Model::Ftp);
        assert_eq!(HelperId::lookup("tftp", proto::UDP).model(), Model::Tftp);
        let sip_tcp = HelperId::lookup("sip", proto::TCP);
        assert_eq!(HELPERS[sip_tcp.0 as usize].proto, proto::TCP);
        assert_eq!(HelperId::lookup("mine", proto::TCP), HelperId::USERSPACE);
        assert_eq!(HelperId::USERSPACE.model(), Model::NotModelled);
    }
}
