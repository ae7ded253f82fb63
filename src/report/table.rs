//! Terminal tables (comfy-table): packets, per-rule hits, summary by verdict, flows.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table};

use super::{FlowKey, PacketRecord, RuleHits, Summary};
use crate::packet::proto;

/// A table in fwcheck's style, wrapped to fit the terminal standard output is, when it is one
/// that states its width. A terminal of width 0 (a pseudo-terminal nobody sized: `script`, some
/// CI runners and `docker exec -t`) states none: comfy-table would squeeze every column to one
/// character there, so the table takes its natural width, as in a pipe.
pub fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if t.width() == Some(0) {
        t.force_no_tty();
    }
    t
}

/// The columns of the packet table, as text: frame, time, dir, src → dst, proto, ctstate,
/// verdict, decided by; then why the verdict is uncertain (empty when it is not), which the
/// table shows as a numbered note under it.
pub(crate) fn packet_fields(r: &PacketRecord, t0: f64) -> [String; 9] {
    std::array::from_fn(|i| {
        let mut s = String::new();
        match i {
            8 => s.push_str(why_uncertain(r).unwrap_or_default()),
            _ => packet_field(&mut s, i, r, t0),
        }
        s
    })
}

/// Why a judged packet's verdict is uncertain, said after the rule that decided it.
fn why_uncertain(r: &PacketRecord) -> Option<&str> {
    match (&r.rule, &r.reason) {
        (Some(_), Some(why)) if r.verdict.is_some() && !r.certain => Some(why),
        _ => None,
    }
}

/// Column `i` of [`packet_fields`], appended to `out` (the one definition of each column's
/// text, for the table and the streamed lines).
fn packet_field(out: &mut String, i: usize, r: &PacketRecord, t0: f64) {
    use std::fmt::Write as _;
    match i {
        0 => {
            let _ = write!(out, "{}", r.frame);
        }
        1 => {
            let _ = write!(out, "{:.3}", r.time - t0);
        }
        2 => out.push_str(r.direction),
        3 => match (r.src, r.dst) {
            (Some(s), Some(d)) => match (r.sport, r.dport) {
                (Some(sp), Some(dp)) => {
                    push_ep(out, s, sp);
                    out.push_str(" → ");
                    push_ep(out, d, dp);
                }
                _ => {
                    let _ = write!(out, "{s} → {d}");
                }
            },
            _ => out.push('-'),
        },
        4 => match (&r.proto, &r.tcp_flags, r.icmp_type) {
            (Some(p), Some(f), _) => {
                out.push_str(p);
                out.push(' ');
                out.push_str(f);
            }
            (Some(p), None, Some(t)) => {
                let _ = write!(out, "{p} {t}/{}", r.icmp_code.unwrap_or(0));
            }
            (Some(p), _, _) => out.push_str(p),
            _ => out.push('-'),
        },
        5 => out.push_str(r.ctstate.unwrap_or("-")),
        6 => match (r.verdict, r.certain) {
            (Some(v), true) => out.push_str(v),
            (Some(v), false) => {
                out.push_str(v);
                out.push('?');
                if !r.alternatives.is_empty() {
                    let alts: Vec<String> = r.alternatives.iter().map(|a| a.brief()).collect();
                    let _ = write!(out, " ({})", alts.join("; "));
                }
            }
            (None, _) => out.push('-'),
        },
        _ => match (&r.rule, &r.reason) {
            (Some(ri), _) if r.verdict.is_some() => {
                out.push_str(ri.short_cached());
                if let Some(rj) = &r.reject {
                    let _ = write!(
                        out,
                        " → {}{}",
                        rj.sends,
                        if rj.sent == Some(false) {
                            " (reply dropped)"
                        } else {
                            ""
                        }
                    );
                }
            }
            (_, Some(reason)) => out.push_str(reason),
            _ => {}
        },
    }
}

/// One row of the packet table; with `color`, the verdict in its colour (ACCEPT green, DROP
/// red, REJECT yellow, uncertain ones magenta).
/// The colour of a packet row's verdict cell (shown when colours are on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Tint {
    #[default]
    None,
    /// Uncertain.
    Magenta,
    Green,
    Red,
    Yellow,
}

