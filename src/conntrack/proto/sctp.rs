//! SCTP connection tracking, after `nf_conntrack_proto_sctp.c`: the CRC32c check at
//! PREROUTING, the chunk sanity checks, the out-of-the-blue rules for a new connection, the
//! verification tags of both directions and the per-chunk state machine with its timeouts.
//!
//! The unit [`Sctp`] (`nf_conntrack_l4proto_sctp`): the ports as tuple, `sctp_new` and
//! `nf_conntrack_sctp_packet` ([`L4Tracker::packet`]), and the
//! `nf_conntrack_sctp_timeout_*` sysctls (`TIMEOUTS`).

use super::super::track::CtHook;
use super::super::{status, Conntrack, CtDir, CtOutcome, ProtoState, Timeouts, Tuple};
use super::{
    ports_to_tuple, quoted_ports, Cx, EntryCx, L4Tracker, L4Verdict, TimeoutDef, TimeoutSlot,
};
use crate::packet::{ChecksumMode, InnerPacket, Packet};

/// Connection states (`enum sctp_conntrack`), in the kernel's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SctpState {
    #[default]
    None,
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownSent,
    ShutdownRecd,
    ShutdownAckSent,
    HeartbeatSent,
}

/// A transition the table refuses (`SCTP_CONNTRACK_MAX`).
const IV: Option<SctpState> = None;

impl SctpState {
    fn index(self) -> usize {
        self as usize
    }

    /// The state's timeout in seconds (`timeouts[new_state]`; NONE uses CLOSED's).
    pub fn timeout(self, t: &Timeouts) -> u64 {
        match self {
            SctpState::None | SctpState::Closed => t.get(TIMEOUT_CLOSED),
            SctpState::CookieWait => t.get(TIMEOUT_COOKIE_WAIT),
            SctpState::CookieEchoed => t.get(TIMEOUT_COOKIE_ECHOED),
            SctpState::Established => t.get(TIMEOUT_ESTABLISHED),
            SctpState::ShutdownSent => t.get(TIMEOUT_SHUTDOWN_SENT),
            SctpState::ShutdownRecd => t.get(TIMEOUT_SHUTDOWN_RECD),
            SctpState::ShutdownAckSent => t.get(TIMEOUT_SHUTDOWN_ACK_SENT),
            SctpState::HeartbeatSent => t.get(TIMEOUT_HEARTBEAT_SENT),
        }
    }
}

/// Per-connection SCTP state (`struct ip_ct_sctp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SctpCt {
    pub state: SctpState,
    /// Verification tag expected from each direction.
    pub(crate) vtag: [u32; 2],
    /// An INIT was seen from that direction (collision handling).
    pub init: [bool; 2],
    /// `SCTP_FLAG_HEARTBEAT_VTAG_FAILED` and the direction that set it.
    pub(crate) heartbeat_vtag_failed: bool,
    pub(crate) last_dir: usize,
}

/// Chunk types.
const INIT: u8 = 1;
const INIT_ACK: u8 = 2;
const HEARTBEAT: u8 = 4;
const HEARTBEAT_ACK: u8 = 5;
const ABORT: u8 = 6;
const SHUTDOWN: u8 = 7;
const SHUTDOWN_ACK: u8 = 8;
const ERROR: u8 = 9;
const COOKIE_ECHO: u8 = 10;
const COOKIE_ACK: u8 = 11;
const SHUTDOWN_COMPLETE: u8 = 14;
const DATA: u8 = 0;
/// The T bit of ABORT and SHUTDOWN COMPLETE: the tag is the peer's.
const FLAG_T: u8 = 1;

use SctpState::{
    Closed as CL, CookieEchoed as CE, CookieWait as CW, Established as ES, HeartbeatSent as HS,
    ShutdownAckSent as SA, ShutdownRecd as SR, ShutdownSent as SS,
};

