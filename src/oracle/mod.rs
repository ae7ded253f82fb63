//! The kernel oracle: replay IP packets through a real Linux netfilter ruleset and record the
//! kernel's verdict for every packet, so fwcheck's own engine can be checked frame by frame.
//!
//! # How a replay works
//! 1. A dedicated thread calls `unshare(CLONE_NEWNET)` and so gets a private, empty network
//!    namespace that dies with the thread (nothing to clean up, no global names: parallel
//!    replays cannot collide). See the `lab` module for the setup: sysctls, a tun device named
//!    `OracleConfig::iface` holding every host address, default route through it, the ruleset
//!    loaded with `iptables-restore`/`ip6tables-restore`, and the *guard* that drops every
//!    packet the namespace's own stack emits (RSTs, ICMP errors, echo replies, REJECT replies)
//!    before defrag/raw/conntrack see it, so only replayed packets shape conntrack state.
//! 2. Frames are streamed to that thread. For each frame (the `run` module):
//!    * **direction**: destination ∈ hosts → inbound; else source ∈ hosts → outbound; else
//!      forwarded with `OracleConfig::router`; else skip. Loopback addresses, non-IP frames, the other address family (unless
//!      `OracleConfig::other_ruleset` loads a ruleset for it), frames too short to
//!      classify → skip with a note.
//!    * **inbound**: the packet is written to the tun device. A tun write runs the whole receive
//!      path synchronously before `write()` returns (`tun_get_user` → `tun_rx_batched` →
//!      `netif_receive_skb` under `local_bh_disable`, no NAPI, no RPS): PREROUTING, routing,
//!      INPUT, and local delivery. Local delivery hands a copy to every raw socket bound to the
//!      packet's protocol (`raw_local_deliver`, after *all* LOCAL_IN hooks including conntrack
//!      confirm). So right after `write()` returns, one `poll(…, 0)` over the oracle's raw
//!      sockets tells exactly whether this packet was delivered: ACCEPT if a copy of it (same
//!      protocol and IP id; NAT-changed addresses/ports are reported in the note) is queued,
//!      DROP otherwise. No settle time, no races. Late arrivals are still checked for before
//!      every injection and at the end, and would be reported (`late_deliveries`).
//!    * **outbound**: the packet is sent from a raw `IPPROTO_RAW` socket (header included).
//!      `sendto` runs OUTPUT and POSTROUTING synchronously and returns `EPERM` when a hook
//!      drops the packet (`NF_DROP_GETERR`). When `sendto` succeeds, the oracle reads the packet
//!      back from the tun device, so ACCEPT means "it left the interface", proven. `sendto`
//!      success alone proves nothing: `NFQUEUE` without a listener frees the packet and still
//!      reports success (found by test); such packets are DROP with a note after waiting
//!      `ReplayOptions::outbound_grace` for them. A packet nat OUTPUT redirects to a local
//!      address is ACCEPT with a note (it passed OUTPUT, POSTROUTING and INPUT via `lo`).
//!    * **forwarded** (router): written to the tun device like an inbound packet; with
//!      forwarding on, the default route sends it back out of the same device, synchronously
//!      within the write (PREROUTING, routing, FORWARD, POSTROUTING, the tun's transmit): ACCEPT
//!      if it is read back from the tun at once, or delivered locally (a DNAT to a host
//!      address, the limited broadcast); DROP otherwise, with the IP counters naming stack
//!      drops (TTL expired: `InHdrErrors`). An inbound packet that leaves again (a reply
//!      un-NATed to an inside address) is ACCEPT on a router.
//!    * Packets the IP layer discards before netfilter (bad IPv4 header checksum or lengths,
//!      martian sources) are DROP; the note says why, from a userspace check of the header
//!      confirmed by the namespace's IP counters. Packets discarded *after* INPUT (IPv6
//!      extension headers rejected by their handlers, ICMP messages too short for the ICMP
//!      layer) passed every netfilter table: ACCEPT, with a note. Raw ICMP sockets never see
//!      ICMP messages under 8 bytes (ICMPv6: 4), so their delivery is read from the counters.
//! 3. Times: every frame gets `sent_at_ns`, monotonic nanoseconds since the first injection;
//!    with `Pacing::Realtime` injections follow the capture's gaps. `ReplayReport::clock`
//!    maps those times to the kernel's jiffies, the unit of every netfilter timer.
//!
//! # Known limits
//! * Outbound packets come from a raw socket of uid 0: `-m owner`, `-m socket`, `-m cgroup`
//!   see that socket, not the original application. Its IPv4 header checksum, total length
//!   and a zero IP id are always rewritten by the kernel (`raw_send_hdrinc`).
//! * REJECT replies and other packets of the namespace's own stack are dropped by the guard
//!   before any table: they do not traverse the ruleset's OUTPUT/POSTROUTING chains (no
//!   counter, `limit` or `recent` side effects there): by design only replayed packets shape
//!   the kernel's state. (`GuardKind::Off` exists for experiments that need the opposite.)
//! * The namespace starts from fixed sysctls, not the host's: forwarding off, `rp_filter` 0,
//!   no ICMP redirects, `accept_local` 0; for V4 IPv6 is disabled; for V6 no RA, DAD,
//!   router solicitations or link-local address. `OracleConfig::sysctls` override them.
//! * A protocol no raw socket can be opened for (IPv4 protocol 0) is judged from the IP
//!   counters (`InDelivers`/`InUnknownProtos`) instead; the note says so.
//! * Packets too big for the tun MTU (65535) cannot be sent; route-dependent behaviour (PMTU,
//!   `TCPMSS --clamp-mss-to-pmtu`) reflects the tun device, not the captured host's NIC.
//! * Fragments: a fragment the kernel queues for reassembly is not delivered on its own; it is
//!   reported DROP with the note "fragment held for reassembly"; the fragment that completes
//!   the datagram gets the datagram's verdict.
//! * ICMPv6 with a bad checksum never reaches raw ICMPv6 sockets; its delivery is detected
//!   from the namespace's `Icmp6InMsgs` counter instead.
//! * The kernel runs in real time: `-m time` sees the machine's wall clock (not the capture's),
//!   `-m statistic --mode random` is random, and with `Pacing::AsFastAsPossible` conntrack
//!   timeouts and rate limits see the compressed replay time. Use `Pacing::Realtime` and
//!   `FrameDetail::jiffies` to reason about time-dependent rules.
//! * IPv6 raw sockets return the packet without its IPv6 header: NAT changes of IPv6
//!   addresses are not reported in notes (port changes are).
//! * Needs root, `/dev/net/tun`, `ip`, `iptables-restore`, `ip6tables-restore`, and `nft` (or
//!   `iptables`/`ip6tables` for the fallback guard). Jiffies information needs a readable
//!   `/proc/timer_list`.

