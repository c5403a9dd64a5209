//! One experiment end to end, as `trainer --config X.toml` runs it: the procedural world is
//! generated if the config asks for it and it is missing (`[world]`), the model is trained
//! (`finetune`), the loss curve drawn (`loss.png`), and, when `[eval]` is present, the base
//! and the trained model are evaluated on the same captioning sets and probes and the table
//! of differences is printed and written (`eval/report.{md,json,png}`): the forgetting report
//! of the ACC paper, for one run.
//!
//! The experiment file is the training config (`finetune::Config`: `[model]`, `[lora]`,
//! `[train]`, `[data]`, `[output]`) plus this layer's optional sections, `[world]` and
//! `[eval]`, each parsed with unknown keys refused.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use candle_core::DType;
use eval::common::{ModelId, Progress};
use eval::result::EvalResult;
use finetune::config::{AppSection, ConfigError};
use finetune::parallel::Ranks;
use finetune::Outcome;
use model::Model;
use serde::{Deserialize, Serialize};

/// An experiment file: the training config and the application's sections.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentConfig {
    pub train: finetune::Config,
    /// Generate the procedural world (its manifests feed `data`) before training, if missing.
    pub world: Option<WorldSection>,
    /// Evaluate the base and the finetuned model after training, and report the change.
    pub eval: Option<EvalSection>,
}

/// The sections this layer owns: the world shapes the data (a change refuses a resume); the
/// evaluation runs after training (it may change between a run and its resume).
const SECTIONS: [AppSection<'static>; 2] = [
    AppSection {
        name: "world",
        part_of_resume: true,
    },
    AppSection {
        name: "eval",
        part_of_resume: false,
    },
];

impl ExperimentConfig {
    /// Reads `path`, applies `--set` overrides (any section, `[world]`/`[eval]` included),
    /// parses and validates every section.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::from_tree(finetune::config::read_tree(path, overrides)?, path)
    }

    pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        Self::from_tree(finetune::config::parse_tree(text, path, overrides)?, path)
    }

    fn from_tree(tree: toml::Table, path: &Path) -> Result<Self, ConfigError> {
        let (mut train, mut own) = finetune::Config::from_tree(tree, path, &SECTIONS)?;
        let world: Option<WorldSection> = section(&mut own, "world", path)?;
        let eval: Option<EvalSection> = section(&mut own, "eval", path)?;
        if let Some(e) = &eval {
            e.validate(path)?;
        }
        let record = |name: &str, v: Result<toml::Value, toml::ser::Error>| {
            v.map(|v| (name.to_string(), v))
                .map_err(|e| ConfigError::Parse {
                    path: path.into(),
                    msg: format!("[{name}]: {e}"),
                })
        };
        if let Some(w) = &world {
            train
                .app_sections
                .push(record("world", toml::Value::try_from(w))?);
        }
        if let Some(e) = &eval {
            train
                .app_sections
                .push(record("eval", toml::Value::try_from(e))?);
        }
        Ok(Self { train, world, eval })
    }
}

/// Parses the set-aside section `name`, if the file has one.
fn section<T: serde::de::DeserializeOwned>(
    own: &mut toml::Table,
    name: &str,
    path: &Path,
) -> Result<Option<T>, ConfigError> {
    own.remove(name)
        .map(|v| {
            v.try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.into(),
                    msg: format!("[{name}]: {e}"),
                })
        })
        .transpose()
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

impl EvalSection {
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |field: &str, msg: String| ConfigError::Invalid {
            path: path.into(),
            field: field.into(),
            msg,
        };
        for (i, c) in self.classify.iter().enumerate() {
            if data::classify::ClassTask::builtin(&c.task).is_none() {
                return Err(bad(
                    &format!("eval.classify[{i}].task"),
                    format!("`{}` is not a built-in probe (vsc, ser, mic, mgc)", c.task),
                ));
            }
        }
        if let Some(m) = self
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
        if self.caption.is_empty() && self.classify.is_empty() {
            return Err(bad(
                "eval",
                "names no [[eval.caption]] or [[eval.classify]] set".into(),
            ));
        }
        Ok(())
    }
}

/// What [`run`] did.
pub struct Experiment {
    pub train: Outcome,
    /// The evaluation's directory and its table (Markdown), when `[eval]` ran.
    pub report: Option<(PathBuf, String)>,
}