/// `sctp_conntracks[dir][chunk][state]`; rows: INIT, INIT ACK, ABORT, SHUTDOWN, SHUTDOWN ACK,
/// ERROR, COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE, HEARTBEAT, HEARTBEAT ACK; columns: the
/// states in [`SctpState`] order.
#[rustfmt::skip]
static TABLE: [[[Option<SctpState>; 9]; 11]; 2] = [
    [
        // ORIGINAL  NO         CL         CW         CE         ES         SS         SR         SA         HS
        /* init   */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(ES), Some(CL), Some(CL), Some(SA), Some(CW)],
        /* i_ack  */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(CL)],
        /* abort  */ [Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL)],
        /* shut   */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(SS), Some(SS), Some(SR), Some(SA), Some(CL)],
        /* s_ack  */ [Some(SA), Some(CL), Some(CW), Some(CE), Some(ES), Some(SA), Some(SA), Some(SA), Some(SA)],
        /* error  */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(CL)],
        /* c_echo */ [Some(CL), Some(CL), Some(CE), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(CL)],
        /* c_ack  */ [Some(CL), Some(CL), Some(CW), Some(ES), Some(ES), Some(SS), Some(SR), Some(SA), Some(CL)],
        /* s_comp */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(CL), Some(CL)],
        /* hb     */ [Some(HS), Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(HS)],
        /* hb_ack */ [Some(CL), Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(HS)],
    ],
    [
        // REPLY     NO  CL         CW         CE         ES         SS         SR         SA         HS
        /* init   */ [IV, Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), IV],
        /* i_ack  */ [IV, Some(CW), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), IV],
        /* abort  */ [IV, Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), Some(CL), IV],
        /* shut   */ [IV, Some(CL), Some(CW), Some(CE), Some(SR), Some(SS), Some(SR), Some(SA), IV],
        /* s_ack  */ [IV, Some(CL), Some(CW), Some(CE), Some(ES), Some(SA), Some(SA), Some(SA), IV],
        /* error  */ [IV, Some(CL), Some(CW), Some(CL), Some(ES), Some(SS), Some(SR), Some(SA), IV],
        /* c_echo */ [IV, Some(CL), Some(CE), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), IV],
        /* c_ack  */ [IV, Some(CL), Some(CW), Some(ES), Some(ES), Some(SS), Some(SR), Some(SA), IV],
        /* s_comp */ [IV, Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(CL), IV],
        /* hb     */ [IV, Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(HS)],
        /* hb_ack */ [IV, Some(CL), Some(CW), Some(CE), Some(ES), Some(SS), Some(SR), Some(SA), Some(ES)],
    ],
];

/// `sctp_new_state`: chunks without a row (DATA, SACK, …) leave the state alone.
fn new_state(dir: usize, cur: SctpState, chunk: u8) -> Option<SctpState> {
    let row = match chunk {
        INIT => 0,
        INIT_ACK => 1,
        ABORT => 2,
        SHUTDOWN => 3,
        SHUTDOWN_ACK => 4,
        ERROR => 5,
        COOKIE_ECHO => 6,
        COOKIE_ACK => 7,
        SHUTDOWN_COMPLETE => 8,
        HEARTBEAT => 9,
        HEARTBEAT_ACK => 10,
        _ => return Some(cur),
    };
    TABLE[dir][row][cur.index()]
}

/// Why a packet is not tracked normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SctpFail {
    /// The kernel says INVALID.
    Invalid(&'static str),
    /// The capture cut off bytes the kernel reads.
    Uncertain(&'static str),
}

/// What a valid packet does to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SctpOk {
    /// Refresh the timeout to this many seconds (`None`: an INIT retransmitted on a closed
    /// connection is let through without a refresh).
    pub(crate) refresh: Option<u64>,
    /// The connection just became ESTABLISHED (`IPS_ASSURED`).
    pub assured: bool,
}

/// One chunk header seen by `for_each_sctp_chunk`.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    offset: usize,
    kind: u8,
    flags: u8,
    len: u16,
}

/// The SCTP packet as the capture holds it: `seg` are the bytes captured from the SCTP header
/// on, `len` is the packet's real length from there (`skb->len - dataoff`).
struct Seg<'a> {
    seg: &'a [u8],
    len: usize,
}

impl Seg<'_> {
    /// `skb_header_pointer`: `Ok(None)` past the packet's end, `Err` when the packet has the
    /// bytes but the capture does not.
    fn get(&self, off: usize, n: usize) -> Result<Option<&[u8]>, SctpFail> {
        if off + n > self.len {
            return Ok(None);
        }
        self.seg
            .get(off..off + n)
            .map(Some)
            .ok_or(SctpFail::Uncertain("SCTP chunks cut off by the capture"))
    }

    fn u32_at(&self, off: usize) -> Result<Option<u32>, SctpFail> {
        Ok(self
            .get(off, 4)?
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }

    /// `for_each_sctp_chunk`. The walk stops at the end of the packet or where a chunk header
    /// no longer fits; a zero length (refused by the basic checks first) would not advance.
    fn chunks(&self) -> Result<Vec<Chunk>, SctpFail> {
        let mut out = Vec::new();
        let mut off = 12usize;
        while off < self.len {
            let Some(h) = self.get(off, 4)? else { break };
            let len = u16::from_be_bytes([h[2], h[3]]);
            out.push(Chunk {
                offset: off,
                kind: h[0],
                flags: h[1],
                len,
            });
            if len == 0 {
                break;
            }
            off += (len as usize + 3) & !3;
        }
        Ok(out)
    }
}

