//! The report: PNG charts and a self-contained `index.html`, drawn from the
//! tables a run wrote (so `sharecast report DIR` redraws without
//! re-simulating).

pub mod charts;
pub mod evidence;
pub mod sweep;
pub mod tables;
pub mod tornado;

use crate::model::Series;
use plotters::style::{register_font, FontStyle};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Default chart size in pixels.
pub const DEFAULT_SIZE: (u32, u32) = (1600, 1000);

/// Errors while drawing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A table could not be read.
    #[error("cannot read '{path}': {message}")]
    Table {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A chart could not be drawn or saved.
    #[error("cannot draw a chart: {0}")]
    Draw(String),
    /// A file could not be written.
    #[error("cannot write '{path}'")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One chart of the report.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name inside `report/`.
    pub file: String,
    /// One line saying how to read it.
    pub caption: String,
}

static FONT: Once = Once::new();

/// Registers the embedded DejaVu Sans as plotters' "sans-serif".
pub(crate) fn register_fonts() {
    FONT.call_once(|| {
        // The bytes are a valid TrueType font shipped by the dejavu crate.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Parses `WxH`.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("chart size '{s}' must look like 1600x1000"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("chart width '{w}' is not a whole number"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("chart height '{h}' is not a whole number"))?;
    if !(400..=8000).contains(&w) || !(300..=8000).contains(&h) {
        return Err(format!(
            "chart size {w}x{h} is out of range: width 400-8000, height 300-8000"
        ));
    }
    Ok((w, h))
}

/// Draws every chart and `index.html` into the folder `out` from the
/// tables of the run folder `dir` (checked first: see [`tables::load`]).
pub fn render(dir: &Path, out: &Path, size: (u32, u32)) -> Result<Vec<Chart>, ReportError> {
    register_fonts();
    let t = tables::load(dir)?;
    let out = out.to_path_buf();
    std::fs::create_dir_all(&out).map_err(|source| ReportError::Io {
        path: out.clone(),
        source,
    })?;
    let plan = plan(&t);
    // Each chart is its own PNG: drawn in parallel, in a fixed order.
    plan.par_iter()
        .map(|(chart, draw)| draw.draw(&out.join(&chart.file), &t, size))
        .collect::<Result<Vec<()>, ReportError>>()?;
    let list: Vec<Chart> = plan.into_iter().map(|(c, _)| c).collect();
    let html = index_html(&t, &list);
    let p = out.join("index.html");
    std::fs::write(&p, html).map_err(|source| ReportError::Io { path: p, source })?;
    Ok(list)
}

/// What draws one chart.
enum Draw {
    Fan(String),
    Horizon(String, i32),
    Tornado(String, i32),
    Mix,
    Impact(usize),
    Thresholds,
    Evidence(String),
    Outcomes,
}

impl Draw {
    fn draw(&self, path: &Path, t: &tables::Tables, size: (u32, u32)) -> Result<(), ReportError> {
        match self {
            Draw::Fan(id) => charts::fan(path, t, id, size),
            Draw::Horizon(id, y) => charts::horizon(path, t, id, *y, size),
            Draw::Tornado(id, y) => tornado::tornado(path, t, id, *y, size),
            Draw::Mix => charts::stacked(path, t, size),
            Draw::Impact(d) => charts::impact(path, t, *d, size),
            Draw::Thresholds => charts::thresholds(path, t, size),
            Draw::Evidence(id) => evidence::evidence_fan(path, t, id, size),
            Draw::Outcomes => evidence::outcome_probabilities(path, t, size),
        }
    }
}

/// The charts of a report, in the order `index.html` shows them.
fn plan(t: &tables::Tables) -> Vec<(Chart, Draw)> {
    let m = &t.model;
    let mut list = Vec::new();
    let mut add =
        |file: String, caption: String, draw: Draw| list.push((Chart { file, caption }, draw));
    for s in &m.focus {
        let id = m.series_id(*s).to_string();
        if *s == Series::Market {
            continue;
        }
        add(
            format!("fan_{id}.png"),
            format!(
                "{}: median and 50%/90% bands over the years, one panel per deal outcome; compare panels at a glance (same y axis).",
                m.series_label(*s)
            ),
            Draw::Fan(id),
        );
    }
    if t.posterior.is_some() {
        let mut shown: Vec<Series> = m
            .focus
            .iter()
            .copied()
            .filter(|s| *s != Series::Market)
            .collect();
        for o in &m.observations {
            if !shown.contains(&o.series) {
                shown.push(o.series);
            }
        }
        for s in shown {
            let id = m.series_id(s).to_string();
            add(
                format!("evidence_{id}.png"),
                format!(
                    "{}: the forecast before (grey) and after (blue) conditioning on the observed values (orange, 90% intervals), all scenarios.",
                    m.series_label(s)
                ),
                Draw::Evidence(id),
            );
        }
        if !m.deals.is_empty() {
            add(
                "outcomes_posterior.png".into(),
                "Each deal outcome's probability in the model and after the evidence: the outcomes whose futures reproduce the observations gain weight.".into(),
                Draw::Outcomes,
            );
        }
    }
    let years = m.horizon_years();
    if !m.deals.is_empty() {
        for s in &m.focus {
            let id = m.series_id(*s).to_string();
            for &y in &years {
                add(
                    format!("horizon_{id}_{y}.png"),
                    format!(
                        "{} in {y}: how likely each level is under each outcome of each deal; curves further right mean a larger value.",
                        m.series_label(*s)
                    ),
                    Draw::Horizon(id.clone(), y),
                );
            }
        }
    }
    if !t.sensitivity.is_empty() {
        for s in &m.focus {
            let id = m.series_id(*s).to_string();
            for &y in &years {
                add(
                    format!("tornado_{id}_{y}.png"),
                    format!(
                        "What drives {} in {y} (all scenarios): the {} inputs with the largest first-order index S1, each bar the shift in the mean when the input is in its lowest or highest tenth.",
                        m.series_label(*s),
                        tornado::TOP
                    ),
                    Draw::Tornado(id.clone(), y),
                );
            }
        }
    }
    add(
        "mix.png".into(),
        "Mean share of spend by platform, stacked to 100%, for all scenarios and each outcome of the first deal.".into(),
        Draw::Mix,
    );
    for (d, deal) in m.deals.iter().enumerate() {
        // A conditional deal can have no pairs at all: every scenario with a
        // non-baseline outcome has a baseline counterpart of probability 0.
        if !t.impact.iter().any(|r| r.deal == deal.id) {
            continue;
        }
        add(
            format!("impact_{}.png", deal.id),
            format!(
                "What '{}' changes: each outcome minus the baseline '{}', in percentage points, the same futures compared.",
                deal.label, deal.outcomes[deal.baseline].id
            ),
            Draw::Impact(d),
        );
    }
    if !m.thresholds.is_empty() {
        add(
            "thresholds.png".into(),
            "Probability of each threshold per outcome; bars are 95% Monte Carlo intervals, so overlapping bars are not clearly different.".into(),
            Draw::Thresholds,
        );
    }
    add(
        "market.png".into(),
        format!(
            "Total accelerator spend in {}: median and 50%/90% bands, per outcome.",
            m.unit
        ),
        Draw::Fan("market".into()),
    );
    list
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// "Conditioned on the evidence": the observations, each view's effective
/// sample size (flagged below 100), the final-year medians before and
/// after, and the priors the evidence moved most.
fn evidence_section(h: &mut String, t: &tables::Tables) {
    let m = &t.model;
    let (Some(post), Some(info)) = (&t.posterior, &t.run.posterior) else {
        return;
    };
    let _ = writeln!(
        h,
        "<h2>Conditioned on the evidence</h2><p>The model records {} observed values; <code>posterior/</code> holds every table conditioned on them (each future weighted by how well it reproduces them), from {} futures per scenario. The effective sample size of all scenarios together is {:.0}.</p>",
        m.observations.len(),
        info.futures,
        info.ess.get("all").copied().unwrap_or(0.0)
    );
    if !info.low_ess.is_empty() {
        let _ = writeln!(
            h,
            "<p><strong>Flagged:</strong> {} views have an effective sample size below 100 ({}); their conditioned rows rest on few futures. The observation hardest to reproduce is <code>{}</code>.</p>",
            info.low_ess.len(),
            esc(&info.low_ess.iter().take(5).cloned().collect::<Vec<_>>().join(", ")),
            esc(info.hardest_observation.as_deref().unwrap_or("–"))
        );
    }
    let _ = writeln!(
        h,
        "<table><tr><th>series</th><th>median {} before</th><th>after the evidence</th></tr>",
        m.end_year
    );
    for s in m.series() {
        let id = m.series_id(s);
        let find = |rows: &[tables::SummaryRow]| {
            rows.iter()
                .find(|r| r.scenario == "all" && r.year == m.end_year && r.series == id)
                .map(|r| r.q)
        };
        let show = |q: Option<[f64; 5]>| {
            q.map_or("–".to_string(), |q| {
                if s == Series::Market {
                    format!("{:.0} ({:.0}–{:.0})", q[2], q[0], q[4])
                } else {
                    format!("{} ({}–{})", pct(q[2]), pct(q[0]), pct(q[4]))
                }
            })
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.series_label(s)),
            show(find(&t.summary)),
            show(find(&post.summary))
        );
    }
    let _ = writeln!(h, "</table><p>Median (90% interval), all scenarios.</p>");
    let _ = writeln!(
        h,
        "<h3>The priors the evidence moved most</h3><table><tr><th>prior</th><th>before: 5% / 50% / 95%</th><th>after</th><th>median moved (prior sds)</th></tr>"
    );
    for r in post.priors.iter().take(8) {
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{} / {} / {}</td><td>{} / {} / {}</td><td>{:.2}</td></tr>",
            esc(&r.input),
            num(r.before[0]),
            num(r.before[1]),
            num(r.before[2]),
            num(r.after[0]),
            num(r.after[1]),
            num(r.after[2]),
            r.moved
        );
    }
    let _ = writeln!(
        h,
        "</table><p><code>posterior/priors.csv</code> has every prior.</p>"
    );
}

/// A number with four significant digits.
fn num(x: f64) -> String {
    crate::prior::fmt_num(format!("{x:.4e}").parse().unwrap_or(x))
}

/// "What drives it": the five inputs with the largest `S1` per focus
/// series in the final year, view `all`.
fn drivers_table(h: &mut String, t: &tables::Tables) {
    let m = &t.model;
    if t.sensitivity.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<h2>What drives it ({})</h2><p>The five inputs that explain most of each series' variance across all scenarios: S1 is the share of the variance explained by the input alone, with its bootstrap 90% interval; low and high are the series' mean when the input is in its lowest and highest tenth (for a deal: its lowest and highest outcome mean). <code>sensitivity.csv</code> has every input, year and scenario.</p><table><tr><th>series</th><th>input</th><th>path</th><th>S1 (90%)</th><th>low</th><th>high</th></tr>",
        m.end_year
    );
    for s in &m.focus {
        let id = m.series_id(*s);
        let show = |x: f64| {
            if *s == Series::Market {
                format!("{x:.0}")
            } else {
                pct(x)
            }
        };
        for r in t
            .sensitivity
            .iter()
            .filter(|r| r.scenario == "all" && r.year == m.end_year && r.series == id)
            .take(5)
        {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{:.2} ({:.2} to {:.2})</td><td>{}</td><td>{}</td></tr>",
                esc(&m.series_label(*s)),
                esc(&crate::sensitivity::input_label(m, &r.input)),
                esc(&r.input),
                r.s1,
                r.interval.0,
                r.interval.1,
                show(r.swing.0),
                show(r.swing.1)
            );
        }
    }
    let _ = writeln!(h, "</table>");
}

