//! Multiple-choice recognition tasks, the second seed's form (arXiv 2505.06803): a clip whose
//! target is its class becomes a question with lettered options — the true class plus
//! distractors, 10 by default, A–J — answered with a letter.
//!
//! ```text
//! {"task": "objects", "audio": "x.wav", "videos": "x.mp4", "target": "police car"}
//!   ──ChoiceTask::items──▶ options [ice cream van, police car, …] (seeded), answer B
//!   ──ChoiceItem::sample(condition)──▶ prompt "Classify the sounding object into one of the
//!        categories below:\nA. ice cream van\nB. police car\n…", target "B", media of the
//!        condition (audio only, visual only, both)
//! ```
//!
//! **The options are ours** (the paper does not publish how it drew them): for each item the
//! distractors are drawn uniformly without replacement from the other classes, and the correct
//! letter uniformly among the letters, by an RNG seeded with the task's seed and the item's id
//! (or, with `order = "fixed"`, the options in the class list's order: with as many options
//! as classes, a class always has the same letter).
//! An item's question is a pure function of (seed, id, class, class list): it does not depend
//! on the manifest's order or on the other items, so a teacher file made on a superset of the
//! student's items still matches. Letters are balanced in expectation (each correct with
//! probability 1/n; the test bounds the spread). The prompt wording is the paper's question
//! followed by our instruction to answer with a letter; configurable
//! ([`ChoiceTask::prompt`]).
//!
//! A teacher's answers over the options ([`TeacherFile`]) are keyed by item id and carry the
//! option order they were given, so a student trained from the file is checked to see the
//! same question.
//!
//! Which classes to distil on is a [`DifficultyFile`] (written by `eval difficulty`, whose
//! module `eval::difficulty` documents the model): every class with its predicted
//! difficulty, rank and signals, the [`Selection`] rule, and the selected names; the
//! trainer reads it with [`DifficultyFile::load`] and [`DifficultyFile::selected_classes`].

use std::collections::BTreeMap;
use std::path::Path;

use rng::{derive_seed, mix64, Rng};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::Sample;

/// Option letters, in order.
pub const LETTERS: [&str; 26] = [
    "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S",
    "T", "U", "V", "W", "X", "Y", "Z",
];

/// The placeholder in [`ChoiceTask::prompt`] replaced by the lettered options, one per line.
pub const OPTIONS_PLACEHOLDER: &str = "{options}";

/// The paper's question, then our instruction to answer with a letter.
pub const DEFAULT_PROMPT: &str = "Classify the sounding object into one of the categories \
below:\n{options}\nAnswer with the option's letter from the given choices directly.";

fn default_options() -> usize {
    10
}
fn default_prompt() -> String {
    DEFAULT_PROMPT.into()
}

/// Which of an item's media the model is given.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// The audio only (images and videos dropped).
    Audio,
    /// The images and videos only (audio dropped): the silent video.
    Visual,
    /// Everything the item has (a model with both towers).
    #[default]
    Both,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Visual => "visual",
            Self::Both => "both",
        }
    }
}

/// The order of an item's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionOrder {
    /// The true class at a uniformly drawn letter, the distractors in drawn order: the letter
    /// says nothing about the class.
    #[default]
    Shuffled,
    /// The options in the order of the task's classes: with as many options as classes, each
    /// class always has the same letter (a classification with letter labels).
    Fixed,
}

impl OptionOrder {
    fn is_shuffled(&self) -> bool {
        *self == Self::Shuffled
    }
}

/// A multiple-choice task: its classes, how many options an item shows, the seed of the
/// options, and the prompt. Read from TOML by the binaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceTask {
    /// The task's name (manifest lines name it in `task`, or leave it out).
    pub name: String,
    /// Every class, in the order reports list them.
    pub classes: Vec<String>,
    /// Options per item (the true class and `options − 1` distractors), at most the number of
    /// classes and 26.
    #[serde(default = "default_options")]
    pub options: usize,
    /// Seeds the distractors and the letter balance.
    #[serde(default)]
    pub seed: u64,
    /// How an item's options are ordered: `shuffled` (the true class at a uniformly drawn
    /// letter) or `fixed` (in the order of `classes`).
    #[serde(default, skip_serializing_if = "OptionOrder::is_shuffled")]
    pub order: OptionOrder,
    /// The user prompt; `{options}` becomes `A. class` lines.
    #[serde(default = "default_prompt")]
    pub prompt: String,
}