/// CRC32c (Castagnoli, reflected, initial and final inversion) over `bytes`.
fn crc32c_of(bytes: impl Iterator<Item = u8>) -> u32 {
    let mut crc = u32::MAX;
    for b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// SCTP's checksum of a packet: CRC32c with the checksum field (bytes 8..12) taken as zero.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_of(
        data.iter()
            .enumerate()
            .map(|(i, &b)| if (8..12).contains(&i) { 0 } else { b }),
    )
}

/// `nf_conntrack_sctp_packet` (with `sctp_error`, `do_basic_checks` and `sctp_new`) for a
/// packet in direction `dir` of a connection that is `confirmed` or new. `verify_crc`: the
/// packet is at PREROUTING with `nf_conntrack_checksum` on. `sc` is updated in place, also
/// for chunks processed before an invalid one, as the kernel does.
pub(crate) fn sctp_packet(
    sc: &mut SctpCt,
    confirmed: bool,
    seg: &[u8],
    len: usize,
    dir: CtDir,
    verify_crc: bool,
    t: &Timeouts,
) -> Result<SctpOk, SctpFail> {
    use SctpFail::{Invalid, Uncertain};
    let s = Seg { seg, len };
    // sctp_error
    if len < 12 {
        return Err(Invalid("short SCTP packet"));
    }
    if s.get(0, 12)?.is_none() {
        return Err(Invalid("short SCTP packet"));
    }
    if verify_crc {
        if seg.len() < len {
            return Err(Uncertain("SCTP packet cut off by the capture (CRC32c)"));
        }
        let stored = u32::from_le_bytes([seg[8], seg[9], seg[10], seg[11]]);
        if crc32c(&seg[..len]) != stored {
            return Err(Invalid("SCTP: bad CRC32c"));
        }
    }
    let vtag = s.u32_at(4)?.unwrap_or(0);
    // do_basic_checks
    let chunks = s.chunks()?;
    let mut map = [false; 256];
    let mut flag = false;
    for (count, c) in chunks.iter().enumerate() {
        if matches!(c.kind, INIT | INIT_ACK | SHUTDOWN_COMPLETE) {
            flag = true;
        }
        if ((matches!(c.kind, COOKIE_ACK | COOKIE_ECHO) || flag) && count != 0) || c.len == 0 {
            return Err(Invalid("SCTP: bad chunk (order, or zero length)"));
        }
        map[c.kind as usize] = true;
    }
    if chunks.is_empty() {
        return Err(Invalid("SCTP packet without chunks"));
    }
    let d = match dir {
        CtDir::Original => 0,
        CtDir::Reply => 1,
    };
    if !confirmed {
        if map[ABORT as usize] || map[SHUTDOWN_COMPLETE as usize] || map[COOKIE_ACK as usize] {
            return Err(Invalid(
                "SCTP: out-of-the-blue ABORT, SHUTDOWN COMPLETE or COOKIE ACK",
            ));
        }
        // sctp_new
        *sc = SctpCt::default();
        for c in &chunks {
            match new_state(0, SctpState::None, c.kind) {
                None | Some(SctpState::None) => {
                    return Err(Invalid("SCTP: chunk cannot start a connection"));
                }
                Some(_) => {}
            }
            match c.kind {
                INIT => {
                    if vtag != 0 {
                        return Err(Invalid("SCTP: INIT with a verification tag"));
                    }
                    let Some(tag) = s.u32_at(c.offset + 4)? else {
                        return Err(Invalid("SCTP: INIT header cut short"));
                    };
                    sc.vtag[1] = tag;
                }
                HEARTBEAT => sc.vtag[0] = vtag,
                SHUTDOWN_ACK => sc.vtag[1] = vtag,
                _ => {}
            }
            sc.state = SctpState::None;
        }
    }
    // Verification tag (RFC 9260 8.5).
    let exempt = [
        INIT,
        SHUTDOWN_COMPLETE,
        COOKIE_ECHO,
        ABORT,
        SHUTDOWN_ACK,
        HEARTBEAT,
        HEARTBEAT_ACK,
    ];
    if !exempt.iter().any(|k| map[*k as usize]) && vtag != sc.vtag[d] {
        return Err(Invalid("SCTP: verification tag check failed"));
    }
    let mut state = SctpState::None;
    let mut ignore = false;
    let mut assured = false;
    for c in &chunks {
        match c.kind {
            INIT if vtag != 0 => {
                return Err(Invalid("SCTP: INIT with a verification tag"));
            }
            ABORT | SHUTDOWN_COMPLETE => {
                let want = if c.flags & FLAG_T != 0 {
                    sc.vtag[1 - d]
                } else {
                    sc.vtag[d]
                };
                if vtag != want {
                    return Err(Invalid("SCTP: ABORT/SHUTDOWN COMPLETE with a wrong tag"));
                }
            }
            COOKIE_ECHO if vtag != sc.vtag[d] => {
                return Err(Invalid("SCTP: COOKIE ECHO with a wrong tag"));
            }
            COOKIE_ACK => sc.init = [false, false],
            HEARTBEAT | HEARTBEAT_ACK => {
                if sc.vtag[d] == 0 {
                    sc.vtag[d] = vtag;
                } else if vtag != sc.vtag[d] {
                    if map[DATA as usize] || ignore {
                        return Err(Invalid("SCTP: heartbeat with a wrong tag"));
                    }
                    if c.kind == HEARTBEAT {
                        sc.heartbeat_vtag_failed = true;
                        sc.last_dir = d;
                        ignore = true;
                        continue;
                    }
                    if !sc.heartbeat_vtag_failed || sc.last_dir == d {
                        return Err(Invalid("SCTP: heartbeat ACK with a wrong tag"));
                    }
                    sc.heartbeat_vtag_failed = false;
                    sc.vtag[d] = vtag;
                    sc.vtag[1 - d] = 0;
                } else if sc.heartbeat_vtag_failed {
                    sc.heartbeat_vtag_failed = false;
                }
            }
            _ => {}
        }
        let old = sc.state;
        let Some(new) = new_state(d, old, c.kind) else {
            return Err(Invalid("SCTP: chunk not allowed in this state"));
        };
        state = new;
        if c.kind == INIT {
            let Some(tag) = s.u32_at(c.offset + 4)? else {
                return Err(Invalid("SCTP: INIT header cut short"));
            };
            if sc.init[d] && sc.init[1 - d] {
                sc.init[1 - d] = false;
            }
            sc.init[d] = true;
            sc.vtag[1 - d] = tag;
            if new == SctpState::Closed && old == SctpState::Closed && confirmed {
                ignore = true;
            }
        } else if c.kind == INIT_ACK {
            let Some(tag) = s.u32_at(c.offset + 4)? else {
                return Err(Invalid("SCTP: INIT ACK header cut short"));
            };
            let peer = sc.vtag[1 - d];
            if !sc.init[1 - d] && peer != 0 && peer != tag {
                return Err(Invalid("SCTP: INIT ACK with an unexpected tag"));
            }
            if sc.init[d] && sc.init[1 - d] && peer != tag {
                return Err(Invalid("SCTP: INIT ACK collision with an unexpected tag"));
            }
            sc.vtag[1 - d] = tag;
        }
        sc.state = new;
        if old != new && new == SctpState::Established {
            assured = true;
        }
    }
    Ok(SctpOk {
        refresh: (!ignore).then(|| state.timeout(t)),
        assured,
    })
}

