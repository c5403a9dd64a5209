//! One manifest line (a JSON object) to a [`Sample`], in either accepted form.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Sample;
use crate::error::{Error, Location, Result};
use crate::task::{count_tags, MediaCounts, MediaKind, Task};

const NATIVE_KEYS: &[&str] = &[
    "id",
    "task",
    "audio",
    "images",
    "videos",
    "prompt",
    "system",
    "target",
    "references",
];
const CHAT_KEYS: &[&str] = &[
    "id",
    "task",
    "messages",
    "audios",
    "images",
    "videos",
    "references",
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field's value as a string; `None` when absent (or null).
fn opt_str(obj: &Map<String, Value>, key: &str, loc: &Location) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(Error::field(
            loc,
            key,
            format!("expected a string, found {}", type_name(v)),
        )),
    }
}

/// A list of strings written as an array, or as one string for a single item.
fn str_list(v: &Value, field: &str, loc: &Location) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => Ok(s.clone()),
                other => Err(Error::field(
                    loc,
                    &format!("{field}[{i}]"),
                    format!("expected a string, found {}", type_name(other)),
                )),
            })
            .collect(),
        other => Err(Error::field(
            loc,
            field,
            format!(
                "expected a string or an array of strings, found {}",
                type_name(other)
            ),
        )),
    }
}

fn check_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    form: &str,
    loc: &Location,
) -> Result<()> {
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(Error::field(
                loc,
                key,
                format!(
                    "unknown field in a {form} line (accepted: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn parse_id(obj: &Map<String, Value>, loc: &Location) -> Result<String> {
    match obj.get("id") {
        None | Some(Value::Null) => {
            let stem = loc
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(format!("{stem}:{}", loc.line))
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        Some(v) => Err(Error::field(
            loc,
            "id",
            format!(
                "expected a non-empty string or an integer, found {}",
                type_name(v)
            ),
        )),
    }
}

fn parse_task(obj: &Map<String, Value>, default: Option<&Task>, loc: &Location) -> Result<Task> {
    match opt_str(obj, "task", loc)? {
        Some(name) => Task::from_name(&name).map_err(|r| Error::field(loc, "task", r)),
        None => default.cloned().ok_or_else(|| {
            Error::field(
                loc,
                "task",
                "missing, and the reader was given no default task",
            )
        }),
    }
}

/// The files of one media kind under `field`: none when the field is absent (or null); an
/// empty list or an empty path is an error.
fn parse_paths(
    v: Option<&Value>,
    kind: MediaKind,
    field: &str,
    base: &Path,
    loc: &Location,
) -> Result<Vec<PathBuf>> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => str_list(v, field, loc)?,
    };
    if list.is_empty() {
        let reason = format!(
            "the list is empty (leave the field out when there is no {})",
            kind.noun()
        );
        return Err(Error::field(loc, field, reason));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, s)| {
            if s.trim().is_empty() {
                return Err(Error::field(loc, &format!("{field}[{i}]"), "empty path"));
            }
            let p = PathBuf::from(s);
            Ok(if p.is_absolute() { p } else { base.join(p) })
        })
        .collect()
}

/// A line's audio, images and videos (under the form's keys, `key`); at least one file in all.
fn parse_media(
    obj: &Map<String, Value>,
    key: fn(MediaKind) -> &'static str,
    base: &Path,
    loc: &Location,
) -> Result<[Vec<PathBuf>; 3]> {
    let get = |kind: MediaKind| parse_paths(obj.get(key(kind)), kind, key(kind), base, loc);
    let media = [
        get(MediaKind::Audio)?,
        get(MediaKind::Image)?,
        get(MediaKind::Video)?,
    ];
    if media.iter().all(Vec::is_empty) {
        let keys = MediaKind::ALL.map(key).join(", ");
        let reason = format!("missing: no media (a sample needs at least one of {keys})");
        return Err(Error::field(loc, key(MediaKind::Audio), reason));
    }
    Ok(media)
}

/// Why `prompt`'s tags do not fit `counts`, naming the first kind that does not: every kind
/// must have as many tags as files, or (unless `exact`) no tags at all.
pub(crate) fn tag_mismatch(prompt: &str, counts: MediaCounts, exact: bool) -> Option<String> {
    MediaKind::ALL.into_iter().find_map(|kind| {
        let (tags, files) = (count_tags(prompt, kind), counts.get(kind));
        let ok = tags == files || (!exact && tags == 0);
        (!ok).then(|| {
            let tag = kind.tag();
            let noun = kind.noun();
            let rule = if exact {
                "one per file"
            } else {
                "none, or one per file"
            };
            format!("{tags} {tag} tag(s) for {files} {noun} file(s) (expected {rule})")
        })
    })
}

fn parse_references(obj: &Map<String, Value>, loc: &Location) -> Result<Vec<String>> {
    let refs = match obj.get("references") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => str_list(v, "references", loc)?,
    };
    refs.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let r = r.trim();
            if r.is_empty() {
                Err(Error::field(
                    loc,
                    &format!("references[{i}]"),
                    "empty caption",
                ))
            } else {
                Ok(r.to_string())
            }
        })
        .collect()
}

fn check_target(target: Option<String>, field: &str, loc: &Location) -> Result<String> {
    let t = target.ok_or_else(|| Error::field(loc, field, "missing target"))?;
    let t = t.trim();
    if t.is_empty() {
        return Err(Error::field(
            loc,
            field,
            "empty target (blank after trimming)",
        ));
    }
    Ok(t.to_string())
}

fn counts(media: &[Vec<PathBuf>; 3]) -> MediaCounts {
    MediaCounts {
        audio: media[0].len(),
        images: media[1].len(),
        videos: media[2].len(),
    }
}

