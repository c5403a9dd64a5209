//! All data preparation, as one command tree ([`PrepCommand`], mounted at the top of the
//! `trainer` command): thin drivers over the `data` and `model` crates (which own the rules)
//! that read datasets, manifests or CSVs and write manifests.
//!
//! * `convert <dataset>` ([`convert`]): AudioCaps / Clotho caption CSVs → native AC
//!   manifests; VocalSound / IEMOCAP / NSynth / GTZAN layouts → probe manifests.
//! * `build-pairs` ([`build_pairs`]): AC clips (base clips with captions) + single-event clips
//!   (with a label such as "a dog barking") → rendered (before, after) WAV pairs, `adc.jsonl`,
//!   `acc.jsonl` and `pairs.jsonl` (every plan with its SNR, offset and gain, for provenance).
//! * `init-model` ([`init_model`]): a new, randomly initialised model whose tokenizer is
//!   trained on the text of some manifests (for models trained from scratch, like the world's
//!   base model).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use data::classify::convert::Layout;
use data::convert::{ConvertOptions, Split};
use data::manifest::{read_manifest, write_manifest, NativeLine, OnBad};
use data::pairs::{plan_lines, render_pair_with, Clip, PairConfig, RenderConfig};
use serde::{Deserialize, Serialize};

/// The data-preparation commands.
#[derive(Subcommand)]
pub enum PrepCommand {
    /// Build ACC/ADC pairs by adding, removing or replacing an event in captioned clips.
    BuildPairs(BuildPairsArgs),
    /// Convert a dataset in its usual layout into a native manifest.
    Convert {
        #[command(subcommand)]
        dataset: ConvertCommand,
    },
    /// Write a new, randomly initialised model (tokenizer trained on the manifests' text).
    InitModel(InitModelArgs),
    /// Write a Qwen2-VL-shaped model whose language model is a Qwen2-Audio checkpoint's, with
    /// a new, random vision tower and merger.
    DeriveVisual(DeriveVisualArgs),
}

#[derive(Args)]
pub struct DeriveVisualArgs {
    /// The Qwen2-Audio checkpoint directory whose language model and tokenizer are kept.
    #[arg(long)]
    pub from: PathBuf,
    /// TOML with depth, embed_dim, num_heads, mlp_ratio, min_pixels, max_pixels, init_std,
    /// seed (model::derive::VisionSpec).
    #[arg(long)]
    pub spec: PathBuf,
    /// The checkpoint directory to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct InitModelArgs {
    /// TOML with [audio], [text], bpe_vocab, init_std, seed (model::init::InitSpec).
    #[arg(long)]
    pub spec: PathBuf,
    /// Manifests whose targets, references and prompts train the tokenizer; repeat.
    #[arg(long = "texts-from", required = true)]
    pub texts_from: Vec<PathBuf>,
    /// The checkpoint directory to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Write the config, tokenizer and side files but no weights: a run with
    /// `model.weights = "random"` draws them on its device (the 7B-shaped benchmark).
    #[arg(long)]
    pub no_weights: bool,
}

