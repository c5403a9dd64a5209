//! The audio of a sound-object clip, from its facts: one occurrence per onset (or, for the
//! growl and the crackling hiss, a continuous sound shaped by the onsets), each occurrence at
//! the same peak, the whole at the clip's peak, through its recording channel, over its noise
//! floor. Built from the world's synthesizers ([`crate::synth`]).
//!
//! | kind | per occurrence | pitch is |
//! |---|---|---|
//! | bright pluck | Karplus–Strong note (brightness 0.5–0.9, T60 0.8–1.5 s) of root, third, fifth or octave | the root |
//! | dull pluck | the same, brightness 0.15–0.35, T60 1.5–3 s | the root |
//! | bark | rough breathy voice (/a/, formants ×1.25), pitch falling 1.2 → 0.8 × f0 | f0 |
//! | growl | continuous dark rough voice (/o/ or /u/), loudness 0.35 rising to 1 at each onset | f0 |
//! | knock | resonant click (band-pass Q 12), ±5 % resonance, ±2 dB | the resonance |
//! | crackle | high-passed hiss, plus a noise burst (2–5 kHz) at each onset | the hiss cut-off |
//! | chirp | sweep from f to 1.4–1.8 × f | f |
//! | bell | FM bell (ratio 1.38–1.45, index 2–4, decay hit / 3) | the carrier |
//! | drum | kick at f, tom at 2 f, alternating | f |
//! | cry | voice (/a/ or /e/, formants ×1.35) rising 1.15–1.4 × f0 and falling back | f0 |

use rng::Rng;

use super::{ObjectSpec, SoundKind};
use crate::dsp::{self, Biquad};
use crate::synth::{bell, chirp, click, drum, noise, pluck, voice};

/// The clip's samples (16 kHz, `seconds` long).
pub fn render(spec: &ObjectSpec) -> Vec<f32> {
    let a = &spec.audio;
    let n = dsp::secs(spec.seconds);
    let mut rng = Rng::new(a.seed);
    let mut x = event(spec, &mut rng, n);
    x.truncate(n);
    x.resize(n, 0.0);
    if let Some(f) = a.lowpass {
        x = dsp::filtered(x, Biquad::lowpass(f, 0.7));
    }
    if let Some(f) = a.highpass {
        x = dsp::filtered(x, Biquad::highpass(f, 0.7));
    }
    dsp::normalize_peak(&mut x, a.peak);
    let floor = dsp::db(a.floor_db) * 3f32.sqrt();
    for v in x.iter_mut() {
        *v += floor * dsp::white(&mut rng);
    }
    let pk = dsp::peak(&x);
    if pk > 0.99 {
        x.iter_mut().for_each(|v| *v *= 0.99 / pk);
    }
    x
}

/// Adds `x` at `at` seconds, scaled to peak 1.
fn place(out: &mut [f32], x: &[f32], at: f32) {
    let g = 1.0 / dsp::peak(x).max(1e-9);
    dsp::add_at(out, x, dsp::secs(at), g);
}