/// The native form: `{"task", "audio"?, "images"?, "videos"?, "prompt"?, "system"?, "target",
/// "references"?, "id"?}` with at least one media file.
fn parse_native(obj: &Map<String, Value>, ctx: &LineCtx) -> Result<Sample> {
    let loc = ctx.loc;
    check_keys(obj, NATIVE_KEYS, "native", loc)?;
    let id = parse_id(obj, loc)?;
    let task = parse_task(obj, ctx.default_task, loc)?;
    let media = parse_media(obj, MediaKind::native_key, ctx.base, loc)?;
    let prompt = opt_str(obj, "prompt", loc)?;
    if let Some(reason) = prompt
        .as_deref()
        .and_then(|p| tag_mismatch(p, counts(&media), false))
    {
        return Err(Error::field(loc, "prompt", reason));
    }
    let [audio, images, videos] = media;
    let system = opt_str(obj, "system", loc)?;
    let target = check_target(opt_str(obj, "target", loc)?, "target", loc)?;
    let references = parse_references(obj, loc)?;
    Ok(Sample {
        id,
        task,
        audio,
        images,
        videos,
        prompt,
        system,
        target,
        references,
        source: loc.clone(),
    })
}

/// The ms-swift / LLaMA-Factory form: `{"messages": [...], "audios"?: [...], "images"?: [...],
/// "videos"?: [...], "task"?, "id"?, "references"?}` with at least one media file and one
/// optional system turn, one user turn and one assistant turn.
fn parse_chat(obj: &Map<String, Value>, ctx: &LineCtx) -> Result<Sample> {
    let loc = ctx.loc;
    check_keys(obj, CHAT_KEYS, "messages", loc)?;
    let id = parse_id(obj, loc)?;
    let task = parse_task(obj, ctx.default_task, loc)?;
    let media = parse_media(obj, MediaKind::chat_key, ctx.base, loc)?;
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) => m,
        Some(v) => {
            let reason = format!("expected an array of messages, found {}", type_name(v));
            return Err(Error::field(loc, "messages", reason));
        }
        None => return Err(Error::field(loc, "messages", "missing")),
    };
    let (mut system, mut user, mut assistant) = (None, None, None);
    for (i, m) in messages.iter().enumerate() {
        let field = format!("messages[{i}]");
        let Value::Object(m) = m else {
            let reason = format!("expected an object, found {}", type_name(m));
            return Err(Error::field(loc, &field, reason));
        };
        let role = opt_str(m, "role", loc)
            .map_err(|_| Error::field(loc, &format!("{field}.role"), "expected a string"))?
            .ok_or_else(|| Error::field(loc, &format!("{field}.role"), "missing"))?;
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                let reason = format!("expected a string, found {}", type_name(v));
                return Err(Error::field(loc, &format!("{field}.content"), reason));
            }
            None => return Err(Error::field(loc, &format!("{field}.content"), "missing")),
        };
        let slot = match (role.as_str(), i) {
            ("system", 0) => &mut system,
            ("user", _) if user.is_none() => &mut user,
            ("assistant", _) if user.is_some() && assistant.is_none() => &mut assistant,
            ("system" | "user" | "assistant", _) => {
                let reason = "expected [system], user, assistant in that order; \
                              multi-turn conversations are not supported";
                return Err(Error::field(loc, &format!("{field}.role"), reason));
            }
            (other, _) => {
                let reason = format!("unknown role `{other}` (system, user or assistant)");
                return Err(Error::field(loc, &format!("{field}.role"), reason));
            }
        };
        *slot = Some((field, content));
    }
    for (what, slot) in [("system", &system), ("assistant", &assistant)] {
        if let Some((field, text)) = slot {
            if let Some(kind) = MediaKind::ALL
                .into_iter()
                .find(|&k| count_tags(text, k) > 0)
            {
                let tag = kind.tag();
                let reason = format!("{tag} tags belong in the user turn, not the {what} turn");
                return Err(Error::field(loc, &format!("{field}.content"), reason));
            }
        }
    }
    let (user_field, prompt) = user.ok_or_else(|| Error::field(loc, "messages", "no user turn"))?;
    if let Some(reason) = tag_mismatch(&prompt, counts(&media), true) {
        return Err(Error::field(loc, &format!("{user_field}.content"), reason));
    }
    let [audio, images, videos] = media;
    let (target_field, target) = match assistant {
        Some((f, t)) => (format!("{f}.content"), Some(t)),
        None => ("messages".to_string(), None),
    };
    let target = check_target(target, &target_field, loc)?;
    let references = parse_references(obj, loc)?;
    Ok(Sample {
        id,
        task,
        audio,
        images,
        videos,
        prompt: Some(prompt),
        system: system.map(|(_, s)| s),
        target,
        references,
        source: loc.clone(),
    })
}

/// What a line's parse needs besides its text.
pub(crate) struct LineCtx<'a> {
    pub loc: &'a Location,
    /// Directory relative media paths are resolved against.
    pub base: &'a Path,
    pub default_task: Option<&'a Task>,
}

/// Parses one non-blank line.
pub(crate) fn parse_line(text: &str, ctx: &LineCtx) -> Result<Sample> {
    let value: Value = serde_json::from_str(text).map_err(|e| Error::Json {
        location: ctx.loc.clone(),
        reason: e.to_string(),
    })?;
    let Value::Object(obj) = value else {
        return Err(Error::Json {
            location: ctx.loc.clone(),
            reason: format!("expected a JSON object, found {}", type_name(&value)),
        });
    };
    if obj.contains_key("messages") {
        parse_chat(&obj, ctx)
    } else {
        parse_native(&obj, ctx)
    }
}