/// One question: the item, the classes shown (in letter order) and the correct letter.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceItem {
    pub sample: Sample,
    /// The item's class (index into [`ChoiceTask::classes`]).
    pub class: usize,
    /// The classes behind the letters A, B, …
    pub options: Vec<usize>,
    /// The correct letter's index (`options[answer] == class`).
    pub answer: usize,
}

impl ChoiceTask {
    /// Reads a task from a TOML file; errors name the file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        let task: Self = toml_from_str(&text).map_err(|e| Error::in_file(path, e))?;
        task.validate().map_err(|e| Error::in_file(path, e))?;
        Ok(task)
    }

    /// At least two distinct classes, `2 ≤ options ≤ min(classes, 26)`, a prompt with
    /// `{options}`.
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::config("name", "empty task name"));
        }
        let mut seen = BTreeMap::new();
        for (i, c) in self.classes.iter().enumerate() {
            if c.trim().is_empty() {
                return Err(Error::config(&format!("classes[{i}]"), "blank class"));
            }
            if let Some(j) = seen.insert(c.trim().to_lowercase(), i) {
                return Err(Error::config(
                    &format!("classes[{i}]"),
                    format!("`{c}` repeats classes[{j}]"),
                ));
            }
        }
        let most = self.classes.len().min(LETTERS.len());
        if self.options < 2 || self.options > most {
            return Err(Error::config(
                "options",
                format!(
                    "{} options; need 2 to {most} ({} classes, {} letters)",
                    self.options,
                    self.classes.len(),
                    LETTERS.len()
                ),
            ));
        }
        if !self.prompt.contains(OPTIONS_PLACEHOLDER) {
            return Err(Error::config(
                "prompt",
                format!("has no {OPTIONS_PLACEHOLDER} placeholder"),
            ));
        }
        Ok(())
    }

    /// The class index of a label (exact, else case- and space-insensitive).
    pub fn class_of(&self, label: &str) -> Option<usize> {
        let key = label.trim().to_lowercase();
        self.classes.iter().position(|c| c == label).or_else(|| {
            self.classes
                .iter()
                .position(|c| c.trim().to_lowercase() == key)
        })
    }

    /// The questions for `samples` (whose targets are classes), one per item. A target that is not a class is an error
    /// naming the line and field `target`; so is a repeated id (options are keyed by id).
    pub fn items(&self, samples: &[Sample]) -> Result<Vec<ChoiceItem>> {
        self.validate()?;
        let mut ids = BTreeMap::new();
        let mut classes = Vec::with_capacity(samples.len());
        for s in samples {
            if let Some(prev) = ids.insert(s.id.as_str(), &s.source) {
                return Err(Error::field(
                    &s.source,
                    "id",
                    format!("`{}` repeats the id of {prev}", s.id),
                ));
            }
            let class = self.class_of(&s.target).ok_or_else(|| {
                Error::field(
                    &s.source,
                    "target",
                    format!("`{}` is not a class of task `{}`", s.target, self.name),
                )
            })?;
            classes.push(class);
        }
        Ok(samples
            .iter()
            .zip(classes)
            .map(|(s, class)| {
                let (options, answer) = self.question(&s.id, class);
                ChoiceItem {
                    sample: s.clone(),
                    class,
                    options,
                    answer,
                }
            })
            .collect())
    }

    fn id_hash(&self, id: &str) -> u64 {
        id.bytes()
            .fold(mix64(self.seed ^ 0xd157), |h, b| mix64(h ^ b as u64))
    }

    /// The classes behind the letters of item `id` whose class is `class`, and the correct
    /// letter: distractors drawn without replacement from the other classes; the true class
    /// at a uniformly drawn letter ([`OptionOrder::Shuffled`]) or all options in class order
    /// ([`OptionOrder::Fixed`]).
    fn question(&self, id: &str, class: usize) -> (Vec<usize>, usize) {
        let mut rng = Rng::new(derive_seed(self.seed, self.id_hash(id)));
        let mut others: Vec<usize> = (0..self.classes.len()).filter(|&c| c != class).collect();
        rng.shuffle(&mut others);
        others.truncate(self.options - 1);
        match self.order {
            OptionOrder::Shuffled => {
                let answer = rng.below(self.options as u64) as usize;
                others.insert(answer, class);
                (others, answer)
            }
            OptionOrder::Fixed => {
                others.push(class);
                others.sort_unstable();
                let answer = others.iter().position(|&c| c == class).expect("inserted");
                (others, answer)
            }
        }
    }

    /// The prompt of an item: the lettered options in place of `{options}`.
    pub fn render(&self, item: &ChoiceItem) -> String {
        let lines: Vec<String> = item
            .options
            .iter()
            .enumerate()
            .map(|(k, &c)| format!("{}. {}", LETTERS[k], self.classes[c]))
            .collect();
        self.prompt.replace(OPTIONS_PLACEHOLDER, &lines.join("\n"))
    }

    /// The option letters of this task (`A`…), in order.
    pub fn letters(&self) -> Vec<String> {
        LETTERS[..self.options]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
}

