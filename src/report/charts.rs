//! The charts (plotters, PNG, embedded DejaVu font). Each function draws
//! one PNG from the tables and returns nothing but errors.

use super::tables::Tables;
use super::ReportError;
use crate::model::{Model, Series};
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type TimeChart<'c, 'a> =
    ChartContext<'c, BitMapBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Okabe & Ito (2008) colour-blind-safe palette, then Paul Tol's muted
/// palette for more series.
const PALETTE: [RGBColor; 17] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
    RGBColor(0x55, 0x55, 0x55),
    RGBColor(0x33, 0x22, 0x88),
    RGBColor(0x88, 0xCC, 0xEE),
    RGBColor(0x44, 0xAA, 0x99),
    RGBColor(0x11, 0x77, 0x33),
    RGBColor(0x99, 0x99, 0x33),
    RGBColor(0xDD, 0xCC, 0x77),
    RGBColor(0xCC, 0x66, 0x77),
    RGBColor(0x88, 0x22, 0x55),
    RGBColor(0xAA, 0x44, 0x99),
];

/// Colour of a platform (by index) or group (after the platforms).
pub fn series_colour(model: &Model, s: Series) -> RGBColor {
    match s {
        Series::Platform(p) => PALETTE[p % PALETTE.len()],
        Series::Group(g) => PALETTE[(model.platforms.len() + g) % PALETTE.len()],
        Series::Market => BLACK,
    }
}

/// Colour of outcome `o` of any deal (the mixture `all` is black).
pub fn outcome_colour(o: usize) -> RGBColor {
    PALETTE[o % PALETTE.len()]
}

/// Draws a chart with `draw` into memory and writes it to `path` as a PNG,
/// compressed fast (the default's adaptive filtering and deflate level
/// took three quarters of a chart's time, for files half the size).
pub(super) fn png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    thread_local! {
        // One canvas per thread, reused chart after chart (a fresh one is
        // 5 MB of new pages to fault in each time).
        static CANVAS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    CANVAS.with_borrow_mut(|buf| {
        buf.resize(size.0 as usize * size.1 as usize * 3, 0);
        {
            let root = BitMapBackend::with_buffer(buf, size).into_drawing_area();
            draw(&root)?;
            root.present().map_err(de)?;
        }
        encode_png(path, buf, size)
    })
}

/// Writes an RGB buffer to `path` as a PNG: fast deflate and the Paeth
/// filter on every row (on these charts within 5% of the adaptive
/// filter's size, which tries all five per row, at four fifths of the
/// time).
fn encode_png(path: &Path, buf: &[u8], size: (u32, u32)) -> Result<(), ReportError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let file = std::fs::File::create(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = std::io::BufWriter::new(file);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Paeth)
        .write_image(buf, size.0, size.1, image::ColorType::Rgb8)
        .map_err(de)?;
    std::io::Write::flush(&mut out).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

pub(super) fn de<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Draw(e.to_string())
}

/// Font sizes scale with the chart height (1000 px: title 30, text 18).
pub(super) struct Fonts {
    pub(super) title: u32,
    pub(super) caption: u32,
    pub(super) text: u32,
}

pub(super) fn fonts(h: u32) -> Fonts {
    Fonts {
        title: (h / 33).max(14),
        caption: (h / 50).max(11),
        text: (h / 56).max(10),
    }
}

/// A panel: the view it shows and its caption.
pub struct Panel {
    /// View name in the tables.
    pub view: String,
    /// Caption.
    pub caption: String,
    /// Line colour.
    pub colour: RGBColor,
}

/// `all` plus every outcome of every deal.
pub fn outcome_panels(model: &Model) -> Vec<Panel> {
    let mut v = vec![Panel {
        view: "all".into(),
        caption: "All scenarios (probability-weighted)".into(),
        colour: BLACK,
    }];
    for d in &model.deals {
        for (o, out) in d.outcomes.iter().enumerate() {
            v.push(Panel {
                view: format!("{}={}", d.id, out.id),
                caption: format!("{}: {}", d.id, out.label),
                colour: outcome_colour(o),
            });
        }
    }
    v
}

pub(super) fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn grid(n: usize, w: u32, h: u32) -> (usize, usize) {
    let aspect = w as f64 / h as f64;
    let cols = ((n as f64 * aspect * 0.6).sqrt().ceil() as usize).clamp(1, n.max(1));
    let rows = n.div_ceil(cols);
    (rows, cols)
}

