//! Conditioning on `[observed]` (MODEL.md section 7): the posterior tables
//! equal a brute-force reading of the section on the same futures; the
//! evidence moves the forecast and the priors the way it should; the
//! tables do not depend on threads or summaries; and the commands around
//! it (`check`, `--write-posterior`, `sweep`) do what they promise.

mod common;

use common::{assert_fails_with, assert_success, sharecast, stderr};
use sharecast::engine::Engine;
use sharecast::evidence::condition;
use sharecast::model::{load, Model, Series};
use sharecast::pipeline::{self, Summaries};
use sharecast::scenario::enumerate;
use sharecast::sensitivity::sampled_priors;
use sharecast::summary::{views, QUANTILES};

const BASE: &str = include_str!("models/broken_base.toml");

fn model(futures: usize, extra: &[&str]) -> Model {
    let mut o = vec![format!("simulation.futures={futures}")];
    o.extend(extra.iter().map(|s| s.to_string()));
    load("broken_base.toml", BASE, &o).unwrap()
}

/// Every (future, scenario) pair of a view: its value of `series` in year
/// index `k`, and its weight `P(s) exp(sum_o -z^2 / 2)`, from the paths
/// directly.
fn pairs(
    m: &Model,
    paths: &sharecast::engine::Paths,
    members: &[(usize, f64)],
    k: usize,
    series: Series,
) -> Vec<(f32, f64)> {
    let value = |sc: usize, i: usize, se: Series, k: usize| -> f32 {
        match se {
            Series::Platform(p) => paths.column(sc, k, p)[i],
            Series::Market => paths.market(sc, k)[i],
            Series::Group(g) => m.groups[g]
                .members
                .iter()
                .map(|&p| paths.column(sc, k, p)[i] as f64)
                .sum::<f64>() as f32,
        }
    };
    let mut out = Vec::new();
    for &(sc, pi) in members {
        for i in 0..paths.futures {
            let mut lw = 0.0;
            for o in &m.observations {
                let y = value(sc, i, o.series, (o.year - m.start_year) as usize);
                let z = (y as f64 - o.mean()) / o.sd();
                lw -= 0.5 * z * z;
            }
            out.push((value(sc, i, series, k), pi * lw.exp()));
        }
    }
    out
}

/// `inf { x : F_w(x) >= q }` by sorting.
fn naive_quantile(p: &mut [(f32, f64)], q: f64) -> f64 {
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = p.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for (i, &(v, w)) in p.iter().enumerate() {
        acc += w;
        let last_of_value = i + 1 == p.len() || p[i + 1].0 != v;
        if last_of_value && acc >= q * total - 1e-12 * total {
            return v as f64;
        }
    }
    p.last().unwrap().0 as f64
}

/// The conditioned rows against section 7 computed by brute force on the
/// same futures: weighted means to 1e-9 (relative), quantiles exactly (both
/// pick a simulated value), thresholds and the ESS to 1e-9.
#[test]
fn posterior_tables_follow_section_7_exactly() {
    let m = model(1500, &[]);
    let s = enumerate(&m);
    let engine = Engine::new(&m, &s);
    let paths = engine.simulate_keeping(0..1500, usize::MAX, &|_| {});
    let post = condition(&m, &s, &paths);
    let vs = views(&m, &s);
    assert_eq!(post.views.len(), vs.len());
    for r in &post.rows {
        let k = (r.year - m.start_year) as usize;
        let mut p = pairs(&m, &paths, &vs[r.view].members, k, r.series);
        let total: f64 = p.iter().map(|x| x.1).sum();
        let mean = p.iter().map(|x| x.1 * x.0 as f64).sum::<f64>() / total;
        assert!(
            (r.stats.mean - mean).abs() <= 1e-9 * mean.abs().max(1.0),
            "{r:?} mean {mean}"
        );
        for (i, &q) in QUANTILES.iter().enumerate() {
            assert_eq!(r.stats.q[i], naive_quantile(&mut p, q), "{r:?} q{q}");
        }
    }
    // ESS and scenario probabilities.
    for (v, (view, ess)) in vs.iter().zip(&post.views) {
        assert_eq!(v.name, view.name);
        let p = pairs(&m, &paths, &v.members, 0, Series::Market);
        let (sum, sq): (f64, f64) = p
            .iter()
            .fold((0.0, 0.0), |a, x| (a.0 + x.1, a.1 + x.1 * x.1));
        assert!(
            (ess - sum * sum / sq).abs() < 1e-9 * ess,
            "{} {ess}",
            v.name
        );
    }
    let all: Vec<(usize, f64)> = s
        .iter()
        .enumerate()
        .map(|(i, sc)| (i, sc.probability))
        .collect();
    let total: f64 = pairs(&m, &paths, &all, 0, Series::Market)
        .iter()
        .map(|x| x.1)
        .sum();
    for (i, row) in post.scenarios.iter().enumerate() {
        let own: f64 = pairs(&m, &paths, &[(i, s[i].probability)], 0, Series::Market)
            .iter()
            .map(|x| x.1)
            .sum();
        assert!((row.posterior - own / total).abs() < 1e-12, "{row:?}");
    }
    // Thresholds: p and se as written in section 7.
    for r in &post.thresholds {
        let th = &m.thresholds[r.threshold];
        let k = (th.year - m.start_year) as usize;
        let members = &vs[r.view].members;
        let per: Vec<Vec<(f32, f64)>> = members
            .iter()
            .map(|&mb| pairs(&m, &paths, &[mb], k, th.series))
            .collect();
        let total: f64 = per.iter().flatten().map(|x| x.1).sum();
        let hit = |v: f32| {
            if th.above {
                v as f64 > th.level
            } else {
                (v as f64) < th.level
            }
        };
        let p: f64 = per
            .iter()
            .flatten()
            .filter(|x| hit(x.0))
            .map(|x| x.1)
            .sum::<f64>()
            / total;
        let se = (0..paths.futures)
            .map(|i| {
                per.iter()
                    .map(|col| col[i].1 / total * (f64::from(u8::from(hit(col[i].0))) - p))
                    .sum::<f64>()
                    .powi(2)
            })
            .sum::<f64>()
            .sqrt();
        assert!(
            (r.probability - p).abs() < 1e-12 && (r.se - se).abs() < 1e-12,
            "{r:?} {p} {se}"
        );
    }
}

