//! Debug helper: print the decoded form of frames of a capture.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("capture");
    let want: Vec<u64> = args.filter_map(|a| a.parse().ok()).collect();
    let r = fwcheck::packet::capture::CaptureReader::open(&path).expect("open");
    for item in r {
        match item {
            Ok(p) if want.is_empty() || want.contains(&p.frame) => println!(
                "{} ip_len={} data={} anomalies={:?} drop={:?} l4={:?}",
                p.frame,
                p.ip_len,
                p.data.len(),
                p.anomalies,
                p.kernel_drop_reason(),
                p.l4
            ),
            Err(e) if want.is_empty() || want.contains(&e.frame) => {
                println!("{} problem {:?}: {}", e.frame, e.kind, e.reason)
            }
            _ => {}
        }
    }
}
