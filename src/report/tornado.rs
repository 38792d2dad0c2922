//! Horizontal-bar charts of the sensitivity tables: the tornado chart of a
//! run (what moves a series, and by how much) and the comparison of first-
//! and total-order Sobol indices of `sharecast sobol`.

use super::charts::{de, decimals, fonts, png, shorten, title_area, Area, Fonts};
use super::tables::Tables;
use super::ReportError;
use crate::model::Model;
use crate::sensitivity::input_label;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Inputs a tornado chart shows.
pub const TOP: usize = 12;

pub(super) const LOW: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(super) const HIGH: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const DEAL: RGBColor = RGBColor(0x88, 0x22, 0x55);

/// A bar's colour: `c` at 85% over white, opaque (plotters fills an
/// opaque rectangle row by row; a translucent one pixel by pixel).
pub(super) trait Tint {
    fn tint(&self) -> RGBColor;
}

impl Tint for RGBColor {
    fn tint(&self) -> RGBColor {
        let f = |c: u8| (0.85 * c as f64 + 0.15 * 255.0).round() as u8;
        RGBColor(f(self.0), f(self.1), f(self.2))
    }
}

pub(super) type BarChart<'c, 'a> =
    ChartContext<'c, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame of a chart of one bar row per input: the labels on the left,
/// the plot, and a note per row on the right. Row `i` (from the top) sits
/// at `y = i` in the plot's coordinates.
pub(super) struct Rows<'a> {
    labels: Area<'a>,
    notes: Area<'a>,
    pub(super) plot: Area<'a>,
}

pub(super) fn rows_frame<'a>(body: &Area<'a>, f: &Fonts) -> (Rows<'a>, Area<'a>) {
    let (w, h) = body.dim_in_pixel();
    let (main, foot) = body.split_vertically(h - f.text * 3);
    let (labels, rest) = main.split_horizontally(w * 39 / 100);
    let (plot, notes) = rest.split_horizontally(w * 45 / 100);
    (
        Rows {
            labels,
            notes,
            plot,
        },
        foot,
    )
}

/// The plot of `rows` bars over `x`, its x axis described by `desc`.
pub(super) fn bar_chart<'c, 'a>(
    frame: &'c Rows<'a>,
    rows: usize,
    x: std::ops::Range<f64>,
    desc: &str,
    format: &dyn Fn(&f64) -> String,
    f: &Fonts,
) -> Result<BarChart<'c, 'a>, ReportError> {
    let n = rows.max(1) as f64;
    let mut chart = ChartBuilder::on(&frame.plot)
        .margin(8)
        .x_label_area_size(f.text * 3)
        .build_cartesian_2d(x, (n - 0.5)..-0.5)
        .map_err(de)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(7)
        .x_label_formatter(format)
        .x_desc(desc)
        .label_style(("sans-serif", f.text))
        .axis_desc_style(("sans-serif", f.text))
        .draw()
        .map_err(de)?;
    Ok(chart)
}

/// Writes each row's label (right-aligned, beside its bar) and note
/// (left-aligned, after the plot).
pub(super) fn label_rows(
    frame: &Rows<'_>,
    chart: &BarChart<'_, '_>,
    rows: &[(String, String)],
    f: &Fonts,
) -> Result<(), ReportError> {
    let (_, ly) = frame.labels.get_base_pixel();
    let (lw, _) = frame.labels.dim_in_pixel();
    let (_, ny) = frame.notes.get_base_pixel();
    let (nw, _) = frame.notes.dim_in_pixel();
    let fit = |w: u32| (w as f64 / (f.text as f64 * 0.55)) as usize;
    let left = ("sans-serif", f.text)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    let right = ("sans-serif", f.text)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, note)) in rows.iter().enumerate() {
        let (_, py) = chart.backend_coord(&(0.0, i as f64));
        frame
            .labels
            .draw(&Text::new(
                shorten(label, fit(lw - 16)),
                (lw as i32 - 8, py - ly),
                left.clone(),
            ))
            .map_err(de)?;
        frame
            .notes
            .draw(&Text::new(
                shorten(note, fit(nw - 12)),
                (8, py - ny),
                right.clone(),
            ))
            .map_err(de)?;
    }
    Ok(())
}

/// A legend in one line.
pub(super) fn legend_line(
    area: &Area<'_>,
    entries: &[(&str, RGBColor)],
    f: &Fonts,
) -> Result<(), ReportError> {
    let mut x = 15;
    let y = f.text as i32 / 2;
    for (label, colour) in entries {
        area.draw(&Rectangle::new(
            [(x, y), (x + f.text as i32, y + f.text as i32)],
            colour.filled(),
        ))
        .map_err(de)?;
        area.draw(&Text::new(
            label.to_string(),
            (x + f.text as i32 * 3 / 2, y),
            ("sans-serif", f.text).into_font().color(&BLACK),
        ))
        .map_err(de)?;
        x += f.text as i32 * 3 + (label.chars().count() as f64 * f.text as f64 * 0.55) as i32;
    }
    Ok(())
}

/// Scale and unit of a series: shares in percentage points, the market in
/// its unit.
fn series_scale(model: &Model, series: &str) -> (f64, String) {
    if series == "market" {
        (1.0, model.unit.clone())
    } else {
        (100.0, "percentage points".into())
    }
}

