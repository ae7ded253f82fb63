//! The kernel's ICMP error rate limits, which decide whether a REJECT's ICMP reply, or the
//! stack's own error (time exceeded…), actually leaves (`net/ipv4/icmp.c` `__icmp_send`,
//! `net/ipv6/icmp.c` `icmp6_send`).
//!
//! Only the types of the rate mask are limited: IPv4 `icmp_ratemask` 0x1818 (destination
//! unreachable except "fragmentation needed", source quench, time exceeded, parameter problem),
//! IPv6 `icmpv6_ratemask` "0-1,3-127" (every error but "packet too big"); errors to the host
//! itself (loopback) never are. Two limits apply, in this order (Linux 6.12 on):
//!
//! * **Host-wide** (`icmp_global_allow` / `icmp_global_consume`): a credit of at most
//!   `icmp_msgs_burst` (50), refilled at `icmp_msgs_per_sec` (1000/s) only once it is spent and
//!   20 ms after the last refill; each message sent takes a *random* 0–2 from it. Its state is
//!   not knowable, but it can only refuse once at least 10 messages were sent in the last 20 ms
//!   (a refill brings at least 20 credits, 2 at most go per message): from there on a message's
//!   fate is uncertain.
//! * **Per peer** (`inet_peer_xrlim_allow`, XRLIM_BURST_FACTOR 6): a token bucket per
//!   destination address holding at most 6 × `icmp_ratelimit` (1 s) jiffies; a message costs
//!   one `icmp_ratelimit`, so 6 go at once, then one a second. IPv6's interval is
//!   `net.ipv6.icmp.ratelimit`, 100 ms, whatever the route (older kernels divided a 1 s
//!   interval by 2^((128 − the route's prefix length) / 32); measured on 6.18, whose bucket
//!   matched 456 of 456 routed REJECTs in a lab). A peer the kernel has not seen starts full
//!   (`rate_last = jiffies − 60·HZ`). No route back to the peer: nothing is sent.
//!
//! fwcheck takes every peer's bucket as full, and the host-wide counter as unused, when the
//! capture begins — as it takes the connection table as empty: what the host sent before the
//! capture is not in it. The per-peer bucket is then exact. A peer whose state became uncertain
//! (a message the host-wide limit may have refused) stays uncertain until its bucket is
//! certainly full again (6 intervals later).
//!
//! Bounded: at most [`PEERS`] peers are followed; beyond, a new peer's messages are uncertain.

use std::collections::VecDeque;
use std::net::IpAddr;

use foldhash::HashMap;

/// Peers followed at most (the kernel's inet_peer cache evicts too).
pub(crate) const PEERS: usize = 65_536;
const BURST_FACTOR: u64 = 6;
/// Messages in the last 20 ms from which the host-wide credit may be spent.
const GLOBAL_SAFE: usize = 10;

/// Why an ICMP message to a peer fwcheck does not follow may or may not go.
const UNFOLLOWED: &str = "fwcheck follows the ICMP rate limit of at most 65,536 peers at once";

/// Whether a limited ICMP error leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allow {
    Yes,
    No,
    Maybe(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    tokens: u64,
    last: u64,
    /// The kernel's bucket may differ from `tokens` (a message that may not have gone).
    unsure: bool,
    /// `n_redirects`: ICMP redirects sent to the peer since the last silence.
    redirects: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct IcmpLimiter {
    peers: HashMap<IpAddr, Peer>,
    /// When the last messages left (jiffies), at most [`GLOBAL_SAFE`].
    recent: VecDeque<u64>,
}

/// Whether an ICMP/ICMPv6 error of this type and code is rate-limited (the default masks).
pub(crate) fn limited(v6: bool, icmp_type: u8, code: u8) -> bool {
    if v6 {
        icmp_type < 128 && icmp_type != 2
    } else {
        (0x1818u32 >> icmp_type.min(31)) & 1 == 1 && !(icmp_type == 3 && code == 4)
    }
}

impl IcmpLimiter {
    /// A limited message to `peer` at `now` (jiffies), one per `interval` jiffies with a burst
    /// of six; records it when it leaves (or may leave).
    pub(crate) fn allow(&mut self, peer: IpAddr, now: u64, interval: u64, hz: u64) -> Allow {
        let window = (hz / 50).max(1);
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= window)
        {
            self.recent.pop_front();
        }
        let global_unsure = self.recent.len() >= GLOBAL_SAFE;
        let Some((allowed, unsure)) = self.xrlim(peer, now, interval) else {
            return Allow::Maybe(UNFOLLOWED);
        };
        let verdict = if unsure {
            Allow::Maybe("the kernel's ICMP rate limit for this peer may hold fewer tokens")
        } else if !allowed {
            Allow::No
        } else if global_unsure {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.unsure = true;
            }
            Allow::Maybe(
                "more than 10 rate-limited ICMP errors in 20 ms: the kernel's host-wide limit \
                 (icmp_msgs_per_sec, spent at random) may refuse it",
            )
        } else {
            Allow::Yes
        };
        if verdict != Allow::No {
            if self.recent.len() >= GLOBAL_SAFE {
                self.recent.pop_front();
            }
            self.recent.push_back(now);
        }
        verdict
    }
}

