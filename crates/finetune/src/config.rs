//! The training sections of an experiment file (`[model]`, `[lora]`, `[train]`, `[data]`,
//! `[output]`; every table `deny_unknown_fields`, closed choices as enums), with
//! `--set section.key=value` overrides applied to the TOML tree before parsing, then
//! validated. Sections owned by the application (`[world]`, `[eval]`) are set aside by
//! [`Config::from_tree`] and parsed by their owner; a file holding them is refused by
//! [`Config::load`] alone.

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
    /// Cross-modal distillation on a multiple-choice set (absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<crate::distill::DistillSection>,
    /// Sections of the file owned by the application (`[world]`, `[eval]`), resolved, in
    /// file order: not read here, but kept in the run's `config.toml` copy.
    #[serde(skip)]
    pub app_sections: Vec<(String, toml::Value)>,
    /// [`Config::resume_hash`] of the file as written (see there); `None` when the config was
    /// not parsed from text.
    #[serde(skip)]
    written_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Hub id or local directory (a Qwen2AudioForConditionalGeneration or
    /// Qwen2VLForConditionalGeneration checkpoint; `config.json`'s `model_type` decides).
    pub source: String,
    #[serde(default)]
    pub dtype: DTypeSpec,
    #[serde(default)]
    pub device: DeviceSpec,
    /// Clips over 30 s: refuse them or keep the first 30 s.
    #[serde(default)]
    pub long_audio: audio::LongAudio,
    /// Frame sampling of videos, as `qwen_vl_utils` takes it (`fps`, `nframes`, `min_pixels`,
    /// `max_pixels`, `total_pixels`, …; its defaults when absent).
    #[serde(default, skip_serializing_if = "is_default")]
    pub video: vision::VideoOptions,
    /// Where the base weights come from: the checkpoint's files, or drawn on the device.
    #[serde(default, skip_serializing_if = "is_default")]
    pub weights: Weights,
}

/// Where a run's base weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// The checkpoint's safetensors.
    #[default]
    Checkpoint,
    /// Drawn on the device at load (N(0, 0.02) matrices, zero biases, unit norms:
    /// [`model::init::random_var_builder`]); `source` is a directory with a config and a
    /// tokenizer but no weights (`trainer init-model --no-weights`). For measuring speed and
    /// memory (the 7B-shaped benchmark): LoRA only, no merged export, no resume.
    Random,
}

/// Which part of the model LoRA may target (PEFT itself would also match the audio tower's
/// and projector's linears for `all-linear` or a suffix list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoraScope {
    /// Only the language model (`language_model.*` in Qwen2-Audio, `model.*` and `lm_head` in
    /// Qwen2-VL; the paper's recipe).
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    #[serde(default)]
    pub mode: Mode,
    /// Also train the projector's weights (full finetuning of that layer): Qwen2-Audio's
    /// `multi_modal_projector`, Qwen2-VL's patch merger (`visual.merger`).
    #[serde(default)]
    pub train_projector: bool,
    /// Also train the modality encoder's weights: Qwen2-Audio's audio tower, Qwen2-VL's vision
    /// tower without its merger.
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
    /// A bad sample stops the run naming its file, line and field, or is skipped and counted.
    #[serde(default)]
    pub on_bad_sample: data::OnBad,
    /// Evaluate the validation loss every N steps (0: never).
    #[serde(default)]
    pub eval_every: usize,
    /// Recompute each decoder layer in the backward pass instead of keeping its activations
    /// (much less memory, about a third more compute; the gradients are the same).
    #[serde(default = "yes")]
    pub gradient_checkpointing: bool,
}

fn yes() -> bool {
    true
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
    /// A multiple-choice task file (`data::choice::ChoiceTask`, TOML): the manifest's targets
    /// are classes, and each line becomes a lettered question answered with a letter.
    #[serde(default)]
    pub choice: Option<PathBuf>,
    /// With `choice`: which of a line's media the model is given.
    #[serde(default, skip_serializing_if = "is_default")]
    pub condition: data::choice::Condition,
}

fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
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

/// A section of the file that another layer owns (the application's `[world]`, `[eval]`):
/// set aside before the training config is parsed.
#[derive(Debug, Clone, Copy)]
pub struct AppSection<'a> {
    pub name: &'a str,
    /// Whether a change to it makes a checkpoint of the run unusable (so it counts in
    /// [`Config::resume_hash`]): true for what shapes the data, false for what runs after
    /// training.
    pub part_of_resume: bool,
}

