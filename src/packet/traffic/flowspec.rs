//! Ad-hoc what-if traffic from a one-line flow spec (`fwcheck ... --flow SPEC`).
//!
//! Owns the grammar, its parser (structured errors: 1-based column + what was expected) and
//! the builder that turns specs into packets with the generator's session builders.
//!
//! ```text
//! flow      = (tcp-flow | udp-flow | icmp-flow) { option }
//! tcp-flow  = ("tcp" | "syn" | "ack" | "rst") endpoint ">" endpoint
//! udp-flow  = "udp" endpoint ">" endpoint [ "reply" ]
//! icmp-flow = "icmp" icmp-kind address ">" address
//! option    = "flags" FLAGS | "size" BYTES | "payload" TEXT
//! FLAGS     = letters of F S R P A U E C (tcpdump's, `.` also means ACK), or "none"
//! icmp-kind = "echo" | "echo-request" | "echo-reply" | TYPE [ "/" CODE ]
//! endpoint  = IPv4 ":" PORT | "[" IPv6 "]" ":" PORT
//! address   = IPv4 | IPv6 | "[" IPv6 "]"
//! ```
//!
//! * `tcp A:p > B:q` — a full session: 3-way handshake, a request and a response (protocol
//!   flavoured for 22, 25, 80, 443), FIN close from both sides.
//! * `syn` / `ack` / `rst` — that single segment (`ack` carries 32 bytes of data, like the
//!   first packet of a capture that starts mid-stream).
//! * `udp A:p > B:q` — one datagram (a DNS query when q is 53); with `reply`, B answers A.
//! * `icmp echo A > B` — request and reply; `echo-request`/`echo-reply` — just that message;
//!   `icmp 3/3 A > B` — one message of that type/code (error types quote a UDP packet that B
//!   sent to A, so that conntrack can relate it).
//!
//! * `flags FLAGS` (TCP only) — one segment with exactly these flags instead of the session:
//!   `tcp A:p > B:q flags S` is a SYN, `flags SA` a SYN-ACK, `flags FA` a FIN-ACK.
//! * `size BYTES` — that many bytes of payload (at most 65000); `payload TEXT` — these bytes
//!   (`hex:0a0b…` for binary). For single segments, UDP datagrams and ICMP echoes.
//!
//! Words are case-insensitive; `>` may be written without spaces around it. Several flows can
//! be given at once to [`parse_many`], separated by `;` or new lines; they are laid out one
//! after the other in time, 100 ms apart.

use std::net::IpAddr;

use crate::packet::build::{L4Spec, PacketSpec};
use crate::packet::gen::{
    dns_query, dns_response, echo, port_unreachable_like, tcp_probe, tcp_session, udp, GenOptions,
    Msg, Sim, Start, TcpEnd,
};
use crate::packet::tcp_flags::{ACK, PSH, RST, SYN};
use crate::packet::Packet;

/// What a flow spec asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// Full TCP session.
    Tcp,
    /// A lone SYN.
    Syn,
    /// A lone ACK with data.
    Ack,
    /// A lone RST.
    Rst,
    /// A UDP datagram, and its reply when `reply`.
    Udp { reply: bool },
    /// ICMP(v6) echo: request and/or reply.
    Echo { request: bool, reply: bool },
    /// One ICMP(v6) message of this type and code.
    Icmp { icmp_type: u8, code: u8 },
}

/// One parsed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSpec {
    pub kind: FlowKind,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    /// `flags`/`size`/`payload` options.
    pub opts: FlowOpts,
}

/// The options after a flow (`flags S`, `size 1200`, `payload GET`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowOpts {
    /// One TCP segment with these flags.
    pub flags: Option<u8>,
    /// The payload, from `size` (generic bytes) or `payload`.
    pub payload: Option<Vec<u8>>,
}

/// The largest payload `size` builds (an IPv4 packet must stay under 65535 bytes).
const MAX_PAYLOAD: usize = 65000;

