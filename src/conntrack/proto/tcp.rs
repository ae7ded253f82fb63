//! The TCP tracker: `tcp_conntracks` state machine, window tracking (`tcp_in_window`), RST and
//! SYN-on-TIME_WAIT handling and per-state timeouts, after `nf_conntrack_proto_tcp.c`.
//!
//! The unit [`Tcp`] (`nf_conntrack_l4proto_tcp`): `tcp_error` ([`L4Tracker::error`]), the
//! ports as tuple, `tcp_new` and `nf_conntrack_tcp_packet` ([`L4Tracker::packet`]), and the
//! `nf_conntrack_tcp_timeout_*` sysctls (`TIMEOUTS`).

/// TCP conntrack states (`enum tcp_conntrack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TcpState {
    #[default]
    None = 0,
    SynSent = 1,
    SynRecv = 2,
    Established = 3,
    FinWait = 4,
    CloseWait = 5,
    LastAck = 6,
    TimeWait = 7,
    Close = 8,
    SynSent2 = 9,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }
}

/// Per-direction window tracking data (`struct ip_ct_tcp_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSide {
    pub(crate) td_end: u32,
    pub(crate) td_maxend: u32,
    pub(crate) td_maxwin: u32,
    pub(crate) td_maxack: u32,
    pub(crate) td_scale: u8,
    pub flags: u8,
    /// The largest MSS this side announced in a SYN the capture showed (an MSS option, or
    /// without one the default, 536 / 1220: `tcp_parse_options`, `rx_opt.mss_clamp`), as
    /// conntrack saw it, before a `TCPMSS` later on the path lowered it; 0: no SYN seen,
    /// `u16::MAX`: a SYN whose options the capture cut. Not conntrack state: it bounds the
    /// segments the other side sends ([`TcpCt::segment_bound`]). (In the side's padding: the
    /// state stays 72 bytes.)
    pub(crate) mss: u16,
}

/// `IP_CT_TCP_FLAG_*`.
pub(crate) mod side_flags {
    pub(crate) const WINDOW_SCALE: u8 = 0x01;
    pub(crate) const SACK_PERM: u8 = 0x02;
    pub(crate) const CLOSE_INIT: u8 = 0x04;
    pub(crate) const BE_LIBERAL: u8 = 0x08;
    pub(crate) const DATA_UNACKNOWLEDGED: u8 = 0x10;
    pub(crate) const MAXACK_SET: u8 = 0x20;
    pub(crate) const EXP_CHALLENGE_ACK: u8 = 0x40;
    pub(crate) const SIMULTANEOUS_OPEN: u8 = 0x80;
}

/// TCP part of a conntrack entry (`struct ip_ct_tcp`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpCt {
    pub state: TcpState,
    pub seen: [TcpSide; 2],
    pub(crate) last_dir: u8,
    pub(crate) last_index: u8,
    pub(crate) last_seq: u32,
    pub(crate) last_ack: u32,
    pub(crate) last_end: u32,
    pub(crate) last_win: u16,
    pub(crate) last_wscale: u8,
    pub(crate) last_flags: u8,
    pub(crate) retrans: u8,
    /// A SYN of the connection had its options cut off by the capture's snap length: its
    /// window scale and SACK permission, which the window checks depend on, are unknown.
    pub(crate) options_unknown: bool,
    /// A segment acknowledged data of the other side that the capture did not show: the
    /// capture has a gap there (tcpdump drops frames under load, "packets dropped by kernel"),
    /// and the kernel saw what fwcheck did not, so its windows are not fwcheck's from then on.
    pub(crate) capture_gap: bool,
    /// By side: the highest sequence end of the data (or SYN, FIN) the capture showed that side
    /// sending on this tuple (0: none), whatever conntrack made of it, also in the connection
    /// a SYN reopened before this one (`-NF_REPEAT`). An ACK over the receiver's upper bound that
    /// stays within it acknowledges data the capture holds (ignored, or an earlier
    /// connection's: a late duplicate): no sign of a gap, and INVALID as in the kernel.
    pub(crate) held_end: [u32; 2],
}

impl TcpCt {
    /// The connection was picked up mid-stream (`tcp_new` with `nf_conntrack_tcp_loose`: its
    /// first segment was not a SYN), which is the only way both sides become liberal.
    pub(crate) fn picked_up_mid_stream(&self) -> bool {
        self.seen[0].flags & side_flags::BE_LIBERAL != 0
    }

    /// The largest IP length of a segment side `dir` sends on this connection, `net_hdr`
    /// being the length of the IP header (extension headers included): the other side's MSS
    /// bounds the data a segment carries less its TCP and IP options (RFC 6691: the sender
    /// MUST reduce the data for the options it sends; Linux's `tcp_mtu_to_mss`,
    /// `tcp_current_mss`), so a segment is at most the fixed headers and that MSS. `None`
    /// when no SYN of the other side was seen whole.
    pub(crate) fn segment_bound(&self, dir: CtDir, net_hdr: u16) -> Option<u32> {
        let mss = self.seen[1 - dir as usize].mss;
        (mss != 0 && mss != u16::MAX).then(|| u32::from(net_hdr) + 20 + u32::from(mss))
    }
}

use super::super::track::invalid;
use super::super::{status, Conntrack, CtDir, CtOutcome, Params, ProtoState, Timeouts, Tuple};
use super::{
    checksum_bad, ports_to_tuple, quoted_ports, Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef,
    TimeoutSlot,
};
use crate::packet::{tcp_flags as F, InnerPacket, Packet, TcpInfo, L4};

