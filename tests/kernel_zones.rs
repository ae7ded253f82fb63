//! Conntrack zones limited to one direction (`CT --zone-orig`, `--zone-reply`), against the
//! kernel. A zone applies to the tuple of its direction only; the other tuple is in the
//! default zone, and a packet finds a connection only if both agree on the zone in the
//! direction it was found in (`nf_ct_zone_equal`; looked up with the original direction's id,
//! then the reply direction's). So with `--zone-orig 5` on the client's packets the host's
//! replies, which carry no template, still find the connection; with `--zone 5` or
//! `--zone-reply 5` they do not, unless the replies get the same zone.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::compare;
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

fn rules(inbound: &str, outbound: &str) -> String {
    let out = if outbound.is_empty() {
        String::new()
    } else {
        format!("-A OUTPUT -p tcp -m tcp --sport 22 -j CT {outbound}\n")
    };
    format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 22 -j CT {inbound}\n{out}COMMIT\n\
*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT\n\
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
-A OUTPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\nCOMMIT\n"
    )
}

fn zones_by_direction() {
    let (h, c) = (HOST, CLIENT);
    let frames = [
        tcp4(c, h, 40000, 22, 1000, 0, SYN, 1),
        tcp4(h, c, 22, 40000, 5000, 1001, SYN | ACK, 2),
        tcp4(c, h, 40000, 22, 1001, 5001, ACK, 3),
        tcp4(h, c, 22, 40000, 5001, 1001, ACK, 4),
    ];
    // (CT options inbound, CT options on the host's replies, the kernel's verdicts)
    let cases: &[(&str, &str, [&str; 4])] = &[
        ("--zone-orig 5", "", ["ACCEPT"; 4]),
        ("--zone 5", "", ["ACCEPT", "DROP", "DROP", "DROP"]),
        ("--zone-reply 5", "", ["ACCEPT", "DROP", "DROP", "DROP"]),
        ("--zone 5", "--zone 5", ["ACCEPT"; 4]),
        ("--zone-reply 5", "--zone-reply 5", ["ACCEPT"; 4]),
        (
            "--zone-orig 5",
            "--zone 5",
            ["ACCEPT", "DROP", "DROP", "DROP"],
        ),
    ];

    let sim = SimOptions {
        env: SimEnv {
            hosts: host(),
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    for (inbound, outbound, want) in cases {
        let text = rules(inbound, outbound);
        let loaded = load_str("zones.rules", &text, ParseOptions::default());
        assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
        let cmp = compare(
            &loaded,
            decoded(&frames),
            sim.clone(),
            Pacing::AsFastAsPossible,
        )
        .expect("compare");
        let what = format!("in: CT {inbound}, out: CT {outbound}");
        assert_eq!(cmp.mismatches, 0, "{what}: {}", cmp.render(true));
        let kernel: Vec<&str> = cmp.frames.iter().map(|f| f.kernel.unwrap_or("-")).collect();
        assert_eq!(kernel, want, "{what}: {}", cmp.render(false));
        for f in &cmp.frames {
            assert!(f.fwcheck_certain, "{what}: {}", f.line());
        }
    }
}

kernel_tests!(zones_by_direction);