/// The self-contained page: title, run parameters, thresholds, the
/// horizon table and every chart with its caption.
fn index_html(t: &tables::Tables, charts: &[Chart]) -> String {
    let m = &t.model;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>body{{font-family:sans-serif;max-width:1700px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse;margin:1em 0;font-size:0.9em}}td,th{{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}}th:first-child,td:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #ddd}}figure{{margin:2em 0}}figcaption{{color:#444;margin-top:0.4em}}</style></head><body>\n",
        esc(&m.title)
    );
    let _ = writeln!(h, "<h1>{}</h1>", esc(&m.title));
    let r = &t.run;
    let _ = writeln!(
        h,
        "<p>Years {}–{} (base year {}), unit {}. {} futures per scenario, {} scenarios, seed {}, sampling {}, sharecast {}. Model: <code>{}</code> (SHA-256 <code>{}</code>). Overrides: {}.</p>",
        m.start_year,
        m.end_year,
        m.start_year,
        esc(&m.unit),
        r.futures,
        r.scenarios,
        r.seed,
        esc(&r.sampling),
        esc(&r.sharecast_version),
        esc(&r.model_path),
        esc(&r.model_sha256.chars().take(16).collect::<String>()),
        if r.overrides.is_empty() {
            "none".to_string()
        } else {
            r.overrides
                .iter()
                .map(|v| format!("<code>{}</code>", esc(v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let panels = charts::outcome_panels(m);
    if !m.thresholds.is_empty() {
        let _ = writeln!(h, "<h2>Thresholds</h2><table><tr><th>view</th>");
        for th in &m.thresholds {
            let kind = if th.above { "&gt;" } else { "&lt;" };
            let _ = write!(
                h,
                "<th>P({} {kind} {} in {})</th>",
                esc(m.series_id(th.series)),
                pct(th.level),
                th.year
            );
        }
        let _ = writeln!(h, "</tr>");
        for p in &panels {
            let _ = write!(h, "<tr><td>{}</td>", esc(&p.view));
            for th in &m.thresholds {
                let kind = if th.above { "above" } else { "below" };
                let cell = t
                    .thresholds
                    .iter()
                    .find(|r| {
                        r.scenario == p.view
                            && r.series == m.series_id(th.series)
                            && r.year == th.year
                            && r.condition == kind
                    })
                    .map_or("–".to_string(), |r| {
                        format!("{:.3} ± {:.3}", r.probability, r.se)
                    });
                let _ = write!(h, "<td>{cell}</td>");
            }
            let _ = writeln!(h, "</tr>");
        }
        let _ = writeln!(h, "</table><p>± is one Monte Carlo standard error.</p>");
    }
    let _ = writeln!(
        h,
        "<h2>In {}: median (90% interval)</h2><table><tr><th>series</th>",
        m.end_year
    );
    for p in &panels {
        let _ = write!(h, "<th>{}</th>", esc(&p.view).replace('=', "=<br>"));
    }
    let _ = writeln!(h, "</tr>");
    for s in m.series() {
        let id = m.series_id(s);
        let _ = write!(h, "<tr><td>{}</td>", esc(&m.series_label(s)));
        for p in &panels {
            let cell = t.get(&p.view, m.end_year, id).map_or("–".to_string(), |r| {
                if s == Series::Market {
                    format!(
                        "{:.0} ({:.0}–{:.0}) {}",
                        r.q[2],
                        r.q[0],
                        r.q[4],
                        esc(&m.unit)
                    )
                } else {
                    format!("{} ({}–{})", pct(r.q[2]), pct(r.q[0]), pct(r.q[4]))
                }
            });
            let _ = write!(h, "<td>{cell}</td>");
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</table>");
    evidence_section(&mut h, t);
    drivers_table(&mut h, t);
    let _ = writeln!(h, "<h2>Charts</h2>");
    for c in charts {
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            esc(&c.file),
            esc(&c.caption),
            esc(&c.caption)
        );
    }
    let _ = writeln!(h, "</body></html>");
    h
}
