//! Distribution correctness: every prior family, plain and truncated, drawn
//! by inverse CDF and compared with an independent CDF from statrs by a
//! Kolmogorov-Smirnov test.

mod common;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use sharecast::prior::{parse_prior_str, Prior};
use statrs::distribution::{Beta, ContinuousCDF, Gamma, LogNormal, Normal, Triangular, Uniform};

const DRAWS: usize = 100_000;

/// An independent CDF.
type Cdf = Box<dyn Fn(f64) -> f64>;

/// KS statistic of `DRAWS` inverse-CDF draws of `prior` against `cdf`.
fn ks(prior: &Prior, cdf: &dyn Fn(f64) -> f64, seed: u64) -> f64 {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut xs: Vec<f64> = (0..DRAWS)
        .map(|_| {
            let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            prior.quantile(u)
        })
        .collect();
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d
            .max((f - i as f64 / n).abs())
            .max(((i + 1) as f64 / n - f).abs());
    }
    d
}

fn truncated(cdf: impl Fn(f64) -> f64, lo: f64, hi: f64) -> impl Fn(f64) -> f64 {
    let (a, b) = (cdf(lo), cdf(hi));
    move |x| {
        if x < lo {
            0.0
        } else if x >= hi {
            1.0
        } else {
            (cdf(x) - a) / (b - a)
        }
    }
}

#[test]
fn every_family_passes_kolmogorov_smirnov_against_statrs() {
    let normal = Normal::new(0.1, 0.05).unwrap();
    let lognormal = LogNormal::new(0.5, 0.8).unwrap();
    let uniform = Uniform::new(-1.0, 3.0).unwrap();
    let triangular = Triangular::new(0.0, 1.0, 0.2).unwrap();
    // pert(0, 0.1, 0.3): alpha = 1 + 4 * 0.1 / 0.3, beta = 1 + 4 * 0.2 / 0.3.
    let pert = Beta::new(1.0 + 4.0 / 3.0, 1.0 + 8.0 / 3.0).unwrap();
    let beta = Beta::new(2.0, 5.0).unwrap();
    let gamma = Gamma::new(2.5, 1.0 / 0.4).unwrap(); // statrs takes a rate
    let small_gamma = Gamma::new(0.3, 1.0 / 2.0).unwrap();
    // "25 to 40": lognormal with ln-quantiles at 5% and 95%.
    let z = 1.644_853_626_951_472_2;
    let interval_ln = LogNormal::new(
        0.5 * (25f64.ln() + 40f64.ln()),
        (40f64.ln() - 25f64.ln()) / (2.0 * z),
    )
    .unwrap();
    let interval_n = Normal::new(0.5, 1.5 / z).unwrap();

    let cases: Vec<(&str, Cdf)> = vec![
        ("normal(0.1, 0.05)", Box::new(move |x| normal.cdf(x))),
        ("lognormal(0.5, 0.8)", Box::new(move |x| lognormal.cdf(x))),
        ("uniform(-1, 3)", Box::new(move |x| uniform.cdf(x))),
        (
            "triangular(0, 0.2, 1)",
            Box::new(move |x| triangular.cdf(x)),
        ),
        ("pert(0, 0.1, 0.3)", Box::new(move |x| pert.cdf(x / 0.3))),
        ("beta(2, 5)", Box::new(move |x| beta.cdf(x))),
        ("gamma(2.5, 0.4)", Box::new(move |x| gamma.cdf(x))),
        ("gamma(0.3, 2)", Box::new(move |x| small_gamma.cdf(x))),
        ("25 to 40", Box::new(move |x| interval_ln.cdf(x))),
        ("-1 to 2", Box::new(move |x| interval_n.cdf(x))),
        (
            "normal(0.1, 0.05) in [0, 0.12]",
            Box::new(truncated(move |x| normal.cdf(x), 0.0, 0.12)),
        ),
        (
            "lognormal(0.5, 0.8) in [1, 3]",
            Box::new(truncated(move |x| lognormal.cdf(x), 1.0, 3.0)),
        ),
        (
            "uniform(-1, 3) in [0, 1]",
            Box::new(truncated(move |x| uniform.cdf(x), 0.0, 1.0)),
        ),
        (
            "triangular(0, 0.2, 1) in [0.1, 0.5]",
            Box::new(truncated(move |x| triangular.cdf(x), 0.1, 0.5)),
        ),
        (
            "pert(0, 0.1, 0.3) in [0.05, 0.2]",
            Box::new(truncated(move |x| pert.cdf(x / 0.3), 0.05, 0.2)),
        ),
        (
            "beta(2, 5) in [0.1, 0.9]",
            Box::new(truncated(move |x| beta.cdf(x), 0.1, 0.9)),
        ),
        (
            "gamma(2.5, 0.4) in [0.5, 2]",
            Box::new(truncated(move |x| gamma.cdf(x), 0.5, 2.0)),
        ),
        (
            "25 to 40 in [20, 30]",
            Box::new(truncated(move |x| interval_ln.cdf(x), 20.0, 30.0)),
        ),
    ];
    let crit = common::ks_critical(DRAWS);
    for (i, (text, cdf)) in cases.iter().enumerate() {
        let prior = parse_prior_str(text).unwrap();
        let d = ks(&prior, cdf.as_ref(), 1000 + i as u64);
        assert!(
            d < crit,
            "{text}: KS statistic {d:.5} >= critical value {crit:.5}"
        );
    }
}

