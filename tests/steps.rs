//! `fwcheck steps`: scripts applied command by command with the admin's session checked
//! after every step (guide 000 passes, guide 001 and a policy-first script are cut), restore
//! input one step per COMMIT, `--noflush` on top of an initial ruleset, and what-if edits.

use fwcheck::analysis::{CheckOptions, Net};
use fwcheck::ruleset::{InputFormat, ParseOptions};
use fwcheck::steps::{self, StepsInput};

fn input(name: &str, text: &str, initial: Option<&str>, noflush: bool) -> StepsInput {
    StepsInput {
        name: name.into(),
        text: text.into(),
        initial: initial.map(|t| ("initial.v4".to_string(), t.to_string())),
        noflush,
        parse: ParseOptions {
            format: InputFormat::Auto,
            ..ParseOptions::default()
        },
    }
}

fn fixture(p: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + p).unwrap()
}

#[test]
fn guide_000_order_is_safe_at_every_step() {
    let r = steps::run(
        &input(
            "g0.sh",
            &fixture("fixtures/guides/guide-000-commands.sh"),
            None,
            false,
        ),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.steps.len(), 21);
    // `iptables -L -vn` reads only.
    assert!(!r.steps[17].changes);
    assert_eq!(r.steps[18].command, "sudo iptables -P INPUT DROP");
    assert!(r.cuts.is_empty(), "{:?}", r.cuts);
    assert!(!r.locks_out());
    assert!(r
        .steps
        .iter()
        .all(|s| s.sessions.iter().all(|x| x.established)));
}

#[test]
fn guide_001_order_is_cut_at_the_input_policy() {
    let r = steps::run(
        &input(
            "g1.sh",
            &fixture("fixtures/guides/guide-001-commands.sh"),
            None,
            false,
        ),
        &CheckOptions::default(),
    )
    .unwrap();
    assert!(r.locks_out());
    assert_eq!(r.cuts.len(), 1, "{:?}", r.cuts);
    let c = &r.cuts[0];
    assert_eq!(c.step, 1);
    assert_eq!(c.line, 4);
    assert_eq!(c.command, "sudo iptables -P INPUT DROP");
    assert_eq!(c.decided_by.as_deref(), Some("filter INPUT policy DROP"));
    // `-A INPUT -p tcp --dport 22 -j ACCEPT` (step 6) lets it through again.
    assert_eq!(c.works_again_after, Some(6));
    assert!(c.message().starts_with(
        "step 1 `sudo iptables -P INPUT DROP` (g1.sh:4) cuts the established tcp/22 session"
    ));
    assert!(c
        .advice
        .contains("`iptables -I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`"));
    // Steps 1-5 are cut, 6 on pass.
    for s in &r.steps {
        assert_eq!(s.sessions[0].established, s.step >= 6, "step {}", s.step);
    }
}

/// Rules that track connections and refuse nothing established.
const TRACKING: &str =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                        -A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";

/// The script flushes the host's rules first: here rules that tracked connections
/// (`TRACKING`), so the admin's session is in conntrack before step 1.
#[test]
fn policy_first_script_with_ipt_variables() {
    let check = CheckOptions {
        admin: vec![Net::parse("198.51.100.0/24").unwrap()],
        ..CheckOptions::default()
    };
    let r = steps::run(
        &input(
            "p.sh",
            &fixture("tests/data/steps/ipt-policy-first.sh"),
            Some(TRACKING),
            false,
        ),
        &check,
    )
    .unwrap();
    assert_eq!(r.steps[0].command, "$IPT -F");
    assert_eq!(r.steps.len(), 9);
    assert!(!r.cuts.is_empty());
    for c in &r.cuts {
        assert_eq!((c.step, c.line), (2, 6));
        assert_eq!(c.decided_by.as_deref(), Some("filter OUTPUT policy DROP"));
        assert_eq!(c.works_again_after, Some(7));
        // Both policies drop the session while it is cut.
        assert!(
            c.advice.contains("-I OUTPUT 1") && c.advice.contains("-I INPUT 1"),
            "{}",
            c.advice
        );
    }
    // Step 7 keeps the session but a new one is refused until step 8.
    let s7 = &r.steps[6].sessions[0];
    assert!(s7.established && !s7.new);
    assert!(r.steps[7].sessions[0].new);
    // The last ruleset is fine.
    assert!(r.final_findings().all(|f| f.code != "FW001"));
}