impl IcmpLimiter {
    /// `inet_peer_xrlim_allow(peer, interval)`: the peer's token bucket (one per address,
    /// shared by every caller, each capping it at 6 × its own interval; a peer the kernel has
    /// not seen starts full), a token of `interval` jiffies taken when there is one. Returns
    /// whether there was, and whether fwcheck's count of the bucket may differ from the
    /// kernel's; `None` for a peer past the ones fwcheck follows.
    fn xrlim(&mut self, peer: IpAddr, now: u64, interval: u64) -> Option<(bool, bool)> {
        let cap = BURST_FACTOR * interval;
        if !self.peers.contains_key(&peer) && self.peers.len() >= PEERS {
            // Idle peers are full again: forget them before giving up on this one.
            self.peers
                .retain(|_, p| !p.unsure && now.saturating_sub(p.last) < cap);
            if self.peers.len() >= PEERS {
                return None;
            }
        }
        let p = self.peers.entry(peer).or_insert(Peer {
            tokens: cap,
            last: now,
            unsure: false,
            redirects: 0,
        });
        let tokens = (p.tokens + now.saturating_sub(p.last)).min(cap);
        p.last = now;
        if tokens == cap {
            p.unsure = false;
        }
        let allowed = tokens >= interval;
        p.tokens = if allowed { tokens - interval } else { tokens };
        Some((allowed, p.unsure))
    }

    /// An IPv6 router forwarded a packet back out of the interface it came in on: `ip6_forward`
    /// takes a token of `1*HZ` from the bucket of the packet's destination `dst` (the same
    /// bucket ICMPv6 errors to that address spend, `icmpv6_xrlim_allow`), then
    /// `ndisc_send_redirect` — when it goes that far (`src`: the redirect's conditions hold) —
    /// one from its source's (`src`, the peer the redirect goes to). No host-wide limit.
    /// Returns whether the redirect is sent.
    pub(crate) fn redirect6(
        &mut self,
        dst: IpAddr,
        src: Option<IpAddr>,
        now: u64,
        hz: u64,
    ) -> Allow {
        const UNSURE: &str = "the kernel's rate limit for this peer may hold fewer tokens";
        let hz = hz.max(1);
        let by_dst = match self.xrlim(dst, now, hz) {
            None => Allow::Maybe(UNFOLLOWED),
            Some((_, true)) => Allow::Maybe(UNSURE),
            Some((true, false)) => Allow::Yes,
            Some((false, false)) => return Allow::No,
        };
        let Some(src) = src else {
            return Allow::No;
        };
        let by_src = match self.xrlim(src, now, hz) {
            None => Allow::Maybe(UNFOLLOWED),
            Some((_, true)) => Allow::Maybe(UNSURE),
            Some((true, false)) => Allow::Yes,
            Some((false, false)) => return Allow::No,
        };
        if let Allow::Maybe(why) = by_dst {
            // The kernel may not have got this far: the source's token may still be there.
            if let Some(p) = self.peers.get_mut(&src) {
                p.unsure = true;
            }
            return Allow::Maybe(why);
        }
        by_src
    }
}

