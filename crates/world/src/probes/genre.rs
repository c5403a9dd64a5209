//! Music genres (MGC, GTZAN's ten) as patterns of tempo, rhythm and instrument palette. Each
//! example is a 3 s excerpt (starting anywhere within a beat) of a generated arrangement in a
//! random key, tempo (within the genre's range), kit tuning and mix:
//!
//! | genre     | bpm     | rhythm                                       | palette                          |
//! |-----------|---------|----------------------------------------------|----------------------------------|
//! | blues     | 70–95   | shuffle (swing .64–.68), backbeat            | plucked guitar licks (blues scale), walking plucked bass |
//! | classical | 60–100  | no drums                                     | string pad + piano arpeggio or flute-like melody |
//! | country   | 100–130 | straight two-beat: bass on 1 and 3, strums on 2 and 4 | bright strummed guitar, plucked bass, twang licks |
//! | disco     | 110–130 | four on the floor, open hats on the off-beats | octave synth bass, string stabs |
//! | hiphop    | 80–100  | syncopated 808 kicks, loud backbeat, swung 16th hats | long 808 bass, low-passed keys |
//! | jazz      | 120–180 | swung ride pattern, hat on 2 and 4, sparse ghost snares | walking bass, piano comping on 7th chords |
//! | metal     | 140–200 | double kick, crash every bar                 | heavily distorted palm-muted power chords |
//! | pop       | 100–125 | kick/snare+clap backbeat, straight 8th hats  | synth chords, synth bass, sung melody |
//! | reggae    | 65–90   | one drop (kick and rim on 3 only)            | off-beat skank (guitar/organ), melodic bass |
//! | rock      | 100–140 | backbeat, 8th hats, crash                    | overdriven open power chords, plucked bass |

use rng::Rng;

use crate::dsp;
use crate::probes::music::{self, chord, Grid, Kit, Voice};

/// The ten genres, in the order [`render`]'s `label` indexes them: the data crate's built-in
/// task `mgc` ([`data::classify::MGC_LABELS`], the one declaration).
pub use data::classify::MGC_LABELS as LABELS;

const MAJ: [i32; 3] = [0, 4, 7];
const MIN: [i32; 3] = [0, 3, 7];
const DOM7: [i32; 4] = [0, 4, 7, 10];
const MIN7: [i32; 4] = [0, 3, 7, 10];
const MAJ7: [i32; 4] = [0, 4, 7, 11];
const MIN9: [i32; 5] = [0, 3, 7, 10, 14];
const BLUES_SCALE: [i32; 6] = [0, 3, 5, 6, 7, 10];
const MAJ_PENTA: [i32; 5] = [0, 2, 4, 7, 9];

/// What every genre needs: the excerpt length, the grid, the kit, the key (MIDI of the bass
/// root, E1–B1 + 12) and the tracks mixed so far.
struct Song<'a> {
    rng: &'a mut Rng,
    n: usize,
    grid: Grid,
    kit: Kit,
    root: f32,
    tracks: Vec<(Vec<f32>, f32)>,
}

impl Song<'_> {
    /// Adds a track at `db` relative level (±2 dB jitter), normalised to peak 1 first.
    fn add(&mut self, mut x: Vec<f32>, db: f32) {
        x.resize(self.n, 0.0);
        dsp::normalize_peak(&mut x, 1.0);
        let g = dsp::db(db + dsp::uni(self.rng, -2.0, 2.0));
        self.tracks.push((x, g));
    }

    fn drums(&mut self, parts: &[(Voice, &str, f32)], ghost: f32, db: f32) {
        let x = music::drums(self.rng, &self.grid, &self.kit, self.n, parts, ghost);
        self.add(x, db);
    }

    /// The chord (root MIDI, intervals) of bar `bar` in `prog` (root offsets from the key).
    fn chord_at<'p>(&self, prog: &'p [(i32, &'p [i32])], bar: usize) -> (f32, &'p [i32]) {
        let (off, iv) = prog[bar % prog.len()];
        (self.root + off as f32, iv)
    }

    /// Renders notes: `f(song, bar, step_in_bar)` returns the samples to place at that step.
    fn notes(&mut self, db: f32, mut f: impl FnMut(&mut Song, usize, usize) -> Option<Vec<f32>>) {
        let mut out = vec![0.0f32; self.n];
        for i in 0..self.grid.steps(self.n) {
            if let Some(x) = f(self, i / 16, i % 16) {
                dsp::add_at(&mut out, &x, self.grid.at(i), 1.0);
            }
        }
        self.add(out, db);
    }

    fn mix(self) -> Vec<f32> {
        let mut out = vec![0.0f32; self.n];
        for (x, g) in &self.tracks {
            dsp::add_at(&mut out, x, 0, *g);
        }
        out
    }
}

