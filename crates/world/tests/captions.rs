//! Captions agree with what was generated: every event is named with its attributes, in
//! onset order; the facts' timing is consistent; and the audio of each event really has the
//! count, rate, register and duration its phrase states.

use rng::Rng;
use world::corpus;
use world::events::{
    frame_rms, DrawOptions, EventKind, EventSpec, Levels, Loudness, Pattern, Register, Speed,
};
use world::{Split, SplitCounts, WorldConfig};

#[test]
fn captions_name_every_event_in_order() {
    let cfg = WorldConfig {
        ac: SplitCounts::new(300, 0, 0),
        ..WorldConfig::sized(world::Size::Test)
    };
    let scenes = corpus::scenes(&cfg, Split::Train);
    let (mut with_bg, mut three) = (0, 0);
    for s in &scenes {
        assert!((1.0..=5.0).contains(&s.dur), "{}: {}", s.id, s.dur);
        let n = s.events().count();
        assert!((1..=3).contains(&n), "{}: {n} events", s.id);
        with_bg += usize::from(s.background.is_some());
        three += usize::from(n == 3);
        let mut kinds: Vec<EventKind> = s.events().map(|p| p.event.kind).collect();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), n, "{}: kinds repeat", s.id);
        // Timing facts: inside the clip; foreground in order without overlap; background
        // spans (nearly) the whole clip, so "while" is true.
        for p in s.events() {
            let (a, b) = p.span();
            assert!(a >= 0.0 && b <= s.dur + 1e-3, "{}: span {a}..{b}", s.id);
        }
        for w in s.sequence.windows(2) {
            assert!(w[0].span().1 <= w[1].onset + 1e-3, "{}: overlap", s.id);
        }
        if let Some(b) = &s.background {
            let (a, e) = b.span();
            assert!(
                e - a >= s.dur - 0.17,
                "{}: background {a}..{e} of {}",
                s.id,
                s.dur
            );
        }
        // Captions: 4 distinct paraphrases, each naming every event's noun phrase and its
        // verb phrase (count or rate word included), foreground events in onset order.
        assert_eq!(s.captions.len(), 4, "{}", s.id);
        for (i, c) in s.captions.iter().enumerate() {
            assert!(!s.captions[..i].contains(c), "{}: duplicate caption", s.id);
            let lc = c.to_lowercase();
            for p in s.events() {
                let ph = p.event.phrase(true);
                assert!(lc.contains(&ph.np), "{}: `{c}` lacks `{}`", s.id, ph.np);
                assert!(
                    lc.contains(&ph.sentence) || lc.contains(&ph.participle),
                    "{}: `{c}` lacks the verb phrase of `{}`",
                    s.id,
                    ph.np
                );
                if let Some(w) = p.event.loudness.word() {
                    assert!(lc.contains(&format!("a {w} ")), "{}: `{c}`", s.id);
                }
            }
            let pos: Vec<usize> = s
                .sequence
                .iter()
                .map(|p| lc.find(&p.event.phrase(true).np).unwrap())
                .collect();
            assert!(
                pos.windows(2).all(|w| w[0] < w[1]),
                "{}: order in `{c}`",
                s.id
            );
        }
    }
    // The layouts all occur.
    assert!(
        with_bg > 30 && three > 30,
        "backgrounds {with_bg}, three-event clips {three}"
    );
}

/// Onsets: 10 ms frames at least 6 dB above the quietest of the 4 frames before, above 15 % of
/// the loudest frame, at least 60 ms after the previous onset (attacks last up to 30 ms). Returns their times (s).
fn onsets(x: &[f32]) -> Vec<f32> {
    let f = frame_rms(x);
    let max = f.iter().fold(0f32, |m, &v| m.max(v));
    let mut out: Vec<usize> = Vec::new();
    for i in 0..f.len() {
        let before = f[i.saturating_sub(4)..i]
            .iter()
            .fold(f32::MAX, |m, &v| m.min(v));
        let before = if i == 0 { 0.0 } else { before };
        let rising = f[i] >= 2.0 * before && f[i] > 0.15 * max;
        if rising && out.last().is_none_or(|&l| i - l >= 6) {
            out.push(i);
        }
    }
    out.iter().map(|&i| i as f32 * 0.01).collect()
}