impl IcmpLimiter {
    /// A router forwarded a packet from `peer` back out of the interface it came in on, the
    /// peer on that link: `ip_rt_send_redirect` (`net/ipv4/route.c`) runs before FORWARD. Its
    /// backoff shares the peer's `rate_last` with the rate limit above: after
    /// `ip_rt_redirect_silence` (HZ/50 << 10) without one the tokens are reset; a redirect is
    /// sent for the first, then only `ip_rt_redirect_load` (HZ/50) << n later, at most
    /// `ip_rt_redirect_number` (9); and `rate_last` becomes now whenever one is sent or the
    /// number is reached — so the tokens the peer gathered since are lost, and an ICMP error
    /// to it right after is refused (kernel hunt: REJECT's port unreachable after a hairpin
    /// redirect never left). Returns whether a redirect is sent (`rate_last` moves whether a
    /// message went or not, so it is known where the tokens are not): `Maybe` for a peer whose
    /// entry fwcheck does not follow (more peers than it keeps).
    pub(crate) fn redirect(&mut self, peer: IpAddr, now: u64, hz: u64) -> Allow {
        let load = (hz / 50).max(1);
        let silence = load << 10;
        if !self.peers.contains_key(&peer) && self.peers.len() >= PEERS {
            let cap = BURST_FACTOR * hz;
            self.peers
                .retain(|_, p| !p.unsure && now.saturating_sub(p.last) < cap);
            if self.peers.len() >= PEERS {
                // Not followed: the peer's later errors are uncertain (`allow`).
                return Allow::Maybe(UNFOLLOWED);
            }
        }
        // A peer the kernel has not seen: `rate_last = jiffies − 60·HZ`, long silent.
        let p = self.peers.entry(peer).or_insert(Peer {
            tokens: 0,
            last: now.saturating_sub(60 * hz),
            unsure: false,
            redirects: 0,
        });
        if now > p.last + silence {
            // The kernel's tokens are known again: none.
            (p.tokens, p.unsure) = (0, false);
            p.redirects = 0;
        }
        let sent = if p.redirects >= 9 {
            p.last = now;
            false
        } else if p.redirects == 0 || now > p.last + (load << p.redirects) {
            p.last = now;
            p.redirects += 1;
            true
        } else {
            false
        };
        if sent {
            Allow::Yes
        } else {
            Allow::No
        }
    }

    /// `ip_error` (`net/ipv4/route.c`), for a packet the router has no route for: its own
    /// bucket on the sender's peer entry (`ip_rt_error_burst` 5·HZ, `ip_rt_error_cost` HZ),
    /// spent before `icmp_send`'s rate limit above takes its token from the same entry — so a
    /// burst of such errors runs out after two or three.
    pub(crate) fn ip_error(&mut self, peer: IpAddr, now: u64, hz: u64) -> Allow {
        if !self.peers.contains_key(&peer) && self.peers.len() >= PEERS {
            return Allow::Maybe(
                "fwcheck follows the ICMP rate limit of at most 65,536 peers at once",
            );
        }
        let p = self.peers.entry(peer).or_insert(Peer {
            tokens: 0,
            last: now.saturating_sub(60 * hz),
            unsure: false,
            redirects: 0,
        });
        let tokens = (p.tokens + now.saturating_sub(p.last)).min(5 * hz);
        p.last = now;
        let allowed = tokens >= hz;
        p.tokens = if allowed { tokens - hz } else { tokens };
        match (p.unsure, allowed) {
            (true, _) => {
                Allow::Maybe("the kernel's ICMP rate limit for this peer may hold fewer tokens")
            }
            (false, true) => Allow::Yes,
            (false, false) => Allow::No,
        }
    }