/// A 3 s excerpt of genre `label`, at most `n` samples.
pub fn render(label: usize, rng: &mut Rng, n: usize) -> Vec<f32> {
    let (bpm, swing, swing16) = match label {
        0 => ((70.0, 95.0), (0.64, 0.68), false),
        1 => ((60.0, 100.0), (0.5, 0.5), false),
        2 => ((100.0, 130.0), (0.5, 0.53), false),
        3 => ((110.0, 130.0), (0.5, 0.52), false),
        4 => ((80.0, 100.0), (0.55, 0.62), true),
        5 => ((120.0, 180.0), (0.62, 0.68), false),
        6 => ((140.0, 200.0), (0.5, 0.5), false),
        7 => ((100.0, 125.0), (0.5, 0.52), false),
        8 => ((65.0, 90.0), (0.5, 0.58), false),
        _ => ((100.0, 140.0), (0.5, 0.52), false),
    };
    let grid = Grid {
        bpm: dsp::uni(rng, bpm.0, bpm.1),
        swing: dsp::uni(rng, swing.0, swing.1),
        swing16,
    };
    // Render one beat more than needed, then start anywhere within the first beat.
    let lead = dsp::pick(rng, dsp::secs(grid.beat()));
    let kit = Kit::draw(rng);
    let root = 28.0 + dsp::pick(rng, 8) as f32 + 12.0;
    let mut song = Song {
        rng,
        n: n + lead,
        grid,
        kit,
        root,
        tracks: Vec::new(),
    };
    match label {
        0 => blues(&mut song),
        1 => classical(&mut song),
        2 => country(&mut song),
        3 => disco(&mut song),
        4 => hiphop(&mut song),
        5 => jazz(&mut song),
        6 => metal(&mut song),
        7 => pop(&mut song),
        8 => reggae(&mut song),
        _ => rock(&mut song),
    }
    let mut x = song.mix();
    x.drain(..lead);
    x.truncate(n);
    x
}

fn blues(s: &mut Song) {
    s.drums(
        &[
            (Voice::Kick, "x.......x.......", 1.0),
            (Voice::Snare, "....x.......x...", 0.8),
            (Voice::ClosedHat, "x.x.x.x.x.x.x.x.", 0.35),
        ],
        0.05,
        -6.0,
    );
    let prog: [(i32, &[i32]); 2] = [(0, &DOM7), (5, &DOM7)];
    let walk = [0, 4, 7, 9, 10, 9, 7, 4];
    let beat = s.grid.len(4.0);
    s.notes(-4.0, |s, bar, st| {
        (st % 4 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::bass(s.rng, r + walk[(bar * 4 + st / 4) % 8] as f32, beat, true)
        })
    });
    let eighth = s.grid.len(2.0);
    s.notes(-3.0, |s, bar, st| {
        (st % 2 == 0 && dsp::chance(s.rng, 0.5)).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            let m = r + 24.0 + BLUES_SCALE[dsp::pick(s.rng, 6)] as f32;
            crate::synth::pluck::pluck(s.rng, dsp::midi_hz(m), eighth * 3, 0.8, 1.0)
        })
    });
}