/// The SCTP timeouts (`sctp_timeouts[]`, by state; NONE uses CLOSED's).
pub(crate) const TIMEOUTS: &[TimeoutDef] = &[
    TimeoutDef {
        name: "sctp_closed",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_closed",
        default: 10,
        doc: "CLOSED: an INIT seen, or the association shut down",
    },
    TimeoutDef {
        name: "sctp_cookie_wait",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_cookie_wait",
        default: 3,
        doc: "COOKIE_WAIT: the INIT ACK seen",
    },
    TimeoutDef {
        name: "sctp_cookie_echoed",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_cookie_echoed",
        default: 3,
        doc: "COOKIE_ECHOED: the COOKIE ECHO seen",
    },
    TimeoutDef {
        name: "sctp_established",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_established",
        default: 210,
        doc: "ESTABLISHED: the COOKIE ACK seen",
    },
    TimeoutDef {
        name: "sctp_shutdown_sent",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_shutdown_sent",
        default: 3,
        doc: "SHUTDOWN_SENT: a SHUTDOWN seen in the original direction",
    },
    TimeoutDef {
        name: "sctp_shutdown_recd",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_shutdown_recd",
        default: 3,
        doc: "SHUTDOWN_RECD: a SHUTDOWN seen in the reply direction",
    },
    TimeoutDef {
        name: "sctp_shutdown_ack_sent",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent",
        default: 3,
        doc: "SHUTDOWN_ACK_SENT: the SHUTDOWN ACK seen",
    },
    TimeoutDef {
        name: "sctp_heartbeat_sent",
        sysctl: "net.netfilter.nf_conntrack_sctp_timeout_heartbeat_sent",
        default: 30,
        doc: "HEARTBEAT_SENT: a HEARTBEAT on a new path (multihoming)",
    },
];