/// TCP flags from letters (`S`, `SA`, `FA`, `S.`), tcpdump's letters plus `A` for ACK.
fn parse_flags(t: &Tok) -> Result<u8, SpecError> {
    use crate::packet::tcp_flags::*;
    if t.text.eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    let mut f = 0u8;
    for (i, c) in t.text.chars().enumerate() {
        f |= match c.to_ascii_uppercase() {
            'F' => FIN,
            'S' => SYN,
            'R' => RST,
            'P' => PSH,
            'A' | '.' => ACK,
            'U' => URG,
            'E' => ECE,
            'C' | 'W' => CWR,
            _ => {
                return Err(bad(
                    t.col + i,
                    "TCP flag letters F S R P A U E C (e.g. S, SA, FA) or none",
                    &t.text,
                ))
            }
        };
    }
    Ok(f)
}

fn parse_opts(p: &mut P, tcp: bool) -> Result<FlowOpts, SpecError> {
    let mut o = FlowOpts::default();
    while let Some(t) = p.toks.get(p.i).cloned() {
        let word = t.text.to_ascii_lowercase();
        match word.as_str() {
            "flags" if tcp => {
                p.i += 1;
                let v = p.next("TCP flags (e.g. S, SA, FA)")?;
                o.flags = Some(parse_flags(&v)?);
            }
            "size" => {
                p.i += 1;
                let v = p.next("a payload size in bytes")?;
                let n = v
                    .text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_PAYLOAD)
                    .ok_or_else(|| bad(v.col, "a payload size 0-65000", &v.text))?;
                o.payload = Some(generic_payload(n, 0));
            }
            "payload" => {
                p.i += 1;
                let v = p.next("the payload text (or hex:BYTES)")?;
                o.payload = Some(match v.text.strip_prefix("hex:") {
                    Some(h) => decode_hex(h)
                        .ok_or_else(|| bad(v.col + 4, "an even number of hex digits", h))?,
                    None => v.text.clone().into_bytes(),
                });
            }
            _ => break,
        }
    }
    Ok(o)
}

