//! The kernel's time as netfilter sees it: jiffies.
//!
//! Every time-dependent piece of netfilter (conntrack timeouts, `-m limit`, `-m hashlimit`,
//! `-m recent --seconds`) reads `jiffies`, never a nanosecond clock. Since Linux 5.x the tick is
//! aligned to multiples of `TICK_NSEC` of `CLOCK_MONOTONIC` (`tick_init_jiffy_update`), and
//! `tick_do_update_jiffies64` advances jiffies by whole ticks as monotonic time passes, so
//!
//! ```text
//! jiffies(t) = floor(t_monotonic_ns / TICK_NSEC) + C      (C constant since boot)
//! ```
//!
//! up to the latency of the tick interrupt (measured here: a few µs to ~25 µs after each
//! boundary). This module finds `HZ`/`TICK_NSEC` and `C` by reading `/proc/timer_list` (root
//! only; it prints `now at <monotonic ns> nsecs` and `jiffies: <n>`), picking samples taken well
//! inside a tick so the two numbers cannot straddle a boundary.
//!
//! Limits: `/proc/timer_list` may be missing or unreadable (then there is no jiffies
//! information and replays still work); `HZ` is measured, not read from the kernel config, and
//! must be one of 100, 250, 300, 1000 (the kernel's choices).

use std::sync::OnceLock;

use serde::Serialize;

/// One reading of `/proc/timer_list`.
#[derive(Debug, Clone, Copy)]
pub struct TimerListSample {
    /// `now at … nsecs`: `CLOCK_MONOTONIC` when the file was generated.
    pub now_ns: u64,
    /// The first `jiffies:` line (the 64-bit jiffies counter).
    pub jiffies: u64,
}

/// Read `/proc/timer_list` once; `None` when unavailable.
pub fn read_timer_list() -> Option<TimerListSample> {
    let text = std::fs::read_to_string("/proc/timer_list").ok()?;
    let mut now = None;
    let mut jiffies = None;
    for line in text.lines() {
        if now.is_none() {
            if let Some(rest) = line.strip_prefix("now at ") {
                now = rest.split_whitespace().next().and_then(|s| s.parse().ok());
            }
        }
        if let Some(rest) = line.strip_prefix("jiffies: ") {
            jiffies = rest.trim().parse().ok();
            break;
        }
    }
    Some(TimerListSample {
        now_ns: now?,
        jiffies: jiffies?,
    })
}

/// The kernel's tick rate and the mapping from `CLOCK_MONOTONIC` to jiffies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct JiffiesMap {
    /// CONFIG_HZ (measured).
    pub hz: u32,
    /// `TICK_NSEC = (NSEC_PER_SEC + HZ/2) / HZ`.
    pub tick_ns: u64,
    /// `C` in `jiffies = floor(monotonic_ns / tick_ns) + C`.
    pub offset: i64,
}

impl JiffiesMap {
    /// The jiffies value at absolute `CLOCK_MONOTONIC` time `mono_ns` (ignoring tick latency).
    pub fn jiffies_at_monotonic(&self, mono_ns: u64) -> u64 {
        ((mono_ns / self.tick_ns) as i64 + self.offset) as u64
    }
}

/// Samples farther than this from a tick boundary are trusted to show matching "now" and jiffies.
const SAFE_MARGIN_NS: u64 = 300_000;

fn hz_candidates(per_sec: f64) -> Option<u32> {
    [100u32, 250, 300, 1000]
        .into_iter()
        .min_by(|a, b| {
            ((*a as f64) - per_sec)
                .abs()
                .total_cmp(&((*b as f64) - per_sec).abs())
        })
        .filter(|hz| ((*hz as f64) - per_sec).abs() / (*hz as f64) < 0.08)
}

/// Measure HZ once per process (costs ~60 ms the first time).
fn measured_hz() -> Option<u32> {
    static HZ: OnceLock<Option<u32>> = OnceLock::new();
    *HZ.get_or_init(|| {
        let a = read_timer_list()?;
        std::thread::sleep(std::time::Duration::from_millis(60));
        let b = read_timer_list()?;
        let dt = b.now_ns.checked_sub(a.now_ns)? as f64 / 1e9;
        let dj = b.jiffies.checked_sub(a.jiffies)? as f64;
        if dt < 0.03 {
            return None;
        }
        hz_candidates(dj / dt)
    })
}

/// Find the jiffies mapping now; `None` if `/proc/timer_list` is not usable.
pub fn jiffies_map() -> Option<JiffiesMap> {
    let hz = measured_hz()?;
    let tick_ns = (1_000_000_000 + hz as u64 / 2) / hz as u64;
    // Take a sample whose "now" lies well inside a tick, so the jiffies line printed a few
    // microseconds later belongs to the same tick.
    for _ in 0..50 {
        let s = read_timer_list()?;
        let phase = s.now_ns % tick_ns;
        if phase < SAFE_MARGIN_NS || phase > tick_ns - SAFE_MARGIN_NS {
            continue;
        }
        let offset = s.jiffies as i64 - (s.now_ns / tick_ns) as i64;
        return Some(JiffiesMap {
            hz,
            tick_ns,
            offset,
        });
    }
    None
}

/// Current jiffies as printed by the kernel, and the monotonic time of the reading.
pub fn jiffies_now() -> Option<(u64, u64)> {
    let s = read_timer_list()?;
    Some((s.jiffies, s.now_ns))
}

/// Nanoseconds after a tick boundary during which the kernel may not yet have advanced jiffies.
pub const TICK_LATENCY_NS: u64 = 100_000;

/// Range of jiffies values the kernel may have used for something that happened between the
/// monotonic instants `start` and `end`.
pub fn jiffies_range(map: &JiffiesMap, start: u64, end: u64) -> (u64, u64) {
    let lo = map.jiffies_at_monotonic(start.saturating_sub(TICK_LATENCY_NS));
    let hi = map.jiffies_at_monotonic(end.max(start));
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hz_rounding() {
        assert_eq!(hz_candidates(249.0), Some(250));
        assert_eq!(hz_candidates(1003.0), Some(1000));
        assert_eq!(hz_candidates(99.0), Some(100));
        assert_eq!(hz_candidates(500.0), None);
    }

    #[test]
    fn mapping() {
        let m = JiffiesMap {
            hz: 250,
            tick_ns: 4_000_000,
            offset: 10,
        };
        assert_eq!(m.jiffies_at_monotonic(3_999_999), 10);
        assert_eq!(m.jiffies_at_monotonic(4_000_000), 11);
        assert_eq!(jiffies_range(&m, 4_050_000, 4_060_000), (10, 11));
        assert_eq!(jiffies_range(&m, 4_500_000, 4_600_000), (11, 11));
    }
}
