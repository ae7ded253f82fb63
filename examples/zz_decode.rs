fn main() {
    let path = std::env::args().nth(1).unwrap();
    let r = fwcheck::packet::CaptureReader::open(&path).unwrap();
    let mut c = 0u64;
    for p in r.flatten() {
        c += p.ip_len as u64;
    }
    println!("{c}");
}
