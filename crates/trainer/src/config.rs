//! One TOML file per experiment, parsed as written (`RawConfig`, every table
//! `deny_unknown_fields`, closed choices as enums), with `--set section.key=value` overrides
//! applied to the TOML tree before parsing, then validated into what the trainer uses.

use std::path::{Path, PathBuf};

use model::device::{DTypeSpec, DeviceSpec};
use model::lora::TargetModules;
use serde::{Deserialize, Serialize};

use crate::schedule::Schedule;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub model: ModelSection,
    #[serde(default)]
    pub lora: LoraSection,
    pub train: TrainSection,
    pub data: DataSection,
    pub output: OutputSection,
    /// Generate the procedural world (its manifests feed `data`) before training, if missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<WorldSection>,
    /// Evaluate the base and the finetuned model after training, and report the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalSection>,
    /// [`Config::resume_hash`] of the file as written (see there); `None` when the config was
    /// not parsed from text.
    #[serde(skip)]
    written_hash: Option<String>,
}

/// The procedural corpus of the `world` crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSection {
    /// Where it is (or will be) written.
    pub dir: PathBuf,
    #[serde(default = "demo_size")]
    pub size: world::Size,
    #[serde(default)]
    pub seed: u64,
}

fn demo_size() -> world::Size {
    world::Size::Demo
}

impl WorldSection {
    pub fn world_config(&self) -> world::WorldConfig {
        world::WorldConfig {
            seed: self.seed,
            ..world::WorldConfig::sized(self.size)
        }
    }
}

/// Post-training evaluation (the `eval` crate): captioning sets and classification probes, on
/// the base model and on the trained one, with a table of the differences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// Results, per-set outputs and the report (default `output.dir/eval`).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The report's name for the trained model (default: the run directory's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Also evaluate the base model and report the changes against it.
    #[serde(default = "yes")]
    pub compare_base: bool,
    /// The base's result file; reused when it already holds every set below (runs that share
    /// a base then evaluate it once). Default `<dir>/base.json`.
    #[serde(default)]
    pub base_result: Option<PathBuf>,
    /// Longest generated caption, in tokens.
    #[serde(default = "default_caption_tokens")]
    pub max_new_tokens: usize,
    /// Captions generated per batch.
    #[serde(default = "default_eval_batch")]
    pub batch_size: usize,
    /// Captioning metrics in the report's table (every metric stays in the result files).
    #[serde(default = "default_report_metrics")]
    pub report_metrics: Vec<String>,
    #[serde(default)]
    pub caption: Vec<CaptionSet>,
    #[serde(default)]
    pub classify: Vec<ClassifySet>,
}

fn default_report_metrics() -> Vec<String> {
    ["bleu_4", "meteor", "rouge_l", "cider_d", "spider"]
        .map(String::from)
        .to_vec()
}

fn yes() -> bool {
    true
}
fn default_caption_tokens() -> usize {
    48
}
fn default_eval_batch() -> usize {
    8
}

/// A captioning test set: a manifest with reference captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionSet {
    /// Column name in the report.
    pub name: String,
    pub manifest: PathBuf,
}

/// A classification probe: a built-in task (vsc, ser, mic, mgc) and its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifySet {
    pub task: String,
    pub manifest: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Hub id or local directory (Qwen2AudioForConditionalGeneration layout).
    pub source: String,
    #[serde(default)]
    pub dtype: DTypeSpec,
    #[serde(default)]
    pub device: DeviceSpec,
    /// Clips over 30 s: refuse them or keep the first 30 s.
    #[serde(default)]
    pub long_audio: LongAudioPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LongAudioPolicy {
    Error,
    #[default]
    Truncate,
}

impl From<LongAudioPolicy> for audio::LongAudio {
    fn from(p: LongAudioPolicy) -> Self {
        match p {
            LongAudioPolicy::Error => audio::LongAudio::Error,
            LongAudioPolicy::Truncate => audio::LongAudio::Truncate,
        }
    }
}

/// Which part of the model LoRA may target (PEFT itself would also match the audio tower's
/// and projector's linears for `all-linear` or a suffix list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoraScope {
    /// Only `language_model.*` (the paper's recipe).
    #[default]
    Llm,
    /// Every module that `target_modules` matches, as PEFT does.
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraSection {
    pub r: usize,
    pub alpha: f64,
    pub dropout: f64,
    pub target_modules: TargetModules,
    pub scope: LoraScope,
    /// alpha / √r instead of alpha / r.
    pub rslora: bool,
    /// A PEFT adapter directory to start from (continue training).
    pub init_from: Option<PathBuf>,
}

impl Default for LoraSection {
    fn default() -> Self {
        Self {
            r: 8,
            alpha: 32.0,
            dropout: 0.05,
            target_modules: TargetModules::Pattern("all-linear".into()),
            scope: LoraScope::Llm,
            rslora: false,
            init_from: None,
        }
    }
}

