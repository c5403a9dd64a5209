//! The training loop, readable in one sitting:
//! draw micro-batches from the task mixture → forward → answer-only loss → backward →
//! accumulate (token-weighted) → clip → AdamW step → log → maybe validate → maybe checkpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::Tensor;
use data::manifest::{OnBad as DataOnBad, ReadOptions, Sample};
use model::Qwen2AudioModel;
use serde_json::json;

use crate::adapters::set_dropout_seed;
use crate::config::{Config, OnBad, Resume};
use crate::example::{self, Example};
use crate::optim::{clip_grad_norm, AdamW, AdamWConfig};
use crate::params::{self, Trainable};
use crate::report::{MetricsLog, Progress, StepInfo};
use crate::schedule::lr_at;
use crate::state::{self, RunState};

/// One dataset of the mixture.
pub struct TaskData {
    pub name: String,
    pub samples: Vec<Sample>,
}

/// What a finished (or interrupted) run reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_dir: PathBuf,
    pub steps_done: u64,
    pub interrupted: bool,
    pub skipped: Vec<String>,
    pub adapter_dir: Option<PathBuf>,
    pub last_checkpoint: Option<PathBuf>,
}

/// Reads every manifest of `sets`; bad lines stop the run or are skipped, per config.
pub fn read_sets(
    cfg: &Config,
    sets: &[crate::config::DataSet],
    skipped: &mut Vec<String>,
) -> Result<Vec<TaskData>> {
    let on_bad = match cfg.train.on_bad_sample {
        OnBad::Error => DataOnBad::Error,
        OnBad::Skip => DataOnBad::Skip,
    };
    let mut out = Vec::new();
    for set in sets {
        let opts = ReadOptions {
            on_bad,
            default_task: Some(set.task.clone()),
        };
        let (mut samples, bad) = data::manifest::read_manifest_with(&set.manifest, &opts)?;
        skipped.extend(bad.into_iter().map(|s| s.reason));
        // Missing files are found before training starts, not when first drawn.
        let missing = data::manifest::missing_audio(&samples);
        if !missing.is_empty() {
            let lines: Vec<String> = missing
                .iter()
                .map(|(loc, p)| format!("{loc}: field audio: {} does not exist", p.display()))
                .collect();
            if on_bad == DataOnBad::Error {
                bail!(
                    "{} missing audio file(s) (train.on_bad_sample = \"skip\" leaves them out):\n  {}",
                    lines.len(),
                    lines.join("\n  ")
                );
            }
            let bad_lines: std::collections::HashSet<&data::Location> =
                missing.iter().map(|m| &m.0).collect();
            samples.retain(|s| !bad_lines.contains(&s.source));
            skipped.extend(lines);
        }
        if samples.is_empty() {
            bail!("{}: no usable sample", set.manifest.display());
        }
        out.push(TaskData {
            name: set.task.to_string(),
            samples,
        });
    }
    Ok(out)
}

/// Turns manifest samples into examples: audio decoded (or read from the feature cache),
/// prompt resolved, tokenised with labels.
pub struct Examples<'a> {
    pub model: &'a Qwen2AudioModel,
    pub cfg: &'a Config,
    pub cache: Option<data::cache::FeatureCache>,
}

impl Examples<'_> {
    pub fn build(&self, s: &Sample) -> Result<Example> {
        let loc = &s.source;
        let n_mels = self.model.config.audio_config.num_mel_bins;
        let long: audio::LongAudio = self.cfg.model.long_audio.into();
        let mut clips = Vec::with_capacity(s.audio.len());
        for (i, path) in s.audio.iter().enumerate() {
            let feats = match &self.cache {
                Some(c) => c.get_or_compute(path, n_mels, long),
                None => audio::load_mono_16k(path)
                    .and_then(|x| audio::model_features(&x, n_mels, long))
                    .map_err(Into::into),
            }
            .with_context(|| format!("{loc}: field audio[{i}]"))?;
            clips.push(feats);
        }
        let parts = s.user_parts(&self.cfg.data.prompts)?;
        let mut messages = Vec::new();
        if let Some(sys) = &s.system {
            messages.push(model::prompt::Message {
                role: model::prompt::Role::System,
                parts: vec![model::prompt::Part::Text(sys.clone())],
            });
        }
        messages.push(model::prompt::Message {
            role: model::prompt::Role::User,
            parts: parts
                .into_iter()
                .map(|p| match p {
                    data::task::PromptPart::Audio(_) => model::prompt::Part::Audio,
                    data::task::PromptPart::Text(t) => model::prompt::Part::Text(t),
                })
                .collect(),
        });
        let mut e = example::build(
            self.model,
            &messages,
            &s.target,
            clips,
            self.cfg.train.max_tokens,
        )
        .with_context(|| format!("{loc}: field target"))?;
        e.source = format!("{loc} ({})", s.id);
        Ok(e)
    }
}

