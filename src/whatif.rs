//! What-if edits: `--what-if 'COMMAND'` applies iptables commands (`-D INPUT 3`,
//! `-I INPUT 1 -s 192.0.2.0/24 -j DROP`, `-P OUTPUT ACCEPT`, `-R INPUT 2 …`, `-t nat -A …`) to a
//! loaded ruleset before anything is simulated, in order, exactly as running them on the host
//! would (iptables' `do_command4`/`do_command6` in `iptables/xshared.c`, through the same
//! command code the parser runs for scripts: [`crate::ruleset::parser::apply`]).
//!
//! The commands are appended to the ruleset's source text (one line each, after its last line),
//! so the rules they add carry line numbers after the file's end — the first `--what-if` is the
//! line after the last line of the file — and every other rule keeps its own.

use std::sync::Arc;

use crate::diag::{Severity, SourceFile};
use crate::ext::ipset::IpSets;
use crate::ruleset::parser::{apply, InputFormat, ParseOptions};
use crate::ruleset::Ruleset;

/// A `--what-if` command that does not apply, located like a file position: the option's
/// number (1-based, in command-line order), line 1, and the column in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--what-if #{index}:1:{column}: {message}{}", expected.as_ref().map(|e| format!(" (expected {e})")).unwrap_or_default())]
pub(crate) struct WhatIfError {
    /// Which `--what-if` (1 = the first given).
    pub index: usize,
    /// 1-based column in the command as given.
    pub column: usize,
    pub message: String,
    pub expected: Option<String>,
    /// The command as given.
    pub command: String,
}

/// Apply `commands` in order to `rs`. On error `rs` is left as it was before the failing
/// command (the commands before it applied) and the error names the command and column.
pub(crate) fn apply_what_if(
    rs: &mut Ruleset,
    ipsets: Option<Arc<IpSets>>,
    commands: &[String],
) -> Result<(), WhatIfError> {
    for (i, cmd) in commands.iter().enumerate() {
        apply_one(rs, &ipsets, i + 1, cmd)?;
    }
    Ok(())
}