mod clock;
mod counters;
mod error;
mod inspect;
mod lab;
mod run;
mod sys;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

pub use clock::JiffiesMap;
pub use error::OracleError;

use crate::packet::{Family, Timestamp};

/// How fast frames are injected.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Pacing {
    /// Back to back (the usual per-packet cost is a few microseconds).
    AsFastAsPossible,
    /// Follow the capture's inter-packet gaps divided by `speed` (1.0 = real time, 2.0 = twice
    /// as fast). Anchored at the first injected frame.
    Realtime { speed: f64 },
}

/// What to replay and how to set up the kernel.
#[derive(Debug, Clone)]
pub struct OracleConfig {
    /// `iptables-save` / `iptables-restore` text.
    pub ruleset: String,
    /// V4 → `iptables-restore`, V6 → `ip6tables-restore`.
    pub family: Family,
    /// The addresses of the host whose ruleset this is (all assigned to [`Self::iface`]).
    pub hosts: Vec<IpAddr>,
    /// Interface name inside the namespace (rules' `-i`/`-o` see it). Default `eth0`.
    pub iface: String,
    pub pacing: Pacing,
    /// Which iptables loads the ruleset: `iptables-restore` (nf_tables, default) or
    /// `iptables-legacy-restore` (x_tables). They install some matches as different kernel code
    /// (`-m limit` is nftables' `limit` under nf_tables, `xt_limit` under legacy).
    pub backend: crate::ext::Backend,
    /// Extra `net.*` sysctls set inside the namespace, e.g.
    /// `("net.netfilter.nf_conntrack_tcp_be_liberal", "1")`. Keys naming the interface or one
    /// of the extra interfaces (e.g. `net.ipv4.conf.eth0.rp_filter`,
    /// `net.ipv4.conf.docker0.rp_filter`) are applied after they exist (and after the lab's
    /// own per-interface settings), `net.netfilter.*`
    /// keys after the ruleset is loaded (which loads the modules owning them; `nf_conntrack_*`
    /// keys are skipped when connection tracking is not loaded at all), others before anything
    /// else.
    pub sysctls: Vec<(String, String)>,
    /// Load another ruleset partway through the replay (see [`Reload`]).
    pub reload: Option<Reload>,
    /// Act as a router: forwarding on (`net.ipv4.ip_forward`, `net.ipv6.conf.all.forwarding`),
    /// and packets to and from other addresses are injected on the interface and forwarded
    /// back out of it (PREROUTING, FORWARD, POSTROUTING). Off: they are skipped.
    pub router: bool,
    /// How inbound and forwarded packets reach the stack, mirroring fwcheck's `--checksums`:
    /// `Verify` writes every packet plainly (`CHECKSUM_NONE`: the kernel verifies); `Auto`
    /// marks a TCP/UDP packet whose checksum holds the pseudo-header sum as offloaded
    /// (`CHECKSUM_PARTIAL`, as a veth delivers it); `Ignore` marks every unfragmented TCP,
    /// UDP, ICMP and ICMPv6 packet so. Default `Verify`.
    pub(crate) rx_checksums: crate::packet::ChecksumMode,
    /// More interfaces (`NAME`, address, prefix length), each a tun device of its own whose
    /// address gives the connected route (e.g. `docker0` 172.17.0.1/16): a packet routed to
    /// one of them counts as forwarded like one leaving [`Self::iface`]. Frames are injected on
    /// [`Self::iface`] only.
    pub(crate) extra_ifaces: Vec<(String, IpAddr, u8)>,
    /// Routes by the extra interfaces or by [`Self::iface`]: destination, prefix length,
    /// device (after [`Self::iface`]'s own default route, so they replace it).
    pub(crate) extra_routes: Vec<(IpAddr, u8, String)>,
    /// `ipset save` output restored (`ipset restore`) before the ruleset is loaded.
    pub ipsets: Option<String>,
    /// The other family's ruleset (`ip6tables-restore` text beside an IPv4 [`Self::ruleset`],
    /// or the other way round), loaded into the same namespace, as a host runs iptables and
    /// ip6tables side by side: frames of its family are replayed through it instead of being
    /// skipped. [`Self::hosts`] then needs an address of each family.
    pub other_ruleset: Option<String>,
    /// Networks of the host's addresses (`--host ADDR/LEN`): a host address inside one is
    /// assigned with its prefix length (a connected route and the subnet's broadcast) instead
    /// of /32.
    pub networks: Vec<(IpAddr, u8)>,
    /// Multicast groups joined in the namespace (interface, group; `None`: every interface),
    /// each by a socket held open for the replay.
    pub groups: Vec<(Option<String>, IpAddr)>,
}