/// Runs the whole experiment; `stop` and `until` as in [`finetune::run_until`]. The
/// evaluation runs only once training has finished.
pub fn run(cfg: &ExperimentConfig, stop: &AtomicBool, until: Option<u64>) -> Result<Experiment> {
    run_on(cfg, stop, until, &Ranks::Threads(1))
}

/// [`run`], training on data-parallel `ranks` (threads of this process, or this process as
/// one rank of several; see [`finetune::parallel`]). Only the lead (rank 0) makes the world
/// (the others join it once it has, and train from its files), draws the loss chart and
/// evaluates, once, after training.
pub fn run_on(
    cfg: &ExperimentConfig,
    stop: &AtomicBool,
    until: Option<u64>,
    ranks: &Ranks,
) -> Result<Experiment> {
    if let (Some(w), true) = (&cfg.world, ranks.lead()) {
        let t = std::time::Instant::now();
        let index = world::ensure(&w.world_config(), &w.dir)
            .with_context(|| format!("world {}", w.dir.display()))?;
        eprintln!(
            "world {}: {} files, {:.1} MB ({:.1} s)",
            w.dir.display(),
            index.files,
            index.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
    }
    let train = train_on(&cfg.train, stop, until, ranks)?;
    let report = match (&cfg.eval, &train.adapter_dir) {
        (Some(e), Some(export)) if !train.interrupted && ranks.lead() => {
            Some(evaluate(cfg, e, export)?)
        }
        _ => None,
    };
    Ok(Experiment { train, report })
}

/// Trains (or resumes) the model of `cfg` with the finetune recipe, then draws `loss.png` in
/// the run directory from its `metrics.jsonl`.
pub fn train(cfg: &finetune::Config, stop: &AtomicBool, until: Option<u64>) -> Result<Outcome> {
    train_on(cfg, stop, until, &Ranks::Threads(1))
}

/// [`train`] on data-parallel `ranks` (`finetune::parallel::run_ranks`; one thread is the
/// one-device recipe); the lead draws the chart.
pub fn train_on(
    cfg: &finetune::Config,
    stop: &AtomicBool,
    until: Option<u64>,
    ranks: &Ranks,
) -> Result<Outcome> {
    let out = finetune::parallel::run_ranks(cfg, stop, until, ranks)?;
    if ranks.lead() {
        crate::chart::plot_run(&out.run_dir)?;
    }
    Ok(out)
}

/// Evaluates the base (unless a matching result exists) and the exported model; writes the
/// result files and the report; returns the report's directory and Markdown.
pub fn evaluate(
    exp: &ExperimentConfig,
    e: &EvalSection,
    export: &Path,
) -> Result<(PathBuf, String)> {
    let cfg = &exp.train;
    let dir = e.dir.clone().unwrap_or_else(|| cfg.output.dir.join("eval"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = e.name.clone().unwrap_or_else(|| {
        cfg.output
            .dir
            .file_name()
            .map_or("run".into(), |n| n.to_string_lossy().into_owned())
    });
    let device = cfg.model.device.open()?;
    let dtype: DType = cfg.model.dtype.into();
    let source = &cfg.model.source;

    let base = if e.compare_base {
        let path = e
            .base_result
            .clone()
            .unwrap_or_else(|| dir.join("base.json"));
        let id = ModelId {
            model: source.clone(),
            adapter: None,
        };
        Some(match reusable(&path, &id, e) {
            Some(r) => {
                eprintln!("base: reusing {}", path.display());
                r
            }
            None => {
                eprintln!("evaluating the base model {source}");
                let m = Model::from_source(source, &device, dtype, None)?;
                evaluate_model(&m, e, &id, "base", &dir.join("base"), &path)?
            }
        })
    } else {
        None
    };

    // The export is a PEFT adapter on the base, or (full finetuning) a whole model.
    let is_adapter = export.join("adapter_config.json").is_file();
    let id = if is_adapter {
        ModelId {
            model: source.clone(),
            adapter: Some(export.display().to_string()),
        }
    } else {
        ModelId {
            model: export.display().to_string(),
            adapter: None,
        }
    };
    eprintln!("evaluating {id}");
    let m = if is_adapter {
        Model::from_source(source, &device, dtype, Some(export))?
    } else {
        Model::from_source(&export.display().to_string(), &device, dtype, None)?
    };
    let path = dir.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&path);
    let mut run = evaluate_model(&m, e, &id, &name, &dir.join(&name), &path)?;
    // The seed that trained it, so that `eval report` can pool the seeds of one recipe.
    run.train_seed = Some(cfg.train.seed);
    run.save(&path)?;

    let (report, title) = match &base {
        Some(b) => (
            eval::report::build_report(b, std::slice::from_ref(&run)),
            format!("{name} against its base"),
        ),
        None => (eval::report::build_report(&run, &[]), name.clone()),
    };
    let report = report.with_caption_metrics(&e.report_metrics);
    eval::report::write_report(&dir, &report, &title)?;
    Ok((dir, eval::report::report_markdown(&report, &title)))
}

/// `path`'s result when it is `id`'s, holds every set of `e` (with METEOR / SPICE when this
/// run can compute them), and is newer than each set's manifest (a regenerated world makes it
/// stale).
fn reusable(path: &Path, id: &ModelId, e: &EvalSection) -> Option<EvalResult> {
    let r = EvalResult::load(path).ok()?;
    let written = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let manifests = e.caption.iter().map(|c| &c.manifest);
    let fresh = manifests
        .chain(e.classify.iter().map(|c| &c.manifest))
        .all(|m| {
            std::fs::metadata(m)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t <= written)
        });
    // A base evaluated without a jar this run has (METEOR, SPICE) would leave that column
    // empty for the base: evaluate it again.
    let java = eval::java::JavaConfig::default().resolved();
    let has = |c: &CaptionSet, metric: &str| {
        r.captioning
            .get(&c.name)
            .is_some_and(|entry| entry.metrics.get(metric).is_some())
    };
    let complete = r.model.as_ref() == Some(id)
        && e.caption.iter().all(|c| {
            r.captioning.contains_key(&c.name)
                && (java.meteor_jar.is_none() || has(c, "meteor"))
                && (java.spice_jar.is_none() || has(c, "spice"))
        })
        && e.classify
            .iter()
            .all(|c| r.classification.contains_key(&c.task));
    (fresh && complete).then_some(r)
}

/// Runs every set of `e` on `m`, writing per-set outputs under `out` and the result to `path`.
fn evaluate_model(
    m: &Model,
    e: &EvalSection,
    id: &ModelId,
    name: &str,
    out: &Path,
    path: &Path,
) -> Result<EvalResult> {
    let mut result = EvalResult::new(name, Some(id.clone()));
    for c in &e.caption {
        let mut opts = eval::caption::CaptionOptions {
            batch_size: e.batch_size,
            model_id: Some(id.clone()),
            progress: Progress { every: 0 },
            ..Default::default()
        };
        opts.generate.max_new_tokens = e.max_new_tokens;
        let t = std::time::Instant::now();
        let r = eval::caption::caption_manifest(m, &c.manifest, &opts)
            .with_context(|| format!("captioning {}", c.manifest.display()))?;
        eval::caption::write_caption_outputs(&out.join(format!("caption-{}", c.name)), &r)?;
        eprintln!(
            "  {name} caption {}: {} clips, CIDEr-D {:.3} ({:.1} s)",
            c.name,
            r.summary.clips,
            r.summary.metrics.cider_d.unwrap_or(f64::NAN),
            t.elapsed().as_secs_f64()
        );
        result.add_caption(&c.name, &r.summary);
    }
    for c in &e.classify {
        let task = data::classify::ClassTask::builtin(&c.task)
            .with_context(|| format!("eval.classify: unknown task {}", c.task))?;
        let opts = eval::classify::ClassifyOptions {
            model_id: Some(id.clone()),
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let r = eval::classify::classify_manifest(m, &task, &c.manifest, &opts)
            .with_context(|| format!("classifying {}", c.manifest.display()))?;
        eval::classify_report::write_classify_outputs(
            &out.join(format!("classify-{}", c.task)),
            &r,
        )?;
        eprintln!(
            "  {name} {}: accuracy {:.3} on {} clips ({:.1} s)",
            c.task,
            r.summary.accuracy,
            r.summary.samples,
            t.elapsed().as_secs_f64()
        );
        result.add_classify(&r.summary);
    }
    result.save(path)?;
    Ok(result)
}