/// What the trainer updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// LoRA adapters (plus the projector / encoder when switched on).
    #[default]
    Lora,
    /// Every weight of the model.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBad {
    /// Stop with an error naming the file, line and field.
    #[default]
    Error,
    /// Skip the sample, count it and report it at the end.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    #[serde(default)]
    pub mode: Mode,
    /// Also train the projector's weights (full finetuning of that layer).
    #[serde(default)]
    pub train_projector: bool,
    /// Also train the audio encoder's weights.
    #[serde(default)]
    pub train_encoder: bool,
    pub lr: f64,
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default = "default_betas")]
    pub betas: [f64; 2],
    #[serde(default = "default_eps")]
    pub eps: f64,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    #[serde(default)]
    pub warmup_steps: usize,
    /// Optimizer steps.
    pub steps: usize,
    #[serde(default = "one")]
    pub micro_batch: usize,
    #[serde(default = "one")]
    pub grad_accum: usize,
    /// Global-norm clipping; 0 disables it.
    #[serde(default = "default_clip")]
    pub max_grad_norm: f64,
    #[serde(default)]
    pub seed: u64,
    /// Longest prompt + answer in tokens (audio tokens included).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    #[serde(default)]
    pub on_bad_sample: OnBad,
    /// Evaluate the validation loss every N steps (0: never).
    #[serde(default)]
    pub eval_every: usize,
    /// Recompute each decoder layer in the backward pass instead of keeping its activations
    /// (much less memory, about a third more compute; the gradients are the same).
    #[serde(default = "yes")]
    pub gradient_checkpointing: bool,
}

