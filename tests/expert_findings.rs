//! FW011–FW015 and FW020 (findings an expert would give): what they say on every fixture ruleset (pinned,
//! so a new false alarm shows up here), and the shapes they must not fire on. The kernel's side
//! of each finding is in `kernel_findings.rs`.

use fwcheck::analysis::{self, CheckOptions, Finding};
use fwcheck::lint::{load_str, Loaded};
use fwcheck::ruleset::{Family, ParseOptions};

fn load(name: &str, text: &str) -> Loaded {
    let family = if name.ends_with(".v6") {
        Family::V6
    } else {
        Family::V4
    };
    let l = load_str(
        name,
        text,
        ParseOptions {
            family,
            ..ParseOptions::default()
        },
    );
    assert!(!l.has_errors(), "{name}: {}", l.render_diagnostics(false));
    l
}

fn expert(l: &Loaded) -> Vec<(&'static str, usize)> {
    analysis::static_findings(l, &CheckOptions::default())
        .into_iter()
        .filter(|f| ("FW011".."FW016").contains(&f.code) || f.code == "FW020")
        .map(|f| (f.code, f.line.unwrap_or(0)))
        .collect()
}

#[test]
fn what_they_say_on_every_fixture_ruleset() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let expected: &[(&str, &[(&str, usize)])] = &[
        (
            "guides/guide-001-apache.rules.v4",
            &[
                ("FW011", 5),
                ("FW011", 6),
                ("FW011", 8),
                ("FW012", 10),
                ("FW012", 11),
                ("FW012", 12),
                ("FW015", 13),
            ],
        ),
        // ESTABLISHED accepted, RELATED ICMP not: a PMTU black hole for its web server.
        ("guides/guide-000-webserver.rules.v4", &[("FW014", 2)]),
        // hashlimits (one a byte rate) on UDP ports after RELATED,ESTABLISHED.
        ("kernel/knock.rules.v4", &[("FW013", 13), ("FW013", 14)]),
        // `--ctstate RELATED -j DROP`, on purpose.
        ("kernel/probe-related.rules.v4", &[("FW014", 5)]),
        ("kernel/probe-related.rules.v6", &[("FW014", 5)]),
    ];
    let mut files = Vec::new();
    for dir in ["guides", "real", "kernel", "ftp"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            if n.contains(".rules.v") {
                files.push(format!("{dir}/{n}"));
            }
        }
    }
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut wrong = Vec::new();
    for f in &files {
        let l = load(f, &std::fs::read_to_string(root.join(f)).unwrap());
        let got = expert(&l);
        let want: Vec<(&str, usize)> = expected
            .iter()
            .find(|(n, _)| n == f)
            .map(|(_, v)| v.to_vec())
            .unwrap_or_default();
        if got != want {
            wrong.push(format!("{f}: got {got:?}, expected {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

const HEAD: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n";

fn findings(body: &str) -> Vec<Finding> {
    let l = load("rules.v4", &format!("{HEAD}{body}COMMIT\n"));
    analysis::static_findings(&l, &CheckOptions::default())
        .into_iter()
        .filter(|f| ("FW011".."FW016").contains(&f.code))
        .collect()
}

fn codes(body: &str) -> Vec<&'static str> {
    findings(body).iter().map(|f| f.code).collect()
}

const EST: &str = "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";

#[test]
fn quiet_on_what_is_right() {
    // A sound web server: nothing.
    assert!(codes(&format!(
        "{EST}-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n-A INPUT -j DROP\n"
    ))
    .contains(&"FW015"));
    assert_eq!(
        codes(&format!(
            "{EST}-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n"
        )),
        Vec::<&str>::new()
    );
    // A ban placed before the accepts; an exception inside a banned network (accept a host,
    // then drop its network); a ban after ESTABLISHED-only and lo accepts.
    for body in [
        "-A INPUT -s 192.0.2.7/32 -j DROP\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n",
        "-A INPUT -s 10.1.2.3/32 -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -s 10.0.0.0/8 -j DROP\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n",
        "-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -s 192.0.2.7/32 -j DROP\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n",
    ] {
        assert!(!codes(&format!("{EST}{body}")).contains(&"FW012"), "{body}");
    }
    // A limit that says NEW, an ICMP limit, a limit with no ESTABLISHED accept before it.
    for body in [
        format!("{EST}-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m limit --limit 3/min -j ACCEPT\n"),
        format!("{EST}-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 1/s -j ACCEPT\n"),
        "-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j ACCEPT\n".to_string(),
    ] {
        assert!(!codes(&body).contains(&"FW013"), "{body}");
    }
    // A DROP followed by an ACCEPT, a DROP in a user chain, a DROP under policy ACCEPT.
    for text in [
        format!("{HEAD}-A INPUT -s 192.0.2.7/32 -j DROP\n-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"),
        format!("{HEAD}:BAN - [0:0]\n-A INPUT -j BAN\n-A BAN -s 192.0.2.7/32 -j DROP\nCOMMIT\n"),
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.7/32 -j DROP\nCOMMIT\n".to_string(),
    ] {
        let l = load("rules.v4", &text);
        let got = expert(&l);
        assert!(!got.iter().any(|(c, _)| *c == "FW015"), "{text}: {got:?}");
    }
}

#[test]
fn each_fires_with_its_lines_and_a_verified_fix() {
    let out = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n\
               -A INPUT -p udp -m udp --dport 53 -j ACCEPT\n\
               -A OUTPUT -p udp -m udp --dport 53 -j ACCEPT\nCOMMIT\n";
    let l = load("rules.v4", out);
    let f: Vec<Finding> = analysis::static_findings(&l, &CheckOptions::default())
        .into_iter()
        .filter(|f| f.code == "FW011")
        .collect();
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("udp/53") && f[0].line == Some(5),
        "{f:?}"
    );
    assert!(f[0].fix.as_deref().unwrap().contains("verified"));

    let f = findings(&format!(
        "{EST}-A INPUT -p tcp -m tcp --dport 22 -m limit --limit 3/min -j ACCEPT\n"
    ));
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].code, f[0].line), ("FW013", Some(6)));
    assert!(f[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("--dport 22 -m conntrack --ctstate NEW -m limit --limit 3/min -j ACCEPT"));

    let f = findings(
        "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\n",
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].code, "FW014");
    assert!(f[0].fix.as_deref().unwrap().contains(
        "-A INPUT -p icmp -m conntrack --ctstate RELATED -j ACCEPT` at the end of filter INPUT"
    ));
    assert!(f[0].fix.as_deref().unwrap().contains("(verified"));
}

