//! Pair planning (targets, determinism) and rendering (SNR, clipping, files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use data::pairs::{
    event_offset, plan_lines, render_audio, render_pair_with, write_wav, RenderConfig, Templates,
    WavFormat,
};
use data::{plan_pairs, Clip, Edit, EditKind, PairConfig, Task};
use rng::Rng;

fn clip(id: &str, caption: &str) -> Clip {
    Clip {
        id: id.into(),
        path: PathBuf::from(format!("/clips/{id}.wav")),
        caption: caption.into(),
    }
}

fn bases() -> Vec<Clip> {
    vec![
        clip("b0", "A man speaks while traffic passes by."),
        clip("b1", "Rain falls on a tin roof"),
        clip("b2", "Birds chirp in the distance"),
    ]
}

fn events() -> Vec<Clip> {
    vec![
        clip("e0", "a dog barking"),
        clip("e1", "a dog growling"),
        clip("e2", "a car horn"),
    ]
}

#[test]
fn target_rules_for_each_edit() {
    let t = Templates::default();
    let base = clip("b", "A man speaks.");
    let (dog, car) = (clip("d", "A dog barking."), clip("c", "a car horn"));

    let add = t.targets(&base, &Edit::Add { event: dog.clone() });
    assert_eq!(add.before, "A man speaks.");
    assert_eq!(add.after, "A man speaks, with a dog barking");
    assert_eq!(add.adc, "The second audio adds the sound of a dog barking.");
    assert_eq!(add.acc, add.before, "add: ACC = caption before the edit");

    let rm = t.targets(&base, &Edit::Remove { event: dog.clone() });
    assert_eq!(rm.before, "A man speaks, with a dog barking");
    assert_eq!(rm.after, "A man speaks.");
    assert_eq!(
        rm.adc,
        "The second audio removes the sound of a dog barking."
    );
    assert_eq!(rm.acc, rm.after, "remove: ACC = caption after the edit");

    let rp = t.targets(
        &base,
        &Edit::Replace {
            from: dog.clone(),
            to: car,
        },
    );
    assert_eq!(rp.before, "A man speaks, with a dog barking");
    assert_eq!(rp.after, "A man speaks, with a car horn");
    assert_eq!(
        rp.adc,
        "The second audio replaces the sound of a dog barking with the sound of a car horn."
    );
    // Longest shared phrase "A man speaks with a", dangling "with a" trimmed.
    assert_eq!(rp.acc, "A man speaks");
    // Events that share words keep them: the phrase is longer than the base caption.
    let growl = clip("g", "a dog growling");
    let rp = t.targets(
        &base,
        &Edit::Replace {
            from: dog,
            to: growl,
        },
    );
    assert_eq!(rp.acc, "A man speaks with a dog");

    // The rule on its own, for captions a generator supplies.
    assert_eq!(
        t.acc(EditKind::Add, " before ", "after").as_deref(),
        Some("before")
    );
    assert_eq!(
        t.acc(EditKind::Remove, "before", " after ").as_deref(),
        Some("after")
    );
    assert_eq!(
        t.acc(
            EditKind::Replace,
            "a loud engine idles and then a horn",
            "a horn then a loud engine idles"
        )
        .as_deref(),
        Some("A loud engine idles")
    );
    assert_eq!(t.acc(EditKind::Replace, "rain", "wind"), None);
}

#[test]
fn planning_is_deterministic_and_valid() {
    let cfg = PairConfig {
        pairs_per_base: 20,
        ..PairConfig::default()
    };
    let a = plan_pairs(&bases(), &events(), &cfg, 42).unwrap();
    let b = plan_pairs(&bases(), &events(), &cfg, 42).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 60);
    let c = plan_pairs(&bases(), &events(), &cfg, 43).unwrap();
    assert_ne!(a, c);
    // A base's plans do not depend on the other bases.
    let first_only = plan_pairs(&bases()[..1], &events(), &cfg, 42).unwrap();
    assert_eq!(first_only, a[..20].to_vec());

    let mut kinds = HashMap::new();
    for p in &a {
        *kinds.entry(p.edit.kind()).or_insert(0) += 1;
        assert!((0.0..=10.0).contains(&p.snr_db));
        assert!((0.0..1.0).contains(&p.offset_frac));
        assert!(p.id.ends_with(p.edit.kind().name()));
        if let Edit::Replace { from, to } = &p.edit {
            assert_ne!(from.caption, to.caption);
        }
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // The plan serialises (for a plan file beside the rendered audio).
    let json = serde_json::to_string(&a[0]).unwrap();
    assert_eq!(serde_json::from_str::<data::PairPlan>(&json).unwrap(), a[0]);
}

#[test]
fn planning_errors() {
    let cfg = PairConfig::default();
    assert!(plan_pairs(&bases(), &[], &cfg, 0).is_err());
    let same = vec![clip("e0", "a dog barking"), clip("e1", "A dog, barking!")];
    assert!(
        plan_pairs(&bases(), &same, &cfg, 0).is_err(),
        "replace needs two labels"
    );
    let no_replace = PairConfig {
        edits: data::pairs::EditWeights {
            replace: 0.0,
            ..Default::default()
        },
        ..PairConfig::default()
    };
    assert!(plan_pairs(&bases(), &same, &no_replace, 0).is_ok());
    let bad_snr = PairConfig {
        snr_db_min: 5.0,
        snr_db_max: 1.0,
        ..PairConfig::default()
    };
    assert!(plan_pairs(&bases(), &events(), &bad_snr, 0).is_err());
    assert!(plan_pairs(&[clip("b", "...")], &events(), &cfg, 0).is_err());
}