pub(crate) const TIMEOUT_CLOSED: TimeoutSlot = TimeoutSlot::named("sctp_closed");
pub(crate) const TIMEOUT_COOKIE_WAIT: TimeoutSlot = TimeoutSlot::named("sctp_cookie_wait");
pub(crate) const TIMEOUT_COOKIE_ECHOED: TimeoutSlot = TimeoutSlot::named("sctp_cookie_echoed");
pub(crate) const TIMEOUT_ESTABLISHED: TimeoutSlot = TimeoutSlot::named("sctp_established");
pub(crate) const TIMEOUT_SHUTDOWN_SENT: TimeoutSlot = TimeoutSlot::named("sctp_shutdown_sent");
pub(crate) const TIMEOUT_SHUTDOWN_RECD: TimeoutSlot = TimeoutSlot::named("sctp_shutdown_recd");
pub(crate) const TIMEOUT_SHUTDOWN_ACK_SENT: TimeoutSlot =
    TimeoutSlot::named("sctp_shutdown_ack_sent");
pub(crate) const TIMEOUT_HEARTBEAT_SENT: TimeoutSlot = TimeoutSlot::named("sctp_heartbeat_sent");

/// The SCTP tracker (`nf_conntrack_l4proto_sctp`). `sctp_error` (the CRC32c and the chunk
/// checks) runs in the per-packet step, with the entry already found or created.
#[derive(Debug)]
pub struct Sctp;

/// The one [`Sctp`].
pub static SCTP: Sctp = Sctp;

