//! The sound-object set: worlds on disk (determinism, disjoint splits, files that the audio and
//! vision crates decode, a task file the data crate reads), the declared confusion table
//! (look-alike classes share the view's distribution and differ in sound, sound-alike classes
//! the reverse, checked from the recorded facts), and crude learners that confuse exactly
//! the declared pairs in the declared modality (accuracies printed with `-- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use data::choice::{ChoiceTask, Condition};
use data::{read_manifest, OnBad};
use world::objects::{self, Confusion, ObjectSpec, CLASSES, CONFUSABLE};
use world::{ObjectsConfig, Size, Split, SplitCounts, WorldConfig, WorldIndex};

fn small(seed: u64, per_class: SplitCounts) -> WorldConfig {
    WorldConfig {
        seed,
        objects: Some(ObjectsConfig {
            per_class,
            ..ObjectsConfig::default()
        }),
        ..WorldConfig::sized(Size::Objects)
    }
}

fn all_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn facts(index: &WorldIndex, split: Split) -> Vec<ObjectSpec> {
    testkit::read_jsonl_as(
        index
            .dir
            .join("facts")
            .join(format!("objects_{}.jsonl", split.name())),
    )
}

#[test]
fn objects_world_same_seed_same_bytes_in_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small(5, SplitCounts::new(2, 1, 1));
    let t = Instant::now();
    let a = world::generate(&cfg, &tmp.path().join("a")).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "objects world of {} clips: {} files, {:.2} MB in {secs:.2} s",
        12 * 4,
        a.files,
        a.bytes as f64 / 1e6
    );
    assert!(secs < 60.0, "a small objects world took {secs:.1} s");
    let b = world::generate(&cfg, &tmp.path().join("b")).unwrap();
    let c = world::generate(&small(6, SplitCounts::new(2, 1, 1)), &tmp.path().join("c")).unwrap();
    assert_eq!(a.content_hash, b.content_hash);
    let (fa, fb, fc) = (all_files(&a.dir), all_files(&b.dir), all_files(&c.dir));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{k} differs between two runs of the same seed");
    }
    assert_ne!(a.content_hash, c.content_hash);
    let same = fa
        .iter()
        .filter(|(k, v)| (k.ends_with(".wav") || k.ends_with(".png")) && fc.get(*k) == Some(*v))
        .count();
    assert_eq!(same, 0, "a WAV or PNG file is identical under another seed");
    // 12 classes × 4 clips: a WAV and 4 frames each; 3 manifests, 3 facts files, the task,
    // world.json. Nothing of the other sets.
    assert_eq!(a.files, 48 * 5 + 3 + 3 + 1);
    assert_eq!(
        a.manifests.keys().collect::<Vec<_>>(),
        ["objects_test", "objects_train", "objects_valid"]
    );
    assert!(a.probes.is_empty());
    let info = a.objects.as_ref().unwrap();
    assert_eq!(info.classes, objects::class_names());
    assert_eq!(info.look_alike, objects::pairs(Confusion::LookAlike));
    assert_eq!(info.sound_alike, objects::pairs(Confusion::SoundAlike));
    assert_eq!((info.frames, info.fps, info.width), (4, 2.0, 56));
    // The index survives a reload and `ensure` keeps the world.
    assert_eq!(world::verify(&a.dir).unwrap(), a);
    assert_eq!(world::ensure(&cfg, &a.dir).unwrap(), a);
}