/// A tight observation of the 2026 market at the unconditioned forecast's
/// 80th percentile: the conditioned median of the 2026 market lands inside
/// the observation's interval, the lab's spend (which drives the market)
/// moves up, and the unconditioned tables are untouched.
#[test]
fn evidence_pulls_the_forecast_and_the_priors_toward_it() {
    let plain = model(20_000, &["observed={}"]);
    let s = enumerate(&plain);
    let before = pipeline::run(&plain, &s, (Summaries::Exact, false), &|_| {});
    let market = before
        .summary
        .rows
        .iter()
        .find(|r| r.view == 0 && r.year == 2026 && r.series == Series::Market)
        .unwrap()
        .stats;
    let centre = market.q[3] + 0.2 * (market.q[4] - market.q[3]);
    let obs = format!(
        "observed.2026.market=\"{:.3} to {:.3}\"",
        centre - 1.0,
        centre + 1.0
    );
    let m = model(20_000, &["observed={}", &obs]);
    let after = pipeline::run(&m, &s, (Summaries::Exact, false), &|_| {});
    assert_eq!(
        format!("{:?}", after.summary.rows),
        format!("{:?}", before.summary.rows)
    );
    let post = after.posterior.unwrap();
    let row = post
        .rows
        .iter()
        .find(|r| r.view == 0 && r.year == 2026 && r.series == Series::Market)
        .unwrap();
    assert!(
        (row.stats.q[2] - centre).abs() < 1.0,
        "{:?} vs {centre}",
        row.stats
    );
    let spend = post
        .priors
        .iter()
        .find(|p| m.priors[p.prior].path == "buyers.lab.spend")
        .unwrap();
    assert!(spend.after[1] > spend.before[1], "{spend:?}");
    let o = &post.observations[0];
    assert!(o.percentile > 0.7 && o.percentile < 0.9, "{o:?}");
    assert!(post.views[0].1 < 0.5 * 20_000.0 * 2.0);
}

#[test]
fn the_posterior_does_not_depend_on_threads_or_summaries() {
    let m = model(3000, &[]);
    let s = enumerate(&m);
    let with = |threads: usize, summaries: Summaries| {
        let post = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                pipeline::run(&m, &s, (summaries, false), &|_| {})
                    .posterior
                    .unwrap()
            });
        format!(
            "{:?} {:?} {:?} {:?}",
            post.rows, post.thresholds, post.impact, post.priors
        )
    };
    let one = with(1, Summaries::Exact);
    assert_eq!(one, with(2, Summaries::Exact));
    // A sketch run keeps the first futures' paths for the posterior: all here.
    assert_eq!(one, with(2, Summaries::Sketch));
}