    /// A limited message the capture shows the host sent to `peer` at `now` without fwcheck
    /// sending it (the stack's port unreachable for a closed UDP port, a parameter problem…):
    /// it took its token as every message does. Had fwcheck's bucket refused it, the kernel's
    /// held more than fwcheck thought: from here on the peer's bucket is uncertain.
    pub(crate) fn sent(&mut self, peer: IpAddr, now: u64, interval: u64, hz: u64) {
        if self.allow(peer, now, interval, hz) == Allow::No {
            if let Some(p) = self.peers.get_mut(&peer) {
                p.tokens = 0;
                p.unsure = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_at_once_then_one_per_interval() {
        let hz = 250;
        let mut l = IcmpLimiter::default();
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        // Spaced 25 ms apart: fewer than 10 in any 20 ms, the host-wide limit is not reached.
        let got: Vec<Allow> = (0..8)
            .map(|i| l.allow(peer, 1000 + i * 7, hz, hz))
            .collect();
        assert_eq!(&got[..6], &[Allow::Yes; 6]);
        assert_eq!(&got[6..], &[Allow::No; 2]);
        // One interval later, one more.
        assert_eq!(l.allow(peer, 1000 + 49 + hz, hz, hz), Allow::Yes);
        assert_eq!(l.allow(peer, 1000 + 50 + hz, hz, hz), Allow::No);
        // Another peer has its own bucket.
        let other: IpAddr = "198.51.100.8".parse().unwrap();
        assert_eq!(l.allow(other, 1000 + 51 + hz, hz, hz), Allow::Yes);
    }

    #[test]
    fn bursts_across_peers_reach_the_host_wide_doubt() {
        let hz = 1000;
        let mut l = IcmpLimiter::default();
        let got: Vec<Allow> = (0..12u8)
            .map(|i| l.allow(IpAddr::from([198, 51, 100, i]), 5000, hz, hz))
            .collect();
        assert!(got[..10].iter().all(|a| *a == Allow::Yes));
        assert!(matches!(got[10], Allow::Maybe(_)));
        // 20 ms later the window is clear again.
        assert_eq!(
            l.allow(IpAddr::from([198, 51, 100, 99]), 5020, hz, hz),
            Allow::Yes
        );
    }

    #[test]
    fn ipv6_redirects_spend_the_destinations_then_the_sources_bucket() {
        let hz = 250;
        let mut l = IcmpLimiter::default();
        let (src, dst, other) = (
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]),
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 3]),
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 4]),
        );
        // Six at once (burst 6 × HZ), then none.
        for i in 0..6 {
            assert_eq!(l.redirect6(dst, Some(src), 1000 + i, hz), Allow::Yes);
        }
        assert_eq!(l.redirect6(dst, Some(src), 1010, hz), Allow::No);
        // A fresh destination: the source's bucket refuses it, and gathers a token in 1 s.
        assert_eq!(l.redirect6(other, Some(src), 1011, hz), Allow::No);
        assert_eq!(l.redirect6(other, Some(src), 1011 + hz, hz), Allow::Yes);
        // The source's bucket is the ICMPv6 errors' too (100 ms tokens): spent.
        assert_eq!(l.allow(src, 1011 + hz + 5, hz / 10, hz), Allow::No);
        // A redirect whose conditions fail spends the destination's token alone.
        let third = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 5]);
        assert_eq!(l.redirect6(third, None, 5000, hz), Allow::No);
        assert_eq!(l.peers[&third].tokens, 5 * hz);
    }

    #[test]
    fn a_redirect_spends_the_peers_gathered_tokens() {
        let hz = 250;
        let mut l = IcmpLimiter::default();
        let peer: IpAddr = "198.51.100.2".parse().unwrap();
        // A new peer's first redirect resets its tokens: an error 100 ms later is refused,
        // one a second after the redirect goes.
        assert_eq!(l.redirect(peer, 10_000, hz), Allow::Yes);
        assert_eq!(l.allow(peer, 10_025, hz, hz), Allow::No);
        assert_eq!(l.allow(peer, 10_025 + hz, hz, hz), Allow::Yes);
        // Without redirects, a new peer starts full.
        let other: IpAddr = "198.51.100.3".parse().unwrap();
        assert_eq!(l.allow(other, 10_025, hz, hz), Allow::Yes);
        // The backoff: a second redirect within HZ/50 << 1 sends nothing and leaves
        // `rate_last` where the first put it.
        let third: IpAddr = "198.51.100.4".parse().unwrap();
        assert_eq!(l.redirect(third, 20_000, hz), Allow::Yes);
        assert_eq!(l.redirect(third, 20_005, hz), Allow::No);
        assert_eq!(l.peers[&third].last, 20_000);
        assert_eq!(l.peers[&third].redirects, 1);
        assert_eq!(l.redirect(third, 20_011, hz), Allow::Yes);
        assert_eq!(
            (l.peers[&third].last, l.peers[&third].redirects),
            (20_011, 2)
        );
        // A peer past the ones fwcheck follows: whether a redirect goes is not known.
        for i in 0..PEERS as u32 {
            let p = Peer {
                tokens: 0,
                last: 30_000,
                unsure: false,
                redirects: 0,
            };
            l.peers
                .insert(std::net::Ipv4Addr::from(0x0a00_0000 + i).into(), p);
        }
        let late: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(matches!(l.redirect(late, 30_000, hz), Allow::Maybe(_)));
    }

    #[test]
    fn masks() {
        assert!(limited(false, 3, 3));
        assert!(!limited(false, 3, 4));
        assert!(limited(false, 11, 0));
        assert!(!limited(false, 0, 0));
        assert!(limited(true, 1, 4));
        assert!(!limited(true, 2, 0));
        assert!(limited(true, 3, 0));
        assert!(!limited(true, 129, 0));
    }
}
