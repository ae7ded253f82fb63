//! The FTP helper's reading of the control connection: `net/netfilter/nf_conntrack_ftp.c`
//! (`help`, `find_pattern`, `try_rfc959`, `try_rfc1123`, `try_eprt`, `try_epsv_response`,
//! `get_port`, `find_nl_seq`, `update_nl_seq`), byte for byte.
//!
//! * Only packets of an ESTABLISHED connection with payload are read, and only a segment that
//!   starts right after a newline the helper saw in that direction (it remembers the sequence
//!   number after the last two lines ending in `\n`): the first line of each direction is
//!   never read, and a command in the middle of a segment is not seen.
//! * The segment must *start* with the command, case-insensitively: `PORT`/`EPRT` from the
//!   client (original direction), `227 `/`229 ` from the server (reply direction).
//! * A segment that could be the beginning of one (`P`, `22`, `PORT` alone, `PORT 1,2,3`
//!   without `\r`) is **dropped** (`NF_DROP`, "partial matching"), as is a malformed number
//!   list after the command.
//! * The address in `PORT`, `EPRT` or `227` must be the sender's own (`loose=0`), else nothing
//!   is expected (the packet passes). `229` names no address: the sender's is used.
//! * The expectation: from the receiver (any port) to the sender's address and the named port
//!   (see [`super::helper`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::Family;

/// `NUM_SEQ_TO_REMEMBER`.
const NUM_SEQ: usize = 2;

/// `struct nf_ct_ftp_master`: per direction, the sequence numbers just after a newline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FtpMaster {
    seq_aft_nl: [[u32; NUM_SEQ]; 2],
    seq_aft_nl_num: [u8; 2],
}

impl FtpMaster {
    fn find_nl_seq(&self, seq: u32, dir: usize) -> bool {
        self.seq_aft_nl[dir][..self.seq_aft_nl_num[dir] as usize].contains(&seq)
    }

    /// "We don't update if it's older than what we have."
    fn update_nl_seq(&mut self, nl_seq: u32, dir: usize) {
        let n = self.seq_aft_nl_num[dir] as usize;
        if self.seq_aft_nl[dir][..n].contains(&nl_seq) {
            return;
        }
        if n < NUM_SEQ {
            self.seq_aft_nl[dir][n] = nl_seq;
            self.seq_aft_nl_num[dir] += 1;
        } else {
            let s = &mut self.seq_aft_nl[dir];
            let oldest = if before(s[0], s[1]) { 0 } else { 1 };
            if after(nl_seq, s[oldest]) {
                s[oldest] = nl_seq;
            }
        }
    }
}

/// `before(a, b)` on TCP sequence numbers.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// `enum nf_ct_ftp_type`, as the helper's log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpCmd {
    Port,
    Eprt,
    Pasv,
    Epsv,
}

impl std::fmt::Display for FtpCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FtpCmd::Port => "PORT command",
            FtpCmd::Eprt => "EPRT command",
            FtpCmd::Pasv => "227 reply (PASV)",
            FtpCmd::Epsv => "229 reply (EPSV)",
        })
    }
}

/// What `help()` decided for one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpResult {
    Accept,
    /// `NF_DROP` (partial or malformed command).
    Drop(&'static str),
    /// The command names an address other than the sender's: nothing expected.
    NotRecorded {
        cmd: FtpCmd,
        addr: IpAddr,
    },
    /// Expect a connection to the sender's address and `port`; `at` is where the number
    /// list lies in the payload (`matchoff`, `matchlen`: what `nf_nat_ftp` rewrites).
    Expect {
        cmd: FtpCmd,
        port: u16,
        at: (usize, usize),
    },
}

/// `getnum`: parses the numbers after the command into the address/port; returns the length
/// read (0 = malformed), and moves the offset of the numbers on where it skips (`try_rfc1123`).
type GetNum = fn(&[u8], &mut Cmd, u8, &mut usize) -> usize;

