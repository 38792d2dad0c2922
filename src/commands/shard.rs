//! `sharecast run --shard I/N` and `sharecast merge`: a run split across
//! machines, and the merge that writes exactly the unsharded run's tables.

use super::{
    flag_overrides, load, out_dir, prepare, progress_bar, read_source, write_run, Finish, Source,
};
use crate::cli::{MergeArgs, RunArgs, SummariesArg};
use anyhow::{bail, Context, Result};
use sharecast::output::{manifest::sha256_hex, Manifest};
use sharecast::pipeline;
use sharecast::scenario;
use sharecast::shard::{self, ShardInfo, FORMAT};
use sharecast::summary::sketch::SketchPlan;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `sharecast run MODEL --shard I/N`.
pub fn run_shard(args: &RunArgs) -> Result<()> {
    let spec = args.shard.as_deref().unwrap_or("auto");
    let shards = args.shards.map(|n| n as usize);
    let (index, count) = if spec == "auto" {
        shard::from_environment(&|k| std::env::var(k).ok(), shards)
            .map_err(|e| anyhow::anyhow!(e))?
    } else {
        if shards.is_some() {
            bail!("--shards N goes with --shard auto; --shard {spec} already says how many");
        }
        shard::parse(spec).map_err(|e| anyhow::anyhow!(e))?
    };
    if index >= count {
        bail!("shard index {index} is not below the number of shards {count}");
    }
    if args.models.len() > 1 {
        bail!("--shard runs one model; give each model its own array job");
    }
    if args.paths {
        bail!("--paths needs every future in one place: a shard cannot write it");
    }
    if matches!(args.summaries, SummariesArg::Exact) {
        bail!("shards are summarised by sketches, which merge exactly: drop --summaries exact");
    }
    if args.write_posterior.is_some() {
        bail!("--write-posterior goes with the merge's result: run it on the merged model, not on a shard");
    }
    let source = read_source(args.models.first().map(|p| p.as_path()))?;
    let overrides = flag_overrides(&args.sim);
    let model = load(&source, &overrides)?;
    let range = shard::range(index, count, model.simulation.futures);
    let out = out_dir(&args.out, &model, &format!(".shard-{index}-of-{count}"));
    let t0 = Instant::now();
    let run = prepare(&out, source.path.as_slice(), &args.common)?;
    let scenarios = scenario::enumerate(&model);
    let bar = progress_bar(
        args.common.quiet,
        range.len() as u64,
        &format!("{} shard {index}/{count}", model.name),
    );
    let with_sensitivity = !args.no_sensitivity;
    let outcome = run.pool.install(|| {
        pipeline::run_shard(&model, &scenarios, range.clone(), with_sensitivity, &|n| {
            bar.inc(n as u64)
        })
    });
    bar.finish_and_clear();
    let bytes = shard::encode(&outcome.state, &outcome.kept);
    let dir = run.staged.dir();
    let p = dir.join("state.bin");
    std::fs::write(&p, &bytes).with_context(|| format!("cannot write '{}'", p.display()))?;
    let info = ShardInfo {
        format: FORMAT,
        sharecast_version: env!("CARGO_PKG_VERSION").to_string(),
        model_name: model.name.clone(),
        model_path: source.name.clone(),
        model_sha256: sha256_hex(source.text.as_bytes()),
        overrides: overrides.clone(),
        seed: model.simulation.seed,
        futures: model.simulation.futures,
        sampling: model.simulation.sampling.name().to_string(),
        sensitivity: with_sensitivity,
        index,
        count,
        first: range.start,
        end: range.end,
        state_sha256: sha256_hex(&bytes),
    };
    let p = dir.join("shard.json");
    std::fs::write(&p, serde_json::to_string_pretty(&info)? + "\n")
        .with_context(|| format!("cannot write '{}'", p.display()))?;
    let p = dir.join("model.toml");
    std::fs::write(&p, &source.text).with_context(|| format!("cannot write '{}'", p.display()))?;
    let mut seconds = outcome.seconds;
    seconds.insert("total".into(), t0.elapsed().as_secs_f64());
    let mut manifest = Manifest::for_model(
        "shard",
        (&source.name, &source.text),
        &overrides,
        &model,
        (run.threads, scenarios.len()),
    );
    manifest.path_years = (range.len() * scenarios.len() * model.horizon()) as u64;
    manifest.seconds = seconds;
    manifest.summaries = "sketch".into();
    manifest.sensitivity = with_sensitivity;
    manifest.write(dir)?;
    let final_dir = run.staged.commit()?;
    if !args.common.quiet {
        println!(
            "{}: shard {index} of {count} (futures {}..{}) in {:.2} s -> {}",
            model.name,
            range.start,
            range.end,
            t0.elapsed().as_secs_f64(),
            final_dir.display()
        );
    }
    Ok(())
}

/// A shard folder read back.
struct Shard {
    dir: PathBuf,
    info: ShardInfo,
    model_text: String,
}

