//! Every parameter that full finetuning or LoRA would train receives a non-zero gradient:
//! no op on the training path (encoder, projector, decoder) cuts the autograd graph.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use common::*;
use model::Model;

/// Cross-entropy of the next token at every position after the audio (a stand-in for the
/// trainer's answer-only loss).
fn loss(model: &Model) -> Tensor {
    let seq = sequence(model, "pair");
    let batch = model.batch(std::slice::from_ref(&seq)).unwrap();
    let hidden = model
        .forward_hidden(&batch, None)
        .unwrap()
        .squeeze(0)
        .unwrap();
    let t = hidden.dim(0).unwrap();
    let start = t - 12;
    let logits = model
        .decoder
        .logits(&hidden.narrow(0, start, 11).unwrap())
        .unwrap();
    let targets: Vec<u32> = seq.ids[start + 1..].to_vec();
    let targets = Tensor::from_vec(targets, 11, &Device::Cpu).unwrap();
    candle_nn::loss::cross_entropy(&logits, &targets).unwrap()
}

#[test]
fn full_finetuning_reaches_every_weight() {
    let (model, vars) = full_finetuning_model();
    let grads = loss(&model).backward().unwrap();
    assert!(vars.len() > 40);
    for (name, v) in &vars {
        assert_nonzero(name, grads.get(v.as_tensor()));
    }
}

#[test]
fn lora_on_every_linear_gets_gradients() {
    let files = model::checkpoint::resolve(testkit::tiny_model_dir().to_str().unwrap()).unwrap();
    let src = AllLinear {
        vars: RefCell::new(vec![]),
    };
    let model = Model::load(&files, &Device::Cpu, DType::F32, &src).unwrap();
    let grads = loss(&model).backward().unwrap();
    let vars = src.vars.borrow();
    // 2 encoder layers × 6 + projector + 2 decoder layers × 7 linears, A and B each.
    assert_eq!(vars.len(), 2 * (2 * 6 + 1 + 2 * 7));
    for (name, v) in vars.iter() {
        assert_nonzero(name, grads.get(v.as_tensor()));
    }
}

/// Every weight as a `Var` (full finetuning), and the model built on them.
fn full_finetuning_model() -> (Model, HashMap<String, Var>) {
    let files = model::checkpoint::resolve(testkit::tiny_model_dir().to_str().unwrap()).unwrap();
    let tensors = testkit::load_tensors(&files.weights[0]);
    let vars: HashMap<String, Var> = tensors
        .iter()
        .map(|(k, t)| (k.clone(), Var::from_tensor(t).unwrap()))
        .collect();
    let as_tensors = vars
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    let vb = VarBuilder::from_tensors(as_tensors, DType::F32, &Device::Cpu);
    let model = Model::build(&files, vb, &model::lora::NoAdapters).unwrap();
    (model, vars)
}

/// The two gradients agree to 1e-6 relative to the larger entries of `a`.
fn assert_close(name: &str, a: &Tensor, b: &Tensor) {
    let scale = testkit::max_abs(a);
    assert!(
        testkit::max_abs_diff(a, b) <= 1e-6 * (1.0 + scale),
        "{name}"
    );
}

#[test]
fn checkpointed_layers_give_the_plain_gradients() {
    let files = model::checkpoint::resolve(testkit::tiny_model_dir().to_str().unwrap()).unwrap();
    // LoRA on every linear layer.
    let src = AllLinear {
        vars: RefCell::new(vec![]),
    };
    let mut model = Model::load(&files, &Device::Cpu, DType::F32, &src).unwrap();
    let plain = loss(&model).backward().unwrap();
    let vars = src.vars.borrow();
    let store = model
        .decoder
        .enable_checkpointing(vars.iter().map(|(_, v)| v.id()));
    let mut ckpt = loss(&model).backward().unwrap();
    store.drain_into(&mut ckpt).unwrap();
    for (name, v) in vars.iter() {
        let (a, b) = (plain.get(v.as_tensor()), ckpt.get(v.as_tensor()));
        let (a, b) = (
            a.unwrap(),
            b.unwrap_or_else(|| panic!("{name}: no gradient")),
        );
        assert_close(name, a, b);
    }

    // Full finetuning: the gradients reach the weights through the recomputed layers.
    let (mut model, vars) = full_finetuning_model();
    let plain = loss(&model).backward().unwrap();
    let store = model
        .decoder
        .enable_checkpointing(vars.values().map(|v| v.id()));
    let mut ckpt = loss(&model).backward().unwrap();
    store.drain_into(&mut ckpt).unwrap();
    for (name, v) in &vars {
        let a = plain.get(v.as_tensor()).unwrap();
        let b = ckpt
            .get(v.as_tensor())
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        assert_close(name, a, b);
    }
}
