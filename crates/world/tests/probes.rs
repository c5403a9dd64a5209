//! The probe sets are learnable but not trivial: a nearest-class-mean classifier on
//! time-averaged log-mel statistics (the crudest learner there is) must beat chance clearly
//! on held-out examples. Accuracies are printed (`-- --nocapture`) to judge difficulty.

use rng::Rng;
use world::probes::{ProbeSpec, ProbeTask};

/// Mean and standard deviation over time of each of 80 log-mel bins, plus the mean absolute
/// frame-to-frame change of each bin (a crude rhythm/onset cue).
fn features(x: &[f32]) -> Vec<f32> {
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

fn examples(task: ProbeTask, per_class: usize, seed: u64) -> Vec<(usize, Vec<f32>)> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for k in 0..per_class {
        for (li, label) in task.labels().iter().enumerate() {
            let spec = ProbeSpec {
                id: format!("x{k}-{li}"),
                task,
                label: label.to_string(),
                seed: rng.next_u64(),
            };
            out.push((li, features(&spec.render())));
        }
    }
    out
}

/// Accuracy of nearest class mean (features standardised on the training set).
fn nearest_mean(task: ProbeTask, train: usize, test: usize) -> f64 {
    let tr = examples(task, train, 1);
    let te = examples(task, test, 2);
    let d = tr[0].1.len();
    let n = tr.len() as f32;
    let mu: Vec<f32> = (0..d)
        .map(|j| tr.iter().map(|e| e.1[j]).sum::<f32>() / n)
        .collect();
    let sd: Vec<f32> = (0..d)
        .map(|j| {
            let v = tr.iter().map(|e| (e.1[j] - mu[j]).powi(2)).sum::<f32>() / n;
            v.sqrt().max(1e-3)
        })
        .collect();
    let z = |f: &[f32]| -> Vec<f32> { (0..d).map(|j| (f[j] - mu[j]) / sd[j]).collect() };
    let k = task.labels().len();
    let mut centroids = vec![vec![0.0f32; d]; k];
    for (c, f) in &tr {
        for (a, b) in centroids[*c].iter_mut().zip(z(f)) {
            *a += b / train as f32;
        }
    }
    let correct = te
        .iter()
        .filter(|(c, f)| {
            let zf = z(f);
            let best = (0..k)
                .min_by(|&a, &b| {
                    let da: f32 = centroids[a]
                        .iter()
                        .zip(&zf)
                        .map(|(x, y)| (x - y).powi(2))
                        .sum();
                    let db: f32 = centroids[b]
                        .iter()
                        .zip(&zf)
                        .map(|(x, y)| (x - y).powi(2))
                        .sum();
                    da.total_cmp(&db)
                })
                .unwrap();
            best == *c
        })
        .count();
    correct as f64 / te.len() as f64
}

#[test]
fn probes_are_learnable_beyond_chance() {
    for task in ProbeTask::ALL {
        let acc = nearest_mean(task, 12, 8);
        let chance = 1.0 / task.labels().len() as f64;
        println!(
            "{}: nearest-mean accuracy {acc:.2} (chance {chance:.2})",
            task.name()
        );
        assert!(
            acc > 2.0 * chance,
            "{}: {acc} vs chance {chance}",
            task.name()
        );
    }
}

#[test]
fn probe_examples_are_deterministic_and_sized() {
    for task in ProbeTask::ALL {
        for (li, label) in task.labels().iter().enumerate() {
            let spec = ProbeSpec {
                id: "x".into(),
                task,
                label: label.to_string(),
                seed: 1000 + li as u64,
            };
            let a = spec.render();
            assert_eq!(a, spec.render(), "{} {label}", task.name());
            assert_eq!(a.len(), (task.seconds() * 16_000.0).round() as usize);
            let peak = a.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(a.iter().all(|v| v.is_finite()), "{label}");
            assert!(
                (0.2..=0.99).contains(&peak),
                "{} {label}: peak {peak}",
                task.name()
            );
        }
    }
}
