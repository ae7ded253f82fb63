//! Ruleset model: tokenizer, parser, canonical printer and chain graph.

pub mod graph;
pub(crate) mod lexer;
pub mod model;
pub mod parser;
pub mod printer;
pub mod sniff;

pub use model::*;
pub use parser::{parse_file, parse_str, InputFormat, ParseOptions, Parsed};
