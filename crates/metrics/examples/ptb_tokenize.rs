//! Drop-in for `java edu.stanford.nlp.process.PTBTokenizer -preserveLines -lowerCase FILE`
//! (CoreNLP 3.4.1, as pycocoevalcap runs it): reads UTF-8 text from FILE (or stdin) and
//! prints its tokenisation, one output line per input line.
//!
//!     cargo run --release -p metrics --example ptb_tokenize -- captions.txt

use std::io::{Read, Write};

fn main() -> std::io::Result<()> {
    let mut text = String::new();
    match std::env::args().nth(1) {
        Some(path) => text = std::fs::read_to_string(path)?,
        None => {
            std::io::stdin().read_to_string(&mut text)?;
        }
    }
    let out = metrics::tokenize::ptb_tokenize(&text);
    std::io::stdout().lock().write_all(out.as_bytes())
}
