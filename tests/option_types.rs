//! Typed option specs (`ext::xtopt`, after libxtables' `xtoptions.c`): the framework converts a
//! typed option's value before the unit's `parse` reads it from `ParseCtx::val`. Every typed
//! option of every registered match and target, given a value of its type, is parsed without a
//! panic (a unit reading the wrong accessor would panic), loads where the rule is otherwise
//! complete, and refuses a value just out of its range with the framework's one message.

use fwcheck::ext::registry::{Fam, MATCHES, TARGETS};
use fwcheck::ext::XtType;
use fwcheck::lint::load_str;
use fwcheck::netfilter::Family;
use fwcheck::ruleset::{InputFormat, ParseOptions};

fn sample(ty: XtType) -> Option<(String, Option<String>)> {
    // (a valid value, a value just out of range)
    match ty {
        XtType::Raw => None,
        XtType::Uint { min, max } => Some((
            format!("+{min}"),
            max.checked_add(1).map(|v| format!("{v}")),
        )),
        XtType::Range { min, max } => Some((
            format!(" {min}:{max}"),
            max.checked_add(1).map(|v| format!("{min}:{v}")),
        )),
        XtType::MarkMask => Some(("0x1/+0xf".into(), Some("0x100000000".into()))),
        XtType::NonEmpty | XtType::Fixed { .. } | XtType::FixedNonEmpty { .. } => {
            Some(("x".into(), None))
        }
    }
}

fn families(f: Fam) -> Vec<Family> {
    match f {
        Fam::Any => vec![Family::V4, Family::V6],
        Fam::V4 => vec![Family::V4],
        Fam::V6 => vec![Family::V6],
    }
}

fn load(family: Family, table: &str, chain: &str, rule: &str) -> Vec<String> {
    let text = format!("*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {rule}\nCOMMIT\n");
    let opts = ParseOptions {
        family,
        format: InputFormat::Auto,
        ..ParseOptions::default()
    };
    let l = load_str("typed.rules", &text, opts);
    l.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect()
}

fn proto_for(required: Option<u8>, family: Family) -> &'static str {
    match (required, family) {
        (Some(132), _) => "-p sctp",
        (Some(17), _) => "-p udp",
        (Some(1), _) => "-p icmp",
        (Some(58), _) => "-p ipv6-icmp",
        _ => "-p tcp",
    }
}

#[test]
fn every_typed_match_option_reads_its_value() {
    let mut typed = 0;
    for &(name, fam, required, ctor) in MATCHES {
        for family in families(fam) {
            for spec in ctor().options() {
                let Some((good, bad)) = sample(spec.ty) else {
                    continue;
                };
                typed += 1;
                let p = proto_for(required, family);
                let rule = format!("{p} -m {name} --{} \"{good}\"", spec.name);
                let errs = load(family, "filter", "INPUT", &rule);
                assert!(
                    errs.iter().all(|m| !m.contains("bad value")),
                    "{name} --{}: {errs:?}",
                    spec.name
                );
                if let Some(bad) = bad {
                    let rule = format!("{p} -m {name} --{} {bad}", spec.name);
                    let errs = load(family, "filter", "INPUT", &rule);
                    assert!(
                        errs.first()
                            .is_some_and(|m| m.contains(&format!("--{}", spec.name))),
                        "{name} --{} {bad}: {errs:?}",
                        spec.name
                    );
                }
            }
        }
    }
    assert!(typed >= 30, "only {typed} typed match options");
}

#[test]
fn every_typed_target_option_reads_its_value() {
    let mut typed = 0;
    for &(name, fam, ctor) in TARGETS {
        for family in families(fam) {
            for spec in ctor().options() {
                let Some((good, bad)) = sample(spec.ty) else {
                    continue;
                };
                typed += 1;
                // Some table takes every target; a unit that reads the wrong accessor panics
                // in any of them.
                let mut loaded_somewhere = false;
                for (table, chain) in [
                    ("mangle", "PREROUTING"),
                    ("raw", "PREROUTING"),
                    ("nat", "PREROUTING"),
                    ("filter", "INPUT"),
                ] {
                    let rule = format!("-p tcp -j {name} --{} \"{good}\"", spec.name);
                    let errs = load(family, table, chain, &rule);
                    loaded_somewhere |= errs.iter().all(|m| !m.contains("bad value"));
                    if let Some(bad) = &bad {
                        let rule = format!("-p tcp -j {name} --{} {bad}", spec.name);
                        let errs = load(family, table, chain, &rule);
                        assert!(
                            errs.first()
                                .is_some_and(|m| m.contains(&format!("--{}", spec.name))),
                            "{name} --{} {bad} in {table}: {errs:?}",
                            spec.name
                        );
                    }
                }
                assert!(loaded_somewhere, "{name} --{} {good}", spec.name);
            }
        }
    }
    assert!(typed >= 30, "only {typed} typed target options");
}
