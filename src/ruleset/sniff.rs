//! What a rules file is before it is parsed: a capture or other binary data handed over by
//! mistake, and which address family its content speaks (IPv4 `iptables` or IPv6
//! `ip6tables`), so the family comes from the rules themselves rather than from the last
//! character of a file name.

use std::net::IpAddr;

use super::model::Family;

/// What the first bytes of a file say it is, when it cannot be a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotText {
    /// A pcap or pcapng capture (by its magic number).
    Capture(&'static str),
    /// Other binary data: a NUL byte or invalid UTF-8 at this byte offset.
    Binary(usize),
}

/// `Some` when `bytes` cannot be a ruleset: a capture file, or binary data.
pub(crate) fn not_text(bytes: &[u8]) -> Option<NotText> {
    match bytes.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4]) => {
            return Some(NotText::Capture("pcap"))
        }
        Some([0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d]) => {
            return Some(NotText::Capture("pcap (nanosecond)"))
        }
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => return Some(NotText::Capture("pcapng")),
        _ => {}
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if let Some(i) = head.iter().position(|&b| b == 0) {
        return Some(NotText::Binary(i));
    }
    match std::str::from_utf8(head) {
        Ok(_) => None,
        // A multi-byte character cut by the 64 KiB window is not binary.
        Err(e) if e.error_len().is_none() => None,
        Err(e) => Some(NotText::Binary(e.valid_up_to())),
    }
}

/// The first sign of one family in a text: 1-based line and the words that show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sign {
    pub line: usize,
    pub text: String,
    /// Legal in the other family's rules too (`-p icmp` in ip6tables, `-p icmpv6` in
    /// iptables): enough to guess a family, never to contradict `-4`/`-6` or the file's name.
    pub weak: bool,
}

/// Which families the content of a rules file speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FamilyEvidence {
    pub v4: Option<Sign>,
    pub v6: Option<Sign>,
}

impl FamilyEvidence {
    /// The family the content shows, when it shows exactly one.
    pub fn family(&self) -> Option<Family> {
        match (&self.v4, &self.v6) {
            (Some(_), None) => Some(Family::V4),
            (None, Some(_)) => Some(Family::V6),
            _ => None,
        }
    }

    pub(crate) fn sign(&self, f: Family) -> Option<&Sign> {
        match f {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }
}

/// Options whose value is an address (list, range, `/len`, `:port`).
const ADDRESS_OPTIONS: &[&str] = &[
    "-s",
    "-d",
    "--source",
    "--destination",
    "--src",
    "--dst",
    "--to-destination",
    "--to-source",
    "--to",
    "--src-range",
    "--dst-range",
];

fn address_family(value: &str) -> Option<Family> {
    let v = value.trim_start_matches('!');
    let first = v.split([',', '-']).next()?;
    let first = first.split('/').next()?;
    if let Some(rest) = first.strip_prefix('[') {
        // `[2001:db8::1]:80` (DNAT/SNAT targets).
        let inner = rest.split(']').next()?;
        return inner.parse::<IpAddr>().ok().map(|_| Family::V6);
    }
    match first.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => Some(Family::V4),
        Ok(IpAddr::V6(_)) => Some(Family::V6),
        // `192.0.2.1:80`
        Err(_) => first
            .rsplit_once(':')
            .and_then(|(a, _)| a.parse::<std::net::Ipv4Addr>().ok())
            .map(|_| Family::V4),
    }
}