/// The sound before channel, level and floor.
fn event(spec: &ObjectSpec, rng: &mut Rng, n: usize) -> Vec<f32> {
    let f = spec.audio.pitch;
    let hit_n = dsp::secs(spec.hit).max(1);
    let rest = |t: f32| n.saturating_sub(dsp::secs(t)).max(1);
    let mut out = vec![0.0f32; n];
    match spec.audio.kind {
        SoundKind::BrightPluck | SoundKind::DullPluck => {
            let dull = spec.audio.kind == SoundKind::DullPluck;
            let (bright, t60) = if dull {
                (dsp::uni(rng, 0.15, 0.35), dsp::uni(rng, 1.5, 3.0))
            } else {
                (dsp::uni(rng, 0.5, 0.9), dsp::uni(rng, 0.8, 1.5))
            };
            for &t in &spec.onsets {
                let step = [0.0, 4.0, 7.0, 12.0][dsp::pick(rng, 4)];
                let note = f * 2f32.powf(step / 12.0);
                let len = rest(t).min(dsp::secs(spec.hit * 3.0).max(1));
                let mut x = pluck::pluck(rng, note, len, bright, t60);
                dsp::fade_edges(&mut x, dsp::secs(0.01).min(len / 4));
                place(&mut out, &x, t);
            }
        }
        SoundKind::Bark => {
            let style = voice::VoiceStyle {
                tilt: dsp::uni(rng, 1.0, 1.3),
                breath: dsp::uni(rng, 0.3, 0.6),
                jitter: 0.03,
                rough: dsp::uni(rng, 0.3, 0.6),
                formant_scale: 1.25,
            };
            for &t in &spec.onsets {
                let track: Vec<f32> = (0..hit_n)
                    .map(|i| f * (1.2 - 0.4 * i as f32 / hit_n as f32))
                    .collect();
                let amp = dsp::asr(hit_n, 0.005, 0.04);
                let x = voice::voice(
                    rng,
                    &track,
                    &amp,
                    None,
                    &voice::FormantTrack::vowel(voice::A),
                    &style,
                );
                place(&mut out, &x, t);
            }
        }
        SoundKind::Growl => {
            let track = dsp::freq_track(n, f, dsp::uni(rng, 0.9, 1.1), 0.0, 0.0);
            let mut amp = vec![0.35f32; n];
            let tau = spec.hit;
            for &t in &spec.onsets {
                let pulse = dsp::attack_decay(rest(t), 0.02, tau);
                let at = dsp::secs(t);
                for (a, p) in amp[at.min(n)..].iter_mut().zip(&pulse) {
                    *a = (*a + 0.65 * p).min(1.0);
                }
            }
            let style = voice::VoiceStyle {
                tilt: dsp::uni(rng, 1.8, 2.2),
                breath: dsp::uni(rng, 0.25, 0.45),
                jitter: 0.04,
                rough: dsp::uni(rng, 0.6, 0.9),
                formant_scale: 0.9,
            };
            let v = [3, 4][dsp::pick(rng, 2)];
            out = voice::voice(
                rng,
                &track,
                &amp,
                None,
                &voice::FormantTrack::vowel(v),
                &style,
            );
            dsp::fade_edges(&mut out, dsp::secs(0.04));
        }
        SoundKind::Knock => {
            let onsets: Vec<usize> = spec.onsets.iter().map(|&t| dsp::secs(t)).collect();
            out = click::train(rng, f, &onsets, n);
        }
        SoundKind::Crackle => {
            out = noise::hiss(rng, f, n);
            dsp::normalize_peak(&mut out, dsp::uni(rng, 0.25, 0.45));
            for &t in &spec.onsets {
                let centre = dsp::log_uni(rng, 2000.0, 5000.0);
                let b = noise::burst(rng, centre, hit_n.max(8));
                let g = dsp::uni(rng, 0.3, 1.0) / dsp::peak(&b).max(1e-9);
                dsp::add_at(&mut out, &b, dsp::secs(t), g);
            }
        }
        SoundKind::Chirp => {
            let up = dsp::uni(rng, 1.4, 1.8);
            for &t in &spec.onsets {
                let a = f * dsp::uni(rng, 0.95, 1.05);
                place(&mut out, &chirp::chirp(a, a * up, hit_n), t);
            }
        }
        SoundKind::Bell => {
            let ratio = dsp::uni(rng, 1.38, 1.45);
            let index = dsp::uni(rng, 2.0, 4.0).min(((7000.0 - f) / (f * ratio) - 1.0).max(0.5));
            for &t in &spec.onsets {
                place(
                    &mut out,
                    &bell::fm_bell(f, rest(t), ratio, index, spec.hit / 3.0),
                    t,
                );
            }
        }
        SoundKind::Drum => {
            for (k, &t) in spec.onsets.iter().enumerate() {
                let g = f * dsp::uni(rng, 0.97, 1.03);
                let tau = dsp::uni(rng, 0.05, 0.09);
                let x = if k % 2 == 0 {
                    drum::kick(rng, g, tau)
                } else {
                    drum::tom(rng, 2.0 * g, tau)
                };
                place(&mut out, &x[..x.len().min(hit_n)], t);
            }
        }
        SoundKind::Cry => {
            let style = voice::VoiceStyle {
                tilt: dsp::uni(rng, 1.2, 1.5),
                breath: dsp::uni(rng, 0.1, 0.25),
                jitter: 0.02,
                rough: dsp::uni(rng, 0.0, 0.2),
                formant_scale: 1.35,
            };
            for &t in &spec.onsets {
                let rise = dsp::uni(rng, 1.15, 1.4);
                let track: Vec<f32> = (0..hit_n)
                    .map(|i| {
                        let u = i as f32 / hit_n as f32;
                        f * (1.0 + (rise - 1.0) * (std::f32::consts::PI * u).sin())
                    })
                    .collect();
                let amp = dsp::asr(hit_n, 0.04, 0.1);
                let v = [0, 1][dsp::pick(rng, 2)];
                let x = voice::voice(
                    rng,
                    &track,
                    &amp,
                    None,
                    &voice::FormantTrack::vowel(v),
                    &style,
                );
                place(&mut out, &x, t);
            }
        }
    }
    out
}
