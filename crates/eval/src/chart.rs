//! PNG charts: the report's grouped bars ([`plot_deltas`]: for every column, one bar per
//! finetuned model showing its change against the base ×100, so gains point up and forgetting
//! points down, with a whisker for the paired bootstrap interval of the change when the
//! report has one, and a dot per seed for a row pooling several training seeds) and line
//! charts ([`plot_lines`]: a trainer's loss curves). Text uses DejaVu
//! Sans, embedded (no system fonts needed); files are written to a temporary name and renamed.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::report::Report;

pub(crate) const FONT: &str = "sans-serif";

pub(crate) const COLORS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// Registers DejaVu Sans as plotters' "sans-serif" once per process.
fn register_font() -> std::result::Result<(), String> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the embedded DejaVu Sans is not a valid font".to_string())
    })
    .clone()
}

/// The y range covering every change and zero, with a margin.
fn y_range(report: &Report) -> (f64, f64) {
    let whiskers = report
        .rows
        .iter()
        .skip(1)
        .flat_map(|r| r.changes.iter().flatten())
        .flat_map(|c| [c.low, c.high]);
    let base = report
        .rows
        .first()
        .map(|b| b.values.clone())
        .unwrap_or_default();
    let dots = report.rows.iter().skip(1).flat_map(|r| {
        r.per_seed.iter().flat_map(|values| {
            values
                .iter()
                .zip(&base)
                .filter_map(|(v, b)| Some(v.as_ref()? - b.as_ref()?))
        })
    });
    let ds = report
        .rows
        .iter()
        .skip(1)
        .flat_map(|r| r.deltas.iter().flatten().copied())
        .chain(whiskers)
        .chain(dots)
        .map(|d| 100.0 * d)
        .filter(|d| d.is_finite());
    let (lo, hi) = ds.fold((0.0f64, 0.0f64), |(lo, hi), d| (lo.min(d), hi.max(d)));
    if hi - lo < 1e-9 {
        return (-1.0, 1.0);
    }
    let m = 0.08 * (hi - lo);
    (lo - m, hi + m)
}

/// Runs `draw` on a temporary PNG beside `path` (with the font registered), then renames it
/// into place ([`data::fsutil::write_with`]); nothing is left behind on failure.
pub(crate) fn write_png(
    path: &Path,
    draw: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    let err = |msg: String| Error::Plot {
        path: path.to_path_buf(),
        msg,
    };
    register_font().map_err(err)?;
    data::fsutil::write_with(path, |tmp: &Path| draw(tmp).map_err(err))
}

/// Draws the grouped bars of `report`'s changes to `path`.
pub fn plot_deltas(path: &Path, report: &Report, title: &str) -> Result<()> {
    let n_cols = report.columns.len().max(1);
    let runs = &report.rows[report.rows.len().min(1)..];
    let width = (150 * n_cols as u32).clamp(1024, 4096);
    let (y0, y1) = y_range(report);
    let titles: Vec<String> = report.columns.iter().map(|c| c.title.clone()).collect();
    write_png(path, |tmp| {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let root = BitMapBackend::new(tmp, (width, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n_cols as f64 - 0.5), y0..y1)
            .map_err(|x| e(&x))?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            titles.get(i as usize).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n_cols + 1)
            .x_label_formatter(&label)
            .y_desc("change vs base (x100)")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(|x| e(&x))?;
        chart
            .draw_series(LineSeries::new(
                [(-0.5, 0.0), (n_cols as f64 - 0.5, 0.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(|x| e(&x))?;
        let group = 0.8;
        let w = group / runs.len().max(1) as f64;
        for (k, row) in runs.iter().enumerate() {
            let (r, g, b) = COLORS[k % COLORS.len()];
            let color = RGBColor(r, g, b);
            let bars = row.deltas.iter().enumerate().filter_map(|(c, d)| {
                let d = 100.0 * (*d)?;
                let x0 = c as f64 - group / 2.0 + k as f64 * w;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + w * 0.9, d)],
                    color.filled(),
                ))
            });
            chart
                .draw_series(bars)
                .map_err(|x| e(&x))?
                .label(row.name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
            // The paired interval of each change: a vertical line with caps.
            let whiskers = row.changes.iter().enumerate().flat_map(|(c, ch)| {
                let mid = c as f64 - group / 2.0 + k as f64 * w + w * 0.45;
                let cap = w * 0.2;
                ch.iter()
                    .flat_map(move |ch| {
                        let (lo, hi) = (100.0 * ch.low, 100.0 * ch.high);
                        [
                            [(mid, lo), (mid, hi)],
                            [(mid - cap, lo), (mid + cap, lo)],
                            [(mid - cap, hi), (mid + cap, hi)],
                        ]
                    })
                    .map(|line| PathElement::new(line.to_vec(), BLACK.stroke_width(2)))
            });
            chart.draw_series(whiskers).map_err(|x| e(&x))?;
            // A row pooling several seeds: each seed's own change as a dot (the spread).
            let base = &report.rows[0].values;
            let dots = row.per_seed.iter().flat_map(|values| {
                values.iter().enumerate().filter_map(|(c, v)| {
                    let d = 100.0 * (v.as_ref()? - base.get(c).copied().flatten()?);
                    let mid = c as f64 - group / 2.0 + k as f64 * w + w * 0.45;
                    Some(Circle::new((mid, d), 4, BLACK.mix(0.6).filled()))
                })
            });
            chart.draw_series(dots).map_err(|x| e(&x))?;
        }
        if !runs.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))
    })
}