#[test]
fn objects_splits_share_no_clip_no_seed_and_no_content() {
    let tmp = tempfile::tempdir().unwrap();
    let index =
        world::generate(&small(1, SplitCounts::new(2, 1, 1)), &tmp.path().join("w")).unwrap();
    let files = all_files(&index.dir);
    let mut content: BTreeMap<Split, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut seeds: BTreeMap<Split, BTreeSet<u64>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for split in Split::ALL {
        let path = index.manifest("objects", split).unwrap();
        let (samples, _) = read_manifest(&path, OnBad::Error).unwrap();
        let bytes = content.entry(split).or_default();
        for s in &samples {
            assert!(ids.insert(s.id.clone()), "repeated id {}", s.id);
            for p in s.audio.iter().chain(&s.videos) {
                let rel = p.strip_prefix(&index.dir).unwrap();
                assert!(
                    rel.starts_with(format!("objects/{}", split.name())),
                    "{} in the {} manifest",
                    rel.display(),
                    split.name()
                );
            }
            let rel = |p: &PathBuf| {
                p.strip_prefix(&index.dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            };
            bytes.insert(files[&rel(&s.audio[0])].clone());
            for k in 0..4 {
                let frame = format!("{}/{}", rel(&s.videos[0]), objects::frame_name(k));
                bytes.insert(files[&frame].clone());
            }
        }
        let seeds = seeds.entry(split).or_default();
        for f in facts(&index, split) {
            seeds.extend([f.audio.seed, f.visual.seed]);
        }
    }
    for (i, a) in Split::ALL.iter().enumerate() {
        for b in &Split::ALL[i + 1..] {
            assert!(
                seeds[a].is_disjoint(&seeds[b]),
                "{a:?} and {b:?} share a seed"
            );
            assert!(
                content[a].is_disjoint(&content[b]),
                "{a:?} and {b:?} share a file's content"
            );
        }
    }
}

#[test]
fn objects_manifests_name_files_that_decode() {
    let tmp = tempfile::tempdir().unwrap();
    let index =
        world::generate(&small(2, SplitCounts::new(1, 1, 1)), &tmp.path().join("w")).unwrap();
    let oc = index.config.objects.clone().unwrap();
    let videos = vision::VideoProcessor::default();
    for split in Split::ALL {
        let path = index.manifest("objects", split).unwrap();
        let (samples, skipped) = read_manifest(&path, OnBad::Error).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(samples.len(), 12 * oc.per_class.get(split));
        assert_eq!(
            index.manifests[&format!("objects_{}", split.name())].lines,
            samples.len()
        );
        let facts = facts(&index, split);
        assert_eq!(facts.len(), samples.len());
        for (s, f) in samples.iter().zip(&facts) {
            assert_eq!(s.id, f.id);
            assert_eq!(s.target, f.class);
            assert_eq!(s.task.name(), "objects");
            assert!(s.prompt.is_none());
            assert_eq!((s.audio.len(), s.images.len(), s.videos.len()), (1, 0, 1));
            // The audio: 2 s at 16 kHz, as rendered from its facts (up to 16-bit rounding).
            let wav = audio::load_mono_16k(&s.audio[0]).unwrap();
            let again = f.render_audio();
            assert_eq!(wav.len(), 32_000, "{}", s.id);
            let err = wav
                .iter()
                .zip(&again)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(err < 1e-4, "{}: WAV differs from its facts by {err}", s.id);
            let peak = wav.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(peak > 0.2 && peak < 1.0, "{}: peak {peak}", s.id);
            // The view: a folder of 4 PNG frames of 56 × 56, as rendered from its facts.
            let dir = &s.videos[0];
            assert!(dir.is_dir(), "{}", dir.display());
            let frames = vision::frame_files(dir).unwrap();
            assert_eq!(frames.len(), oc.frames);
            let rendered = f.render_frames();
            for (k, file) in frames.iter().enumerate() {
                assert_eq!(
                    file.file_name().unwrap().to_str().unwrap(),
                    objects::frame_name(k)
                );
                let img = vision::decode_file(file).unwrap();
                assert_eq!((img.width(), img.height()), (56, 56));
                assert_eq!(img.as_bytes(), &rendered[k][..], "{}", file.display());
            }
            // …which the vision crate reads as a video: 4 frames, 2 temporal patches.
            let pv = videos
                .preprocess_file(dir, &vision::VideoOptions::default())
                .unwrap();
            assert_eq!(pv.grids.len(), 1);
            assert_eq!(pv.grids[0].t, 2, "{}", dir.display());
        }
    }
}

#[test]
fn objects_task_file_parses_and_covers_every_target() {
    let tmp = tempfile::tempdir().unwrap();
    let index =
        world::generate(&small(3, SplitCounts::new(1, 1, 1)), &tmp.path().join("w")).unwrap();
    let info = index.objects.as_ref().unwrap();
    assert_eq!(info.task, "objects/task.toml");
    let task = ChoiceTask::from_toml_file(&index.dir.join(&info.task)).unwrap();
    assert_eq!(task.name, "objects");
    assert_eq!(task.classes, objects::class_names());
    assert_eq!(task.options, 10);
    assert_eq!(task.seed, 3);
    assert_eq!(task.prompt, data::choice::DEFAULT_PROMPT);
    for split in Split::ALL {
        let (samples, _) =
            read_manifest(&index.manifest("objects", split).unwrap(), OnBad::Error).unwrap();
        let targets: BTreeSet<&str> = samples.iter().map(|s| s.target.as_str()).collect();
        let classes: BTreeSet<&str> = task.classes.iter().map(String::as_str).collect();
        assert_eq!(targets, classes, "{split:?}: every class, nothing else");
        let items = task.items(&samples).unwrap();
        for it in &items {
            assert_eq!(it.options.len(), 10);
            assert_eq!(it.options[it.answer], it.class);
            let heard = it.sample(&task, Condition::Audio).unwrap();
            assert!(heard.videos.is_empty() && heard.audio.len() == 1);
            let seen = it.sample(&task, Condition::Visual).unwrap();
            assert!(seen.audio.is_empty() && seen.videos.len() == 1);
            assert!(seen
                .prompt
                .unwrap()
                .starts_with("Classify the sounding object"));
        }
    }
}

#[test]
fn confusion_table_is_the_only_shared_sound_or_look() {
    let names: BTreeSet<&str> = CLASSES.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), CLASSES.len());
    for p in &CONFUSABLE {
        assert!(names.contains(p.a) && names.contains(p.b), "{p:?}");
    }
    let (mut eye, mut ear) = (0, 0);
    for (i, a) in CLASSES.iter().enumerate() {
        for b in &CLASSES[i + 1..] {
            let declared = CONFUSABLE
                .iter()
                .find(|p| (p.a, p.b) == (a.name, b.name) || (p.b, p.a) == (a.name, b.name))
                .map(|p| p.kind);
            let same_look = a.look.name == b.look.name;
            let same_sound = a.sound.name == b.sound.name;
            assert_eq!(same_look, a.look == b.look);
            assert_eq!(same_sound, a.sound == b.sound);
            assert_eq!(
                same_look,
                declared == Some(Confusion::LookAlike),
                "{} / {}",
                a.name,
                b.name
            );
            assert_eq!(
                same_sound,
                declared == Some(Confusion::SoundAlike),
                "{} / {}",
                a.name,
                b.name
            );
            assert!(
                !(same_look && same_sound),
                "{} and {} are the same class",
                a.name,
                b.name
            );
            if same_look {
                eye += 1;
                // The view moves with the rhythm: a look-alike pair shares its rhythm too.
                assert_eq!(
                    (a.sound.rate, a.sound.hit, a.sound.timing),
                    (b.sound.rate, b.sound.hit, b.sound.timing)
                );
                assert_ne!(a.sound.kind, b.sound.kind);
            }
            if same_sound {
                ear += 1;
                assert_ne!(a.look.shape, b.look.shape);
                assert_ne!(a.look.motion, b.look.motion);
                assert_ne!(a.look.colour, b.look.colour);
            }
        }
    }
    assert!(eye >= 1 && ear >= 1, "both kinds of confusion exist");
}

