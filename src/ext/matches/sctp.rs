//! `-m sctp` (libxt_sctp.c / xt_sctp.c `sctp_mt`): ports from the SCTP common header and
//! `--chunk-types (all|any|only) TYPE[:FLAGS],...` over the packet's chunks.
//!
//! iptables 1.8.9 keeps this match as an xt match with both backends (iptables-nft has no
//! payload translation for it), so options are printed whenever they were given, even a full
//! port range.

use std::any::Any;

use super::{bad, l4_view, port_match, L4View};
use crate::diag::{Diagnostic, Span};
use crate::ext::EvalCtx;
use crate::ext::{
    service_port_strict, split_list, strtoul0, sub_span, Arg, Match, MatchResult, OptArg, OptSpec,
    ParseCtx,
};
use crate::packet::L4;

const SRC_PORTS: u8 = 0x01;
const DEST_PORTS: u8 = 0x02;
const CHUNK_TYPES: u8 = 0x04;

/// `SCTP_CHUNK_MATCH_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkMatch {
    Any,
    All,
    Only,
}

/// One `xt_sctp_flag_info`: the chunk type it applies to, the flag values and the mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagInfo {
    pub(crate) chunktype: u8,
    pub flag: u8,
    pub mask: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sctp {
    pub(crate) spts: (u16, u16),
    pub(crate) dpts: (u16, u16),
    /// `XT_SCTP_*` options given.
    pub flags: u8,
    pub(crate) invflags: u8,
    pub(crate) match_type: ChunkMatch,
    /// `chunkmap`: bit `t` set when chunk type `t` is listed.
    pub(crate) chunkmap: [u32; 8],
    pub(crate) flag_info: Vec<FlagInfo>,
}

