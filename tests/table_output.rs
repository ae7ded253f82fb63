//! The packet table as a person reads it: in a pipe, in a terminal of a given width, in a
//! pseudo-terminal nobody sized; and why its uncertain verdicts are uncertain, said once per
//! reason in numbered notes under it.

use std::io::Read as _;
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::process::{Command, Stdio};

const RULES: &str = "fixtures/guides/guide-000-webserver.rules.v4";
const PCAP: &str = "pcaps/webserver.pcap";
const ARGS: [&str; 5] = [RULES, "--pcap", PCAP, "--host", "203.0.113.10"];

fn fwcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fwcheck"));
    c.args(ARGS).current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn piped(extra: &[&str]) -> String {
    let out = fwcheck().args(extra).output().expect("run fwcheck");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What fwcheck writes to a pseudo-terminal of `cols` columns (0: one nobody sized).
fn on_pty(cols: u16) -> String {
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: if cols == 0 { 0 } else { 50 },
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors, which are then owned here.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and nothing else owns them.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut child = fwcheck()
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::null())
        .spawn()
        .expect("run fwcheck");
    // The terminal holds a few KiB: read while fwcheck writes, until its side is closed (EIO).
    let mut master = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    // The terminal turns each "\n" into "\r\n"; colours are on.
    let text = String::from_utf8(out).expect("utf-8").replace("\r\n", "\n");
    strip_sgr(&text)
}

/// `text` without its colour sequences (`ESC [ … m`).
fn strip_sgr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut it = text.chars();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            for d in it.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn header_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.contains("frame"))
        .unwrap_or_else(|| panic!("no table header in:\n{out}"))
}

#[test]
fn a_pseudo_terminal_nobody_sized_gets_the_whole_table() {
    let out = on_pty(0);
    // Before, comfy-table squeezed every column to one character ("│ f ┆ t ┆ d ┆ …").
    assert!(
        header_line(&out).contains("│ frame ┆ time   ┆ dir ┆ src → dst"),
        "{}",
        header_line(&out)
    );
    let piped = piped(&[]);
    assert_eq!(header_line(&out), header_line(&piped));
}

#[test]
fn a_sized_terminal_gets_the_table_wrapped_to_its_width() {
    let out = on_pty(100);
    assert!(header_line(&out).contains("frame"));
    let widest = out
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
        .map(|l| l.chars().count())
        .max()
        .expect("table lines");
    assert!(widest <= 100, "a table line of {widest} columns:\n{out}");
    assert!(
        widest > 60,
        "the table did not take the room it had:\n{out}"
    );
}

#[test]
fn uncertain_verdicts_point_to_one_note_per_reason() {
    let out = piped(&[]);
    // The two DNS answers whose queries may have left before the capture began share a reason.
    let row = |frame: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("│ {frame:>5} ┆")))
            .unwrap_or_else(|| panic!("no row {frame}:\n{out}"))
            .to_string()
    };
    for frame in ["81", "160"] {
        let r = row(frame);
        assert!(
            r.contains("┆ DROP?   ┆ filter INPUT policy DROP; uncertain [1] "),
            "{r}"
        );
    }
    assert!(
        !out.lines()
            .any(|l| l.starts_with('│') && l.contains("uncertain:")),
        "a reason left inline:\n{out}"
    );
    let notes: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "uncertain verdicts, why:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(notes.len(), 1, "{out}");
    assert!(
        notes[0].starts_with(
            "[1] frames 81, 160: filter INPUT #5 (line 9): the connection was picked up \
             mid-stream"
        ),
        "{}",
        notes[0]
    );
    // The certain rows are as wide as their own text needs: the note's sentence is not in them.
    let widest = out
        .lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| l.chars().count())
        .max()
        .expect("rows");
    assert!(widest < 150, "rows {widest} columns wide");
}

#[test]
fn streamed_lines_keep_the_reason_on_the_line() {
    // `--limit 0` writes each line as the frame is judged: nothing can follow the table there.
    let out = piped(&["--limit", "0"]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("81 "))
        .expect("frame 81");
    assert!(
        line.contains(
            "filter INPUT policy DROP; uncertain: filter INPUT #5 (line 9): the \
             connection was picked up mid-stream"
        ),
        "{line}"
    );
    assert!(!out.contains("uncertain verdicts, why:"));
}