impl Tint {
    pub(crate) fn from_u8(b: u8) -> Tint {
        match b {
            1 => Tint::Magenta,
            2 => Tint::Green,
            3 => Tint::Red,
            4 => Tint::Yellow,
            _ => Tint::None,
        }
    }

    /// The colour's 256-colour index in the SGR sequence comfy-table writes for it (through
    /// crossterm): `ESC[38;5;Nm`.
    fn sgr(self) -> Option<&'static str> {
        Some(match self {
            Tint::None => return None,
            Tint::Red => "9",
            Tint::Green => "10",
            Tint::Yellow => "11",
            Tint::Magenta => "13",
        })
    }

    fn color(self) -> Option<Color> {
        match self {
            Tint::None => None,
            Tint::Magenta => Some(Color::Magenta),
            Tint::Green => Some(Color::Green),
            Tint::Red => Some(Color::Red),
            Tint::Yellow => Some(Color::Yellow),
        }
    }
}

/// A row of the packet table: its cells' text and the verdict's colour.
pub(crate) fn packet_row(r: &PacketRecord, t0: f64) -> super::rows::PacketRow {
    let tint = match (r.verdict, r.certain) {
        (Some(_), false) => Tint::Magenta,
        (Some("ACCEPT"), _) => Tint::Green,
        (Some("DROP"), _) => Tint::Red,
        (Some("REJECT"), _) => Tint::Yellow,
        _ => Tint::None,
    };
    (packet_fields(r, t0), tint)
}

/// Widths of the streamed packet lines (`--limit 0`): enough for IPv4 endpoints; longer
/// fields push the line on, they are never cut.
const STREAM_WIDTHS: [usize; 7] = [7, 9, 7, 43, 8, 11, 8];

/// The header of the streamed packet lines.
pub(crate) fn packet_stream_header() -> String {
    stream_line(&PACKET_HEADER)
}

/// One packet as a line of fixed-width columns: what `--limit 0` prints as the packets are
/// judged, in constant memory (a table would hold every row to size its columns). Written into
/// `out` (cleared first), so a stream of lines reuses one buffer.
pub(crate) fn packet_line(out: &mut String, r: &PacketRecord, t0: f64) {
    out.clear();
    for i in 0..8 {
        let start = out.len();
        packet_field(out, i, r, t0);
        pad_column(out, i, start);
    }
    if let Some(why) = why_uncertain(r) {
        out.push_str("; uncertain: ");
        out.push_str(why);
    }
    out.truncate(out.trim_end().len());
}

fn stream_line(f: &[&str; 8]) -> String {
    let mut out = String::with_capacity(128);
    for (i, field) in f.iter().enumerate() {
        let start = out.len();
        out.push_str(field);
        pad_column(&mut out, i, start);
    }
    out.truncate(out.trim_end().len());
    out
}

/// Pad column `i`, whose text starts at `start` in `out`, to its [`STREAM_WIDTHS`] (numbers
/// right-aligned, the rest left-aligned; widths count characters), then the gap.
fn pad_column(out: &mut String, i: usize, start: usize) {
    const SPACES: &str = "                                                  ";
    let Some(&w) = STREAM_WIDTHS.get(i) else {
        return;
    };
    let n = out[start..].chars().count();
    let pad = &SPACES[..w.saturating_sub(n).min(SPACES.len())];
    if i < 2 {
        out.insert_str(start, pad);
    } else {
        out.push_str(pad);
    }
    out.push_str("  ");
}

/// `addr:port`, `[v6]:port`.
fn push_ep(out: &mut String, a: std::net::IpAddr, p: u16) {
    use std::fmt::Write as _;
    match a {
        std::net::IpAddr::V4(v4) => {
            out.push_str(super::Ipv4Text::new(v4).as_str());
            out.push(':');
            out.push_str(itoa::Buffer::new().format(p));
        }
        std::net::IpAddr::V6(_) => {
            let _ = write!(out, "[{a}]:{p}");
        }
    }
}

fn fmt_ep(a: std::net::IpAddr, p: u16) -> String {
    let mut s = String::new();
    push_ep(&mut s, a, p);
    s
}

/// The packet table's columns (and the streamed lines').
const PACKET_HEADER: [&str; 8] = [
    "frame",
    "time",
    "dir",
    "src → dst",
    "proto",
    "ctstate",
    "verdict",
    "decided by",
];