/// Scans `text` for words only one family's rules contain: addresses of `-s`/`-d` and NAT
/// targets, `-p icmp` / `-p icmpv6`, `--icmp-type` / `--icmpv6-type`, `-m icmp6`, and the
/// command names `iptables` / `ip6tables` of a script. Linear in the text.
pub fn family_evidence(text: &str) -> FamilyEvidence {
    let mut ev = FamilyEvidence::default();
    let strong = |s: &Option<Sign>| s.as_ref().is_some_and(|s| !s.weak);
    for (i, line) in text.lines().enumerate() {
        if strong(&ev.v4) && strong(&ev.v6) {
            break;
        }
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace().peekable();
        let mut first = true;
        while let Some(w) = words.next() {
            let cmd = first
                .then(|| w.rsplit('/').next().unwrap_or(w))
                .and_then(|c| c.strip_suffix("-restore").or(Some(c)));
            first = false;
            let found = match (w, cmd) {
                (_, Some("iptables" | "iptables-legacy" | "iptables-nft")) => {
                    Some((Family::V4, w.to_string(), false))
                }
                (_, Some("ip6tables" | "ip6tables-legacy" | "ip6tables-nft")) => {
                    Some((Family::V6, w.to_string(), false))
                }
                ("--icmp-type", _) => Some((Family::V4, w.to_string(), false)),
                ("--icmpv6-type", _) => Some((Family::V6, w.to_string(), false)),
                // Either protocol is legal in either family (ip6tables -p icmp loads).
                ("-p" | "--protocol", _) => match words.peek().copied() {
                    Some("icmp" | "1") => Some((Family::V4, format!("{w} icmp"), true)),
                    Some("icmpv6" | "ipv6-icmp" | "icmp6" | "58") => {
                        Some((Family::V6, format!("{w} {}", words.peek().unwrap()), true))
                    }
                    _ => None,
                },
                ("-m" | "--match", _) => match words.peek().copied() {
                    Some("icmp6") => Some((Family::V6, "-m icmp6".to_string(), false)),
                    _ => None,
                },
                (o, _) if ADDRESS_OPTIONS.contains(&o) => words
                    .peek()
                    .and_then(|v| address_family(v).map(|f| (f, format!("{o} {v}"), false))),
                _ => None,
            };
            if let Some((f, text, weak)) = found {
                let slot = match f {
                    Family::V4 => &mut ev.v4,
                    Family::V6 => &mut ev.v6,
                };
                // A strong sign replaces a weak one.
                if slot.as_ref().is_none_or(|s| s.weak && !weak) {
                    *slot = Some(Sign {
                        line: i + 1,
                        text,
                        weak,
                    });
                }
            }
        }
    }
    ev
}

/// What a file's name says about its family, when it says something: `rules.v6`, `*.v6`,
/// `ip6tables*` (`/etc/sysconfig/ip6tables`), `*.ipv6` → IPv6; `rules.v4`, `*.v4`,
/// `iptables*`, `*.ipv4` → IPv4. A name ending in `6` for another reason (a date, `...2016`)
/// says nothing.
pub(crate) fn family_from_name(path: &std::path::Path) -> Option<Family> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("v6" | "ipv6") => return Some(Family::V6),
        Some("v4" | "ipv4") => return Some(Family::V4),
        _ => {}
    }
    if name.starts_with("ip6tables") {
        Some(Family::V6)
    } else if name.starts_with("iptables") {
        Some(Family::V4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn captures_and_binary_are_recognised() {
        assert_eq!(
            not_text(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]),
            Some(NotText::Capture("pcap"))
        );
        assert_eq!(
            not_text(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]),
            Some(NotText::Capture("pcapng"))
        );
        assert_eq!(not_text(b"*filter\n\0"), Some(NotText::Binary(8)));
        assert_eq!(not_text(b"*filter\n\xff\xfe"), Some(NotText::Binary(8)));
        assert_eq!(not_text("# régles\n*filter\n".as_bytes()), None);
        assert_eq!(not_text(b""), None);
    }

    #[test]
    fn family_comes_from_the_content() {
        let v4 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 192.0.2.0/24 -j ACCEPT\nCOMMIT\n";
        let e = family_evidence(v4);
        assert_eq!(e.family(), Some(Family::V4));
        assert_eq!(e.v4.unwrap().line, 3);
        let v6 = "*filter\n-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -d 2001:db8::/32 -j DROP\n";
        assert_eq!(family_evidence(v6).family(), Some(Family::V6));
        let script = "IPT=/sbin/ip6tables\n/sbin/ip6tables -P INPUT DROP\n";
        assert_eq!(family_evidence(script).family(), Some(Family::V6));
        let nat = "-A PREROUTING -p tcp -j DNAT --to-destination [2001:db8::2]:80\n";
        assert_eq!(family_evidence(nat).family(), Some(Family::V6));
        let nat4 = "-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.2:80\n";
        assert_eq!(family_evidence(nat4).family(), Some(Family::V4));
        let neutral =
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        assert_eq!(family_evidence(neutral), FamilyEvidence::default());
        let mixed = "-A INPUT -s 192.0.2.1 -j ACCEPT\n-A INPUT -s 2001:db8::1 -j ACCEPT\n";
        assert_eq!(family_evidence(mixed).family(), None);
        assert_eq!(family_evidence("# -s 2001:db8::1\n").family(), None);
    }

    #[test]
    fn names_speak_only_when_they_mean_it() {
        assert_eq!(
            family_from_name(Path::new("/etc/iptables/rules.v6")),
            Some(Family::V6)
        );
        assert_eq!(
            family_from_name(Path::new("/etc/sysconfig/ip6tables")),
            Some(Family::V6)
        );
        assert_eq!(
            family_from_name(Path::new("/etc/sysconfig/iptables")),
            Some(Family::V4)
        );
        assert_eq!(family_from_name(Path::new("backup.30.01.2016")), None);
        assert_eq!(family_from_name(Path::new("rules.v4")), Some(Family::V4));
        assert_eq!(family_from_name(Path::new("fw.rules")), None);
    }
}
