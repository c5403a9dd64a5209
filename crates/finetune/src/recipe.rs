//! The training recipe, readable top to bottom: [`setup`] → [`train_step`] per optimizer step
//! → [`save`] → [`finish`]. [`run_until`] is the loop that strings them together:
//!
//! ```text
//! setup:      run dir, resume decision, model + trainable tensors, AdamW, data, metrics log
//! every step: draw micro-batches (bad samples skipped or fatal) → train_step → log
//!             → maybe validate → maybe save
//! finish:     checkpoint if interrupted, export (PEFT adapter / merged model), outcome
//! ```
//!
//! The step itself is [`crate::step::train_step`], with its two seams ([`Seams`]: a
//! teacher's extra loss term, a gradient all-reduce), which [`run_with`] passes through.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use data::cache::FeatureCache;
use data::choice::{ChoiceItem, ChoiceTask};
use data::manifest::{OnBad, ReadOptions, Sample};
use data::mixture::{MixtureSampler, TaskSource};
use model::checkpoint::ModelFiles;
use processor::{Example, Processor, Target};
use serde_json::json;

use crate::config::{Config, Resume, Weights};
use crate::distill::{check_resume, run_teacher, Distill, Plan, BASE_TEACHER};
use crate::error::{Error, Result};
use crate::optim::{AdamW, AdamWConfig};
use crate::parallel::Communicator;
use crate::params::{self, Trainable};
use crate::report::{MetricsLog, Progress, ProgressMode, StepInfo};
use crate::schedule::lr_at;
use crate::state::{self, RunState};
use crate::step::{micro_loss, train_step, Seams, StepSettings, StepStats};

/// One dataset of the mixture.
pub struct TaskData {
    pub name: String,
    pub samples: Vec<Sample>,
    /// For a multiple-choice set: its task and the questions behind `samples` (same order).
    pub choice: Option<(ChoiceTask, Vec<ChoiceItem>)>,
}

/// The run's distillation: which set, the plan (teacher signals per item), the term.
pub struct Distillation {
    pub set: usize,
    pub plan: Plan,
    pub term: Distill,
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

// ---------------------------------------------------------------------------------------
// Setup

/// Everything a run holds between steps.
pub struct Session<'a> {
    pub cfg: &'a Config,
    pub run_dir: PathBuf,
    pub files: ModelFiles,
    pub tr: Trainable,
    pub opt: AdamW,
    pub train_sets: Vec<TaskData>,
    pub valid_sets: Vec<TaskData>,
    pub mixture: MixtureSampler,
    pub cache: Option<FeatureCache>,
    pub log: MetricsLog,
    /// Optimizer steps done.
    pub step: u64,
    /// The newest checkpoint written or resumed from.
    pub last_checkpoint: Option<PathBuf>,
    /// Samples left out (`train.on_bad_sample = "skip"`), with the reason.
    pub skipped: Vec<String>,
    /// `[distill]`: the teacher's signals and the term (None without distillation).
    pub distill: Option<Distillation>,
    /// The data-parallel group this session is a rank of (None: one device).
    pub comm: Option<&'a dyn Communicator>,
}

impl Session<'_> {
    fn processor(&self) -> Processor<'_> {
        Processor {
            model: &self.tr.model,
            prompts: &self.cfg.data.prompts,
            long_audio: self.cfg.model.long_audio,
            cache: self.cache.as_ref(),
            video: &self.cfg.model.video,
        }
    }

    fn samples(&self) -> usize {
        self.train_sets.iter().map(|t| t.samples.len()).sum()
    }

    /// Whether this session writes (checkpoints, metrics, exports): rank 0 or the only one.
    pub fn lead(&self) -> bool {
        self.comm.is_none_or(|c| c.rank() == 0)
    }

    /// The number of data-parallel ranks.
    pub fn world(&self) -> usize {
        self.comm.map_or(1, |c| c.world_size())
    }
}

/// Prepares a run: the run directory (stale temporaries removed, the config copied), the
/// model with its trainable tensors, the optimizer, the data, and — when the directory holds
/// a checkpoint and `output.resume = "auto"` — the state it was saved in.
pub fn setup(cfg: &Config) -> Result<Session<'_>> {
    setup_in(cfg, None)
}