impl ChoiceItem {
    /// The classes behind the letters, by name.
    pub fn option_names(&self, task: &ChoiceTask) -> Vec<String> {
        self.options
            .iter()
            .map(|&c| task.classes[c].clone())
            .collect()
    }

    /// The item as a sample for `condition`: the rendered question as its prompt, the correct
    /// letter as its target, and only the media of the condition. An item with no media left
    /// is an error naming its line.
    pub fn sample(&self, task: &ChoiceTask, condition: Condition) -> Result<Sample> {
        let mut s = self.sample.clone();
        match condition {
            Condition::Audio => {
                s.images.clear();
                s.videos.clear();
            }
            Condition::Visual => s.audio.clear(),
            Condition::Both => {}
        }
        if s.audio.is_empty() && s.images.is_empty() && s.videos.is_empty() {
            return Err(Error::field(
                &s.source,
                condition.name(),
                format!(
                    "no {} input for the `{}` condition",
                    condition.name(),
                    condition.name()
                ),
            ));
        }
        s.prompt = Some(task.render(self));
        s.target = LETTERS[self.answer].to_string();
        s.references.clear();
        Ok(s)
    }
}

/// A teacher's answers over the options of a task's items, written once (by `eval`) and read
/// by the trainer. JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherFile {
    /// [`TEACHER_FORMAT`].
    pub format: u32,
    /// The teacher: its checkpoint and adapter.
    pub teacher: String,
    /// Which media the teacher saw.
    pub condition: Condition,
    /// The task, as the teacher was asked it (name, classes, options, seed, prompt).
    pub task: ChoiceTask,
    /// The option letters the distributions are over (`A`, `B`, …).
    pub letters: Vec<String>,
    pub items: Vec<TeacherItem>,
}

/// The teacher file format this build writes and reads.
pub const TEACHER_FORMAT: u32 = 1;

/// One item's teacher signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherItem {
    pub id: String,
    /// The item's true class.
    pub class: String,
    /// The classes behind the letters, in order.
    pub options: Vec<String>,
    /// The teacher's probabilities over the letters (softmax of its letter logits), summing
    /// to 1.
    pub probs: Vec<f64>,
}

impl TeacherItem {
    /// A teacher's `probs` over the letters of `item` of `task`.
    pub fn new(task: &ChoiceTask, item: &ChoiceItem, probs: Vec<f64>) -> Self {
        Self {
            id: item.sample.id.clone(),
            class: task.classes[item.class].clone(),
            options: item.option_names(task),
            probs,
        }
    }

    /// The teacher's letter (the most probable; the first of ties).
    pub fn answer(&self) -> usize {
        let mut best = 0;
        for (k, &p) in self.probs.iter().enumerate() {
            if p > self.probs[best] {
                best = k;
            }
        }
        best
    }
}