fn default_schedule() -> Schedule {
    Schedule::Constant
}
fn default_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn default_eps() -> f64 {
    1e-8
}
fn one() -> usize {
    1
}
fn default_clip() -> f64 {
    1.0
}
fn default_max_tokens() -> usize {
    4096
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSet {
    /// `ac`, `acc`, `adc` or a custom task name (lines of the manifest may override it).
    pub task: data::task::Task,
    pub manifest: PathBuf,
    #[serde(default = "unit_weight")]
    pub weight: f64,
}

fn unit_weight() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    pub train: Vec<DataSet>,
    #[serde(default)]
    pub valid: Vec<DataSet>,
    /// Cache mel features here so later epochs do not decode again.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Prompt per task, overriding the defaults (`ac`, `acc`, `acc_many`, `adc`, `custom`).
    #[serde(default)]
    pub prompts: data::task::Prompts,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resume {
    /// Continue from the newest checkpoint in `output.dir` if there is one.
    #[default]
    Auto,
    /// Start afresh (refuses a run directory that already has checkpoints).
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    pub dir: PathBuf,
    /// Checkpoint every N optimizer steps (and always at the end); 0: only at the end.
    #[serde(default)]
    pub save_every: usize,
    /// Keep the newest K checkpoints (0: all).
    #[serde(default = "default_keep")]
    pub keep_last: usize,
    #[serde(default)]
    pub resume: Resume,
    /// Write a merged full model (base + LoRA) at the end, besides the PEFT adapter.
    #[serde(default)]
    pub export_merged: bool,
    /// Print progress every N steps when stderr is not a terminal.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_keep() -> usize {
    3
}
fn default_log_every() -> usize {
    10
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {msg}")]
    Parse { path: PathBuf, msg: String },
    #[error("--set {arg:?}: {msg}")]
    Override { arg: String, msg: String },
    #[error("{path}: {field}: {msg}")]
    Invalid {
        path: PathBuf,
        field: String,
        msg: String,
    },
}

impl Config {
    /// Reads `path`, applies `overrides` (`section.key=value`, the value in TOML syntax, bare
    /// words taken as strings), parses and validates. Relative paths resolve against the
    /// working directory, as a shell user expects.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.into(),
            source,
        })?;
        Self::parse(&text, path, overrides)
    }

    pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let mut tree: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            msg: e.to_string(),
        })?;
        for arg in overrides {
            apply_override(&mut tree, arg)?;
        }
        let written_hash = Some(fnv_hex(&canonical_for_resume(&tree)));
        let mut cfg: Config = tree
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.into(),
                msg: e.to_string(),
            })?;
        cfg.validate(path)?;
        cfg.written_hash = written_hash;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field: &str, msg: String| ConfigError::Invalid {
            path: path.into(),
            field: field.into(),
            msg,
        };
        let t = &self.train;
        if !(t.lr > 0.0 && t.lr.is_finite()) {
            return Err(bad("train.lr", format!("must be positive, got {}", t.lr)));
        }
        if t.steps == 0 {
            return Err(bad("train.steps", "must be at least 1".into()));
        }
        if t.micro_batch == 0 || t.grad_accum == 0 {
            return Err(bad(
                "train.micro_batch / train.grad_accum",
                "must be at least 1".into(),
            ));
        }
        if t.warmup_steps > t.steps {
            return Err(bad(
                "train.warmup_steps",
                format!("{} exceeds train.steps {}", t.warmup_steps, t.steps),
            ));
        }
        if !(0.0..1.0).contains(&t.betas[0]) || !(0.0..1.0).contains(&t.betas[1]) {
            return Err(bad("train.betas", "each must be in [0, 1)".into()));
        }
        if t.weight_decay < 0.0 || t.max_grad_norm < 0.0 {
            return Err(bad(
                "train",
                "weight_decay and max_grad_norm must be ≥ 0".into(),
            ));
        }
        if t.mode == Mode::Lora {
            let l = &self.lora;
            if l.r == 0 {
                return Err(bad("lora.r", "must be at least 1".into()));
            }
            if !(0.0..1.0).contains(&l.dropout) {
                return Err(bad(
                    "lora.dropout",
                    format!("must be in [0, 1), got {}", l.dropout),
                ));
            }
            if let TargetModules::Pattern(p) = &l.target_modules {
                if p != "all-linear" {
                    regex::Regex::new(p).map_err(|e| bad("lora.target_modules", e.to_string()))?;
                }
            }
        }
        if self.data.train.is_empty() {
            return Err(bad(
                "data.train",
                "at least one [[data.train]] set is needed".into(),
            ));
        }
        for (i, d) in self.data.train.iter().chain(&self.data.valid).enumerate() {
            if !(d.weight > 0.0 && d.weight.is_finite()) {
                return Err(bad(
                    &format!("data set {} ({})", i + 1, d.task),
                    "weight must be positive".into(),
                ));
            }
        }
        if let Some(e) = &self.eval {
            for (i, c) in e.classify.iter().enumerate() {
                if data::classify::ClassTask::builtin(&c.task).is_none() {
                    return Err(bad(
                        &format!("eval.classify[{i}].task"),
                        format!("`{}` is not a built-in probe (vsc, ser, mic, mgc)", c.task),
                    ));
                }
            }
            if let Some(m) = e
                .report_metrics
                .iter()
                .find(|m| !eval::score::CAPTION_METRICS.contains(&m.as_str()))
            {
                return Err(bad(
                    "eval.report_metrics",
                    format!(
                        "unknown metric `{m}` (one of {})",
                        eval::score::CAPTION_METRICS.join(", ")
                    ),
                ));
            }
            if e.caption.is_empty() && e.classify.is_empty() {
                return Err(bad(
                    "eval",
                    "names no [[eval.caption]] or [[eval.classify]] set".into(),
                ));
            }
        }
        if t.eval_every > 0 && self.data.valid.is_empty() {
            return Err(bad("train.eval_every", "needs [[data.valid]] sets".into()));
        }
        Ok(())
    }

    /// A stable hash of the settings that must not change across a resume: everything but
    /// `output.resume`, `output.log_every`, `train.steps`, `train.gradient_checkpointing`
    /// (same gradients either way) and the post-training `eval`. It is taken over the keys as
    /// written in the file (plus `--set` overrides), so a newer trainer that adds settings
    /// with defaults still resumes an older run; comments, layout and key order do not count.
    pub fn resume_hash(&self) -> String {
        if let Some(h) = &self.written_hash {
            return h.clone();
        }
        match toml::Table::try_from(self) {
            Ok(t) => fnv_hex(&canonical_for_resume(&t)),
            Err(_) => String::new(),
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// The TOML tree without the keys a resume may change, as canonical (sorted) JSON text.
fn canonical_for_resume(tree: &toml::Table) -> String {
    let mut t = tree.clone();
    t.remove("eval");
    for (section, keys) in [
        ("train", &["steps", "gradient_checkpointing"][..]),
        ("output", &["resume", "log_every"][..]),
    ] {
        if let Some(toml::Value::Table(s)) = t.get_mut(section) {
            for k in keys {
                s.remove(*k);
            }
        }
    }
    serde_json::to_value(&t).map_or_else(|_| String::new(), |v| v.to_string())
}

/// FNV-1a, 64 bit, as hex: stable across platforms and versions.
fn fnv_hex(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `a.b.c=value`: sets the key in the TOML tree; the value is parsed as TOML, or taken as a
/// string when it does not parse (so `--set model.device=cuda:0` works unquoted).
fn apply_override(tree: &mut toml::Table, arg: &str) -> Result<(), ConfigError> {
    let err = |msg: &str| ConfigError::Override {
        arg: arg.into(),
        msg: msg.into(),
    };
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| err("expected section.key=value"))?;
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let parts: Vec<&str> = key.trim().split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(err("empty key part"));
    }
    let mut table = tree;
    for p in &parts[..parts.len() - 1] {
        let entry = table
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry
            .as_table_mut()
            .ok_or_else(|| err(&format!("{p} is not a table")))?;
    }
    table.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}
