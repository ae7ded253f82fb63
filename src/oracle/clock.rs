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
//! inside a tick so the two numbers cannot straddle a boundary, and keeping the smallest offset
//! of several samples (a reader preempted between the two lines prints a later jiffies).
//!
//! Limits: `/proc/timer_list` may be missing or unreadable (then there is no jiffies
//! information and replays still work). `HZ` comes from the kernel config (`/boot/config-*`,
//! `/proc/config.gz`) when readable, else it is measured, and must be one of 100, 250, 300,
//! 1000 (the kernel's choices).

use std::sync::OnceLock;

use serde::Serialize;

/// One reading of `/proc/timer_list`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimerListSample {
    /// `now at … nsecs`: `CLOCK_MONOTONIC` when the file was generated.
    pub(crate) now_ns: u64,
    /// The first `jiffies:` line (the 64-bit jiffies counter).
    pub jiffies: u64,
}

/// Read `/proc/timer_list` once; `None` when unavailable.
pub(crate) fn read_timer_list() -> Option<TimerListSample> {
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

/// `CONFIG_HZ=` from a kernel config text.
fn hz_from_config(text: &str) -> Option<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("CONFIG_HZ="))
        .and_then(|v| v.trim().parse().ok())
}

/// CONFIG_HZ from `/boot/config-$(uname -r)` or `/proc/config.gz` (via `gzip -dc`).
fn configured_hz() -> Option<u32> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    if let Ok(t) = std::fs::read_to_string(format!("/boot/config-{}", release.trim())) {
        return hz_from_config(&t);
    }
    let gzip = super::lab::find_tool("gzip")?;
    let out = std::process::Command::new(gzip)
        .args(["-dc", "/proc/config.gz"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    hz_from_config(&String::from_utf8_lossy(&out.stdout))
}

/// HZ, once per process: from the kernel config when available, else measured over 200 ms
/// (a reading of `/proc/timer_list` can be preempted between its "now" and "jiffies" lines,
/// which costs at most a few ticks: 4% at HZ=250 over 200 ms).
fn measured_hz() -> Option<u32> {
    static HZ: OnceLock<Option<u32>> = OnceLock::new();
    *HZ.get_or_init(|| {
        if let Some(hz) = configured_hz().filter(|hz| [100, 250, 300, 1000].contains(hz)) {
            return Some(hz);
        }
        let a = read_timer_list()?;
        std::thread::sleep(std::time::Duration::from_millis(200));
        let b = read_timer_list()?;
        let dt = b.now_ns.checked_sub(a.now_ns)? as f64 / 1e9;
        let dj = b.jiffies.checked_sub(a.jiffies)? as f64;
        if dt < 0.1 {
            return None;
        }
        hz_candidates(dj / dt)
    })
}

/// Find the jiffies mapping now; `None` if `/proc/timer_list` is not usable.
pub fn jiffies_map() -> Option<JiffiesMap> {
    let hz = measured_hz()?;
    let tick_ns = (1_000_000_000 + hz as u64 / 2) / hz as u64;
    // Use samples whose "now" lies well inside a tick, so tick-interrupt latency cannot make
    // the jiffies line lag. Preemption between the two lines can only make the printed
    // jiffies *larger* than at "now", so the smallest offset of a few samples is the true one.
    let mut best: Option<i64> = None;
    let mut good = 0;
    for _ in 0..100 {
        let s = read_timer_list()?;
        let phase = s.now_ns % tick_ns;
        if phase < SAFE_MARGIN_NS || phase > tick_ns - SAFE_MARGIN_NS {
            continue;
        }
        let offset = s.jiffies as i64 - (s.now_ns / tick_ns) as i64;
        best = Some(best.map_or(offset, |b| b.min(offset)));
        good += 1;
        if good == 5 {
            break;
        }
    }
    best.map(|offset| JiffiesMap {
        hz,
        tick_ns,
        offset,
    })
}

/// Current jiffies as printed by the kernel, and the monotonic time of the reading.
pub(crate) fn jiffies_now() -> Option<(u64, u64)> {
    let s = read_timer_list()?;
    Some((s.jiffies, s.now_ns))
}

/// Nanoseconds after a tick boundary during which the kernel may not yet have advanced jiffies.
pub(crate) const TICK_LATENCY_NS: u64 = 100_000;

/// Range of jiffies values the kernel may have used for something that happened between the
/// monotonic instants `start` and `end`.
pub(crate) fn jiffies_range(map: &JiffiesMap, start: u64, end: u64) -> (u64, u64) {
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
    fn config_hz() {
        assert_eq!(
            hz_from_config("# x\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n"),
            Some(250)
        );
        assert_eq!(hz_from_config("CONFIG_HZ_1000=y\n"), None);
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
