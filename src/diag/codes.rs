//! Every diagnostic code fwcheck reports, in one table: input errors (`E1xx`, the ones
//! `iptables-restore` refuses a file for), input warnings (`W0xx`, loaded but worth knowing) and
//! the findings of the analyses (`FWxxx`). Emitters use the constants below; SARIF rules,
//! `fwcheck explain` and the README's code table are generated from [`CODES`] (a test checks
//! the README against it).
//!
//! The E-codes mirror the places where iptables-restore (`iptables/xshared.c`,
//! `libxtables/xtables.c` option parsing) and the kernel's table checks
//! (`net/netfilter/x_tables.c`, `ip_tables.c: mark_source_chains`) reject a ruleset.

use std::fmt::Write as _;

use serde::Serialize;

use super::Severity;

/// One code: what it means, an example that triggers it and the fix.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CodeInfo {
    pub code: &'static str,
    /// Stable short name (SARIF `name`).
    pub name: &'static str,
    pub severity: Severity,
    /// One line.
    pub title: &'static str,
    /// What it means.
    pub means: &'static str,
    /// Input that triggers it.
    pub example: &'static str,
    /// What to do about it.
    pub fix: &'static str,
}

impl CodeInfo {
    /// What it means and what to do, as one paragraph (SARIF `help`).
    pub fn help(&self) -> String {
        format!("{} Fix: {}", self.means, self.fix)
    }
}

// Input errors: the file does not load (iptables-restore refuses it).
pub(crate) const SYNTAX: &str = "E100";
pub(crate) const UNKNOWN_CHAIN: &str = "E101";
pub(crate) const POLICY: &str = "E102";
pub(crate) const DUP_CHAIN: &str = "E103";
pub(crate) const VALUE: &str = "E104";
pub const NO_COMMIT: &str = "E105";
pub(crate) const NO_TABLE: &str = "E106";
pub(crate) const NO_MODULE: &str = "E107";
pub(crate) const MISSING_VALUE: &str = "E108";
pub(crate) const CONTEXT: &str = "E109";
pub(crate) const LOOP: &str = "E110";
pub const COMMAND: &str = "E111";
pub(crate) const NESTING: &str = "E112";
pub(crate) const EXPANSION: &str = "E113";
pub const NO_SET: &str = "E114";
pub(crate) const LEGACY: &str = "E115";
// Input warnings: loaded, but not as one might think.
pub(crate) const QUOTE: &str = "W001";
pub(crate) const UNKNOWN_EXT: &str = "W002";

pub(crate) const TABLE_REPLACED: &str = "W004";
pub(crate) const IGNORED: &str = "W005";
pub(crate) const BACKEND: &str = "W006";
pub(crate) const HOST_STATE: &str = "W007";
pub(crate) const WEIRD_IFACE: &str = "W008";
pub(crate) const SAVE_CHANGES_MEANING: &str = "W009";
pub(crate) const OTHER_FAMILY_ICMP: &str = "W010";
// Findings of the analyses.
pub(crate) const LOCKOUT: &str = "FW001";
pub(crate) const ICMP_TUNNEL: &str = "FW002";
pub(crate) const UNSOLICITED_INBOUND: &str = "FW003";
pub(crate) const INVALID_ACCEPTED: &str = "FW004";
pub(crate) const OUTBOUND_EXPOSURE: &str = "FW005";
pub(crate) const SHADOWED_RULE: &str = "FW006";
pub(crate) const REDUNDANT_RULE: &str = "FW007";
pub(crate) const RULE_NEVER_HIT: &str = "FW008";
pub(crate) const LOOPBACK_BLOCKED: &str = "FW009";
pub(crate) const EXPECTATION_FAILED: &str = "FW010";
pub(crate) const DEAD_SERVICE: &str = "FW011";
pub(crate) const DROP_AFTER_ACCEPT: &str = "FW012";
pub(crate) const LIMIT_COUNTS_CONNECTIONS: &str = "FW013";
pub(crate) const ICMP_ERRORS_DROPPED: &str = "FW014";
pub(crate) const DROP_EQUALS_POLICY: &str = "FW015";
pub(crate) const PUBLISHED_PORT_BYPASSES_INPUT: &str = "FW016";
pub(crate) const FORWARD_RULE_ON_PRE_DNAT_PORT: &str = "FW017";
pub(crate) const FAMILY_PARITY: &str = "FW018";
pub(crate) const OTHER_FAMILY_UNCHECKED: &str = "FW019";
pub(crate) const FTP_DATA_BLOCKED: &str = "FW020";
pub(crate) const TIME_BACKWARDS: &str = "FW021";
pub(crate) const AFTER_TERMINAL: &str = "FW101";
pub(crate) const UNREACHABLE_CHAIN: &str = "FW102";

