//! `sharecast sweep`: one run per value of a field (or per pair of values
//! of two fields), all on the same futures, written side by side to
//! `output/<model name>.sweep/`: `sweep.csv`, a chart per focus series and
//! an `index.html`.

use super::{flag_overrides, load, out_dir, prepare, progress_bar, read_source, Source};
use crate::cli::SweepArgs;
use anyhow::{bail, Context, Result};
use polars::prelude::*;
use sharecast::model::{Model, Series};
use sharecast::output::{self, Manifest};
use sharecast::pipeline;
use sharecast::report::sweep::{sweep_chart, Line};
use sharecast::scenario;
use sharecast::summary::Summary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// A variant's assignment: `(path, value)` per swept field.
type Grid = Vec<(String, String)>;

/// Most variants a sweep runs.
const MAX_VARIANTS: usize = 100;

/// One `--vary`: a field and its values.
#[derive(Debug, Clone)]
struct Vary {
    path: String,
    values: Vec<String>,
}

/// Splits `s` at the commas outside quotes and brackets.
fn split_top_level(s: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut depth, mut quote) = (0i32, None);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

fn parse_vary(s: &str) -> Result<Vary> {
    let Some((path, values)) = s.split_once('=') else {
        bail!("--vary '{s}' must look like PATH=v1,v2,... (e.g. --vary buyers.openai.growth='\"0.2 to 0.5\",\"0.3 to 0.8\"')");
    };
    let path = path.trim().to_string();
    for (prefix, what) in [("simulation.", "simulation settings are the same in every variant: use --futures, --seed or --sampling"), ("model.", "the model's identity is the same in every variant"), ("report.", "every variant reports the same series and thresholds")] {
        if path.starts_with(prefix) || path == prefix.trim_end_matches('.') {
            bail!("--vary {path}: {what}; sweep a prior, a deal probability or another field instead");
        }
    }
    let values = split_top_level(values);
    if values.iter().any(|v| v.is_empty()) {
        bail!("--vary {path}: a value is empty in '{s}' (values are separated by commas)");
    }
    Ok(Vary { path, values })
}

