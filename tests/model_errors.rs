//! One broken model per validation rule of MODEL.md section 3: each must
//! fail before any simulation, and the message must name the file, the
//! TOML path and the line.

mod common;

use sharecast::model::load;

/// Applies `(find, replace)` to the small valid model.
fn broken(find: &str, replace: &str) -> String {
    assert!(
        common::SMALL.contains(find),
        "test setup: '{find}' not in the base model"
    );
    common::SMALL.replacen(find, replace, 1)
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let pos = text
        .find(needle)
        .unwrap_or_else(|| panic!("'{needle}' not in text"));
    text[..pos].matches('\n').count() + 1
}

#[test]
fn the_base_model_is_valid() {
    load("small.toml", common::SMALL, &[]).unwrap();
}

#[test]
fn every_rule_is_reported_with_path_and_line() {
    // (what is wrong, find, replace, path expected in the message, text on the expected line)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "bad platform id",
            "[platforms.asic]",
            "[platforms.Asic]",
            "platforms.Asic",
            "[platforms.Asic]",
        ),
        (
            "unknown key (typo in a prior)",
            "drift = \"0 to 0.1\"",
            "drfit = \"0 to 0.1\"",
            "platforms.gpu.drfit",
            "drfit",
        ),
        (
            "unknown top-level table",
            "[simulation]",
            "[simulations]",
            "simulations",
            "[simulations]",
        ),
        (
            "outcome probabilities do not sum to one",
            "probability = 0.6",
            "probability = 0.5",
            "deals.deal.outcomes",
            "[deals.deal.outcomes.yes]",
        ),
        (
            "given names an unknown deal",
            "[deals.deal]\n",
            "[deals.deal]\ngiven = \"nope\"\n",
            "deals.deal.given",
            "given = \"nope\"",
        ),
        (
            "effect names an unknown buyer",
            "buyer = \"lab\"",
            "buyer = \"lob\"",
            "deals.deal.outcomes.yes.effects.0.buyer",
            "buyer = \"lob\"",
        ),
        (
            "effect names an unknown platform",
            "platform = \"asic\"",
            "platform = \"asci\"",
            "deals.deal.outcomes.yes.effects.0.platform",
            "platform = \"asci\"",
        ),
        (
            "group names an unknown platform",
            "custom = [\"asic\"]",
            "custom = [\"tpu\"]",
            "groups.custom",
            "custom = [\"tpu\"]",
        ),
        (
            "mix names an unknown platform",
            "mix = { gpu = 0.9, asic = 0.1 }",
            "mix = { gpu = 0.9, tpu = 0.1 }",
            "buyers.lab.mix.tpu",
            "mix = {",
        ),
        (
            "mix does not sum to one",
            "mix = { gpu = 0.9, asic = 0.1 }",
            "mix = { gpu = 0.9, asic = 0.2 }",
            "buyers.lab.mix",
            "mix = {",
        ),
        (
            "agility outside [0, 1]",
            "agility = \"pert(0.1, 0.2, 0.4)\"",
            "agility = 1.5",
            "buyers.lab.agility",
            "agility = 1.5",
        ),
        (
            "negative volatility",
            "volatility = 0.05",
            "volatility = -0.05",
            "platforms.gpu.volatility",
            "volatility = -0.05",
        ),
        (
            "spend not positive",
            "spend = \"20 to 30\"",
            "spend = 0",
            "buyers.lab.spend",
            "spend = 0",
        ),
        (
            "growth not above -1",
            "growth = \"0.2 to 0.5\"",
            "growth = -1.5",
            "buyers.lab.growth",
            "growth = -1.5",
        ),
        (
            "effect year before the first simulated year",
            "from = 2026 }",
            "from = 2025 }",
            "deals.deal.outcomes.yes.effects.0.from",
            "from = 2025",
        ),
        (
            "effect year after end_year",
            "from = 2026 }",
            "from = 2026, to = 2030 }",
            "deals.deal.outcomes.yes.effects.0.to",
            "to = 2030",
        ),
        (
            "from after to",
            "from = 2026 }",
            "from = 2028, to = 2027 }",
            "deals.deal.outcomes.yes.effects.0",
            "to = 2027",
        ),
        (
            "affinity effect on an inaccessible platform",
            "[platforms.asic]",
            "[platforms.tpu]\n[platforms.asic]",
            "deals.deal.outcomes.none.effects.0.platform",
            "kind = \"affinity\"",
        ),
        (
            "malformed prior string",
            "drift = \"0.05 to 0.2\"",
            "drift = \"0.05 too 0.2\"",
            "platforms.asic.drift",
            "0.05 too 0.2",
        ),
        (
            "bad prior parameters",
            "drift = \"0.05 to 0.2\"",
            "drift = \"normal(0, -1)\"",
            "platforms.asic.drift",
            "normal(0, -1)",
        ),
        (
            "unknown effect kind",
            "kind = \"commitment\"",
            "kind = \"commit\"",
            "deals.deal.outcomes.yes.effects.0.kind",
            "kind = \"commit\"",
        ),
        (
            "baseline names an unknown outcome",
            "baseline = \"none\"",
            "baseline = \"nothing\"",
            "deals.deal.baseline",
            "baseline = \"nothing\"",
        ),
        (
            "end_year not after start_year",
            "end_year = 2028",
            "end_year = 2025",
            "model.end_year",
            "end_year = 2025",
        ),
        (
            "sampling not lhs or random",
            "seed = 11",
            "seed = 11\nsampling = \"sobol\"",
            "simulation.sampling",
            "sampling = \"sobol\"",
        ),
        (
            "base-year mix on a platform not yet available",
            "volatility = 0.1\n",
            "volatility = 0.1\navailable_from = 2027\n",
            "buyers.lab.mix.asic",
            "mix = {",
        ),
        (
            "commitment before the platform is available",
            "volatility = 0.1\n",
            "volatility = 0.1\navailable_from = 2027\n",
            "deals.deal.outcomes.yes.effects.0.from",
            "from = 2026",
        ),
    ];
    let mut failures = Vec::new();
    for (what, find, replace, path, line_text) in cases {
        let mut text = broken(find, replace);
        if *what == "affinity effect on an inaccessible platform" {
            text.push_str("");
            text = text.replace(
                "[deals.deal.outcomes.none]\nprobability = 0.4",
                "[deals.deal.outcomes.none]\nprobability = 0.4\neffects = [ { kind = \"affinity\", buyer = \"lab\", platform = \"tpu\", shift = 1 } ]",
            );
        }
        let err = match load("small.toml", &text, &[]) {
            Ok(_) => {
                failures.push(format!("{what}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let msg = err.to_string();
        let line = line_of(&text, line_text);
        let want = format!("small.toml:{line}: {path}");
        if !msg.contains(&want) {
            failures.push(format!("{what}: expected '{want}' in:\n{msg}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_conditional_deal_needs_probabilities_summing_to_one_per_given_outcome() {
    let text = format!(
        "{}\n[deals.second]\ngiven = \"deal\"\n[deals.second.outcomes.a]\nprobability = {{ yes = 0.5, none = 0.2 }}\n[deals.second.outcomes.b]\nprobability = {{ yes = 0.5, none = 0.7 }}\n",
        common::SMALL
    );
    let msg = load("small.toml", &text, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("deals.second.outcomes: outcome probabilities when deal = none sum to 0.9"),
        "{msg}"
    );
}

#[test]
fn given_must_name_an_earlier_deal() {
    let text = common::SMALL.replace("[deals.deal]\n", "[deals.deal]\ngiven = \"later\"\n")
        + "\n[deals.later.outcomes.x]\nprobability = 1\n";
    let msg = load("small.toml", &text, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("deals.deal.given") && msg.contains("declared after"),
        "{msg}"
    );
}

#[test]
fn several_errors_are_all_reported() {
    let text = broken("volatility = 0.05", "volatility = -1")
        .replace("agility = \"pert(0.1, 0.2, 0.4)\"", "agility = 2");
    let err = load("small.toml", &text, &[]).unwrap_err();
    assert!(err.0.len() >= 2, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("platforms.gpu.volatility") && msg.contains("buyers.lab.agility"),
        "{msg}"
    );
}

#[test]
fn overrides_are_validated_like_the_file() {
    let err = load(
        "small.toml",
        common::SMALL,
        &["buyers.lab.agility=3".into()],
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("buyers.lab.agility (from --set buyers.lab.agility=3)"),
        "{msg}"
    );
    assert!(msg.contains("in [0, 1]"), "{msg}");
}

/// The error of loading the small model with one `--set` flag.
fn override_error(flag: &str) -> String {
    load("small.toml", common::SMALL, &[flag.into()])
        .unwrap_err()
        .to_string()
}

#[test]
fn an_override_path_outside_the_schema_lists_the_nearest_keys() {
    let msg = override_error("platforms.gpu.drfit=0.1");
    assert!(msg.contains("did you mean 'drift'"), "{msg}");
    let msg = override_error("platforms.gpv.drift=0.1");
    assert!(msg.contains("did you mean 'gpu'"), "{msg}");
}

/// A value that is not TOML gets a hint that fits its field: a number for
/// a numeric field, else the value itself quoted (not some other example).
#[test]
fn an_override_value_that_is_not_toml_gets_a_hint_for_its_field() {
    let msg = override_error("simulation.futures=fast");
    assert!(msg.contains("not a TOML value"), "{msg}");
    assert!(
        msg.contains("simulation.futures takes a number, e.g. --set simulation.futures=50000"),
        "{msg}"
    );
    let msg = override_error("simulation.sampling=random");
    assert!(
        msg.contains(r#"--set simulation.sampling='"random"'"#),
        "{msg}"
    );
}

#[test]
fn overrides_reach_nested_fields() {
    let m = load(
        "small.toml",
        common::SMALL,
        &[
            "simulation.futures=123".into(),
            "deals.deal.outcomes.yes.probability=0.3".into(),
            "deals.deal.outcomes.none.probability=0.7".into(),
            "deals.deal.outcomes.yes.effects.0.spend=4".into(),
            "buyers.lab.growth=\"0.1 to 0.2\"".into(),
        ],
    )
    .unwrap();
    assert_eq!(m.simulation.futures, 123);
    assert_eq!(m.deals[0].outcomes[0].probability, vec![0.3]);
    let spend = match &m.effects[0].kind {
        sharecast::model::EffectKind::Commitment { spend, .. } => *spend,
        _ => unreachable!(),
    };
    assert_eq!(m.priors[spend].prior.as_fixed(), Some(4.0));
}