/// `tcp_in_window`'s log reason for an ACK of data the receiver was not seen sending.
const ACK_OVER_UPPER_BOUND: &str = "ACK is over upper bound (ACKed data not seen yet)";

/// `enum tcp_bit_set`: which of SYN/SYN-ACK/FIN/ACK/RST/none a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Index {
    Syn = 0,
    SynAck = 1,
    Fin = 2,
    Ack = 3,
    Rst = 4,
    None = 5,
}

/// `get_conntrack_index`.
pub(crate) fn index_of(flags: u8) -> Index {
    if flags & F::RST != 0 {
        Index::Rst
    } else if flags & F::SYN != 0 {
        if flags & F::ACK != 0 {
            Index::SynAck
        } else {
            Index::Syn
        }
    } else if flags & F::FIN != 0 {
        Index::Fin
    } else if flags & F::ACK != 0 {
        Index::Ack
    } else {
        Index::None
    }
}

/// A table cell: a new state, `IV` (invalid) or `IG` (ignore).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    S(TcpState),
    IV,
    IG,
}

use Cell::{IG, IV};
use TcpState as T;
const NO: Cell = Cell::S(T::None);
const SS: Cell = Cell::S(T::SynSent);
const SR: Cell = Cell::S(T::SynRecv);
const ES: Cell = Cell::S(T::Established);
const FW: Cell = Cell::S(T::FinWait);
const CW: Cell = Cell::S(T::CloseWait);
const LA: Cell = Cell::S(T::LastAck);
const TW: Cell = Cell::S(T::TimeWait);
const CL: Cell = Cell::S(T::Close);
const S2: Cell = Cell::S(T::SynSent2);

