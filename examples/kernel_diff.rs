//! Developer tool: replay one capture through a ruleset in the real kernel (the oracle) and in
//! fwcheck and print the frame-by-frame comparison (root only).
//!
//! Usage: `cargo run --release --example kernel_diff -- RULES CAPTURE [--host ADDR]...
//!         [--realtime] [--legacy] [--all] [--ct-timeout NAME=SECS]... [--be-liberal]
//!         [--no-loose] [--router]`
//!
//! `--all` prints every frame, not only the differing ones.

use std::path::PathBuf;

use fwcheck::compare::{compare_capture, Status};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::ext::Backend;
use fwcheck::lint::load_file;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::{Family, ParseOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut hosts = Vec::new();
    let mut pacing = Pacing::AsFastAsPossible;
    let mut backend = Backend::Nft;
    let mut all = false;
    let mut timeouts = fwcheck::conntrack::Timeouts::default();
    let mut liberal = false;
    let mut loose = true;
    let mut router = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ct-timeout" => {
                let v = args.next().expect("--ct-timeout NAME=SECS");
                let (n, secs) = v.split_once('=').expect("NAME=SECS");
                timeouts
                    .set(n, secs.parse().expect("seconds"))
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            "--be-liberal" => liberal = true,
            "--no-loose" => loose = false,
            "--host" => hosts.push(args.next().expect("--host ADDR")),
            "--router" => router = true,
            "--realtime" => pacing = Pacing::Realtime { speed: 1.0 },
            "--legacy" => backend = Backend::Legacy,
            "--all" => all = true,
            _ => pos.push(a),
        }
    }
    let [rules, capture] = &pos[..] else {
        eprintln!(
            "usage: kernel_diff RULES CAPTURE [--host ADDR]... [--realtime] [--legacy] [--all]"
        );
        std::process::exit(2);
    };
    let family = if rules.ends_with('6') {
        Family::V6
    } else {
        Family::V4
    };
    if hosts.is_empty() {
        hosts.push(match family {
            Family::V4 => "203.0.113.10".into(),
            Family::V6 => "2001:db8::10".into(),
        });
    }
    let loaded = load_file(
        &PathBuf::from(rules),
        ParseOptions {
            family,
            backend,
            ..ParseOptions::default()
        },
    )
    .expect("ruleset");
    if loaded.has_errors() {
        eprintln!("{}", loaded.render_diagnostics(false));
        std::process::exit(3);
    }
    let env = SimEnv {
        hosts: hosts.iter().map(|h| h.parse().expect("host")).collect(),
        backend,
        tcp_be_liberal: liberal,
        tcp_loose: loose,
        ..SimEnv::default()
    };
    let sim = SimOptions {
        env,
        ct_timeouts: timeouts,
        router,
        ..SimOptions::default()
    };
    let cmp = compare_capture(&loaded, &PathBuf::from(capture), sim, pacing).expect("compare");
    if all {
        for f in &cmp.frames {
            let mark = match f.status {
                Status::Match => " ",
                Status::Mismatch => "!",
                Status::Uncertain => "?",
                Status::NotCompared => "-",
            };
            println!("{mark} {}", f.line());
        }
    }
    print!("{}", cmp.render(true));
    if cmp.mismatches > 0 {
        std::process::exit(1);
    }
}