/// Deterministic noise-like base (RMS about `amp / sqrt(3)`) and a tone event.
fn synth(c: &Clip) -> data::Result<Vec<f32>> {
    let mut rng = Rng::new(c.id.len() as u64 + c.id.bytes().map(u64::from).sum::<u64>());
    Ok(match c.id.chars().next() {
        Some('b') => (0..32_000)
            .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * 0.2)
            .collect(),
        Some('l') => (0..32_000)
            .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * 0.95)
            .collect(),
        _ => {
            let f = 200.0 + 100.0 * c.id.len() as f32;
            (0..8_000)
                .map(|i| 0.3 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin())
                .collect()
        }
    })
}

fn power(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64
}

fn load_wav(p: &Path) -> Vec<f32> {
    audio::load_mono_16k(p).unwrap()
}

#[test]
fn rendered_mix_has_the_planned_snr() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = PairConfig {
        pairs_per_base: 4,
        edits: data::pairs::EditWeights {
            add: 1.0,
            remove: 0.0,
            replace: 0.0,
        },
        snr_db_min: -10.0,
        snr_db_max: 10.0,
        ..PairConfig::default()
    };
    let plans = plan_pairs(&bases()[..1], &events(), &cfg, 5).unwrap();
    for plan in &plans {
        assert!(matches!(plan.edit, Edit::Add { .. }));
        for format in [WavFormat::Pcm16, WavFormat::Float32] {
            let rc = RenderConfig {
                format,
                ..RenderConfig::default()
            };
            let out = render_pair_with(plan, dir.path(), &rc, &mut synth).unwrap();
            assert_eq!(out.gain, 1.0);
            let (before, after) = (load_wav(&out.before), load_wav(&out.after));
            assert_eq!(before.len(), 32_000);
            let off = event_offset(32_000, 8_000, plan.offset_frac);
            let region = off..off + 8_000;
            let diff: Vec<f32> = after[region.clone()]
                .iter()
                .zip(&before[region.clone()])
                .map(|(a, b)| a - b)
                .collect();
            let snr = 10.0 * (power(&diff) / power(&before[region.clone()])).log10();
            assert!(
                (snr - plan.snr_db).abs() < 0.1,
                "{format:?}: {snr} vs {}",
                plan.snr_db
            );
            // Outside the event the two clips are the same.
            assert!(before[..off]
                .iter()
                .zip(&after[..off])
                .all(|(a, b)| (a - b).abs() < 1e-4));
        }
    }
}

#[test]
fn remove_is_add_reversed_and_replace_mixes_both() {
    let plans = plan_pairs(&bases()[..1], &events(), &PairConfig::default(), 1).unwrap();
    let mut plan = plans[0].clone();
    let ev = clip("e2", "a car horn");
    plan.edit = Edit::Add { event: ev.clone() };
    let add = render_audio(&plan, &RenderConfig::default(), &mut synth).unwrap();
    plan.edit = Edit::Remove { event: ev.clone() };
    let rm = render_audio(&plan, &RenderConfig::default(), &mut synth).unwrap();
    assert_eq!(
        (add.before.clone(), add.after.clone()),
        (rm.after, rm.before)
    );
    plan.edit = Edit::Replace {
        from: ev,
        to: clip("e10", "a bell"),
    };
    let rp = render_audio(&plan, &RenderConfig::default(), &mut synth).unwrap();
    assert_eq!(rp.before, add.after);
    assert_ne!(rp.after, add.before);
}

#[test]
fn loud_mixes_are_scaled_together() {
    let plans = plan_pairs(
        &[clip("loud", "Loud noise")],
        &events(),
        &PairConfig::default(),
        3,
    )
    .unwrap();
    let mut plan = plans[0].clone();
    plan.edit = Edit::Add {
        event: clip("e0", "a dog barking"),
    };
    plan.snr_db = 6.0;
    let r = render_audio(&plan, &RenderConfig::default(), &mut synth).unwrap();
    assert!(r.gain < 1.0);
    let peak = r
        .before
        .iter()
        .chain(&r.after)
        .fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak <= 0.99 + 1e-6, "{peak}");
    let base = synth(&plan.base).unwrap();
    assert!(r
        .before
        .iter()
        .zip(&base)
        .all(|(a, b)| (a - b * r.gain).abs() < 1e-6));
}

#[test]
fn manifest_lines_of_a_pair() {
    let dir = tempfile::tempdir().unwrap();
    let plans = plan_pairs(&bases()[..1], &events(), &PairConfig::default(), 9).unwrap();
    let out = render_pair_with(
        &plans[0],
        &dir.path().join("wav"),
        &RenderConfig::default(),
        &mut synth,
    )
    .unwrap();
    let [adc, acc] = plan_lines(&plans[0], &out, dir.path()).unwrap();
    assert_eq!((adc.task.clone(), acc.task.clone()), (Task::Adc, Task::Acc));
    let stem = format!("wav/{}", plans[0].id);
    assert_eq!(
        adc.audio,
        vec![format!("{stem}_before.wav"), format!("{stem}_after.wav")]
    );
    assert_eq!(adc.target, plans[0].targets.adc);
    assert_eq!(acc.target, plans[0].targets.acc);
    assert_eq!(acc.id, Some(format!("{}-acc", plans[0].id)));
    // Writing a WAV by hand gives what the audio crate reads back.
    let p = dir.path().join("x.wav");
    write_wav(&p, &[0.0, 0.5, -0.25], WavFormat::Float32).unwrap();
    assert_eq!(load_wav(&p), vec![0.0, 0.5, -0.25]);
}