/// `sharecast sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    if args.vary.len() > 2 {
        bail!(
            "--vary is given {} times: a sweep varies one field or a grid of two",
            args.vary.len()
        );
    }
    let varies: Vec<Vary> = args
        .vary
        .iter()
        .map(|v| parse_vary(v))
        .collect::<Result<_>>()?;
    if varies.len() == 2 && varies[0].path == varies[1].path {
        bail!(
            "--vary {} is given twice: vary two different fields",
            varies[0].path
        );
    }
    let source = read_source(args.model.as_deref())?;
    let base = flag_overrides(&args.sim);
    let model = load(&source, &base)?;
    // The grid, every variant validated before anything runs.
    let mut grid: Vec<Grid> = vec![Vec::new()];
    for v in &varies {
        grid = grid
            .into_iter()
            .flat_map(|g| {
                v.values.iter().map(move |x| {
                    let mut g = g.clone();
                    g.push((v.path.clone(), x.clone()));
                    g
                })
            })
            .collect();
    }
    if grid.len() > MAX_VARIANTS {
        bail!(
            "the sweep has {} variants; at most {MAX_VARIANTS}: vary fewer values",
            grid.len()
        );
    }
    let mut variants = Vec::new();
    let mut problems = Vec::new();
    for g in &grid {
        let name = g
            .iter()
            .map(|(p, v)| format!("{p}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut overrides = base.clone();
        overrides.extend(g.iter().map(|(p, v)| format!("{p}={v}")));
        match load(&source, &overrides) {
            Ok(mut m) => {
                // Sweeps compare unconditioned forecasts.
                m.observations.clear();
                variants.push((name, g.clone(), m));
            }
            Err(e) => problems.push(format!("variant {name}: {e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let out = out_dir(&args.out, &model, ".sweep");
    let t0 = Instant::now();
    let run = prepare(&out, source.path.as_slice(), &args.common)?;
    let total = variants
        .iter()
        .map(|(_, _, m)| m.simulation.futures as u64)
        .sum();
    let bar = progress_bar(args.common.quiet, total, &format!("{} (sweep)", model.name));
    let mut results = Vec::new();
    for (name, g, m) in &variants {
        let scenarios = scenario::enumerate(m);
        let outcome = run.pool.install(|| {
            pipeline::run(m, &scenarios, (pipeline::auto(m), false), &|n| {
                bar.inc(n as u64)
            })
        });
        results.push((name.clone(), g.clone(), outcome.summary));
    }
    bar.finish_and_clear();
    let dir = run.staged.dir();
    let p = dir.join("sweep.csv");
    let mut df = output::frame(sweep_frame(&model, &variants, &results), &p)?;
    output::write_csv(&mut df, &p)?;
    let p = dir.join("model.toml");
    std::fs::write(&p, &source.text).with_context(|| format!("cannot write '{}'", p.display()))?;
    let charts = charts(dir, &model, &varies, &results, args.common.chart_size)?;
    std::fs::write(
        dir.join("index.html"),
        index_html(&model, &source, &varies, &results, &charts),
    )
    .with_context(|| format!("cannot write '{}'", dir.join("index.html").display()))?;
    let mut seconds = BTreeMap::new();
    seconds.insert("total".to_string(), t0.elapsed().as_secs_f64());
    let mut manifest = Manifest::for_model(
        "sweep",
        (&source.name, &source.text),
        &base,
        &model,
        (run.threads, scenario::enumerate(&model).len()),
    );
    manifest.seconds = seconds;
    manifest.summaries = "per variant: auto".into();
    manifest.write(dir)?;
    let final_dir = run.staged.commit()?;
    if !args.common.quiet {
        println!(
            "{}: sweep of {} variants x {} futures in {:.1} s -> {}",
            model.name,
            results.len(),
            model.simulation.futures,
            t0.elapsed().as_secs_f64(),
            final_dir.display()
        );
    }
    Ok(())
}

/// `p_<series>_<year>_<above|below>_<level>` of each threshold.
fn threshold_columns(model: &Model) -> Vec<String> {
    model
        .thresholds
        .iter()
        .map(|t| {
            format!(
                "p_{}_{}_{}_{}",
                model.series_id(t.series),
                t.year,
                if t.above { "above" } else { "below" },
                sharecast::prior::fmt_num(t.level)
            )
        })
        .collect()
}

/// `variant, scenario, year, series, mean, p05, p50, p95`, then one
/// column per threshold (the view's probability).
fn sweep_frame(
    model: &Model,
    variants: &[(String, Grid, Model)],
    results: &[(String, Grid, Summary)],
) -> PolarsResult<DataFrame> {
    let (mut variant, mut view, mut year, mut series) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut stats: [Vec<f64>; 4] = Default::default();
    let names = threshold_columns(model);
    let mut th: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for ((name, _, summary), (_, _, m)) in results.iter().zip(variants) {
        for r in &summary.rows {
            variant.push(name.as_str());
            view.push(summary.views[r.view].name.as_str());
            year.push(r.year);
            series.push(m.series_id(r.series));
            for (v, x) in
                stats
                    .iter_mut()
                    .zip([r.stats.mean, r.stats.q[0], r.stats.q[2], r.stats.q[4]])
            {
                v.push(x);
            }
            for (t, col) in th.iter_mut().enumerate() {
                let p = summary
                    .thresholds
                    .iter()
                    .find(|x| x.view == r.view && x.threshold == t)
                    .map_or(f64::NAN, |x| x.probability);
                col.push(p);
            }
        }
    }
    let n = variant.len();
    let mut columns = vec![
        Column::new("variant".into(), variant),
        Column::new("scenario".into(), view),
        Column::new("year".into(), year),
        Column::new("series".into(), series),
    ];
    for (name, v) in ["mean", "p05", "p50", "p95"].into_iter().zip(stats) {
        columns.push(Column::new(name.into(), v));
    }
    for (name, v) in names.into_iter().zip(th) {
        columns.push(Column::new(name.as_str().into(), v));
    }
    DataFrame::new(n, columns)
}

/// One chart per focus series: its final-year median and 90% band against
/// the swept values, a line per outcome of the first deal and one for
/// `all`; with two fields, a panel per value of the second.
fn charts(
    dir: &Path,
    model: &Model,
    varies: &[Vary],
    results: &[(String, Grid, Summary)],
    size: (u32, u32),
) -> Result<Grid> {
    let mut out = Vec::new();
    let mut views = vec!["all".to_string()];
    if let Some(d) = model.deals.first() {
        views.extend(d.outcomes.iter().map(|o| format!("{}={}", d.id, o.id)));
    }
    let panels: Vec<Option<&String>> = match varies.get(1) {
        Some(v) => v.values.iter().map(Some).collect(),
        None => vec![None],
    };
    for &s in &model.focus {
        let id = model.series_id(s);
        let k = if s == Series::Market { 1.0 } else { 100.0 };
        let mut data = Vec::new();
        for panel in &panels {
            let mut lines = Vec::new();
            for (l, view) in views.iter().enumerate() {
                let mut points = Vec::new();
                for (x, value) in varies[0].values.iter().enumerate() {
                    let found = results.iter().find(|(_, g, _)| {
                        g[0].1 == *value
                            && panel.is_none_or(|p| g.get(1).is_some_and(|q| &q.1 == p))
                    });
                    let Some((_, _, summary)) = found else {
                        continue;
                    };
                    let row = summary.rows.iter().find(|r| {
                        summary.views[r.view].name == *view
                            && r.year == model.end_year
                            && r.series == s
                    });
                    if let Some(r) = row {
                        points.push((x, k * r.stats.q[0], k * r.stats.q[2], k * r.stats.q[4]));
                    }
                }
                let label = if l == 0 {
                    "all scenarios".to_string()
                } else {
                    let d = &model.deals[0];
                    format!("{}={}", d.id, d.outcomes[l - 1].id)
                };
                lines.push(Line { label, points });
            }
            let caption = match panel {
                Some(p) => format!("{} = {p}", varies[1].path),
                None => String::new(),
            };
            data.push((caption, lines));
        }
        let file = format!("sweep_{id}.png");
        let label = model.series_label(s);
        let unit = if s == Series::Market {
            model.unit.clone()
        } else {
            "share of spend, %".into()
        };
        sweep_chart(
            &dir.join(&file),
            model,
            (
                &format!("{label} in {} against {}", model.end_year, varies[0].path),
                &unit,
            ),
            (&varies[0].path, &varies[0].values),
            &data,
            size,
        )
        .with_context(|| format!("cannot draw '{file}'"))?;
        out.push((
            file,
            format!(
                "{label} in {}: median (line) and 90% of futures (whiskers) for each value of {}, all scenarios and each outcome of the first deal; the variants share their futures, so differences are the field's effect, not noise.",
                model.end_year, varies[0].path
            ),
        ));
    }
    Ok(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The sweep's page: what was varied, a table of final-year medians and
/// the charts.
fn index_html(
    model: &Model,
    source: &Source,
    varies: &[Vary],
    results: &[(String, Grid, Summary)],
    charts: &[(String, String)],
) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — sweep</title><style>body{{font-family:sans-serif;max-width:1700px;margin:2em auto;padding:0 1em;color:#222}}table{{border-collapse:collapse;margin:1em 0;font-size:0.9em}}td,th{{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%;border:1px solid #ddd}}</style></head><body>",
        esc(&model.title)
    );
    let _ = writeln!(h, "<h1>{}: sweep</h1>", esc(&model.title));
    let fields = varies
        .iter()
        .map(|v| {
            format!(
                "<code>{}</code> over {}",
                esc(&v.path),
                esc(&v.values.join(" | "))
            )
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let _ = writeln!(
        h,
        "<p>Model <code>{}</code>, {} futures per scenario, seed {}. Varied: {fields}. Every variant runs on the same futures (same draws of every other prior, same shocks), so the differences between variants are the field's effect. <code>sweep.csv</code> has every view, year and series.</p>",
        esc(&source.name),
        model.simulation.futures,
        model.simulation.seed
    );
    let _ = write!(h, "<table><tr><th>variant</th>");
    for &s in &model.focus {
        let _ = write!(
            h,
            "<th>{} {} median (90%)</th>",
            esc(&model.series_label(s)),
            model.end_year
        );
    }
    let _ = writeln!(h, "</tr>");
    for (name, _, summary) in results {
        let _ = write!(h, "<tr><td><code>{}</code></td>", esc(name));
        for &s in &model.focus {
            let cell = summary
                .rows
                .iter()
                .find(|r| r.view == 0 && r.year == model.end_year && r.series == s)
                .map_or("–".into(), |r| {
                    if s == Series::Market {
                        format!(
                            "{:.0} ({:.0}–{:.0})",
                            r.stats.q[2], r.stats.q[0], r.stats.q[4]
                        )
                    } else {
                        format!(
                            "{:.1}% ({:.1}–{:.1}%)",
                            100.0 * r.stats.q[2],
                            100.0 * r.stats.q[0],
                            100.0 * r.stats.q[4]
                        )
                    }
                });
            let _ = write!(h, "<td>{cell}</td>");
        }
        let _ = writeln!(h, "</tr>");
    }
    let _ = writeln!(h, "</table>");
    for (file, caption) in charts {
        let _ = writeln!(
            h,
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
            esc(file),
            esc(caption),
            esc(caption)
        );
    }
    let _ = writeln!(h, "</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_top_level_commas_only() {
        assert_eq!(
            split_top_level("\"pert(0.05, 0.2, 0.5)\", 0.3,\"0 to 1\""),
            ["\"pert(0.05, 0.2, 0.5)\"", "0.3", "\"0 to 1\""]
        );
        assert_eq!(
            split_top_level("{ dist = \"normal\", mean = 1, sd = 2 },3"),
            ["{ dist = \"normal\", mean = 1, sd = 2 }", "3"]
        );
    }

    #[test]
    fn simulation_and_model_fields_are_refused() {
        assert!(parse_vary("simulation.futures=1,2").is_err());
        assert!(parse_vary("model.end_year=2030,2031").is_err());
        assert!(parse_vary("novalues").is_err());
        assert!(parse_vary("buyers.a.growth=0.1,,0.2").is_err());
        assert_eq!(
            parse_vary("buyers.a.growth=0.1,0.2").unwrap().values,
            ["0.1", "0.2"]
        );
    }
}