struct Search {
    pattern: &'static [u8],
    skip: u8,
    term: u8,
    cmd: FtpCmd,
    getnum: GetNum,
    partial: &'static str,
}

/// `search[IP_CT_DIR_MAX][2]`.
static SEARCH: [[Search; 2]; 2] = [
    [
        Search {
            pattern: b"PORT",
            skip: b' ',
            term: b'\r',
            cmd: FtpCmd::Port,
            getnum: try_rfc959,
            partial: "partial matching of `PORT'",
        },
        Search {
            pattern: b"EPRT",
            skip: b' ',
            term: b'\r',
            cmd: FtpCmd::Eprt,
            getnum: try_eprt,
            partial: "partial matching of `EPRT'",
        },
    ],
    [
        Search {
            pattern: b"227 ",
            skip: 0,
            term: 0,
            cmd: FtpCmd::Pasv,
            getnum: try_rfc1123,
            partial: "partial matching of `227 '",
        },
        Search {
            pattern: b"229 ",
            skip: b'(',
            term: b')',
            cmd: FtpCmd::Epsv,
            getnum: try_epsv_response,
            partial: "partial matching of `229 '",
        },
    ],
];

/// `struct nf_conntrack_man` as the parser fills it.
struct Cmd {
    family: Family,
    addr: IpAddr,
    port: u16,
}

/// `help()` for a segment with payload `data` and sequence number `seq`, sent in direction
/// `dir` (0 original, 1 reply) by `sender` (`ct->tuplehash[dir].tuple.src.u3`).
pub fn help(
    m: &mut FtpMaster,
    dir: usize,
    seq: u32,
    data: &[u8],
    sender: IpAddr,
    family: Family,
) -> FtpResult {
    let Some(&last) = data.last() else {
        return FtpResult::Accept;
    };
    let ends_in_nl = last == b'\n';
    let next = seq.wrapping_add(data.len() as u32);
    let result = if !m.find_nl_seq(seq, dir) {
        FtpResult::Accept
    } else {
        let mut cmd = Cmd {
            family,
            addr: sender,
            port: 0,
        };
        let mut found = 0;
        let mut at = (0, 0);
        let mut which = &SEARCH[dir][0];
        for s in &SEARCH[dir] {
            which = s;
            found = find_pattern(data, s, &mut cmd, &mut at);
            if found != 0 {
                break;
            }
        }
        match found {
            // goto out: no newline bookkeeping.
            -1 => return FtpResult::Drop(which.partial),
            0 => FtpResult::Accept,
            _ if cmd.addr != sender => FtpResult::NotRecorded {
                cmd: which.cmd,
                addr: cmd.addr,
            },
            _ => FtpResult::Expect {
                cmd: which.cmd,
                port: cmd.port,
                at,
            },
        }
    };
    if ends_in_nl {
        m.update_nl_seq(next, dir);
    }
    result
}

/// The kernel's `strncasecmp(data, pattern, n) == 0` (a NUL in `data` never matches).
fn prefix_eq(data: &[u8], pattern: &[u8], n: usize) -> bool {
    data[..n]
        .iter()
        .zip(&pattern[..n])
        .all(|(&a, &b)| a != 0 && a.eq_ignore_ascii_case(&b))
}

/// 1 match, 0 no match, -1 partial (the packet is dropped); on a match `at` is the number
/// list's offset and length (`numoff`, `numlen`).
fn find_pattern(data: &[u8], s: &Search, cmd: &mut Cmd, at: &mut (usize, usize)) -> i32 {
    let (dlen, plen) = (data.len(), s.pattern.len());
    if dlen <= plen {
        // Short packet: try for partial?
        return if prefix_eq(data, s.pattern, dlen) {
            -1
        } else {
            0
        };
    }
    if !prefix_eq(data, s.pattern, plen) {
        return 0;
    }
    let mut i = plen;
    if s.skip != 0 {
        while data[i] != s.skip {
            if i == dlen - 1 {
                return -1;
            }
            i += 1;
        }
        i += 1;
    }
    let mut off = i;
    let len = (s.getnum)(&data[i..], cmd, s.term, &mut off);
    if len == 0 {
        return -1;
    }
    *at = (off, len);
    1
}