pub fn new() -> Box<dyn Match> {
    Box::new(Sctp {
        spts: (0, 0xFFFF),
        dpts: (0, 0xFFFF),
        flags: 0,
        invflags: 0,
        match_type: ChunkMatch::Any,
        chunkmap: [0; 8],
        flag_info: Vec::new(),
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("source-port", SRC_PORTS, Arg::One).inv(),
    OptSpec::new("sport", SRC_PORTS, Arg::One).inv(),
    OptSpec::new("destination-port", DEST_PORTS, Arg::One).inv(),
    OptSpec::new("dport", DEST_PORTS, Arg::One).inv(),
    OptSpec::new("chunk-types", CHUNK_TYPES, Arg::Two).inv(),
];

/// `sctp_chunk_names` of libxt_sctp.c 1.8.9, in its order: name, chunk type, valid flags
/// (bit 7 first). The order matters: the flag info of a chunk is stored under its index in
/// this table, not its type (so flags given to I_DATA, index 15, never apply).
const CHUNKS: &[(&str, u8, &[u8; 8])] = &[
    ("DATA", 0, b"----IUBE"),
    ("INIT", 1, b"--------"),
    ("INIT_ACK", 2, b"--------"),
    ("SACK", 3, b"--------"),
    ("HEARTBEAT", 4, b"--------"),
    ("HEARTBEAT_ACK", 5, b"--------"),
    ("ABORT", 6, b"-------T"),
    ("SHUTDOWN", 7, b"--------"),
    ("SHUTDOWN_ACK", 8, b"--------"),
    ("ERROR", 9, b"--------"),
    ("COOKIE_ECHO", 10, b"--------"),
    ("COOKIE_ACK", 11, b"--------"),
    ("ECN_ECNE", 12, b"--------"),
    ("ECN_CWR", 13, b"--------"),
    ("SHUTDOWN_COMPLETE", 14, b"-------T"),
    ("I_DATA", 64, b"----IUBE"),
    ("RE_CONFIG", 130, b"--------"),
    ("PAD", 132, b"--------"),
    ("ASCONF", 193, b"--------"),
    ("ASCONF_ACK", 128, b"--------"),
    ("FORWARD_TSN", 192, b"--------"),
    ("I_FORWARD_TSN", 194, b"--------"),
];

const CHUNK_NAMES: &str = "DATA, INIT, INIT_ACK, SACK, HEARTBEAT, HEARTBEAT_ACK, ABORT, \
SHUTDOWN, SHUTDOWN_ACK, ERROR, COOKIE_ECHO, COOKIE_ACK, ECN_ECNE, ECN_CWR, SHUTDOWN_COMPLETE, \
I_DATA, RE_CONFIG, PAD, ASCONF, ASCONF_ACK, FORWARD_TSN or I_FORWARD_TSN (each optionally \
with :FLAGS), separated by commas; or ALL or NONE alone";

/// `xtables_parse_port(text, "sctp")`: a number (base 0) up to 65535, or a service that
/// /etc/services lists for sctp (getservbyname is strict about the protocol here: `http`,
/// a tcp-only service, is refused).
fn parse_port(text: &str, span: Span) -> Result<u16, Diagnostic> {
    if let Some(v) = strtoul0(text).filter(|v| *v <= 65535) {
        return Ok(v as u16);
    }
    service_port_strict(text, "sctp").ok_or_else(|| {
        bad(
            span,
            format!("invalid port/service `{text}` specified"),
            "a port from 0 to 65535 or an sctp service name (such as amqp)",
        )
    })
}

/// `parse_sctp_ports`: `a`, `a:b`, `a:` (to 65535), `:b` (from 0); `min > max` is refused.
fn parse_ports(arg: &OptArg<'_>) -> Result<(u16, u16), Diagnostic> {
    let text = arg.text;
    let Some(i) = text.find(':') else {
        let p = parse_port(text, arg.span)?;
        return Ok((p, p));
    };
    let (a, b) = (&text[..i], &text[i + 1..]);
    let lo = if a.is_empty() {
        0
    } else {
        parse_port(a, sub_span(arg, 0, i))?
    };
    let hi = if b.is_empty() {
        0xFFFF
    } else {
        parse_port(b, sub_span(arg, i + 1, text.len()))?
    };
    if lo > hi {
        return Err(bad(
            arg.span,
            format!("invalid portrange (min > max): `{text}`"),
            "a range MIN:MAX with MIN <= MAX",
        ));
    }
    Ok((lo, hi))
}

impl Sctp {
    fn set(&mut self, t: u8) {
        self.chunkmap[t as usize / 32] |= 1 << (t % 32);
    }
    fn is_set(&self, t: u8) -> bool {
        self.chunkmap[t as usize / 32] & (1 << (t % 32)) != 0
    }

    /// `parse_sctp_chunks` / `parse_sctp_chunk`.
    fn parse_chunks(&mut self, kind: &OptArg<'_>, list: &OptArg<'_>) -> Result<(), Diagnostic> {
        self.match_type = match kind.text.to_ascii_lowercase().as_str() {
            "any" => ChunkMatch::Any,
            "all" => ChunkMatch::All,
            "only" => ChunkMatch::Only,
            _ => {
                return Err(bad(
                    kind.span,
                    format!(
                        "match type `{}` has to be one of ALL, ANY or ONLY",
                        kind.text
                    ),
                    "all, any or only, then the chunk types",
                ))
            }
        };
        self.chunkmap = [0; 8];
        self.flag_info.clear();
        if list.text.eq_ignore_ascii_case("ALL") {
            self.chunkmap = [u32::MAX; 8];
            return Ok(());
        }
        if list.text.eq_ignore_ascii_case("NONE") {
            return Ok(());
        }
        // strtok: empty elements are skipped.
        for part in split_list(list, ',')
            .into_iter()
            .filter(|p| !p.text.is_empty())
        {
            let (name, flags) = match part.text.find(':') {
                Some(i) => (&part.text[..i], Some(i + 1)),
                None => (part.text, None),
            };
            let Some(idx) = CHUNKS
                .iter()
                .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
            else {
                let name_span = sub_span(&part, 0, name.len());
                return Err(bad(
                    name_span,
                    format!("unknown sctp chunk `{name}`"),
                    CHUNK_NAMES,
                ));
            };
            let (cname, ctype, valid) = CHUNKS[idx];
            self.set(ctype);
            let Some(start) = flags else { continue };
            for (k, c) in part.text[start..].char_indices() {
                let up = c.to_ascii_uppercase();
                let pos = if up == '-' || !up.is_ascii() {
                    None
                } else {
                    valid.iter().position(|&v| v == up as u8)
                };
                let Some(pos) = pos else {
                    let at = start + k;
                    let allowed: String = valid
                        .iter()
                        .filter(|&&v| v != b'-')
                        .map(|&v| v as char)
                        .collect();
                    return Err(bad(
                        sub_span(&part, at, at + c.len_utf8()),
                        format!("invalid flag `{c}` for chunk type {cname}"),
                        if allowed.is_empty() {
                            format!("no flags: {cname} takes none")
                        } else {
                            format!("flags among {allowed} (upper case: set, lower case: clear)")
                        },
                    ));
                };
                let bit = 1u8 << (7 - pos);
                let set = c.is_ascii_uppercase();
                // save_chunk_flag_info: keyed by the table index; flags only ever get set.
                let chunktype = idx as u8;
                let fi = match self
                    .flag_info
                    .iter_mut()
                    .position(|f| f.chunktype == chunktype)
                {
                    Some(i) => &mut self.flag_info[i],
                    None => {
                        self.flag_info.push(FlagInfo {
                            chunktype,
                            flag: 0,
                            mask: 0,
                        });
                        self.flag_info.last_mut().expect("just pushed")
                    }
                };
                fi.mask |= bit;
                if set {
                    fi.flag |= bit;
                }
            }
        }
        Ok(())
    }

    /// `match_flags`.
    fn flags_ok(&self, kind: u8, flags: u8) -> bool {
        match self.flag_info.iter().find(|f| f.chunktype == kind) {
            Some(f) => flags & f.mask == f.flag,
            None => true,
        }
    }

    /// `match_packet`: walk the chunks from `off` (bytes from the IP header) in a packet of
    /// `len` bytes whose first `data.len()` bytes were captured.
    fn match_packet(&self, data: &[u8], mut off: usize, len: usize) -> MatchResult {
        let mut pending = self.chunkmap;
        loop {
            if off + 4 > len {
                return MatchResult::HotDrop;
            }
            let Some(h) = data.get(off..off + 4) else {
                return MatchResult::Unknown("SCTP chunks cut off by the capture's snap length");
            };
            let (kind, flags) = (h[0], h[1]);
            let clen = u16::from_be_bytes([h[2], h[3]]) as usize;
            if clen == 0 {
                return MatchResult::HotDrop;
            }
            off += (clen + 3) & !3;
            if self.is_set(kind) {
                match self.match_type {
                    ChunkMatch::Any => {
                        if self.flags_ok(kind, flags) {
                            return MatchResult::Yes;
                        }
                    }
                    ChunkMatch::All => {
                        if self.flags_ok(kind, flags) {
                            pending[kind as usize / 32] &= !(1 << (kind % 32));
                        }
                    }
                    ChunkMatch::Only => {
                        if !self.flags_ok(kind, flags) {
                            return MatchResult::No;
                        }
                    }
                }
            } else if self.match_type == ChunkMatch::Only {
                return MatchResult::No;
            }
            if off >= len {
                break;
            }
        }
        MatchResult::from_bool(match self.match_type {
            ChunkMatch::All => pending.iter().all(|w| *w == 0),
            ChunkMatch::Any => false,
            ChunkMatch::Only => true,
        })
    }

    /// `print_chunks`.
    fn save_chunks(&self, out: &mut String) {
        out.push_str(match self.match_type {
            ChunkMatch::Any => " any",
            ChunkMatch::All => " all",
            ChunkMatch::Only => " only",
        });
        if self.chunkmap.iter().all(|w| *w == 0) {
            out.push_str(" NONE");
            return;
        }
        if self.chunkmap.iter().all(|w| *w == u32::MAX) {
            out.push_str(" ALL");
            return;
        }
        let mut first = true;
        for t in 0..=255u8 {
            if !self.is_set(t) {
                continue;
            }
            out.push(if first { ' ' } else { ',' });
            first = false;
            if let Some((name, _, _)) = CHUNKS.iter().find(|(_, ty, _)| *ty == t) {
                out.push_str(name);
            }
            // print_chunk_flags indexes the name table with the chunk type; only types 0..14
            // can carry flags that print (index == type there).
            for f in self.flag_info.iter().filter(|f| f.chunktype == t) {
                if f.mask != 0 {
                    out.push(':');
                }
                let valid = CHUNKS.get(t as usize).map(|c| c.2).unwrap_or(b"--------");
                for i in (0..8).rev() {
                    if f.mask & (1 << i) != 0 {
                        let c = valid[7 - i] as char;
                        out.push(if f.flag & (1 << i) != 0 {
                            c
                        } else {
                            c.to_ascii_lowercase()
                        });
                    }
                }
            }
        }
    }
}

/// `SCCHECK`: an option not given always passes; a given one passes when `cond` (inverted).
fn sccheck(cond: bool, opt: u8, flags: u8, inv: u8) -> bool {
    flags & opt == 0 || ((inv & opt != 0) ^ cond)
}

impl Match for Sctp {
    fn name(&self) -> &'static str {
        "sctp"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        _cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            SRC_PORTS => self.spts = parse_ports(&args[0])?,
            DEST_PORTS => self.dpts = parse_ports(&args[0])?,
            _ => self.parse_chunks(&args[0], &args[1])?,
        }
        self.flags |= opt.id;
        if invert {
            self.invflags |= opt.id;
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        use std::fmt::Write;
        for (opt, name, (lo, hi)) in [
            (SRC_PORTS, "sport", self.spts),
            (DEST_PORTS, "dport", self.dpts),
        ] {
            if self.flags & opt == 0 {
                continue;
            }
            if self.invflags & opt != 0 {
                out.push_str(" !");
            }
            if lo != hi {
                let _ = write!(out, " --{name} {lo}:{hi}");
            } else {
                let _ = write!(out, " --{name} {lo}");
            }
        }
        if self.flags & CHUNK_TYPES != 0 {
            if self.invflags & CHUNK_TYPES != 0 {
                out.push_str(" !");
            }
            out.push_str(" --chunk-types");
            self.save_chunks(out);
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        let pkt = cx.pkt;
        match l4_view(pkt, 12) {
            L4View::Fragment(_) => return MatchResult::No,
            L4View::Tinygram => return MatchResult::HotDrop,
            L4View::CutByCapture => {
                return MatchResult::Unknown("SCTP header cut off by the capture's snap length")
            }
            L4View::Header(L4::Ports { .. }) => {}
            L4View::Header(_) => return MatchResult::No,
        }
        let th = pkt.ip_hdr_len as usize;
        let len = pkt.ip_len as usize;
        // The decoder needs only the 4 port bytes; sctp_mt needs the whole 12-byte header.
        if len < th + 12 {
            return MatchResult::HotDrop;
        }
        let Some(h) = pkt.data.get(th..th + 12) else {
            return MatchResult::Unknown("SCTP header cut off by the capture's snap length");
        };
        // The ports as they are at this rule (NAT rewrites the packet's, not the captured bytes).
        let (sport, dport) = pkt.ports().unwrap_or((
            u16::from_be_bytes([h[0], h[1]]),
            u16::from_be_bytes([h[2], h[3]]),
        ));
        if !sccheck(
            port_match(self.spts.0, self.spts.1, sport, false),
            SRC_PORTS,
            self.flags,
            self.invflags,
        ) || !sccheck(
            port_match(self.dpts.0, self.dpts.1, dport, false),
            DEST_PORTS,
            self.flags,
            self.invflags,
        ) {
            return MatchResult::No;
        }
        if self.flags & CHUNK_TYPES == 0 {
            return MatchResult::Yes;
        }
        let inv = self.invflags & CHUNK_TYPES != 0;
        match self.match_packet(&pkt.data, th + 12, len) {
            MatchResult::Yes => MatchResult::from_bool(!inv),
            MatchResult::No => MatchResult::from_bool(inv),
            other => other,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