/// Forward + answer-only loss of one micro-batch; returns the summed loss tensor and host
/// per-row sums and token counts.
fn micro_loss(model: &Qwen2AudioModel, exs: &[&Example]) -> Result<crate::loss::LossSum> {
    let seqs: Vec<model::model::Sequence> = exs
        .iter()
        .map(|e| model::model::Sequence {
            ids: e.ids.clone(),
            audio: e.audio.clone(),
        })
        .collect();
    let batch = model.batch(&seqs)?;
    let hidden = model.forward_hidden(&batch, None)?;
    Ok(crate::loss::label_loss(model, &hidden, exs)?)
}

/// Mean validation loss per task (dropout off).
fn validate(tr: &Trainable, ex: &Examples, sets: &[TaskData]) -> Result<BTreeMap<String, f64>> {
    if let Some(l) = &tr.lora_source {
        l.dropout_seed().store(0, Ordering::Relaxed);
    }
    let mut out = BTreeMap::new();
    for set in sets {
        let (mut sum, mut n) = (0.0, 0usize);
        for s in &set.samples {
            let e = ex.build(s)?;
            let l = micro_loss(&tr.model, &[&e])?;
            sum += l.per_row[0];
            n += l.tokens[0];
        }
        out.insert(set.name.clone(), sum / n.max(1) as f64);
    }
    Ok(out)
}

/// Runs (or resumes) the experiment of `cfg`. `stop` is raised by Ctrl-C: the loop then writes
/// a checkpoint after the current step and returns.
pub fn run(cfg: &Config, stop: &AtomicBool) -> Result<Outcome> {
    run_until(cfg, stop, None)
}

