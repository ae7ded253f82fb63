//! The GRE tracker, after `nf_conntrack_proto_gre.c`: `gre_pkt_to_tuple` (PPTP's enhanced
//! GRE keyed by its call id) and `nf_conntrack_gre_packet` (`nf_conntrack_gre_timeout`
//! until a reply, then `nf_conntrack_gre_timeout_stream` and ASSURED).

use super::super::track::{invalid, uncertain};
use super::super::{Conntrack, CtOutcome, Tuple};
use super::{Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef, TimeoutSlot};
use crate::packet::Packet;

/// The GRE timeouts (`gre_timeouts[]`: `GRE_CT_UNREPLIED`, `GRE_CT_REPLIED`).
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[
    TimeoutDef {
        name: "gre",
        sysctl: "net.netfilter.nf_conntrack_gre_timeout",
        default: 30,
        doc: "GRE without a reply",
    },
    TimeoutDef {
        name: "gre_stream",
        sysctl: "net.netfilter.nf_conntrack_gre_timeout_stream",
        default: 180,
        doc: "GRE once a reply was seen (ASSURED)",
    },
];

/// `GRE_CT_UNREPLIED`.
pub(crate) const TIMEOUT_UNREPLIED: TimeoutSlot = TimeoutSlot::named("gre");
/// `GRE_CT_REPLIED`.
pub(crate) const TIMEOUT_REPLIED: TimeoutSlot = TimeoutSlot::named("gre_stream");

/// `gre_pkt_to_tuple`: GRE other than version 1 is tracked like the generic protocol (keys 0);
/// version 1 (PPTP's enhanced GRE) must carry PPP and is keyed by its call id (destination
/// key; the source key comes from a PPTP helper's keymap, which fwcheck never has: 0).
/// Returns (source key, destination key).
fn gre_keys(pkt: &Packet) -> Result<(u16, u16), CtOutcome> {
    let hl = pkt.ip_hdr_len as usize;
    let avail = pkt.data.len().min(pkt.ip_len as usize);
    let l4len = (pkt.ip_len as usize).saturating_sub(hl);
    let have = avail.saturating_sub(hl);
    let b = pkt.data.get(hl..avail).unwrap_or(&[]);
    if l4len < 4 {
        return Ok((0, 0));
    }
    if have < 4 {
        return Err(uncertain("GRE header cut off by the capture"));
    }
    let flags = u16::from_be_bytes([b[0], b[1]]);
    if flags & 0x0007 != 1 {
        return Ok((0, 0));
    }
    if l4len < 8 {
        return Ok((0, 0));
    }
    if have < 8 {
        return Err(uncertain("GRE header cut off by the capture"));
    }
    if u16::from_be_bytes([b[2], b[3]]) != 0x880b {
        return Err(invalid("GRE version 1 without PPP (no tuple)"));
    }
    Ok((0, u16::from_be_bytes([b[6], b[7]])))
}

/// The GRE tracker (`nf_conntrack_l4proto_gre`). Its keys swap like ports when the tuple is
/// inverted (`nf_ct_invert_tuple` swaps `u.all`); a quoted GRE packet has keys 0.
#[derive(Debug)]
pub(crate) struct Gre;

/// The one [`Gre`].
pub(crate) static GRE: Gre = Gre;

impl L4Tracker for Gre {
    fn name(&self) -> &'static str {
        "gre"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        let (s, d) = gre_keys(pkt)?;
        t.sport = s;
        t.dport = d;
        Ok(())
    }

    /// `nf_conntrack_gre_packet`.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        super::refresh_by_reply(ct, cx, e, TIMEOUT_REPLIED, TIMEOUT_UNREPLIED)
    }
}
