//! One experiment end to end, as `trainer --config X.toml` runs it: the procedural world is
//! generated if the config asks for it and it is missing (`[world]`), the model is trained
//! (`train`), and, when `[eval]` is present, the base and the trained model are evaluated on
//! the same captioning sets and probes and the table of differences is printed and written
//! (`eval/report.{md,json,png}`): the forgetting report of the ACC paper, for one run.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use candle_core::DType;
use eval::common::{ModelId, Progress};
use eval::result::EvalResult;
use model::Qwen2AudioModel;

use crate::config::{Config, EvalSection};
use crate::train::{run_until, Outcome};

/// What [`run`] did.
pub struct Experiment {
    pub train: Outcome,
    /// The evaluation's directory and its table (Markdown), when `[eval]` ran.
    pub report: Option<(PathBuf, String)>,
}

/// Runs the whole experiment; `stop` and `until` as in [`crate::train::run_until`]. The
/// evaluation runs only once training has finished.
pub fn run(cfg: &Config, stop: &AtomicBool, until: Option<u64>) -> Result<Experiment> {
    if let Some(w) = &cfg.world {
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
    let train = run_until(cfg, stop, until)?;
    let report = match (&cfg.eval, &train.adapter_dir) {
        (Some(e), Some(export)) if !train.interrupted => Some(evaluate(cfg, e, export)?),
        _ => None,
    };
    Ok(Experiment { train, report })
}

/// Evaluates the base (unless a matching result exists) and the exported model; writes the
/// result files and the report; returns the report's directory and Markdown.
pub fn evaluate(cfg: &Config, e: &EvalSection, export: &Path) -> Result<(PathBuf, String)> {
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
                let m = Qwen2AudioModel::from_source(source, &device, dtype, None)?;
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
        Qwen2AudioModel::from_source(source, &device, dtype, Some(export))?
    } else {
        Qwen2AudioModel::from_source(&export.display().to_string(), &device, dtype, None)?
    };
    let path = dir.join(format!("{name}.json"));
    let _ = std::fs::remove_file(&path);
    let run = evaluate_model(&m, e, &id, &name, &dir.join(&name), &path)?;

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
    let has = |c: &crate::config::CaptionSet, metric: &str| {
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
    m: &Qwen2AudioModel,
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