/// `try_number`: `n` decimal numbers separated by `sep`, ended by `term` (0: any character);
/// returns the length up to the terminator, 0 when malformed or when the data ends first.
fn try_number(data: &[u8], array: &mut [u32], sep: u8, term: u8) -> usize {
    array.iter_mut().for_each(|a| *a = 0);
    let n = array.len();
    let mut i = 0;
    let mut len = 0;
    while len < data.len() && i < n {
        let c = data[len];
        if c.is_ascii_digit() {
            array[i] = array[i].wrapping_mul(10).wrapping_add((c - b'0') as u32);
        } else if c == sep {
            i += 1;
        } else {
            return if (c == term || term == 0) && i == n - 1 {
                len
            } else {
                0
            };
        }
        len += 1;
    }
    0
}

/// `htonl((a0 << 24) | (a1 << 16) | (a2 << 8) | a3)` with the kernel's 32-bit wrap.
fn quad(a: &[u32]) -> u32 {
    (a[0] << 24) | (a[1].wrapping_shl(16)) | (a[2].wrapping_shl(8)) | a[3]
}

/// The address a PORT/227 number list sets: `cmd->u3.ip`, the first four bytes of the
/// address union (on an IPv6 connection the other twelve stay the sender's).
fn set_ip(cmd: &mut Cmd, ip: u32) {
    cmd.addr = match cmd.addr {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(ip)),
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o[..4].copy_from_slice(&ip.to_be_bytes());
            IpAddr::V6(Ipv6Addr::from(o))
        }
    };
}

/// `192,168,1,1,5,6`.
fn try_rfc959(data: &[u8], cmd: &mut Cmd, term: u8, _off: &mut usize) -> usize {
    let mut a = [0u32; 6];
    let len = try_number(data, &mut a, b',', term);
    if len == 0 {
        return 0;
    }
    set_ip(cmd, quad(&a));
    cmd.port = ((a[4] << 8) | a[5]) as u16;
    len
}

/// RFC 1123: the 227 reply is scanned for the first digit.
fn try_rfc1123(data: &[u8], cmd: &mut Cmd, _term: u8, off: &mut usize) -> usize {
    match data.iter().position(u8::is_ascii_digit) {
        None => 0,
        Some(i) => {
            *off += i;
            try_rfc959(&data[i..], cmd, 0, off)
        }
    }
}

/// `get_port`: a port number up to `delim` from `start`; the index after it, 0 when bad
/// (or 0).
fn get_port(data: &[u8], start: usize, delim: u8, port: &mut u16) -> usize {
    let mut tmp: u16 = 0;
    for (i, &c) in data.iter().enumerate().skip(start) {
        if c == delim {
            if tmp == 0 {
                break;
            }
            *port = tmp;
            return i + 1;
        } else if c.is_ascii_digit() {
            tmp = tmp.wrapping_mul(10).wrapping_add((c - b'0') as u16);
        } else {
            break;
        }
    }
    0
}

/// The delimiter of EPRT/EPSV: printable, not a digit (`char` is signed: bytes ≥ 128 fail
/// `delim < 33`).
fn bad_delim(d: u8) -> bool {
    d.is_ascii_digit() || !(33..=126).contains(&d)
}