/// Scale and axis text of a series: shares in %, market in the unit.
pub(super) fn scale(model: &Model, series: &str) -> (f64, String) {
    if series == "market" {
        (1.0, model.unit.clone())
    } else {
        (100.0, "share of spend, %".into())
    }
}

pub(super) fn title_area<'a>(
    root: &Area<'a>,
    model: &Model,
    title: &str,
    subtitle: &str,
    f: &Fonts,
) -> Result<Area<'a>, ReportError> {
    let (w, _) = root.dim_in_pixel();
    let (top, rest) = root.split_vertically(f.title + f.caption * 3 + 24);
    let fit = |size: u32| (w as f64 / (size as f64 * 0.6)) as usize;
    let mut chars = title.chars();
    let title: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    top.draw(&Text::new(
        shorten(&title, fit(f.title)),
        (15, 8),
        ("sans-serif", f.title).into_font().color(&BLACK),
    ))
    .map_err(de)?;
    let grey = RGBColor(0x44, 0x44, 0x44);
    top.draw(&Text::new(
        shorten(
            &format!(
                "{} · {} · {}–{}",
                model.title, model.unit, model.start_year, model.end_year
            ),
            fit(f.caption),
        ),
        (15, 14 + f.title as i32),
        ("sans-serif", f.caption).into_font().color(&grey),
    ))
    .map_err(de)?;
    top.draw(&Text::new(
        shorten(subtitle, fit(f.caption)),
        (15, 18 + f.title as i32 + f.caption as i32 + 4),
        ("sans-serif", f.caption).into_font().color(&grey),
    ))
    .map_err(de)?;
    Ok(rest)
}

/// Decimals that keep axis labels distinct over a range of `span`.
pub(super) fn decimals(span: f64) -> usize {
    if span >= 8.0 {
        0
    } else if span >= 0.8 {
        1
    } else if span >= 0.08 {
        2
    } else {
        3
    }
}

/// How many year labels fit on an x axis `width` pixels wide.
fn year_labels(width: u32, years: usize, f: &Fonts) -> usize {
    ((width / (f.text * 4)) as usize).clamp(2, years.max(2))
}

/// A legend strip: coloured swatches with labels, one per line.
fn legend(area: &Area<'_>, entries: &[(String, RGBColor)], f: &Fonts) -> Result<(), ReportError> {
    let (w, _) = area.dim_in_pixel();
    let line = (f.text as i32 * 3) / 2;
    for (i, (label, colour)) in entries.iter().enumerate() {
        let y = 20 + i as i32 * line;
        area.draw(&Rectangle::new(
            [(8, y), (8 + f.text as i32, y + f.text as i32)],
            colour.filled(),
        ))
        .map_err(de)?;
        let max =
            ((w as i32 - 20 - f.text as i32) as f64 / (f.text as f64 * 0.55)).max(4.0) as usize;
        area.draw(&Text::new(
            shorten(label, max),
            (14 + f.text as i32, y),
            ("sans-serif", f.text).into_font().color(&BLACK),
        ))
        .map_err(de)?;
    }
    Ok(())
}

pub(super) fn band(points_hi: &[(f64, f64)], points_lo: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut v = points_hi.to_vec();
    v.extend(points_lo.iter().rev());
    v
}

/// A panel with the years on x: caption, axes and grid drawn; the y axis
/// spans `y` with labels from `y_fmt` and the description `y_desc`.
pub(super) fn time_panel<'c, 'a>(
    cell: &'c Area<'a>,
    m: &Model,
    caption: &str,
    y: std::ops::Range<f64>,
    y_fmt: &dyn Fn(&f64) -> String,
    y_desc: &str,
    f: &Fonts,
) -> Result<TimeChart<'c, 'a>, ReportError> {
    let (cw, _) = cell.dim_in_pixel();
    let years = (m.end_year - m.start_year + 1) as usize;
    let mut chart = ChartBuilder::on(cell)
        .caption(
            shorten(caption, (cw as f64 / (f.caption as f64 * 0.55)) as usize),
            ("sans-serif", f.caption),
        )
        .margin(8)
        .margin_right(f.text * 2)
        .x_label_area_size(f.text * 3)
        .y_label_area_size(f.text * 5)
        .build_cartesian_2d(m.start_year as f64..m.end_year as f64, y)
        .map_err(de)?;
    chart
        .configure_mesh()
        .x_labels(year_labels(cw, years, f))
        .x_label_formatter(&|x| format!("{:.0}", x))
        .x_desc("year")
        .y_label_formatter(y_fmt)
        .y_desc(y_desc)
        .label_style(("sans-serif", f.text))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(de)?;
    Ok(chart)
}

