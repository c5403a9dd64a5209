//! The report's PNG: for every column, one bar per finetuned model showing its change against
//! the base (×100), so gains point up and forgetting points down. Text uses DejaVu Sans,
//! embedded (no system fonts needed).

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::io::tmp_path;
use crate::report::Report;

const FONT: &str = "sans-serif";

const COLORS: [(u8, u8, u8); 8] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
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
    let ds = report
        .rows
        .iter()
        .skip(1)
        .flat_map(|r| r.deltas.iter().flatten())
        .map(|d| 100.0 * d)
        .filter(|d| d.is_finite());
    let (lo, hi) = ds.fold((0.0f64, 0.0f64), |(lo, hi), d| (lo.min(d), hi.max(d)));
    if hi - lo < 1e-9 {
        return (-1.0, 1.0);
    }
    let m = 0.08 * (hi - lo);
    (lo - m, hi + m)
}

/// Draws the grouped bars of `report`'s changes to `path` (temporary file, then rename).
pub fn plot_deltas(path: &Path, report: &Report, title: &str) -> Result<()> {
    let err = |msg: String| Error::Plot {
        path: path.to_path_buf(),
        msg,
    };
    register_font().map_err(err)?;
    let n_cols = report.columns.len().max(1);
    let runs = &report.rows[report.rows.len().min(1)..];
    let width = (150 * n_cols as u32).clamp(1024, 4096);
    let (y0, y1) = y_range(report);
    let titles: Vec<String> = report.columns.iter().map(|c| c.title.clone()).collect();
    let tmp = tmp_path(path).with_extension("png");
    let drawn = (|| -> std::result::Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        let root = BitMapBackend::new(&tmp, (width, 640)).into_drawing_area();
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
    })();
    if let Err(msg) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(msg));
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, "cannot rename the chart into place", source)
    })
}
