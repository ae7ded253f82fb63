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
//! Helpers fwcheck does not model (irc, sip, h323's RAS/Q.931/H.245, pptp, amanda, sane,
//! netbios-ns, snmp, userspace helpers) are still attached: once such a connection carried
//! payload, any later new connection could be one of its expectations, so new connections are
//! reported uncertain (never certainly NEW) while it lives.

use std::net::IpAddr;

use super::expect::ExpectKey;
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
}

impl Help {
    pub fn new(helper: HelperId) -> Self {
        Help {
            helper,
            ftp: ftp::FtpMaster::default(),
            unmodelled_payload: false,
        }
    }
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
}

/// `nf_confirm`'s helper call for a packet of connection `id` that the ruleset accepted.
/// `doubt`: the packet's own verdict is uncertain (why), so what the helper expects is too.
pub fn help(
    ct: &mut Conntrack,
    id: CtId,
    info: CtInfo,
    pkt: &Packet,
    now: u64,
    p: &super::Params,
    doubt: Option<&str>,
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
    let zone = e.zone;
    let (master_serial, master_mark) = (e.serial, e.mark);
    let family = pkt.family;
    let mut out = Helped::default();
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
                ftp::FtpResult::Expect { cmd, port } => {
                    out.note = Some(format!("conntrack helper ftp: {cmd}"));
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
        Err(why) => {
            out.drop = Some(why);
            if let Some(n) = out.note.as_mut() {
                n.push_str(&format!(": {described}: NF_DROP, {why}"));
            }
        }
    }
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