/// One fan-chart panel: its view and, per year, p05, p25, p50, p75, p95.
pub type FanPanel = (String, Vec<(i32, [f64; 5])>);

/// The numbers behind a fan chart: per panel (view), per year, the
/// p05, p25, p50, p75 and p95 of the series, scaled to the axis (% or unit).
pub fn fan_data(t: &Tables, series: &str) -> Vec<FanPanel> {
    let m = &t.model;
    let (k, _) = scale(m, series);
    outcome_panels(m)
        .into_iter()
        .map(|p| {
            let pts = (m.start_year..=m.end_year)
                .filter_map(|y| t.get(&p.view, y, series).map(|r| (y, r.q.map(|q| q * k))))
                .collect();
            (p.view, pts)
        })
        .collect()
}

/// Fan chart of one series: median, 50% and 90% bands, one panel per
/// outcome plus `all`, sharing the y axis.
pub fn fan(path: &Path, t: &Tables, series: &str, size: (u32, u32)) -> Result<(), ReportError> {
    let m = &t.model;
    let f = fonts(size.1);
    let (_, axis) = scale(m, series);
    let panels = outcome_panels(m);
    let data = fan_data(t, series);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, pts) in &data {
        for (_, q) in pts {
            lo = lo.min(q[0]);
            hi = hi.max(q[4]);
        }
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Err(ReportError::Draw(format!(
            "no summary rows for series '{series}'"
        )));
    }
    let pad = 0.05 * (hi - lo);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let dec = decimals(hi - lo);
    let label = m.series_label_of(series);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let what = if series == "market" {
            format!("market size, {}", m.unit)
        } else {
            format!("{label} share of spend")
        };
        let body = title_area(
        root,
        m,
        &format!("{what}, {}–{}{}", m.start_year, m.end_year, if m.deals.is_empty() { "" } else { ", by deal outcome" }),
        "Line: median. Dark band: 50% of futures (p25–p75). Light band: 90% (p05–p95). Panels share the y axis.",
        &f,
    )?;
        let (rows, cols) = grid(panels.len(), size.0, size.1);
        let cells = body.split_evenly((rows, cols));
        let y_fmt = |y: &f64| {
            if series == "market" {
                format!("{:.*}", dec, y)
            } else {
                format!("{:.*}%", dec, y)
            }
        };
        for (p, cell) in panels.iter().zip(cells.iter()) {
            let mut chart = time_panel(cell, m, &p.caption, lo..hi, &y_fmt, &axis, &f)?;
            let own = data
                .iter()
                .find(|(v, _)| *v == p.view)
                .map_or(&[][..], |(_, v)| &v[..]);
            let pts = |i: usize| -> Vec<(f64, f64)> {
                own.iter().map(|(y, q)| (*y as f64, q[i])).collect()
            };
            let colour = p.colour;
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(&pts(4), &pts(0)),
                    colour.mix(0.18),
                )))
                .map_err(de)?;
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(&pts(3), &pts(1)),
                    colour.mix(0.38),
                )))
                .map_err(de)?;
            chart
                .draw_series(LineSeries::new(pts(2), colour.stroke_width(3)))
                .map_err(de)?;
        }
        Ok(())
    })
}