/// `|1|132.235.1.2|6275|` or `|2|3ffe::1|6275|`.
fn try_eprt(data: &[u8], cmd: &mut Cmd, _term: u8, _off: &mut usize) -> usize {
    if data.len() <= 3 {
        return 0;
    }
    let delim = data[0];
    if bad_delim(delim) || data[2] != delim {
        return 0;
    }
    if (cmd.family == Family::V4 && data[1] != b'1')
        || (cmd.family == Family::V6 && data[1] != b'2')
    {
        return 0;
    }
    let length = if data[1] == b'1' {
        let mut a = [0u32; 4];
        let l = try_number(&data[3..], &mut a, b'.', delim);
        if l != 0 {
            set_ip(cmd, quad(&a));
        }
        l
    } else {
        match ipv6_until(&data[3..], delim) {
            Some((a, l)) => {
                cmd.addr = IpAddr::V6(a);
                l
            }
            None => 0,
        }
    };
    if length == 0 {
        return 0;
    }
    get_port(data, 3 + length + 1, delim, &mut cmd.port)
}

/// `get_ipv6_addr` (`in6_pton` up to `delim`): the address and the offset of the delimiter.
fn ipv6_until(data: &[u8], delim: u8) -> Option<(Ipv6Addr, usize)> {
    let end = data.iter().position(|&c| c == delim)?;
    let text = std::str::from_utf8(&data[..end]).ok()?;
    text.parse::<Ipv6Addr>().ok().map(|a| (a, end))
}

