//! The commands: each reads like the pipeline it runs.

use crate::cli::{RunArgs, SamplingArg};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sharecast::manifest::{sha256_hex, Manifest};
use sharecast::model::{self, Model, Series};
use sharecast::{check as describe, engine, output, scenario, summary};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A model file read from disk (or the built-in default).
struct Source {
    name: String,
    text: String,
}

fn read_source(path: Option<&Path>) -> Result<Source> {
    match path {
        None => Ok(Source {
            name: model::DEFAULT_MODEL_NAME.to_string(),
            text: model::DEFAULT_MODEL.to_string(),
        }),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read model file '{}'", p.display()))?;
            Ok(Source {
                name: p.display().to_string(),
                text,
            })
        }
    }
}

fn load(source: &Source, overrides: &[String]) -> Result<Model> {
    model::load(&source.name, &source.text, overrides).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `sharecast check`.
pub fn check(path: Option<&Path>, set: &[String]) -> Result<()> {
    let source = read_source(path)?;
    let model = load(&source, set)?;
    let scenarios = scenario::enumerate(&model);
    let text = describe::describe(&model, &scenarios, &source.name);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    writeln!(out, "\nok: {} is valid", source.name)?;
    Ok(())
}

/// The overrides a run applies: `--set` flags first, then the dedicated
/// flags, which therefore win.
fn run_overrides(args: &RunArgs) -> Vec<String> {
    let mut v = args.set.clone();
    if let Some(f) = args.futures {
        v.push(format!("simulation.futures={f}"));
    }
    if let Some(s) = args.seed {
        v.push(format!("simulation.seed={s}"));
    }
    if let Some(s) = args.sampling {
        let name = match s {
            SamplingArg::Lhs => "lhs",
            SamplingArg::Random => "random",
        };
        v.push(format!("simulation.sampling=\"{name}\""));
    }
    v
}

/// `sharecast run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let overrides = run_overrides(args);
    let paths: Vec<Option<&Path>> = if args.models.is_empty() {
        vec![None]
    } else {
        args.models.iter().map(|p| Some(p.as_path())).collect()
    };
    // Validate every model before simulating any.
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    for p in &paths {
        match read_source(*p).and_then(|s| load(&s, &overrides).map(|m| (s, m))) {
            Ok(job) => jobs.push(job),
            Err(e) => problems.push(format!("{e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let batch = jobs.len() > 1;
    let mut outs: Vec<PathBuf> = Vec::new();
    for (_, m) in &jobs {
        let dir = match (&args.out, batch) {
            (Some(d), false) => d.clone(),
            (Some(d), true) => d.join(&m.name),
            (None, _) => PathBuf::from("output").join(&m.name),
        };
        if outs.contains(&dir) {
            bail!(
                "two models in this batch would write to '{}': give them different [model].name",
                dir.display()
            );
        }
        outs.push(dir);
    }
    if args.paths {
        // --paths keeps every future in memory.
        for (_, m) in &jobs {
            check_memory(m)?;
        }
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 {
        bail!("--threads must be at least 1");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    for ((source, model), out) in jobs.iter().zip(&outs) {
        let line = pool.install(|| run_one(source, model, out, &overrides, threads, args))?;
        if !args.quiet {
            println!("{line}");
        }
    }
    Ok(())
}

fn run_one(
    source: &Source,
    model: &Model,
    out: &Path,
    overrides: &[String],
    threads: usize,
    args: &RunArgs,
) -> Result<String> {
    let mut seconds = BTreeMap::new();
    let t0 = Instant::now();
    let scenarios = scenario::enumerate(model);
    let staging = output::Staging::new(out)
        .with_context(|| format!("cannot prepare output folder '{}'", out.display()))?;

    let bar = progress_bar(args.quiet, (model.simulation.futures) as u64, &model.name);
    // Exact summaries hold every path; past EXACT_BUDGET they are streamed
    // block by block into fixed-bin sketches (see summary::stream).
    let exact = args.paths || peak_bytes(model) <= EXACT_BUDGET;
    let t = Instant::now();
    let (summary, clamps, paths) = if exact {
        let paths = engine::simulate(model, &scenarios, &|n| bar.inc(n as u64));
        bar.finish_and_clear();
        seconds.insert("simulate".to_string(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        let summary = summary::summarise(model, &scenarios, &paths);
        seconds.insert("summarise".to_string(), t.elapsed().as_secs_f64());
        (summary, paths.clamps.clone(), Some(paths))
    } else {
        let (summary, clamps) =
            summary::stream::summarise_streamed(model, &scenarios, &|n| bar.inc(n as u64));
        bar.finish_and_clear();
        seconds.insert(
            "simulate_and_summarise".to_string(),
            t.elapsed().as_secs_f64(),
        );
        (summary, clamps, None)
    };

    let t = Instant::now();
    let dir = staging.dir();
    let p = dir.join("summary.csv");
    let mut df = output::frame(output::summary_frame(model, &summary), &p)?;
    output::write_csv(&mut df, &p)?;
    output::write_parquet(&mut df, &dir.join("summary.parquet"))?;
    let p = dir.join("thresholds.csv");
    output::write_csv(
        &mut output::frame(output::thresholds_frame(model, &summary), &p)?,
        &p,
    )?;
    let p = dir.join("impact.csv");
    output::write_csv(
        &mut output::frame(output::impact_frame(model, &summary), &p)?,
        &p,
    )?;
    let p = dir.join("horizon.csv");
    output::write_csv(
        &mut output::frame(output::horizon_frame(model, &summary), &p)?,
        &p,
    )?;
    // The model as read, so `sharecast report` can redraw from this folder alone.
    let p = dir.join("model.toml");
    std::fs::write(&p, &source.text).with_context(|| format!("cannot write '{}'", p.display()))?;
    let p = dir.join("scenarios.csv");
    output::write_csv(
        &mut output::frame(
            output::scenarios_frame(&scenarios, model.simulation.futures),
            &p,
        )?,
        &p,
    )?;
    if let (true, Some(paths)) = (args.paths, &paths) {
        let p = dir.join("paths.parquet");
        output::write_parquet(
            &mut output::frame(output::paths_frame(model, &scenarios, paths), &p)?,
            &p,
        )?;
    }
    seconds.insert("write_tables".to_string(), t.elapsed().as_secs_f64());
    seconds.insert("total".to_string(), t0.elapsed().as_secs_f64());

    let clamped_draws = model
        .priors
        .iter()
        .zip(&clamps)
        .filter(|(_, &c)| c > 0)
        .map(|(p, &c)| (p.path.clone(), c))
        .collect();
    let manifest = Manifest {
        sharecast_version: env!("CARGO_PKG_VERSION").to_string(),
        model_path: source.name.clone(),
        model_sha256: sha256_hex(source.text.as_bytes()),
        overrides: overrides.to_vec(),
        model_name: model.name.clone(),
        seed: model.simulation.seed,
        futures: model.simulation.futures,
        sampling: model.simulation.sampling.name().to_string(),
        threads,
        scenarios: scenarios.len(),
        path_years: (model.simulation.futures * scenarios.len() * model.horizon()) as u64,
        seconds,
        clamped_draws,
        summaries: if exact {
            "exact".into()
        } else {
            "streamed".into()
        },
    };
    let mpath = dir.join("run.json");
    std::fs::write(&mpath, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("cannot write '{}'", mpath.display()))?;
    if !args.no_report {
        let t = Instant::now();
        sharecast::report::render(dir, args.chart_size).context("cannot draw the report")?;
        let secs = t.elapsed().as_secs_f64();
        // Record the report's time too: rewrite the manifest.
        let mut manifest = manifest;
        manifest.seconds.insert("report".to_string(), secs);
        std::fs::write(&mpath, serde_json::to_string_pretty(&manifest)? + "\n")
            .with_context(|| format!("cannot write '{}'", mpath.display()))?;
    }
    let total = t0.elapsed().as_secs_f64();
    let final_dir = staging.commit()?;
    Ok(format!(
        "{}: {} scenarios x {} futures in {:.2} s -> {}{}",
        model.name,
        scenarios.len(),
        model.simulation.futures,
        total,
        final_dir.display(),
        headline(model, &summary)
    ))
}

/// `sharecast report DIR`: redraws the charts of a finished run in place.
pub fn report(dir: &Path, size: (u32, u32)) -> Result<()> {
    let charts = sharecast::report::render(dir, size)
        .with_context(|| format!("cannot draw the report of '{}'", dir.display()))?;
    println!(
        "{} charts and index.html -> {}",
        charts.len(),
        dir.join("report").display()
    );
    Ok(())
}

/// "; custom_silicon 2030: median 18.2% (90%: 12.1-25.3%)" for the
/// second focus series (the first group by default) in the first
/// threshold year, else the final year.
fn headline(model: &Model, summary: &summary::Summary) -> String {
    let series = model
        .focus
        .iter()
        .rev()
        .find(|s| **s != Series::Market)
        .copied();
    let Some(series) = series else {
        return String::new();
    };
    let year = model.thresholds.first().map_or(model.end_year, |t| t.year);
    summary
        .rows
        .iter()
        .find(|r| r.view == 0 && r.year == year && r.series == series)
        .map(|r| {
            format!(
                "; {} {year}: median {:.1}% (90%: {:.1}-{:.1}%)",
                model.series_id(series),
                100.0 * r.stats.q[2],
                100.0 * r.stats.q[0],
                100.0 * r.stats.q[4]
            )
        })
        .unwrap_or_default()
}

/// Largest memory footprint for exact summaries (every path held).
const EXACT_BUDGET: u128 = 1 << 30;

/// Bytes a run is budgeted at: the paths (`f32` per future x scenario x
/// year x platform share and market), plus a group column (sum of platform
/// columns) and a sorted copy for every series' column. (The summaries now
/// hold those only for one year and series per thread at a time, so this
/// over-counts; it is kept so that the same runs stay exact.)
fn peak_bytes(model: &Model) -> u128 {
    let cells = model.simulation.futures as u128
        * scenario::enumerate(model).len() as u128
        * (model.horizon() as u128 + 1);
    let columns = model.platforms.len() as u128
        + 1
        + model.groups.len() as u128
        + model.series().len() as u128;
    cells * columns * 4
}

/// Refuses a run that cannot fit in the memory available now, instead of
/// letting the operating system kill it half-way.
fn check_memory(model: &Model) -> Result<()> {
    let need = peak_bytes(model);
    let Some(available) = available_memory() else {
        return Ok(());
    };
    if need > available * 9 / 10 {
        let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
        bail!(
            "model '{}' needs about {:.1} GiB of memory for {} futures per scenario, but {:.1} GiB is available; lower --futures (memory grows with futures x scenarios x years x series)",
            model.name,
            gib(need),
            model.simulation.futures,
            gib(available)
        );
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, when the system has it.
fn available_memory() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn progress_bar(quiet: bool, futures: u64, name: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(futures), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} futures ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}