/// The packet table, written row by row ([`write_unbounded`]) from the held rows, wherever
/// they are held; built by comfy-table only when it would wrap cells to fit a terminal.
pub(crate) fn write_packets_table(
    out: &mut dyn std::io::Write,
    rows: &mut super::rows::PacketRows,
    color: bool,
) -> std::io::Result<UncertainNotes> {
    let mut right = [false; 8];
    right[..2].fill(true);
    let layout = Layout {
        right,
        fit: table().width(),
        tinted: color.then_some(6),
    };
    let notes = UncertainNotes::of(rows)?;
    let mut each =
        |f: &mut RowFn<'_, 8>| rows.for_each(&mut |(cells, tint)| f(&notes.cells(cells), *tint));
    if !write_unbounded(out, PACKET_HEADER, layout, &mut each)? {
        let mut t = table();
        if color {
            // Colours also when stdout is not a terminal (`--color always`).
            t.enforce_styling();
        }
        t.set_header(PACKET_HEADER.to_vec());
        rows.for_each(&mut |(cells, tint)| {
            t.add_row(notes.cells(cells).into_iter().enumerate().map(|(i, f)| {
                let c = Cell::new(f);
                match i {
                    0 | 1 => c.set_alignment(CellAlignment::Right),
                    6 if color => match tint.color() {
                        Some(col) => c.fg(col),
                        None => c,
                    },
                    _ => c,
                }
            }));
            Ok(())
        })?;
        writeln!(out, "{t}")?;
    }
    Ok(notes)
}

/// Why the packet table's uncertain verdicts are uncertain: each distinct reason once, numbered
/// in the order the rows first give it, with the frames it holds for. A row says `uncertain
/// [N]` after its rule; the notes follow the table. (A reason is often a long sentence, and
/// many packets share one: inline, it made every row of a piped table hundreds of columns wide,
/// or each uncertain row a paragraph in a terminal.) Bounded whatever `--limit` holds: at most
/// [`UncertainNotes::MAX`] notes (a row whose reason finds none left keeps it inline), each
/// listing its first [`UncertainNotes::FRAMES_SHOWN`] frames and a count.
#[derive(Debug, Default)]
pub(crate) struct UncertainNotes {
    /// Reason → its note's index in `notes`.
    index: std::collections::HashMap<String, usize>,
    /// Each note: the reason, the first frames (as the table shows them) it holds for, and how
    /// many it holds for.
    notes: Vec<(String, Vec<String>, usize)>,
}

impl UncertainNotes {
    /// Frames a note lists before it says how many there are in all.
    const FRAMES_SHOWN: usize = 8;
    /// Notes at most.
    const MAX: usize = 1_000;

    /// The notes of the held rows (read once more when they were spilled to disk).
    fn of(rows: &mut super::rows::PacketRows) -> std::io::Result<UncertainNotes> {
        let mut n = UncertainNotes::default();
        rows.for_each(&mut |(cells, _)| {
            let why = &cells[8];
            if why.is_empty() {
                return Ok(());
            }
            let k = match n.index.get(why) {
                Some(&k) => k,
                None if n.notes.len() < Self::MAX => {
                    n.index.insert(why.clone(), n.notes.len());
                    n.notes.push((why.clone(), Vec::new(), 0));
                    n.notes.len() - 1
                }
                None => return Ok(()),
            };
            let (_, frames, count) = &mut n.notes[k];
            if frames.len() < Self::FRAMES_SHOWN {
                frames.push(cells[0].clone());
            }
            *count += 1;
            Ok(())
        })?;
        Ok(n)
    }

    /// A held row's eight cells as the table shows them: the reason's note number after the
    /// rule (the reason itself when it has no note).
    fn cells(&self, cells: &[String; 9]) -> [String; 8] {
        let why = &cells[8];
        std::array::from_fn(|i| match (i, self.index.get(why)) {
            (7, Some(k)) => format!("{}; uncertain [{}]", cells[7], k + 1),
            (7, None) if !why.is_empty() => format!("{}; uncertain: {why}", cells[7]),
            _ => cells[i].clone(),
        })
    }