/// A second ruleset loaded with `iptables-restore` right before the first frame numbered
/// `before_frame` or later — the way an administrator applies a new ruleset to a running host:
/// connections already tracked stay in the conntrack table and meet the new rules.
#[derive(Debug, Clone)]
pub struct Reload {
    pub before_frame: u64,
    pub ruleset: String,
}

impl OracleConfig {
    /// A configuration with the defaults: interface `eth0`, as fast as possible, no sysctls.
    pub fn new(ruleset: impl Into<String>, family: Family, hosts: Vec<IpAddr>) -> Self {
        OracleConfig {
            ruleset: ruleset.into(),
            family,
            hosts,
            iface: "eth0".into(),
            pacing: Pacing::AsFastAsPossible,
            backend: crate::ext::Backend::Nft,
            sysctls: Vec::new(),
            reload: None,
            router: false,
            rx_checksums: crate::packet::ChecksumMode::Verify,
            extra_ifaces: Vec::new(),
            extra_routes: Vec::new(),
            ipsets: None,
            other_ruleset: None,
            networks: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The prefix length a host address is assigned with: its network's, else a single
    /// address.
    pub(crate) fn prefix_of(&self, a: IpAddr) -> u8 {
        self.networks
            .iter()
            .find(|&&(n, len)| n.is_ipv4() == a.is_ipv4() && net_contains(n, len, a))
            .map_or(if a.is_ipv4() { 32 } else { 128 }, |&(_, len)| len)
    }

    /// The namespace keeps a packet to `dst` that is not a host address: a multicast group
    /// (delivered if joined, else dropped by the input route), the limited broadcast, or the
    /// broadcast of one of its IPv4 subnets.
    pub(crate) fn keeps(&self, dst: IpAddr) -> bool {
        let IpAddr::V4(d) = dst else {
            return dst.is_multicast();
        };
        let bcast = |a: IpAddr, len: u8| match a {
            IpAddr::V4(x) if len < 31 => u32::from(x) | (u32::MAX >> len) == u32::from(d),
            _ => false,
        };
        d.is_multicast()
            || d.is_broadcast()
            || self.hosts.iter().any(|&h| bcast(h, self.prefix_of(h)))
            || self.extra_ifaces.iter().any(|&(_, a, len)| bcast(a, len))
    }

    /// The families the namespace replays: [`Self::family`], and the other one with
    /// [`Self::other_ruleset`].
    pub(crate) fn families(&self) -> Vec<Family> {
        let mut v = vec![self.family];
        if self.other_ruleset.is_some() {
            v.push(match self.family {
                Family::V4 => Family::V6,
                Family::V6 => Family::V4,
            });
        }
        v
    }
}

/// One frame to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleFrame {
    /// The caller's frame number, echoed in the outcome.
    pub frame: u64,
    /// Capture time stamp (used by `Pacing::Realtime`).
    pub ts: Timestamp,
    /// IP packet bytes from the IP header on; `None` = not an IP frame.
    pub ip: Option<Vec<u8>>,
}

/// Which way the oracle replayed a frame. Serialized as `"in"`, `"out"`, `"forward"`, `"skip"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelDirection {
    In,
    Out,
    /// Neither address is the host's, and `OracleConfig::router` is set.
    Forward,
    Skip,
}

