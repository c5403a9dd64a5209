//! The training step's seams and its refusals, on the tiny model: an extra loss term (a
//! teacher's) enters the objective like the cross-entropy; a gradient all-reduce sees the
//! accumulated gradients before clipping and normalises by the global token count; a
//! trainable tensor that gets no gradient is an error naming it.

use candle_core::{DType, Device, Tensor, Var};
use finetune::adapters::TrainableLora;
use finetune::config::LoraSection;
use finetune::loss::label_loss;
use finetune::optim::{AdamW, AdamWConfig};
use finetune::params::Trainable;
use finetune::step::{train_step, ExtraLoss, GradSync, Seams, StepSettings};
use model::prompt::Message;
use model::Model;
use processor::{example, Example};
use testkit::{max_abs_diff, tiny_clip, tiny_model_dir};

fn trainable() -> Trainable {
    let lcfg = LoraSection {
        dropout: 0.0,
        ..LoraSection::default()
    };
    let lora = TrainableLora::new(&lcfg, 7, model::Family::Qwen2Audio).unwrap();
    let files = model::checkpoint::resolve(tiny_model_dir().to_str().unwrap()).unwrap();
    let model = Model::load(&files, &Device::Cpu, DType::F32, &lora).unwrap();
    let pairs = lora.pairs();
    // B starts at zero (PEFT's init), which would leave A without a gradient signal.
    for p in &pairs {
        let b = p.b.as_tensor();
        p.b.set(&Tensor::full(0.01f32, b.dims(), b.device()).unwrap())
            .unwrap();
    }
    Trainable {
        model,
        lora: pairs,
        base: vec![],
        lora_source: Some(lora),
        side_grads: None,
    }
}

fn examples(model: &Model) -> Vec<Vec<Example>> {
    let x = audio::load_mono_16k(&tiny_clip("tone.wav")).unwrap();
    let f = model.features(&x, audio::LongAudio::Error).unwrap();
    let e = example::build(
        model,
        &[Message::user_with_audio(
            1,
            "Describe the audio in a sentence.",
        )],
        "a steady tone",
        vec![f],
        4096,
    )
    .unwrap();
    vec![vec![e]]
}

fn optimizer(vars: Vec<(String, Var)>) -> AdamW {
    AdamW::new(vars, AdamWConfig::default()).unwrap()
}

const SET: StepSettings = StepSettings {
    step: 0,
    lr: 1e-3,
    max_grad_norm: 0.0,
    seed: 0,
};

/// Records the gradients handed over; reports `factor` × the local token count as global.
struct Spy {
    factor: usize,
    grads: Vec<Tensor>,
}

impl GradSync for Spy {
    fn global_tokens(&mut self, local: usize) -> finetune::Result<usize> {
        Ok(local * self.factor)
    }
    fn all_reduce(&mut self, grads: &mut [Tensor]) -> finetune::Result<()> {
        self.grads = grads.to_vec();
        Ok(())
    }
}

/// The cross-entropy once more: doubles the objective.
struct SameAgain;

impl ExtraLoss for SameAgain {
    fn micro_loss(
        &self,
        model: &Model,
        hidden: &Tensor,
        examples: &[&Example],
    ) -> finetune::Result<Option<Tensor>> {
        Ok(Some(label_loss(model, hidden, examples)?.sum))
    }
}

fn step_with(
    extra: Option<&dyn ExtraLoss>,
    factor: usize,
) -> (finetune::step::StepStats, Vec<Tensor>) {
    let tr = trainable();
    let mut opt = optimizer(tr.named_vars());
    let micro = examples(&tr.model);
    let mut spy = Spy {
        factor,
        grads: vec![],
    };
    let stats = train_step(
        &tr,
        &mut opt,
        &micro,
        &SET,
        &mut Seams {
            extra_loss: extra,
            sync: Some(&mut spy),
        },
    )
    .unwrap();
    (stats, spy.grads)
}

#[test]
fn an_extra_loss_term_and_the_token_count_shape_the_gradients() {
    let (plain, g) = step_with(None, 1);
    assert!(plain.extra_loss.is_none());
    assert!(plain.loss > 0.0 && plain.label_tokens > 0);
    assert!(
        g.iter().any(|t| testkit::max_abs(t) > 0.0),
        "no gradient signal"
    );

    // The same term again: the extra loss equals the loss and every gradient doubles.
    let (doubled, g2) = step_with(Some(&SameAgain), 1);
    let extra = doubled.extra_loss.expect("an extra term");
    assert!(
        (extra - doubled.loss).abs() <= 1e-6 * doubled.loss,
        "{extra} vs {}",
        doubled.loss
    );
    for (a, b) in g.iter().zip(&g2) {
        let want = (a * 2.0).unwrap();
        assert!(max_abs_diff(b, &want) <= 1e-5 * testkit::max_abs(&want).max(1e-12));
    }

    // Twice the tokens over all devices: every device's gradient halves.
    let (_, g3) = step_with(None, 2);
    for (a, b) in g.iter().zip(&g3) {
        let want = (a * 0.5).unwrap();
        assert!(max_abs_diff(b, &want) <= 1e-6 * testkit::max_abs(&want).max(1e-12));
    }
}

#[test]
fn a_trainable_tensor_without_a_gradient_is_named() {
    let tr = trainable();
    let mut vars = tr.named_vars();
    let stray =
        Var::from_tensor(&Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap()).unwrap();
    vars.push(("stray.weight".into(), stray));
    let mut opt = optimizer(vars);
    let micro = examples(&tr.model);
    let before: Vec<Tensor> = tr
        .lora
        .iter()
        .map(|p| p.a.as_tensor().copy().unwrap())
        .collect();
    let e = train_step(&tr, &mut opt, &micro, &SET, &mut Seams::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("stray.weight") && msg.contains("no gradient"),
        "{msg}"
    );
    // Nothing was updated.
    for (p, b) in tr.lora.iter().zip(&before) {
        assert_eq!(max_abs_diff(p.a.as_tensor(), b), 0.0);
    }
}