    /// The notes, under the table and what is said of its rows.
    pub(crate) fn write(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        if self.notes.is_empty() {
            return Ok(());
        }
        writeln!(out, "uncertain verdicts, why:")?;
        for (k, (why, frames, count)) in self.notes.iter().enumerate() {
            let shown = frames.join(", ");
            match count {
                1 => writeln!(out, "[{}] frame {shown}: {why}", k + 1)?,
                n if *n <= Self::FRAMES_SHOWN => {
                    writeln!(out, "[{}] frames {shown}: {why}", k + 1)?
                }
                n => writeln!(out, "[{}] frames {shown}, … ({n} in all): {why}", k + 1)?,
            }
        }
        writeln!(out)
    }
}

/// A counter, `≥N` when it is a lower bound ([`RuleHits::at_least`]), `≤N` when an upper
/// bound ([`RuleHits::at_most`]), `~N` when it may be off either way.
fn bounded(n: u64, h: &RuleHits) -> String {
    match (h.at_least, h.at_most) {
        (false, false) => n.to_string(),
        (true, false) => format!("≥{n}"),
        (false, true) => format!("≤{n}"),
        (true, true) => format!("~{n}"),
    }
}

/// Per-rule counters like `iptables -L -vn --line-numbers`: only tables/chains with rules or a
/// policy; rules that never matched are kept (with 0) so the listing is complete.
/// With two rulesets (IPv4 and IPv6 side by side), a first column names each rule's file.
pub(crate) fn rules_table(hits: &[RuleHits]) -> Table {
    let mut t = table();
    let files = hits.iter().any(|h| h.file.is_some());
    let mut header = vec!["table", "chain", "#", "pkts", "bytes", "line", "rule"];
    if files {
        header.insert(0, "file");
    }
    t.set_header(header);
    for h in hits {
        let file = files.then(|| Cell::new(h.file.as_deref().unwrap_or("")));
        t.add_row(
            file.into_iter().chain([
                Cell::new(h.table),
                Cell::new(&h.chain),
                Cell::new(
                    h.number
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "policy".into()),
                ),
                Cell::new(bounded(h.packets, h)).set_alignment(CellAlignment::Right),
                Cell::new(bounded(h.bytes, h)).set_alignment(CellAlignment::Right),
                Cell::new(h.line.map(|l| l.to_string()).unwrap_or_default())
                    .set_alignment(CellAlignment::Right),
                Cell::new(match (&h.text, h.policy) {
                    (Some(t), _) => t.clone(),
                    (None, Some(p)) => format!("(policy {p})"),
                    _ => String::new(),
                }),
            ]),
        );
    }
    t
}

pub(crate) fn summary_table(s: &Summary) -> Table {
    let mut t = table();
    t.set_header(vec!["direction", "accepted", "dropped", "rejected"]);
    for (dir, c) in s.by_direction() {
        t.add_row(vec![
            Cell::new(dir),
            Cell::new(c[0]),
            Cell::new(c[1]),
            Cell::new(c[2]),
        ]);
    }
    t.add_row(vec![
        Cell::new("total"),
        Cell::new(s.accepted),
        Cell::new(s.dropped),
        Cell::new(s.rejected),
    ]);
    t
}

const FLOW_HEADER: [&str; 7] = [
    "flow",
    "frames",
    "pkts",
    "accepted",
    "dropped",
    "rejected",
    "blocked frames",
];

/// One row of the flows table.
fn flow_cells(k: &FlowKey, f: &super::FlowStats) -> [String; 7] {
    [
        flow_name(k),
        format!("{}-{}", f.first_frame, f.last_frame),
        f.packets.to_string(),
        f.accepted.to_string(),
        f.dropped.to_string(),
        f.rejected.to_string(),
        f.blocked_frames
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(","),
    ]
}

/// The flows table (`--flows`), written row by row ([`write_unbounded`]) unless comfy-table
/// must wrap it to fit a terminal: a capture of 100,000 connections held 280 MiB of table
/// cells.
pub(crate) fn write_flows_table(out: &mut dyn std::io::Write, s: &Summary) -> std::io::Result<()> {
    let flows = s.flows();
    let mut each = |f: &mut RowFn<'_, 7>| {
        flows
            .iter()
            .try_for_each(|(k, st)| f(&flow_cells(k, st), Tint::None))
    };
    let layout = Layout {
        right: [false; 7],
        fit: table().width(),
        tinted: None,
    };
    if write_unbounded(out, FLOW_HEADER, layout, &mut each)? {
        return Ok(());
    }
    let mut t = table();
    t.set_header(FLOW_HEADER.to_vec());
    for (k, st) in &flows {
        t.add_row(flow_cells(k, st).to_vec());
    }
    writeln!(out, "{t}")
}

