//! Whole worlds on disk: determinism (same seed, same bytes), disjoint splits, manifests the
//! data crate reads, pairs rendered from the same audio as their AC clips, and `ensure`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use data::{read_manifest, OnBad, Task};
use world::corpus::{edit_events, EventClip, PairFacts};
use world::probes::ProbeSpec;
use world::scene::SceneSpec;
use world::{Size, Split, WorldConfig, WorldIndex};

fn test_cfg(seed: u64) -> WorldConfig {
    WorldConfig {
        seed,
        ..WorldConfig::sized(Size::Test)
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

fn facts<T: serde::de::DeserializeOwned>(index: &WorldIndex, what: &str, split: Split) -> Vec<T> {
    let p = index
        .dir
        .join("facts")
        .join(format!("{what}_{}.jsonl", split.name()));
    testkit::read_jsonl_as(p)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = world::generate(&test_cfg(5), &tmp.path().join("a")).unwrap();
    let b = world::generate(&test_cfg(5), &tmp.path().join("b")).unwrap();
    let c = world::generate(&test_cfg(6), &tmp.path().join("c")).unwrap();
    assert_eq!(a.content_hash, b.content_hash);
    let (fa, fb) = (all_files(&a.dir), all_files(&b.dir));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{k} differs between two runs of the same seed");
    }
    assert_ne!(a.content_hash, c.content_hash);
    let fc = all_files(&c.dir);
    let same = fa
        .iter()
        .filter(|(k, v)| k.ends_with(".wav") && fc.get(*k) == Some(*v))
        .count();
    assert_eq!(same, 0, "a WAV file is identical under another seed");
    // Nothing but the world is left beside it (the temporary build directory is renamed).
    let names: BTreeSet<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c"].map(String::from).into());
}

#[test]
fn splits_share_no_clip_and_no_event_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let index = world::generate(&test_cfg(1), &tmp.path().join("w")).unwrap();
    let files = all_files(&index.dir);
    let mut audio_by_split: BTreeMap<Split, BTreeSet<PathBuf>> = BTreeMap::new();
    let mut seeds_by_split: BTreeMap<Split, BTreeSet<u64>> = BTreeMap::new();
    for split in Split::ALL {
        let audio = audio_by_split.entry(split).or_default();
        for name in index.manifests.keys().filter(|k| k.ends_with(split.name())) {
            let (samples, _) =
                read_manifest(&index.dir.join(&index.manifests[name].path), OnBad::Error).unwrap();
            for s in samples {
                for p in s.audio {
                    let rel = p.strip_prefix(&index.dir).unwrap().to_path_buf();
                    // Every file of a split lives under that split's directories.
                    assert!(
                        rel.components().any(|c| c.as_os_str() == split.name()),
                        "{} in a {} manifest",
                        rel.display(),
                        split.name()
                    );
                    audio.insert(rel);
                }
            }
        }
        let seeds = seeds_by_split.entry(split).or_default();
        let scenes: Vec<SceneSpec> = facts(&index, "ac", split);
        let events: Vec<EventClip> = facts(&index, "events", split);
        for s in &scenes {
            seeds.extend(s.events().map(|p| p.event.seed));
            seeds.insert(s.floor_seed);
        }
        seeds.extend(events.iter().map(|e| e.spec.seed));
        for task in world::ProbeTask::ALL {
            let p: Vec<ProbeSpec> = facts(&index, task.name(), split);
            seeds.extend(p.iter().map(|x| x.seed));
        }
        // Pairs use only their own split's bases and events.
        let ids: BTreeSet<&str> = scenes
            .iter()
            .map(|s| s.id.as_str())
            .chain(events.iter().map(|e| e.id.as_str()))
            .collect();
        let pairs: Vec<PairFacts> = facts(&index, "pairs", split);
        assert_eq!(pairs.len(), index.config.pairs.get(split));
        for p in &pairs {
            assert!(ids.contains(p.plan.base.id.as_str()));
            for e in edit_events(&p.plan.edit) {
                assert!(ids.contains(e.id.as_str()), "{} uses {}", p.plan.id, e.id);
            }
        }
    }
    for (i, a) in Split::ALL.iter().enumerate() {
        for b in &Split::ALL[i + 1..] {
            let (x, y) = (&audio_by_split[a], &audio_by_split[b]);
            assert!(x.is_disjoint(y), "{a:?} and {b:?} share files");
            assert!(
                seeds_by_split[a].is_disjoint(&seeds_by_split[b]),
                "{a:?} and {b:?} share an event instance"
            );
            // …nor the same audio under another name.
            let bytes = |s: &BTreeSet<PathBuf>| -> BTreeSet<Vec<u8>> {
                s.iter()
                    .map(|p| files[&p.to_string_lossy().into_owned()].clone())
                    .collect()
            };
            assert!(
                bytes(x).is_disjoint(&bytes(y)),
                "{a:?} and {b:?} share audio content"
            );
        }
    }
}

