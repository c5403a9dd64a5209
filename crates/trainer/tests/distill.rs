//! Distillation end to end on the tiny audio model: a multiple-choice set (`choice`), a
//! teacher file over its options, `[distill]` on selected classes; the term is logged, resume
//! is bit-exact and refuses another teacher, and bad settings are named.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use data::choice::{ChoiceTask, Condition, TeacherFile, TeacherItem, TEACHER_FORMAT};
use finetune::config::Config;
use testkit::{fixtures, max_abs_diff, scratch};

const CLIPS: [(&str, &str); 3] = [
    ("speech.wav", "voice"),
    ("tone.wav", "tone"),
    ("noise_pluck.wav", "pluck"),
];

/// A manifest of six labelled clips, the task file, a teacher file leaning to the right
/// letter, and a config distilling on `classes`.
fn setup(dir: &Path, distill: &str) -> PathBuf {
    let clips = fixtures().join("tiny/clips");
    let mut lines = String::new();
    for rep in 0..2 {
        for (i, (f, class)) in CLIPS.iter().enumerate() {
            lines.push_str(&format!(
                "{{\"id\": \"c{rep}{i}\", \"audio\": \"{}\", \"target\": \"{class}\"}}\n",
                clips.join(f).display()
            ));
        }
    }
    std::fs::write(dir.join("objects.jsonl"), lines).unwrap();
    let task_toml = "name = \"objects\"\nclasses = [\"voice\", \"tone\", \"pluck\", \"bell\"]\noptions = 3\nseed = 1\n";
    std::fs::write(dir.join("objects.toml"), task_toml).unwrap();
    let task: ChoiceTask = toml::from_str(task_toml).unwrap();
    let (samples, _) = data::read_manifest_with(
        &dir.join("objects.jsonl"),
        &data::ReadOptions {
            on_bad: data::OnBad::Error,
            default_task: Some(data::Task::Custom("objects".into())),
        },
    )
    .unwrap();
    let items = task.items(&samples).unwrap();
    let teacher = TeacherFile {
        format: TEACHER_FORMAT,
        teacher: "a visual teacher".into(),
        condition: Condition::Visual,
        task: task.clone(),
        letters: task.letters(),
        items: items
            .iter()
            .map(|it| {
                let mut probs = vec![0.15; 3];
                probs[it.answer] = 0.7;
                TeacherItem::new(&task, it, probs)
            })
            .collect(),
    };
    teacher.save(&dir.join("teacher.json")).unwrap();
    let cfg = format!(
        r#"
[model]
source = "{model}"
[lora]
r = 4
alpha = 8
dropout = 0.1
[train]
lr = 1e-3
steps = 4
grad_accum = 2
micro_batch = 2
seed = 3
[[data.train]]
task = "objects"
manifest = "{dir}/objects.jsonl"
choice = "{dir}/objects.toml"
condition = "audio"
[distill]
task = "objects"
teacher = "{dir}/teacher.json"
{distill}
[output]
dir = "{dir}/run"
save_every = 2
"#,
        model = fixtures().join("tiny/model").display(),
        dir = dir.display(),
    );
    let p = dir.join("cfg.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn metrics(run: &Path) -> Vec<serde_json::Value> {
    testkit::read_jsonl(run.join("metrics.jsonl"))
}

#[test]
fn distillation_trains_logs_and_resumes_exactly() {
    let never = AtomicBool::new(false);
    let opts = "loss = \"kl\"\ntemperature = 2.0\nweight = 0.5\nclasses = [\"voice\", \"tone\"]";
    let a = scratch("distill-straight");
    let cfg = Config::load(&setup(&a, opts), &[]).unwrap();
    trainer::experiment::train(&cfg, &never, None).unwrap();
    let m = metrics(&a.join("run"));
    let extra: Vec<f64> = m.iter().filter_map(|r| r["extra_loss"].as_f64()).collect();
    assert!(
        !extra.is_empty(),
        "no step logged a distillation term: {m:?}"
    );
    assert!(
        extra.iter().all(|x| x.is_finite() && *x >= 0.0),
        "{extra:?}"
    );

    let b = scratch("distill-resumed");
    let cfg_b = Config::load(&setup(&b, opts), &[]).unwrap();
    let first = trainer::experiment::train(&cfg_b, &never, Some(2)).unwrap();
    assert!(first.interrupted);
    trainer::experiment::train(&cfg_b, &never, None).unwrap();
    let strip = |v: Vec<serde_json::Value>| -> Vec<String> {
        v.iter()
            .map(|r| format!("{} {} {}", r["step"], r["loss"], r["extra_loss"]))
            .collect()
    };
    assert_eq!(strip(m), strip(metrics(&b.join("run"))));
    let wa = testkit::load_tensors(a.join("run/adapter/adapter_model.safetensors"));
    let wb = testkit::load_tensors(b.join("run/adapter/adapter_model.safetensors"));
    for (k, t) in &wa {
        assert_eq!(max_abs_diff(t, &wb[k]), 0.0, "{k} differs after resume");
    }

    // Another teacher (same file name, other probabilities) cannot continue the run.
    let c = scratch("distill-changed");
    let cfg_c = Config::load(&setup(&c, opts), &[]).unwrap();
    trainer::experiment::train(&cfg_c, &never, Some(2)).unwrap();
    let path = c.join("teacher.json");
    let mut t = TeacherFile::load(&path).unwrap();
    t.items[0].probs = vec![0.5, 0.25, 0.25];
    t.save(&path).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg_c, &never, None).unwrap_err()
    );
    assert!(e.contains("distillation plan"), "{e}");
}

