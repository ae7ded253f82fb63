//! `-m policy` (IPsec) against the kernel: a packet that no xfrm state decapsulated has no
//! `sec_path` (`--dir in`), and one routed without an xfrm policy has no `dst->xfrm`
//! (`--dir out`), so `--pol none` matches and `--pol ipsec` does not — whatever the element
//! options say, negated (`!`) or not. fwcheck must give the kernel's verdict, certain.
#[macro_use]
mod kernel_harness;
mod oracle_common;

use fwcheck::compare::{compare, Comparison, Status};
use fwcheck::engine::{SimEnv, SimOptions};
use fwcheck::lint::load_str;
use fwcheck::oracle::Pacing;
use fwcheck::ruleset::ParseOptions;
use oracle_common::*;

const RULES: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
-A INPUT -p tcp --dport 1 -m policy --dir in --pol none -j ACCEPT\n\
-A INPUT -p tcp --dport 2 -m policy --dir in --pol ipsec -j ACCEPT\n\
-A INPUT -p tcp --dport 3 -m policy --dir in --pol ipsec ! --proto esp ! --reqid 9 -j ACCEPT\n\
-A INPUT -p tcp --dport 4 -m policy --dir in --pol ipsec --strict ! --mode tunnel --next ! --spi 0x10 -j ACCEPT\n\
-A OUTPUT -p tcp --sport 1 -m policy --dir out --pol none -j ACCEPT\n\
-A OUTPUT -p tcp --sport 2 -m policy --dir out --pol ipsec -j ACCEPT\n\
-A OUTPUT -p tcp --sport 3 -m policy --dir out --pol ipsec ! --proto ah ! --mode transport -j ACCEPT\n\
-A OUTPUT -p tcp --sport 4 -m policy --dir out --pol ipsec --strict ! --reqid 1 -j ACCEPT\n\
COMMIT\n";

fn policy_without_ipsec_state() {
    let (h, c) = (HOST, CLIENT);
    let mut frames = Vec::new();
    for p in 1..=4u16 {
        frames.push(tcp4(c, h, 40000 + p, p, 1000, 0, SYN, 1));
    }
    for p in 1..=4u16 {
        frames.push(tcp4(h, c, p, 41000 + p, 1000, 0, SYN, 1));
    }
    let decoded = decoded(&frames);
    let loaded = load_str("policy.rules", RULES, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![h.into()],
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    let cmp = compare(&loaded, decoded, sim, Pacing::AsFastAsPossible).expect("compare");
    assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
    let kernel: Vec<_> = cmp.frames.iter().map(|f| f.kernel).collect();
    let want = [
        Some("ACCEPT"),
        Some("DROP"),
        Some("DROP"),
        Some("DROP"),
        Some("ACCEPT"),
        Some("DROP"),
        Some("DROP"),
        Some("DROP"),
    ];
    assert_eq!(kernel, want, "{}", cmp.render(true));
    for f in &cmp.frames {
        assert!(
            f.fwcheck_certain,
            "frame {} uncertain: {}",
            f.frame,
            f.line()
        );
        assert_ne!(f.status, Status::Uncertain, "{}", f.line());
    }
}

/// RULES, with IPsec to the host accepted (ESP, and ESP in UDP/4500) when `carriers_pass`.
fn rules(carriers_pass: bool) -> String {
    let extra = if carriers_pass {
        "-A INPUT -p esp -j ACCEPT\n-A INPUT -p udp --dport 4500 -j ACCEPT\n"
    } else {
        ""
    };
    RULES.replacen("COMMIT\n", &format!("{extra}COMMIT\n"), 1)
}

fn run(rules: &str, frames: &[Vec<u8>], ipsec_none: bool) -> Comparison {
    let loaded = load_str("policy.rules", rules, ParseOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let sim = SimOptions {
        env: SimEnv {
            hosts: vec![HOST.into()],
            ipsec_none,
            ..SimEnv::default()
        },
        ..SimOptions::default()
    };
    compare(&loaded, decoded(frames), sim, Pacing::AsFastAsPossible).expect("compare")
}

/// ESP (SPI 0x100) from the client, as an IPsec gateway's capture shows it before the packets
/// its tunnel-mode SA hands back to the stack.
fn esp(seq: u16) -> Vec<u8> {
    let mut payload = vec![0, 0, 1, 0, 0, 0, 0, seq as u8];
    payload.extend_from_slice(&[0x5a; 40]);
    ipv4(CLIENT, HOST, 50, 3000 + seq, &payload)
}

/// ESP in UDP (RFC 3948): a non-zero SPI where IKE has its zero non-ESP marker.
fn esp_in_udp(seq: u16) -> Vec<u8> {
    let mut payload = vec![0, 0, 1, 1, 0, 0, 0, seq as u8];
    payload.extend_from_slice(&[0x5a; 40]);
    udp4(CLIENT, HOST, 4500, 4500, 3100 + seq, &payload)
}

/// IKE on port 4500: the four-byte zero non-ESP marker, then the IKE header.
fn ike_on_4500(seq: u16) -> Vec<u8> {
    let mut payload = vec![0, 0, 0, 0];
    payload.extend_from_slice(&[0x11; 28]);
    udp4(CLIENT, HOST, 4500, 4500, 3200 + seq, &payload)
}

fn syns_in() -> Vec<Vec<u8>> {
    (1..=4u16)
        .map(|p| tcp4(CLIENT, HOST, 40000 + p, p, 1000, 0, SYN, 10 + p))
        .collect()
}

/// Once IPsec has reached the host on an interface, a later packet from it may be one an SA
/// decapsulated (tunnel mode gives the inner packet back on that device, with a `sec_path`):
/// `-m policy --dir in` is uncertain for it, not a certain "no policy". Here the kernel has no
/// xfrm state (this machine's kernel has no ESP/AH/IPcomp transforms at all), so each packet
/// really is plain: fwcheck's uncertain verdicts are the kernel's, and with `--ipsec none`
/// they are certain again. IPsec the ruleset drops, and IKE on port 4500, carry nothing.
fn policy_after_ipsec_traffic() {
    for (carrier, carries) in [
        (esp(1), true),
        (esp_in_udp(1), true),
        (ike_on_4500(1), false),
    ] {
        for carriers_pass in [true, false] {
            let mut frames = vec![carrier.clone()];
            frames.extend(syns_in());
            let rules = rules(carriers_pass);
            let want_uncertain = carries && carriers_pass;
            for ipsec_none in [false, true] {
                let cmp = run(&rules, &frames, ipsec_none);
                assert_eq!(cmp.mismatches, 0, "{}", cmp.render(true));
                let kernel: Vec<_> = cmp.frames[1..].iter().map(|f| f.kernel).collect();
                let want = [Some("ACCEPT"), Some("DROP"), Some("DROP"), Some("DROP")];
                assert_eq!(kernel, want, "{}", cmp.render(true));
                for f in &cmp.frames[1..] {
                    let uncertain = want_uncertain && !ipsec_none;
                    assert_eq!(
                        !f.fwcheck_certain,
                        uncertain,
                        "carrier passes {carriers_pass}, --ipsec none {ipsec_none}: {}",
                        f.line()
                    );
                    if uncertain {
                        assert!(f.line().contains("decapsulated"), "{}", f.line());
                    }
                }
            }
        }
    }
}

kernel_tests!(policy_without_ipsec_state, policy_after_ipsec_traffic);
