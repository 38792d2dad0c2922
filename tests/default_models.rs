//! The shipped models: valid, and the default's base year matches the
//! public figures of ../shared/data/ai-accelerators-2025.md section 1.

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
];

#[test]
fn every_shipped_model_is_valid() {
    for (name, text) in MODELS {
        load(name, text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn default_base_year_shares_fall_inside_the_public_ranges() {
    // Data file section 1: Nvidia 83% (76-87%); custom silicon 7-14%.
    let m = load("ai_accelerators.toml", MODELS[0].1, &[]).unwrap();
    let shares = base_year_shares(&m);
    let nvidia = shares[m.platforms.iter().position(|p| p.id == "nvidia").unwrap()];
    let Some(Series::Group(g)) = m.find_series("custom_silicon") else {
        panic!("no custom_silicon group")
    };
    let custom: f64 = m.groups[g].members.iter().map(|&p| shares[p]).sum();
    assert!((0.76..=0.87).contains(&nvidia), "nvidia {nvidia}");
    assert!((0.07..=0.14).contains(&custom), "custom silicon {custom}");
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