impl TeacherFile {
    /// Reads and checks a teacher file (format, one distribution per item over the letters,
    /// finite probabilities summing to 1 within 1e-4). Errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        let f: Self = serde_json::from_str(&text)
            .map_err(|e| Error::in_file(path, Error::config("teacher file", e.to_string())))?;
        let bad = |field: String, msg: String| Error::in_file(path, Error::config(&field, msg));
        if f.format != TEACHER_FORMAT {
            return Err(bad(
                "format".into(),
                format!("{} (this build reads {TEACHER_FORMAT})", f.format),
            ));
        }
        for (i, it) in f.items.iter().enumerate() {
            let field = format!("items[{i}] ({})", it.id);
            if it.probs.len() != f.letters.len() || it.options.len() != f.letters.len() {
                return Err(bad(
                    field,
                    format!(
                        "{} probabilities and {} options for {} letters",
                        it.probs.len(),
                        it.options.len(),
                        f.letters.len()
                    ),
                ));
            }
            let sum: f64 = it.probs.iter().sum();
            if it.probs.iter().any(|p| !p.is_finite() || *p < 0.0) || (sum - 1.0).abs() > 1e-4 {
                return Err(bad(
                    field,
                    format!("probabilities {:?} (sum {sum})", it.probs),
                ));
            }
        }
        Ok(f)
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::config("teacher file", e.to_string()))?;
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    /// The teacher's signal for each item, in item order, after checking that the file
    /// asked the same questions: the same option letters, and for every item its id, true
    /// class and option classes in the same order. A missing item or a different question
    /// is an error naming the item and the file (`file` is where this was read from).
    pub fn match_items(
        &self,
        file: &Path,
        task: &ChoiceTask,
        items: &[ChoiceItem],
    ) -> Result<Vec<&TeacherItem>> {
        let bad = |msg: String| Error::in_file(file, Error::config("items", msg));
        if self.letters != task.letters() {
            return Err(bad(format!(
                "the teacher's letters {:?} differ from the task's {:?}",
                self.letters,
                task.letters()
            )));
        }
        let by_id: BTreeMap<&str, &TeacherItem> =
            self.items.iter().map(|t| (t.id.as_str(), t)).collect();
        items
            .iter()
            .map(|it| {
                let t = by_id.get(it.sample.id.as_str()).ok_or_else(|| {
                    bad(format!(
                        "no teacher signal for item `{}` ({})",
                        it.sample.id, it.sample.source
                    ))
                })?;
                let options = it.option_names(task);
                if t.options != options || t.class != task.classes[it.class] {
                    return Err(bad(format!(
                        "item `{}` ({}): the teacher was asked options {:?} (class {}), the \
                         student is asked {:?} (class {}); regenerate the teacher file with \
                         this task's seed and classes",
                        it.sample.id,
                        it.sample.source,
                        t.options,
                        t.class,
                        options,
                        task.classes[it.class]
                    )));
                }
                Ok(*t)
            })
            .collect()
    }
}

fn toml_from_str(text: &str) -> std::result::Result<ChoiceTask, Error> {
    toml::from_str(text).map_err(|e| Error::config("task", e.to_string()))
}

/// How the difficulty model's hard set is chosen from its ranking ([`DifficultyFile`]).
///
/// Written as text on command lines and in configs (`top-k:3`, `threshold:0.5`, `all`,
/// `list:police car,ice cream van`; a list holding a `;` is split on `;` instead, for class
/// names with commas) and as a tagged object in the difficulty file
/// (`{"rule": "top-k", "k": 3}`, `{"rule": "threshold", "threshold": 0.5}`, `{"rule": "all"}`,
/// `{"rule": "list", "classes": […]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Selection {
    /// The `k` classes ranked hardest.
    TopK { k: usize },
    /// Every class whose score is at least `threshold`.
    Threshold { threshold: f64 },
    /// Every class.
    All,
    /// These classes, whatever their scores.
    List { classes: Vec<String> },
}