fn classical(s: &mut Song) {
    let minor = dsp::chance(s.rng, 0.4);
    let tri: &[i32] = if minor { &MIN } else { &MAJ };
    let prog: [(i32, &[i32]); 4] = [(0, tri), (5, tri), (7, &MAJ), (0, tri)];
    let bar_len = s.grid.len(16.0);
    s.notes(-4.0, |s, bar, st| {
        (st == 0).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            music::pad(s.rng, &chord(r + 12.0, iv), bar_len)
        })
    });
    if dsp::chance(s.rng, 0.5) {
        let eighth = s.grid.len(2.0);
        s.notes(-2.0, |s, bar, st| {
            (st % 2 == 0).then(|| {
                let (r, iv) = s.chord_at(&prog, bar);
                let k = (st / 2) % (iv.len() + 1);
                let m = r + 24.0 + if k < iv.len() { iv[k] as f32 } else { 12.0 };
                music::keys(s.rng, &[m], eighth * 4)
            })
        });
    } else {
        let q = s.grid.len(4.0);
        let scale = [0, 2, 4, 5, 7, 9, 11, 12];
        s.notes(-2.0, |s, bar, st| {
            (st % 4 == 0 && dsp::chance(s.rng, 0.8)).then(|| {
                let (r, _) = s.chord_at(&prog, bar);
                let m = r + 36.0 + scale[dsp::pick(s.rng, 8)] as f32;
                flute_note(m, q)
            })
        });
    }
}

/// A flute-like melody note at MIDI `m`: a near-pure tone with vibrato and a soft attack.
fn flute_note(m: f32, n: usize) -> Vec<f32> {
    let f = dsp::freq_track(n, dsp::midi_hz(m), 1.0, 5.0, 0.006);
    let mut x = dsp::harmonic_tone(
        &f,
        &|k| [1.0, 0.2, 0.08][(k - 1).min(2)] * f32::from(k <= 3),
        0.0,
    );
    dsp::apply_env(&mut x, &dsp::asr(n, 0.06, 0.05));
    x
}

fn country(s: &mut Song) {
    s.drums(
        &[
            (Voice::Kick, "x.......x.......", 0.9),
            (Voice::Snare, "....o.......o...", 1.0),
            (Voice::ClosedHat, "x.x.x.x.x.x.x.x.", 0.3),
        ],
        0.0,
        -8.0,
    );
    let prog: [(i32, &[i32]); 4] = [(0, &MAJ), (5, &MAJ), (7, &MAJ), (0, &MAJ)];
    let beat = s.grid.len(4.0);
    s.notes(-4.0, |s, bar, st| {
        (st % 8 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::bass(s.rng, r + if st == 0 { 0.0 } else { 7.0 }, beat, true)
        })
    });
    s.notes(-3.0, |s, bar, st| {
        (st % 8 == 4 || (st % 4 == 2 && dsp::chance(s.rng, 0.4))).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            let mut notes = chord(r + 12.0, iv);
            notes.extend(chord(r + 24.0, iv));
            music::strum(s.rng, &notes, beat, 0.9, 0.4, 0.008)
        })
    });
    s.notes(-8.0, |s, bar, st| {
        (st % 2 == 0 && dsp::chance(s.rng, 0.25)).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            let m = r + 36.0 + MAJ_PENTA[dsp::pick(s.rng, 5)] as f32;
            crate::synth::pluck::pluck(s.rng, dsp::midi_hz(m), beat, 0.95, 0.6)
        })
    });
}

fn disco(s: &mut Song) {
    s.drums(
        &[
            (Voice::Kick, "x...x...x...x...", 1.0),
            (Voice::OpenHat, "..x...x...x...x.", 0.5),
            (Voice::ClosedHat, "o.o.o.o.o.o.o.o.", 0.5),
            (Voice::Clap, "....x.......x...", 0.7),
        ],
        0.0,
        -5.0,
    );
    let prog: [(i32, &[i32]); 2] = [(0, &MIN7), (5, &MIN7)];
    let eighth = s.grid.len(2.0);
    s.notes(-4.0, |s, bar, st| {
        (st % 2 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::bass(
                s.rng,
                r + if st % 4 == 0 { 0.0 } else { 12.0 },
                eighth,
                false,
            )
        })
    });
    let stab = s.grid.len(dsp::uni(s.rng, 1.5, 3.0));
    s.notes(-6.0, |s, bar, st| {
        (st == 6 || st == 14).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            music::saw_chord(&chord(r + 24.0, iv), stab, 3000.0, 0.01)
        })
    });
}