/// [`run`], stopping (with a checkpoint, as on Ctrl-C) once `until` steps are done: a job
/// split over several time-limited allocations continues exactly where it stopped.
pub fn run_until(cfg: &Config, stop: &AtomicBool, until: Option<u64>) -> Result<Outcome> {
    let run_dir = cfg.output.dir.clone();
    std::fs::create_dir_all(&run_dir).with_context(|| format!("creating {}", run_dir.display()))?;
    crate::store::remove_stale_temps(&run_dir)?;
    let existing = crate::store::latest_checkpoint(&run_dir)?;
    let resume_from = match (&cfg.output.resume, existing) {
        (Resume::Auto, Some(dir)) => Some(dir),
        (Resume::Never, Some(dir)) => bail!(
            "{} already has checkpoints ({}); use output.resume = \"auto\" to continue or another output.dir",
            run_dir.display(),
            dir.display()
        ),
        (_, None) => None,
    };
    crate::store::write_file_atomic(&run_dir.join("config.toml"), cfg.to_toml().as_bytes())?;

    let device = cfg.model.device.open()?;
    let files = model::checkpoint::resolve(&cfg.model.source)?;
    let tr = params::load(cfg, &files, &device)?;
    let vars = tr.named_vars();
    let n_params: usize = vars.iter().map(|(_, v)| v.as_tensor().elem_count()).sum();
    eprintln!(
        "trainable: {} tensors, {n_params} parameters ({} LoRA modules, {} base tensors)",
        vars.len(),
        tr.lora.len(),
        tr.base.len()
    );
    let mut opt = AdamW::new(
        vars,
        AdamWConfig {
            beta1: cfg.train.betas[0],
            beta2: cfg.train.betas[1],
            eps: cfg.train.eps,
            weight_decay: cfg.train.weight_decay,
        },
    )?;

    let mut skipped = Vec::new();
    let train_sets = read_sets(cfg, &cfg.data.train, &mut skipped)?;
    let valid_sets = read_sets(cfg, &cfg.data.valid, &mut skipped)?;
    let sources: Vec<data::mixture::TaskSource> = train_sets
        .iter()
        .zip(&cfg.data.train)
        .map(|(t, set)| data::mixture::TaskSource {
            name: t.name.clone(),
            len: t.samples.len(),
            weight: set.weight,
        })
        .collect();
    let n_samples: usize = sources.iter().map(|s| s.len).sum();
    let mut mixture = data::mixture::MixtureSampler::new(&sources, cfg.train.seed)?;
    let cache = cfg
        .data
        .cache_dir
        .as_ref()
        .map(data::cache::FeatureCache::new)
        .transpose()?;
    let ex = Examples {
        model: &tr.model,
        cfg,
        cache,
    };

    let mut log = MetricsLog::open(&run_dir)?;
    let mut start = 0u64;
    if let Some(dir) = &resume_from {
        let st = state::load(dir, cfg, &tr, &mut opt)?;
        mixture = data::mixture::MixtureSampler::restore(&sources, st.mixture.clone())
            .with_context(|| format!("{}: data position", dir.display()))?;
        start = st.step;
        log.truncate_after(start)?;
        eprintln!("resumed from {} at step {start}", dir.display());
    }

    let total = cfg.train.steps as u64;
    let mode = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        crate::report::ProgressMode::Bar
    } else {
        crate::report::ProgressMode::Plain {
            every: cfg.output.log_every.max(1) as u64,
        }
    };
    let progress = Progress::with_mode(total, start, mode);
    let dropout = tr.lora_source.as_ref().map(|l| l.dropout_seed());
    let mut last_ckpt = resume_from.clone();
    let mut step = start;
    let mut interrupted = false;
    let t0 = Instant::now();
    let mut tokens_seen = 0usize;
    while step < total {
        if stop.load(Ordering::Relaxed) || until.is_some_and(|u| step >= u) {
            interrupted = true;
            break;
        }
        let step_start = Instant::now();
        // Draw and build this step's examples (bad samples skipped or fatal, per config).
        let n_micro = cfg.train.grad_accum;
        let per = cfg.train.micro_batch;
        let mut micro: Vec<Vec<(usize, Example)>> = Vec::with_capacity(n_micro);
        for _ in 0..n_micro {
            let mut mb = Vec::with_capacity(per);
            while mb.len() < per {
                let draw = mixture.next_draw();
                let task = draw.task;
                let s = &train_sets[task].samples[draw.index];
                match ex.build(s) {
                    Ok(e) => mb.push((task, e)),
                    Err(e) if cfg.train.on_bad_sample == OnBad::Skip => {
                        eprintln!("skipping: {e:#}");
                        skipped.push(format!("{e:#}"));
                        if skipped.len() > 1000 + n_samples {
                            bail!("too many bad samples; last: {e:#}");
                        }
                    }
                    Err(e) => {
                        save_before_error(cfg, &tr, &opt, &mixture, step, &mut last_ckpt)?;
                        return Err(e.context(format!("step {}", step + 1)));
                    }
                }
            }
            micro.push(mb);
        }
        let group_tokens: usize = micro.iter().flatten().map(|(_, e)| e.label_tokens()).sum();
        if group_tokens == 0 {
            bail!("step {}: no answer token in the batch", step + 1);
        }

        // Forward/backward per micro-batch; gradients of Σ CE / group_tokens accumulate.
        let vars = opt.params().to_vec();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        let mut task_sum: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        let mut loss_sum = 0.0;
        for (m, mb) in micro.iter().enumerate() {
            if let Some(d) = &dropout {
                set_dropout_seed(d, cfg.train.seed, step, m as u64);
            }
            let exs: Vec<&Example> = mb.iter().map(|(_, e)| e).collect();
            let l = micro_loss(&tr.model, &exs)?;
            let scaled = (l.sum / group_tokens as f64)?;
            let mut g = scaled.backward()?;
            if let Some(side) = &tr.side_grads {
                side.drain_into(&mut g)?;
            }
            for (i, (_, v)) in vars.iter().enumerate() {
                if let Some(gi) = g.get(v.as_tensor()) {
                    grads[i] = Some(match grads[i].take() {
                        None => gi.clone(),
                        Some(acc) => (acc + gi)?,
                    });
                }
            }
            for (r, (task, _)) in mb.iter().enumerate() {
                let e = task_sum.entry(train_sets[*task].name.clone()).or_default();
                e.0 += l.per_row[r];
                e.1 += l.tokens[r];
                loss_sum += l.per_row[r];
            }
        }
        let loss = loss_sum / group_tokens as f64;
        if !loss.is_finite() {
            save_before_error(cfg, &tr, &opt, &mixture, step, &mut last_ckpt)?;
            let ids: Vec<String> = micro
                .iter()
                .flatten()
                .map(|(_, e)| e.source.clone())
                .collect();
            bail!(
                "step {}: the loss is {loss} (samples: {}); the last good state is saved",
                step + 1,
                ids.join(", ")
            );
        }
        let mut grads: Vec<Tensor> = grads
            .into_iter()
            .zip(&vars)
            .map(|(g, (_, v))| g.map_or_else(|| v.as_tensor().zeros_like(), Ok))
            .collect::<candle_core::Result<_>>()?;
        let grad_norm = if cfg.train.max_grad_norm > 0.0 {
            clip_grad_norm(&mut grads, cfg.train.max_grad_norm)?
        } else {
            f64::NAN
        };
        if grad_norm.is_nan() && cfg.train.max_grad_norm > 0.0 || grad_norm.is_infinite() {
            save_before_error(cfg, &tr, &opt, &mixture, step, &mut last_ckpt)?;
            bail!(
                "step {}: the gradient norm is {grad_norm}; the last good state is saved",
                step + 1
            );
        }
        let lr = lr_at(
            cfg.train.schedule,
            cfg.train.lr,
            cfg.train.warmup_steps as u64,
            total,
            step,
        );
        opt.step(&grads, lr)?;
        step += 1;
        tokens_seen += micro
            .iter()
            .flatten()
            .map(|(_, e)| e.ids.len())
            .sum::<usize>();

        let elapsed = t0.elapsed().as_secs_f64();
        let tasks: BTreeMap<String, serde_json::Value> = task_sum
            .iter()
            .map(|(k, (s, n))| {
                (
                    k.clone(),
                    json!({"loss": s / (*n).max(1) as f64, "tokens": n}),
                )
            })
            .collect();
        log.append(&json!({
            "step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
            "step_s": step_start.elapsed().as_secs_f64(),
            "label_tokens": group_tokens, "tokens_per_s": tokens_seen as f64 / elapsed.max(1e-9),
            "tasks": tasks,
        }))?;
        progress.update(&StepInfo {
            step,
            loss,
            lr,
            tokens_per_s: tokens_seen as f64 / elapsed.max(1e-9),
        });

        if cfg.train.eval_every > 0 && step.is_multiple_of(cfg.train.eval_every as u64) {
            let v = validate(&tr, &ex, &valid_sets)?;
            log.append(&json!({"step": step, "valid_loss": v}))?;
        }
        let periodic =
            cfg.output.save_every > 0 && step.is_multiple_of(cfg.output.save_every as u64);
        if periodic || step == total {
            last_ckpt = Some(save(cfg, &tr, &opt, &mixture, step)?);
        }
    }
    progress.finish();
    if interrupted && last_ckpt.as_ref().and_then(|d| state::step_of(d)) != Some(step) {
        last_ckpt = Some(save(cfg, &tr, &opt, &mixture, step)?);
        eprintln!(
            "interrupted: saved {} at step {step}",
            last_ckpt
                .as_ref()
                .map_or(String::new(), |d| d.display().to_string())
        );
    }
    let adapter_dir = if !interrupted && step == total {
        Some(crate::export::export_final(cfg, &files, &tr)?)
    } else {
        None
    };
    if !skipped.is_empty() {
        eprintln!("{} sample(s) skipped:", skipped.len());
        for s in skipped.iter().take(20) {
            eprintln!("  {s}");
        }
    }
    plot_run(&run_dir)?;
    Ok(Outcome {
        run_dir,
        steps_done: step,
        interrupted,
        skipped,
        adapter_dir,
        last_checkpoint: last_ckpt,
    })
}