use Severity::{Error, Note, Warning};

pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: SYNTAX,
        name: "syntax",
        severity: Error,
        title: "syntax: bad token, quote, `!` placement, ambiguous option, unknown table",
        means: "The line cannot be read as iptables reads it: an unterminated quote, a `!` where \
                none may stand, an option prefix that names two options, an unknown table or \
                command. iptables-restore refuses the whole file.",
        example: "-A INPUT -m comment --comment \"open -j ACCEPT   (the quote is not closed)",
        fix: "Write the option or word out in full as iptables-save prints it; the diagnostic \
              shows what was expected at the caret.",
    },
    CodeInfo {
        code: UNKNOWN_CHAIN,
        name: "unknown-chain",
        severity: Error,
        title: "unknown chain in `-j`/`-g`, `-A`, `-P` … (or used before it is declared)",
        means: "A rule jumps to, appends to or sets a policy on a chain that does not exist at \
                that point of the input.",
        example: "*filter\n-A INPUT -j LOGDROP\nCOMMIT   (no `:LOGDROP - [0:0]` declared)",
        fix: "Declare the chain (`:NAME - [0:0]` in a restore file, `iptables -N NAME` in a \
              script) before it is used, or correct the name.",
    },
    CodeInfo {
        code: POLICY,
        name: "bad-policy",
        severity: Error,
        title: "invalid policy, or a policy on a user chain",
        means: "Built-in chains take ACCEPT or DROP as policy; user chains have none (`-`).",
        example: ":INPUT REJECT [0:0]",
        fix: "Use ACCEPT or DROP (add a final `-j REJECT` rule instead), and `-` for user chains.",
    },
    CodeInfo {
        code: DUP_CHAIN,
        name: "duplicate-chain",
        severity: Error,
        title: "chain declared twice",
        means: "The same chain is declared twice in one table block, or `-N` creates a chain \
                that exists (`Chain already exists`).",
        example: ":SSH - [0:0]\n:SSH - [0:0]",
        fix: "Delete the second declaration.",
    },
    CodeInfo {
        code: VALUE,
        name: "bad-value",
        severity: Error,
        title: "bad value: port, range, address, mask, number, name",
        means: "An option's value is not one the extension accepts (libxtables and the \
                extension's own parser refuse it).",
        example: "-A INPUT -p tcp --dport 90:80 -j ACCEPT   (range upside down)",
        fix: "Give a value in the form and range the diagnostic names.",
    },
    CodeInfo {
        code: NO_COMMIT,
        name: "missing-commit",
        severity: Error,
        title: "table without `COMMIT`",
        means: "A `*table` block is not ended by COMMIT before the next table or the end of \
                the file: iptables-restore applies nothing of it.",
        example: "*filter\n:INPUT DROP [0:0]\n*nat",
        fix: "End every table block with a COMMIT line.",
    },
    CodeInfo {
        code: NO_TABLE,
        name: "outside-table",
        severity: Error,
        title: "line outside any `*table` block",
        means: "A chain declaration or rule comes before the first `*table` line or after a \
                COMMIT, where iptables-restore does not know which table it belongs to.",
        example: "-A INPUT -j ACCEPT\n*filter",
        fix: "Put the line inside a `*table … COMMIT` block.",
    },
    CodeInfo {
        code: NO_MODULE,
        name: "option-without-module",
        severity: Error,
        title: "option of a module that is not loaded and not implicit",
        means: "An option belongs to a match that is neither loaded with `-m` nor implied by \
                `-p` (iptables: `unknown option`).",
        example: "-A INPUT --dport 22 -j ACCEPT   (no `-p tcp`)",
        fix: "Load the module first: `-p tcp --dport 22` or `-m multiport --dports 22,80`.",
    },
    CodeInfo {
        code: MISSING_VALUE,
        name: "missing-value",
        severity: Error,
        title: "missing value",
        means: "An option that takes a value is the last word of the line (a following option \
                word would be read as its value).",
        example: "-A INPUT -p tcp -j ACCEPT --dport",
        fix: "Give the value after the option.",
    },
    CodeInfo {
        code: CONTEXT,
        name: "wrong-context",
        severity: Error,
        title: "valid only elsewhere: target/match outside its tables or hooks, `-o` in INPUT, …",
        means: "The kernel's checkentry refuses the rule where it stands: a target outside its \
                tables (DNAT in filter), a match or target at a hook it does not support (also \
                when reached through a user chain), an output interface in INPUT.",
        example: "*filter\n-A INPUT -p tcp -j DNAT --to-destination 192.0.2.1",
        fix: "Move the rule to the table and chain where it is valid (DNAT in nat PREROUTING or \
              OUTPUT), or drop the option the hook cannot see.",
    },
    CodeInfo {
        code: LOOP,
        name: "jump-loop",
        severity: Error,
        title: "jump loop that a built-in chain reaches",
        means: "Chains that a built-in chain reaches jump to each other in a circle; the \
                kernel refuses the table (`mark_source_chains`: Too many levels of symbolic \
                links). A circle nothing reaches loads (FW102).",
        example: "-A INPUT -j A\n-A A -j B\n-A B -j A",
        fix: "Break the circle: one of the jumps must go.",
    },
    CodeInfo {
        code: COMMAND,
        name: "command-failed",
        severity: Error,
        title: "command problem (`-D` of a missing rule, `-X` of a referenced chain, …)",
        means: "A restore or script command cannot be applied to the ruleset as it stands: \
                deleting a rule that does not exist, a chain still referenced or not empty, a \
                rule number past the end.",
        example: "iptables -D INPUT -p tcp --dport 23 -j ACCEPT   (no such rule)",
        fix: "Apply the commands in an order in which each one's object exists, or remove the \
              command.",
    },
    CodeInfo {
        code: NESTING,
        name: "jump-nesting",
        severity: Error,
        title: "nf_tables only: a chain nested 16 jumps deep from a built-in chain (`Too many links`), naming the path",
        means: "nf_tables limits jump nesting to 16 levels; iptables-nft refuses the ruleset \
                (iptables-legacy loads it).",
        example: "INPUT -> C1 -> C2 -> … -> C16",
        fix: "Flatten the chain structure, or load with iptables-legacy (`--backend legacy`).",
    },
    CodeInfo {
        code: EXPANSION,
        name: "expansion",
        severity: Error,
        title: "one rule line expands to more than 100,000 rules (address lists multiply)",
        means: "iptables turns `-s A,B,…` and `-d X,Y,…` into one rule per source and \
                destination pair; a line with thousands of each asks for millions of rules, \
                which iptables would try to load one by one. fwcheck refuses it before \
                allocating them.",
        example: "iptables -A INPUT -s <3,000 addresses> -d <3,000 addresses> -j DROP   (9,000,000 rules)",
        fix: "Use an ipset (`-m set --match-set NAME src`) or split the line; a list on one \
              side only is usually what was meant.",
    },
    CodeInfo {
        code: NO_SET,
        name: "set-not-on-host",
        severity: Error,
        title: "a rule names an ipset the host's sets (--ipset) do not hold",
        means: "With `--ipset FILE` the host's sets are known. `-m set --match-set NAME` and \
                `-j SET --add-set/--del-set/--map-set NAME` look the set up when the rule is \
                loaded: on that host iptables-restore refuses the rule (\"Set NAME doesn't \
                exist\") and the whole file with it. Without --ipset, sets are unknown and any \
                name loads.",
        example: "-A INPUT -m set --match-set blocklist src -j DROP   (with --ipset sets.txt, which creates no `blocklist`)",
        fix: "Create the set before the rules (`ipset create` in the --ipset file, as on the \
              host), or fix the set's name in the rule.",
    },
    CodeInfo {
        code: LEGACY,
        name: "legacy-negation",
        severity: Error,
        title: "legacy negation form `--opt ! value`: iptables 1.8 refuses it",
        means: "Old iptables read `-s ! ADDR` and `--dport ! PORT` as negations; iptables 1.8 \
                (nft and legacy) refuses the command (\"Bad argument\", \"invalid \
                port/service `!'\"): a script goes on without the rule, iptables-restore \
                refuses the whole file.",
        example: "-A INPUT -p tcp --dport ! 22 -j DROP",
        fix: "Put the `!` before the option: `! --dport 22`.",
    },
    CodeInfo {
        code: QUOTE,
        name: "single-quotes",
        severity: Warning,
        title: "single quotes (iptables-restore does not understand them)",
        means: "iptables-restore only knows double quotes; single quotes become part of the \
                value (ufw's `--comment 'dapp_OpenSSH'` loads with its quotes), and a space \
                inside them ends the word, so such a line fails.",
        example: "-A INPUT -m comment --comment 'ssh in' -j ACCEPT",
        fix: "Use double quotes in restore files.",
    },
    CodeInfo {
        code: UNKNOWN_EXT,
        name: "unknown-extension",
        severity: Warning,
        title: "unknown match module or target kept verbatim",
        means: "fwcheck does not know the match or target; the rule is kept as written and \
                its effect is unknown, so every verdict it could influence is uncertain.",
        example: "-A INPUT -m geoip --src-cc XX -j DROP",
        fix: "None needed if the module exists on the host; verdicts through the rule are \
              reported as uncertain.",
    },
    CodeInfo {
        code: TABLE_REPLACED,
        name: "table-replaced",
        severity: Warning,
        title: "a second block of the same table replaces the first",
        means: "iptables-restore without --noflush flushes a table each time its block starts: \
                the rules of the first block are gone.",
        example: "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*filter\nCOMMIT",
        fix: "Merge the blocks into one.",
    },
    CodeInfo {
        code: IGNORED,
        name: "ignored",
        severity: Warning,
        title: "command or rule ignored (other family, `-6` in iptables)",
        means: "The line applies to the other address family, or is a shell construct fwcheck \
                does not run (loops, conditionals), so it is not applied.",
        example: "iptables -6 -A INPUT -j ACCEPT",
        fix: "Check the other family's rules with its own file, and unroll loops.",
    },
    CodeInfo {
        code: BACKEND,
        name: "backend-difference",
        severity: Warning,
        title: "iptables-nft and iptables-legacy disagree (e.g. `-j QUEUE`)",
        means: "The two iptables implementations load different kernel code for this rule and \
                can give different verdicts.",
        example: "-A INPUT -j QUEUE",
        fix: "Simulate with the backend the host uses (`--backend nft|legacy`), or use a rule \
              both treat alike (`-j NFQUEUE --queue-num 0`).",
    },
    CodeInfo {
        code: HOST_STATE,
        name: "host-state",
        severity: Warning,
        title: "depends on host state fwcheck does not see (helpers, ipsets, SELinux)",
        means: "The rule's effect depends on state outside the ruleset (ipset contents, \
                conntrack helpers, security contexts); verdicts it influences are uncertain.",
        example: "-A INPUT -m set --match-set blocklist src -j DROP",
        fix: "None needed; such verdicts are reported as uncertain.",
    },
    CodeInfo {
        code: WEIRD_IFACE,
        name: "weird-interface",
        severity: Warning,
        title: "interface name with `/` or a space: the kernel never matches it and iptables-save prints it unquoted, so the saved rule does not read back the same (iptables-restore warns too)",
        means: "Linux interface names cannot contain `/` or whitespace; such a rule never matches.",
        example: "-A INPUT -i \"eth0/1\" -j ACCEPT",
        fix: "Use the real interface name (`ip link`).",
    },
    CodeInfo {
        code: SAVE_CHANGES_MEANING,
        name: "save-changes-meaning",
        severity: Warning,
        title: "a rule iptables loads but whose `iptables-save` form reads back as a different rule (`-m time --monthdays 0`, `--datestop 1970-01-01T00:00:00`: never match, but saved as a rule that does)",
        means: "The kernel never matches the rule, but iptables-save prints it without the \
                value, so saving and restoring turns it into a rule that matches.",
        example: "-A INPUT -m time --monthdays 0 -j DROP",
        fix: "Delete the rule, or give the value you meant.",
    },
    CodeInfo {
        code: OTHER_FAMILY_ICMP,
        name: "other-family-icmp",
        severity: Warning,
        title: "`-p icmp` in ip6tables rules (or `-p ipv6-icmp` in iptables rules): loads, but matches the other family's protocol number, which ICMP of this family never carries",
        means: "ip6tables `-p icmp` matches IPv6 packets whose next header is 1, not ICMPv6 \
                (58); iptables `-p ipv6-icmp` matches IPv4 protocol 58, not ICMP (1). Pings, \
                and for IPv6 neighbour discovery, are not what the rule sees.",
        example: "ip6tables -A INPUT -p icmp -j ACCEPT",
        fix: "Use `-p ipv6-icmp` (`-p icmpv6`) in ip6tables rules and `-p icmp` in iptables \
              rules.",
    },
    CodeInfo {
        code: LOCKOUT,
        name: "lockout",
        severity: Error,
        title: "the ruleset would lock the administrator out (statically, or seen in the capture)",
        means: "An established management session (the one you load the rules from) must keep \
                passing both ways, and a new one must complete; the finding names the packet \
                that fails and the rule or policy that drops it.",
        example: ":INPUT DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT   (no OUTPUT accept for the replies)",
        fix: "The verified rule(s) printed with the finding; typically accept \
              `RELATED,ESTABLISHED` at the top of INPUT and OUTPUT and `NEW` to the \
              management port from the admin network.",
    },
    CodeInfo {
        code: ICMP_TUNNEL,
        name: "icmp-tunnel",
        severity: Warning,
        title: "ICMP tunnel exposure: large high-entropy echo requests accepted inbound and their replies outbound (or such traffic seen in the capture)",
        means: "Echo requests with large, high-entropy payloads are accepted inbound and their \
                replies outbound, which is all ptunnel or icmpsh need.",
        example: "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
        fix: "Limit echo requests by size and rate: `-p icmp --icmp-type echo-request -m length \
              --length 0:128 -m limit --limit 5/second -j ACCEPT`.",
    },
    CodeInfo {
        code: UNSOLICITED_INBOUND,
        name: "unsolicited-inbound",
        severity: Warning,
        title: "unsolicited inbound accepted by a rule that looks like a reply rule (`--sport 53`, `--sport 80` without a state check)",
        means: "A rule that matches on a source port without a state check accepts any packet \
                sent from that port, including ones nobody asked for.",
        example: "-A INPUT -p udp --sport 53 -j ACCEPT",
        fix: "Add `-m conntrack --ctstate ESTABLISHED` to it, or accept `RELATED,ESTABLISHED` \
              once at the top and delete it.",
    },
    CodeInfo {
        code: INVALID_ACCEPTED,
        name: "invalid-accepted",
        severity: Warning,
        title: "INVALID packets accepted (XMAS, NULL, SYN+FIN, a SYN/ACK of no connection)",
        means: "Packets conntrack classifies INVALID (impossible TCP flag combinations, SYN/ACKs \
                and ACKs of no connection) reach an ACCEPT.",
        example: "-A INPUT -p tcp --dport 80 -j ACCEPT   (no INVALID drop before it)",
        fix: "`-A INPUT -m conntrack --ctstate INVALID -j DROP` at the top of INPUT.",
    },
    CodeInfo {
        code: OUTBOUND_EXPOSURE,
        name: "outbound-exposure",
        severity: Note,
        title: "outbound exposure: the host may open new connections to any address, listed per port tried",
        means: "New outbound connections are accepted to any address on the listed ports, an \
                exfiltration path for a compromised service.",
        example: ":OUTPUT ACCEPT [0:0]",
        fix: "Restrict OUTPUT to the destinations the host needs (package mirrors, DNS, SMTP \
              relay).",
    },
    CodeInfo {
        code: SHADOWED_RULE,
        name: "shadowed-rule",
        severity: Warning,
        title: "shadowed rule: an earlier rule of the chain takes every packet it would match, with another action",
        means: "Every packet this rule would match is decided earlier, differently; the rule \
                can never match.",
        example: "-A INPUT -p tcp -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT",
        fix: "Move it above the rule that shadows it, narrow that rule, or delete this one.",
    },
    CodeInfo {
        code: REDUNDANT_RULE,
        name: "redundant-rule",
        severity: Note,
        title: "redundant rule: an earlier rule already does the same for all its packets (the rules of one line of address lists covered by those of another: one finding that counts them)",
        means: "Every packet this rule would match is already decided the same way by an \
                earlier rule.",
        example: "-A INPUT -p tcp -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT",
        fix: "Delete it.",
    },
    CodeInfo {
        code: RULE_NEVER_HIT,
        name: "rule-never-hit",
        severity: Note,
        title: "rule never hit by the capture",
        means: "No packet of the capture matched this rule.",
        example: "-A INPUT -p tcp --dport 23 -j ACCEPT   (with a capture without telnet)",
        fix: "If the capture is representative, consider whether the rule is obsolete.",
    },
    CodeInfo {
        code: LOOPBACK_BLOCKED,
        name: "loopback-blocked",
        severity: Warning,
        title: "loopback traffic is blocked",
        means: "Local services talking to each other over lo (databases, DNS stubs, SSH port \
                forwarding) are dropped.",
        example: ":INPUT DROP [0:0]   (no `-i lo` accept)",
        fix: "`-A INPUT -i lo -j ACCEPT`, `-A OUTPUT -o lo -j ACCEPT` at the top.",
    },
    CodeInfo {
        code: EXPECTATION_FAILED,
        name: "expectation-failed",
        severity: Error,
        title: "an expectation from `--expect` does not hold",
        means: "A check from the --expect file gave another verdict than expected; the result \
                names the address tried, what happened and the deciding rule.",
        example: "[[expect]] name = \"ssh\" flow = \"tcp 198.51.100.7 > 203.0.113.10:22\" verdict = \"accept\"   (but the ruleset drops it)",
        fix: "Change the rule the result names, or the expectation if the ruleset is right.",
    },
    CodeInfo {
        code: DEAD_SERVICE,
        name: "dead-service",
        severity: Error,
        title: "dead service: a port INPUT accepts new connections to can never answer, its SYN/ACK (UDP reply) is dropped in OUTPUT; names the INPUT rule and the rule or policy that drops the answer",
        means: "A new connection to the port is accepted in INPUT, but the host's answer is \
                dropped in OUTPUT, so no client ever gets through. The first 64 ports INPUT \
                accepts are checked; past them, a note names the ports not checked.",
        example: ":OUTPUT DROP [0:0]\n-A INPUT -p tcp --dport 80 -j ACCEPT",
        fix: "The verified rule printed, typically `-A OUTPUT -m conntrack --ctstate \
              RELATED,ESTABLISHED -j ACCEPT`.",
    },
    CodeInfo {
        code: DROP_AFTER_ACCEPT,
        name: "drop-after-accept",
        severity: Warning,
        title: "a DROP by source (`-s`, `-m iprange --src-range`) never applies to the services accepted before it (partial shadowing; FW006 is the full case); names the ACCEPTs and the traffic that escapes; one finding a line (the rules a line of address lists loads are moved together)",
        means: "A rule dropping a source address or range comes after ACCEPTs that take new \
                connections from everyone: traffic from the banned source to those services \
                is accepted first.",
        example: "-A INPUT -p tcp --dport 80 -j ACCEPT\n-A INPUT -s 198.51.100.7 -j DROP",
        fix: "Move the DROP above the first such ACCEPT (verified with the escaping packets).",
    },
    CodeInfo {
        code: LIMIT_COUNTS_CONNECTIONS,
        name: "limit-counts-connections",
        severity: Warning,
        title: "a rate limit (`limit`, `hashlimit`) with no state test after an ESTABLISHED accept: it sees only the first packet of each connection, so it limits connections, not packets",
        means: "Only the first packet of each connection reaches the limit: `--limit 10/second` \
                means ten new connections a second, not ten packets.",
        example: "-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n-A INPUT -p tcp --dport 22 -m limit --limit 3/min -j ACCEPT",
        fix: "Add `-m conntrack --ctstate NEW` before the limit so the rule says what it does \
              (verified: no verdict changes).",
    },
    CodeInfo {
        code: ICMP_ERRORS_DROPPED,
        name: "icmp-errors-dropped",
        severity: Warning,
        title: "ICMP errors about the host's own connections (fragmentation-needed / packet-too-big, unreachable) are dropped: ESTABLISHED accepted, RELATED not — a PMTU black hole",
        means: "ICMP errors quoting an accepted connection are RELATED in conntrack; a ruleset \
                that accepts ESTABLISHED but not RELATED drops them: path MTU discovery fails \
                and connection errors are noticed only by timeout.",
        example: ":INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT",
        fix: "`-A INPUT -p icmp -m conntrack --ctstate RELATED -j ACCEPT` (or \
              `RELATED,ESTABLISHED`), verified.",
    },
    CodeInfo {
        code: DROP_EQUALS_POLICY,
        name: "drop-equals-policy",
        severity: Note,
        title: "a DROP rule that only repeats the chain's DROP policy (a plain DROP followed only by DROPs)",
        means: "A plain DROP at the end of a built-in chain whose policy is DROP changes no \
                verdict.",
        example: ":INPUT DROP [0:0]\n-A INPUT -j DROP",
        fix: "Delete it, unless its counters are read (verified).",
    },
    CodeInfo {
        code: PUBLISHED_PORT_BYPASSES_INPUT,
        name: "published-port-bypasses-input",
        severity: Error,
        title: "a port denied by INPUT is reachable from outside through DNAT and FORWARD",
        means: "A DNAT in PREROUTING (Docker's `-p HOST:CONTAINER`, a port forward) rewrites the \
                destination before routing, so the packet is forwarded to another interface and \
                INPUT's policy and rules never see it: the host's firewall \"says deny\" and the \
                port is open. The first 64 published ports are probed; past them, a note names \
                the ports not probed.",
        example: ":INPUT DROP [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
                  -A DOCKER ! -i docker0 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n\
                  -A FORWARD -o docker0 -d 172.17.0.2 -p tcp --dport 80 -j ACCEPT",
        fix: "Block it in FORWARD (DOCKER-USER for Docker) by the port the client used, which \
              conntrack keeps: -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 \
              --ctdir ORIGINAL -j DROP (verified by re-running the probe), or publish the port on \
              127.0.0.1 only.",
    },
    CodeInfo {
        code: FORWARD_RULE_ON_PRE_DNAT_PORT,
        name: "forward-rule-on-pre-dnat-port",
        severity: Warning,
        title: "a FORWARD-side rule matches a published host port it never sees",
        means: "FORWARD (and DOCKER-USER) see a published port's packets after DNAT, with the \
                container's address and port; --dport HOSTPORT never matches them.",
        example: "-A DOCKER-USER -i eth0 -p tcp --dport 8080 -j DROP   (8080 is DNATed to :80)",
        fix: "Match the original port: -m conntrack --ctorigdstport HOSTPORT --ctdir ORIGINAL.",
    },
    CodeInfo {
        code: FAMILY_PARITY,
        name: "family-parity",
        severity: Warning,
        title: "a service is reachable over IPv4 but not IPv6, or the other way round (--parity)",
        means: "The same new connection (a SYN, or a UDP datagram, from outside to the host) is \
                accepted by one family's ruleset and refused by the other's: a port opened in \
                rules.v4 only, or an ip6tables INPUT left at policy ACCEPT beside a default-deny \
                rules.v4. The 64 lowest ports the two files open are compared (with 22, 80, 443 \
                and an arbitrary port); past them, a note names the ports not compared.",
        example: "fwcheck rules.v4 --parity rules.v6   (rules.v6: :INPUT ACCEPT, no rules)",
        fix: "Open the port in both files or in neither; give both INPUT chains the same default.",
    },
    CodeInfo {
        code: OTHER_FAMILY_UNCHECKED,
        name: "other-family-unchecked",
        severity: Warning,
        title: "the capture has packets of the family the ruleset is not for",
        means: "An iptables ruleset never sees IPv6 packets (nor an ip6tables ruleset IPv4 ones): \
                the host's other ruleset decides them, and this run did not check it.",
        example: "fwcheck rules.v4 --pcap dual-stack.pcap   (the capture has IPv6 packets)",
        fix: "Check the other ruleset against the same capture (fwcheck rules.v6 --pcap ...) \
              and compare the families with --parity.",
    },
    CodeInfo {
        code: FTP_DATA_BLOCKED,
        name: "ftp-data-blocked",
        severity: Warning,
        title: "FTP is accepted but its passive data connections are dropped",
        means: "The control connection to port 21 works, but the data connection a 227/229 \
                reply announces is a new connection to a port the ruleset does not open: \
                without the ftp conntrack helper (attached with `CT --helper ftp` in the raw \
                table since Linux 6.0) it is NEW, with it RELATED, and either way INPUT drops \
                it. Listings and transfers hang.",
        example: "-A INPUT -p tcp --dport 21 -j ACCEPT\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT",
        fix: "Attach the helper (`iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT \
              --helper ftp`) and accept what it expects (`-m conntrack --ctstate RELATED -m \
              helper --helper ftp -j ACCEPT`); verified by replaying a passive session.",
    },
    CodeInfo {
        code: TIME_BACKWARDS,
        name: "time-goes-backwards",
        severity: Warning,
        title: "capture time stamps go backwards",
        means: "Frames are stamped earlier than a frame before them (captures merged by hand, \
                interfaces with clocks of their own, `tcpdump -i any` merging what the CPUs \
                deliver a few microseconds apart). The kernel handled each after the one \
                before, so fwcheck replays them at the latest earlier time; a verdict is \
                uncertain where that time could change it: a rate (limit, hashlimit, recent), \
                an ipset or `--ctexpire` timeout, the ICMP rate limit, or a conntrack timeout \
                that ends between the two times.",
        example: "frame 5 at 12:00:01.000 after frame 4 at 12:00:02.000",
        fix: "Replay the capture in the order the host handled it, with its time stamps \
              (`mergecap -a` keeps each file's order; `reordercap` sorts by time when the \
              order in the file is wrong).",
    },
    CodeInfo {
        code: AFTER_TERMINAL,
        name: "after-terminal",
        severity: Warning,
        title: "rules after an unconditional terminal rule can never match",
        means: "A rule without conditions ends every traversal of the chain; the rules after \
                it are dead.",
        example: "-A INPUT -j DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT",
        fix: "Move them above it or delete them.",
    },
    CodeInfo {
        code: UNREACHABLE_CHAIN,
        name: "unreachable-chain",
        severity: Warning,
        title: "user chain never reached (or a jump loop nothing reaches)",
        means: "No rule of a built-in chain leads to this chain, so its rules never run. \
                Chains nothing reaches may even jump to each other in a circle: the table \
                loads, but a jump into the circle will be refused.",
        example: ":UNUSED - [0:0]\n-A UNUSED -j ACCEPT",
        fix: "Jump to it (`-j CHAIN`) where intended, or delete it.",
    },
];