/// The kernel's verdict. Serialized as `"ACCEPT"`, `"DROP"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KernelVerdict {
    /// Inbound: delivered to the local stack (survived PREROUTING, routing and every INPUT
    /// table). Outbound: survived OUTPUT/POSTROUTING and left through the interface.
    /// Forwarded: survived PREROUTING, FORWARD and POSTROUTING and left through the interface.
    Accept,
    /// Not delivered / did not leave. The note says when something other than netfilter did it.
    Drop,
}

/// The kernel's answer for one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelOutcome {
    pub frame: u64,
    pub direction: KernelDirection,
    /// `None` for skipped frames and for outbound frames that could not be sent at all.
    pub verdict: Option<KernelVerdict>,
    /// Monotonic nanoseconds from the first injection to this frame's injection (for skipped
    /// frames: to the moment it was looked at; 0 before the first injection).
    pub sent_at_ns: u64,
    /// Why a frame was skipped, what besides netfilter dropped it, NAT changes, fragments.
    pub note: Option<String>,
}

/// Which mechanism silences the namespace's own packets (see the `lab` module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum GuardKind {
    /// nft if installed, else iptables.
    #[default]
    Auto,
    /// Own nftables table, hook output priority -500 (before defrag, raw and conntrack).
    Nft,
    /// A raw-table chain jumped to from raw OUTPUT position 1 (after defrag, before conntrack).
    Iptables,
    /// No guard: the namespace's own replies traverse OUTPUT/POSTROUTING and conntrack (they
    /// are still never delivered anywhere). For experiments only — verdicts are then perturbed.
    Off,
}

