//! What the engine says about one packet.

use serde::Serialize;

use crate::ext::RejectReply;
use crate::ruleset::model::TableKind;

/// Which way a packet goes through the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// To one of the host's addresses: PREROUTING, INPUT.
    In,
    /// From one of the host's addresses: OUTPUT, POSTROUTING.
    Out,
    /// Through the host (router mode): PREROUTING, FORWARD, POSTROUTING.
    Forward,
    /// From the host to itself (loopback): OUTPUT, POSTROUTING, then PREROUTING, INPUT on `lo`.
    Local,
    /// Not judged.
    None,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Forward => "forward",
            Direction::Local => "local",
            Direction::None => "none",
        }
    }
}

/// Final fate of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Verdict {
    #[serde(rename = "ACCEPT")]
    Accept,
    #[serde(rename = "DROP")]
    Drop,
    #[serde(rename = "REJECT")]
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Reject => "REJECT",
        }
    }
}

/// A rule of the ruleset: table, chain index, rule index (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    pub table: TableKind,
    pub chain: usize,
    pub rule: usize,
}

/// What decided a packet's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A rule's target (or a match that hot-dropped the packet).
    Rule(RuleRef),
    /// A built-in chain's policy.
    Policy { table: TableKind, chain: usize },
    /// The IP stack, before netfilter (bad header checksum, bad lengths) or in routing.
    Stack(&'static str),
    /// Connection tracking itself (e.g. a conntrack-level drop).
    Conntrack(&'static str),
    /// No table has a say at these hooks: the packet passes.
    NoRules,
}

/// The conntrack state label a packet carries (what `-m conntrack --ctstate` sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CtLabel {
    #[serde(rename = "NEW")]
    New,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "RELATED")]
    Related,
    #[serde(rename = "INVALID")]
    Invalid,
    #[serde(rename = "UNTRACKED")]
    Untracked,
}

impl CtLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            CtLabel::New => "NEW",
            CtLabel::Established => "ESTABLISHED",
            CtLabel::Related => "RELATED",
            CtLabel::Invalid => "INVALID",
            CtLabel::Untracked => "UNTRACKED",
        }
    }
}

/// What REJECT sent, and whether the host's own OUTPUT path let it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectInfo {
    pub reply: RejectReply,
    /// `None` when the reply was not simulated.
    pub sent: Option<bool>,
}

/// The engine's answer for one packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub frame: u64,
    pub direction: Direction,
    pub verdict: Option<Verdict>,
    /// False when a match or target that cannot be evaluated offline could have changed it.
    pub certain: bool,
    pub decision: Option<Decision>,
    pub ctstate: Option<CtLabel>,
    /// Why there is no verdict, why it is uncertain, or why conntrack said INVALID.
    pub reason: Option<String>,
    pub reject: Option<RejectInfo>,
    /// For a reassembled datagram: the frames it was built from.
    pub fragments: Vec<u64>,
    /// Every step, when tracing ([`super::SimOptions::trace`]).
    pub trace: Vec<super::TraceEvent>,
    /// A captured packet recognised as the host's own answer to an earlier frame.
    pub answer_to: Option<AnswerTo>,
    /// The matches fwcheck could not decide whose other answer could have changed the verdict,
    /// in the order the traversal met them (empty when the doubt came from elsewhere: state,
    /// a target, NAT).
    pub undecided: Vec<Undecided>,
    /// Where each of [`Outcome::undecided`] leads when taken as matching, when the replay
    /// computes alternatives ([`crate::replay::Replayer::enable_alternatives`]); for a packet
    /// uncertain through its connection's state, where each undecided match of the frame it
    /// depends on ([`Outcome::tainted_by`]) would have led it.
    pub alternatives: Vec<Alternative>,
    /// The earlier frame whose uncertain verdict this packet's state depends on (its flow's
    /// taint), when that is what made it uncertain.
    pub tainted_by: Option<u64>,
}

/// The packet run again on a fork of the state it met, with one undecided match taken as
/// matching (the replay took it as not matching).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// The earlier frame the undecided match belongs to, when the doubt came through state
    /// (`None`: a match of this packet's own traversal).
    pub frame: Option<u64>,
    /// The rule of the undecided match.
    pub rule: RuleRef,
    pub why: &'static str,
    /// The verdict had it matched.
    pub verdict: Option<Verdict>,
    /// False when another unknown could still change that verdict.
    pub certain: bool,
    /// What would have decided.
    pub decision: Option<Decision>,
}

/// A match fwcheck could not decide, skipped as not matching, whose other answer could have
/// changed how its table ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    /// Its number among the packet's undecidable matches (for [`super::Engine::force_unknown`]).
    pub k: u32,
    pub rule: RuleRef,
    pub why: &'static str,
}

/// What a captured outbound packet answers (see `SimOptions::recognise_answers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerTo {
    /// The reply REJECT sent for this frame: judged when REJECT sent it, counted once.
    RejectReply(u64),
    /// An answer to this frame, a request the ruleset drops: the host would never send it.
    NotSent(u64),
    /// The router's outgoing copy of this frame, forwarded: judged when it came in.
    ForwardedCopy(u64),
}

impl Outcome {
    /// A packet's outcome before anything is decided: no verdict yet, certain.
    pub(crate) fn empty(frame: u64, direction: Direction) -> Outcome {
        Outcome {
            frame,
            direction,
            verdict: None,
            certain: true,
            decision: None,
            ctstate: None,
            reason: None,
            reject: None,
            fragments: Vec::new(),
            trace: Vec::new(),
            answer_to: None,
            undecided: Vec::new(),
            alternatives: Vec::new(),
            tainted_by: None,
        }
    }

    pub fn unjudged(frame: u64, reason: impl Into<String>) -> Outcome {
        Outcome {
            reason: Some(reason.into()),
            ..Outcome::empty(frame, Direction::None)
        }
    }
}