impl std::str::FromStr for Selection {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |msg: String| Error::config("select", format!("`{s}`: {msg}"));
        let (rule, arg) = match s.split_once(':') {
            Some((r, a)) => (r.trim(), Some(a)),
            None => (s.trim(), None),
        };
        match (rule.to_ascii_lowercase().as_str(), arg) {
            ("all", None) => Ok(Self::All),
            ("top-k" | "topk", Some(a)) => match a.trim().parse::<usize>() {
                Ok(k) if k > 0 => Ok(Self::TopK { k }),
                _ => Err(bad("k must be a whole number of at least 1".into())),
            },
            ("threshold", Some(a)) => match a.trim().parse::<f64>() {
                Ok(t) if t.is_finite() => Ok(Self::Threshold { threshold: t }),
                _ => Err(bad("the threshold must be a number".into())),
            },
            ("list", Some(a)) => {
                let sep = if a.contains(';') { ';' } else { ',' };
                let classes: Vec<String> = a
                    .split(sep)
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect();
                if classes.is_empty() {
                    return Err(bad("an empty list".into()));
                }
                Ok(Self::List { classes })
            }
            _ => Err(bad(
                "expected top-k:K, threshold:T, all or list:a,b (list:a;b for names with commas)"
                    .into(),
            )),
        }
    }
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TopK { k } => write!(f, "top-k:{k}"),
            Self::Threshold { threshold } => write!(f, "threshold:{threshold}"),
            Self::All => f.write_str("all"),
            Self::List { classes } => {
                let sep = if classes.iter().any(|c| c.contains(',')) {
                    ";"
                } else {
                    ","
                };
                write!(f, "list:{}", classes.join(sep))
            }
        }
    }
}

/// The weights of the difficulty model's signals (each signal is in [0, 1]; the score is
/// their weighted mean over the signals that were measured). The defaults are ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DifficultyWeights {
    /// The student's smoothed error rate on the class. Default 0.5.
    pub error: f64,
    /// One minus the student's smoothed mean probability of the true letter. Default 0.2.
    pub unconfidence: f64,
    /// How much more often the teacher is right than the student (clamped at 0). Default 0.15.
    pub teacher_advantage: f64,
    /// How often the teacher's answer differs from the student's (smoothed). Default 0.1.
    pub disagreement: f64,
    /// One minus the class's share of items relative to the most frequent class. Default 0.05.
    pub rarity: f64,
}

impl Default for DifficultyWeights {
    fn default() -> Self {
        Self {
            error: 0.5,
            unconfidence: 0.2,
            teacher_advantage: 0.15,
            disagreement: 0.1,
            rarity: 0.05,
        }
    }
}

impl DifficultyWeights {
    /// Every weight finite and ≥ 0, and at least one positive.
    pub fn validate(&self) -> Result<()> {
        let all = [
            ("error", self.error),
            ("unconfidence", self.unconfidence),
            ("teacher_advantage", self.teacher_advantage),
            ("disagreement", self.disagreement),
            ("rarity", self.rarity),
        ];
        for (name, w) in all {
            if !w.is_finite() || w < 0.0 {
                return Err(Error::config(
                    &format!("weights.{name}"),
                    format!("{w}; must be a finite number ≥ 0"),
                ));
            }
        }
        if all.iter().all(|(_, w)| *w == 0.0) {
            return Err(Error::config("weights", "every weight is 0"));
        }
        Ok(())
    }
}

/// One class of a [`DifficultyFile`]: its score, rank, whether it is selected, and the
/// signals behind the score (absent where not measured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifficultyClass {
    pub class: String,
    /// Predicted difficulty in [0, 1] (1: hardest).
    pub score: f64,
    /// 1 = hardest; ties broken by the task's class order.
    pub rank: usize,
    pub selected: bool,
    /// The student's held-out items of the class.
    pub support: usize,
    /// The student's raw held-out accuracy (absent without items).
    #[serde(default)]
    pub accuracy: Option<f64>,
    /// The Beta-smoothed accuracy the `error` signal uses.
    pub smoothed_accuracy: f64,
    /// The student's mean probability of the true letter (likelihood scoring only).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The teacher's raw held-out accuracy (with a teacher summary).
    #[serde(default)]
    pub teacher_accuracy: Option<f64>,
    /// Share of the class's items on which teacher and student predict the same class (with
    /// both prediction files).
    #[serde(default)]
    pub agreement: Option<f64>,
    /// The class's share of the student's held-out items.
    pub frequency: f64,
    /// Each signal that entered the score, by weight name, in [0, 1].
    pub signals: BTreeMap<String, f64>,
}