/// Knobs beyond [`OracleConfig`] (defaults are right for verdict comparison).
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub guard: GuardKind,
    /// When `sendto` succeeded but nothing has left the interface yet, wait this long for it
    /// before calling the packet dropped (only happens for stolen/queued packets).
    pub outbound_grace: Duration,
    /// After the last frame, wait this long and check that no packet was delivered late.
    pub final_settle: Duration,
    /// Record `net.netfilter.nf_conntrack_count` after every frame (costs ~10 µs per frame).
    pub record_conntrack_count: bool,
    /// Pin the replay thread to one CPU, so per-CPU netfilter state behaves as on a single CPU.
    pub pin_cpu: bool,
    /// Never inject a frame within 0.4 ms before or 0.1 ms after a tick boundary (waiting
    /// instead), so that every frame's processing sees one jiffies value and
    /// `FrameDetail::jiffies` is exact. Costs at most half a millisecond per affected frame.
    pub avoid_tick_edges: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            guard: GuardKind::Auto,
            outbound_grace: Duration::from_millis(20),
            final_settle: Duration::from_millis(20),
            record_conntrack_count: false,
            pin_cpu: true,
            avoid_tick_edges: true,
        }
    }
}

/// Per-frame facts beyond [`KernelOutcome`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameDetail {
    pub frame: u64,
    /// Same as the outcome's `sent_at_ns`.
    pub sent_at_ns: u64,
    /// Monotonic nanoseconds (from the first injection) when the kernel had finished with it.
    pub done_at_ns: u64,
    /// Smallest and largest jiffies value the kernel can have used for this frame (equal in
    /// almost all cases; they differ when the injection straddled a tick). `None` for skipped
    /// frames or without jiffies information.
    pub jiffies: Option<(u64, u64)>,
    /// Conntrack entries in the namespace after this frame (with `record_conntrack_count`).
    pub conntrack_count: Option<u64>,
}

/// Timing facts of a replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelClock {
    /// Mapping from monotonic time to jiffies (`None` if `/proc/timer_list` is unusable).
    pub jiffies_map: Option<JiffiesMap>,
    /// Absolute `CLOCK_MONOTONIC` of the first injection (the origin of every `sent_at_ns`).
    pub(crate) origin_monotonic_ns: Option<u64>,
    /// Jiffies as printed by `/proc/timer_list` right before the first frame / after the last.
    pub jiffies_start: Option<u64>,
    pub jiffies_end: Option<u64>,
}

impl KernelClock {
    /// The jiffies value at `sent_at_ns` (a frame's time), by the mapping.
    pub fn jiffies_at(&self, sent_at_ns: u64) -> Option<u64> {
        let map = self.jiffies_map?;
        let origin = self.origin_monotonic_ns?;
        Some(map.jiffies_at_monotonic(origin + sent_at_ns))
    }
}