impl L4Tracker for Sctp {
    fn name(&self) -> &'static str {
        "sctp"
    }

    fn timeouts(&self) -> &'static [TimeoutDef] {
        TIMEOUTS
    }

    fn pkt_to_tuple(&self, pkt: &Packet, t: &mut Tuple) -> Result<(), CtOutcome> {
        ports_to_tuple(pkt, t)
    }

    fn quoted_tuple(&self, inner: &InnerPacket, t: &mut Tuple) -> bool {
        quoted_ports(inner, t)
    }

    fn new_state(&self, _cx: &Cx<'_>) -> ProtoState {
        ProtoState::Sctp(Default::default())
    }

    /// `nf_conntrack_sctp_packet` on the bytes the capture holds; bytes the kernel reads but
    /// the capture cut off make the packet uncertain.
    fn packet(&self, ct: &mut Conntrack, cx: &Cx<'_>, e: EntryCx) -> L4Verdict {
        let (pkt, p) = (cx.pkt, cx.p);
        let hl = pkt.ip_hdr_len as usize;
        let len = (pkt.ip_len as usize).saturating_sub(hl);
        let end = (pkt.ip_len as usize).min(pkt.data.len());
        let seg = pkt.data.get(hl..end).unwrap_or(&[]);
        let verify =
            cx.hook == CtHook::PreRouting && p.checksum && p.checksums != ChecksumMode::Ignore;
        let entry = ct.get_mut(e.id).expect("entry");
        let confirmed = entry.status & status::CONFIRMED != 0;
        let ProtoState::Sctp(sc) = &mut entry.proto else {
            unreachable!("SCTP entry")
        };
        match sctp_packet(sc, confirmed, seg, len, e.dir, verify, &p.timeouts) {
            Ok(r) => {
                if r.assured {
                    entry.status |= status::ASSURED;
                }
                if let Some(secs) = r.refresh {
                    ct.refresh_acct(e.id, e.dir, cx.pkt.ip_len, secs * p.hz as u64, cx.now);
                }
                L4Verdict::Accept
            }
            Err(SctpFail::Invalid(why)) => L4Verdict::Invalid(why),
            Err(SctpFail::Uncertain(why)) => L4Verdict::Uncertain(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(vtag: u32, chunks: &[&[u8]]) -> Vec<u8> {
        let mut b = vec![0x1b, 0x58, 0x1b, 0x59];
        b.extend_from_slice(&vtag.to_be_bytes());
        b.extend_from_slice(&[0; 4]);
        for c in chunks {
            b.extend_from_slice(c);
            b.resize(b.len().next_multiple_of(4), 0);
        }
        let crc = crc32c(&b);
        b[8..12].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn init(kind: u8, tag: u32) -> Vec<u8> {
        let mut c = vec![kind, 0, 0, 20];
        c.extend_from_slice(&tag.to_be_bytes());
        c.extend_from_slice(&[0, 1, 0, 0, 0, 10, 0, 10, 0, 0, 3, 232]);
        c
    }

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c_of(b"123456789".iter().copied()), 0xE306_9283);
    }

    #[test]
    fn association_and_out_of_the_blue() {
        let t = Timeouts::default();
        let (o, r) = (CtDir::Original, CtDir::Reply);
        let mut sc = SctpCt::default();
        let go = |sc: &mut SctpCt, conf: bool, p: &[u8], d: CtDir| {
            sctp_packet(sc, conf, p, p.len(), d, true, &t)
        };
        // INIT: CLOSED (10 s); INIT ACK: COOKIE_WAIT; COOKIE ECHO; COOKIE ACK: ESTABLISHED.
        let p = pkt(0, &[&init(INIT, 0x11)]);
        assert_eq!(go(&mut sc, false, &p, o).map(|x| x.refresh), Ok(Some(10)));
        assert_eq!(sc.state, SctpState::Closed);
        let p = pkt(0x11, &[&init(INIT_ACK, 0x22)]);
        assert_eq!(go(&mut sc, true, &p, r).map(|x| x.refresh), Ok(Some(3)));
        let p = pkt(0x22, &[&[COOKIE_ECHO, 0, 0, 8, 1, 2, 3, 4]]);
        assert!(go(&mut sc, true, &p, o).is_ok());
        assert_eq!(sc.state, SctpState::CookieEchoed);
        let p = pkt(0x11, &[&[COOKIE_ACK, 0, 0, 4]]);
        assert_eq!(
            go(&mut sc, true, &p, r),
            Ok(SctpOk {
                refresh: Some(210),
                assured: true
            })
        );
        // DATA with the wrong tag; with the right one.
        let data: &[u8] = &[DATA, 3, 0, 17, 0, 0, 3, 232, 0, 0, 0, 0, 0, 0, 0, 0, 9];
        assert!(go(&mut sc, true, &pkt(0x11, &[data]), o).is_err());
        assert!(go(&mut sc, true, &pkt(0x22, &[data]), o).is_ok());
        // A bad CRC; a new connection opened by DATA, by an ABORT, by an INIT with a tag.
        let mut bad = pkt(0, &[&init(INIT, 0x33)]);
        bad[8] ^= 1;
        let mut fresh = SctpCt::default();
        assert!(go(&mut fresh, false, &bad, o).is_err());
        assert!(go(&mut fresh, false, &pkt(0, &[data]), o).is_err());
        assert!(go(&mut fresh, false, &pkt(0, &[&[ABORT, 0, 0, 4]]), o).is_err());
        assert!(go(&mut fresh, false, &pkt(5, &[&init(INIT, 0x33)]), o).is_err());
        // INIT bundled after another chunk; a zero-length chunk.
        assert!(go(&mut fresh, false, &pkt(0, &[data, &init(INIT, 1)]), o).is_err());
        assert!(go(&mut fresh, false, &pkt(0, &[&[HEARTBEAT, 0, 0, 0]]), o).is_err());
        // A HEARTBEAT may start one (HEARTBEAT_SENT, 30 s); a truncated capture is uncertain.
        let hb = pkt(7, &[&[HEARTBEAT, 0, 0, 8, 0, 1, 0, 4]]);
        assert_eq!(
            go(&mut fresh, false, &hb, o).map(|x| x.refresh),
            Ok(Some(30))
        );
        assert_eq!(
            sctp_packet(&mut fresh, false, &hb[..12], hb.len(), o, true, &t),
            Err(SctpFail::Uncertain(
                "SCTP packet cut off by the capture (CRC32c)"
            ))
        );
    }
}