fn hiphop(s: &mut Song) {
    let kick = ["x......x..x.....", "x.........x..x..", "x..x......x....."][dsp::pick(s.rng, 3)];
    let hats = if dsp::chance(s.rng, 0.5) {
        "xxxxxxxxxxxxxxxx"
    } else {
        "x.x.x.x.x.x.x.x."
    };
    s.drums(
        &[
            (Voice::Kick808, kick, 1.0),
            (Voice::Snare, "....x.......x...", 0.9),
            (Voice::Clap, "....x.......x...", 0.6),
            (Voice::ClosedHat, hats, 0.3),
        ],
        0.0,
        -3.0,
    );
    let prog: [(i32, &[i32]); 2] = [(0, &MIN9), (3, &MIN9)];
    let bar_len = s.grid.len(16.0);
    s.notes(-9.0, |s, bar, st| {
        (st == 0).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            let x = music::keys(s.rng, &chord(r + 24.0, iv), bar_len);
            dsp::filtered(x, dsp::Biquad::lowpass(1800.0, 0.7))
        })
    });
}

fn jazz(s: &mut Song) {
    s.drums(
        &[
            (Voice::Ride, "x...x.x.x...x.x.", 0.6),
            (Voice::ClosedHat, "....x.......x...", 0.4),
            (Voice::Kick, "o.......o.......", 0.5),
            (Voice::Snare, "................", 0.6),
        ],
        0.12,
        -7.0,
    );
    let prog: [(i32, &[i32]); 3] = [(2, &MIN7), (7, &DOM7), (0, &MAJ7)];
    let beat = s.grid.len(4.0);
    s.notes(-3.0, |s, bar, st| {
        (st % 4 == 0).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            let (next, _) = s.chord_at(&prog, bar + 1);
            let m = match st / 4 {
                0 => r,
                1 => r + iv[1 + dsp::pick(s.rng, 2)] as f32,
                2 => r + [7.0, 9.0, 12.0][dsp::pick(s.rng, 3)],
                _ => next + [-1.0, 1.0][dsp::pick(s.rng, 2)],
            };
            music::bass(s.rng, m, beat, true)
        })
    });
    let short = s.grid.len(3.0);
    s.notes(-6.0, |s, bar, st| {
        (st % 2 == 0 && st % 4 != 0 && dsp::chance(s.rng, 0.35)).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            music::keys(s.rng, &chord(r + 24.0, iv), short)
        })
    });
}

fn metal(s: &mut Song) {
    let kick = if s.grid.bpm > 170.0 {
        "x.x.x.x.x.x.x.x."
    } else {
        "xxxxxxxxxxxxxxxx"
    };
    s.drums(
        &[
            (Voice::Kick, kick, 0.9),
            (Voice::Snare, "....x.......x...", 1.0),
            (Voice::Crash, "x...............", 0.7),
        ],
        0.0,
        -5.0,
    );
    let drive = dsp::uni(s.rng, 15.0, 30.0);
    let riff: Vec<f32> = (0..4)
        .map(|_| [0.0, 0.0, 1.0, 3.0, 5.0, 6.0, 7.0][dsp::pick(s.rng, 7)])
        .collect();
    let eighth = s.grid.len(2.0);
    let root = s.root;
    s.notes(-1.0, |s, _bar, st| {
        (st % 2 == 0).then(|| {
            let open = st == 0 && dsp::chance(s.rng, 0.5);
            let len = if open { eighth * 4 } else { eighth };
            music::power_chord(s.rng, root + riff[st / 4], len, drive, !open)
        })
    });
    s.notes(-6.0, |s, _bar, st| {
        (st % 2 == 0).then(|| music::bass(s.rng, root - 12.0 + riff[st / 4], eighth, true))
    });
}