/// [`setup`] for one rank of a data-parallel group: rank 0 prepares the run directory and
/// chooses the checkpoint; every rank resumes from it.
pub(crate) fn setup_in<'a>(
    cfg: &'a Config,
    comm: Option<&'a dyn Communicator>,
) -> Result<Session<'a>> {
    let run_dir = cfg.output.dir.clone();
    let mut resume_from = None;
    if comm.is_none_or(|c| c.rank() == 0) {
        std::fs::create_dir_all(&run_dir).map_err(Error::io("creating", &run_dir))?;
        data::fsutil::remove_stale_temps(&run_dir)?;
        let existing = crate::store::latest_checkpoint(&run_dir)?;
        resume_from = match (&cfg.output.resume, existing) {
            (Resume::Auto, Some(dir)) => Some(dir),
            (Resume::Never, Some(dir)) => {
                return Err(Error::checkpoint(
                    &run_dir,
                    format!(
                        "already has checkpoints ({}); use output.resume = \"auto\" to continue or another output.dir",
                        dir.display()
                    ),
                ))
            }
            (_, None) => None,
        };
        data::fsutil::write_atomic(&run_dir.join("config.toml"), cfg.to_toml().as_bytes())?;
    }
    if let Some(c) = comm {
        resume_from = crate::parallel::agree_on_checkpoint(c, &run_dir, resume_from)?;
    }

    let device = cfg.model.device.open()?;
    let files = match cfg.model.weights {
        Weights::Checkpoint => model::checkpoint::resolve(&cfg.model.source)?,
        Weights::Random if resume_from.is_some() => {
            return Err(Error::Checkpoint {
                path: run_dir.clone(),
                reason: "model.weights = \"random\" cannot resume (the weights are drawn anew)"
                    .into(),
            })
        }
        Weights::Random => model::checkpoint::without_weights(Path::new(&cfg.model.source))?,
    };
    let tr = params::load(cfg, &files, &device)?;
    let vars = tr.named_vars();
    let n_params: usize = vars.iter().map(|(_, v)| v.as_tensor().elem_count()).sum();
    eprintln!(
        "trainable: {} tensors, {n_params} parameters ({} LoRA modules, {} base tensors)",
        vars.len(),
        tr.lora.len(),
        tr.base.len()
    );
    let opt = AdamW::new(
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
    let sources = task_sources(cfg, &train_sets);
    let mixture = MixtureSampler::new(&sources, cfg.train.seed)?;
    let cache = cfg
        .data
        .cache_dir
        .as_ref()
        .map(FeatureCache::new)
        .transpose()?;
    let distill = match &cfg.distill {
        None => None,
        Some(d) => {
            let set = train_sets
                .iter()
                .position(|t| t.name == d.task)
                .ok_or_else(|| Error::Data(format!("distill.task `{}`: no such set", d.task)))?;
            let (task, items) = train_sets[set].choice.as_ref().ok_or_else(|| {
                Error::Data(format!(
                    "distill.task `{}` is not a multiple-choice set",
                    d.task
                ))
            })?;
            let teacher_path = match (&d.teacher_model, &d.teacher) {
                (None, Some(path)) => path.clone(),
                (Some(source), path) => {
                    let path = path.clone().unwrap_or_else(|| run_dir.join("teacher.json"));
                    // A resumed run keeps the answers it started with.
                    if !(resume_from.is_some() && path.is_file()) && source == BASE_TEACHER {
                        // The forgetting guard: the student itself before training is the
                        // base (LoRA's B starts at zero; full finetuning has not stepped).
                        if cfg.lora.init_from.is_some()
                            && cfg.train.mode == crate::config::Mode::Lora
                        {
                            return Err(Error::Data(
                                "distill.teacher_model = \"base\" needs LoRA to start from zero; \
                                 lora.init_from is set"
                                    .into(),
                            ));
                        }
                        let p = Processor {
                            model: &tr.model,
                            prompts: &cfg.data.prompts,
                            long_audio: cfg.model.long_audio,
                            cache: None,
                            video: &cfg.model.video,
                        };
                        let name = format!("{} (base, before training)", cfg.model.source);
                        let file = run_teacher(&p, &name, d.teacher_condition, task, items, 8)?;
                        file.save(&path)?;
                    } else if !(resume_from.is_some() && path.is_file()) {
                        let adapter = d.teacher_adapter.as_deref();
                        let teacher = model::Model::from_source(
                            source,
                            &device,
                            cfg.model.dtype.into(),
                            adapter,
                        )?;
                        let name = match adapter {
                            Some(a) => format!("{source} + {}", a.display()),
                            None => source.clone(),
                        };
                        eprintln!(
                            "teacher {name} ({}) answering {} items ...",
                            d.teacher_condition.name(),
                            items.len()
                        );
                        let p = Processor {
                            model: &teacher,
                            prompts: &cfg.data.prompts,
                            long_audio: cfg.model.long_audio,
                            cache: None,
                            video: &cfg.model.video,
                        };
                        let file = run_teacher(&p, &name, d.teacher_condition, task, items, 8)?;
                        file.save(&path)?;
                    }
                    path
                }
                (None, None) => {
                    return Err(Error::Data("distill: no teacher (validated before)".into()))
                }
            };
            let plan = Plan::build(d, &teacher_path, task, items, &tr.model)?;
            let n = plan.signals.iter().filter(|s| s.is_some()).count();
            eprintln!(
                "distilling {n} of {} items of `{}` (classes: {}) from {}",
                items.len(),
                d.task,
                plan.selected.join(", "),
                teacher_path.display()
            );
            Some(Distillation {
                set,
                plan,
                term: Distill::new(d),
            })
        }
    };
    let log = MetricsLog::open(&run_dir)?;
    let mut s = Session {
        cfg,
        run_dir,
        files,
        tr,
        opt,
        train_sets,
        valid_sets,
        mixture,
        cache,
        log,
        step: 0,
        last_checkpoint: None,
        skipped,
        distill,
        comm,
    };
    if let Some(dir) = resume_from {
        let st = state::load(&dir, cfg, &s.tr, &mut s.opt)?;
        crate::parallel::check_world_size(&dir, st.world_size, s.world())?;
        check_resume(
            st.distill.as_deref(),
            s.distill.as_ref().map(|d| &d.plan),
            &dir,
        )?;
        s.mixture = MixtureSampler::restore(&sources, st.mixture.clone())
            .map_err(|e| Error::checkpoint(&dir, format!("data position: {e}")))?;
        s.step = st.step;
        if s.lead() {
            s.log.truncate_after(s.step)?;
            eprintln!("resumed from {} at step {}", dir.display(), s.step);
        }
        s.last_checkpoint = Some(dir);
    }
    Ok(s)
}

