//! Renders a world's specifications to files under a root directory: WAVs, native JSONL
//! manifests, and the facts every clip was generated from.
//!
//! ```text
//! ROOT/clips/<split>/ac-<split>-NNNNN.wav              captioned clips (AC)
//! ROOT/events/<split>/ev-<split>-NNNNN.wav             single-event clips (pair sources)
//! ROOT/pairs/<split>/pair-NNNNNN-<edit>_{before,after}.wav
//! ROOT/probes/<task>/<split>/<task>-<split>-<label>-NNNN.wav
//! ROOT/objects/<split>/obj-<split>-NNNNN.wav          sound objects: the audio
//! ROOT/objects/<split>/obj-<split>-NNNNN/frame_KKK.png sound objects: the view (a frame folder)
//! ROOT/objects/task.toml                               sound objects: the multiple-choice task
//! ROOT/views/<split>/view-<split>-NNNNN/frame_KKK.png  captioned views (visual pretraining)
//! ROOT/<task>_<split>.jsonl                            manifests: ac, acc, adc, vsc, ser, mic, mgc, objects, views
//! ROOT/facts/<what>_<split>.jsonl                      generation facts (scenes, events, pairs, probes, objects, views)
//! ```
//! Manifest media paths are relative to ROOT (the manifests' directory).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use data::choice::ChoiceTask;
use data::pairs::{plan_lines, render_pair_with, write_wav, RenderConfig, WavFormat};
use data::{write_manifest, Clip, NativeLine, Task};
use serde::Serialize;

use crate::config::{ObjectsConfig, Split, WorldConfig};
use crate::corpus::{self, EventClip, PairFacts};
use crate::error::{Error, Result};
use crate::objects::{self, views};
use crate::probes::ProbeTask;
use crate::scene::SceneSpec;

/// The manifest file name of `task` in `split`.
pub fn manifest_name(task: &str, split: Split) -> String {
    format!("{task}_{}.jsonl", split.name())
}

struct Writer<'a> {
    root: &'a Path,
    format: WavFormat,
}

impl Writer<'_> {
    fn wav(&self, rel: &Path, samples: &[f32]) -> Result<()> {
        Ok(write_wav(&self.root.join(rel), samples, self.format)?)
    }

    fn facts<T: Serialize>(&self, what: &str, split: Split, items: &[T]) -> Result<()> {
        let path = self.root.join("facts").join(manifest_name(what, split));
        let mut out = String::new();
        for it in items {
            let line = serde_json::to_string(it)
                .map_err(|e| Error::index(&path, what, format!("cannot serialise: {e}")))?;
            out.push_str(&line);
            out.push('\n');
        }
        write_file(&path, out.as_bytes())
    }

    fn manifest(&self, task: &str, split: Split, lines: &[NativeLine]) -> Result<(String, usize)> {
        let name = manifest_name(task, split);
        write_manifest(&self.root.join(&name), lines)?;
        Ok((name, lines.len()))
    }
}

/// Writes `bytes` to `path`, creating its directory.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create directory", e))?;
    }
    fs::write(path, bytes).map_err(|e| Error::io(path, "cannot write", e))
}

fn rel_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Every manifest written: name → (file, line count).
pub type Written = BTreeMap<String, (String, usize)>;

