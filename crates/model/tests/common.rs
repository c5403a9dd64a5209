//! Helpers of the model crate's integration tests: the committed tiny reference model and the
//! golden outputs `scripts/make_model_fixtures.py` wrote with transformers 4.57. Fixture
//! paths, tensor comparisons and file readers shared with other crates are in `testkit`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use model::Model;

/// The tiny model's fixtures: `tests/fixtures/tiny` (model, clips, reference outputs).
pub fn tiny_fixtures() -> PathBuf {
    testkit::fixtures().join("tiny")
}

pub fn reference() -> HashMap<String, Tensor> {
    testkit::load_tensors(tiny_fixtures().join("reference.safetensors"))
}

pub fn cases() -> serde_json::Value {
    testkit::read_json(tiny_fixtures().join("cases.json"))
}

pub fn case(name: &str) -> serde_json::Value {
    cases()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no case {name}"))
        .clone()
}

pub fn tiny() -> Model {
    let dir = testkit::tiny_model_dir();
    Model::from_source(dir.to_str().unwrap(), &Device::Cpu, DType::F32, None).unwrap()
}

pub fn clip(model: &Model, file: &str) -> model::AudioInput {
    let samples = audio::load_mono_16k(&testkit::tiny_clip(file)).unwrap();
    model
        .features(&samples, audio::LongAudio::Truncate)
        .unwrap()
}

/// The clips and user prompt of a case, as a sequence built with the chat template.
pub fn sequence(model: &Model, name: &str) -> model::model::Sequence {
    let c = case(name);
    let clips: Vec<_> = c["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| clip(model, f.as_str().unwrap()))
        .collect();
    let msg = model::prompt::Message::user_with_audio(clips.len(), c["prompt"].as_str().unwrap());
    model.chat_sequence(&[msg], clips).unwrap()
}

pub fn ids(t: &Tensor) -> Vec<u32> {
    t.to_dtype(DType::I64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<i64>()
        .unwrap()
        .into_iter()
        .map(|x| x as u32)
        .collect()
}

/// Panics unless `g` exists and is non-zero somewhere (a trainable tensor the backward pass
/// reached).
pub fn assert_nonzero(name: &str, g: Option<&Tensor>) {
    let g = g.unwrap_or_else(|| panic!("{name}: no gradient"));
    assert!(testkit::max_abs(g) > 0.0, "{name}: zero gradient");
}

/// Gives every linear layer a LoRA pair of `Var`s, with B non-zero so A's gradient is too.
pub struct AllLinear {
    pub vars: std::cell::RefCell<Vec<(String, candle_core::Var)>>,
}

impl model::lora::AdapterSource for AllLinear {
    fn lora_for(
        &self,
        module: &str,
        i: usize,
        o: usize,
        dtype: DType,
        dev: &Device,
    ) -> model::Result<Option<model::lora::LoraWeights>> {
        let r = 4;
        let a = candle_core::Var::from_tensor(
            &(Tensor::randn(0f32, 0.1, (r, i), dev)?.to_dtype(dtype)?),
        )?;
        let b = candle_core::Var::from_tensor(
            &(Tensor::randn(0f32, 0.1, (o, r), dev)?.to_dtype(dtype)?),
        )?;
        let w = model::lora::LoraWeights {
            a: a.as_tensor().clone(),
            b: b.as_tensor().clone(),
            scale: 2.0,
            dropout: None,
        };
        self.vars.borrow_mut().push((format!("{module}.lora_A"), a));
        self.vars.borrow_mut().push((format!("{module}.lora_B"), b));
        Ok(Some(w))
    }
}