/// Mel-weighted centroid (in mel bins) of `x`'s power.
fn centroid(x: &[f32]) -> f32 {
    let mel = audio::log_mel_spectrogram(x, 80).unwrap();
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for m in 0..80 {
        let p: f32 = mel.row(m).iter().map(|v| 10f32.powf(*v * 4.0 - 4.0)).sum();
        num += m as f32 * p;
        den += p;
    }
    num / den
}

#[test]
fn event_audio_matches_its_phrase() {
    let mut rng = Rng::new(11);
    let mut by_register: std::collections::BTreeMap<(EventKind, bool), Vec<f32>> =
        Default::default();
    for round in 0..100 {
        for kind in EventKind::ALL {
            let opt = DrawOptions {
                background: round % 3 == 0 && kind.can_be_background(),
                max_dur: 1.2 + 0.2 * (round % 5) as f32,
                levels: Levels::All,
            };
            let e = EventSpec::draw(&mut rng, kind, opt);
            let x = e.render();
            let what = format!("{:?} {:?} {:?}", e.kind, e.pattern, e.register);
            assert_eq!(x.len(), e.len(), "{what}");
            assert_eq!(x, e.render(), "{what}: not deterministic");
            let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(
                (peak - e.peak).abs() < 1e-4,
                "{what}: peak {peak} vs {}",
                e.peak
            );
            let band = match e.loudness {
                Loudness::Quiet => 0.05..0.08,
                Loudness::Normal => 0.18..0.3,
                Loudness::Loud => 0.55..0.8,
            };
            assert!(
                band.contains(&peak),
                "{what}: peak {peak} for {:?}",
                e.loudness
            );
            let on = onsets(&x);
            match e.pattern {
                Pattern::Count { n } => {
                    assert_eq!(
                        on.len(),
                        n as usize,
                        "{what}: onsets {on:?}, hits {:?}",
                        e.hits
                    );
                    for (o, h) in on.iter().zip(&e.hits) {
                        assert!((o - h).abs() < 0.04, "{what}: onset {o} vs hit {h}");
                    }
                }
                Pattern::Rate { speed } => {
                    let k = on.len() as i64 - e.hits.len() as i64;
                    assert!(
                        k.abs() <= 1,
                        "{what}: {} onsets for {} hits: {on:?} {:?}",
                        on.len(),
                        e.hits.len(),
                        e.hits
                    );
                    let mut gaps: Vec<f32> = on.windows(2).map(|w| w[1] - w[0]).collect();
                    gaps.sort_by(f32::total_cmp);
                    let median = gaps[gaps.len() / 2];
                    match speed {
                        Speed::Slow => assert!(median > 0.24, "{what}: median gap {median}"),
                        Speed::Fast => assert!(median < 0.17, "{what}: median gap {median}"),
                    }
                }
                Pattern::Continuous => {
                    let f = frame_rms(&x);
                    let max = f.iter().fold(0f32, |m, &v| m.max(v));
                    let loud = f.iter().filter(|&&v| v > 0.03 * max).count();
                    assert!(
                        loud as f32 >= 0.85 * f.len() as f32,
                        "{what}: {loud}/{}",
                        f.len()
                    );
                }
            }
            match e.register {
                Register::Low | Register::High => by_register
                    .entry((kind, e.register == Register::High))
                    .or_default()
                    .push(centroid(&x)),
                Register::Rising | Register::Falling => {
                    // The second half of each chirp is higher when rising.
                    let h = e.hits[0];
                    let (a, b) = (
                        (h * 16_000.0) as usize,
                        ((h + e.hit_len) * 16_000.0) as usize,
                    );
                    let mid = (a + b) / 2;
                    let (c1, c2) = (centroid(&x[a..mid]), centroid(&x[mid..b]));
                    assert_eq!(c2 > c1, e.register == Register::Rising, "{what}: {c1} {c2}");
                }
            }
        }
    }
    // "Low" and "high" events of a kind differ in spectrum as the words say.
    for kind in EventKind::ALL {
        let (Some(lo), Some(hi)) = (
            by_register.get(&(kind, false)),
            by_register.get(&(kind, true)),
        ) else {
            continue;
        };
        let mean = |v: &Vec<f32>| v.iter().sum::<f32>() / v.len() as f32;
        assert!(
            mean(lo) < mean(hi),
            "{kind:?}: low {} vs high {}",
            mean(lo),
            mean(hi)
        );
    }
}
