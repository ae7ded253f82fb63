//! The private network namespace ("lab") a replay runs in, and everything set up inside it.
//!
//! Owns: locating the helper tools, writing sysctls, creating the tun device, configuring
//! addresses and routes (`ip -batch`), loading the ruleset (`iptables-restore` /
//! `ip6tables-restore`), installing the *guard* that silences the namespace's own packets,
//! and opening the raw socket that sends outbound packets.
//!
//! Everything here must run on the oracle thread after it called `unshare(CLONE_NEWNET)`:
//! namespaces are per thread, and child processes spawned from that thread (`ip`,
//! `iptables-restore`, `nft`) start in the thread's namespace. `/proc/sys/net/...` resolves to
//! the namespace of the *thread* that opens it, so sysctls are written directly.
//!
//! ## The guard
//! The stack answers replayed packets (RST for closed ports, ICMP errors, echo replies,
//! REJECT replies, IPv6 MLD/DAD chatter). Those must never reach conntrack, nor the ruleset's
//! OUTPUT chains, nor the wire. The guard is an nftables base chain
//! `inet fwcheck_oracle_guard own_output` at hook output, priority -500 — before defrag (-400),
//! raw (-300) and conntrack (-200) — which accepts packets of a socket that has a file owned by
//! the oracle's uid (only the oracle's own raw send socket: the stack's control sockets have no
//! file, and REJECT replies have no socket at all) and drops everything else. It lives in its own table,
//! so the ruleset's tables, counters and policies are untouched, and it is installed before the
//! ruleset is loaded, so that no packet of the stack's reaches the ruleset in between (with
//! forwarding on, IPv6 reports joining ff02::2 a few milliseconds after the link comes up; one
//! used to move a `statistic --mode nth` counter in `kernel_random`). Without `nft`, the
//! fallback is an `iptables`/`ip6tables` raw-table chain (`-m owner --uid-owner 0 -j RETURN`,
//! `-j DROP`) jumped to from raw OUTPUT position 1 (after defrag, still before conntrack),
//! added after the ruleset (whose restore would flush it).

use std::io::Write as _;
use std::net::IpAddr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::error::OracleError;
use super::sys::{self, Tun};
use super::{GuardKind, OracleConfig, ReplayOptions};
use crate::ext::Backend;
use crate::packet::Family;

/// Where the helper programs live.
#[derive(Debug, Clone)]
pub struct Tools {
    pub ip: PathBuf,
    pub(crate) restore4: PathBuf,
    pub(crate) restore6: PathBuf,
    /// `iptables-legacy-restore` / `ip6tables-legacy-restore`, when installed.
    pub(crate) legacy4: Option<PathBuf>,
    pub(crate) legacy6: Option<PathBuf>,
    pub nft: Option<PathBuf>,
    pub iptables: Option<PathBuf>,
    pub ip6tables: Option<PathBuf>,
}

/// Search `$PATH` and the usual sbin directories for `name`.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Tools {
    pub fn locate() -> Result<Tools, String> {
        let mut missing = Vec::new();
        let mut need = |n: &str| {
            let t = find_tool(n);
            if t.is_none() {
                missing.push(n.to_string());
            }
            t.unwrap_or_default()
        };
        let ip = need("ip");
        let restore4 = need("iptables-restore");
        let restore6 = need("ip6tables-restore");
        let nft = find_tool("nft");
        let legacy4 = find_tool("iptables-legacy-restore");
        let legacy6 = find_tool("ip6tables-legacy-restore");
        let iptables = find_tool("iptables");
        let ip6tables = find_tool("ip6tables");
        if nft.is_none() && (iptables.is_none() || ip6tables.is_none()) {
            missing.push("nft (or iptables and ip6tables for the fallback guard)".into());
        }
        if missing.is_empty() {
            Ok(Tools {
                ip,
                restore4,
                restore6,
                legacy4,
                legacy6,
                nft,
                iptables,
                ip6tables,
            })
        } else {
            Err(format!("missing programs: {}", missing.join(", ")))
        }
    }
}