/// The difficulty model's own quality: how its ranking on validation data orders the
/// student's per-class error measured on test data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifficultyQuality {
    /// The test summary the error was measured on.
    pub test: String,
    /// Classes with test items (the ones compared).
    pub classes: usize,
    /// Spearman's rank correlation between the predicted score and the test error (ties as
    /// average ranks); absent when either side has no spread.
    pub spearman: Option<f64>,
    /// The same for the validation error alone, the baseline the combined score should beat.
    pub error_only_spearman: Option<f64>,
}

/// The difficulty model's output, written by `eval difficulty` and read by the trainer:
/// which classes of a task to distil on. JSON.
///
/// ```json
/// {"format": 1, "task": "objects", "student": "val/summary.json", "teacher": null,
///  "weights": {"error": 0.5, …}, "prior_strength": 4.0,
///  "classes": [{"class": "police car", "score": 0.61, "rank": 1, "selected": true, …}, …],
///  "selection": {"rule": "top-k", "k": 3}, "selected": ["police car", …], "quality": null}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifficultyFile {
    /// [`DIFFICULTY_FORMAT`].
    pub format: u32,
    /// The task's name.
    pub task: String,
    /// The student's held-out summary (and its model, when recorded).
    pub student: String,
    /// The teacher's held-out summary, when one was given.
    #[serde(default)]
    pub teacher: Option<String>,
    pub weights: DifficultyWeights,
    /// Pseudo-items of the Beta prior that smooths per-class rates towards the overall rate.
    pub prior_strength: f64,
    /// Every class of the task, in the task's order.
    pub classes: Vec<DifficultyClass>,
    pub selection: Selection,
    /// The selected classes, hardest first.
    pub selected: Vec<String>,
    #[serde(default)]
    pub quality: Option<DifficultyQuality>,
}

/// The difficulty file format this build writes and reads.
pub const DIFFICULTY_FORMAT: u32 = 1;

impl DifficultyFile {
    /// Reads and checks a difficulty file (format; every selected class is one of its
    /// classes, and is marked selected). Errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, "reading", e))?;
        let f: Self = serde_json::from_str(&text)
            .map_err(|e| Error::in_file(path, Error::config("difficulty file", e.to_string())))?;
        let bad = |field: &str, msg: String| Error::in_file(path, Error::config(field, msg));
        if f.format != DIFFICULTY_FORMAT {
            return Err(bad(
                "format",
                format!("{} (this build reads {DIFFICULTY_FORMAT})", f.format),
            ));
        }
        for name in &f.selected {
            match f.classes.iter().find(|c| &c.class == name) {
                Some(c) if c.selected => {}
                Some(_) => {
                    return Err(bad(
                        "selected",
                        format!("`{name}` is not marked selected in `classes`"),
                    ))
                }
                None => return Err(bad("selected", format!("`{name}` is not in `classes`"))),
            }
        }
        Ok(f)
    }

    /// Writes the file atomically (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::config("difficulty file", e.to_string()))?;
        text.push('\n');
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    /// The selected classes as indices into `task.classes` (task order). The file must be
    /// for this task (its name) and every selected class one of the task's; otherwise an
    /// error naming `file`.
    pub fn selected_classes(&self, file: &Path, task: &ChoiceTask) -> Result<Vec<usize>> {
        let bad = |field: &str, msg: String| Error::in_file(file, Error::config(field, msg));
        if self.task != task.name {
            return Err(bad(
                "task",
                format!(
                    "the difficulty file is for task `{}`, not `{}`",
                    self.task, task.name
                ),
            ));
        }
        let mut out = Vec::with_capacity(self.selected.len());
        for name in &self.selected {
            let c = task.class_of(name).ok_or_else(|| {
                bad(
                    "selected",
                    format!("`{name}` is not a class of task `{}`", task.name),
                )
            })?;
            out.push(c);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}
