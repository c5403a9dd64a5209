//! Data preparation behind `trainer build-pairs` and `trainer convert`: thin drivers over the
//! `data` crate (which owns the rules) that read manifests or CSVs and write manifests.
//!
//! * [`build_pairs`]: AC clips (base clips with captions) + single-event clips (with a label
//!   such as "a dog barking") → rendered (before, after) WAV pairs, `adc.jsonl`, `acc.jsonl`
//!   and `pairs.jsonl` (every plan with its SNR, offset and gain, for provenance).
//! * [`convert`]: AudioCaps / Clotho caption CSVs → native AC manifests.
//! * [`init_model`]: a new, randomly initialised model whose tokenizer is trained on the
//!   text of some manifests (for models trained from scratch, like the world's base model).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use data::manifest::{read_manifest, write_manifest, NativeLine, OnBad};
use data::pairs::{plan_lines, render_pair_with, Clip, PairConfig, RenderConfig};
use serde::{Deserialize, Serialize};

/// `pairs.toml`: how pairs are planned and rendered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PairsFile {
    pub plan: PairConfig,
    pub render: RenderConfig,
}

impl PairsFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}", path.display()))
    }
}

/// What [`build_pairs`] wrote.
#[derive(Debug, Clone)]
pub struct PairsOutput {
    pub pairs: usize,
    pub adc_manifest: PathBuf,
    pub acc_manifest: PathBuf,
    pub plans: PathBuf,
}

/// One-clip samples of a manifest as pair sources (errors name the line).
fn clips_of(manifest: &Path) -> Result<Vec<Clip>> {
    let (samples, _) = read_manifest(manifest, OnBad::Error)?;
    if samples.is_empty() {
        bail!("{}: no sample", manifest.display());
    }
    let missing = data::manifest::missing_audio(&samples);
    if let Some((loc, p)) = missing.first() {
        bail!(
            "{loc}: field audio: {} does not exist ({} missing in all)",
            p.display(),
            missing.len()
        );
    }
    Ok(samples
        .iter()
        .map(Clip::from_sample)
        .collect::<data::Result<_>>()?)
}

/// Plans pairs from `clips` (bases) and `events`, renders them under `out/audio`, and writes
/// `out/adc.jsonl`, `out/acc.jsonl` and `out/pairs.jsonl`. Same inputs and seed, same bytes.
pub fn build_pairs(
    clips: &Path,
    events: &Path,
    out: &Path,
    cfg: &PairsFile,
    seed: u64,
) -> Result<PairsOutput> {
    let bases = clips_of(clips)?;
    let events = clips_of(events)?;
    let plans = data::plan_pairs(&bases, &events, &cfg.plan, seed)?;
    let audio_dir = out.join("audio");
    std::fs::create_dir_all(&audio_dir)
        .with_context(|| format!("creating {}", audio_dir.display()))?;
    let mut adc: Vec<NativeLine> = Vec::with_capacity(plans.len());
    let mut acc: Vec<NativeLine> = Vec::with_capacity(plans.len());
    let mut provenance = String::new();
    let mut load = |c: &Clip| -> data::Result<Vec<f32>> { Ok(audio::load_mono_16k(&c.path)?) };
    for plan in &plans {
        let rendered = render_pair_with(plan, &audio_dir, &cfg.render, &mut load)
            .with_context(|| format!("rendering {}", plan.id))?;
        let [a, c] = plan_lines(plan, &rendered, out)?;
        adc.push(a);
        acc.push(c);
        let rel = |p: &Path| p.strip_prefix(out).unwrap_or(p).display().to_string();
        provenance.push_str(&serde_json::to_string(&serde_json::json!({
            "plan": plan,
            "before": rel(&rendered.before),
            "after": rel(&rendered.after),
            "gain": rendered.gain,
        }))?);
        provenance.push('\n');
    }
    let out_paths = PairsOutput {
        pairs: plans.len(),
        adc_manifest: out.join("adc.jsonl"),
        acc_manifest: out.join("acc.jsonl"),
        plans: out.join("pairs.jsonl"),
    };
    write_manifest(&out_paths.adc_manifest, &adc)?;
    write_manifest(&out_paths.acc_manifest, &acc)?;
    crate::store::write_file_atomic(&out_paths.plans, provenance.as_bytes())?;
    Ok(out_paths)
}

/// The caption datasets `trainer convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dataset {
    /// `audiocap_id,youtube_id,start_time,caption`, one caption per row.
    Audiocaps,
    /// `file_name,caption_1,…,caption_5`, one clip per row.
    Clotho,
}

/// Converts a caption CSV into a native AC manifest at `out`; returns the line count.
pub fn convert(
    dataset: Dataset,
    csv: &Path,
    out: &Path,
    opts: &data::convert::ConvertOptions,
) -> Result<usize> {
    let lines = match dataset {
        Dataset::Audiocaps => data::convert::audiocaps_file(csv, opts)?,
        Dataset::Clotho => data::convert::clotho_file(csv, opts)?,
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_manifest(out, &lines)?;
    Ok(lines.len())
}

/// Every text a model trained on `manifests` will read or write: targets, references,
/// prompts (the line's own, else the task's default), and the built-in task prompts.
pub fn manifest_texts(manifests: &[PathBuf], prompts: &data::Prompts) -> Result<Vec<String>> {
    let mut texts = vec![
        prompts.ac.clone(),
        prompts.acc.clone(),
        prompts.acc_many.clone(),
        prompts.adc.clone(),
    ];
    texts.extend(prompts.custom.values().cloned());
    for m in manifests {
        let (samples, _) = read_manifest(m, OnBad::Error)?;
        for s in samples {
            if let Some(p) = s
                .prompt
                .clone()
                .or_else(|| prompts.prompt(&s.task, s.audio.len()))
            {
                texts.push(p);
            }
            texts.extend(s.system.clone());
            texts.push(s.target.clone());
            texts.extend(s.references.iter().cloned());
        }
    }
    Ok(texts)
}

/// Writes a new checkpoint for the spec file at `spec` into `out`, its tokenizer trained on
/// the texts of `manifests`. Returns the vocabulary size.
pub fn init_model(spec: &Path, manifests: &[PathBuf], out: &Path) -> Result<usize> {
    let text =
        std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    let spec: model::init::InitSpec =
        toml::from_str(&text).with_context(|| format!("{}", spec.display()))?;
    let texts = manifest_texts(manifests, &data::Prompts::default())?;
    Ok(model::init::write_new_checkpoint(&spec, &texts, out)?)
}