fn task_sources(cfg: &Config, sets: &[TaskData]) -> Vec<TaskSource> {
    sets.iter()
        .zip(&cfg.data.train)
        .map(|(t, set)| TaskSource {
            name: t.name.clone(),
            len: t.samples.len(),
            weight: set.weight,
        })
        .collect()
}

/// Reads every manifest of `sets`; bad lines and missing audio files stop the run or are
/// skipped (and listed in `skipped`), per `train.on_bad_sample`.
pub fn read_sets(
    cfg: &Config,
    sets: &[crate::config::DataSet],
    skipped: &mut Vec<String>,
) -> Result<Vec<TaskData>> {
    let on_bad = cfg.train.on_bad_sample;
    let mut out = Vec::new();
    for set in sets {
        let opts = ReadOptions {
            on_bad,
            default_task: Some(set.task.clone()),
        };
        let (mut samples, bad) = data::manifest::read_manifest_with(&set.manifest, &opts)?;
        skipped.extend(bad.into_iter().map(|s| s.reason));
        // Missing files are found before training starts, not when first drawn.
        let missing = data::manifest::missing_media(&samples);
        if !missing.is_empty() {
            let lines: Vec<String> = missing
                .iter()
                .map(|(loc, field, p)| {
                    format!("{loc}: field {field}: {} does not exist", p.display())
                })
                .collect();
            if on_bad == OnBad::Error {
                return Err(Error::Data(format!(
                    "{} missing media file(s) (train.on_bad_sample = \"skip\" leaves them out):\n  {}",
                    lines.len(),
                    lines.join("\n  ")
                )));
            }
            let bad_lines: std::collections::HashSet<&data::Location> =
                missing.iter().map(|m| &m.0).collect();
            samples.retain(|s| !bad_lines.contains(&s.source));
            skipped.extend(lines);
        }
        if samples.is_empty() {
            return Err(Error::Data(format!(
                "{}: no usable sample",
                set.manifest.display()
            )));
        }
        let choice = match &set.choice {
            None => None,
            Some(path) => {
                let task = ChoiceTask::from_toml_file(path)?;
                let items = task.items(&samples)?;
                samples = items
                    .iter()
                    .map(|it| it.sample(&task, set.condition))
                    .collect::<data::Result<_>>()?;
                Some((task, items))
            }
        };
        out.push(TaskData {
            name: set.task.to_string(),
            samples,
            choice,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// The loop

/// Runs (or resumes) the experiment of `cfg`. `stop` is raised by Ctrl-C: the loop then
/// writes a checkpoint after the current step and returns.
pub fn run(cfg: &Config, stop: &AtomicBool) -> Result<Outcome> {
    run_until(cfg, stop, None)
}

/// [`run`], stopping (with a checkpoint, as on Ctrl-C) once `until` steps are done: a job
/// split over several time-limited allocations continues exactly where it stopped.
pub fn run_until(cfg: &Config, stop: &AtomicBool, until: Option<u64>) -> Result<Outcome> {
    run_with(cfg, stop, until, Seams::default())
}

/// [`run_until`] with the step's seams filled: an extra loss term (a teacher) and/or a
/// gradient all-reduce (several devices).
pub fn run_with(
    cfg: &Config,
    stop: &AtomicBool,
    until: Option<u64>,
    seams: Seams,
) -> Result<Outcome> {
    run_in(cfg, stop, until, seams, None)
}

/// [`run_with`] as one rank of a data-parallel group (`comm`; see [`crate::parallel`]).
pub(crate) fn run_in(
    cfg: &Config,
    stop: &AtomicBool,
    until: Option<u64>,
    mut seams: Seams,
    comm: Option<&dyn Communicator>,
) -> Result<Outcome> {
    let mut s = setup_in(cfg, comm)?;
    let total = cfg.train.steps as u64;
    let mode = if !s.lead() {
        ProgressMode::Hidden
    } else if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressMode::Bar
    } else {
        ProgressMode::Plain {
            every: cfg.output.log_every.max(1) as u64,
        }
    };
    let progress = Progress::with_mode(total, s.step, mode);
    let t0 = Instant::now();
    let mut tokens_seen = 0usize;
    let mut interrupted = false;
    while s.step < total {
        let mut stopping = stop.load(Ordering::Relaxed);
        if let Some(c) = s.comm {
            // Every rank stops before the same step.
            stopping = c.all_reduce_usize(usize::from(stopping))? > 0;
        }
        if stopping || until.is_some_and(|u| s.step >= u) {
            interrupted = true;
            break;
        }
        let step_start = Instant::now();
        let micro = match draw_batch(&mut s) {
            Ok(m) => m,
            Err(e) => {
                if !matches!(e, Error::Data(_)) {
                    save_before_error(&mut s)?;
                }
                return Err(e.at_step(s.step + 1));
            }
        };
        let set = StepSettings {
            step: s.step,
            lr: lr_at(
                cfg.train.schedule,
                cfg.train.lr,
                cfg.train.warmup_steps as u64,
                total,
                s.step,
            ),
            max_grad_norm: cfg.train.max_grad_norm,
            seed: cfg.train.seed,
        };
        // The run's own teacher term, unless the caller brought one.
        let own = s
            .distill
            .as_ref()
            .map(|d| &d.term as &dyn crate::step::ExtraLoss);
        let mut step_seams = Seams {
            extra_loss: seams.extra_loss.or(own),
            sync: match seams.sync {
                Some(ref mut x) => Some(&mut **x as &mut dyn crate::step::GradSync),
                None => None,
            },
        };
        let mut stats = match train_step(&s.tr, &mut s.opt, &micro, &set, &mut step_seams) {
            Ok(st) => st,
            Err(e) => {
                if e.saved_state() {
                    save_before_error(&mut s)?;
                }
                return Err(e.at_step(s.step + 1));
            }
        };
        if let Some(c) = s.comm {
            let tasks: Vec<String> = micro.iter().flatten().map(|e| e.task.clone()).collect();
            let sizes: Vec<usize> = micro.iter().map(Vec::len).collect();
            stats = crate::parallel::merge_stats(c, stats, &tasks, &sizes)
                .map_err(|e| e.at_step(s.step + 1))?;
        }
        s.step += 1;
        tokens_seen += stats.tokens;
        let tokens_per_s = tokens_seen as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        if s.lead() {
            log_step(&mut s.log, s.step, &stats, step_start, tokens_per_s)?;
        }
        progress.update(&StepInfo {
            step: s.step,
            loss: stats.loss,
            lr: stats.lr,
            tokens_per_s,
        });
        if s.lead()
            && cfg.train.eval_every > 0
            && s.step.is_multiple_of(cfg.train.eval_every as u64)
        {
            let v = validate(&s)?;
            s.log.append(&json!({"step": s.step, "valid_loss": v}))?;
        }
        let periodic =
            cfg.output.save_every > 0 && s.step.is_multiple_of(cfg.output.save_every as u64);
        if periodic || s.step == total {
            save(&mut s)?;
        }
    }
    progress.finish();
    finish(s, interrupted)
}

/// Draws one step's micro-batches from the mixture and builds their examples; a bad sample
/// is skipped (and counted) or fatal, per `train.on_bad_sample`. A rank of a data-parallel
/// group gets its share ([`crate::parallel`]).
fn draw_batch(s: &mut Session) -> Result<Vec<Vec<Example>>> {
    if let Some(c) = s.comm {
        return crate::parallel::draw_step(s, c);
    }
    let n = s.cfg.train.grad_accum;
    let micro = draw_micro(s, n, &|_| true, true)?;
    micro.ok_or_else(|| Error::Data("a bad sample in a serial draw".into()))
}

/// Draws `n` micro-batches of `train.micro_batch` samples and returns those `keep` selects
/// (by index). With `every`, every sample is built, a bad one replaced by the next draw (or
/// fatal), as one device does; without, only the kept ones are built, the others' draws are
/// passed over, and a bad sample returns `None` (the caller draws again with `every`).
pub(crate) fn draw_micro(
    s: &mut Session,
    n: usize,
    keep: &dyn Fn(usize) -> bool,
    every: bool,
) -> Result<Option<Vec<Vec<Example>>>> {
    let per = s.cfg.train.micro_batch;
    let limit = 1000 + s.samples();
    let mut micro = Vec::with_capacity(n);
    for g in 0..n {
        if !every && !keep(g) {
            for _ in 0..per {
                s.mixture.next_draw();
            }
            continue;
        }
        let mut mb = Vec::with_capacity(per);
        while mb.len() < per {
            let draw = s.mixture.next_draw();
            let sample = &s.train_sets[draw.task].samples[draw.index];
            let built = s
                .processor()
                .example(sample, s.cfg.train.max_tokens)
                .map_err(|cause| Error::Sample {
                    location: sample.source.to_string(),
                    cause: Box::new(cause),
                });
            match built {
                Ok(mut e) => {
                    e.task = s.train_sets[draw.task].name.clone();
                    if let Some(d) = s.distill.as_ref().filter(|d| d.set == draw.task) {
                        if let Some(teacher) = &d.plan.signals[draw.index] {
                            e.target = Target::Distill {
                                letters: d.plan.letters.clone(),
                                teacher: teacher.clone(),
                            };
                        }
                    }
                    mb.push(e);
                }
                Err(_) if !every => return Ok(None),
                Err(e) if s.cfg.train.on_bad_sample == OnBad::Skip => {
                    if s.lead() {
                        eprintln!("skipping: {e}");
                    }
                    s.skipped.push(e.to_string());
                    if s.skipped.len() > limit {
                        return Err(Error::Data(format!("too many bad samples; last: {e}")));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if keep(g) {
            micro.push(mb);
        }
    }
    Ok(Some(micro))
}

/// One line of `metrics.jsonl` for a finished step.
fn log_step(
    log: &mut MetricsLog,
    step: u64,
    st: &StepStats,
    started: Instant,
    tokens_per_s: f64,
) -> Result<()> {
    let tasks: BTreeMap<String, serde_json::Value> = st
        .tasks
        .iter()
        .map(|(k, (sum, n))| {
            (
                k.clone(),
                json!({"loss": sum / (*n).max(1) as f64, "tokens": n}),
            )
        })
        .collect();
    let mut record = json!({
        "step": step, "loss": st.loss, "lr": st.lr, "grad_norm": st.grad_norm,
        "step_s": started.elapsed().as_secs_f64(),
        "label_tokens": st.label_tokens, "tokens_per_s": tokens_per_s,
        "tasks": tasks,
    });
    if let Some(x) = st.extra_loss {
        record["extra_loss"] = json!(x);
    }
    log.append(&record)?;
    Ok(())
}

/// Mean validation loss per task (dropout off).
fn validate(s: &Session) -> Result<BTreeMap<String, f64>> {
    if let Some(l) = &s.tr.lora_source {
        l.dropout_seed().store(0, Ordering::Relaxed);
    }
    let p = s.processor();
    let mut out = BTreeMap::new();
    for set in &s.valid_sets {
        let (mut sum, mut n) = (0.0, 0usize);
        for sample in &set.samples {
            let e = p
                .example(sample, s.cfg.train.max_tokens)
                .map_err(|cause| Error::Sample {
                    location: sample.source.to_string(),
                    cause: Box::new(cause),
                })?;
            let (l, _) = micro_loss(&s.tr.model, &[&e])?;
            sum += l.per_row[0];
            n += l.tokens[0];
        }
        out.insert(set.name.clone(), sum / n.max(1) as f64);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Save and finish

/// Writes the checkpoint of the current step (atomically) and applies `output.keep_last`.
/// Only rank 0 writes; another rank just notes the checkpoint's path.
pub fn save(s: &mut Session) -> Result<PathBuf> {
    if !s.lead() {
        let dir = s.run_dir.join(crate::store::checkpoint_name(s.step));
        s.last_checkpoint = Some(dir.clone());
        return Ok(dir);
    }
    let fingerprint = s.distill.as_ref().map(|d| d.plan.fingerprint.clone());
    let mut st = RunState::new(s.cfg, s.step, s.mixture.state().clone(), fingerprint);
    st.world_size = s.world();
    let dir = state::save(&s.run_dir, &st, &s.tr, &s.opt)?;
    crate::store::prune_checkpoints(&s.run_dir, s.cfg.output.keep_last)?;
    s.last_checkpoint = Some(dir.clone());
    Ok(dir)
}

/// Before returning an error mid-run, keeps what was trained since the last checkpoint.
fn save_before_error(s: &mut Session) -> Result<()> {
    if s.step > 0 && !saved_at(s.last_checkpoint.as_deref(), s.step) {
        save(s)?;
    }
    Ok(())
}

fn saved_at(checkpoint: Option<&Path>, step: u64) -> bool {
    checkpoint.and_then(state::step_of) == Some(step)
}

/// Ends a run: an interrupted run saves its step (unless just saved); a finished one exports
/// the adapter (and merged model); skipped samples are listed.
pub fn finish(mut s: Session, interrupted: bool) -> Result<Outcome> {
    if interrupted && !saved_at(s.last_checkpoint.as_deref(), s.step) {
        let dir = save(&mut s)?;
        if s.lead() {
            eprintln!("interrupted: saved {} at step {}", dir.display(), s.step);
        }
    }
    let total = s.cfg.train.steps as u64;
    let adapter_dir = if s.lead() && !interrupted && s.step == total {
        Some(crate::export::export_final(s.cfg, &s.files, &s.tr)?)
    } else {
        None
    };
    if s.lead() && !s.skipped.is_empty() {
        eprintln!("{} sample(s) skipped:", s.skipped.len());
        for line in s.skipped.iter().take(20) {
            eprintln!("  {line}");
        }
    }
    Ok(Outcome {
        run_dir: s.run_dir,
        steps_done: s.step,
        interrupted,
        skipped: s.skipped,
        adapter_dir,
        last_checkpoint: s.last_checkpoint,
    })
}