/// Everything a replay found out.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub outcomes: Vec<KernelOutcome>,
    pub details: Vec<FrameDetail>,
    pub clock: KernelClock,
    /// The guard mechanism actually used.
    pub guard: GuardKind,
    /// Packets of the namespace's own stack the guard dropped (replies, REJECT answers).
    pub own_packets_suppressed: Option<u64>,
    /// Deliveries noticed only after the next injection (0 unless tun writes were asynchronous).
    pub late_deliveries: usize,
    /// Conntrack entries left in the namespace at the end.
    pub conntrack_count_end: Option<u64>,
    /// Anything unexpected (packets nobody injected showing up, etc.).
    pub anomalies: Vec<String>,
}

/// Can the oracle run here? `Err` names what is missing (root, tools, tun, namespaces).
pub fn available() -> Result<(), String> {
    if sys::geteuid() != 0 {
        return Err(format!(
            "not root (euid {}): creating network namespaces and tun devices needs root",
            sys::geteuid()
        ));
    }
    lab::Tools::locate()?;
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing (tun driver not available)".into());
    }
    let probe = std::thread::Builder::new()
        .name("fwcheck-oracle-probe".into())
        .spawn(|| -> Result<(), String> {
            sys::unshare_net().map_err(|e| format!("unshare(CLONE_NEWNET) failed: {e}"))?;
            sys::Tun::create("probe0").map_err(|e| format!("cannot create a tun device: {e}"))?;
            sys::raw_socket(false, libc::IPPROTO_RAW as u8, true)
                .map_err(|e| format!("cannot open a raw socket: {e}"))?;
            Ok(())
        })
        .map_err(|e| format!("cannot spawn a thread: {e}"))?;
    probe
        .join()
        .map_err(|_| "namespace probe thread panicked".to_string())?
}

/// Replay `frames` through the ruleset in a fresh namespace; one outcome per frame, in order.
pub fn replay(
    cfg: &OracleConfig,
    frames: impl IntoIterator<Item = OracleFrame>,
) -> Result<Vec<KernelOutcome>, OracleError> {
    replay_with(cfg, &ReplayOptions::default(), frames).map(|r| r.outcomes)
}

/// [`replay`] with options, returning the full [`ReplayReport`].
pub fn replay_with(
    cfg: &OracleConfig,
    opts: &ReplayOptions,
    frames: impl IntoIterator<Item = OracleFrame>,
) -> Result<ReplayReport, OracleError> {
    validate(cfg)?;
    if sys::geteuid() != 0 {
        return Err(OracleError::Unavailable(format!(
            "not root (euid {})",
            sys::geteuid()
        )));
    }
    run::replay_threaded(cfg, opts, frames)
}

fn validate(cfg: &OracleConfig) -> Result<(), OracleError> {
    for family in cfg.families() {
        if cfg.hosts.iter().all(|h| lab::family_of(h) != family) {
            return Err(OracleError::Config(format!(
                "no host address of family {family:?}"
            )));
        }
    }
    if let Some(h) = cfg
        .hosts
        .iter()
        .find(|h| inspect::is_loopback(h) || h.is_unspecified())
    {
        return Err(OracleError::Config(format!(
            "host address {h} cannot be assigned to the replay interface"
        )));
    }
    let iface_ok = !cfg.iface.is_empty()
        && cfg.iface.len() < 16
        && cfg.iface != "lo"
        && cfg
            .iface
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !iface_ok {
        return Err(OracleError::Config(format!(
            "interface name {:?} is not usable (1-15 characters of [A-Za-z0-9._-], not lo)",
            cfg.iface
        )));
    }
    if let Pacing::Realtime { speed } = cfg.pacing {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(OracleError::Config(format!(
                "Realtime pacing speed must be a positive number, got {speed}"
            )));
        }
    }
    for (k, v) in &cfg.sysctls {
        lab::validate_sysctl(k, v)?;
    }
    Ok(())
}

/// `a` is inside `net/len` (same family).
fn net_contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - len as u32).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - len as u32).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}
