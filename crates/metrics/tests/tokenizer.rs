//! The PTB tokeniser against the real Java one (stanford-corenlp 3.4.1, as pycocoevalcap
//! runs it): `tests/fixtures/metrics/tokenizer.json` from `scripts/make_metric_fixtures.py`.
//! Agreement must be exact.

use metrics::tokenize::{ptb_tokenize, tokenize_captions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    input: String,
    java: String,
    pycoco: String,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
    batch: Vec<String>,
}

fn fixture() -> Fixture {
    testkit::read_json_as(testkit::fixtures().join("metrics/tokenizer.json"))
}

#[test]
fn java_output_is_reproduced_exactly() {
    let fx = fixture();
    let mut failures = Vec::new();
    for case in &fx.cases {
        let ours = ptb_tokenize(&case.input);
        if ours != case.java {
            failures.push(format!(
                "input {:?}\n   java {:?}\n   ours {:?}",
                case.input, case.java, ours
            ));
        }
    }
    let n = fx.cases.len();
    println!(
        "PTB lexer: {}/{n} strings exactly equal to Java",
        n - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn pycocoevalcap_tokenisation_is_reproduced_exactly() {
    let fx = fixture();
    let mut failures = Vec::new();
    for case in &fx.cases {
        let ours = tokenize_captions(&[case.input.as_str()]).remove(0);
        if ours != case.pycoco {
            failures.push(format!(
                "input {:?}\n   pycoco {:?}\n   ours   {:?}",
                case.input, case.pycoco, ours
            ));
        }
    }
    let n = fx.cases.len();
    println!(
        "pycocoevalcap tokenisation: {}/{n} strings exactly equal",
        n - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn one_batch_of_all_strings_is_reproduced_exactly() {
    let fx = fixture();
    let inputs: Vec<&str> = fx.cases.iter().map(|c| c.input.as_str()).collect();
    let ours = tokenize_captions(&inputs);
    let bad: Vec<usize> = (0..ours.len())
        .filter(|&i| ours[i] != fx.batch[i])
        .collect();
    println!(
        "batch tokenisation: {}/{} lines exactly equal",
        ours.len() - bad.len(),
        ours.len()
    );
    assert!(
        bad.is_empty(),
        "first mismatch at {:?}",
        bad.first().map(|&i| (&inputs[i], &fx.batch[i], &ours[i]))
    );
}