/// Horizon distributions: one panel per deal, one density per outcome
/// (and `all`, dashed in black), medians marked.
pub fn horizon(
    path: &Path,
    t: &Tables,
    series: &str,
    year: i32,
    size: (u32, u32),
) -> Result<(), ReportError> {
    let m = &t.model;
    let f = fonts(size.1);
    let (k, _) = scale(m, series);
    let rows: Vec<_> = t
        .horizon
        .iter()
        .filter(|r| r.series == series && r.year == year)
        .collect();
    if rows.is_empty() {
        return Err(ReportError::Draw(format!(
            "no horizon rows for '{series}' in {year}"
        )));
    }
    let x0 = rows.iter().map(|r| r.lo).fold(f64::INFINITY, f64::min) * k;
    let x1 = rows.iter().map(|r| r.hi).fold(f64::NEG_INFINITY, f64::max) * k;
    let ymax = rows.iter().map(|r| r.density / k).fold(0.0, f64::max) * 1.1;
    let xdec = decimals(x1 - x0);
    let label = m.series_label_of(series);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let unit_x = if series == "market" {
            m.unit.clone()
        } else {
            "share of spend, %".to_string()
        };
        let body = title_area(
        root,
        m,
        &format!("{label} in {year}: distribution under each deal outcome"),
        "Each curve: probability density over futures for one outcome (dashed black: all scenarios). Short ticks at the bottom: medians.",
        &f,
    )?;
        let deals: Vec<usize> = (0..m.deals.len()).collect();
        let n = deals.len().max(1);
        let (gr, gc) = grid(n, size.0, size.1);
        let cells = body.split_evenly((gr, gc));
        let median = |view: &str| t.get(view, year, series).map(|r| r.q[2] * k);
        for (i, cell) in cells.iter().enumerate().take(n) {
            let (cw, _) = cell.dim_in_pixel();
            let caption = m.deals.get(i).map_or("all scenarios".to_string(), |d| {
                format!("{}: {}", d.id, d.label)
            });
            let mut chart = ChartBuilder::on(cell)
                .caption(
                    shorten(&caption, (cw as f64 / (f.caption as f64 * 0.55)) as usize),
                    ("sans-serif", f.caption),
                )
                .margin(8)
                .margin_right(f.text * 2)
                .x_label_area_size(f.text * 3)
                .y_label_area_size(f.text * 5)
                .build_cartesian_2d(x0..x1, 0.0..ymax)
                .map_err(de)?;
            chart
                .configure_mesh()
                .x_desc(unit_x.as_str())
                .y_desc("density")
                .x_label_formatter(&|x| {
                    if series == "market" {
                        format!("{:.*}", xdec, x)
                    } else {
                        format!("{:.*}%", xdec, x)
                    }
                })
                .label_style(("sans-serif", f.text))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(de)?;
            let mut curves: Vec<(String, String, RGBColor, bool)> =
                vec![("all".into(), "all scenarios".into(), BLACK, true)];
            if let Some(d) = m.deals.get(i) {
                for (o, out) in d.outcomes.iter().enumerate() {
                    curves.push((
                        format!("{}={}", d.id, out.id),
                        out.id.clone(),
                        outcome_colour(o),
                        false,
                    ));
                }
            }
            for (view, name, colour, dashed) in &curves {
                let mut pts = Vec::new();
                for r in rows.iter().filter(|r| &r.scenario == view) {
                    pts.push((r.lo * k, r.density / k));
                    pts.push((r.hi * k, r.density / k));
                }
                if pts.is_empty() {
                    continue;
                }
                let style = colour.stroke_width(if *dashed { 2 } else { 3 });
                let s = if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(pts, 8, 6, style))
                        .map_err(de)?
                } else {
                    chart.draw_series(LineSeries::new(pts, style)).map_err(de)?
                };
                let c = *colour;
                s.label(name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                });
                if let Some(md) = median(view) {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(md, 0.0), (md, ymax * 0.08)],
                            colour.stroke_width(3),
                        )))
                        .map_err(de)?;
                }
            }
            chart
                .configure_series_labels()
                .label_font(("sans-serif", f.text))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(0xAA, 0xAA, 0xAA))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(de)?;
        }
        Ok(())
    })
}

