//! Debug helper: print the static findings of a ruleset.
fn main() {
    let path = std::env::args().nth(1).expect("rules");
    let l =
        fwcheck::lint::load_file(std::path::Path::new(&path), Default::default()).expect("read");
    let opts = fwcheck::analysis::CheckOptions::default();
    for f in fwcheck::analysis::static_findings(&l, &opts) {
        println!(
            "{} {} line {:?}: {}",
            f.code,
            f.severity.as_str(),
            f.line,
            f.message
        );
        if let Some(x) = &f.fix {
            println!("    fix: {x}");
        }
        for d in &f.details {
            println!("    {d}");
        }
    }
}