#[derive(Args)]
pub struct BuildPairsArgs {
    /// Manifest of base clips with their captions (one clip per line).
    #[arg(long)]
    pub clips: PathBuf,
    /// Manifest of single-event clips; the target is the event's label ("a dog barking").
    #[arg(long)]
    pub events: PathBuf,
    /// Output directory: audio/, adc.jsonl, acc.jsonl, pairs.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// TOML with [plan] (edits weights, snr_db_min/max, pairs_per_base, templates) and
    /// [render] (format, peak_limit); defaults when absent.
    #[arg(long)]
    pub pairs_config: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The datasets `convert` reads.
#[derive(Subcommand)]
pub enum ConvertCommand {
    /// AudioCaps: `audiocap_id,youtube_id,start_time,caption`, one caption per row (AC).
    Audiocaps(CaptionCsvArgs),
    /// Clotho: `file_name,caption_1,…,caption_5`, one clip per row (AC).
    Clotho(CaptionCsvArgs),
    /// VocalSound: a folder of `<speaker>_<n>_<label>.wav` clips (probe `vsc`).
    Vocalsound(LayoutArgs),
    /// IEMOCAP: the root with `Session<k>` folders (probe `ser`; excited merged into happy).
    Iemocap(IemocapArgs),
    /// NSynth: `examples.json` with `audio/` beside it (probe `mic`).
    Nsynth(LayoutArgs),
    /// GTZAN: the `genres/` folder of `<genre>/` folders (probe `mgc`).
    Gtzan(LayoutArgs),
    /// VGGSound: `youtube_id,start_seconds,label,split` rows → one manifest per split over
    /// local files and a multiple-choice task over every label (`task.toml`).
    Vggsound(VggSoundArgs),
}

#[derive(Args)]
pub struct VggSoundArgs {
    /// The CSV (the published vggsound.csv has no header; one with a header is read by
    /// column name).
    #[arg(long)]
    pub csv: PathBuf,
    /// The folder of the audio files (no audio in the manifests when absent).
    #[arg(long)]
    pub audio_dir: Option<PathBuf>,
    /// Audio file name pattern: {id}, {start}, {start:0N}, {label}.
    #[arg(long, default_value = data::vggsound::DEFAULT_AUDIO_NAME)]
    pub audio_name: String,
    /// The folder of the videos (MP4 files or frame folders; none when absent).
    #[arg(long)]
    pub video_dir: Option<PathBuf>,
    /// Video name pattern, as --audio-name.
    #[arg(long, default_value = data::vggsound::DEFAULT_VIDEO_NAME)]
    pub video_name: String,
    /// The splits to write (all when absent).
    #[arg(long, value_delimiter = ',')]
    pub splits: Vec<String>,
    /// A row with a missing file: stop, or leave it out and list it.
    #[arg(long, value_enum, default_value_t = OnBad::Error)]
    pub on_bad: OnBad,
    /// The output folder: `<split>.jsonl` and `task.toml`.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct CaptionCsvArgs {
    /// The dataset's caption CSV.
    #[arg(long)]
    pub csv: PathBuf,
    /// The manifest to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Prefix of every audio path in the manifest (relative to the manifest's directory).
    #[arg(long, default_value = "")]
    pub audio_dir: PathBuf,
    /// One line per caption (train) or one per clip with every caption as references (eval).
    #[arg(long, value_enum, default_value_t = Split::Train)]
    pub split: Split,
    /// AudioCaps file-name pattern with {audiocap_id}, {youtube_id}, {start_time}.
    #[arg(long, default_value = data::convert::AUDIOCAPS_DEFAULT_NAME)]
    pub audio_name: String,
}

#[derive(Args)]
pub struct LayoutArgs {
    /// The dataset's folder (or examples.json for NSynth).
    #[arg(long)]
    pub input: PathBuf,
    /// The manifest to write; audio paths are relative to its directory when under it.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct IemocapArgs {
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// The sessions to take (e.g. --sessions 5); all when absent.
    #[arg(long, value_delimiter = ',')]
    pub sessions: Vec<u32>,
}

/// Runs one data-preparation command, reporting what it wrote on stderr.
pub fn run(cmd: PrepCommand) -> Result<()> {
    match cmd {
        PrepCommand::BuildPairs(a) => {
            let cfg = match &a.pairs_config {
                Some(p) => PairsFile::load(p)?,
                None => PairsFile::default(),
            };
            let out = build_pairs(&a.clips, &a.events, &a.out, &cfg, a.seed)?;
            eprintln!(
                "{} pairs: {}, {} (plans in {})",
                out.pairs,
                out.adc_manifest.display(),
                out.acc_manifest.display(),
                out.plans.display()
            );
        }
        PrepCommand::Convert { dataset } => convert(dataset)?,
        PrepCommand::InitModel(a) => {
            let vocab = init_model(&a.spec, &a.texts_from, &a.out, !a.no_weights)?;
            eprintln!("wrote {} (vocabulary {vocab})", a.out.display());
        }
        PrepCommand::DeriveVisual(a) => {
            let text = std::fs::read_to_string(&a.spec)
                .with_context(|| format!("reading {}", a.spec.display()))?;
            let spec: model::derive::VisionSpec =
                toml::from_str(&text).with_context(|| format!("{}", a.spec.display()))?;
            let vocab = model::derive::derive_visual(&a.from, &spec, &a.out)
                .with_context(|| format!("deriving from {}", a.from.display()))?;
            eprintln!("wrote {} (vocabulary {vocab})", a.out.display());
        }
    }
    Ok(())
}

/// `convert <dataset>`: writes the manifest and says how many lines (and what was dropped).
pub fn convert(dataset: ConvertCommand) -> Result<()> {
    let (layout, a, sessions) = match dataset {
        ConvertCommand::Audiocaps(a) => return convert_captions(Dataset::Audiocaps, a),
        ConvertCommand::Clotho(a) => return convert_captions(Dataset::Clotho, a),
        ConvertCommand::Vocalsound(a) => (Layout::Vocalsound, a, vec![]),
        ConvertCommand::Iemocap(a) => (Layout::Iemocap, a.layout, a.sessions),
        ConvertCommand::Nsynth(a) => (Layout::Nsynth, a, vec![]),
        ConvertCommand::Gtzan(a) => (Layout::Gtzan, a, vec![]),
        ConvertCommand::Vggsound(a) => return convert_vggsound(a),
    };
    let n = convert_layout(layout, &a.input, &sessions, &a.out)?;
    eprintln!("wrote {n} lines to {}", a.out.display());
    Ok(())
}

fn convert_vggsound(a: VggSoundArgs) -> Result<()> {
    let opts = data::vggsound::VggSoundOptions {
        audio_dir: a.audio_dir,
        audio_name: a.audio_name,
        video_dir: a.video_dir,
        video_name: a.video_name,
        splits: a.splits,
        on_bad: a.on_bad,
        ..Default::default()
    };
    let c = data::vggsound::convert_vggsound(&a.csv, &opts, &a.out)?;
    for (split, lines) in &c.splits {
        eprintln!("{split}: {} lines", lines.len());
    }
    for s in &c.skipped {
        eprintln!("left out: {}", s.reason);
    }
    for f in &c.written {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

fn convert_captions(dataset: Dataset, a: CaptionCsvArgs) -> Result<()> {
    let opts = ConvertOptions {
        split: a.split,
        audio_dir: a.audio_dir,
        audio_name: a.audio_name,
    };
    let n = convert_caption_csv(dataset, &a.csv, &a.out, &opts)?;
    eprintln!("{n} lines: {}", a.out.display());
    Ok(())
}

/// Converts a classification dataset into a manifest at `out` (audio paths relative to its
/// directory when under it); prints what was dropped; returns the line count.
pub fn convert_layout(layout: Layout, input: &Path, sessions: &[u32], out: &Path) -> Result<usize> {
    let c = data::classify::convert::convert_layout(layout, input, sessions, out)?;
    for (reason, n) in c.dropped_counts() {
        eprintln!("dropped {n}: {reason}");
    }
    Ok(c.lines.len())
}

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
    let missing = data::manifest::missing_media(&samples);
    if let Some((loc, field, p)) = missing.first() {
        bail!(
            "{loc}: field {field}: {} does not exist ({} missing in all)",
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
    data::fsutil::write_atomic(&out_paths.plans, provenance.as_bytes())?;
    Ok(out_paths)
}

/// The caption datasets `trainer convert` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// `audiocap_id,youtube_id,start_time,caption`, one caption per row.
    Audiocaps,
    /// `file_name,caption_1,…,caption_5`, one clip per row.
    Clotho,
}

/// Converts a caption CSV into a native AC manifest at `out`; returns the line count.
pub fn convert_caption_csv(
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
/// the texts of `manifests`, with or without its (random) weights. Returns the vocabulary size.
pub fn init_model(spec: &Path, manifests: &[PathBuf], out: &Path, weights: bool) -> Result<usize> {
    let text =
        std::fs::read_to_string(spec).with_context(|| format!("reading {}", spec.display()))?;
    let spec: model::init::InitSpec =
        toml::from_str(&text).with_context(|| format!("{}", spec.display()))?;
    let texts = manifest_texts(manifests, &data::Prompts::default())?;
    Ok(model::init::write_checkpoint_files(
        &spec, &texts, out, weights,
    )?)
}
