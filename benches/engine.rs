//! Benchmarks, one group per stage, on seeded inputs. Unit of the engine:
//! the path-year (one future x one scenario x one simulated year).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sharecast::engine::sampler::Sampler;
use sharecast::engine::{simulate, Engine};
use sharecast::model::{load, DEFAULT_MODEL};
use sharecast::prior::parse_prior_str;
use sharecast::scenario::enumerate;
use sharecast::summary::summarise;
use std::hint::black_box;

/// 6 platforms and 4 buyers, one two-outcome deal: the issue's bar model.
const BAR_MODEL: &str = r#"
[model]
name = "bench"
start_year = 2025
end_year = 2032
[simulation]
futures = 20000
seed = 1
[groups]
custom = ["tpu", "trn", "asic"]
[platforms.nvidia]
drift = "0.05 to 0.2"
volatility = 0.05
[platforms.amd]
drift = "0.05 to 0.25"
volatility = 0.08
[platforms.tpu]
drift = "0.05 to 0.25"
volatility = 0.08
[platforms.trn]
drift = "0.05 to 0.3"
volatility = 0.1
[platforms.asic]
drift = "0 to 0.3"
volatility = 0.15
[platforms.other]
drift = "0 to 0.2"
volatility = 0.1
[buyers.lab]
spend = "20 to 35"
growth = "0.2 to 0.7"
growth_volatility = 0.15
sensitivity = "0.5 to 2"
agility = "pert(0.05, 0.25, 0.5)"
mix = { nvidia = 0.9, amd = 0.05, asic = 0.05 }
[buyers.cloud]
spend = "25 to 35"
growth = "0.1 to 0.5"
growth_volatility = 0.1
mix = { nvidia = 0.7, tpu = 0.3 }
[buyers.retail]
spend = "15 to 25"
growth = "0.1 to 0.45"
growth_volatility = 0.1
mix = { nvidia = 0.85, trn = 0.15 }
[buyers.rest]
spend = "50 to 70"
growth = "0.1 to 0.4"
growth_volatility = 0.15
mix = { nvidia = 0.85, amd = 0.03, other = 0.12 }
[deals.d]
[deals.d.outcomes.yes]
probability = 0.5
effects = [ { kind = "commitment", buyer = "lab", platform = "trn", spend = "4 to 8", from = 2027, to = 2030 } ]
[deals.d.outcomes.no]
probability = 0.5
"#;

/// The bar model with two more deals (a price cut, a lab's switch): 12
/// scenarios sharing each future's draws, as in a typical deal study.
fn bar_model_12_scenarios() -> String {
    format!(
        "{BAR_MODEL}{}",
        r#"
[deals.price]
[deals.price.outcomes.cut]
probability = 0.4
effects = [ { kind = "drift", platform = "nvidia", shift = "0.05 to 0.15", from = 2027, to = 2029 } ]
[deals.price.outcomes.holds]
probability = 0.6
[deals.switch]
[deals.switch.outcomes.full]
probability = 0.3
effects = [
  { kind = "affinity", buyer = "cloud", platform = "tpu", shift = "0.5 to 1.5", from = 2027 },
  { kind = "growth", buyer = "cloud", shift = "0.02 to 0.08", from = 2027, to = 2030 },
]
[deals.switch.outcomes.partial]
probability = 0.3
effects = [ { kind = "affinity", buyer = "cloud", platform = "tpu", shift = "0.2 to 0.6", from = 2028 } ]
[deals.switch.outcomes.none]
probability = 0.4
"#
    )
}

fn priors(c: &mut Criterion) {
    let mut g = c.benchmark_group("priors");
    let n = 100_000u64;
    g.throughput(Throughput::Elements(n));
    for text in [
        "25 to 40",
        "pert(0.05, 0.2, 0.5)",
        "gamma(2.5, 0.4)",
        "normal(0.1, 0.05) in [0, 0.12]",
    ] {
        let p = parse_prior_str(text).unwrap();
        let tabulated = Sampler::new(&p);
        g.bench_function(format!("engine {text}"), |b| {
            b.iter(|| {
                (0..n)
                    .map(|i| tabulated.quantile((i as f64 + 0.5) / n as f64))
                    .sum::<f64>()
            })
        });
        g.bench_function(text, |b| {
            b.iter(|| {
                (0..n)
                    .map(|i| p.quantile((i as f64 + 0.5) / n as f64))
                    .sum::<f64>()
            })
        });
    }
    g.finish();
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    let bar_12 = bar_model_12_scenarios();
    // The bar model without its deal: one scenario, the least work shared
    // per future.
    let bar_1 = &BAR_MODEL[..BAR_MODEL
        .find("[deals.d]")
        .expect("the bar model has a deal")];
    for (name, text, futures) in [
        ("bar_6p_4b", BAR_MODEL, 20_000),
        ("bar_6p_4b_1_scenario", bar_1, 20_000),
        ("bar_6p_4b_12_scenarios", bar_12.as_str(), 5_000),
        ("default", DEFAULT_MODEL, 2_000),
    ] {
        let m = load(name, text, &[format!("simulation.futures={futures}")]).unwrap();
        let s = enumerate(&m);
        g.throughput(Throughput::Elements(
            (futures * s.len() * m.horizon()) as u64,
        ));
        // Preparing the engine (stream keys, prior tables) happens once per
        // run and is measured on its own below.
        let engine = Engine::new(&m, &s);
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.simulate(0..futures, &|_| {})))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("prepare");
    g.sample_size(10);
    let m = load("default", DEFAULT_MODEL, &[]).unwrap();
    let s = enumerate(&m);
    g.bench_function("default", |b| b.iter(|| black_box(Engine::new(&m, &s))));
    g.finish();
}

fn summary(c: &mut Criterion) {
    let mut g = c.benchmark_group("summarise");
    g.sample_size(10);
    let m = load(
        "default",
        DEFAULT_MODEL,
        &["simulation.futures=2000".into()],
    )
    .unwrap();
    let s = enumerate(&m);
    let paths = simulate(&m, &s, &|_| {});
    g.throughput(Throughput::Elements(
        (2000 * s.len() * (m.horizon() + 1)) as u64,
    ));
    g.bench_function("default_2000", |b| {
        b.iter_batched(
            || (),
            |_| black_box(summarise(&m, &s, &paths)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("sketch_with_simulation_default_2000", |b| {
        b.iter(|| {
            black_box(sharecast::pipeline::run(
                &m,
                &s,
                (sharecast::pipeline::Summaries::Sketch, false),
                &|_| {},
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, priors, engine, summary);
criterion_main!(benches);