fn apply_one(
    rs: &mut Ruleset,
    ipsets: &Option<Arc<IpSets>>,
    index: usize,
    cmd: &str,
) -> Result<(), WhatIfError> {
    let err = |column: usize, message: String, expected: Option<String>| WhatIfError {
        index,
        column,
        message,
        expected,
        command: cmd.to_string(),
    };
    if cmd.contains(['\n', '\r']) {
        return Err(err(
            cmd.find(['\n', '\r'])
                .map(|i| cmd[..i].chars().count() + 1)
                .unwrap_or(1),
            "a --what-if is one command on one line".into(),
            Some("one iptables command, e.g. `-D INPUT 3`".into()),
        ));
    }
    let trimmed = cmd.trim_start();
    let lead = cmd.len() - trimmed.len();
    // `iptables -D INPUT 3` and `-D INPUT 3` alike.
    let first = trimmed.split_whitespace().next().unwrap_or("");
    let has_program = matches!(first, "sudo" | "iptables" | "ip6tables")
        || first.ends_with("/iptables")
        || first.ends_with("/ip6tables")
        || first.starts_with("iptables-")
        || first.starts_with("ip6tables-");
    let prefix = if has_program {
        String::new()
    } else {
        format!("{} ", rs.family.program())
    };
    let mut text = rs.source.text.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let line_start = text.len();
    text.push_str(&prefix);
    text.push_str(cmd);
    text.push('\n');
    let source = Arc::new(SourceFile::new(rs.source.name.clone(), text));
    let region = line_start..source.text.len();
    // Column (1-based, in characters of `cmd`) of a byte offset in the combined text.
    let column = |at: usize| -> usize {
        let in_cmd = at.saturating_sub(line_start + prefix.len());
        cmd.get(..in_cmd.min(cmd.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1
    };
    let opts = ParseOptions {
        family: rs.family,
        format: InputFormat::Script,
        backend: rs.backend,
        ipsets: ipsets.clone(),
    };
    let mut steps = 0usize;
    let mut changed = 0usize;
    let mut on_step = |s: crate::ruleset::parser::AppliedStep<'_>| {
        steps += 1;
        changed += usize::from(s.changes);
    };
    let parsed = apply(Some(rs), source, region, opts, false, Some(&mut on_step));
    // An error, or a command that was not applied (another family, not an iptables command).
    let blocking = parsed
        .diagnostics
        .iter()
        .filter(|d| d.span.start as usize >= line_start || d.is_error())
        .find(|d| d.severity == Severity::Error || d.code == "W005");
    if let Some(d) = blocking {
        return Err(err(
            column(d.span.start as usize),
            d.message.clone(),
            d.expected.clone(),
        ));
    }
    if steps != 1 {
        return Err(err(
            lead + 1,
            if steps == 0 {
                format!("`{}` is not an iptables command", cmd.trim())
            } else {
                "a --what-if is one command (no `;`, `&&` or `|`)".into()
            },
            Some("one iptables command, e.g. `-D INPUT 3`".into()),
        ));
    }
    if changed == 0 {
        return Err(err(
            lead + 1,
            "this command changes nothing (-L, -S, -C only read the ruleset)".into(),
            Some("-A, -I, -D, -R, -P, -N, -F, -X, -Z or -E".into()),
        ));
    }
    // What the kernel checks when the table is replaced: a jump loop it now reaches, jumps
    // nested too deep, a target or match at a hook it cannot be used at (as loading the file).
    if let Some(d) = crate::ruleset::graph::commit_error(&parsed.ruleset) {
        return Err(err(lead + 1, d.message, d.expected));
    }
    *rs = parsed.ruleset;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::parser::parse_str;

    const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                         -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n\
                         -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n";

    fn rules() -> Ruleset {
        let p = parse_str("r.v4", RULES, ParseOptions::default());
        assert!(!p.has_errors());
        p.ruleset
    }

    fn input(rs: &Ruleset) -> Vec<String> {
        let t = rs.table(crate::ruleset::TableKind::Filter).unwrap();
        t.chain("INPUT")
            .unwrap()
            .rules
            .iter()
            .map(|r| crate::ruleset::printer::rule_text("INPUT", r))
            .collect()
    }

    #[test]
    fn edits_apply_in_order_and_keep_lines() {
        let mut rs = rules();
        apply_what_if(
            &mut rs,
            None,
            &[
                "-D INPUT 1".into(),
                "iptables -I INPUT 1 -s 192.0.2.0/24 -j DROP".into(),
                "-P OUTPUT DROP".into(),
                "-R INPUT 2 -p tcp --dport 443 -j ACCEPT".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            input(&rs),
            vec![
                "-A INPUT -s 192.0.2.0/24 -j DROP",
                "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT"
            ]
        );
        let t = rs.table(crate::ruleset::TableKind::Filter).unwrap();
        assert_eq!(
            t.chain("OUTPUT").unwrap().policy,
            Some(crate::ruleset::Policy::Drop)
        );
        // The file has 7 lines; the what-ifs are lines 8.. in order.
        let c = t.chain("INPUT").unwrap();
        assert_eq!(rs.line_of(c.rules[0].span), 9);
        assert_eq!(rs.line_of(c.rules[1].span), 11);
        assert_eq!(rs.source.name, "r.v4");
    }

    #[test]
    fn errors_name_the_option_and_column() {
        let mut rs = rules();
        let e = apply_what_if(
            &mut rs,
            None,
            &["-P OUTPUT DROP".into(), "-D INPUT 9".into()],
        )
        .unwrap_err();
        assert_eq!(e.index, 2);
        assert_eq!(e.column, 10);
        assert_eq!(
            e.to_string(),
            "--what-if #2:1:10: chain INPUT has no rule 9 (expected a rule number from 1 to 2)"
        );
        // The first edit stays applied, the failing one changed nothing.
        assert_eq!(input(&rs).len(), 2);
        let e = apply_what_if(&mut rs, None, &["-A NOPE -j ACCEPT".into()]).unwrap_err();
        assert_eq!((e.index, e.column), (1, 4));
        assert!(e.message.contains("NOPE"), "{e}");
        let e = apply_what_if(
            &mut rs,
            None,
            &["-I INPUT 1 -p tcp --dport x -j DROP".into()],
        )
        .unwrap_err();
        assert_eq!(e.column, 27, "{e}");
        let e = apply_what_if(&mut rs, None, &["-L INPUT".into()]).unwrap_err();
        assert!(e.message.contains("changes nothing"), "{e}");
        let e = apply_what_if(&mut rs, None, &["echo hi".into()]).unwrap_err();
        assert_eq!(e.message, "no command", "{e}");
        let e = apply_what_if(&mut rs, None, &["sudo reboot".into()]).unwrap_err();
        assert!(e.message.contains("not an iptables command"), "{e}");
        let e = apply_what_if(&mut rs, None, &["-F; iptables -F".into()]).unwrap_err();
        assert!(e.message.contains("one command"), "{e}");
        let e = apply_what_if(&mut rs, None, &["ip6tables -F".into()]).unwrap_err();
        assert_eq!(e.column, 1, "{e}");
    }
}