fn pop(s: &mut Song) {
    let kick = ["x.......x.x.....", "x.....x.x......."][dsp::pick(s.rng, 2)];
    s.drums(
        &[
            (Voice::Kick, kick, 1.0),
            (Voice::Snare, "....x.......x...", 0.8),
            (Voice::Clap, "....x.......x...", 0.6),
            (Voice::ClosedHat, "x.x.x.x.x.x.x.x.", 0.35),
        ],
        0.0,
        -5.0,
    );
    let prog: [(i32, &[i32]); 4] = [(0, &MAJ), (7, &MAJ), (9, &MIN), (5, &MAJ)];
    let bar_len = s.grid.len(16.0);
    s.notes(-7.0, |s, bar, st| {
        (st == 0).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            music::saw_chord(&chord(r + 24.0, iv), bar_len, 2500.0, 0.02)
        })
    });
    let eighth = s.grid.len(2.0);
    s.notes(-5.0, |s, bar, st| {
        (st % 2 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::bass(s.rng, r, eighth, false)
        })
    });
    let beat = s.grid.len(4.0);
    s.notes(-3.0, |s, bar, st| {
        (st % 4 == 0 && dsp::chance(s.rng, 0.7)).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            let m = r + 24.0 + MAJ_PENTA[dsp::pick(s.rng, 5)] as f32;
            let len = beat * (1 + dsp::pick(s.rng, 2));
            music::sung(s.rng, m, len)
        })
    });
}

fn reggae(s: &mut Song) {
    s.drums(
        &[
            (Voice::Kick, "........x.......", 1.0),
            (Voice::Rim, "........x.......", 0.8),
            (Voice::ClosedHat, "x.x.x.x.x.x.x.x.", 0.3),
        ],
        0.0,
        -6.0,
    );
    let minor = dsp::chance(s.rng, 0.5);
    let tri: &[i32] = if minor { &MIN } else { &MAJ };
    let prog: [(i32, &[i32]); 2] = [(0, tri), (5, tri)];
    let skank = s.grid.len(dsp::uni(s.rng, 0.6, 1.0));
    let organ = dsp::chance(s.rng, 0.4);
    s.notes(-4.0, |s, bar, st| {
        (st % 4 == 2).then(|| {
            let (r, iv) = s.chord_at(&prog, bar);
            let notes = chord(r + 24.0, iv);
            if organ {
                music::organ(s.rng, &notes, skank)
            } else {
                music::strum(s.rng, &notes, skank, 0.95, 0.15, 0.004)
            }
        })
    });
    let line = [0.0, 3.0, 5.0, 7.0, 10.0, 12.0];
    let beat = s.grid.len(4.0);
    s.notes(-2.0, |s, bar, st| {
        (st != 0 && st % 4 != 2 && st % 2 == 0 && dsp::chance(s.rng, 0.6)).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            let m = r + line[dsp::pick(s.rng, 6)];
            music::bass(s.rng, m, beat, false)
        })
    });
}

fn rock(s: &mut Song) {
    let kick = ["x.......x.x.....", "x.......x......."][dsp::pick(s.rng, 2)];
    s.drums(
        &[
            (Voice::Kick, kick, 1.0),
            (Voice::Snare, "....x.......x...", 1.0),
            (Voice::ClosedHat, "x.x.x.x.x.x.x.x.", 0.4),
            (Voice::Crash, "x...............", 0.4),
        ],
        0.02,
        -5.0,
    );
    let prog: [(i32, &[i32]); 3] = [(0, &[0]), (10, &[0]), (5, &[0])];
    let drive = dsp::uni(s.rng, 3.0, 7.0);
    let eighth = s.grid.len(2.0);
    s.notes(-2.0, |s, bar, st| {
        (st % 2 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::power_chord(s.rng, r + 12.0, eighth, drive, false)
        })
    });
    s.notes(-6.0, |s, bar, st| {
        (st % 2 == 0).then(|| {
            let (r, _) = s.chord_at(&prog, bar);
            music::bass(s.rng, r, eighth, true)
        })
    });
}
