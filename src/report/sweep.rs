//! The chart of a sweep: a series' final-year median and 90% range against
//! the swept values, one line per view, one panel per value of a second
//! swept field.

use super::charts::{de, decimals, fonts, outcome_colour, png, shorten, title_area};
use super::ReportError;
use crate::model::Model;
use plotters::prelude::*;
use std::path::Path;

/// One line of a panel: its label and, per swept value (by index), p05,
/// p50 and p95.
pub struct Line {
    /// Legend label.
    pub label: String,
    /// `(value index, p05, p50, p95)`.
    pub points: Vec<(usize, f64, f64, f64)>,
}

/// Draws `sweep_<series>.png`.
pub fn sweep_chart(
    path: &Path,
    model: &Model,
    (title, unit): (&str, &str),
    (field, values): (&str, &[String]),
    panels: &[(String, Vec<Line>)],
    size: (u32, u32),
) -> Result<(), ReportError> {
    super::register_fonts();
    let f = fonts(size.1);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, lines) in panels {
        for l in lines {
            for &(_, a, _, b) in &l.points {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
    }
    if !(lo.is_finite() && hi.is_finite()) {
        return Err(ReportError::Draw("a sweep chart with no values".into()));
    }
    let pad = 0.06 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let dec = decimals(hi - lo);
    let n = values.len();
    let lines_per_panel = panels.first().map_or(1, |p| p.1.len()).max(1);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
            root,
            model,
            title,
            "Dot: median; whisker: 90% of futures (p05–p95); one colour per view. The variants share their futures.",
            &f,
        )?;
        let (w, h) = body.dim_in_pixel();
        let (plots, key) = body.split_vertically(h - f.text * 3);
        let cells = plots.split_evenly((1, panels.len().max(1)));
        for ((caption, lines), cell) in panels.iter().zip(cells.iter()) {
            let (cw, _) = cell.dim_in_pixel();
            let label_fmt = |x: &f64| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    shorten(
                        &values[i as usize],
                        (cw as usize / n.max(1)) / (f.text as usize / 2).max(1),
                    )
                } else {
                    String::new()
                }
            };
            let y_fmt = |y: &f64| format!("{y:.dec$}");
            let mut chart = ChartBuilder::on(cell)
                .caption(caption.as_str(), ("sans-serif", f.caption))
                .margin(10)
                .x_label_area_size(f.text * 3)
                .y_label_area_size(f.text * 5)
                .build_cartesian_2d(-0.5..(n as f64 - 0.5), lo..hi)
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_labels(n.max(2) * 2 + 1)
                .x_label_formatter(&label_fmt)
                .x_desc(field)
                .y_label_formatter(&y_fmt)
                .y_desc(unit)
                .label_style(("sans-serif", f.text))
                .disable_x_mesh()
                .draw()
                .map_err(de)?;
            for (l, line) in lines.iter().enumerate() {
                let colour = if l == 0 { BLACK } else { outcome_colour(l - 1) };
                // Lines side by side within a value's slot.
                let off = (l as f64 - (lines_per_panel as f64 - 1.0) / 2.0) * 0.5
                    / lines_per_panel as f64;
                let pts: Vec<(f64, f64)> = line
                    .points
                    .iter()
                    .map(|&(x, _, m, _)| (x as f64 + off, m))
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                    .map_err(de)?;
                for &(x, a, m, b) in &line.points {
                    let x = x as f64 + off;
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x, a), (x, b)],
                            colour.stroke_width(2),
                        )))
                        .map_err(de)?;
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (x, m),
                            f.text as i32 / 3 + 2,
                            colour.filled(),
                        )))
                        .map_err(de)?;
                }
            }
        }
        // Legend.
        let mut x = 15;
        let y = f.text as i32 / 2;
        if let Some((_, lines)) = panels.first() {
            for (l, line) in lines.iter().enumerate() {
                let colour = if l == 0 { BLACK } else { outcome_colour(l - 1) };
                key.draw(&Rectangle::new(
                    [(x, y), (x + f.text as i32, y + f.text as i32)],
                    colour.filled(),
                ))
                .map_err(de)?;
                key.draw(&Text::new(
                    line.label.clone(),
                    (x + f.text as i32 * 3 / 2, y),
                    ("sans-serif", f.text).into_font().color(&BLACK),
                ))
                .map_err(de)?;
                x += f.text as i32 * 3
                    + (line.label.chars().count() as f64 * f.text as f64 * 0.6) as i32;
                if x > w as i32 - 200 {
                    break;
                }
            }
        }
        Ok(())
    })
}