#[test]
fn manifests_read_back_with_the_data_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let index = world::generate(&test_cfg(2), &tmp.path().join("w")).unwrap();
    assert_eq!(index.manifests.len(), 21);
    let mut ids = BTreeSet::new();
    for (name, m) in &index.manifests {
        let (samples, skipped) = read_manifest(&index.dir.join(&m.path), OnBad::Error).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(samples.len(), m.lines, "{name}");
        assert!(data::manifest::missing_media(&samples).is_empty(), "{name}");
        let task = name.split('_').next().unwrap();
        for s in &samples {
            assert!(ids.insert(s.id.clone()), "duplicate id {}", s.id);
            assert_eq!(s.task.name(), task);
            let clips = match &s.task {
                Task::Ac => {
                    assert_eq!(s.references.len(), 3, "{}", s.id);
                    1
                }
                Task::Acc | Task::Adc => 2,
                Task::Custom(_) => 1,
            };
            assert_eq!(s.audio.len(), clips, "{}", s.id);
            for a in &s.audio {
                assert!(!audio::load_mono_16k(a).unwrap().is_empty());
            }
        }
        // Probe manifests resolve against the data crate's built-in tasks (labels, order,
        // prompt).
        if let Some(ct) = data::classify::ClassTask::builtin(task) {
            let n = samples.len();
            let (labelled, skipped) =
                data::classify::label_samples(&ct, samples, OnBad::Error).unwrap();
            assert!(skipped.is_empty());
            assert_eq!(labelled.len(), n);
            assert_eq!(index.probes[task].labels, ct.labels);
            assert_eq!(index.probes[task].prompt, ct.rendered_prompt());
        }
    }
    let cfg = &index.config;
    assert_eq!(
        index.manifest("ac", Split::Train).unwrap(),
        index.dir.join("ac_train.jsonl")
    );
    assert_eq!(index.manifests["vsc_test"].lines, 6 * cfg.probes.test);
    assert_eq!(index.manifests["mic_train"].lines, 11 * cfg.probes.train);
    assert_eq!(index.manifests["acc_valid"].lines, cfg.pairs.valid);
}