/// `|||6446|`.
fn try_epsv_response(data: &[u8], cmd: &mut Cmd, _term: u8, _off: &mut usize) -> usize {
    if data.len() <= 3 {
        return 0;
    }
    let delim = data[0];
    if bad_delim(delim) || data[1] != delim || data[2] != delim {
        return 0;
    }
    get_port(data, 3, delim, &mut cmd.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

    /// A master that has seen one line in each direction ending before `seq`.
    fn primed(seq: [u32; 2]) -> FtpMaster {
        let mut m = FtpMaster::default();
        m.update_nl_seq(seq[0], 0);
        m.update_nl_seq(seq[1], 1);
        m
    }

    #[test]
    fn the_first_line_of_a_direction_is_never_read() {
        let mut m = FtpMaster::default();
        let r = help(
            &mut m,
            1,
            100,
            b"227 (192,0,2,10,195,80)\r\n",
            SERVER,
            Family::V4,
        );
        assert_eq!(r, FtpResult::Accept);
        // ...but it primes the next one.
        let r = help(
            &mut m,
            1,
            125,
            b"227 (192,0,2,10,195,80)\r\n",
            SERVER,
            Family::V4,
        );
        assert_eq!(
            r,
            FtpResult::Expect {
                cmd: FtpCmd::Pasv,
                port: 50000,
                at: (5, 17),
            }
        );
    }

    #[test]
    fn commands_and_replies() {
        let cases: &[(usize, &[u8], IpAddr, FtpResult)] = &[
            (
                0,
                b"PORT 198,51,100,7,200,10\r\n",
                CLIENT,
                FtpResult::Expect {
                    cmd: FtpCmd::Port,
                    port: 51210,
                    at: (5, 19),
                },
            ),
            (
                0,
                b"port 198,51,100,7,200,10\r\n",
                CLIENT,
                FtpResult::Expect {
                    cmd: FtpCmd::Port,
                    port: 51210,
                    at: (5, 19),
                },
            ),
            (
                0,
                b"EPRT |1|198.51.100.7|6275|\r\n",
                CLIENT,
                FtpResult::Expect {
                    cmd: FtpCmd::Eprt,
                    port: 6275,
                    at: (5, 21),
                },
            ),
            (
                1,
                b"227 Entering Passive Mode (192,0,2,10,195,80).\r\n",
                SERVER,
                FtpResult::Expect {
                    cmd: FtpCmd::Pasv,
                    port: 50000,
                    at: (27, 17),
                },
            ),
            (
                1,
                b"229 Entering Extended Passive Mode (|||6446|)\r\n",
                SERVER,
                FtpResult::Expect {
                    cmd: FtpCmd::Epsv,
                    port: 6446,
                    at: (36, 8),
                },
            ),
            // Another address: not recorded.
            (
                0,
                b"PORT 203,0,113,9,200,10\r\n",
                CLIENT,
                FtpResult::NotRecorded {
                    cmd: FtpCmd::Port,
                    addr: "203.0.113.9".parse().unwrap(),
                },
            ),
            // Partial: the start of a pattern, or no terminator.
            (
                0,
                b"P",
                CLIENT,
                FtpResult::Drop("partial matching of `PORT'"),
            ),
            (
                0,
                b"EP",
                CLIENT,
                FtpResult::Drop("partial matching of `EPRT'"),
            ),
            (
                1,
                b"22",
                SERVER,
                FtpResult::Drop("partial matching of `227 '"),
            ),
            (
                1,
                b"229",
                SERVER,
                FtpResult::Drop("partial matching of `229 '"),
            ),
            (
                0,
                b"PORT 198,51,100,7,200,10",
                CLIENT,
                FtpResult::Drop("partial matching of `PORT'"),
            ),
            (
                0,
                b"PORTX",
                CLIENT,
                FtpResult::Drop("partial matching of `PORT'"),
            ),
            // EPRT of the other family is malformed here.
            (
                0,
                b"EPRT |2|2001:db8::7|6275|\r\n",
                CLIENT,
                FtpResult::Drop("partial matching of `EPRT'"),
            ),
            // Not a command the helper reads.
            (0, b"PASV\r\n", CLIENT, FtpResult::Accept),
            (1, b"230 ok\r\n", SERVER, FtpResult::Accept),
            (0, b"Q", CLIENT, FtpResult::Accept),
        ];
        for (dir, data, sender, want) in cases {
            let mut m = primed([1000, 2000]);
            let seq = if *dir == 0 { 1000 } else { 2000 };
            let got = help(&mut m, *dir, seq, data, *sender, Family::V4);
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn only_segments_right_after_a_newline_are_read() {
        let mut m = primed([1000, 2000]);
        // Mid-line: not read, and this one does not end a line.
        let r = help(
            &mut m,
            0,
            1005,
            b"PORT 198,51,100,7,1,2\r\n",
            CLIENT,
            Family::V4,
        );
        assert_eq!(r, FtpResult::Accept);
        // It ended in \n, so the next segment (at 1005 + 23) is read.
        let r = help(
            &mut m,
            0,
            1028,
            b"PORT 198,51,100,7,1,2\r\n",
            CLIENT,
            Family::V4,
        );
        assert_eq!(
            r,
            FtpResult::Expect {
                cmd: FtpCmd::Port,
                port: 258,
                at: (5, 16),
            }
        );
    }

    #[test]
    fn ipv6_eprt_and_port() {
        let client6: IpAddr = "2001:db8:c::7".parse().unwrap();
        let mut m = primed([1000, 2000]);
        let r = help(
            &mut m,
            0,
            1000,
            b"EPRT |2|2001:db8:c::7|6275|\r\n",
            client6,
            Family::V6,
        );
        assert_eq!(
            r,
            FtpResult::Expect {
                cmd: FtpCmd::Eprt,
                port: 6275,
                at: (5, 22),
            }
        );
        // PORT on IPv6 overwrites the first four bytes only: never the sender here.
        let mut m = primed([1000, 2000]);
        let r = help(
            &mut m,
            0,
            1000,
            b"PORT 1,2,3,4,5,6\r\n",
            client6,
            Family::V6,
        );
        assert!(matches!(r, FtpResult::NotRecorded { .. }), "{r:?}");
    }

    #[test]
    fn newline_memory_keeps_the_two_newest() {
        let mut m = FtpMaster::default();
        m.update_nl_seq(10, 0);
        m.update_nl_seq(20, 0);
        m.update_nl_seq(30, 0);
        assert!(!m.find_nl_seq(10, 0));
        assert!(m.find_nl_seq(20, 0) && m.find_nl_seq(30, 0));
        // Older than both: ignored.
        m.update_nl_seq(5, 0);
        assert!(!m.find_nl_seq(5, 0));
    }
}