/// Generates and writes everything of `cfg` under `root` (which should be empty). The
/// captioned sets (AC, ACC, ADC) are left out when all their counts are zero, the probes when
/// theirs are, and the sound-object set is written when `cfg.objects` is set.
pub fn build(cfg: &WorldConfig, root: &Path) -> Result<Written> {
    let w = Writer {
        root,
        format: cfg.format,
    };
    let mut written = Written::new();
    for split in Split::ALL {
        let mut put = |task: &str, r: (String, usize)| {
            written.insert(manifest_name(task, split).replace(".jsonl", ""), r);
        };
        if cfg.has_captions() {
            let scenes = corpus::scenes(cfg, split);
            let events = corpus::event_clips(cfg, split);
            put("ac", w.manifest("ac", split, &ac(&w, split, &scenes)?)?);
            for e in &events {
                w.wav(&corpus::event_path(split, &e.id), &e.spec.render())?;
            }
            w.facts("events", split, &events)?;
            let pairs = corpus::pairs(cfg, split, &scenes, &events)?;
            let (acc, adc) = render_pairs(&w, split, &pairs, &scenes, &events)?;
            w.facts("pairs", split, &pairs)?;
            put("acc", w.manifest("acc", split, &acc)?);
            put("adc", w.manifest("adc", split, &adc)?);
        }
        if cfg.has_probes() {
            for task in ProbeTask::ALL {
                let specs = corpus::probe_specs(cfg, task, split);
                let mut lines = Vec::with_capacity(specs.len());
                for s in &specs {
                    let rel = corpus::probe_path(task, split, &s.id);
                    w.wav(&rel, &s.render())?;
                    lines.push(NativeLine {
                        id: Some(s.id.clone()),
                        task: Task::Custom(task.name().to_string()),
                        audio: vec![rel_str(&rel)],
                        images: Vec::new(),
                        videos: Vec::new(),
                        prompt: None,
                        system: None,
                        target: s.label.clone(),
                        references: Vec::new(),
                    });
                }
                w.facts(task.name(), split, &specs)?;
                put(task.name(), w.manifest(task.name(), split, &lines)?);
            }
        }
        if let Some(oc) = &cfg.objects {
            let lines = sound_objects(&w, cfg.seed, oc, split)?;
            put(
                objects::TASK_NAME,
                w.manifest(objects::TASK_NAME, split, &lines)?,
            );
        }
        if let Some(counts) = &cfg.views {
            let geometry = cfg.objects.clone().unwrap_or_default();
            let lines = captioned_views(&w, cfg.seed, &geometry, split, counts.get(split))?;
            put(
                views::TASK_NAME,
                w.manifest(views::TASK_NAME, split, &lines)?,
            );
        }
    }
    if let Some(oc) = &cfg.objects {
        let task = objects_task(cfg.seed, oc);
        let path = root.join(OBJECTS_TASK_FILE);
        let text = toml::to_string(&task)
            .map_err(|e| Error::index(&path, "*", format!("cannot serialise: {e}")))?;
        write_file(&path, text.as_bytes())?;
    }
    Ok(written)
}

/// The sound-object set's multiple-choice task, relative to the world directory.
pub const OBJECTS_TASK_FILE: &str = "objects/task.toml";

/// The task of the sound-object set: every class, `options` options, the world's seed, the
/// data crate's default prompt (the paper's question).
pub fn objects_task(seed: u64, oc: &ObjectsConfig) -> ChoiceTask {
    ChoiceTask {
        name: objects::TASK_NAME.to_string(),
        classes: objects::class_names(),
        options: oc.options,
        seed,
        order: Default::default(),
        prompt: data::choice::DEFAULT_PROMPT.to_string(),
    }
}

/// Renders the sound-object clips of `split` (a WAV and a folder of PNG frames each), writes
/// their facts, and returns their manifest lines (audio, the frame folder as the video, the
/// class as the target).
fn sound_objects(
    w: &Writer,
    seed: u64,
    oc: &ObjectsConfig,
    split: Split,
) -> Result<Vec<NativeLine>> {
    let specs = objects::specs(seed, oc, split);
    let mut lines = Vec::with_capacity(specs.len());
    for s in &specs {
        let wav = objects::audio_path(split, &s.id);
        w.wav(&wav, &s.render_audio())?;
        let dir = objects::frames_dir(split, &s.id);
        write_frames(w, &dir, &s.render_frames(), oc.width, oc.height)?;
        lines.push(NativeLine {
            id: Some(s.id.clone()),
            task: Task::Custom(objects::TASK_NAME.to_string()),
            audio: vec![rel_str(&wav)],
            images: Vec::new(),
            videos: vec![rel_str(&dir)],
            prompt: None,
            system: None,
            target: s.class.clone(),
            references: Vec::new(),
        });
    }
    w.facts(objects::TASK_NAME, split, &specs)?;
    Ok(lines)
}

/// Writes `frames` (RGB bytes) as the PNG files of folder `dir` (relative to the root).
fn write_frames(w: &Writer, dir: &Path, frames: &[Vec<u8>], width: u32, height: u32) -> Result<()> {
    for (k, rgb) in frames.iter().enumerate() {
        let path = w.root.join(dir).join(objects::frame_name(k));
        let png = objects::view::png(rgb, width, height)
            .map_err(|e| Error::io(&path, "cannot encode PNG", std::io::Error::other(e)))?;
        write_file(&path, &png)?;
    }
    Ok(())
}

