//! The harness of every kernel-checked test binary (`harness = false` in Cargo.toml): the tests
//! run as usual where the kernel oracle can run (root, iptables 1.8, iproute2, network namespaces,
//! `/dev/net/tun`); elsewhere each one is reported *ignored* with the reason — never *passed*.

/// Runs `tests` (name, body) like libtest does, ignoring them all when the oracle is unavailable.
pub fn run(tests: &[(&'static str, fn())]) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let unavailable = fwcheck::oracle::available().err().map(|why| {
        format!(
            "kernel oracle unavailable: {why} (needs root, iptables, iproute2, network namespaces)"
        )
    });
    if let Some(why) = &unavailable {
        eprintln!("note: every test of this binary is ignored: {why}");
    }
    let trials = tests
        .iter()
        .map(|&(name, body)| {
            let why = unavailable.clone();
            libtest_mimic::Trial::ignorable_test(name, move || match why {
                Some(why) => Ok(libtest_mimic::Completion::ignored_with(why)),
                None => {
                    body();
                    Ok(libtest_mimic::Completion::Completed)
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

/// `kernel_tests!(a, b, c)` — the `main` of a kernel test binary running the functions `a`, `b`, `c`.
#[macro_export]
macro_rules! kernel_tests {
    ($($name:ident),* $(,)?) => {
        fn main() {
            kernel_harness::run(&[$((stringify!($name), $name as fn())),*]);
        }
    };
}
