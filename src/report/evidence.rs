//! Charts of the forecast conditioned on the model's observations: each
//! focus series before and after the evidence with the observations drawn
//! in, and each deal outcome's probability before and after.

use super::charts::{band, de, decimals, fonts, png, scale, time_panel, title_area};
use super::tables::{SummaryRow, Tables};
use super::tornado::{bar_chart, label_rows, legend_line, rows_frame, Tint};
use super::ReportError;
use plotters::prelude::*;
use std::path::Path;

const BEFORE: RGBColor = RGBColor(0x88, 0x88, 0x88);
const AFTER: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const OBSERVED: RGBColor = RGBColor(0xD5, 0x5E, 0x00);

/// Per year, p05, p25, p50, p75, p95 of a series in `all`, scaled.
fn fan(rows: &[SummaryRow], series: &str, k: f64) -> Vec<(f64, [f64; 5])> {
    let mut v: Vec<(f64, [f64; 5])> = rows
        .iter()
        .filter(|r| r.scenario == "all" && r.series == series)
        .map(|r| (r.year as f64, r.q.map(|x| k * x)))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// `evidence_<series>.png`: the unconditioned and the conditioned fan of
/// `series` (view `all`) in one panel, with the observations of that
/// series as points and their 90% intervals.
pub fn evidence_fan(
    path: &Path,
    t: &Tables,
    series: &str,
    size: (u32, u32),
) -> Result<(), ReportError> {
    let m = &t.model;
    let Some(post) = &t.posterior else {
        return Ok(());
    };
    let f = fonts(size.1);
    let (k, axis) = scale(m, series);
    let before = fan(&t.summary, series, k);
    let after = fan(&post.summary, series, k);
    let observed: Vec<(f64, f64, f64)> = m
        .observations
        .iter()
        .filter(|o| m.series_id(o.series) == series)
        .map(|o| (o.year as f64, k * o.low, k * o.high))
        .collect();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, q) in before.iter().chain(&after) {
        lo = lo.min(q[0]);
        hi = hi.max(q[4]);
    }
    for &(_, a, b) in &observed {
        lo = lo.min(a);
        hi = hi.max(b);
    }
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Err(ReportError::Draw(format!("no rows for series '{series}'")));
    }
    let pad = 0.05 * (hi - lo);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let dec = decimals(hi - lo);
    let label = m.series_label_of(series);
    let y_fmt = |y: &f64| {
        if series == "market" {
            format!("{y:.dec$}")
        } else {
            format!("{y:.dec$}%")
        }
    };
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
            root,
            m,
            &format!("{label}: the forecast before and after the evidence"),
            "Grey: unconditioned (90% band, median dashed). Blue: conditioned on [observed] (50% and 90% bands, median). Orange: observed, 90% interval.",
            &f,
        )?;
        let (_, h) = body.dim_in_pixel();
        let (plot, key) = body.split_vertically(h - f.text * 3);
        let mut chart = time_panel(
            &plot,
            m,
            "All scenarios (probability-weighted)",
            lo..hi,
            &y_fmt,
            &axis,
            &f,
        )?;
        let pts = |v: &[(f64, [f64; 5])], i: usize| -> Vec<(f64, f64)> {
            v.iter().map(|(y, q)| (*y, q[i])).collect()
        };
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&pts(&before, 4), &pts(&before, 0)),
                BEFORE.mix(0.22),
            )))
            .map_err(de)?;
        chart
            .draw_series(DashedLineSeries::new(
                pts(&before, 2),
                10,
                6,
                BEFORE.stroke_width(3),
            ))
            .map_err(de)?;
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&pts(&after, 4), &pts(&after, 0)),
                AFTER.mix(0.18),
            )))
            .map_err(de)?;
        chart
            .draw_series(std::iter::once(Polygon::new(
                band(&pts(&after, 3), &pts(&after, 1)),
                AFTER.mix(0.35),
            )))
            .map_err(de)?;
        chart
            .draw_series(LineSeries::new(pts(&after, 2), AFTER.stroke_width(3)))
            .map_err(de)?;
        for &(year, a, b) in &observed {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(year, a), (year, b)],
                    OBSERVED.stroke_width(4),
                )))
                .map_err(de)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (year, 0.5 * (a + b)),
                    f.text as i32 / 2,
                    OBSERVED.filled(),
                )))
                .map_err(de)?;
        }
        legend_line(
            &key,
            &[
                ("before the evidence", BEFORE.tint()),
                ("conditioned on it", AFTER.tint()),
                ("observed (90% interval)", OBSERVED),
            ],
            &f,
        )
    })
}

/// `outcomes_posterior.png`: each deal outcome's probability before and
/// after the evidence.
pub fn outcome_probabilities(path: &Path, t: &Tables, size: (u32, u32)) -> Result<(), ReportError> {
    let m = &t.model;
    let Some(post) = &t.posterior else {
        return Ok(());
    };
    let f = fonts(size.1);
    let scenarios = &t.scenarios;
    // Per deal outcome: (label, prior, posterior).
    let mut rows = Vec::new();
    for (d, deal) in m.deals.iter().enumerate() {
        for (o, outcome) in deal.outcomes.iter().enumerate() {
            let (mut before, mut after) = (0.0, 0.0);
            for (sc, p) in scenarios.iter().zip(&post.scenarios) {
                if sc.outcomes[d] == o {
                    before += p.prior;
                    after += p.posterior;
                }
            }
            rows.push((format!("{}: {}", deal.label, outcome.label), before, after));
        }
    }
    png(path, size, |root| {
        root.fill(&WHITE).map_err(de)?;
        let body = title_area(
            root,
            m,
            "Deal outcomes: probability before and after the evidence",
            "Grey: the model's probability. Blue: conditioned on [observed] (the share of the futures' likelihood weight).",
            &f,
        )?;
        let (frame, foot) = rows_frame(&body, &f);
        let hi = rows
            .iter()
            .map(|r| r.1.max(r.2))
            .fold(0.0f64, f64::max)
            .max(0.05)
            * 1.08;
        let fmt = |x: &f64| format!("{:.0}%", 100.0 * x);
        let mut chart = bar_chart(&frame, rows.len(), 0.0..hi, "probability", &fmt, &f)?;
        for (i, (_, before, after)) in rows.iter().enumerate() {
            let y = i as f64;
            for (v, colour, off) in [(*before, BEFORE, -0.18), (*after, AFTER, 0.18)] {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, y + off - 0.16), (v, y + off + 0.16)],
                        colour.tint().filled(),
                    )))
                    .map_err(de)?;
            }
        }
        if rows.is_empty() {
            frame
                .plot
                .draw(&Text::new(
                    "this model has no deals",
                    (20, 40),
                    ("sans-serif", f.text).into_font(),
                ))
                .map_err(de)?;
        }
        let texts: Vec<(String, String)> = rows
            .iter()
            .map(|(l, b, a)| (l.clone(), format!("{:.1}% → {:.1}%", 100.0 * b, 100.0 * a)))
            .collect();
        label_rows(&frame, &chart, &texts, &f)?;
        legend_line(
            &foot,
            &[
                ("before", BEFORE.tint()),
                ("after the evidence", AFTER.tint()),
            ],
            &f,
        )
    })
}
