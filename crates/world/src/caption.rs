//! The caption grammar: a clip's events in words, in several paraphrases built from the same
//! facts.
//!
//! ```text
//! caption  := single | sequence | background-combination          (first letter capitalised)
//! single   := S | P | "the sound of" P | P "can be heard"
//! sequence := S1 ", then" S2 [", then" S3]
//!           | S1 ", followed by" P2 [" and then" P3]
//!           | S1 " and then" S2 [", and finally" S3]
//!           | "first" S1 ", then" S2 [", and finally" S3]
//! background-combination (B the background event, SEQ a single S or a sequence):
//!           | SB " while" SEQ | SEQ " while" SB | "as" SB "," SEQ
//!           | SEQ ", with" PB "in the background"
//! S := NP VERB [MOD]      "a loud high bell rings twice"
//! P := NP PARTICIPLE [MOD] "a loud high bell ringing twice"
//! NP := "a" [quiet|loud] (low|high|rising|falling) NOUN
//! MOD := once | twice | three times | slowly | rapidly
//! ```
//!
//! Foreground events are always named in the order they start, so "then" and "followed by"
//! state the true order; the background event spans the clip, so "while" is true.

use crate::events::Phrase;

/// Every distinct paraphrase of a clip with an optional background event and foreground
/// events in time order (at least one event in all). Capitalised, no final full stop.
pub fn paraphrases(background: Option<&Phrase>, sequence: &[Phrase]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        let c = data::pairs::capitalize(&s);
        if !out.contains(&c) {
            out.push(c);
        }
    };
    match (background, sequence) {
        (None, []) => {}
        (Some(b), []) | (None, [b]) => {
            for s in singles(b) {
                push(s);
            }
        }
        (None, seq) => {
            for s in sequences(seq) {
                push(s);
            }
        }
        (Some(b), seq) => {
            let seqs = match seq {
                [one] => vec![one.sentence.clone()],
                many => sequences(many),
            };
            // Interleave so that the first few paraphrases use different frames.
            for s in &seqs {
                for frame in 0..4 {
                    push(with_background(b, s, frame));
                }
            }
        }
    }
    out
}

fn singles(p: &Phrase) -> Vec<String> {
    vec![
        p.sentence.clone(),
        p.participle.clone(),
        format!("the sound of {}", p.participle),
        format!("{} can be heard", p.participle),
    ]
}

fn sequences(seq: &[Phrase]) -> Vec<String> {
    let s = |i: usize| seq[i].sentence.as_str();
    let p = |i: usize| seq[i].participle.as_str();
    let rest = |sep: &str, sentence: bool| -> String {
        (2..seq.len())
            .map(|i| format!("{sep}{}", if sentence { s(i) } else { p(i) }))
            .collect()
    };
    vec![
        format!("{}, then {}{}", s(0), s(1), rest(", then ", true)),
        format!(
            "{}, followed by {}{}",
            s(0),
            p(1),
            rest(" and then ", false)
        ),
        format!("{} and then {}{}", s(0), s(1), rest(", and finally ", true)),
        format!(
            "first {}, then {}{}",
            s(0),
            s(1),
            rest(", and finally ", true)
        ),
    ]
}

fn with_background(b: &Phrase, seq: &str, frame: usize) -> String {
    match frame {
        0 => format!("{} while {seq}", b.sentence),
        1 => format!("{seq} while {}", b.sentence),
        2 => format!("as {}, {seq}", b.sentence),
        _ => format!("{seq}, with {} in the background", b.participle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(np: &str, verb: &str, part: &str) -> Phrase {
        Phrase {
            np: np.into(),
            sentence: format!("{np} {verb}"),
            participle: format!("{np} {part}"),
        }
    }

    #[test]
    fn paraphrases_are_distinct_and_name_everything_in_order() {
        let hum = ph("a low hum", "continues", "continuing");
        let bell = ph("a high bell", "rings twice", "ringing twice");
        let drum = ph("a low drum", "beats rapidly", "beating rapidly");
        let caps = paraphrases(Some(&hum), &[bell.clone(), drum.clone()]);
        assert!(caps.len() >= 4);
        assert_eq!(
            caps[0],
            "A low hum continues while a high bell rings twice, then a low drum beats rapidly"
        );
        for c in &caps {
            let (b, d) = (c.find("high bell").unwrap(), c.find("low drum").unwrap());
            assert!(b < d, "{c}");
            assert!(c.contains("low hum"), "{c}");
        }
        let one = paraphrases(None, &[bell]);
        assert_eq!(
            one,
            [
                "A high bell rings twice",
                "A high bell ringing twice",
                "The sound of a high bell ringing twice",
                "A high bell ringing twice can be heard"
            ]
        );
        assert!(paraphrases(None, &[]).is_empty());
    }
}