/// The same script on a host whose rules tracked nothing: conntrack starts with step 6, the
/// first rule using it, and picks the session up mid-stream. Whether the kernel tracked it
/// anyway (another user of conntrack) is not known: step 7 may cut it, and it works
/// again from step 8 (the admin's NEW rule) in both worlds — so certainly: the session is
/// followed in each world, and a step both answer alike is certain whatever the earlier
/// steps left in doubt (recorded lab `steps-midstream`). Told the table started empty, the
/// cut lasts until step 8, certain.
#[test]
fn policy_first_script_on_a_host_without_conntrack() {
    let mut check = CheckOptions {
        admin: vec![Net::parse("198.51.100.0/24").unwrap()],
        ..CheckOptions::default()
    };
    let script = fixture("tests/data/steps/ipt-policy-first.sh");
    let r = steps::run(&input("p.sh", &script, None, false), &check).unwrap();
    let c = &r.cuts[0];
    assert_eq!((c.step, c.works_again_after), (2, Some(8)), "{c:?}");
    assert_eq!(c.may_work_again_after, None, "{c:?}");
    // Step 6 (INPUT's ESTABLISHED rule) cuts it in both worlds (OUTPUT still drops the
    // host's answer): certain; step 7 (OUTPUT's) only in the empty one.
    let (s6, s7) = (&r.steps[5].sessions[0], &r.steps[6].sessions[0]);
    assert!(!s6.established && s6.established_doubt.is_none(), "{s6:?}");
    assert!(!s7.established && s7.established_doubt.is_some(), "{s7:?}");
    assert!(r.steps[7..]
        .iter()
        .all(|s| s.sessions[0].established && s.sessions[0].established_doubt.is_none()));
    check.env.conntrack_empty_at_start = true;
    let r = steps::run(&input("p.sh", &script, None, false), &check).unwrap();
    let c = &r.cuts[0];
    assert_eq!((c.step, c.works_again_after), (2, Some(8)), "{c:?}");
    for s in &r.steps[5..7] {
        assert!(!s.sessions[0].established && s.sessions[0].established_doubt.is_none());
    }
}

const INITIAL: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                       -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                       -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";

#[test]
fn restore_input_is_one_step_per_commit() {
    // Without --noflush the *filter block replaces the initial table: no ESTABLISHED accept.
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n\
                *filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let r = steps::run(
        &input("new.v4", text, Some(INITIAL), false),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[0].line, 1);
    assert!(!r.steps[0].sessions[0].established);
    assert!(r.steps[1].sessions[0].established);
    assert_eq!(r.cuts.len(), 1);
    assert_eq!(r.cuts[0].works_again_after, Some(2));
}

#[test]
fn noflush_applies_on_top_of_the_initial_ruleset() {
    let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n";
    let r = steps::run(
        &input("add.v4", text, Some(INITIAL), true),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.steps.len(), 1);
    assert!(r.cuts.is_empty());
    let t = r
        .final_ruleset
        .table(fwcheck::ruleset::TableKind::Filter)
        .unwrap();
    assert_eq!(t.chain("INPUT").unwrap().rules.len(), 3);
    // Flushing input loses the initial rules and cuts the session.
    let r = steps::run(
        &input("add.v4", text, Some(INITIAL), false),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.cuts.len(), 1);
}

/// A command iptables refuses is a step that changes nothing, and the shell goes on; with
/// `set -e` it stops, and restore input is refused whole: nothing is simulated, and the
/// error names its line.
#[test]
fn a_refused_command_is_a_step_that_changes_nothing() {
    let script = "iptables -A INPUT -j ACCEPT\niptables -D INPUT 5\niptables -P INPUT DROP\n";
    let r = steps::run(
        &input("bad.sh", script, None, false),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.steps.len(), 3);
    assert!(
        r.steps[1].refused.is_some() && !r.steps[1].changes,
        "{:?}",
        r.steps[1]
    );
    assert!(r.steps[0].refused.is_none() && r.steps[2].refused.is_none());
    let e = steps::run(
        &input("bad.sh", &format!("set -e\n{script}"), None, false),
        &CheckOptions::default(),
    )
    .unwrap_err();
    let d = e.diagnostics.iter().find(|d| d.is_error()).unwrap();
    assert_eq!(e.source.line_of(d.span.start as usize), 3);
    let restore = "*filter\n:INPUT DROP [0:0]\n-D INPUT 5\nCOMMIT\n";
    assert!(steps::run(
        &input("bad.rules", restore, None, false),
        &CheckOptions::default()
    )
    .is_err());
}