/// Mean spend share by platform over time, stacked (means add to one),
/// for `all` and each outcome of the first deal.
pub fn stacked(path: &Path, t: &Tables, size: (u32, u32)) -> Result<(), ReportError> {
    let m = &t.model;
    let f = fonts(size.1);
    let mut panels = vec![("all".to_string(), "All scenarios".to_string())];
    if let Some(d) = m.deals.first() {
        for out in &d.outcomes {
            panels.push((
                format!("{}={}", d.id, out.id),
                format!("{}: {}", d.id, out.label),
            ));
        }
    }
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
        root,
        m,
        &format!("Mean share of spend by platform, {}–{}", m.start_year, m.end_year),
        "Stacked means over futures (means add to 100%; medians would not). Panels: all scenarios and each outcome of the first deal.",
        &f,
    )?;
        let (plot, key) = body.split_horizontally(size.0 * 82 / 100);
        let (gr, gc) = grid(panels.len(), size.0 * 82 / 100, size.1);
        let cells = plot.split_evenly((gr, gc));
        let years: Vec<i32> = (m.start_year..=m.end_year).collect();
        for ((view, caption), cell) in panels.iter().zip(cells.iter()) {
            let pct = |y: &f64| format!("{:.0}%", y);
            let mut chart = time_panel(
                cell,
                m,
                caption,
                0.0..100.0,
                &pct,
                "mean share of spend, %",
                &f,
            )?;
            let mut lower = vec![0.0; years.len()];
            for (p, plat) in m.platforms.iter().enumerate() {
                let upper: Vec<f64> = years
                    .iter()
                    .zip(&lower)
                    .map(|(&y, l)| l + t.get(view, y, &plat.id).map_or(0.0, |r| r.mean * 100.0))
                    .collect();
                let hi: Vec<(f64, f64)> = years
                    .iter()
                    .zip(&upper)
                    .map(|(&y, &u)| (y as f64, u))
                    .collect();
                let lo: Vec<(f64, f64)> = years
                    .iter()
                    .zip(&lower)
                    .map(|(&y, &l)| (y as f64, l))
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band(&hi, &lo),
                        series_colour(m, Series::Platform(p)).filled(),
                    )))
                    .map_err(de)?;
                lower = upper;
            }
        }
        let entries: Vec<(String, RGBColor)> = m
            .platforms
            .iter()
            .enumerate()
            .map(|(p, pl)| (pl.label.clone(), series_colour(m, Series::Platform(p))))
            .rev()
            .collect();
        legend(&key, &entries, &f)?;
        Ok(())
    })
}

/// Deal impact: one panel per non-baseline outcome, the paired difference
/// against the baseline for each focus share series (mean line, 90% band),
/// in percentage points, with a zero line.
pub fn impact(path: &Path, t: &Tables, deal: usize, size: (u32, u32)) -> Result<(), ReportError> {
    let m = &t.model;
    let d = &m.deals[deal];
    let f = fonts(size.1);
    let focus: Vec<Series> = m
        .focus
        .iter()
        .copied()
        .filter(|s| *s != Series::Market)
        .collect();
    let outcomes: Vec<usize> = (0..d.outcomes.len()).filter(|&o| o != d.baseline).collect();
    let rows: Vec<_> = t.impact.iter().filter(|r| r.deal == d.id).collect();
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for r in &rows {
        if focus.iter().any(|s| m.series_id(*s) == r.series) {
            lo = lo.min(r.stats[1] * 100.0);
            hi = hi.max(r.stats[3] * 100.0);
        }
    }
    let pad = 0.08 * (hi - lo).max(0.5);
    let (lo, hi) = (lo - pad, hi + pad);
    let ydec = decimals(hi - lo);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let base = &d.outcomes[d.baseline];
        let body = title_area(
        root,
        m,
        &format!("What the deal changes: {}", d.label),
        &format!(
            "Outcome minus baseline '{}' on the same futures, other deals held equal. Line: mean; band: 90% of futures.",
            base.id
        ),
        &f,
    )?;
        let (plot, key) = body.split_horizontally(size.0 * 82 / 100);
        let (gr, gc) = grid(outcomes.len().max(1), size.0 * 82 / 100, size.1);
        let cells = plot.split_evenly((gr, gc));
        let years: Vec<i32> = (m.start_year..=m.end_year).collect();
        let pp = |y: &f64| format!("{:+.*} pp", ydec, y);
        for (&o, cell) in outcomes.iter().zip(cells.iter()) {
            let caption = format!("{} − {}", d.outcomes[o].label, base.label);
            let mut chart = time_panel(
                cell,
                m,
                &caption,
                lo..hi,
                &pp,
                "difference in share, percentage points",
                &f,
            )?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(m.start_year as f64, 0.0), (m.end_year as f64, 0.0)],
                    BLACK.stroke_width(1),
                )))
                .map_err(de)?;
            if !rows.iter().any(|r| r.outcome == d.outcomes[o].id) {
                cell.draw(&Text::new(
                "no paired futures: the baseline counterpart of every scenario with this outcome has probability 0",
                (f.text as i32 * 6, f.text as i32 * 4),
                ("sans-serif", f.text).into_font().color(&BLACK),
            ))
            .map_err(de)?;
                continue;
            }
            for s in &focus {
                let id = m.series_id(*s);
                let colour = series_colour(m, *s);
                let pts = |i: usize| -> Vec<(f64, f64)> {
                    years
                        .iter()
                        .filter_map(|&y| {
                            rows.iter()
                                .find(|r| {
                                    r.outcome == d.outcomes[o].id && r.year == y && r.series == id
                                })
                                .map(|r| (y as f64, r.stats[i] * 100.0))
                        })
                        .collect()
                };
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        band(&pts(3), &pts(1)),
                        colour.mix(0.2),
                    )))
                    .map_err(de)?;
                chart
                    .draw_series(LineSeries::new(pts(0), colour.stroke_width(3)))
                    .map_err(de)?;
            }
        }
        let entries: Vec<(String, RGBColor)> = focus
            .iter()
            .map(|s| (m.series_label(*s), series_colour(m, *s)))
            .collect();
        legend(&key, &entries, &f)?;
        Ok(())
    })
}