/// Two-sample Kolmogorov–Smirnov statistic.
fn ks(a: &[f32], b: &[f32]) -> f32 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f32::total_cmp);
    b.sort_by(f32::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0f32);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f32 / a.len() as f32 - j as f32 / b.len() as f32).abs());
    }
    d
}

/// Many clips' facts per class (drawn, not rendered).
fn many(per_class: usize) -> BTreeMap<String, Vec<ObjectSpec>> {
    let cfg = ObjectsConfig {
        per_class: SplitCounts::new(per_class, 0, 0),
        ..ObjectsConfig::default()
    };
    let mut out: BTreeMap<String, Vec<ObjectSpec>> = BTreeMap::new();
    for s in objects::specs(11, &cfg, Split::Train) {
        out.entry(s.class.clone()).or_default().push(s);
    }
    out
}

type Fact = (&'static str, fn(&ObjectSpec) -> f32);

/// What the view is drawn from.
const VIEW_FACTS: [Fact; 16] = [
    ("red", |s| s.visual.colour[0] as f32),
    ("green", |s| s.visual.colour[1] as f32),
    ("blue", |s| s.visual.colour[2] as f32),
    ("size", |s| s.visual.size),
    ("x", |s| s.visual.centre[0]),
    ("y", |s| s.visual.centre[1]),
    ("angle", |s| s.visual.angle),
    ("amplitude", |s| s.visual.amplitude),
    ("background", |s| s.visual.background[0] as f32),
    ("gradient", |s| s.visual.gradient),
    ("gain", |s| s.visual.gain),
    ("grain", |s| s.visual.grain),
    ("rate", |s| s.rate),
    ("hit", |s| s.hit),
    ("onsets", |s| s.onsets.len() as f32),
    ("first onset", |s| s.onsets.first().copied().unwrap_or(-1.0)),
];

/// What the audio is drawn from.
const SOUND_FACTS: [Fact; 9] = [
    ("pitch", |s| s.audio.pitch),
    ("peak", |s| s.audio.peak),
    ("lowpass", |s| s.audio.lowpass.unwrap_or(0.0)),
    ("highpass", |s| s.audio.highpass.unwrap_or(0.0)),
    ("floor", |s| s.audio.floor_db),
    ("rate", |s| s.rate),
    ("hit", |s| s.hit),
    ("onsets", |s| s.onsets.len() as f32),
    ("first onset", |s| s.onsets.first().copied().unwrap_or(-1.0)),
];

/// The KS statistic at which two samples of 400 differ at the 0.1 % level.
const KS_SAME: f32 = 0.138;

fn values(specs: &[ObjectSpec], f: fn(&ObjectSpec) -> f32) -> Vec<f32> {
    specs.iter().map(f).collect()
}

#[test]
fn look_alike_classes_share_the_view_and_differ_in_sound() {
    let by = many(400);
    let pairs: Vec<_> = CONFUSABLE
        .iter()
        .filter(|p| p.kind == Confusion::LookAlike)
        .collect();
    assert!(!pairs.is_empty());
    for p in pairs {
        let (a, b) = (&by[p.a], &by[p.b]);
        let shapes: BTreeSet<_> = a.iter().chain(b).map(|s| s.visual.shape).collect();
        let motions: BTreeSet<_> = a.iter().chain(b).map(|s| s.visual.motion).collect();
        assert_eq!((shapes.len(), motions.len()), (1, 1), "{} / {}", p.a, p.b);
        let look = objects::class(p.a).unwrap().look;
        for s in a.iter().chain(b) {
            assert_eq!(s.look, look.name);
            for c in 0..3 {
                let d = (s.visual.colour[c] as f32 - look.colour[c] as f32).abs();
                assert!(
                    d <= objects::COLOUR_JITTER + 1.0,
                    "{}: colour {:?}",
                    s.id,
                    s.visual.colour
                );
            }
        }
        for (name, f) in VIEW_FACTS {
            let d = ks(&values(a, f), &values(b, f));
            assert!(d < KS_SAME, "{} / {}: {name} differs (KS {d:.3})", p.a, p.b);
        }
        // Different sounds: another synthesis, and pitches that do not overlap.
        assert!(a.iter().all(|s| s.sound == a[0].sound));
        assert_ne!(a[0].sound, b[0].sound);
        assert_ne!(a[0].audio.kind, b[0].audio.kind);
        let d = ks(&values(a, |s| s.audio.pitch), &values(b, |s| s.audio.pitch));
        assert_eq!(d, 1.0, "{} / {}: pitch ranges overlap", p.a, p.b);
    }
}

#[test]
fn sound_alike_classes_share_the_sound_and_differ_in_look() {
    let by = many(400);
    let pairs: Vec<_> = CONFUSABLE
        .iter()
        .filter(|p| p.kind == Confusion::SoundAlike)
        .collect();
    assert!(!pairs.is_empty());
    for p in pairs {
        let (a, b) = (&by[p.a], &by[p.b]);
        let kinds: BTreeSet<_> = a.iter().chain(b).map(|s| s.audio.kind).collect();
        let sounds: BTreeSet<_> = a.iter().chain(b).map(|s| s.sound.clone()).collect();
        assert_eq!((kinds.len(), sounds.len()), (1, 1), "{} / {}", p.a, p.b);
        for (name, f) in SOUND_FACTS {
            let d = ks(&values(a, f), &values(b, f));
            assert!(d < KS_SAME, "{} / {}: {name} differs (KS {d:.3})", p.a, p.b);
        }
        // Different looks: shape, motion and colour all differ, clip by clip.
        for (x, y) in a.iter().zip(b) {
            assert_ne!(x.visual.shape, y.visual.shape);
            assert_ne!(x.visual.motion, y.visual.motion);
        }
        let mean = |v: &[ObjectSpec]| -> [f32; 3] {
            [0, 1, 2]
                .map(|c| v.iter().map(|s| s.visual.colour[c] as f32).sum::<f32>() / v.len() as f32)
        };
        let (ma, mb) = (mean(a), mean(b));
        let dist = (0..3).map(|c| (ma[c] - mb[c]).powi(2)).sum::<f32>().sqrt();
        assert!(
            dist > 100.0,
            "{} / {}: mean colours {ma:?} {mb:?}",
            p.a,
            p.b
        );
    }
}

#[test]
fn existing_sizes_have_no_objects_and_the_config_is_strict() {
    for size in [Size::Demo, Size::Test] {
        let cfg = WorldConfig::sized(size);
        assert!(cfg.objects.is_none());
        // Their world.json is as before: no `objects` key.
        assert!(!serde_json::to_string(&cfg).unwrap().contains("objects"));
    }
    let cfg = WorldConfig::sized(Size::Objects);
    assert!(!cfg.has_captions() && !cfg.has_probes());
    assert_eq!(cfg.objects, Some(ObjectsConfig::default()));
    cfg.validate().unwrap();
    let parsed: WorldConfig = serde_json::from_str(r#"{"seed": 4, "objects": {}}"#).unwrap();
    assert_eq!(parsed.objects, Some(ObjectsConfig::default()));
    assert!(parsed.has_captions(), "the demo's sets stay unless zeroed");
    assert!(serde_json::from_str::<WorldConfig>(r#"{"objects": {"frams": 4}}"#).is_err());
    for bad in [
        r#"{"objects": {"options": 13}}"#,
        r#"{"objects": {"options": 1}}"#,
        r#"{"objects": {"frames": 0}}"#,
        r#"{"objects": {"width": 8}}"#,
        r#"{"objects": {"seconds": 0.1}}"#,
        r#"{"objects": {"pair_cue": 2.0}}"#,
    ] {
        let cfg: WorldConfig = serde_json::from_str(bad).unwrap();
        assert!(
            matches!(cfg.validate(), Err(world::Error::Config { .. })),
            "{bad}"
        );
    }
}

#[test]
fn pair_cue_moves_only_the_second_class_of_each_pair() {
    let plain = ObjectsConfig {
        per_class: SplitCounts::new(3, 1, 1),
        ..ObjectsConfig::default()
    };
    let cued = ObjectsConfig {
        pair_cue: 0.2,
        ..plain.clone()
    };
    for split in Split::ALL {
        let (a, b) = (
            objects::specs(7, &plain, split),
            objects::specs(7, &cued, split),
        );
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            let mut expect = x.clone();
            if objects::second_of(&x.class, Confusion::LookAlike) {
                expect.visual.size *= 1.2;
                assert!((y.visual.size / x.visual.size - 1.2).abs() < 1e-5);
                // Placement may differ with the size; everything else is the same.
                expect.visual.centre = y.visual.centre;
            }
            if objects::second_of(&x.class, Confusion::SoundAlike) {
                expect.audio.pitch *= 1.2;
            }
            assert_eq!(&expect, y, "{}", x.class);
        }
    }
    let seconds: BTreeSet<&str> = CONFUSABLE.iter().map(|p| p.b).collect();
    for c in &CLASSES {
        let moved = objects::second_of(c.name, Confusion::LookAlike)
            || objects::second_of(c.name, Confusion::SoundAlike);
        assert_eq!(moved, seconds.contains(c.name));
    }
}

/// Mean and standard deviation over time of each of 80 log-mel bins, and their mean change
/// from frame to frame (as the probes' learnability test).
fn heard(x: &[f32]) -> Vec<f32> {
    let mel = audio::log_mel_spectrogram(x, 80).unwrap();
    let mut f = Vec::with_capacity(240);
    for m in 0..80 {
        let row = mel.row(m);
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let flux = row.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f32>() / n;
        f.extend([mean, var.sqrt(), flux]);
    }
    f
}

/// Crude visual statistics of a clip's frames: the mean colour of the pixels far from the
/// frame's median colour (the object), their share of the frame, their spread in x and y,
/// and how much their centroid and share change from frame to frame.
fn seen(frames: &[Vec<u8>], w: usize) -> Vec<f32> {
    let mut per_frame = Vec::new();
    for f in frames {
        let px: Vec<[f32; 3]> = f
            .chunks(3)
            .map(|c| [c[0] as f32, c[1] as f32, c[2] as f32])
            .collect();
        let med: [f32; 3] = [0, 1, 2].map(|c| {
            let mut v: Vec<f32> = px.iter().map(|p| p[c]).collect();
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        });
        let (mut n, mut col, mut sx, mut sy, mut sxx, mut syy) =
            (0f32, [0f32; 3], 0f32, 0f32, 0f32, 0f32);
        for (i, p) in px.iter().enumerate() {
            let d = (0..3).map(|c| (p[c] - med[c]).powi(2)).sum::<f32>().sqrt();
            if d > 40.0 {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                n += 1.0;
                (0..3).for_each(|c| col[c] += p[c]);
                sx += x;
                sy += y;
                sxx += x * x;
                syy += y * y;
            }
        }
        let m = n.max(1.0);
        let (mx, my) = (sx / m, sy / m);
        per_frame.push([
            col[0] / m,
            col[1] / m,
            col[2] / m,
            n / px.len() as f32,
            (sxx / m - mx * mx).max(0.0).sqrt(),
            (syy / m - my * my).max(0.0).sqrt(),
            mx,
            my,
        ]);
    }
    let k = per_frame.len() as f32;
    let mut out: Vec<f32> = (0..6)
        .map(|j| per_frame.iter().map(|f| f[j]).sum::<f32>() / k)
        .collect();
    for j in [3, 6, 7] {
        let moves = per_frame
            .windows(2)
            .map(|w| (w[1][j] - w[0][j]).abs())
            .sum::<f32>();
        out.push(moves / (k - 1.0).max(1.0));
    }
    out
}

/// Accuracy of a nearest-class-mean classifier (z-scored features) per class, and its
/// confusion counts `[truth][guess]`.
fn nearest_mean(
    train: &[(usize, Vec<f32>)],
    test: &[(usize, Vec<f32>)],
    classes: usize,
) -> Vec<Vec<usize>> {
    let d = train[0].1.len();
    let n = train.len() as f32;
    let mu: Vec<f32> = (0..d)
        .map(|j| train.iter().map(|x| x.1[j]).sum::<f32>() / n)
        .collect();
    let sd: Vec<f32> = (0..d)
        .map(|j| {
            (train.iter().map(|x| (x.1[j] - mu[j]).powi(2)).sum::<f32>() / n)
                .sqrt()
                .max(1e-6)
        })
        .collect();
    let z = |x: &[f32]| -> Vec<f32> { (0..d).map(|j| (x[j] - mu[j]) / sd[j]).collect() };
    let mut means = vec![vec![0f32; d]; classes];
    let mut counts = vec![0f32; classes];
    for (c, x) in train {
        for (m, v) in means[*c].iter_mut().zip(z(x)) {
            *m += v;
        }
        counts[*c] += 1.0;
    }
    for (m, n) in means.iter_mut().zip(&counts) {
        m.iter_mut().for_each(|v| *v /= n.max(1.0));
    }
    let mut confusion = vec![vec![0usize; classes]; classes];
    for (c, x) in test {
        let zx = z(x);
        let guess = (0..classes)
            .min_by(|&a, &b| {
                let da: f32 = means[a].iter().zip(&zx).map(|(m, v)| (m - v).powi(2)).sum();
                let db: f32 = means[b].iter().zip(&zx).map(|(m, v)| (m - v).powi(2)).sum();
                da.total_cmp(&db)
            })
            .unwrap();
        confusion[*c][guess] += 1;
    }
    confusion
}

/// Of the test clips of `a` and `b` that the classifier puts in `a` or `b`, the share put in
/// the right one.
fn pairwise(confusion: &[Vec<usize>], a: usize, b: usize) -> f32 {
    let right = confusion[a][a] + confusion[b][b];
    let swapped = confusion[a][b] + confusion[b][a];
    right as f32 / (right + swapped).max(1) as f32
}

#[test]
fn crude_learners_confuse_the_declared_pairs_in_their_modality() {
    let cfg = ObjectsConfig {
        per_class: SplitCounts::new(30, 0, 30),
        ..ObjectsConfig::default()
    };
    let index_of = |name: &str| CLASSES.iter().position(|c| c.name == name).unwrap();
    let featurize = |split: Split| {
        let specs = objects::specs(21, &cfg, split);
        let mut ears = Vec::new();
        let mut eyes = Vec::new();
        for s in &specs {
            let c = index_of(&s.class);
            ears.push((c, heard(&s.render_audio())));
            eyes.push((c, seen(&s.render_frames(), cfg.width as usize)));
        }
        (ears, eyes)
    };
    let (ear_train, eye_train) = featurize(Split::Train);
    let (ear_test, eye_test) = featurize(Split::Test);
    let ear = nearest_mean(&ear_train, &ear_test, CLASSES.len());
    let eye = nearest_mean(&eye_train, &eye_test, CLASSES.len());
    let acc = |m: &[Vec<usize>], c: usize| m[c][c] as f32 / m[c].iter().sum::<usize>() as f32;
    println!("{:<14} {:>6} {:>6}", "class", "audio", "frames");
    for (c, class) in CLASSES.iter().enumerate() {
        println!(
            "{:<14} {:>6.2} {:>6.2}",
            class.name,
            acc(&ear, c),
            acc(&eye, c)
        );
    }
    let overall = |m: &[Vec<usize>]| {
        (0..CLASSES.len()).map(|c| m[c][c]).sum::<usize>() as f32 / ear_test.len() as f32
    };
    println!(
        "overall        {:>6.2} {:>6.2}",
        overall(&ear),
        overall(&eye)
    );
    assert!(
        overall(&ear) > 0.3 && overall(&eye) > 0.3,
        "both modalities are learnable"
    );
    for p in &CONFUSABLE {
        let (a, b) = (index_of(p.a), index_of(p.b));
        let (ea, ee) = (pairwise(&ear, a, b), pairwise(&eye, a, b));
        println!(
            "{} / {} ({:?}): audio {ea:.2}, frames {ee:.2} between the two",
            p.a, p.b, p.kind
        );
        let (hard, easy) = match p.kind {
            Confusion::LookAlike => (ee, ea),
            Confusion::SoundAlike => (ea, ee),
        };
        assert!(
            hard < 0.8,
            "{} / {}: the confusable modality tells them apart ({hard:.2})",
            p.a,
            p.b
        );
        assert!(
            easy > 0.9,
            "{} / {}: the other modality does not ({easy:.2})",
            p.a,
            p.b
        );
    }
}
