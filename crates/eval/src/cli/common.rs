//! Arguments shared by the evaluation subcommands: the model, the Java metrics, the result
//! file. (Closed choices are the libraries' own enums: `audio::LongAudio`, `data::OnBad`,
//! `eval::OnEmpty`.)

use std::path::PathBuf;

use anyhow::{Context, Result};
use eval::java::JavaConfig;
use eval::ModelId;
use model::device::{DTypeSpec, DeviceSpec};
use model::Model;

/// Which model to load.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// Checkpoint directory or Hugging Face hub id.
    #[arg(long)]
    pub model: String,
    /// PEFT LoRA adapter directory.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    #[arg(long, default_value = "cpu")]
    pub device: DeviceSpec,
    #[arg(long, default_value = "f32")]
    pub dtype: DTypeSpec,
}

impl ModelArgs {
    pub fn load(&self) -> Result<(Model, ModelId)> {
        let device = self.device.open()?;
        let model = Model::from_source(
            &self.model,
            &device,
            self.dtype.into(),
            self.adapter.as_deref(),
        )
        .with_context(|| format!("loading {}", self.model))?;
        let id = ModelId {
            model: self.model.clone(),
            adapter: self.adapter.as_ref().map(|a| a.display().to_string()),
        };
        Ok((model, id))
    }
}

/// How frames are sampled from videos (`qwen_vl_utils`' settings; its defaults when absent).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VideoArgs {
    /// Frames sampled per second of video (default 2).
    #[arg(long)]
    pub video_fps: Option<f64>,
    /// Exactly this many frames per video instead of a rate (rounded to a multiple of 2).
    #[arg(long, conflicts_with = "video_fps")]
    pub video_nframes: Option<usize>,
    /// A frame's least pixels after resizing.
    #[arg(long)]
    pub video_min_pixels: Option<usize>,
    /// A frame's most pixels after resizing.
    #[arg(long)]
    pub video_max_pixels: Option<usize>,
    /// The whole video's pixel budget.
    #[arg(long)]
    pub video_total_pixels: Option<usize>,
}

impl VideoArgs {
    pub fn options(&self) -> Result<vision::VideoOptions> {
        let o = vision::VideoOptions {
            fps: self.video_fps,
            nframes: self.video_nframes,
            min_pixels: self.video_min_pixels,
            max_pixels: self.video_max_pixels,
            total_pixels: self.video_total_pixels,
            ..Default::default()
        };
        o.validate().context("video options")?;
        Ok(o)
    }
}

/// Where FENSE's models come from (else the caches aac-metrics fills: the Hugging Face hub
/// cache, `FENSE_DATA`); offline, nothing is downloaded.
#[derive(clap::Args)]
pub struct FenseArgs {
    /// A directory holding `paraphrase-TinyBERT-L6-v2/`, `echecker_clotho_audiocaps_base.ckpt`
    /// and `bert-base-uncased/` (config + tokenizer).
    #[arg(long)]
    pub fense_dir: Option<PathBuf>,
    /// Do not compute FENSE or SPIDEr-FL (reported as switched off).
    #[arg(long)]
    pub no_fense: bool,
}

impl FenseArgs {
    pub fn config(&self) -> Option<eval::score::FenseConfig> {
        (!self.no_fense).then(|| eval::score::FenseConfig {
            dir: self.fense_dir.clone(),
        })
    }
}

/// Where METEOR and SPICE come from (else the environment: JAVA, JAVA_HOME, AAC_METEOR_JAR,
/// AAC_SPICE_JAR, AAC_SPICE_CACHE).
#[derive(clap::Args)]
pub struct JavaArgs {
    /// The java program.
    #[arg(long)]
    pub java: Option<PathBuf>,
    /// meteor-1.5.jar (with data/paraphrase-en.gz beside it).
    #[arg(long)]
    pub meteor_jar: Option<PathBuf>,
    /// spice-1.0.jar (with lib/stanford-corenlp-3.6.0*.jar beside it).
    #[arg(long)]
    pub spice_jar: Option<PathBuf>,
    /// SPICE's parse cache directory.
    #[arg(long)]
    pub spice_cache: Option<PathBuf>,
    /// Do not run METEOR or SPICE (reported as switched off).
    #[arg(long)]
    pub no_java: bool,
}

impl JavaArgs {
    pub fn config(&self) -> Option<JavaConfig> {
        (!self.no_java).then(|| JavaConfig {
            java: self.java.clone(),
            meteor_jar: self.meteor_jar.clone(),
            spice_jar: self.spice_jar.clone(),
            spice_cache: self.spice_cache.clone(),
        })
    }
}

/// Adding this run to a combined result file (for `eval report`).
#[derive(clap::Args)]
pub struct ResultArgs {
    /// Result JSON to create or add to (one file per model).
    #[arg(long)]
    pub result: Option<PathBuf>,
    /// The model's name in reports (default: the adapter's or the model's directory name).
    #[arg(long)]
    pub name: Option<String>,
    /// The seed the model was trained with: `eval report` pools the results of one name and
    /// several seeds into one row (mean, spread, interval over seeds and clips).
    #[arg(long)]
    pub train_seed: Option<u64>,
}