/// `tcp_conntracks[dir][index][old_state]` (mainline).
#[rustfmt::skip]
const TABLE: [[[Cell; 10]; 6]; 2] = [
    [
        /* ORIGINAL  sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 */
        /* syn    */ [SS, SS, IG, IG, IG, IG, IG, SS, SS, S2],
        /* synack */ [IV, IV, SR, IV, IV, IV, IV, IV, IV, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [ES, IV, ES, ES, CW, CW, TW, TW, CL, IV],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
    [
        /* REPLY     sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 */
        /* syn    */ [IV, S2, IV, IV, IV, IV, IV, SS, IV, S2],
        /* synack */ [IV, SR, IG, IG, IG, IG, IG, IG, IG, SR],
        /* fin    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL, IV],
        /* ack    */ [IV, IG, SR, ES, CW, CW, TW, TW, CL, IG],
        /* rst    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL, CL],
        /* none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
    ],
];
const _: Cell = NO;

fn lookup(dir: CtDir, index: Index, old: TcpState) -> Cell {
    TABLE[dir as usize][index as usize][old as usize]
}

/// Valid flag combinations, ignoring PSH, ECE and CWR (`tcp_valid_flags`).
pub(crate) fn valid_flags(flags: u8) -> bool {
    let f = flags & !(F::ECE | F::CWR | F::PSH);
    matches!(
        f,
        x if x == F::SYN
            || x == F::SYN | F::URG
            || x == F::SYN | F::ACK
            || x == F::RST
            || x == F::RST | F::ACK
            || x == F::FIN | F::ACK
            || x == F::FIN | F::ACK | F::URG
            || x == F::ACK
            || x == F::ACK | F::URG
    )
}

/// Outcome of the tracker for one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpVerdict {
    /// Accepted; state and timeout updated.
    Accept,
    /// Accepted without any state or timeout change (`sIG`, window IGNORE).
    Ignore,
    /// The packet is INVALID (`-NF_ACCEPT`), with the kernel's log reason.
    Invalid(&'static str),
    /// Delete the entry and look the packet up again (SYN reopening a closed connection).
    Repeat,
    /// Accepted, and the entry is deleted at once (RST before any reply).
    Kill,
    /// INVALID as fwcheck can tell, but what decided it is not in the capture (taken as
    /// INVALID, uncertain).
    Uncertain(&'static str),
}

#[inline]
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
#[inline]
fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// What the tracker needs from a segment.
struct Seg<'a> {
    th: &'a TcpInfo,
    /// `seq + len - dataoff - doff*4 + syn + fin`.
    end: u32,
    /// `nf_ct_seq_offset` of what it acknowledges (a NAT helper's rewrite): see [`in_window`].
    ack_off: i32,
}

impl<'a> Seg<'a> {
    fn new(pkt: &'a Packet, th: &'a TcpInfo) -> Seg<'a> {
        let payload = pkt
            .ip_len
            .saturating_sub(pkt.ip_hdr_len as u32)
            .saturating_sub(th.doff as u32 * 4);
        let end = th
            .seq
            .wrapping_add(payload)
            .wrapping_add(u32::from(th.flags & F::SYN != 0))
            .wrapping_add(u32::from(th.flags & F::FIN != 0));
        Seg {
            th,
            end,
            ack_off: 0,
        }
    }
    fn syn(&self) -> bool {
        self.th.flags & F::SYN != 0
    }
    fn ack(&self) -> bool {
        self.th.flags & F::ACK != 0
    }
    fn rst(&self) -> bool {
        self.th.flags & F::RST != 0
    }
}

/// Whether the data `th` acknowledges (its ACK, or its highest SACK block's right edge when
/// the receiver allowed SACK, as [`in_window`] reads it) is data the capture showed the
/// receiver sending ([`TcpCt::held_end`]).
fn acked_data_held(ct: &TcpCt, dir: usize, th: &TcpInfo, ack_off: i32) -> bool {
    let recv = 1 - dir;
    let mut sack = th.ack;
    if ct.seen[recv].flags & side_flags::SACK_PERM != 0 {
        sack = sack_of(th, sack);
    }
    let sack = sack.wrapping_sub(ack_off as u32);
    let held = ct.held_end[recv];
    held != 0 && !after(sack, held)
}

/// A segment of connection `id`'s side `dir` that the capture holds but conntrack did not see
/// (NOTRACK'd in the raw table): it counts as held ([`TcpCt::held_end`]) and nothing else —
/// the kernel's windows never took it in.
pub(crate) fn hold_untracked(
    ct: &mut crate::conntrack::Conntrack,
    id: crate::conntrack::CtId,
    dir: CtDir,
    pkt: &Packet,
) {
    let L4::Tcp(th) = &pkt.l4 else { return };
    let Some(entry) = ct.get_mut(id) else { return };
    let ProtoState::Tcp(tc) = &mut entry.proto else {
        return;
    };
    let d = dir as usize;
    let end = Seg::new(pkt, th).end;
    if end != th.seq && (tc.held_end[d] == 0 || after(end, tc.held_end[d])) {
        tc.held_end[d] = end;
    }
}

/// `tcp_options`: window scale and SACK-permitted into a side.
fn apply_options(th: &TcpInfo, side: &mut TcpSide) {
    if th.doff <= 5 {
        return;
    }
    side.td_scale = 0;
    side.flags &= side_flags::BE_LIBERAL;
    if th.options.sack_perm {
        side.flags |= side_flags::SACK_PERM;
    }
    if let Some(ws) = th.options.wscale {
        side.td_scale = ws.min(14);
        side.flags |= side_flags::WINDOW_SCALE;
    }
}

/// `tcp_sack`: the highest right edge of the first SACK option, if after `sack`.
fn sack_of(th: &TcpInfo, mut sack: u32) -> u32 {
    for (_, right) in &th.options.sack {
        if after(*right, sack) {
            sack = *right;
        }
    }
    sack
}

fn tcp_init_sender(seen: &mut [TcpSide; 2], dir: usize, th: &TcpInfo, end: u32, win: u32) {
    let sender = &mut seen[dir];
    sender.td_end = end;
    sender.td_maxend = end;
    sender.td_maxwin = if win == 0 { 1 } else { win };
    apply_options(th, sender);
    if dir == 1
        && !(seen[1].flags & side_flags::WINDOW_SCALE != 0
            && seen[0].flags & side_flags::WINDOW_SCALE != 0)
    {
        seen[1].td_scale = 0;
        seen[0].td_scale = 0;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Win {
    Accept,
    Ignore(&'static str),
    Invalid(&'static str),
}

/// `tcp_in_window` (mainline); `ack_off`: `nf_ct_seq_offset(ct, !dir, ack - 1)`, the NAT
/// helper's shift of the data this segment acknowledges ("take into account NAT sequence
/// number mangling").
fn in_window(
    ct: &mut TcpCt,
    dir: usize,
    index: Index,
    seg: &Seg<'_>,
    liberal_sysctl: bool,
    ack_off: i32,
) -> Win {
    let th = seg.th;
    let mut seq = th.seq;
    let mut ack = th.ack;
    let win_raw = th.window;
    let mut win = win_raw as u32;
    let mut end = seg.end;
    let recv = 1 - dir;
    let mut sack = ack;
    if ct.seen[recv].flags & side_flags::SACK_PERM != 0 {
        sack = sack_of(th, sack);
    }
    ack = ack.wrapping_sub(ack_off as u32);
    sack = sack.wrapping_sub(ack_off as u32);
    let log = |ct: &TcpCt, res: Win| -> Win {
        if ct.seen[dir].flags & side_flags::BE_LIBERAL != 0 || liberal_sysctl {
            Win::Accept
        } else {
            res
        }
    };

    if ct.seen[dir].td_maxwin == 0 {
        if seg.syn() {
            tcp_init_sender(&mut ct.seen, dir, th, end, win);
            if !seg.ack() {
                return Win::Accept;
            }
        } else {
            let s = &mut ct.seen[dir];
            s.td_end = end;
            let swin = win << s.td_scale;
            s.td_maxwin = if swin == 0 { 1 } else { swin };
            s.td_maxend = end.wrapping_add(s.td_maxwin);
            let r = &mut ct.seen[recv];
            if r.td_maxwin == 0 {
                r.td_end = sack;
                r.td_maxend = sack;
            } else if sack == r.td_end.wrapping_add(1) {
                r.td_end = r.td_end.wrapping_add(1);
            }
        }
    } else if seg.syn()
        && after(end, ct.seen[dir].td_end)
        && matches!(ct.state, TcpState::SynSent | TcpState::SynRecv)
    {
        tcp_init_sender(&mut ct.seen, dir, th, end, win);
        if dir == 1 && !seg.ack() {
            return Win::Accept;
        }
    }

    // No ACK ("pretend it was set and OK"), or a broken stack's RST+ACK with ack 0.
    if !seg.ack() || (th.flags & (F::ACK | F::RST) == (F::ACK | F::RST) && ack == 0) {
        ack = ct.seen[recv].td_end;
        sack = ack;
    }

    if seg.rst() && seq == 0 && ct.state == TcpState::SynSent {
        seq = ct.seen[dir].td_end;
        end = seq;
    }

    let (sender, receiver) = (ct.seen[dir], ct.seen[recv]);
    let maxackwin = sender.td_maxwin.max(66000);
    let seq_ok = before(seq, sender.td_maxend.wrapping_add(1));
    if !seq_ok {
        let overshot = end.wrapping_sub(sender.td_maxend).wrapping_add(1);
        let ack_ok = after(
            sack,
            receiver.td_end.wrapping_sub(maxackwin).wrapping_sub(1),
        );
        let in_recv_win = receiver.td_maxwin != 0
            && after(
                end,
                sender
                    .td_end
                    .wrapping_sub(receiver.td_maxwin)
                    .wrapping_sub(1),
            );
        if in_recv_win
            && ack_ok
            && overshot <= receiver.td_maxwin
            && before(sack, receiver.td_end.wrapping_add(1))
        {
            ct.seen[dir].td_end = end;
            ct.seen[dir].flags |= side_flags::DATA_UNACKNOWLEDGED;
            return log(ct, Win::Ignore("bytes more than expected"));
        }
        return log(
            ct,
            Win::Invalid("SEQ is over upper bound (over the window of the receiver)"),
        );
    }
    if !before(sack, receiver.td_end.wrapping_add(1)) {
        return log(ct, Win::Invalid(ACK_OVER_UPPER_BOUND));
    }
    let in_recv_win = receiver.td_maxwin == 0
        || after(
            end,
            sender
                .td_end
                .wrapping_sub(receiver.td_maxwin)
                .wrapping_sub(1),
        );
    if !in_recv_win {
        return log(
            ct,
            Win::Ignore("SEQ is under lower bound (already ACKed data retransmitted)"),
        );
    }
    if !after(
        sack,
        receiver.td_end.wrapping_sub(maxackwin).wrapping_sub(1),
    ) {
        return log(
            ct,
            Win::Ignore("ignored ACK under lower bound (possible overly delayed)"),
        );
    }

    if !seg.syn() {
        win <<= sender.td_scale;
    }
    let swin = win.wrapping_add(sack.wrapping_sub(ack));
    let s = &mut ct.seen[dir];
    if s.td_maxwin < swin {
        s.td_maxwin = swin;
    }
    if after(end, s.td_end) {
        s.td_end = end;
        s.flags |= side_flags::DATA_UNACKNOWLEDGED;
    }
    if seg.ack() {
        if s.flags & side_flags::MAXACK_SET == 0 {
            s.td_maxack = ack;
            s.flags |= side_flags::MAXACK_SET;
        } else if after(ack, s.td_maxack) {
            s.td_maxack = ack;
        }
    }
    let s_maxend = s.td_maxend;
    let r = &mut ct.seen[recv];
    if r.td_maxwin != 0 && after(end, s_maxend) {
        r.td_maxwin = r.td_maxwin.wrapping_add(end.wrapping_sub(s_maxend));
    }
    if after(sack.wrapping_add(win), r.td_maxend.wrapping_sub(1)) {
        r.td_maxend = sack.wrapping_add(win);
        if win == 0 {
            r.td_maxend = r.td_maxend.wrapping_add(1);
        }
    }
    if ack == r.td_end {
        r.flags &= !side_flags::DATA_UNACKNOWLEDGED;
    }
    if index == Index::Ack {
        if ct.last_dir as usize == dir
            && ct.last_seq == seq
            && ct.last_ack == ack
            && ct.last_end == end
            && ct.last_win == win_raw
        {
            ct.retrans = ct.retrans.saturating_add(1);
        } else {
            ct.last_dir = dir as u8;
            ct.last_seq = seq;
            ct.last_ack = ack;
            ct.last_end = end;
            ct.last_win = win_raw;
            ct.retrans = 0;
        }
    }
    Win::Accept
}

/// `tcp_new`: initialise a new entry from its first segment; `false` = INVALID.
pub(crate) fn tcp_new(ct: &mut TcpCt, pkt: &Packet, th: &TcpInfo, loose: bool) -> bool {
    let seg = Seg::new(pkt, th);
    let new_state = lookup(CtDir::Original, index_of(th.flags), TcpState::None);
    match new_state {
        Cell::S(TcpState::SynSent) => {
            *ct = TcpCt::default();
            let s = &mut ct.seen[0];
            s.td_end = seg.end;
            s.td_maxwin = (th.window as u32).max(1);
            s.td_maxend = s.td_end;
            apply_options(th, s);
        }
        Cell::S(_) if loose => {
            *ct = TcpCt::default();
            let s = &mut ct.seen[0];
            s.td_end = seg.end;
            s.td_maxwin = (th.window as u32).max(1);
            s.td_maxend = s.td_end.wrapping_add(s.td_maxwin);
            ct.seen[0].flags = side_flags::SACK_PERM | side_flags::BE_LIBERAL;
            ct.seen[1].flags = side_flags::SACK_PERM | side_flags::BE_LIBERAL;
        }
        _ => return false,
    }
    ct.last_index = Index::None as u8;
    true
}

/// Result of [`tcp_packet`]: the verdict and the timeout (jiffies) to refresh to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpResult {
    pub verdict: TcpVerdict,
    /// New timeout in jiffies (`nf_ct_refresh_acct`), if the entry is refreshed.
    pub(crate) refresh: Option<u64>,
    /// `nf_tcp_handle_invalid`: cap the remaining lifetime at this many jiffies (unless it is
    /// already below 120 s).
    pub(crate) shrink_to: Option<u64>,
    /// Set the ASSURED status bit.
    pub(crate) set_assured: bool,
}

impl TcpResult {
    fn only(verdict: TcpVerdict) -> TcpResult {
        TcpResult {
            verdict,
            refresh: None,
            shrink_to: None,
            set_assured: false,
        }
    }
}

/// `nf_conntrack_tcp_packet` for a packet of a (possibly new) entry, after `tcp_error`.
/// `remaining` is the entry's remaining lifetime in jiffies (for `nf_tcp_handle_invalid`).
pub(crate) fn tcp_packet(
    ct: &mut TcpCt,
    ct_status: u32,
    pkt: &Packet,
    th: &TcpInfo,
    dir: CtDir,
    p: &Params,
    ack_off: i32,
) -> TcpResult {
    let mut seg = Seg::new(pkt, th);
    seg.ack_off = ack_off;
    let d = dir as usize;
    // The data (and SYN, FIN) the capture showed this side sending, whatever conntrack makes
    // of it; a bare ACK holds none.
    if seg.end != th.seq && (ct.held_end[d] == 0 || after(seg.end, ct.held_end[d])) {
        ct.held_end[d] = seg.end;
    }
    if th.flags & F::SYN != 0 && th.options.cut {
        ct.options_unknown = true;
    }
    if th.flags & F::SYN != 0 {
        let mss = match th.options.mss {
            _ if th.options.cut => u16::MAX,
            Some(m) if th.doff > 5 => m,
            _ if pkt.family == crate::packet::Family::V4 => 536,
            _ => 1220,
        };
        ct.seen[d].mss = ct.seen[d].mss.max(mss);
    }
    let old_state = ct.state;
    let index = index_of(th.flags);
    let mut new_cell = lookup(dir, index, old_state);
    let res = TcpResult::only;
    let mut skip_window = false;

    // SYN on TIME_WAIT/CLOSE.
    if new_cell == Cell::S(TcpState::SynSent) && old_state >= TcpState::TimeWait {
        if (ct.seen[d].flags | ct.seen[1 - d].flags) & side_flags::CLOSE_INIT != 0
            || (ct.last_dir as usize == d && ct.last_index == Index::Rst as u8)
        {
            return res(TcpVerdict::Repeat);
        }
        new_cell = IG;
    } else if new_cell == Cell::S(TcpState::SynSent) {
        // old_state < TIME_WAIT: normal processing below.
    }

    let mut new_state = match new_cell {
        IG => {
            if index == Index::SynAck
                && ct.last_index == Index::Syn as u8
                && ct.last_dir as usize != d
                && th.ack == ct.last_end
            {
                // Re-sync from a previously ignored SYN.
                let ld = ct.last_dir as usize;
                ct.seen[ld].td_end = ct.last_end;
                ct.seen[ld].td_maxend = ct.last_end;
                ct.seen[ld].td_maxwin = if ct.last_win == 0 {
                    1
                } else {
                    ct.last_win as u32
                };
                ct.seen[ld].td_scale = ct.last_wscale;
                ct.last_flags &= !side_flags::EXP_CHALLENGE_ACK;
                ct.seen[ld].flags = ct.last_flags;
                let s = &mut ct.seen[d];
                s.td_end = 0;
                s.td_maxend = 0;
                s.td_maxwin = 0;
                s.td_maxack = 0;
                s.td_scale = 0;
                s.flags &= side_flags::BE_LIBERAL;
                // old_state = SYN_SENT, new_state = SYN_RECV
                return finish_packet(
                    ct,
                    ct_status,
                    pkt,
                    th,
                    &seg,
                    dir,
                    index,
                    TcpState::SynSent,
                    TcpState::SynRecv,
                    p,
                    false,
                );
            }
            ct.last_index = index as u8;
            ct.last_dir = d as u8;
            ct.last_seq = th.seq;
            ct.last_end = seg.end;
            ct.last_win = th.window;
            if index == Index::Syn && dir == CtDir::Original {
                ct.last_flags = 0;
                ct.last_wscale = 0;
                if let Some(ws) = th.options.wscale.filter(|_| th.doff > 5) {
                    ct.last_flags |= side_flags::WINDOW_SCALE;
                    ct.last_wscale = ws.min(14);
                }
                if th.options.sack_perm && th.doff > 5 {
                    ct.last_flags |= side_flags::SACK_PERM;
                }
                if old_state == TcpState::LastAck {
                    ct.last_flags |= side_flags::EXP_CHALLENGE_ACK;
                }
            }
            if old_state == TcpState::SynSent && index == Index::Ack && dir == CtDir::Reply {
                ct.last_ack = th.ack;
            }
            return res(TcpVerdict::Ignore);
        }
        IV => return res(TcpVerdict::Invalid("invalid state transition")),
        Cell::S(s) => s,
    };

    match new_state {
        // RFC 5961 challenge ACK answering an ignored SYN: do not take it as the last ACK.
        TcpState::TimeWait
            if old_state == TcpState::LastAck
                && index == Index::Ack
                && ct.last_dir as usize != d
                && ct.last_index == Index::Syn as u8
                && ct.last_flags & side_flags::EXP_CHALLENGE_ACK != 0 =>
        {
            ct.last_flags &= !side_flags::EXP_CHALLENGE_ACK;
            return res(TcpVerdict::Ignore);
        }
        TcpState::SynSent2 => {
            ct.last_flags |= side_flags::SIMULTANEOUS_OPEN;
        }
        TcpState::SynRecv
            if dir == CtDir::Reply
                && index == Index::Ack
                && ct.last_flags & side_flags::SIMULTANEOUS_OPEN != 0 =>
        {
            new_state = TcpState::Established;
        }
        TcpState::Close if index == Index::Rst => {
            let can_early_drop = matches!(
                ct.state,
                TcpState::FinWait
                    | TcpState::LastAck
                    | TcpState::TimeWait
                    | TcpState::Close
                    | TcpState::CloseWait
            );
            if can_early_drop {
                skip_window = true;
            } else {
                // The kernel's `switch` case, where `break` leaves the RST checks.
                'rst: {
                    let established =
                        ct.state == TcpState::Established && ct_status & status::ASSURED != 0;
                    if ct.seen[1 - d].flags & side_flags::MAXACK_SET != 0
                        && ct.last_index != Index::Syn as u8
                    {
                        let seq = th.seq;
                        let maxack = ct.seen[1 - d].td_maxack;
                        if seq == 0 && !established {
                            break 'rst;
                        }
                        if before(seq, maxack) && !p.tcp_ignore_invalid_rst {
                            // The acknowledged edge follows the windows, scaled as the SYNs
                            // said: not known when the capture cut their options.
                            if ct.options_unknown {
                                return res(TcpVerdict::Uncertain(
                                    "invalid rst as fwcheck tracks the connection, but its SYN \
                                     options (window scale, SACK) were cut off by the capture's \
                                     snap length",
                                ));
                            }
                            return res(TcpVerdict::Invalid("invalid rst"));
                        }
                        let rst_train = ct.last_index == Index::Ack as u8
                            && ct.last_dir as usize == d
                            && seq == ct.last_end;
                        if !established || seq == maxack || rst_train {
                            break 'rst;
                        }
                        // Not an exact match: keep the state to allow a challenge ACK.
                        new_state = old_state;
                    }
                    let answers_let_through = (ct_status & status::SEEN_REPLY != 0
                        && ct.last_index == Index::Syn as u8)
                        || (ct_status & status::ASSURED == 0 && ct.last_index == Index::Ack as u8);
                    let answers_challenge_ack = old_state == TcpState::SynSent
                        && ct.last_index == Index::Ack as u8
                        && ct.last_dir == CtDir::Reply as u8
                        && th.seq == ct.last_ack;
                    if (answers_let_through && th.ack == ct.last_end) || answers_challenge_ack {
                        skip_window = true;
                    }
                }
            }
        }
        _ => {}
    }
    finish_packet(
        ct,
        ct_status,
        pkt,
        th,
        &seg,
        dir,
        index,
        old_state,
        new_state,
        p,
        skip_window,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish_packet(
    ct: &mut TcpCt,
    ct_status: u32,
    _pkt: &Packet,
    th: &TcpInfo,
    seg: &Seg<'_>,
    dir: CtDir,
    index: Index,
    old_state: TcpState,
    new_state: TcpState,
    p: &Params,
    skip_window: bool,
) -> TcpResult {
    let hz = p.hz as u64;
    let d = dir as usize;
    if !skip_window {
        match in_window(ct, d, index, seg, p.tcp_be_liberal, seg.ack_off) {
            Win::Accept => {}
            Win::Ignore(_) => return TcpResult::only(TcpVerdict::Ignore),
            Win::Invalid(_) if ct.options_unknown => {
                // fwcheck took the cut SYN as without window scaling, the narrowest windows
                // (a packet inside them is inside any); outside them is not known.
                return TcpResult::only(TcpVerdict::Uncertain(
                    "out of the TCP window as fwcheck computes it, but the connection's SYN \
                     options (window scale, SACK) were cut off by the capture's snap length",
                ));
            }
            Win::Invalid(why)
                if ct.capture_gap
                    || (why == ACK_OVER_UPPER_BOUND
                        && !acked_data_held(ct, d, th, seg.ack_off)) =>
            {
                // An ACK of data the capture does not hold: the capture missed it, or the
                // ACK is forged. The kernel, which saw what was sent, took it in the first
                // case; its windows then differ from fwcheck's for the rest of the connection.
                ct.capture_gap = true;
                return TcpResult::only(TcpVerdict::Uncertain(
                    "out of the TCP window as fwcheck computes it, after an ACK of data the \
                     capture does not hold: the capture missed frames (tcpdump drops frames \
                     under load: \"packets dropped by kernel\"), which the kernel saw, or the \
                     ACK was forged",
                ));
            }
            Win::Invalid(why) => {
                // nf_tcp_handle_invalid
                let mut shrink_to = None;
                if ct_status & status::ASSURED != 0 && matches!(index, Index::Rst | Index::Fin) {
                    if ct.last_dir as usize != d
                        && (ct.last_index == Index::Fin as u8 || ct.last_index == Index::Rst as u8)
                    {
                        shrink_to = Some(p.timeouts.get(TIMEOUT_UNACKNOWLEDGED) * hz);
                    } else {
                        ct.last_index = index as u8;
                        ct.last_dir = d as u8;
                    }
                }
                return TcpResult {
                    shrink_to,
                    ..TcpResult::only(TcpVerdict::Invalid(why))
                };
            }
        }
    }
    ct.last_index = index as u8;
    ct.last_dir = d as u8;
    ct.state = new_state;
    if old_state != new_state && new_state == TcpState::FinWait {
        ct.seen[d].flags |= side_flags::CLOSE_INIT;
    }
    let t = |s: TcpState| s.timeout(&p.timeouts) * hz;
    let retrans = p.timeouts.get(TIMEOUT_MAX_RETRANS) * hz;
    let unack = p.timeouts.get(TIMEOUT_UNACKNOWLEDGED) * hz;
    let mut timeout = if ct.retrans >= p.tcp_max_retrans && t(new_state) > retrans {
        retrans
    } else if index == Index::Rst {
        t(TcpState::Close)
    } else if (ct.seen[0].flags | ct.seen[1].flags) & side_flags::DATA_UNACKNOWLEDGED != 0
        && t(new_state) > unack
    {
        unack
    } else if ct.last_win == 0 && t(new_state) > retrans {
        retrans
    } else {
        t(new_state)
    };
    let mut set_assured = false;
    if ct_status & status::SEEN_REPLY == 0 {
        if th.flags & F::RST != 0 {
            return TcpResult::only(TcpVerdict::Kill);
        }
        if index == Index::Syn && old_state == TcpState::SynSent {
            return TcpResult::only(TcpVerdict::Accept);
        }
        if new_state == TcpState::Established && timeout > unack {
            timeout = unack;
        }
    } else if ct_status & status::ASSURED == 0
        && matches!(old_state, TcpState::SynRecv | TcpState::Established)
        && new_state == TcpState::Established
    {
        set_assured = true;
    }
    TcpResult {
        verdict: TcpVerdict::Accept,
        refresh: Some(timeout),
        shrink_to: None,
        set_assured,
    }
}

/// The TCP timeouts (`tcp_timeouts[]`, by state; SYN_SENT2 has no sysctl and keeps 120 s).
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[
    TimeoutDef {
        name: "tcp_syn_sent",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_syn_sent",
        default: 120,
        doc: "SYN_SENT: a SYN seen, no SYN/ACK yet",
    },
    TimeoutDef {
        name: "tcp_syn_recv",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_syn_recv",
        default: 60,
        doc: "SYN_RECV: the SYN/ACK seen",
    },
    TimeoutDef {
        name: "tcp_established",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_established",
        default: 432_000,
        doc: "ESTABLISHED (5 days)",
    },
    TimeoutDef {
        name: "tcp_fin_wait",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_fin_wait",
        default: 120,
        doc: "FIN_WAIT: a FIN seen",
    },
    TimeoutDef {
        name: "tcp_close_wait",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
        default: 60,
        doc: "CLOSE_WAIT: an ACK seen after the FIN",
    },
    TimeoutDef {
        name: "tcp_last_ack",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_last_ack",
        default: 30,
        doc: "LAST_ACK: the second FIN seen",
    },
    TimeoutDef {
        name: "tcp_time_wait",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
        default: 120,
        doc: "TIME_WAIT: the last ACK seen",
    },
    TimeoutDef {
        name: "tcp_close",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_close",
        default: 10,
        doc: "CLOSE: closed by a RST",
    },
    TimeoutDef {
        name: "tcp_max_retrans",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_max_retrans",
        default: 300,
        doc: "at most this after tcp_max_retrans retransmissions, or with a zero window",
    },
    TimeoutDef {
        name: "tcp_unacknowledged",
        sysctl: "net.netfilter.nf_conntrack_tcp_timeout_unacknowledged",
        default: 300,
        doc: "at most this while data is unacknowledged, or ESTABLISHED without a reply",
    },
];

pub(crate) const TIMEOUT_SYN_SENT: TimeoutSlot = TimeoutSlot::named("tcp_syn_sent");
pub(crate) const TIMEOUT_SYN_RECV: TimeoutSlot = TimeoutSlot::named("tcp_syn_recv");
pub(crate) const TIMEOUT_ESTABLISHED: TimeoutSlot = TimeoutSlot::named("tcp_established");
pub(crate) const TIMEOUT_FIN_WAIT: TimeoutSlot = TimeoutSlot::named("tcp_fin_wait");
pub(crate) const TIMEOUT_CLOSE_WAIT: TimeoutSlot = TimeoutSlot::named("tcp_close_wait");
pub(crate) const TIMEOUT_LAST_ACK: TimeoutSlot = TimeoutSlot::named("tcp_last_ack");
pub(crate) const TIMEOUT_TIME_WAIT: TimeoutSlot = TimeoutSlot::named("tcp_time_wait");
pub(crate) const TIMEOUT_CLOSE: TimeoutSlot = TimeoutSlot::named("tcp_close");
pub(crate) const TIMEOUT_MAX_RETRANS: TimeoutSlot = TimeoutSlot::named("tcp_max_retrans");
pub(crate) const TIMEOUT_UNACKNOWLEDGED: TimeoutSlot = TimeoutSlot::named("tcp_unacknowledged");

impl TcpState {
    /// The state's timeout in seconds (`tcp_timeouts[state]`).
    pub fn timeout(self, t: &Timeouts) -> u64 {
        use TcpState as T;
        match self {
            T::None => 0,
            T::SynSent => t.get(TIMEOUT_SYN_SENT),
            T::SynRecv => t.get(TIMEOUT_SYN_RECV),
            T::Established => t.get(TIMEOUT_ESTABLISHED),
            T::FinWait => t.get(TIMEOUT_FIN_WAIT),
            T::CloseWait => t.get(TIMEOUT_CLOSE_WAIT),
            T::LastAck => t.get(TIMEOUT_LAST_ACK),
            T::TimeWait => t.get(TIMEOUT_TIME_WAIT),
            T::Close => t.get(TIMEOUT_CLOSE),
            T::SynSent2 => 120,
        }
    }
}

/// The TCP tracker (`nf_conntrack_l4proto_tcp`).
#[derive(Debug)]
pub struct Tcp;

/// The one [`Tcp`].
pub static TCP: Tcp = Tcp;

impl L4Tracker for Tcp {
    fn name(&self) -> &'static str {
        "tcp"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    /// `tcp_error`: a header shorter than its data offset, a bad checksum (PREROUTING), an
    /// invalid flag combination. Without a decoded header there is no tuple either
    /// ([`L4Tracker::pkt_to_tuple`] says why).
    fn error(&self, _ct: &mut Conntrack, cx: &Cx<'_>) -> Option<CtOutcome> {
        let L4::Tcp(th) = &cx.pkt.l4 else {
            return None;
        };
        let tcplen = cx.pkt.ip_len.saturating_sub(cx.pkt.ip_hdr_len as u32);
        if th.doff < 5 || tcplen < th.doff as u32 * 4 {
            return Some(invalid("truncated TCP packet"));
        }
        if checksum_bad(cx) {
            return Some(invalid("bad TCP checksum"));
        }
        if !valid_flags(th.flags) {
            return Some(invalid("invalid TCP flag combination"));
        }
        None
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        ports_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_ports(inner, t)
    }

    fn new_state(&self, _cx: &Cx<'_>) -> ProtoState {
        ProtoState::Tcp(Box::default())
    }

    /// `nf_conntrack_tcp_packet`: `tcp_new` for a new entry, then the state machine; a
    /// connection entering TIME_WAIT or CLOSE (or whose timeout is cut) counts as a death.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        let (pkt, p, now) = (cx.pkt, cx.p, cx.now);
        let L4::Tcp(th) = &pkt.l4 else {
            unreachable!("tuple built from TCP")
        };
        let (remaining, phase) = (ct.remaining(e.id, now), ct.phase_now());
        let reopened = if e.is_new {
            ct.take_reopened(pkt.frame)
        } else {
            None
        };
        // Only a connection a NAT helper rewrote has an offset to look up.
        let ack_off = if e.status & crate::conntrack::status::SEQ_ADJUST != 0 {
            crate::conntrack::helper::ack_offset(ct, e.id, e.dir, th.ack)
        } else {
            0
        };
        let entry = ct.get_mut(e.id).expect("entry");
        let ProtoState::Tcp(tc) = &mut entry.proto else {
            unreachable!("TCP entry")
        };
        let tc: &mut TcpCt = tc;
        if e.is_new && !tcp_new(tc, pkt, th, p.tcp_loose) {
            return L4Verdict::Invalid(
                "invalid new TCP connection (not a SYN, or pickup disabled)",
            );
        }
        if let Some(held) = reopened {
            tc.held_end = held;
        }
        let closed = |s: TcpState| matches!(s, TcpState::TimeWait | TcpState::Close);
        let was_closed = closed(tc.state);
        let r = tcp_packet(tc, e.status, pkt, th, e.dir, p, ack_off);
        let (d, held) = (e.dir as usize, tc.held_end);
        let mut ended = closed(tc.state) && !was_closed;
        if let Some(cap) = r.shrink_to {
            // nf_tcp_handle_invalid: only when more than 120 s are left.
            if remaining >= 120 * p.hz as u64 && remaining > cap {
                entry.timeout = now + cap;
                entry.timeout_phase = phase;
                ended = true;
            }
        }
        if r.set_assured {
            entry.status |= status::ASSURED;
        }
        if ended {
            let tuples = entry.tuple;
            ct.ending(tuples);
        }
        match r.verdict {
            TcpVerdict::Accept => {
                if let Some(t) = r.refresh {
                    ct.refresh_acct(e.id, e.dir, pkt.ip_len, t, now);
                }
                L4Verdict::Accept
            }
            TcpVerdict::Ignore => L4Verdict::Accept,
            TcpVerdict::Invalid(why) => L4Verdict::Invalid(why),
            TcpVerdict::Uncertain(why) => L4Verdict::Uncertain(why),
            TcpVerdict::Kill => {
                // nf_ct_kill_acct: counted, then killed.
                ct.account(e.id, e.dir, pkt.ip_len);
                ct.kill(e.id);
                L4Verdict::Accept
            }
            TcpVerdict::Repeat => {
                ct.remove(e.id);
                // The entry the SYN creates next holds what this one's sides were seen
                // sending: a late segment of this connection may still come.
                ct.set_reopened(pkt.frame, [held[d], held[1 - d]]);
                L4Verdict::Repeat
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells of `tcp_conntracks` that differ from a naive reading of the state machine,
    /// checked against the running kernel by `tests/kernel_compare.rs` (tcp-edge.pcap,
    /// scenarios 18, 34 and 35).
    #[test]
    fn state_table_cells_pinned_by_the_kernel() {
        // A SYN/ACK in the original direction is only valid in SYN_SENT2 (simultaneous open)
        // and SYN_RECV (retransmitted); anywhere else it is invalid, not ignored.
        assert_eq!(
            lookup(CtDir::Original, Index::SynAck, TcpState::SynRecv),
            SR
        );
        for s in [
            TcpState::SynSent,
            TcpState::Established,
            TcpState::FinWait,
            TcpState::TimeWait,
            TcpState::Close,
        ] {
            assert_eq!(lookup(CtDir::Original, Index::SynAck, s), IV, "{s:?}");
        }
        // A SYN in the reply direction reopens a TIME_WAIT connection (the server switched
        // roles); elsewhere (but SYN_SENT/SYN_SENT2) it is invalid.
        assert_eq!(lookup(CtDir::Reply, Index::Syn, TcpState::TimeWait), SS);
        assert_eq!(lookup(CtDir::Reply, Index::Syn, TcpState::Close), IV);
        assert_eq!(lookup(CtDir::Reply, Index::Syn, TcpState::Established), IV);
    }
}