#[test]
fn table_form_equals_string_form() {
    use sharecast::model::load;
    let pairs = [
        (
            "\"25 to 40\"",
            "{ dist = \"interval\", low = 25, high = 40 }",
        ),
        (
            "\"normal(0.1, 0.05) in [0, 1]\"",
            "{ dist = \"normal\", mean = 0.1, sd = 0.05, truncate = [0, 1] }",
        ),
        (
            "\"lognormal(3, 0.2)\"",
            "{ dist = \"lognormal\", mu = 3, sigma = 0.2 }",
        ),
        (
            "\"uniform(20, 30)\"",
            "{ dist = \"uniform\", min = 20, max = 30 }",
        ),
        (
            "\"triangular(20, 25, 30)\"",
            "{ dist = \"triangular\", min = 20, mode = 25, max = 30 }",
        ),
        (
            "\"pert(20, 25, 30)\"",
            "{ dist = \"pert\", min = 20, mode = 25, max = 30 }",
        ),
        (
            "\"gamma(20, 1.2)\"",
            "{ dist = \"gamma\", shape = 20, scale = 1.2 }",
        ),
    ];
    for (s, t) in pairs {
        let a = load("a.toml", common::SMALL, &[format!("buyers.lab.spend={s}")]).unwrap();
        let b = load("b.toml", common::SMALL, &[format!("buyers.lab.spend={t}")]).unwrap();
        let (pa, pb) = (
            &a.priors[a.buyers[0].spend].prior,
            &b.priors[b.buyers[0].spend].prior,
        );
        for u in [0.01, 0.3, 0.5, 0.9] {
            assert_eq!(pa.quantile(u), pb.quantile(u), "{s} vs {t}");
        }
    }
    let beta = load(
        "b.toml",
        common::SMALL,
        &["buyers.lab.agility={ dist = \"beta\", alpha = 2, beta = 5 }".into()],
    )
    .unwrap();
    let p = &beta.priors[beta.buyers[0].agility].prior;
    assert_eq!(
        p.quantile(0.4),
        parse_prior_str("beta(2, 5)").unwrap().quantile(0.4)
    );
}

#[test]
fn interval_quantiles_sit_at_its_ends() {
    // MODEL.md: "a to b" puts its 5% and 95% quantiles at a and b (to 1e-9).
    const INTERVAL_TOL: f64 = 1e-9;
    for (a, b) in [
        (25.0, 40.0),
        (0.05, 0.3),
        (-5.0, -2.0),
        (0.0, 0.1),
        (-1.0, 2.0),
    ] {
        let p = parse_prior_str(&format!("{a} to {b}")).unwrap();
        assert!((p.quantile(0.05) - a).abs() < INTERVAL_TOL * a.abs().max(1.0));
        assert!((p.quantile(0.95) - b).abs() < INTERVAL_TOL * b.abs().max(1.0));
    }
}