#[test]
fn the_label_baseline_and_distillation_move_the_weights_differently() {
    let never = AtomicBool::new(false);
    let run = |name: &str, opts: &str| {
        let d = scratch(name);
        let cfg = Config::load(&setup(&d, opts), &["train.steps=2".into()]).unwrap();
        trainer::experiment::train(&cfg, &never, None).unwrap();
        testkit::load_tensors(d.join("run/adapter/adapter_model.safetensors"))
    };
    let none = run("distill-w0", "weight = 0.0");
    let kl = run("distill-kl", "loss = \"kl\"");
    let label = run("distill-label", "loss = \"label\"");
    let key = "base_model.model.language_model.model.layers.0.self_attn.q_proj.lora_B.weight";
    assert!(
        max_abs_diff(&none[key], &kl[key]) > 0.0,
        "the KL term changed nothing"
    );
    assert!(max_abs_diff(&kl[key], &label[key]) > 0.0);
}

#[test]
fn bad_distillation_settings_are_named() {
    let d = scratch("distill-bad");
    let p = setup(&d, "classes = [\"spaceship\"]");
    let cfg = Config::load(&p, &[]).unwrap();
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("spaceship"), "{e}");
    let e = Config::load(&p, &["distill.task=\"other\"".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("distill.task"), "{e}");
    let e = Config::load(&p, &["distill.temperature=0.0".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("distill.temperature"), "{e}");
    // A teacher file for another task seed does not match the student's questions.
    let e = {
        let cfg = Config::load(&p, &[]).unwrap();
        std::fs::write(
            d.join("objects.toml"),
            "name = \"objects\"\nclasses = [\"voice\", \"tone\", \"pluck\", \"bell\"]\noptions = 3\nseed = 2\n",
        )
        .unwrap();
        let mut cfg = cfg;
        cfg.distill.as_mut().unwrap().classes = None;
        format!(
            "{:#}",
            trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
        )
    };
    assert!(
        e.contains("teacher.json") && e.contains("regenerate"),
        "{e}"
    );
}

/// Both directions' machinery: the tiny Qwen2-VL, in process, answers every question from the
/// images (visual condition) once before training; the tiny Qwen2-Audio student learns from
/// the audio of the same items. The teacher's answers are recorded in the run directory and
/// reused on resume.
#[test]
fn an_in_process_visual_teacher_teaches_the_audio_student() {
    let d = scratch("distill-online");
    let p = setup(&d, "teacher_condition = \"visual\"\nloss = \"jsd\"");
    // Give every item an image beside its clip, and drop the file teacher.
    let img = fixtures().join("vision/images/small.png");
    let lines: String = std::fs::read_to_string(d.join("objects.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            l.replacen(
                ", \"target\"",
                &format!(", \"images\": \"{}\", \"target\"", img.display()),
                1,
            ) + "\n"
        })
        .collect();
    std::fs::write(d.join("objects.jsonl"), lines).unwrap();
    let cfg = std::fs::read_to_string(&p).unwrap().replace(
        &format!("teacher = \"{}/teacher.json\"", d.display()),
        &format!(
            "teacher_model = \"{}\"",
            fixtures().join("vision/model").display()
        ),
    );
    std::fs::write(&p, cfg).unwrap();
    let cfg = Config::load(&p, &[]).unwrap();
    let never = AtomicBool::new(false);
    trainer::experiment::train(&cfg, &never, Some(2)).unwrap();
    let recorded = d.join("run/teacher.json");
    let t = TeacherFile::load(&recorded).unwrap();
    assert_eq!(t.items.len(), 6);
    assert_eq!(t.condition, Condition::Visual);
    assert!(t.teacher.contains("vision/model"), "{}", t.teacher);
    let first = std::fs::read(&recorded).unwrap();
    // Resume: the recorded answers are reused as they are.
    let out = trainer::experiment::train(&cfg, &never, None).unwrap();
    assert_eq!(out.steps_done, 4);
    assert_eq!(std::fs::read(&recorded).unwrap(), first);
    let extra: Vec<f64> = metrics(&d.join("run"))
        .iter()
        .filter_map(|r| r["extra_loss"].as_f64())
        .collect();
    assert!(!extra.is_empty());
}