#[test]
fn run_writes_the_posterior_folder_and_the_report_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/broken_base.toml");
    let o = sharecast()
        .args(["run", model, "--futures", "2000", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&o);
    let header = |f: &str| {
        std::fs::read_to_string(out.join("posterior").join(f))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        header("summary.csv"),
        "scenario,year,series,mean,sd,p05,p25,p50,p75,p95,ess"
    );
    assert_eq!(
        header("thresholds.csv"),
        "scenario,series,year,condition,level,probability,se,ess"
    );
    assert_eq!(
        header("impact.csv"),
        "deal,outcome,baseline,year,series,mean,p05,p50,p95,pairs,ess"
    );
    assert_eq!(header("scenarios.csv"), "name,prior,posterior,ess");
    assert!(header("priors.csv").starts_with(
        "input,prior_p05,prior_p50,prior_p95,prior_mean,post_p05,post_p50,post_p95,post_mean"
    ));
    assert!(header("observations.csv")
        .starts_with("observation,series,year,low,high,p05,p50,p95,post_p50,percentile"));
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(run["posterior"]["ess"]["all"].as_f64().unwrap() > 100.0);
    for f in [
        "evidence_gpu.png",
        "evidence_custom.png",
        "evidence_market.png",
        "outcomes_posterior.png",
    ] {
        assert!(out.join("report").join(f).exists(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("report/index.html")).unwrap();
    assert!(html.contains("Conditioned on the evidence") && html.contains("moved most"));
}

#[test]
fn a_view_with_few_effective_futures_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/broken_base.toml");
    // A market far in the forecast's tail, very tightly observed.
    let o = sharecast()
        .args([
            "run",
            model,
            "--futures",
            "500",
            "--quiet",
            "--no-report",
            "--set",
            "observed.2026.market=\"70 to 70.5\"",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&o);
    let e = stderr(&o);
    assert!(
        e.contains("effective sample size below 100") && e.contains("observed.2026.market"),
        "{e}"
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(!run["posterior"]["low_ess"].as_array().unwrap().is_empty());
    assert_eq!(
        run["posterior"]["hardest_observation"],
        "observed.2026.market"
    );
}

#[test]
fn write_posterior_writes_a_model_that_loads_without_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/broken_base.toml");
    let file = dir.path().join("posterior.toml");
    let o = sharecast()
        .args([
            "run",
            model,
            "--futures",
            "2000",
            "--quiet",
            "--no-report",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .arg("--write-posterior")
        .arg(&file)
        .output()
        .unwrap();
    assert_success(&o);
    let text = std::fs::read_to_string(&file).unwrap();
    let m = load("posterior.toml", &text, &[]).unwrap();
    assert!(m.observations.is_empty());
    assert_eq!(m.name, "broken-posterior");
    assert!(text.contains("# [observed.2026]"));
    let original = self::model(10, &[]);
    // Every uncertain prior was rewritten with its comment.
    for p in sampled_priors(&original) {
        let path = &original.priors[p].path;
        assert!(
            text.contains(&format!("# {path}: prior 5/50/95%")),
            "{path}"
        );
    }
    // An existing file is never overwritten; a model without evidence has
    // no posterior.
    let o = sharecast()
        .args([
            "run",
            model,
            "--futures",
            "100",
            "--quiet",
            "--no-report",
            "--out",
        ])
        .arg(dir.path().join("run2"))
        .arg("--write-posterior")
        .arg(&file)
        .output()
        .unwrap();
    assert_fails_with(&o, "already exists");
    let o = sharecast()
        .args([
            "run",
            model,
            "--futures",
            "100",
            "--quiet",
            "--set",
            "observed={}",
            "--write-posterior",
        ])
        .arg(dir.path().join("x.toml"))
        .output()
        .unwrap();
    assert_fails_with(&o, "no [observed]");
    let o = sharecast()
        .args([
            "run",
            model,
            "--futures",
            "100",
            "--quiet",
            "--write-posterior",
            model,
        ])
        .output()
        .unwrap();
    assert!(!o.status.success(), "overwrote the model file");
}

#[test]
fn check_places_each_observation_in_the_forecast() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/broken_base.toml");
    let o = sharecast().args(["check", model]).output().unwrap();
    assert_success(&o);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("short simulation of 100 futures"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("observed.2026.gpu"))
        .unwrap();
    assert!(
        line.contains("mean 87.5%") && line.contains("percentile"),
        "{line}"
    );
}

#[test]
fn sweep_writes_its_table_and_charts_and_validates_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/two_drivers.toml");
    let o = sharecast()
        .args([
            "sweep",
            model,
            "--vary",
            "platforms.asic.drift=\"-0.2 to 0.2\",\"pert(0, 0.1, 0.5)\"",
            "--vary",
            "buyers.lab.growth=0.2,0.8",
            "--futures",
            "500",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&o);
    let text = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "variant,scenario,year,series,mean,p05,p50,p95,p_custom_2028_above_0.4"
    );
    let variants: std::collections::BTreeSet<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(",all,").next().unwrap_or(""))
        .filter(|v| !v.contains("deal="))
        .collect();
    assert!(
        text.contains("\"platforms.asic.drift=\"\"pert(0, 0.1, 0.5)\"\",buyers.lab.growth=0.8\""),
        "{variants:?}"
    );
    for f in ["sweep_gpu.png", "sweep_custom.png", "index.html"] {
        assert!(out.join(f).exists(), "{f}");
    }
    // A bad value anywhere is refused before anything runs.
    let o = sharecast()
        .args([
            "sweep",
            model,
            "--vary",
            "buyers.lab.growth=0.2,\"banana\"",
            "--out",
        ])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("variant buyers.lab.growth=\"banana\""),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("bad").exists());
    let o = sharecast()
        .args(["sweep", model, "--vary", "simulation.seed=1,2"])
        .output()
        .unwrap();
    assert_fails_with(&o, "simulation");
}