/// The tornado chart of `series` in `year` (view `all`): the top [`TOP`]
/// inputs by `S1`, each a bar from its swing's low to its high end, as a
/// difference from the series' mean, with `S1` and its interval beside it.
pub fn tornado(
    path: &Path,
    t: &Tables,
    series: &str,
    year: i32,
    size: (u32, u32),
) -> Result<(), ReportError> {
    let m = &t.model;
    let f = fonts(size.1);
    let label = m.series_label_of(series);
    let rows: Vec<_> = t
        .sensitivity
        .iter()
        .filter(|r| r.scenario == "all" && r.year == year && r.series == series)
        .take(TOP)
        .collect();
    let mean = t.get("all", year, series).map_or(0.0, |r| r.mean);
    let (k, unit) = series_scale(m, series);
    let shown_mean = if series == "market" {
        format!("{mean:.0} {}", m.unit)
    } else {
        format!("{:.1}%", 100.0 * mean)
    };
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
        root,
        m,
        &format!("What drives {label} in {year}"),
        &format!(
            "Bars: the mean when an input is in its lowest or highest tenth, less the mean of all futures ({shown_mean}). Right: S1 [90% interval]."
        ),
        &f,
    )?;
        let (frame, foot) = rows_frame(&body, &f);
        let (mut lo, mut hi) = (0.0f64, 0.0f64);
        for r in &rows {
            for v in [r.swing.0, r.swing.1] {
                lo = lo.min(k * (v - mean));
                hi = hi.max(k * (v - mean));
            }
        }
        let pad = 0.06 * (hi - lo).max(1e-9);
        let dec = decimals(hi - lo);
        let fmt = |x: &f64| format!("{:+.*}", dec, x);
        let chart = bar_chart(
            &frame,
            rows.len(),
            (lo - pad)..(hi + pad),
            &format!("difference from the mean, {unit}"),
            &fmt,
            &f,
        )?;
        if rows.is_empty() {
            frame
                .plot
                .draw(&Text::new(
                    "no uncertain inputs: every prior of this model is fixed",
                    (f.text as i32 * 2, f.text as i32 * 4),
                    ("sans-serif", f.text).into_font().color(&BLACK),
                ))
                .map_err(de)?;
        }
        let mut chart = chart;
        for (i, r) in rows.iter().enumerate() {
            let y = i as f64;
            let (a, b) = (k * (r.swing.0 - mean), k * (r.swing.1 - mean));
            if r.input.starts_with("deal:") {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(a.min(b), y - 0.32), (a.max(b), y + 0.32)],
                        DEAL.tint().filled(),
                    )))
                    .map_err(de)?;
            } else {
                for (v, colour) in [(a, LOW), (b, HIGH)] {
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(0.0, y - 0.32), (v, y + 0.32)],
                            colour.tint().filled(),
                        )))
                        .map_err(de)?;
                }
            }
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, rows.len() as f64 - 0.5), (0.0, -0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(de)?;
        let texts: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    input_label(m, &r.input),
                    format!("S1 {:.2} [{:.2}, {:.2}]", r.s1, r.interval.0, r.interval.1),
                )
            })
            .collect();
        label_rows(&frame, &chart, &texts, &f)?;
        legend_line(
            &foot,
            &[
                ("input in its lowest tenth", LOW),
                ("input in its highest tenth", HIGH),
                ("deal: lowest to highest outcome mean", DEAL),
            ],
            &f,
        )?;
        Ok(())
    })
}

/// One input of a Sobol chart: its words, `S1` and `ST` with their
/// intervals.
pub struct SobolBar {
    /// The input in words.
    pub label: String,
    /// First-order index and its interval.
    pub s1: (f64, f64, f64),
    /// Total-order index and its interval.
    pub st: (f64, f64, f64),
}

/// First- against total-order indices of the top inputs (by `ST`) of one
/// output: two bars per input with their 90% intervals.
pub fn sobol_chart(
    path: &Path,
    model: &Model,
    (title, subtitle): (&str, &str),
    bars: &[SobolBar],
    size: (u32, u32),
) -> Result<(), ReportError> {
    super::register_fonts();
    let f = fonts(size.1);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(root, model, title, subtitle, &f)?;
        let (frame, foot) = rows_frame(&body, &f);
        let lo = bars
            .iter()
            .flat_map(|b| [b.s1.1, b.st.1, 0.0])
            .fold(0.0f64, f64::min);
        let hi = bars
            .iter()
            .flat_map(|b| [b.s1.2, b.st.2, b.st.0])
            .fold(0.1f64, f64::max);
        let pad = 0.04 * (hi - lo);
        let fmt = |x: &f64| format!("{x:.2}");
        let mut chart = bar_chart(
            &frame,
            bars.len(),
            (lo - pad)..(hi + pad),
            "index (share of the output's variance)",
            &fmt,
            &f,
        )?;
        for (i, b) in bars.iter().enumerate() {
            let y = i as f64;
            for ((v, l, h), colour, off) in [(b.s1, LOW, -0.19), (b.st, HIGH, 0.19)] {
                let yc = y + off;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, yc - 0.16), (v, yc + 0.16)],
                        colour.tint().filled(),
                    )))
                    .map_err(de)?;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(l, yc), (h, yc)],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(de)?;
            }
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, bars.len() as f64 - 0.5), (0.0, -0.5)],
                BLACK.stroke_width(1),
            )))
            .map_err(de)?;
        let texts: Vec<(String, String)> = bars
            .iter()
            .map(|b| {
                (
                    b.label.clone(),
                    format!("S1 {:.2}, ST {:.2}", b.s1.0, b.st.0),
                )
            })
            .collect();
        label_rows(&frame, &chart, &texts, &f)?;
        legend_line(
            &foot,
            &[("S1 (first order)", LOW), ("ST (total order)", HIGH)],
            &f,
        )?;
        Ok(())
    })
}