/// Threshold probabilities per outcome and `all`, with 95% Monte Carlo
/// error bars (±1.96 se).
pub fn thresholds(path: &Path, t: &Tables, size: (u32, u32)) -> Result<(), ReportError> {
    let m = &t.model;
    let f = fonts(size.1);
    let panels = outcome_panels(m);
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
            root,
            m,
            "Threshold probabilities by deal outcome",
            "Dot: probability over futures; bar: 95% Monte Carlo interval (±1.96 standard errors).",
            &f,
        )?;
        let n = m.thresholds.len().max(1);
        let cells = body.split_evenly((n, 1));
        let names: Vec<String> = panels.iter().map(|p| p.view.clone()).collect();
        for (i, th) in m.thresholds.iter().enumerate() {
            let id = m.series_id(th.series);
            let kind = if th.above { "above" } else { "below" };
            let caption = format!(
                "P({} share {kind} {:.0}% in {})",
                m.series_label(th.series),
                th.level * 100.0,
                th.year
            );
            // Row labels shrink when many outcomes share a panel, so they never overlap.
            let (_, cell_h) = cells[i].dim_in_pixel();
            let rows = names.len().max(1) as u32;
            let label_px =
                (cell_h.saturating_sub(f.caption + f.text * 4) * 8 / 10 / rows).clamp(8, f.text);
            let label_w =
                names.iter().map(|s| s.chars().count()).max().unwrap_or(10) as u32 * label_px * 55
                    / 100
                    + 20;
            let mut chart = ChartBuilder::on(&cells[i])
                .caption(caption, ("sans-serif", f.caption))
                .margin(8)
                .margin_right(f.text * 2)
                .x_label_area_size(f.text * 3)
                .y_label_area_size(label_w)
                .build_cartesian_2d(0.0..100.0, -0.5..(names.len() as f64 - 0.5))
                .map_err(de)?;
            let names_ref = &names;
            chart
                .configure_mesh()
                .x_desc("probability, %")
                .x_label_formatter(&|x| format!("{:.0}%", x))
                .y_labels(names.len())
                .y_label_formatter(&|y| {
                    let idx = y.round();
                    if (y - idx).abs() < 1e-6 && idx >= 0.0 && (idx as usize) < names_ref.len() {
                        names_ref[names_ref.len() - 1 - idx as usize].clone()
                    } else {
                        String::new()
                    }
                })
                .y_label_style(("sans-serif", label_px))
                .x_label_style(("sans-serif", f.text))
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(de)?;
            for (j, p) in panels.iter().enumerate() {
                let Some(r) = t.thresholds.iter().find(|r| {
                    r.scenario == p.view
                        && r.series == id
                        && r.year == th.year
                        && r.condition == kind
                }) else {
                    continue;
                };
                let y = (names.len() - 1 - j) as f64;
                let (a, b) = (
                    ((r.probability - 1.96 * r.se) * 100.0).max(0.0),
                    ((r.probability + 1.96 * r.se) * 100.0).min(100.0),
                );
                let colour = if p.view == "all" { BLACK } else { p.colour };
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(a, y), (b, y)],
                        colour.stroke_width(4),
                    )))
                    .map_err(de)?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (r.probability * 100.0, y),
                        f.text as i32 / 3 + 2,
                        colour.filled(),
                    )))
                    .map_err(de)?;
            }
        }
        Ok(())
    })
}
