//! `sharecast sobol`: a Sobol study of one model, written to its own
//! folder (`output/<name>.sobol/`): `sobol.csv`, one chart per focus series
//! and year, `model.toml` and `run.json`.

use super::{available_memory, load, out_dir, prepare, progress_bar, read_source};
use crate::cli::SobolArgs;
use anyhow::{bail, Context, Result};
use sharecast::model::Model;
use sharecast::output::{self, Manifest};
use sharecast::report::tornado::{sobol_chart, SobolBar, TOP};
use sharecast::scenario::{self, Scenario};
use sharecast::sensitivity::sobol::{study, Study};
use sharecast::sensitivity::{cells, input_label, sampled_priors};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// Largest base size: 2^20 rows per input already takes hours.
const MAX_BASE: usize = 1 << 20;

/// `sharecast sobol`.
pub fn sobol(args: &SobolArgs) -> Result<()> {
    let source = read_source(args.model.as_deref())?;
    let model = load(&source, &args.set)?;
    if !args.base.is_power_of_two() || !(16..=MAX_BASE).contains(&args.base) {
        bail!(
            "--base {} must be a power of two from 16 to {MAX_BASE} (e.g. 1024, 4096, 16384)",
            args.base
        );
    }
    let all = scenario::enumerate(&model);
    let scenarios: Vec<Scenario> = match &args.scenario {
        None => all.clone(),
        Some(name) => match all.iter().find(|s| &s.name == name) {
            Some(s) => vec![s.clone()],
            None => bail!(
                "model '{}' has no scenario '{name}'; its scenarios are: {}",
                model.name,
                all.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    let d = sampled_priors(&model).len();
    if d == 0 {
        bail!(
            "model '{}' has no uncertain prior (every prior is fixed): there is nothing to attribute variance to",
            model.name
        );
    }
    let rows = args.base * (d + 2);
    let need = rows as u128 * (scenarios.len() * cells(&model).len() * 4 + d * 8) as u128;
    if let Some(available) = available_memory() {
        if need > available * 8 / 10 {
            bail!(
                "a study of {} inputs at --base {} needs about {:.1} GiB of memory, but {:.1} GiB is available; lower --base or study one --scenario",
                d,
                args.base,
                need as f64 / (1u64 << 30) as f64,
                available as f64 / (1u64 << 30) as f64
            );
        }
    }
    let out = out_dir(&args.out, &model, ".sobol");
    let t0 = Instant::now();
    let run = prepare(&out, source.path.as_slice(), &args.common)?;
    let bar = progress_bar(
        args.common.quiet,
        rows as u64,
        &format!("{} (Sobol)", model.name),
    );
    let result = run
        .pool
        .install(|| study(&model, &scenarios, args.base, &|n| bar.inc(n as u64)));
    bar.finish_and_clear();
    let mut seconds = BTreeMap::new();
    seconds.insert("study".to_string(), t0.elapsed().as_secs_f64());

    let dir = run.staged.dir();
    let p = dir.join("sobol.csv");
    let mut df = output::frame(output::sobol_frame(&model, &result.rows), &p)?;
    output::write_csv(&mut df, &p)?;
    let p = dir.join("model.toml");
    std::fs::write(&p, &source.text).with_context(|| format!("cannot write '{}'", p.display()))?;
    let charted = charted_scenario(&scenarios);
    let t = Instant::now();
    charts(dir, &model, &result, &charted.name, args.common.chart_size)?;
    seconds.insert("charts".to_string(), t.elapsed().as_secs_f64());
    seconds.insert("total".to_string(), t0.elapsed().as_secs_f64());
    let mut manifest = Manifest::for_model(
        "sobol",
        (&source.name, &source.text),
        &args.set,
        &model,
        (run.threads, scenarios.len()),
    );
    manifest.futures = result.design_rows;
    manifest.sampling = format!("sobol design, base {} x ({d} inputs + 2)", args.base);
    manifest.path_years = (result.design_rows * scenarios.len() * model.horizon()) as u64;
    manifest.seconds = seconds;
    manifest.summaries = "sobol".into();
    manifest.write(dir)?;
    let final_dir = run.staged.commit()?;
    if !args.common.quiet {
        println!(
            "{}: Sobol study, {d} inputs x {} scenarios, {} futures each, in {:.1} s -> {}",
            model.name,
            scenarios.len(),
            result.design_rows,
            t0.elapsed().as_secs_f64(),
            final_dir.display()
        );
        for (name, cell, sum) in result.sums.iter().filter(|(n, _, _)| *n == charted.name) {
            println!(
                "  {} {} in {name}: sum of S1 = {sum:.2} (1 = additive; the rest is interactions)",
                model.series_id(cell.series),
                cell.year
            );
        }
    }
    Ok(())
}

/// The scenario the charts and the terminal lines show: the most probable
/// one (the first of equals), or the only one studied.
fn charted_scenario(scenarios: &[Scenario]) -> &Scenario {
    let mut best = &scenarios[0];
    for s in scenarios {
        if s.probability > best.probability {
            best = s;
        }
    }
    best
}

/// `sobol_<series>_<year>.png`: S1 against ST for the top inputs of the
/// charted scenario.
fn charts(
    dir: &Path,
    model: &Model,
    result: &Study,
    scenario: &str,
    size: (u32, u32),
) -> Result<()> {
    for cell in cells(model) {
        let id = model.series_id(cell.series);
        let bars: Vec<SobolBar> = result
            .rows
            .iter()
            .filter(|r| r.scenario == scenario && r.year == cell.year && r.series == cell.series)
            .take(TOP)
            .map(|r| SobolBar {
                label: input_label(model, &r.input),
                s1: r.s1,
                st: r.st,
            })
            .collect();
        let p = dir.join(format!("sobol_{id}_{}.png", cell.year));
        let title = format!(
            "What drives {} in {}: Sobol indices",
            model.series_label(cell.series),
            cell.year
        );
        let subtitle = format!(
            "S1: the input alone; ST: with its interactions; whiskers: 90% intervals. Scenario {scenario}"
        );
        sobol_chart(&p, model, (&title, &subtitle), &bars, size)
            .with_context(|| format!("cannot draw '{}'", p.display()))?;
    }
    Ok(())
}