fn decode_hex(h: &str) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) || h.len() > 2 * MAX_PAYLOAD {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A parse error: where (1-based column, in characters, of the whole input given to the
/// parser), what was expected and what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}, found {found}")]
pub struct SpecError {
    pub column: usize,
    pub expected: String,
    pub found: String,
}

#[derive(Debug, Clone)]
struct Tok {
    text: String,
    col: usize,
}

fn tokenize(s: &str, base: usize) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, ch) in s.chars().enumerate() {
        if ch.is_whitespace() || ch == '>' {
            if !cur.is_empty() {
                out.push(Tok {
                    text: std::mem::take(&mut cur),
                    col: base + start + 1,
                });
            }
            if ch == '>' {
                out.push(Tok {
                    text: ">".into(),
                    col: base + i + 1,
                });
            }
        } else {
            if cur.is_empty() {
                start = i;
            }
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(Tok {
            text: cur,
            col: base + start + 1,
        });
    }
    out
}

struct P {
    toks: Vec<Tok>,
    i: usize,
    end_col: usize,
}

impl P {
    fn err(&self, expected: &str) -> SpecError {
        match self.toks.get(self.i) {
            Some(t) => SpecError {
                column: t.col,
                expected: expected.into(),
                found: format!("'{}'", t.text),
            },
            None => SpecError {
                column: self.end_col,
                expected: expected.into(),
                found: "end of input".into(),
            },
        }
    }

    fn next(&mut self, expected: &str) -> Result<Tok, SpecError> {
        let t = self
            .toks
            .get(self.i)
            .cloned()
            .ok_or_else(|| self.err(expected))?;
        self.i += 1;
        Ok(t)
    }

    fn expect_gt(&mut self) -> Result<(), SpecError> {
        match self.toks.get(self.i) {
            Some(t) if t.text == ">" => {
                self.i += 1;
                Ok(())
            }
            _ => Err(self.err("'>'")),
        }
    }
}

fn bad(col: usize, expected: &str, found: &str) -> SpecError {
    SpecError {
        column: col,
        expected: expected.into(),
        found: format!("'{found}'"),
    }
}

fn parse_addr(text: &str, col: usize) -> Result<IpAddr, SpecError> {
    let inner = if let Some(rest) = text.strip_prefix('[') {
        rest.strip_suffix(']').ok_or_else(|| {
            bad(
                col + text.chars().count(),
                "']' closing the IPv6 address",
                text,
            )
        })?
    } else {
        text
    };
    inner
        .parse::<IpAddr>()
        .map_err(|_| bad(col, "an IPv4 or IPv6 address", text))
}

fn parse_endpoint(t: &Tok) -> Result<(IpAddr, u16), SpecError> {
    let text = t.text.as_str();
    let (addr_part, port_part, port_col) = if text.starts_with('[') {
        let Some(close) = text.find(']') else {
            return Err(bad(
                t.col + text.chars().count(),
                "']' closing the IPv6 address",
                text,
            ));
        };
        let rest = &text[close + 1..];
        let Some(port) = rest.strip_prefix(':') else {
            return Err(SpecError {
                column: t.col + text[..close + 1].chars().count(),
                expected: "':PORT' after the address".into(),
                found: if rest.is_empty() {
                    "nothing".into()
                } else {
                    format!("'{rest}'")
                },
            });
        };
        (
            &text[..close + 1],
            port,
            t.col + text[..close + 2].chars().count(),
        )
    } else {
        match text.rfind(':') {
            Some(k) if text[..k].contains(':') => {
                return Err(bad(
                    t.col,
                    "an IPv6 endpoint in brackets, like [2001:db8::1]:80",
                    text,
                ))
            }
            Some(k) => (
                &text[..k],
                &text[k + 1..],
                t.col + text[..k + 1].chars().count(),
            ),
            None => {
                return Err(SpecError {
                    column: t.col + text.chars().count(),
                    expected: "':PORT' after the address".into(),
                    found: "nothing".into(),
                })
            }
        }
    };
    let addr = parse_addr(addr_part, t.col)?;
    let port = port_part
        .parse::<u16>()
        .map_err(|_| bad(port_col, "a port number 0-65535", port_part))?;
    Ok((addr, port))
}

fn same_family(a: IpAddr, b: IpAddr, col: usize, text: &str) -> Result<(), SpecError> {
    if a.is_ipv4() != b.is_ipv4() {
        let want = if a.is_ipv4() {
            "an IPv4 destination (same family as the source)"
        } else {
            "an IPv6 destination (same family as the source)"
        };
        return Err(bad(col, want, text));
    }
    Ok(())
}

/// Parses one flow spec.
pub fn parse(s: &str) -> Result<FlowSpec, SpecError> {
    parse_at(s, 0)
}

fn parse_at(s: &str, base: usize) -> Result<FlowSpec, SpecError> {
    let mut p = P {
        toks: tokenize(s, base),
        i: 0,
        end_col: base + s.chars().count() + 1,
    };
    let kw = p.next("a flow kind (tcp, syn, ack, rst, udp, icmp)")?;
    let word = kw.text.to_ascii_lowercase();
    let spec = match word.as_str() {
        "tcp" | "syn" | "ack" | "rst" | "udp" => {
            let a = p.next("a source endpoint ADDR:PORT")?;
            let (src, sport) = parse_endpoint(&a)?;
            p.expect_gt()?;
            let b = p.next("a destination endpoint ADDR:PORT")?;
            let (dst, dport) = parse_endpoint(&b)?;
            same_family(src, dst, b.col, &b.text)?;
            let kind = match word.as_str() {
                "tcp" => FlowKind::Tcp,
                "syn" => FlowKind::Syn,
                "ack" => FlowKind::Ack,
                "rst" => FlowKind::Rst,
                _ => {
                    let reply = match p.toks.get(p.i) {
                        Some(t) if t.text.eq_ignore_ascii_case("reply") => {
                            p.i += 1;
                            true
                        }
                        _ => false,
                    };
                    FlowKind::Udp { reply }
                }
            };
            let opts = parse_opts(&mut p, word != "udp")?;
            FlowSpec {
                kind,
                src,
                sport,
                dst,
                dport,
                opts,
            }
        }
        "icmp" => {
            let k = p.next("an ICMP kind (echo, echo-request, echo-reply, TYPE[/CODE])")?;
            let kind = match k.text.to_ascii_lowercase().as_str() {
                "echo" => FlowKind::Echo {
                    request: true,
                    reply: true,
                },
                "echo-request" => FlowKind::Echo {
                    request: true,
                    reply: false,
                },
                "echo-reply" => FlowKind::Echo {
                    request: false,
                    reply: true,
                },
                other => {
                    let (t, c) = match other.split_once('/') {
                        Some((t, c)) => (t, Some(c)),
                        None => (other, None),
                    };
                    let icmp_type = t.parse::<u8>().map_err(|_| {
                        bad(
                            k.col,
                            "an ICMP kind (echo, echo-request, echo-reply, TYPE[/CODE])",
                            &k.text,
                        )
                    })?;
                    let code = match c {
                        None => 0,
                        Some(c) => c.parse::<u8>().map_err(|_| {
                            bad(k.col + t.chars().count() + 1, "an ICMP code 0-255", c)
                        })?,
                    };
                    FlowKind::Icmp { icmp_type, code }
                }
            };
            let a = p.next("a source address")?;
            let src = parse_addr(&a.text, a.col)?;
            p.expect_gt()?;
            let b = p.next("a destination address")?;
            let dst = parse_addr(&b.text, b.col)?;
            same_family(src, dst, b.col, &b.text)?;
            let opts = parse_opts(&mut p, false)?;
            FlowSpec {
                kind,
                src,
                sport: 0,
                dst,
                dport: 0,
                opts,
            }
        }
        _ => {
            return Err(bad(
                kw.col,
                "a flow kind (tcp, syn, ack, rst, udp, icmp)",
                &kw.text,
            ))
        }
    };
    if p.i < p.toks.len() {
        return Err(p.err("end of the flow (or ';' before the next one)"));
    }
    Ok(spec)
}

/// Parses several flows separated by `;` or new lines (empty ones are ignored). Columns in
/// errors count from the start of `s`.
pub fn parse_many(s: &str) -> Result<Vec<FlowSpec>, SpecError> {
    let mut out = Vec::new();
    let mut base = 0;
    for part in s.split([';', '\n']) {
        if !part.trim().is_empty() {
            out.push(parse_at(part, base)?);
        }
        base += part.chars().count() + 1;
    }
    Ok(out)
}

fn generic_payload(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i as u8).wrapping_add(salt)) % 26)
        .collect()
}