/// The entry of a code (case-insensitive).
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The README's table of codes: `| code | severity | meaning | fix |`.
pub fn markdown_table() -> String {
    let mut s = String::from("| code | severity | meaning | fix |\n|---|---|---|---|\n");
    for c in CODES {
        let cell = |t: &str| t.replace('\n', " ").replace('|', "\\|");
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.code,
            c.severity.as_str(),
            cell(c.title),
            cell(c.fix)
        );
    }
    s
}

/// `fwcheck explain CODE` as text.
pub(crate) fn explain_text(c: &CodeInfo) -> String {
    let mut s = format!(
        "{} ({}, {}): {}\n\n",
        c.code,
        c.name,
        c.severity.as_str(),
        c.title
    );
    let _ = writeln!(s, "What it means:\n  {}\n", c.means);
    let _ = writeln!(s, "Example:");
    for l in c.example.lines() {
        let _ = writeln!(s, "  {l}");
    }
    let _ = writeln!(s, "\nFix:\n  {}", c.fix);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted_by_kind() {
        let mut seen = std::collections::HashSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            assert!(seen.len() <= CODES.len());
            let kind_severity = match &c.code[..1] {
                "E" => Some(Severity::Error),
                "W" => Some(Severity::Warning),
                _ => None,
            };
            if let Some(k) = kind_severity {
                assert_eq!(c.severity, k, "{}", c.code);
            }
            for t in [c.title, c.means, c.example, c.fix] {
                assert!(!t.trim().is_empty(), "{}: empty text", c.code);
            }
        }
        assert_eq!(info("fw001").map(|c| c.code), Some(LOCKOUT));
        assert!(info("FW999").is_none());
    }
}