/// Renders `count` captioned views of `split` (a folder of PNG frames each), writes their
/// facts, and returns their manifest lines (the frame folder as the video, the question, the
/// caption as the target).
fn captioned_views(
    w: &Writer,
    seed: u64,
    geometry: &ObjectsConfig,
    split: Split,
    count: usize,
) -> Result<Vec<NativeLine>> {
    let specs = views::specs(seed, geometry, split, count);
    let mut lines = Vec::with_capacity(specs.len());
    for s in &specs {
        let dir = views::frames_dir(split, &s.id);
        write_frames(w, &dir, &s.render_frames(), geometry.width, geometry.height)?;
        lines.push(NativeLine {
            id: Some(s.id.clone()),
            task: Task::Custom(views::TASK_NAME.to_string()),
            audio: Vec::new(),
            images: Vec::new(),
            videos: vec![rel_str(&dir)],
            prompt: Some(views::PROMPT.to_string()),
            system: None,
            target: s.caption.clone(),
            references: Vec::new(),
        });
    }
    w.facts(views::TASK_NAME, split, &specs)?;
    Ok(lines)
}

/// Renders the AC clips, writes their facts, and returns their manifest lines (target: the
/// first caption; references: the other paraphrases).
fn ac(w: &Writer, split: Split, scenes: &[SceneSpec]) -> Result<Vec<NativeLine>> {
    let mut lines = Vec::with_capacity(scenes.len());
    for s in scenes {
        let rel = corpus::clip_path(split, &s.id);
        w.wav(&rel, &s.render().0)?;
        lines.push(NativeLine {
            id: Some(s.id.clone()),
            task: Task::Ac,
            audio: vec![rel_str(&rel)],
            images: Vec::new(),
            videos: Vec::new(),
            prompt: None,
            system: None,
            target: s.captions.first().cloned().unwrap_or_default(),
            references: s.captions.iter().skip(1).cloned().collect(),
        });
    }
    w.facts("ac", split, scenes)?;
    Ok(lines)
}

/// Renders the pairs with the data crate's renderer, synthesizing sources by id, and returns
/// the (ACC, ADC) manifest lines.
fn render_pairs(
    w: &Writer,
    split: Split,
    pairs: &[PairFacts],
    scenes: &[SceneSpec],
    events: &[EventClip],
) -> Result<(Vec<NativeLine>, Vec<NativeLine>)> {
    let by_scene: BTreeMap<&str, &SceneSpec> = scenes.iter().map(|s| (s.id.as_str(), s)).collect();
    let by_event: BTreeMap<&str, &EventClip> = events.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut load = |c: &Clip| -> data::Result<Vec<f32>> {
        if let Some(s) = by_scene.get(c.id.as_str()) {
            return Ok(s.render().0);
        }
        if let Some(e) = by_event.get(c.id.as_str()) {
            return Ok(e.spec.render());
        }
        Err(data::Error::config(
            "clips",
            format!("no generated source with id `{}`", c.id),
        ))
    };
    let out_dir: PathBuf = w.root.join("pairs").join(split.name());
    let rc = RenderConfig {
        format: w.format,
        ..RenderConfig::default()
    };
    let (mut acc, mut adc) = (Vec::new(), Vec::new());
    for p in pairs {
        let rendered = render_pair_with(&p.plan, &out_dir, &rc, &mut load)?;
        let [mut d, mut c] = plan_lines(&p.plan, &rendered, w.root)?;
        d.id = Some(format!("adc-{}-{}", split.name(), p.plan.id));
        c.id = Some(format!("acc-{}-{}", split.name(), p.plan.id));
        c.references = p.acc_references.clone();
        adc.push(d);
        acc.push(c);
    }
    Ok((acc, adc))
}

/// Files, bytes and content hash of a directory tree (every file but `skip` at its top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub files: usize,
    pub bytes: u64,
    /// FNV-1a 64 over (relative path, NUL, length, bytes) of each file in path order; 0 when
    /// not computed.
    pub hash: u64,
}

/// Walks `root` in sorted order, skipping the file `skip` at its top; reads and hashes the
/// files when `hash` is set (otherwise only their sizes).
pub fn tally(root: &Path, skip: &str, hash: bool) -> Result<Tally> {
    let mut files = Vec::new();
    collect(root, root, &mut files)?;
    files.retain(|(rel, _)| rel != skip);
    files.sort();
    let mut t = Tally {
        files: files.len(),
        bytes: 0,
        hash: 0,
    };
    let mut h = Fnv::new();
    for (rel, path) in &files {
        let meta = fs::metadata(path).map_err(|e| Error::io(path, "cannot stat", e))?;
        t.bytes += meta.len();
        if hash {
            let bytes = fs::read(path).map_err(|e| Error::io(path, "cannot read", e))?;
            h.update(rel.as_bytes());
            h.update(&[0]);
            h.update(&(bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    if hash {
        t.hash = h.0;
    }
    Ok(t)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list", e))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(dir, "cannot list", e))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| Error::io(&path, "cannot stat", e))?;
        if ft.is_dir() {
            collect(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
    Ok(())
}

/// FNV-1a, 64-bit.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}