/// Builds the packets of `specs`, one flow after the other (100 ms apart), with the seed and
/// start time of `opts`. Addresses of `opts.host` are the capturing host (for MAC addresses
/// and TTLs); when a flow involves none of them, its destination is taken as the host.
pub fn build(specs: &[FlowSpec], opts: &GenOptions) -> Vec<Packet> {
    let mut sim = Sim::new(opts.seed, opts.start);
    run_specs(&mut sim, specs, opts);
    sim.finish()
}

/// [`build`] written as a classic pcap to `w` in bounded memory (see
/// [`crate::packet::gen::write_generated`]). Returns the number of packets written.
pub fn write_built<W: std::io::Write>(
    specs: &[FlowSpec],
    opts: &GenOptions,
    w: W,
) -> std::io::Result<u64> {
    let mut sim = Sim::streaming(opts.seed, opts.start, crate::packet::gen::SPILL_BYTES);
    run_specs(&mut sim, specs, opts);
    sim.finish_into(w)
}

fn run_specs(sim: &mut Sim, specs: &[FlowSpec], opts: &GenOptions) {
    let mut t: u64 = 0;
    for (i, f) in specs.iter().enumerate() {
        let mut r = sim.rng.fork(1000 + i as u64);
        if opts.host.contains(&f.src) {
            sim.add_host(f.src);
        } else {
            // The destination is the host, whether listed or not.
            sim.add_host(f.dst);
        }
        let ttl = 64;
        let tcp_kind = matches!(
            f.kind,
            FlowKind::Tcp | FlowKind::Syn | FlowKind::Ack | FlowKind::Rst
        );
        if let (Some(flags), true) = (f.opts.flags, tcp_kind) {
            // One segment with exactly these flags.
            let mut spec = PacketSpec::new(
                f.src,
                f.dst,
                L4Spec::Tcp {
                    sport: f.sport,
                    dport: f.dport,
                    seq: r.next_u32(),
                    ack: if flags & ACK != 0 { r.next_u32() } else { 0 },
                    flags,
                    window: 64240,
                    options: if flags & SYN != 0 {
                        vec![crate::packet::build::TcpOpt::Mss(1460)]
                    } else {
                        vec![]
                    },
                },
            );
            spec.ttl = ttl;
            spec.dont_fragment = true;
            spec.payload = f.opts.payload.clone().unwrap_or_default();
            sim.emit_spec(t, spec);
            t += 100_000;
            continue;
        }
        let end = match f.kind {
            FlowKind::Tcp => {
                let (hs, hd) = (sim.is_host(f.src), sim.is_host(f.dst));
                let c = TcpEnd::new(&mut r, f.src, f.sport, hs);
                let s = TcpEnd::new(&mut r, f.dst, f.dport, hd);
                let msgs = match f.dport {
                    53 => {
                        let q = dns_query(7, "example.com", 1);
                        let a = dns_response(7, "example.com", &[f.dst]);
                        let lp = |m: Vec<u8>| {
                            let mut v = (m.len() as u16).to_be_bytes().to_vec();
                            v.extend(m);
                            v
                        };
                        vec![
                            Msg {
                                from_client: true,
                                data: lp(q),
                            },
                            Msg {
                                from_client: false,
                                data: lp(a),
                            },
                        ]
                    }
                    _ => vec![
                        Msg {
                            from_client: true,
                            data: generic_payload(120, 0),
                        },
                        Msg {
                            from_client: false,
                            data: generic_payload(600, 7),
                        },
                    ],
                };
                tcp_session(sim, &mut r, t, c, s, &msgs, Start::Handshake, true)
            }
            FlowKind::Syn => {
                tcp_probe(
                    sim,
                    t,
                    f.src,
                    f.sport,
                    f.dst,
                    f.dport,
                    SYN,
                    r.next_u32(),
                    ttl,
                );
                t
            }
            FlowKind::Rst => {
                tcp_probe(
                    sim,
                    t,
                    f.src,
                    f.sport,
                    f.dst,
                    f.dport,
                    RST,
                    r.next_u32(),
                    ttl,
                );
                t
            }
            FlowKind::Ack => {
                let mut spec = PacketSpec::new(
                    f.src,
                    f.dst,
                    L4Spec::Tcp {
                        sport: f.sport,
                        dport: f.dport,
                        seq: r.next_u32(),
                        ack: r.next_u32(),
                        flags: ACK | PSH,
                        window: 502,
                        options: vec![],
                    },
                );
                spec.ttl = ttl;
                spec.dont_fragment = true;
                spec.payload = generic_payload(32, 3);
                sim.emit_spec(t, spec);
                t
            }
            FlowKind::Udp { reply } => {
                let id = r.next_u32() as u16;
                let q = if let Some(pl) = &f.opts.payload {
                    pl.clone()
                } else if f.dport == 53 {
                    dns_query(id, "example.com", if f.src.is_ipv6() { 28 } else { 1 })
                } else {
                    generic_payload(32, 1)
                };
                udp(sim, t, f.src, f.sport, f.dst, f.dport, ttl, q);
                if reply {
                    let a = if f.dport == 53 {
                        dns_response(id, "example.com", &[f.dst])
                    } else {
                        generic_payload(48, 5)
                    };
                    udp(sim, t + 25_000, f.dst, f.dport, f.src, f.sport, ttl, a);
                    t + 25_000
                } else {
                    t
                }
            }
            FlowKind::Echo { request, reply } => {
                let id = r.next_u32() as u16;
                let pl = f
                    .opts
                    .payload
                    .clone()
                    .unwrap_or_else(|| generic_payload(56, 2));
                let mut tt = t;
                if request {
                    echo(sim, tt, f.src, f.dst, false, id, 1, ttl, pl.clone());
                    tt += 25_000;
                }
                if reply {
                    // The reply goes back from the destination to the source.
                    echo(sim, tt, f.dst, f.src, true, id, 1, ttl, pl);
                }
                tt
            }
            FlowKind::Icmp { icmp_type, code } => {
                port_unreachable_like(sim, &mut r, t, f.src, f.dst, icmp_type, code);
                t
            }
        };
        t = end + 100_000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let f = parse("tcp 198.51.100.7:40000 > 203.0.113.10:22").unwrap();
        assert_eq!(f.kind, FlowKind::Tcp);
        assert_eq!((f.sport, f.dport), (40000, 22));
        let f = parse("udp 192.0.2.1:5353>203.0.113.10:53 reply").unwrap();
        assert_eq!(f.kind, FlowKind::Udp { reply: true });
        let f = parse("icmp echo 198.51.100.7 > 203.0.113.10").unwrap();
        assert_eq!(
            f.kind,
            FlowKind::Echo {
                request: true,
                reply: true
            }
        );
        let f = parse("SYN [2001:db8::1]:40000 > [2001:db8::10]:22").unwrap();
        assert_eq!(f.kind, FlowKind::Syn);
        assert!(f.src.is_ipv6());
        let f = parse("icmp 3/3 192.0.2.53 > 203.0.113.10").unwrap();
        assert_eq!(
            f.kind,
            FlowKind::Icmp {
                icmp_type: 3,
                code: 3
            }
        );
        let f = parse("icmp echo-request 2001:db8::1 > [2001:db8::2]").unwrap();
        assert!(f.dst.is_ipv6());
    }

    #[test]
    fn errors_have_columns() {
        let e = parse("tcp 198.51.100.7:4x000 > 203.0.113.10:22").unwrap_err();
        assert_eq!(e.column, 18);
        assert!(e.expected.contains("port"));
        let e = parse("tcp 198.51.100.7:40000 203.0.113.10:22").unwrap_err();
        assert_eq!(e.column, 24);
        assert_eq!(e.expected, "'>'");
        let e = parse("tcp 198.51.100.7:40000 >").unwrap_err();
        assert_eq!(e.found, "end of input");
        let e = parse("sctp 1.2.3.4:1 > 1.2.3.4:2").unwrap_err();
        assert_eq!(e.column, 1);
        let e = parse("udp 2001:db8::1:53 > 1.2.3.4:2").unwrap_err();
        assert!(e.expected.contains("brackets"));
        let e = parse("udp [2001:db8::1]:53 > 1.2.3.4:2").unwrap_err();
        assert!(e.expected.contains("IPv6"));
        let e = parse("udp [2001:db8::1:53 > [::1]:2").unwrap_err();
        assert!(e.expected.contains("']'"));
        let e = parse_many("syn 1.2.3.4:1 > 5.6.7.8:2; syn 1.2.3.4 > 5.6.7.8:2").unwrap_err();
        assert_eq!(e.column, 39); // right after "1.2.3.4", where ":PORT" belongs
        assert!(e.expected.contains("PORT"));
    }

    #[test]
    fn options_flags_size_payload() {
        let f = parse("tcp 198.51.100.7:40000 > 203.0.113.10:22 flags S").unwrap();
        assert_eq!(f.opts.flags, Some(SYN));
        let v = build(&[f], &GenOptions::default());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].tcp().unwrap().flags, SYN);
        let f = parse("tcp 198.51.100.7:40000 > 203.0.113.10:80 flags PA payload GET").unwrap();
        let v = build(&[f], &GenOptions::default());
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].tcp().unwrap().flags, PSH | ACK);
        assert_eq!(v[0].ip_len, 20 + 20 + 3);
        let f = parse("udp 192.0.2.1:5000 > 203.0.113.10:9 size 1000").unwrap();
        let v = build(&[f], &GenOptions::default());
        assert_eq!(v[0].ip_len, 20 + 8 + 1000);
        let f = parse("udp 192.0.2.1:5000 > 203.0.113.10:9 payload hex:00ff").unwrap();
        assert_eq!(f.opts.payload, Some(vec![0, 0xff]));
        let e = parse("tcp 192.0.2.1:1 > 203.0.113.10:2 flags SX").unwrap_err();
        assert_eq!(e.column, 41);
        let e = parse("udp 192.0.2.1:1 > 203.0.113.10:2 flags S").unwrap_err();
        assert_eq!(e.column, 34);
        let e = parse("udp 192.0.2.1:1 > 203.0.113.10:2 size 70000").unwrap_err();
        assert!(e.expected.contains("65000"));
        let e = parse("udp 192.0.2.1:1 > 203.0.113.10:2 payload hex:0").unwrap_err();
        assert!(e.expected.contains("hex"));
    }

    #[test]
    fn builds_full_session() {
        let f = parse("tcp 198.51.100.7:40000 > 203.0.113.10:22").unwrap();
        let v = build(&[f], &GenOptions::default());
        assert!(v.len() >= 8);
        assert_eq!(v[0].tcp().unwrap().flags, SYN);
        assert!(v.iter().all(|p| p.l4_checksum_ok == Some(true)));
    }
}
