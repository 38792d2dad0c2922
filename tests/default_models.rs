//! The shipped models: valid; the default starts from calendar 2025
//! (../shared/data/history-2019-2025.md), its 2026 lands inside
//! ai-accelerators-2026.md's range, and it stays within its scenario
//! budget.

use sharecast::check::base_year_shares;
use sharecast::model::{load, Series};

const MODELS: &[(&str, &str)] = &[
    (
        "ai_accelerators.toml",
        include_str!("../models/ai_accelerators.toml"),
    ),
    (
        "amazon_openai_2025.toml",
        include_str!("../models/amazon_openai_2025.toml"),
    ),
    ("minimal.toml", include_str!("../models/minimal.toml")),
    (
        "hindcast_2023.toml",
        include_str!("../models/hindcast_2023.toml"),
    ),
];

#[test]
fn every_shipped_model_is_valid() {
    for (name, text) in MODELS {
        load(name, text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Base-year mean of `all` and the 2026 market median, from a seeded run
/// of `futures` futures.
fn run_default(futures: usize) -> (f64, f64, f64) {
    let m = load(
        "ai_accelerators.toml",
        MODELS[0].1,
        &[format!("simulation.futures={futures}")],
    )
    .unwrap();
    let s = sharecast::scenario::enumerate(&m);
    let out = sharecast::pipeline::run(
        &m,
        &s,
        (sharecast::pipeline::Summaries::Exact, false),
        &|_| {},
    );
    let get = |year: i32, id: &str| {
        out.summary
            .rows
            .iter()
            .find(|r| r.view == 0 && r.year == year && m.series_id(r.series) == id)
            .unwrap()
            .stats
    };
    (
        get(2025, "nvidia").mean,
        get(2025, "custom_silicon").mean,
        get(2026, "market").q[2],
    )
}

#[test]
fn default_starts_from_calendar_2025_and_lands_inside_2026() {
    // History file, calendar 2025: Nvidia 81% (75-87%), custom ~10%; the
    // issue's bar: Nvidia 79-84%, custom silicon 8-11.5%. 2026 market:
    // 354 (310-410) in ai-accelerators-2026.md section 6.
    let m = load("ai_accelerators.toml", MODELS[0].1, &[]).unwrap();
    let shares = base_year_shares(&m);
    let nvidia = shares[m.platforms.iter().position(|p| p.id == "nvidia").unwrap()];
    let Some(Series::Group(g)) = m.find_series("custom_silicon") else {
        panic!("no custom_silicon group")
    };
    let custom: f64 = m.groups[g].members.iter().map(|&p| shares[p]).sum();
    assert!((0.79..=0.84).contains(&nvidia), "nvidia {nvidia}");
    assert!((0.08..=0.115).contains(&custom), "custom silicon {custom}");
    let (nvidia, custom, market) = run_default(2000);
    assert!((0.79..=0.84).contains(&nvidia), "simulated nvidia {nvidia}");
    assert!(
        (0.08..=0.115).contains(&custom),
        "simulated custom silicon {custom}"
    );
    assert!(
        (310.0..=410.0).contains(&market),
        "2026 market median {market}"
    );
}

#[test]
fn default_carries_effects_evidence_and_a_scenario_budget() {
    let m = load("ai_accelerators.toml", MODELS[0].1, &[]).unwrap();
    assert!(!m.global_effects.is_empty());
    let years: Vec<i32> = m.observations.iter().map(|o| o.year).collect();
    assert!(years.contains(&2026), "{years:?}");
    for id in ["market", "nvidia", "custom_silicon"] {
        assert!(
            m.observations.iter().any(|o| m.series_id(o.series) == id),
            "{id}"
        );
    }
    let n = sharecast::scenario::enumerate(&m).len();
    assert!(n <= 72, "{n} scenarios");
}

#[test]
fn the_hindcast_shares_the_default_structural_priors() {
    let d = load("ai_accelerators.toml", MODELS[0].1, &[]).unwrap();
    let h = load("hindcast_2023.toml", MODELS[3].1, &[]).unwrap();
    assert_eq!(h.start_year, 2023);
    assert!(h.deals.is_empty() && h.global_effects.is_empty());
    let prior = |m: &sharecast::model::Model, path: &str| {
        let p = m
            .priors
            .iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("{path}"));
        format!("{}", p.prior)
    };
    for p in &d.platforms {
        for field in ["drift", "volatility"] {
            let path = format!("platforms.{}.{field}", p.id);
            assert_eq!(prior(&d, &path), prior(&h, &path), "{path}");
        }
    }
    for b in &d.buyers {
        for field in ["sensitivity", "agility"] {
            let path = format!("buyers.{}.{field}", b.id);
            assert_eq!(prior(&d, &path), prior(&h, &path), "{path}");
        }
    }
}

#[test]
fn the_2025_framing_has_the_deals_it_describes() {
    let m = load("amazon_openai_2025.toml", MODELS[1].1, &[]).unwrap();
    let ids: Vec<&str> = m.deals.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        ["amazon_openai", "microsoft_response", "nvidia_response"]
    );
    assert_eq!(m.deals[1].given, Some(0));
}