/// A step whose verdict rests on something fwcheck does not know (here an ipset's contents) is
/// a possible cut, never a certain one: with the set holding the admin the session passes,
/// with a set that does not, it is cut (both checked with `--ipset` in
/// `tests/learn_cli.rs::steps_resting_on_an_unknown_set_are_possible_cuts`).
#[test]
fn a_cut_resting_on_an_unknown_is_only_possible() {
    let script = "iptables -A INPUT -m set --match-set admins src -j ACCEPT\n\
                  iptables -P INPUT DROP\n\
                  iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n";
    let r = steps::run(
        &input("s.sh", script, None, false),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.cuts.len(), 1, "{:?}", r.cuts);
    let c = &r.cuts[0];
    assert_eq!(c.step, 2);
    assert!(!c.certain);
    assert!(c
        .doubt
        .as_deref()
        .unwrap()
        .contains("ipset contents are not known"));
    assert!(!r.locks_out());
    assert!(r.may_lock_out());
    // Step 3 passes whatever the set holds (its own rule accepts tcp/22), and no state
    // carries the doubt (the rules track nothing): it works again, certainly.
    assert_eq!(c.works_again_after, Some(3));
    assert!(c
        .message()
        .contains("may cut the established tcp/22 session"));
    assert!(
        c.message().contains("works again after step 3"),
        "{}",
        c.message()
    );
    assert!(r.steps[2].sessions[0].certain);
    // Nothing unknown: the guides' cut and passes are certain.
    let g1 = steps::run(
        &input(
            "g1.sh",
            &fixture("fixtures/guides/guide-001-commands.sh"),
            None,
            false,
        ),
        &CheckOptions::default(),
    )
    .unwrap();
    assert!(g1.cuts.iter().all(|c| c.certain && c.doubt.is_none()));
    assert!(g1
        .steps
        .iter()
        .all(|s| s.sessions.iter().all(|x| x.certain)));
}

/// The advice for a cut never undoes itself: when a flush (`-F`, a restore) comes before the
/// cut, the ESTABLISHED rule belongs right after it, not at the start of the script, where
/// the flush would remove it (following the old advice changed nothing).
#[test]
fn advice_goes_after_the_flush() {
    let script = "iptables -I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
                  iptables -F\niptables -P INPUT DROP\n\
                  iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n";
    let initial = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                   -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\nCOMMIT\n";
    let r = steps::run(
        &input("s.sh", script, Some(initial), false),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.cuts.len(), 1, "{:?}", r.cuts);
    let m = r.cuts[0].message();
    assert!(m.contains("right after step 2 (`iptables -F`"), "{m}");
    assert!(!m.contains("start the script with"), "{m}");
}

/// A starting ruleset the kernel would not load (a jump loop its hooks reach) is refused as
/// loading the file refuses it; restore input whose block would close such a loop is refused
/// whole, as iptables-restore refuses it.
#[test]
fn tables_the_kernel_refuses_to_commit_are_errors_outside_a_script() {
    let looped = "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\n\
                  -A INPUT -j A\nCOMMIT\n";
    let e = steps::run(
        &input("s.sh", "iptables -P INPUT DROP\n", Some(looped), false),
        &CheckOptions::default(),
    )
    .expect_err("a looped starting ruleset");
    assert!(
        e.diagnostics.iter().any(|d| d.code == "E110"),
        "{:?}",
        e.diagnostics
    );
    let e = steps::run(
        &input("r.v4", looped, None, false),
        &CheckOptions::default(),
    )
    .expect_err("a looped restore block");
    assert!(
        e.diagnostics.iter().any(|d| d.code == "E110"),
        "{:?}",
        e.diagnostics
    );
}
