//! Closed-set label likelihood against transformers: `tests/fixtures/eval/likelihood.json`
//! (scripts/make_eval_fixture.py) holds, per case, the templated prompt, its ids, and for
//! every label the answer's token ids and per-token log-probabilities from one full forward
//! pass of the tiny model. Ours (one cached prompt pass + one batched continuation pass) must
//! agree to 1e-4 per token and on the sums, and the classifier must pick the same label.

mod common;

use data::classify::{ClassTask, LabeledSample};
use data::task::{Prompts, Task};
use eval::classify::{classify_samples, ClassifyOptions, Select};
use eval::input::prepare;
use eval::likelihood::{answer_ids, score_batch, score_continuations};
use serde::Deserialize;

const TOL: f64 = 1e-4;

#[derive(Deserialize)]
struct LabelRef {
    label: String,
    answer_ids: Vec<u32>,
    token_logprobs: Vec<f64>,
    sum: f64,
    mean: f64,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    task: String,
    clips: Vec<String>,
    system: Option<String>,
    prompt: String,
    labels: Vec<String>,
    templated: String,
    prompt_ids: Vec<u32>,
    scores: Vec<LabelRef>,
    best_by_sum: String,
    best_by_mean: String,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn fixture() -> Fixture {
    testkit::read_json_as(testkit::fixtures().join("eval/likelihood.json"))
}

fn sample(c: &Case) -> data::Sample {
    data::Sample {
        id: c.name.clone(),
        task: Task::Custom(c.task.clone()),
        audio: c.clips.iter().map(|f| testkit::tiny_clip(f)).collect(),
        images: vec![],
        videos: vec![],
        prompt: Some(c.prompt.clone()),
        system: c.system.clone(),
        target: c.labels[0].clone(),
        references: vec![],
        source: data::Location::new("fixture", 1),
    }
}

#[test]
fn label_log_probs_equal_the_reference() {
    let model = common::tiny();
    let mut worst: f64 = 0.0;
    for c in fixture().cases {
        let p = prepared(&model, &c);
        assert_eq!(p.templated, c.templated, "{}", c.name);
        assert_eq!(p.seq.ids, c.prompt_ids, "{}", c.name);
        let answers: Vec<Vec<u32>> = c
            .labels
            .iter()
            .map(|l| answer_ids(&model, &p.templated, l).unwrap())
            .collect();
        let scores = score_continuations(&model, &p.seq, &answers).unwrap();
        for ((want, ids), got) in c.scores.iter().zip(&answers).zip(&scores) {
            assert_eq!(ids, &want.answer_ids, "{} {}", c.name, want.label);
            assert_eq!(got.tokens(), want.token_logprobs.len());
            for (g, w) in got.token_logprobs.iter().zip(&want.token_logprobs) {
                worst = worst.max((g - w).abs());
                assert!(
                    (g - w).abs() <= TOL,
                    "{} {}: {g} vs {w}",
                    c.name,
                    want.label
                );
            }
            assert!(
                (got.sum() - want.sum).abs() <= TOL,
                "{} {}",
                c.name,
                want.label
            );
            assert!(
                (got.mean() - want.mean).abs() <= TOL,
                "{} {}",
                c.name,
                want.label
            );
        }
    }
    eprintln!("max |ours - transformers| per token log-prob: {worst:.2e}");
}

#[test]
fn built_in_prompts_are_the_fixture_prompts() {
    for c in fixture().cases {
        if let Some(t) = ClassTask::builtin(&c.task) {
            assert_eq!(t.rendered_prompt(), c.prompt, "{}", c.name);
            assert_eq!(t.labels, c.labels, "{}", c.name);
        }
    }
}

#[test]
fn classifier_picks_the_reference_label_by_sum_and_by_mean() {
    let model = common::tiny();
    for c in fixture().cases {
        let task = ClassTask {
            name: c.task.clone(),
            labels: c.labels.clone(),
            prompt: c.prompt.clone(),
            aliases: Default::default(),
        };
        let s = LabeledSample {
            sample: sample(&c),
            label: 0,
        };
        for (select, want) in [
            (Select::Sum, &c.best_by_sum),
            (Select::Mean, &c.best_by_mean),
        ] {
            let opts = ClassifyOptions {
                select,
                ..ClassifyOptions::default()
            };
            let r = classify_samples(
                &model,
                &task,
                std::slice::from_ref(&s),
                vec![],
                "fixture",
                &opts,
            )
            .unwrap();
            assert_eq!(
                r.records[0].predicted.as_ref(),
                Some(want),
                "{} {select:?}",
                c.name
            );
        }
    }
}

#[test]
fn more_labels_than_one_batch_score_the_same() {
    // 20 continuations: two groups of the batched pass; each must equal its twin.
    let model = common::tiny();
    let c = fixture()
        .cases
        .into_iter()
        .find(|c| c.task == "mgc")
        .unwrap();
    let p = prepared(&model, &c);
    let answers: Vec<Vec<u32>> = c.scores.iter().map(|s| s.answer_ids.clone()).collect();
    let twice: Vec<Vec<u32>> = answers.iter().chain(&answers).cloned().collect();
    let scores = score_continuations(&model, &p.seq, &twice).unwrap();
    assert_eq!(scores.len(), 20);
    for i in 0..10 {
        for (a, b) in scores[i]
            .token_logprobs
            .iter()
            .zip(&scores[i + 10].token_logprobs)
        {
            assert!((a - b).abs() <= 1e-5);
        }
        assert!((scores[i].sum() - c.scores[i].sum).abs() <= TOL);
    }
}

/// On Qwen2-VL the cached scoring continues from the image prompt's M-RoPE position (one past
/// its largest, not its length): equal to one full forward pass over prompt + answer, whose
/// 3-D positions are the reference's (`get_rope_index`, tested in the model crate).
#[test]
fn image_prompt_label_scores_equal_a_full_pass() {
    use candle_core::{IndexOp, D};
    use model::prompt::{render_chat, Message, Part, Role};
    let (dir, m) = vl_model();
    let img = m.image(&dir.join("images/wide.jpg")).unwrap();
    let user = Message {
        role: Role::User,
        parts: vec![Part::Image, Part::Text("Which colour?".into())],
    };
    let templated = render_chat(&[user], true);
    let prompt = m
        .sequence(&templated, model::Inputs::images(vec![img.clone()]))
        .unwrap();
    let labels = ["red", "deep blue sea", "a green"];
    let conts: Vec<Vec<u32>> = labels
        .iter()
        .map(|l| answer_ids(&m, &templated, l).unwrap())
        .collect();
    let got = score_continuations(&m, &prompt, &conts).unwrap();
    for (c, s) in conts.iter().zip(&got) {
        let mut ids = prompt.ids.clone();
        ids.extend(c);
        let full = model::Sequence {
            ids,
            inputs: model::Inputs::images(vec![img.clone()]),
        };
        let logp =
            candle_nn::ops::log_softmax(&m.prompt_logits(&full).unwrap(), D::Minus1).unwrap();
        let p = prompt.ids.len();
        for (j, &tok) in c.iter().enumerate() {
            let want: f32 = logp
                .i((p + j - 1, tok as usize))
                .unwrap()
                .to_scalar()
                .unwrap();
            let d = (s.token_logprobs[j] - want as f64).abs();
            assert!(
                d <= 1e-5,
                "token {j} of {c:?}: {} vs {want}",
                s.token_logprobs[j]
            );
        }
    }
}

#[test]
fn a_batch_of_prompts_scores_each_as_the_reference() {
    // Every fixture case in one batch: prompts of different lengths (left padding) with
    // different label sets, more rows than one continuation pass holds.
    let model = common::tiny();
    let cases = fixture().cases;
    let prepared: Vec<_> = cases.iter().map(|c| prepared(&model, c)).collect();
    let lens: std::collections::BTreeSet<usize> =
        prepared.iter().map(|p| p.seq.ids.len()).collect();
    assert!(lens.len() > 1, "the cases should need padding");
    let seqs: Vec<_> = prepared.iter().map(|p| p.seq.clone()).collect();
    let answers: Vec<Vec<Vec<u32>>> = cases
        .iter()
        .map(|c| c.scores.iter().map(|s| s.answer_ids.clone()).collect())
        .collect();
    assert!(answers.iter().map(Vec::len).sum::<usize>() > eval::likelihood::MAX_ROWS);
    let all = score_batch(&model, &seqs, &answers).unwrap();
    let mut worst: f64 = 0.0;
    for ((c, scores), (p, conts)) in cases.iter().zip(&all).zip(prepared.iter().zip(&answers)) {
        let alone = score_continuations(&model, &p.seq, conts).unwrap();
        for ((want, got), one) in c.scores.iter().zip(scores).zip(&alone) {
            assert_eq!(got.tokens(), want.token_logprobs.len());
            for ((g, w), o) in got
                .token_logprobs
                .iter()
                .zip(&want.token_logprobs)
                .zip(&one.token_logprobs)
            {
                worst = worst.max((g - w).abs());
                assert!(
                    (g - w).abs() <= TOL,
                    "{} {}: {g} vs {w}",
                    c.name,
                    want.label
                );
                assert!(
                    (g - o).abs() <= 1e-5,
                    "{} {}: batched {g}, alone {o}",
                    c.name,
                    want.label
                );
            }
        }
    }
    eprintln!("batched: max |ours - transformers| per token log-prob: {worst:.2e}");

    // The classifier gives the same records whatever the batch size: the genre task over
    // every case's clips (one or two clips: prompts of different lengths).
    let mgc = cases.iter().find(|c| c.task == "mgc").unwrap();
    let task = ClassTask {
        name: mgc.task.clone(),
        labels: mgc.labels.clone(),
        prompt: mgc.prompt.clone(),
        aliases: Default::default(),
    };
    let labeled: Vec<LabeledSample> = cases
        .iter()
        .map(|c| {
            let mut s = sample(c);
            s.task = Task::Custom(mgc.task.clone());
            s.prompt = Some(mgc.prompt.clone());
            s.system = None;
            LabeledSample {
                sample: s,
                label: 0,
            }
        })
        .collect();
    let records = |batch_size: usize| {
        let opts = ClassifyOptions {
            batch_size,
            ..Default::default()
        };
        classify_samples(&model, &task, &labeled, vec![], "fixture", &opts)
            .unwrap()
            .records
    };
    let (one, four) = (records(1), records(4));
    assert_eq!(one.len(), 4);
    for (a, b) in one.iter().zip(&four) {
        assert_eq!(a.predicted, b.predicted);
        for (x, y) in a
            .scores
            .as_ref()
            .unwrap()
            .iter()
            .zip(b.scores.as_ref().unwrap())
        {
            assert!((x.sum - y.sum).abs() <= 1e-5);
        }
    }
}

/// Image prompts of different sizes in one batch: each row continues from its own M-RoPE
/// position, as when scored alone.
#[test]
fn a_batch_of_image_prompts_scores_each_as_alone() {
    use model::prompt::{render_chat, Message, Part, Role};
    let (dir, m) = vl_model();
    let user = Message {
        role: Role::User,
        parts: vec![Part::Image, Part::Text("Which colour?".into())],
    };
    let templated = render_chat(&[user], true);
    let prompts: Vec<model::Sequence> = ["images/wide.jpg", "images/small.png"]
        .iter()
        .map(|f| {
            let img = m.image(&dir.join(f)).unwrap();
            m.sequence(&templated, model::Inputs::images(vec![img]))
                .unwrap()
        })
        .collect();
    assert_ne!(prompts[0].ids.len(), prompts[1].ids.len());
    let conts: Vec<Vec<u32>> = ["red", "deep blue sea", "a green"]
        .iter()
        .map(|l| answer_ids(&m, &templated, l).unwrap())
        .collect();
    let both = score_batch(&m, &prompts, &[conts.clone(), conts.clone()]).unwrap();
    for (p, batched) in prompts.iter().zip(&both) {
        let alone = score_continuations(&m, p, &conts).unwrap();
        for (a, b) in alone.iter().zip(batched) {
            for (x, y) in a.token_logprobs.iter().zip(&b.token_logprobs) {
                assert!((x - y).abs() <= 1e-5, "{x} vs {y}");
            }
        }
    }
}

/// The tiny Qwen2-VL fixture model and its fixture directory.
fn vl_model() -> (std::path::PathBuf, model::Model) {
    let dir = testkit::fixtures().join("vision");
    let m = model::Model::from_source(
        dir.join("model").to_str().unwrap(),
        &candle_core::Device::Cpu,
        candle_core::DType::F32,
        None,
    )
    .unwrap();
    (dir, m)
}

/// A fixture case's prompt, prepared with the default options.
fn prepared(model: &model::Model, c: &Case) -> eval::input::Prepared {
    prepare(
        model,
        &sample(c),
        &Prompts::default(),
        audio::LongAudio::Truncate,
        &vision::VideoOptions::default(),
    )
    .unwrap()
}
