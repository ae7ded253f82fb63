//! "Did you mean" suggestions for unknown chain names (no kernel counterpart: iptables only
//! says "Couldn't load target" or "No chain/target/match by that name").

use super::*;

pub(super) fn unknown_chain_diag(
    table: &TableB,
    name: &str,
    span: Span,
    what: &str,
    _src: &SourceFile,
) -> Diagnostic {
    let mut d = Diagnostic::error(code::UNKNOWN_CHAIN, span, format!("unknown chain `{name}`"))
        .expected(format!("{what} {}", table.kind));
    let names: Vec<&str> = table.chains.iter().map(|c| c.name.as_str()).collect();
    if let Some(s) = suggest(name, &names) {
        d = d.note(format!("did you mean `{s}`?"));
    }
    d
}

/// Closest candidate by edit distance (case-insensitive), if close enough.
pub(crate) fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let n = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&n, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= 1.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