/// The forgetting guard: `teacher_model = "base"` records the student's own answers before
/// its first step — equal to the base checkpoint's, computed here independently — and trains
/// towards them beside the rest of the mixture.
#[test]
fn the_forgetting_guards_teacher_is_the_base_model() {
    use candle_core::{DType, Device, D};
    let d = scratch("distill-guard");
    let p = setup(
        &d,
        "teacher_model = \"base\"\nteacher_condition = \"audio\"",
    );
    let cfg = std::fs::read_to_string(&p)
        .unwrap()
        .replace(&format!("teacher = \"{}/teacher.json\"\n", d.display()), "");
    std::fs::write(&p, cfg).unwrap();
    let cfg = Config::load(&p, &["train.steps=2".into()]).unwrap();
    trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap();
    let t = TeacherFile::load(&d.join("run/teacher.json")).unwrap();

    let base = model::Model::from_source(
        fixtures().join("tiny/model").to_str().unwrap(),
        &Device::Cpu,
        DType::F32,
        None,
    )
    .unwrap();
    let task = ChoiceTask::from_toml_file(&d.join("objects.toml")).unwrap();
    let opts = data::ReadOptions {
        on_bad: data::OnBad::Error,
        default_task: Some(data::Task::Custom("objects".into())),
    };
    let (samples, _) = data::read_manifest_with(&d.join("objects.jsonl"), &opts).unwrap();
    let items = task.items(&samples).unwrap();
    let letters = processor::letter_tokens(&base, &task.letters()).unwrap();
    let prompts = data::Prompts::default();
    let video = vision::VideoOptions::default();
    let proc = processor::Processor {
        model: &base,
        prompts: &prompts,
        long_audio: audio::LongAudio::Truncate,
        cache: None,
        video: &video,
    };
    let ids = candle_core::Tensor::new(letters.as_slice(), &Device::Cpu).unwrap();
    for (it, rec) in items.iter().zip(&t.items) {
        assert_eq!(rec.id, it.sample.id);
        let s = it.sample(&task, Condition::Audio).unwrap();
        let seq = proc.prompt(&s).unwrap().seq;
        let l = base
            .last_logits(&[seq])
            .unwrap()
            .index_select(&ids, 1)
            .unwrap();
        let want: Vec<f32> = candle_nn::ops::softmax(&l, D::Minus1)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        for (a, b) in rec.probs.iter().zip(&want) {
            assert!(
                (a - *b as f64).abs() < 1e-6,
                "{}: {:?} vs {want:?}",
                rec.id,
                rec.probs
            );
        }
    }
    // LoRA that does not start from zero is not the base.
    let cfg = Config::load(
        &p,
        &[format!(
            "lora.init_from=\"{}\"",
            fixtures().join("tiny/adapter").display()
        )],
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(d.join("run"));
    let e = format!(
        "{:#}",
        trainer::experiment::train(&cfg, &AtomicBool::new(false), None).unwrap_err()
    );
    assert!(e.contains("start from zero"), "{e}");
}

/// The offline teacher (`eval choice --teacher-out`) and the in-process one (`run_teacher`)
/// give the same answers for the same model and items: one question, one answer, whichever
/// path asked it.
#[test]
fn offline_and_in_process_teachers_agree() {
    use candle_core::{DType, Device};
    let d = scratch("distill-agree");
    setup(&d, "");
    let m = model::Model::from_source(
        fixtures().join("tiny/model").to_str().unwrap(),
        &Device::Cpu,
        DType::F32,
        None,
    )
    .unwrap();
    let task = ChoiceTask::from_toml_file(&d.join("objects.toml")).unwrap();
    let (items, skipped) =
        eval::choice::read_items(&task, &d.join("objects.jsonl"), data::OnBad::Error).unwrap();
    let opts = eval::choice::ChoiceOptions {
        condition: Condition::Audio,
        batch_size: 4,
        ..Default::default()
    };
    let report = eval::choice::choice_items(&m, &task, &items, skipped, "objects", &opts).unwrap();
    let offline = eval::choice::teacher_file(&report, &task).unwrap();
    let (prompts, video) = (data::Prompts::default(), vision::VideoOptions::default());
    let p = processor::Processor {
        model: &m,
        prompts: &prompts,
        long_audio: audio::LongAudio::Truncate,
        cache: None,
        video: &video,
    };
    let online =
        finetune::distill::run_teacher(&p, "tiny", Condition::Audio, &task, &items, 3).unwrap();
    assert_eq!(offline.items.len(), online.items.len());
    for (a, b) in offline.items.iter().zip(&online.items) {
        assert_eq!((&a.id, &a.options), (&b.id, &b.options));
        for (x, y) in a.probs.iter().zip(&b.probs) {
            assert!(
                (x - y).abs() < 1e-5,
                "{}: {:?} vs {:?}",
                a.id,
                a.probs,
                b.probs
            );
        }
    }
}