/// Run `prog args…` with `stdin`, returning stdout; failures become [`OracleError::Command`].
pub fn run(prog: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, OracleError> {
    let shown = format!("{} {}", prog.display(), args.join(" "));
    let mut child = Command::new(prog)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C")
        .spawn()
        .map_err(|e| OracleError::io(format!("cannot run {shown}"), e))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A tool that exits early closes the pipe; its exit status and stderr say why.
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| OracleError::io(format!("waiting for {shown}"), e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(OracleError::Command {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `/proc/sys` path of a dotted sysctl key (dots separate, slashes stand for dots in names).
pub(crate) fn sysctl_path(key: &str) -> PathBuf {
    let p: String = key
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    PathBuf::from("/proc/sys").join(p)
}

/// Check a user-supplied sysctl: only `net.*`, no path tricks, single-line value.
pub(crate) fn validate_sysctl(key: &str, value: &str) -> Result<(), OracleError> {
    let ok_key = key.starts_with("net.")
        && !key.contains("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':'));
    if !ok_key {
        return Err(OracleError::Config(format!(
            "sysctl {key:?}: only net.* keys are allowed"
        )));
    }
    if value.contains(['\n', '\0']) {
        return Err(OracleError::Config(format!(
            "sysctl {key}: value must be a single line"
        )));
    }
    Ok(())
}

pub(crate) fn write_sysctl(key: &str, value: &str) -> std::io::Result<()> {
    std::fs::write(sysctl_path(key), value)
}

pub(crate) fn read_sysctl(key: &str) -> Option<String> {
    std::fs::read_to_string(sysctl_path(key))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Baseline sysctls written before the interface exists, for determinism (a new namespace may
/// inherit some IPv4 settings from the initial one) and quiet (no RA/DAD/redirect side effects).
fn baseline_sysctls(family: Family, router: bool) -> Vec<(String, &'static str)> {
    let fwd = if router { "1" } else { "0" };
    let mut v: Vec<(String, &'static str)> = [
        ("net.ipv4.ip_forward", fwd),
        ("net.ipv4.conf.all.send_redirects", "0"),
        ("net.ipv4.conf.default.send_redirects", "0"),
        ("net.ipv4.conf.all.rp_filter", "0"),
        ("net.ipv4.conf.default.rp_filter", "0"),
        ("net.ipv4.conf.all.accept_redirects", "0"),
        ("net.ipv4.conf.default.accept_redirects", "0"),
        ("net.ipv4.conf.all.accept_local", "0"),
        ("net.ipv4.conf.default.accept_local", "0"),
        ("net.ipv4.conf.all.log_martians", "0"),
        ("net.ipv4.conf.default.log_martians", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    match family {
        Family::V4 => {
            v.push(("net.ipv6.conf.all.disable_ipv6".into(), "1"));
            v.push(("net.ipv6.conf.default.disable_ipv6".into(), "1"));
        }
        Family::V6 => {
            for scope in ["all", "default"] {
                for (k, val) in [
                    ("disable_ipv6", "0"),
                    ("forwarding", fwd),
                    ("accept_ra", "0"),
                    ("accept_redirects", "0"),
                    ("accept_dad", "0"),
                    ("dad_transmits", "0"),
                    ("router_solicitations", "0"),
                    ("addr_gen_mode", "1"),
                ] {
                    v.push((format!("net.ipv6.conf.{scope}.{k}"), val));
                }
            }
        }
    }
    v
}

/// Wait until every IPv6 host address is usable. Even with `nodad`, an address added before the
/// link came up becomes usable (its `local` route enters the local table) only when the
/// addrconf work runs, asynchronously; a packet arriving before that is not for this host
/// (forwarding is off: `Ip6InAddrErrors`).
fn wait_for_local_routes(tools: &Tools, hosts: &[IpAddr]) -> Result<(), OracleError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = run(&tools.ip, &["-6", "route", "show", "table", "local"], None)?;
        let ready = |h: &IpAddr| {
            out.lines().any(|l| {
                let mut w = l.split_whitespace();
                w.next() == Some("local")
                    && w.next()
                        .and_then(|a| a.split('/').next())
                        .and_then(|a| a.parse::<IpAddr>().ok())
                        == Some(*h)
            })
        };
        if hosts.iter().all(ready) {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(OracleError::Unavailable(format!(
                "the IPv6 host addresses did not become usable within 5 s: {out}"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The configured namespace. Dropping it closes the tun device and the send socket.
pub struct Lab {
    pub tun: Tun,
    /// The tun devices of [`OracleConfig::extra_ifaces`]: packets routed out of them.
    pub extra: Vec<Tun>,
    pub send: OwnedFd,
    /// The send socket of the other family, with [`OracleConfig::other_ruleset`].
    pub send_other: Option<OwnedFd>,
    /// The sockets that keep [`OracleConfig::groups`] joined (held, never read).
    _groups: Vec<OwnedFd>,
    pub guard: GuardKind,
    pub tools: Tools,
    pub family: Family,
}

/// Name of the guard's nftables table and iptables chain.
pub(crate) const GUARD_TABLE: &str = "fwcheck_oracle_guard";
pub(crate) const GUARD_CHAIN: &str = "FWCHECK_ORACLE_GUARD";

fn nft_guard_script(uid: u32) -> String {
    format!(
        "table inet {GUARD_TABLE} {{\n\
         \tchain own_output {{\n\
         \t\ttype filter hook output priority -500; policy accept;\n\
         \t\tmeta skuid {uid} accept\n\
         \t\tcounter drop\n\
         \t}}\n\
         }}\n"
    )
}

fn iptables_guard_script(uid: u32) -> String {
    format!(
        "*raw\n:{GUARD_CHAIN} - [0:0]\n-I OUTPUT 1 -j {GUARD_CHAIN}\n\
         -A {GUARD_CHAIN} -m owner --uid-owner {uid} -j RETURN\n-A {GUARD_CHAIN} -j DROP\nCOMMIT\n"
    )
}

/// `iptables-restore` (or the legacy one, or the IPv6 one) with `ruleset` as input.
fn load_ruleset(tools: &Tools, cfg: &OracleConfig, ruleset: &str) -> Result<(), OracleError> {
    load_ruleset_of(tools, cfg, cfg.family, ruleset)
}

/// [`load_ruleset`] for `family` (the other family's ruleset loads with the other tool).
fn load_ruleset_of(
    tools: &Tools,
    cfg: &OracleConfig,
    family: Family,
    ruleset: &str,
) -> Result<(), OracleError> {
    let restore = match (cfg.backend, family) {
        (Backend::Nft, Family::V4) => &tools.restore4,
        (Backend::Nft, Family::V6) => &tools.restore6,
        (Backend::Legacy, Family::V4) => tools.legacy4.as_ref().ok_or_else(|| {
            OracleError::Unavailable("iptables-legacy-restore is not installed".into())
        })?,
        (Backend::Legacy, Family::V6) => tools.legacy6.as_ref().ok_or_else(|| {
            OracleError::Unavailable("ip6tables-legacy-restore is not installed".into())
        })?,
    };
    let mut text = ruleset.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    run(restore, &["-w"], Some(&text)).map_err(|e| match e {
        OracleError::Command { status, stderr, .. } => OracleError::Ruleset {
            tool: restore.display().to_string(),
            status,
            stderr,
        },
        other => other,
    })?;
    Ok(())
}

/// The `net.netfilter.*` sysctls of `cfg`. When connection tracking is not loaded at all (the
/// ruleset does not use it and nothing else loaded the module), its settings cannot matter:
/// they are skipped.
fn netfilter_sysctls(cfg: &OracleConfig) -> Result<(), OracleError> {
    let conntrack_loaded = sysctl_path("net.netfilter.nf_conntrack_max").exists();
    for (k, v) in cfg
        .sysctls
        .iter()
        .filter(|(k, _)| k.starts_with("net.netfilter."))
    {
        if !conntrack_loaded && k.starts_with("net.netfilter.nf_conntrack_") {
            continue;
        }
        write_sysctl(k, v).map_err(|e| OracleError::Sysctl {
            key: k.clone(),
            value: v.clone(),
            source: e,
        })?;
    }
    Ok(())
}

/// Set everything up. Must run on a thread that already unshared its network namespace.
pub fn setup(cfg: &OracleConfig, opts: &ReplayOptions) -> Result<Lab, OracleError> {
    let tools = Tools::locate().map_err(OracleError::Unavailable)?;
    let iface = cfg.iface.as_str();
    // With the other family's ruleset, both families are set up side by side.
    let families = cfg.families();
    let has = |f: Family| families.contains(&f);

    // 1. Sysctls that must be in place before the interface is created (IPv6 enabled when
    // either ruleset is IPv6).
    let base = if has(Family::V6) {
        Family::V6
    } else {
        Family::V4
    };
    for (k, v) in baseline_sysctls(base, cfg.router) {
        if let Err(e) = write_sysctl(&k, v) {
            // Settings of an absent subsystem (e.g. IPv6 compiled out) only matter if used.
            let needed = has(Family::V6) && k.starts_with("net.ipv6.");
            if needed || e.kind() != std::io::ErrorKind::NotFound {
                return Err(OracleError::Sysctl {
                    key: k,
                    value: v.into(),
                    source: e,
                });
            }
        }
    }
    let iface_in_key = iface.replace('.', "/");
    // Keys naming one of the lab's interfaces (rp_filter per interface) are written once they
    // exist, after the lab's own per-interface settings.
    let extra_in_key: Vec<String> = cfg
        .extra_ifaces
        .iter()
        .map(|(n, _, _)| n.replace('.', "/"))
        .collect();
    let names_iface = |k: &str| {
        k.split('.')
            .any(|part| part == iface_in_key || extra_in_key.iter().any(|e| e == part))
    };
    // net.netfilter.* keys exist only once the modules that own them are loaded — loading the
    // ruleset does that — so they are written after it.
    let netfilter = |k: &str| k.starts_with("net.netfilter.");
    for (k, v) in cfg
        .sysctls
        .iter()
        .filter(|(k, _)| !names_iface(k) && !netfilter(k))
    {
        write_sysctl(k, v).map_err(|e| OracleError::Sysctl {
            key: k.clone(),
            value: v.clone(),
            source: e,
        })?;
    }

    // 2. The interface.
    let tun = Tun::create(iface)
        .map_err(|e| OracleError::io(format!("cannot create tun device {iface}"), e))?;
    let mut batch = String::from("link set dev lo up\n");
    batch += &format!("link set dev {iface} mtu 65535\n");
    let mut hosts: Vec<IpAddr> = cfg
        .hosts
        .iter()
        .copied()
        .filter(|h| has(family_of(h)))
        .collect();
    hosts.sort();
    hosts.dedup();
    for h in &hosts {
        let len = cfg.prefix_of(*h);
        match h {
            IpAddr::V4(a) => batch += &format!("address add {a}/{len} dev {iface}\n"),
            IpAddr::V6(a) => batch += &format!("address add {a}/{len} dev {iface} nodad\n"),
        }
    }
    batch += &format!("link set dev {iface} up\n");
    for f in &families {
        match f {
            Family::V4 => batch += &format!("route add 0.0.0.0/0 dev {iface}\n"),
            Family::V6 => batch += &format!("route add ::/0 dev {iface}\n"),
        }
    }
    run(&tools.ip, &["-batch", "-"], Some(&batch))?;
    // 2b. More interfaces (a container bridge's side of the host), each a tun device.
    let mut extra = Vec::new();
    let mut batch = String::new();
    for (name, addr, len) in &cfg.extra_ifaces {
        if !has(family_of(addr)) {
            continue;
        }
        if !extra.iter().any(|(n, _): &(String, Tun)| n == name) {
            let t = Tun::create(name)
                .map_err(|e| OracleError::io(format!("cannot create tun device {name}"), e))?;
            extra.push((name.clone(), t));
            batch += &format!("link set dev {name} mtu 65535\nlink set dev {name} up\n");
        }
        match addr {
            IpAddr::V4(a) => batch += &format!("address add {a}/{len} dev {name}\n"),
            IpAddr::V6(a) => batch += &format!("address add {a}/{len} dev {name} nodad\n"),
        }
    }
    for (dest, len, dev) in &cfg.extra_routes {
        if has(family_of(dest)) && (dev == iface || extra.iter().any(|(n, _)| n == dev)) {
            batch += &format!("route replace {dest}/{len} dev {dev}\n");
        }
    }
    if !batch.is_empty() {
        run(&tools.ip, &["-batch", "-"], Some(&batch))?;
    }
    for (name, _) in &extra {
        if has(Family::V4) {
            let key = format!("net.ipv4.conf.{}.rp_filter", name.replace('.', "/"));
            write_sysctl(&key, "0").map_err(|e| OracleError::Sysctl {
                key: key.clone(),
                value: "0".into(),
                source: e,
            })?;
        }
    }
    if has(Family::V6) {
        let v6: Vec<IpAddr> = hosts.iter().copied().filter(|h| h.is_ipv6()).collect();
        wait_for_local_routes(&tools, &v6)?;
    }
    if has(Family::V4) {
        let key = format!("net.ipv4.conf.{iface_in_key}.rp_filter");
        write_sysctl(&key, "0").map_err(|e| OracleError::Sysctl {
            key: key.clone(),
            value: "0".into(),
            source: e,
        })?;
    }
    for (k, v) in cfg.sysctls.iter().filter(|(k, _)| names_iface(k)) {
        write_sysctl(k, v).map_err(|e| OracleError::Sysctl {
            key: k.clone(),
            value: v.clone(),
            source: e,
        })?;
    }

    // 2c. The multicast groups the host joined, each held by a socket.
    let mut joined = Vec::new();
    for (dev, group) in cfg.groups.iter().filter(|(_, g)| has(family_of(g))) {
        let devs: Vec<&str> = match dev {
            Some(d) => vec![d.as_str()],
            None => std::iter::once(iface)
                .chain(extra.iter().map(|(n, _)| n.as_str()))
                .collect(),
        };
        for d in devs {
            joined.push(sys::join_group(d, *group).map_err(|e| {
                OracleError::io(format!("cannot join multicast group {group} on {d}"), e)
            })?);
        }
    }

    // 3a. The nft guard comes first: the stack's own packets in the meantime (an MLD report
    // for ff02::2 once forwarding is on, sent some milliseconds after the link came up) must
    // not reach the ruleset's chains, whose counters, nth counters and state they would move.
    let guard = match opts.guard {
        GuardKind::Auto if tools.nft.is_some() => GuardKind::Nft,
        GuardKind::Auto => GuardKind::Iptables,
        other => other,
    };
    if guard == GuardKind::Nft {
        let nft = tools.nft.as_ref().ok_or_else(|| {
            OracleError::Unavailable("the nft guard was requested but nft is missing".into())
        })?;
        run(nft, &["-f", "-"], Some(&nft_guard_script(sys::geteuid())))?;
    }

    // 3. The ruleset, then the netfilter settings (loading it loads their modules).
    if let Some(sets) = &cfg.ipsets {
        let ipset = find_tool("ipset")
            .ok_or_else(|| OracleError::Unavailable("ipset is not installed".into()))?;
        run(&ipset, &["restore"], Some(sets))?;
    }
    load_ruleset(&tools, cfg, &cfg.ruleset)?;
    if let (Some(other), Some(&family)) = (&cfg.other_ruleset, families.get(1)) {
        load_ruleset_of(&tools, cfg, family, other)?;
    }
    netfilter_sysctls(cfg)?;

    // 4. The guard, when it is iptables' (a restore would flush it); nft's is in place already.
    if guard == GuardKind::Iptables {
        for f in &families {
            let restore = match f {
                Family::V4 => &tools.restore4,
                Family::V6 => &tools.restore6,
            };
            run(
                restore,
                &["-w", "--noflush"],
                Some(&iptables_guard_script(sys::geteuid())),
            )?;
        }
    }

    // 5. The socket(s) outbound packets are sent from, one per family.
    let send = send_socket(cfg.family == Family::V6)?;
    let send_other = match families.get(1) {
        Some(f) => Some(send_socket(*f == Family::V6)?),
        None => None,
    };

    Ok(Lab {
        tun,
        extra: extra.into_iter().map(|(_, t)| t).collect(),
        _groups: joined,
        send,
        send_other,
        guard,
        tools,
        family: cfg.family,
    })
}

/// A raw `IPPROTO_RAW` socket (header included) to send outbound packets of one family from.
fn send_socket(v6: bool) -> Result<OwnedFd, OracleError> {
    let send = sys::raw_socket(v6, libc::IPPROTO_RAW as u8, true)
        .map_err(|e| OracleError::io("cannot open raw send socket", e))?;
    let opt = |fd: &OwnedFd, level, name, val, what: &str| {
        sys::set_int_opt(fd, level, name, val)
            .map_err(|e| OracleError::io(format!("setsockopt {what}"), e))
    };
    if v6 {
        opt(
            &send,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            0,
            "IPV6_MULTICAST_LOOP",
        )?;
    } else {
        opt(
            &send,
            libc::SOL_SOCKET,
            libc::SO_BROADCAST,
            1,
            "SO_BROADCAST",
        )?;
        opt(
            &send,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            0,
            "IP_MULTICAST_LOOP",
        )?;
    }
    opt(
        &send,
        libc::SOL_SOCKET,
        libc::SO_SNDBUFFORCE,
        8 << 20,
        "SO_SNDBUFFORCE",
    )?;
    opt(&send, libc::SOL_SOCKET, libc::SO_RCVBUF, 4096, "SO_RCVBUF")?;
    Ok(send)
}

pub(crate) fn family_of(a: &IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

impl Lab {
    /// The socket to send an outbound packet of `family` from.
    pub(crate) fn send_socket(&self, family: Family) -> &OwnedFd {
        match &self.send_other {
            Some(s) if family != self.family => s,
            _ => &self.send,
        }
    }

    /// Packets the guard dropped so far (the namespace's own replies and chatter).
    pub(crate) fn guard_drops(&self) -> Option<u64> {
        match self.guard {
            GuardKind::Nft | GuardKind::Auto => {
                let nft = self.tools.nft.as_ref()?;
                let out = run(
                    nft,
                    &["list", "chain", "inet", GUARD_TABLE, "own_output"],
                    None,
                )
                .ok()?;
                let rest = out.split("counter packets ").nth(1)?;
                rest.split_whitespace().next()?.parse().ok()
            }
            GuardKind::Iptables => {
                let tool = match self.family {
                    Family::V4 => self.tools.iptables.as_ref()?,
                    Family::V6 => self.tools.ip6tables.as_ref()?,
                };
                let out = run(tool, &["-w", "-t", "raw", "-nvxL", GUARD_CHAIN], None).ok()?;
                out.lines().find_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() > 2 && f[2] == "DROP").then(|| f[0].parse().ok())?
                })
            }
            GuardKind::Off => None,
        }
    }

    /// Load another ruleset into the running namespace, as `iptables-restore` does on a live
    /// host: the tables it names are replaced atomically, connections already in conntrack
    /// stay. The iptables guard lives in the raw table, so it is put back when the new ruleset
    /// replaced that table.
    pub fn reload(&self, cfg: &OracleConfig, ruleset: &str) -> Result<(), OracleError> {
        load_ruleset(&self.tools, cfg, ruleset)?;
        // The new ruleset may be the first to load connection tracking.
        netfilter_sysctls(cfg)?;
        if self.guard == GuardKind::Iptables && ruleset.lines().any(|l| l.trim() == "*raw") {
            let restore = match self.family {
                Family::V4 => &self.tools.restore4,
                Family::V6 => &self.tools.restore6,
            };
            run(
                restore,
                &["-w", "--noflush"],
                Some(&iptables_guard_script(sys::geteuid())),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/100.rp_filter"),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/rp_filter")
        );
        assert!(validate_sysctl("net.netfilter.nf_conntrack_tcp_be_liberal", "1").is_ok());
        assert!(validate_sysctl("kernel.hostname", "x").is_err());
        assert!(validate_sysctl("net.ipv4..x", "1").is_err());
        assert!(validate_sysctl("net.ipv4.x", "1\n2").is_err());
    }
}