/// Axis range covering `values` (non-degenerate), with a 5% margin when `pad`.
pub(crate) fn padded_range(values: impl Iterator<Item = f64>, pad: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let m = if pad { 0.05 * (hi - lo) } else { 0.0 };
    (lo - m, hi + m)
}

/// Draws `series` (name, points (x, y)) as a 1024×640 line chart with axis descriptions and a
/// legend. Non-finite points are left out; no series still gives a (blank) chart.
pub fn plot_lines(
    path: &Path,
    series: &[(String, Vec<(f64, f64)>)],
    title: &str,
    (x_desc, y_desc): (&str, &str),
) -> Result<()> {
    let clean: Vec<(&str, Vec<(f64, f64)>)> = series
        .iter()
        .map(|(name, pts)| {
            let finite = pts
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite());
            (name.as_str(), finite.collect())
        })
        .collect();
    let all = || clean.iter().flat_map(|(_, p)| p.iter().copied());
    let (x0, x1) = padded_range(all().map(|p| p.0), false);
    let (y0, y1) = padded_range(all().map(|p| p.1), true);
    write_png(path, |tmp| {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let root = BitMapBackend::new(tmp, (1024, 640)).into_drawing_area();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 26))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(y_desc)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 18))
            .draw()
            .map_err(|x| e(&x))?;
        for (i, (name, pts)) in clean.iter().enumerate() {
            let (r, g, b) = COLORS[i % COLORS.len()];
            let color = RGBColor(r, g, b);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(|x| e(&x))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
        }
        if !clean.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 16))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|x| e(&x))?;
        }
        root.present().map_err(|x| e(&x))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_chart_writes_a_png_and_names_a_bad_path() {
        let run = std::env::temp_dir().join(format!("eval-chart-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir_all(&run).unwrap();
        let path = run.join("loss.png");
        let curve = |a: f64| {
            (1..=50)
                .map(|s| (s as f64, a / (s as f64).sqrt()))
                .collect()
        };
        let mut ac: Vec<(f64, f64)> = curve(3.0);
        ac.push((51.0, f64::NAN));
        let series = vec![
            ("total".to_string(), curve(4.0)),
            ("ac".to_string(), ac),
            ("acc".to_string(), curve(5.0)),
        ];
        plot_lines(&path, &series, "training loss", ("step", "loss")).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 10_000, "{} bytes", bytes.len());
        // Empty input still gives a chart; a missing directory is a clear error.
        plot_lines(&path, &[], "empty", ("step", "loss")).unwrap();
        let err =
            plot_lines(&run.join("no/such/dir.png"), &series, "x", ("step", "loss")).unwrap_err();
        assert!(err.to_string().contains("no/such/dir.png"), "{err}");
        let names: Vec<_> = std::fs::read_dir(&run).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file left");
        std::fs::remove_dir_all(&run).unwrap();
    }
}
