//! Data preparation behind `trainer build-pairs` and `trainer convert`: thin drivers over the
//! `data` crate (which owns the rules) that read manifests or CSVs and write manifests.
//!
//! * [`build_pairs`]: AC clips (base clips with captions) + single-event clips (with a label
//!   such as "a dog barking") → rendered (before, after) WAV pairs, `adc.jsonl`, `acc.jsonl`
//!   and `pairs.jsonl` (every plan with its SNR, offset and gain, for provenance).
//! * [`convert`]: AudioCaps / Clotho caption CSVs → native AC manifests.

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