#[test]
fn pair_audio_is_the_ac_audio_and_targets_follow_the_pair_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let index = world::generate(&test_cfg(3), &tmp.path().join("w")).unwrap();
    let t = &index.config.pair_builder.templates;
    for split in Split::ALL {
        let scenes: BTreeMap<String, SceneSpec> = facts::<SceneSpec>(&index, "ac", split)
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        for p in facts::<PairFacts>(&index, "pairs", split) {
            let plan = &p.plan;
            let base = &scenes[&plan.base.id];
            assert_eq!(plan.base.caption, base.captions[0]);
            assert_eq!(plan.targets, t.targets(&plan.base, &plan.edit));
            let dir = index.dir.join("pairs").join(split.name());
            let before =
                audio::load_mono_16k(&dir.join(format!("{}_before.wav", plan.id))).unwrap();
            let after = audio::load_mono_16k(&dir.join(format!("{}_after.wav", plan.id))).unwrap();
            let ac =
                audio::load_mono_16k(&index.dir.join(world::corpus::clip_path(split, &base.id)))
                    .unwrap();
            let clean = match plan.edit.kind() {
                data::EditKind::Add => Some(&before),
                data::EditKind::Remove => Some(&after),
                data::EditKind::Replace => None,
            };
            assert_eq!(before.len(), ac.len());
            if let Some(clean) = clean {
                // The unedited side is the AC clip (up to the pair's common gain and 16-bit rounding).
                let peak_ac = ac.iter().fold(0f32, |m, v| m.max(v.abs()));
                let gain = clean.iter().fold(0f32, |m, v| m.max(v.abs())) / peak_ac;
                let err = clean
                    .iter()
                    .zip(&ac)
                    .fold(0f32, |m, (a, b)| m.max((a - gain * b).abs()));
                assert!(err < 2e-4, "{}: differs from {} by {err}", plan.id, base.id);
                assert_eq!(
                    plan.targets.acc, base.captions[0],
                    "{}: ACC of add/remove",
                    plan.id
                );
            }
            assert!(!p.acc_references.contains(&plan.targets.acc));
        }
    }
}

#[test]
fn ensure_reuses_matching_worlds_and_replaces_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("w");
    let a = world::ensure(&test_cfg(4), &dir).unwrap();
    let stamp = fs::metadata(dir.join(world::INDEX_FILE))
        .unwrap()
        .modified()
        .unwrap();
    let again = world::ensure(&test_cfg(4), &dir).unwrap();
    assert_eq!(again, a);
    assert_eq!(
        fs::metadata(dir.join(world::INDEX_FILE))
            .unwrap()
            .modified()
            .unwrap(),
        stamp,
        "regenerated a matching world"
    );
    assert_eq!(world::verify(&dir).unwrap().content_hash, a.content_hash);

    // A changed file is caught by verify; a missing one makes ensure regenerate.
    let manifest = dir.join("ac_train.jsonl");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("ac-train", "ac-TRAIN")).unwrap();
    assert!(world::verify(&dir).is_err());
    fs::remove_file(dir.join("vsc_test.jsonl")).unwrap();
    let b = world::ensure(&test_cfg(4), &dir).unwrap();
    assert_eq!(b.content_hash, a.content_hash);
    assert!(dir.join("vsc_test.jsonl").is_file());

    // Another config replaces the world.
    let c = world::ensure(&test_cfg(9), &dir).unwrap();
    assert_ne!(c.content_hash, a.content_hash);
    assert_eq!(world::load(&dir).unwrap().config.seed, 9);

    // A directory that is not a world is never replaced.
    let foreign = tmp.path().join("mine");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("notes.txt"), "keep me").unwrap();
    let err = world::ensure(&test_cfg(4), &foreign).unwrap_err();
    assert!(matches!(err, world::Error::NotAWorld { .. }), "{err}");
    assert_eq!(
        fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn config_is_strict_and_validated() {
    let cfg: WorldConfig = serde_json::from_str(r#"{"seed": 3}"#).unwrap();
    assert_eq!(cfg.seed, 3);
    assert_eq!(cfg.ac, WorldConfig::default().ac);
    assert!(serde_json::from_str::<WorldConfig>(r#"{"sede": 3}"#).is_err());
    let bad = WorldConfig {
        min_seconds: 6.0,
        ..test_cfg(0)
    };
    assert!(matches!(bad.validate(), Err(world::Error::Config { .. })));
    let bad = WorldConfig {
        captions_per_clip: 0,
        ..test_cfg(0)
    };
    assert!(bad.validate().is_err());
}
