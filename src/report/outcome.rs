//! The result of checking a ruleset (replay, static checks, expectations) as one value that
//! every output format is written from, and the exit code it decides (the README's table).
//! Built by [`crate::session::Session::run`].

use std::sync::Arc;

use crate::analysis::expect::ExpectResult;
use crate::analysis::lockout::LockoutResult;
use crate::analysis::{Finding, Level};
use crate::lint::Loaded;
use crate::packet::ChecksumMode;
use crate::replay::{HostChoice, ReplayStats};

use super::{RuleHits, Summary};

/// Exit codes, as the README documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// No finding at or above the fail threshold, no failed expectation.
    Ok = 0,
    /// Findings at or above the threshold, or failed expectations (`lint --strict`: warnings).
    Findings = 1,
    /// Usage: a bad or contradictory option, an unreadable file, a host that cannot be inferred.
    Usage = 2,
    /// Invalid input: a ruleset with errors, a capture that cannot be read.
    Invalid = 3,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What the replay of traffic gave.
#[derive(Debug)]
pub struct ReplayReport {
    /// Counts by verdict and direction, flows when tracked.
    pub summary: Summary,
    /// Hit counters of every rule and policy.
    pub hits: Vec<RuleHits>,
    pub stats: ReplayStats,
    /// Whether the ruleset made the engine track connections.
    pub conntrack: bool,
    /// The `--checksums` mode the replay used (the summary explains its effect).
    pub checksums: ChecksumMode,
}

/// Everything a session found: the one value every output format is written from.
#[derive(Debug)]
pub struct Report {
    /// The ruleset checked (its source text locates findings).
    pub rules: Arc<Loaded>,
    /// The other family's ruleset (`--parity`), whose source locates the findings in it.
    pub other_rules: Option<Arc<Loaded>>,
    /// The host the run judged from.
    pub hosts: HostChoice,
    /// The replay, when there was traffic.
    pub replay: Option<ReplayReport>,
    /// One result per management service and loopback.
    pub lockout: Vec<LockoutResult>,
    /// Lockout findings, then the other static findings, then what the capture showed
    /// (from `Report::capture_findings_from` on).
    pub findings: Vec<Finding>,
    /// Index in `findings` where the capture's findings start.
    pub(crate) capture_findings_from: usize,
    /// One result per `--expect` entry.
    pub expectations: Vec<ExpectResult>,
    /// `--fail-on`.
    pub fail_on: Option<Level>,
}

/// Totals as every format reports them. A failed expectation counts as an error (it is an
/// FW010 error in SARIF, a failing case in JUnit, an `::error` annotation for GitHub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Error findings plus failed expectations.
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub expectations_passed: usize,
    pub expectations_failed: usize,
}

impl Report {
    /// The rules file's name as reports print it.
    pub fn file(&self) -> &str {
        &self.rules.ruleset.source.name
    }

    /// The findings of the static checks (lockout first).
    pub fn static_findings(&self) -> &[Finding] {
        &self.findings[..self.capture_findings_from]
    }

    pub fn totals(&self) -> Totals {
        let count = |l: Level| self.findings.iter().filter(|f| f.severity == l).count();
        let failed = self.expectations.iter().filter(|r| !r.passed).count();
        Totals {
            errors: count(Level::Error) + failed,
            warnings: count(Level::Warning),
            notes: count(Level::Note),
            expectations_passed: self.expectations.len() - failed,
            expectations_failed: failed,
        }
    }

    /// The findings at or above `--fail-on` (those that fail the gate).
    pub fn gating_findings(&self) -> impl Iterator<Item = &Finding> {
        let t = self.fail_on;
        self.findings
            .iter()
            .filter(move |f| t.is_some_and(|t| f.severity >= t))
    }

    /// Whether the gate fails: a finding at or above `--fail-on`, or a failed expectation.
    pub fn failing(&self) -> bool {
        self.gating_findings().next().is_some() || self.expectations.iter().any(|r| !r.passed)
    }

    /// The exit code: [`Exit::Findings`] when [`Report::failing`], else [`Exit::Ok`].
    pub fn exit(&self) -> Exit {
        if self.failing() {
            Exit::Findings
        } else {
            Exit::Ok
        }
    }
}