/// What [`write_unbounded`] is given for each row: its cells and its tint.
pub(crate) type RowFn<'a, const N: usize> =
    dyn FnMut(&[String; N], Tint) -> std::io::Result<()> + 'a;

/// The rows of a table written by [`write_unbounded`]: calls its argument with every row, in
/// order, and can be called again.
pub(crate) type EachRow<'a, const N: usize> =
    dyn FnMut(&mut RowFn<'_, N>) -> std::io::Result<()> + 'a;

/// How [`write_unbounded`] lays a table out, as [`table`] would be set up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout<const N: usize> {
    /// The columns whose body cells are right-aligned (the header's are left-aligned, as
    /// comfy-table's).
    pub(crate) right: [bool; N],
    /// The terminal's width, when standard output is one (`Table::width`): comfy-table wraps
    /// cells to fit it, which is left to comfy-table.
    pub(crate) fit: Option<u16>,
    /// The column whose body cells take their row's [`Tint`] (colours on, comfy-table's
    /// `enforce_styling`).
    pub(crate) tinted: Option<usize>,
}

/// Writes `header` and the rows `each` gives as comfy-table prints them in [`table`]'s style,
/// the same bytes (pinned by `unbounded_tables_are_comfy_tables`), a row at a time: the rows
/// are walked once for the column widths and once to write. Returns false, having written
/// nothing, when comfy-table would lay the cells out otherwise: a cell with a line break or
/// another control character (multi-line cells), or a table wider than the terminal it must
/// fit (wrapped cells). The caller builds the table then.
pub(crate) fn write_unbounded<const N: usize>(
    out: &mut dyn std::io::Write,
    header: [&str; N],
    layout: Layout<N>,
    each: &mut EachRow<'_, N>,
) -> std::io::Result<bool> {
    use unicode_width::UnicodeWidthStr;
    let plain = |c: &str| !c.chars().any(char::is_control);
    let mut widths = [1usize; N];
    let mut all_plain = header.iter().all(|c| plain(c));
    for (w, c) in widths.iter_mut().zip(header) {
        *w = (*w).max(c.width());
    }
    each(&mut |r, _| {
        for (w, c) in widths.iter_mut().zip(r) {
            all_plain &= plain(c);
            *w = (*w).max(c.width());
        }
        Ok(())
    })?;
    if !all_plain {
        return Ok(false);
    }
    // comfy-table counts widths in u16.
    let widths = widths.map(|w| w.min(u16::MAX as usize));
    // Each column takes its width, a space either side and a border after; one more border.
    let total = widths.iter().map(|w| w + 3).sum::<usize>() + 1;
    if layout.fit.is_some_and(|fit| total > fit as usize) {
        return Ok(false);
    }
    let mut line = String::new();
    let rule = |line: &mut String, left: &str, fill: &str, mid: &str, right: &str| {
        line.clear();
        line.push_str(left);
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                line.push_str(mid);
            }
            for _ in 0..w + 2 {
                line.push_str(fill);
            }
        }
        line.push_str(right);
        line.push('\n');
    };
    // `body`: a body row, and its tinted column and tint (the header is neither).
    let row =
        |line: &mut String, cells: &mut dyn Iterator<Item = &str>, body: Option<(usize, Tint)>| {
            line.clear();
            line.push('│');
            for (i, (c, w)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    line.push('┆');
                }
                // comfy-table styles the padded cell, its spaces included.
                let sgr = body.and_then(|(col, t)| (col == i).then(|| t.sgr()).flatten());
                if let Some(code) = sgr {
                    line.push_str("\x1b[38;5;");
                    line.push_str(code);
                    line.push('m');
                }
                line.push(' ');
                let pad = w.saturating_sub(c.width());
                if body.is_some() && layout.right[i] {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
                line.push(' ');
                if sgr.is_some() {
                    line.push_str("\x1b[39m");
                }
            }
            line.push_str("│\n");
        };
    rule(&mut line, "┌", "─", "┬", "┐");
    out.write_all(line.as_bytes())?;
    row(&mut line, &mut header.iter().copied(), None);
    out.write_all(line.as_bytes())?;
    rule(&mut line, "╞", "═", "╪", "╡");
    out.write_all(line.as_bytes())?;
    each(&mut |r, tint| {
        let body = (layout.tinted.unwrap_or(usize::MAX), tint);
        row(&mut line, &mut r.iter().map(String::as_str), Some(body));
        out.write_all(line.as_bytes())
    })?;
    rule(&mut line, "└", "─", "┴", "┘");
    out.write_all(line.as_bytes())?;
    Ok(true)
}

