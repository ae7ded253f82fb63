//! The simulation engine: hook order, table traversal (`ipt_do_table`), verdicts — and the
//! context ([`EvalCtx`]) extensions evaluate against.

pub mod ctx;

pub use ctx::*;