fn read_shard(dir: &Path) -> Result<Shard> {
    let p = dir.join("shard.json");
    let text = std::fs::read_to_string(&p).with_context(|| {
        format!(
            "cannot read '{}': is '{}' a shard folder (sharecast run --shard I/N)?",
            p.display(),
            dir.display()
        )
    })?;
    let info: ShardInfo = serde_json::from_str(&text)
        .with_context(|| format!("'{}' is not a sharecast shard description", p.display()))?;
    if info.format != FORMAT {
        bail!(
            "'{}' is a shard of format {} (sharecast {}); this sharecast merges format {FORMAT}: rerun the shard",
            dir.display(),
            info.format,
            info.sharecast_version
        );
    }
    let p = dir.join("model.toml");
    let model_text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read '{}'", p.display()))?;
    if sha256_hex(model_text.as_bytes()) != info.model_sha256 {
        bail!(
            "'{}' is not the model shard '{}' was run with (its SHA-256 differs); rerun the shard",
            p.display(),
            dir.display()
        );
    }
    Ok(Shard {
        dir: dir.to_path_buf(),
        info,
        model_text,
    })
}

/// `sharecast merge SHARD_DIR... --out DIR`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let t0 = Instant::now();
    let shards: Vec<Shard> = args
        .shards
        .iter()
        .map(|d| read_shard(d))
        .collect::<Result<_>>()?;
    let first = &shards[0];
    for s in &shards[1..] {
        if let Some(what) = first.info.differs_from(&s.info) {
            bail!(
                "'{}' and '{}' are shards of different runs (their {what} differ): merge the shards of one run",
                first.dir.display(),
                s.dir.display()
            );
        }
    }
    let count = first.info.count;
    let mut by_index: Vec<Option<&Shard>> = vec![None; count];
    for s in &shards {
        let i = s.info.index;
        if i >= count {
            bail!("'{}' says it is shard {i} of {count}", s.dir.display());
        }
        if let Some(other) = by_index[i] {
            bail!(
                "'{}' and '{}' are both shard {i} of {count}: give each shard once",
                other.dir.display(),
                s.dir.display()
            );
        }
        let want = shard::range(i, count, first.info.futures);
        if (s.info.first, s.info.end) != (want.start, want.end) {
            bail!(
                "'{}' holds futures {}..{}, not shard {i}'s {}..{}",
                s.dir.display(),
                s.info.first,
                s.info.end,
                want.start,
                want.end
            );
        }
        by_index[i] = Some(s);
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| by_index[i].is_none())
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} of {count} missing: every shard of the run must be merged (rerun a failed one with --shard I/{count})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        );
    }
    let source = Source {
        name: first.info.model_path.clone(),
        text: first.model_text.clone(),
        path: None,
    };
    let model = load(&source, &first.info.overrides)?;
    let scenarios = scenario::enumerate(&model);
    let plan = SketchPlan::new(&model, &scenarios);
    let run = prepare(&args.out, &[], &args.common)?;
    // Add the states in index order (the kept futures are appended, so
    // order matters for them; the sketches are sums).
    let mut merged: Option<(sharecast::summary::sketch::SketchState, pipeline::Kept)> = None;
    for s in by_index.into_iter().flatten() {
        let p = s.dir.join("state.bin");
        let bytes = std::fs::read(&p).with_context(|| format!("cannot read '{}'", p.display()))?;
        if sha256_hex(&bytes) != s.info.state_sha256 {
            bail!("'{}' is damaged or truncated (its SHA-256 is not the one shard.json records); rerun shard {}", p.display(), s.info.index);
        }
        let (state, kept) = shard::decode(&model, &plan, scenarios.len(), &bytes).map_err(|e| {
            anyhow::anyhow!(
                "'{}' cannot be read: {}; rerun shard {}",
                p.display(),
                e.0,
                s.info.index
            )
        })?;
        merged = Some(match merged {
            None => (state, kept),
            Some((mut st, mut k)) => {
                st.merge(&state);
                k.sample.append(&kept.sample);
                match (k.paths.as_mut(), kept.paths) {
                    (Some(a), Some(b)) => a.append(&b),
                    (None, Some(b)) => k.paths = Some(b),
                    _ => {}
                }
                (st, k)
            }
        });
    }
    let (state, kept) = merged.expect("at least one shard");
    let with_sensitivity = first.info.sensitivity;
    let outcome = run
        .pool
        .install(|| pipeline::finish(&model, &scenarios, (state, kept), with_sensitivity));
    let done = run.pool.install(|| {
        write_run(
            &Finish {
                dir: run.staged.dir(),
                source: &source,
                model: &model,
                scenarios: &scenarios,
                overrides: &first.info.overrides,
                threads: run.threads,
                summaries: "sketch",
                sensitivity: with_sensitivity,
                paths: false,
                report: (!args.no_report).then_some(args.common.chart_size),
                t0,
            },
            outcome,
        )
    })?;
    let final_dir = run.staged.commit()?;
    if !args.common.quiet {
        println!(
            "{}: {count} shards merged ({} scenarios x {} futures) in {:.2} s -> {}{}",
            model.name,
            scenarios.len(),
            model.simulation.futures,
            t0.elapsed().as_secs_f64(),
            final_dir.display(),
            super::headline(&model, &done.0)
        );
    }
    Ok(())
}