/// The TOML tree of the file at `path` with `overrides` (`section.key=value`, the value in
/// TOML syntax, bare words taken as strings) applied.
pub fn read_tree(path: &Path, overrides: &[String]) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.into(),
        source,
    })?;
    parse_tree(&text, path, overrides)
}

/// [`read_tree`] of a text already read (`path` names it in errors).
pub fn parse_tree(
    text: &str,
    path: &Path,
    overrides: &[String],
) -> Result<toml::Table, ConfigError> {
    let mut tree: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        msg: e.to_string(),
    })?;
    for arg in overrides {
        apply_override(&mut tree, arg)?;
    }
    Ok(tree)
}

impl Config {
    /// Reads `path`, applies `overrides`, parses and validates. Relative paths resolve
    /// against the working directory, as a shell user expects.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Ok(Self::from_tree(read_tree(path, overrides)?, path, &[])?.0)
    }

    pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Ok(Self::from_tree(parse_tree(text, path, overrides)?, path, &[])?.0)
    }

    /// Parses and validates the training config in `tree`, after setting aside the sections
    /// in `app` (returned, as written, for their owner to parse). The resume hash is taken
    /// over the tree as written, `app` sections with `part_of_resume` included.
    pub fn from_tree(
        mut tree: toml::Table,
        path: &Path,
        app: &[AppSection],
    ) -> Result<(Self, toml::Table), ConfigError> {
        let mut identity = tree.clone();
        let mut set_aside = toml::Table::new();
        for s in app {
            if let Some(v) = tree.remove(s.name) {
                set_aside.insert(s.name.to_string(), v);
            }
            if !s.part_of_resume {
                identity.remove(s.name);
            }
        }
        let written_hash = Some(fnv_hex(&canonical_for_resume(&identity)));
        let mut cfg: Config = tree
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.into(),
                msg: e.to_string(),
            })?;
        cfg.validate(path)?;
        cfg.written_hash = written_hash;
        Ok((cfg, set_aside))
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field: &str, msg: String| ConfigError::Invalid {
            path: path.into(),
            field: field.into(),
            msg,
        };
        if let Err(e) = self.model.video.validate() {
            return Err(bad("model.video", e.to_string()));
        }
        if let Some(d) = &self.distill {
            d.validate().map_err(|(field, msg)| bad(&field, msg))?;
            let set = self
                .data
                .train
                .iter()
                .find(|s| s.task.to_string() == d.task)
                .ok_or_else(|| {
                    bad(
                        "distill.task",
                        format!("`{}` is not the task of any [[data.train]] set", d.task),
                    )
                })?;
            if set.choice.is_none() {
                return Err(bad(
                    "distill.task",
                    format!(
                        "the [[data.train]] set `{}` has no `choice` task file",
                        d.task
                    ),
                ));
            }
        }
        let t = &self.train;
        if self.model.weights == Weights::Random {
            if t.mode == Mode::Full || t.train_encoder || t.train_projector {
                return Err(bad(
                    "model.weights",
                    "random weights are for LoRA runs (no base weight trained)".into(),
                ));
            }
            if self.output.export_merged {
                return Err(bad(
                    "model.weights",
                    "random weights cannot be merged and exported (output.export_merged)".into(),
                ));
            }
        }
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
        if t.eval_every > 0 && self.data.valid.is_empty() {
            return Err(bad("train.eval_every", "needs [[data.valid]] sets".into()));
        }
        Ok(())
    }

    /// A stable hash of the settings that must not change across a resume: everything but
    /// `output.resume`, `output.log_every`, `train.steps`, `train.gradient_checkpointing`
    /// (same gradients either way) and the application's sections that run after training
    /// (`[eval]`, see [`AppSection`]). It is taken over the keys as
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

    /// The resolved config as TOML, the application's sections after the training's.
    pub fn to_toml(&self) -> String {
        let mut text = toml::to_string_pretty(self).unwrap_or_default();
        for (name, value) in &self.app_sections {
            let mut t = toml::Table::new();
            t.insert(name.clone(), value.clone());
            text.push('\n');
            text.push_str(&toml::to_string_pretty(&t).unwrap_or_default());
        }
        text
    }
}

/// The TOML tree without the keys a resume may change, as canonical (sorted) JSON text.
fn canonical_for_resume(tree: &toml::Table) -> String {
    let mut t = tree.clone();
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