fn save(
    cfg: &Config,
    tr: &Trainable,
    opt: &AdamW,
    mixture: &data::mixture::MixtureSampler,
    step: u64,
) -> Result<PathBuf> {
    let dir = state::save(
        &cfg.output.dir,
        &RunState::new(cfg, step, mixture.state().clone()),
        tr,
        opt,
    )?;
    crate::store::prune_checkpoints(&cfg.output.dir, cfg.output.keep_last)?;
    Ok(dir)
}

/// Before returning an error mid-run, keep what was trained since the last checkpoint.
fn save_before_error(
    cfg: &Config,
    tr: &Trainable,
    opt: &AdamW,
    mixture: &data::mixture::MixtureSampler,
    step: u64,
    last: &mut Option<PathBuf>,
) -> Result<()> {
    let saved = last.as_ref().and_then(|d| state::step_of(d));
    if step > 0 && saved != Some(step) {
        *last = Some(save(cfg, tr, opt, mixture, step)?);
    }
    Ok(())
}

/// `loss.png` in the run directory: the total and per-task training loss by step.
pub fn plot_run(run_dir: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(run_dir.join("metrics.jsonl")).unwrap_or_default();
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(step) = v["step"].as_f64() else {
            continue;
        };
        if let Some(loss) = v["loss"].as_f64() {
            series.entry("total".into()).or_default().push((step, loss));
        }
        if let Some(tasks) = v["tasks"].as_object() {
            for (k, t) in tasks {
                if let Some(l) = t["loss"].as_f64() {
                    series.entry(k.clone()).or_default().push((step, l));
                }
            }
        }
        if let Some(vl) = v["valid_loss"].as_object() {
            for (k, l) in vl {
                if let Some(l) = l.as_f64() {
                    series
                        .entry(format!("valid {k}"))
                        .or_default()
                        .push((step, l));
                }
            }
        }
    }
    if series.is_empty() {
        return Ok(());
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = series.into_iter().collect();
    eval::chart::plot_lines(
        &run_dir.join("loss.png"),
        &series,
        "training loss",
        ("step", "loss"),
    )?;
    Ok(())
}