/// FW020: FTP's control connection works, its passive data connection does not.
#[test]
fn ftp_without_its_helper() {
    let ftp = "-A INPUT -p tcp -m tcp --dport 21 -j ACCEPT\n";
    let fw020 = |text: &str, name: &str| -> Vec<Finding> {
        let l = load(name, text);
        analysis::static_findings(&l, &CheckOptions::default())
            .into_iter()
            .filter(|f| f.code == "FW020")
            .collect()
    };
    // No helper: the data connection is NEW; attaching the helper is the verified fix.
    let f = fw020(&format!("{HEAD}{EST}{ftp}COMMIT\n"), "rules.v4");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("NEW"), "{}", f[0].message);
    let fix = f[0].fix.as_deref().unwrap_or("");
    assert!(
        fix.contains("CT --helper ftp") && fix.contains("verified"),
        "{fix}"
    );
    // The helper, but only ESTABLISHED accepted: RELATED and dropped; the fix accepts it.
    let raw = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A PREROUTING -p tcp -m tcp --dport 21 -j CT --helper ftp\nCOMMIT\n";
    let est_only = "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n";
    let f = fw020(&format!("{raw}{HEAD}{est_only}{ftp}COMMIT\n"), "rules.v4");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("RELATED"), "{}", f[0].message);
    let fix = f[0].fix.as_deref().unwrap_or("");
    assert!(!fix.contains("CT --helper"), "{fix}");
    assert!(
        fix.contains("--helper ftp -j ACCEPT") && fix.contains("verified"),
        "{fix}"
    );
    // IPv6 (EPSV, 229), no helper.
    let f = fw020(&format!("{HEAD}{EST}{ftp}COMMIT\n"), "rules.v6");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("229"), "{}", f[0].message);
    // Right: helper and RELATED accepted; or no FTP at all.
    assert!(fw020(&format!("{raw}{HEAD}{EST}{ftp}COMMIT\n"), "rules.v4").is_empty());
    let web = "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\n";
    assert!(fw020(&format!("{HEAD}{EST}{web}COMMIT\n"), "rules.v4").is_empty());
}

/// An INPUT chain opening more ports than FW011 checks (64 sessions): the ports past the bound
/// are named in a note, never left out silently.
#[test]
fn fw011_names_the_ports_past_its_bound() {
    let mut text =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for p in 0..70 {
        text += &format!("-A INPUT -p tcp -m tcp --dport {} -j ACCEPT\n", 2000 + p);
    }
    text += "COMMIT\n";
    let l = load("many.rules.v4", &text);
    let f = analysis::services::check(&l.ruleset, &CheckOptions::default());
    let notes: Vec<&Finding> = f.iter().filter(|f| f.code == "FW011").collect();
    assert_eq!(notes.len(), 1, "{f:#?}");
    assert_eq!(notes[0].severity, analysis::Level::Note);
    assert!(notes[0].message.contains("6 more were not"), "{notes:#?}");
    let named: Vec<String> = (2064..2070).map(|p| format!("tcp/{p}")).collect();
    assert_eq!(notes[0].details, named);
}