/// The `limit` flows with the most packets not accepted (then by first frame), and how many
/// more blocked flows there are.
pub(crate) fn blocked_flows_table(s: &Summary, limit: usize) -> (Table, usize) {
    let mut v: Vec<_> = s.blocked_flows().collect();
    v.sort_by_key(|(_, f)| (std::cmp::Reverse(f.dropped + f.rejected), f.first_frame));
    let more = v.len().saturating_sub(limit);
    let mut t = table();
    t.set_header(vec![
        "blocked flow",
        "frames",
        "pkts",
        "dropped",
        "rejected",
        "first blocked frames",
    ]);
    for (k, f) in v.into_iter().take(limit) {
        let mut frames: Vec<String> = f
            .blocked_frames
            .iter()
            .take(5)
            .map(|x| x.to_string())
            .collect();
        if f.dropped + f.rejected > 5 {
            frames.push("…".into());
        }
        t.add_row(vec![
            Cell::new(flow_name(k)),
            Cell::new(format!("{}-{}", f.first_frame, f.last_frame)),
            Cell::new(f.packets),
            Cell::new(f.dropped),
            Cell::new(f.rejected),
            Cell::new(frames.join(",")),
        ]);
    }
    (t, more)
}

pub(crate) fn flow_name(k: &FlowKey) -> String {
    match (k.a_port, k.b_port) {
        (Some(a), Some(b)) if matches!(k.proto.0, proto::TCP | proto::UDP) => {
            format!("{} {} → {}", k.proto, fmt_ep(k.a, a), fmt_ep(k.b, b))
        }
        (Some(id), _) => format!("{} {} → {} id {id}", k.proto, k.a, k.b),
        _ => format!("{} {} → {}", k.proto, k.a, k.b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Row<const N: usize> = ([String; N], Tint);

    /// The notes stay bounded however many rows are held: a reason shared by many rows lists
    /// its first frames and a count; past the last note, a row keeps its reason inline.
    #[test]
    fn uncertain_notes_are_bounded() {
        let row = |frame: usize, why: String| -> super::super::rows::PacketRow {
            let cells = std::array::from_fn(|c| match c {
                0 => frame.to_string(),
                7 => "filter INPUT policy DROP".to_string(),
                8 => why.clone(),
                _ => "-".to_string(),
            });
            (cells, Tint::Magenta)
        };
        let mut rows = super::super::rows::PacketRows::default();
        // 20 rows share one reason; then 1,005 reasons of one row each; then a certain row.
        for f in 1..=20 {
            rows.push(row(f, "shared".into()));
        }
        for k in 0..1_005 {
            rows.push(row(100 + k, format!("reason {k}")));
        }
        rows.push(row(5_000, String::new()));
        let notes = UncertainNotes::of(&mut rows).unwrap();
        assert_eq!(notes.notes.len(), UncertainNotes::MAX);
        let mut out = Vec::new();
        notes.write(&mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "uncertain verdicts, why:");
        assert_eq!(
            lines[1],
            "[1] frames 1, 2, 3, 4, 5, 6, 7, 8, … (20 in all): shared"
        );
        assert_eq!(lines[2], "[2] frame 100: reason 0");
        assert_eq!(lines[1_000], "[1000] frame 1098: reason 998");
        assert_eq!(lines.len(), 1 + UncertainNotes::MAX + 1);
        let cells = |r: super::super::rows::PacketRow| notes.cells(&r.0)[7].clone();
        assert_eq!(
            cells(row(3, "shared".into())),
            "filter INPUT policy DROP; uncertain [1]"
        );
        assert_eq!(
            cells(row(1_099, "reason 999".into())),
            "filter INPUT policy DROP; uncertain: reason 999"
        );
        assert_eq!(cells(row(5_000, String::new())), "filter INPUT policy DROP");
    }

    fn comfy<const N: usize>(header: [&str; N], layout: Layout<N>, rows: &[Row<N>]) -> String {
        let mut t = table();
        t.force_no_tty();
        if let Some(w) = layout.fit {
            t.set_width(w);
        }
        if layout.tinted.is_some() {
            t.enforce_styling();
        }
        t.set_header(header.to_vec());
        for (r, tint) in rows {
            t.add_row(r.iter().enumerate().map(|(i, c)| {
                let mut c = Cell::new(c);
                if layout.right[i] {
                    c = c.set_alignment(CellAlignment::Right);
                }
                match tint.color() {
                    Some(col) if layout.tinted == Some(i) => c.fg(col),
                    _ => c,
                }
            }));
        }
        format!("{t}\n")
    }

    fn unbounded<const N: usize>(
        header: [&str; N],
        layout: Layout<N>,
        rows: &[Row<N>],
    ) -> Option<String> {
        let mut out = Vec::new();
        let mut each = |f: &mut RowFn<'_, N>| rows.iter().try_for_each(|(r, t)| f(r, *t));
        let written = write_unbounded(&mut out, header, layout, &mut each).unwrap();
        written.then(|| String::from_utf8(out).unwrap())
    }

    /// `write_unbounded` writes comfy-table's bytes for any cells it accepts, left- or
    /// right-aligned, in any tint: empty ones, wide and combining characters, no rows at all,
    /// tables that fit a terminal's width exactly or with room. Cells with line breaks or
    /// other control characters, and tables wider than the terminal, are left to comfy-table.
    #[test]
    fn unbounded_tables_are_comfy_tables() {
        let cell = prop_oneof![
            Just(String::new()),
            "[ -~]{0,14}",
            "[a-z→✓é日本🦀\u{301} ]{0,8}",
            Just("a\nb".to_string()),
            Just("tab\there".to_string()),
        ];
        let tint = (0u8..5).prop_map(Tint::from_u8);
        let rows =
            proptest::collection::vec(([cell.clone(), cell.clone(), cell.clone()], tint), 0..6);
        let fit = prop_oneof![Just(None), (10u16..70).prop_map(Some)];
        let tinted = prop_oneof![Just(None), (0usize..3).prop_map(Some)];
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 3000,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let (fitted, wrapped) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
        runner
            .run(
                &(rows, any::<[bool; 3]>(), fit, tinted),
                |(rows, right, fit, tinted)| {
                    let header = ["flow", "frames", "blocked frames"];
                    let layout = Layout { right, fit, tinted };
                    let controls = rows
                        .iter()
                        .flat_map(|(r, _)| r)
                        .any(|c| c.chars().any(char::is_control));
                    let theirs = comfy(header, layout, &rows);
                    // The width comfy-table's table takes when nothing wraps.
                    let natural = comfy(
                        header,
                        Layout {
                            fit: None,
                            ..layout
                        },
                        &rows,
                    );
                    let width = natural.lines().next().map_or(0, |l| l.chars().count());
                    match unbounded(header, layout, &rows) {
                        Some(ours) => {
                            prop_assert!(!controls);
                            prop_assert!(fit.is_none_or(|f| width <= f as usize));
                            fitted.set(fitted.get() + u32::from(fit.is_some()));
                            prop_assert_eq!(ours, theirs);
                        }
                        None => {
                            let too_wide = fit.is_some_and(|f| width > f as usize);
                            wrapped.set(wrapped.get() + u32::from(too_wide && !controls));
                            prop_assert!(controls || too_wide);
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
        // Both sides of the terminal's width were tried, many times each (about 170 and 100
        // of the 3,000 cases land there; 40 is far below what chance gives).
        let (fitted, wrapped) = (fitted.get(), wrapped.get());
        assert!(
            fitted > 40 && wrapped > 40,
            "{fitted} fitted, {wrapped} wrapped"
        );
    }
}
