//! A fuzz test of the model reader, on stable Rust: thousands of mutations
//! of the shipped and test models (byte flips, deleted or repeated lines,
//! values replaced by NaN, infinities, huge, tiny, negative, empty or
//! wrongly typed ones, truncation). Every case must be either a clean error
//! (no panic) or a valid model whose short run gives only finite values,
//! with shares in [0, 1].

use proptest::prelude::*;
use sharecast::engine::simulate;
use sharecast::model::load;
use sharecast::scenario::enumerate;
use sharecast::summary::summarise;

/// The models mutated: each is valid as shipped.
const BASES: &[&str] = &[
    include_str!("../models/minimal.toml"),
    include_str!("models/every_feature.toml"),
    include_str!("models/broken_base.toml"),
    include_str!("../models/ai_accelerators.toml"),
];

/// Values swapped in for a line's value.
const VALUES: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "1e-320",
    "-5",
    "-1",
    "0",
    "1",
    "2024",
    "10000000",
    "99999999999999999999",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "\"0 to 1e300\"",
    "\"-1e300 to 1e300\"",
    "\"normal(0, 1e300)\"",
    "\"lognormal(50, 20)\"",
    "\"gamma(0.001, 1000)\"",
    "\"pert(0, 0, 1e-300)\"",
    "\"uniform(-1e308, 1e308)\"",
    "\"beta(1e-300, 1e300)\"",
    "\"0.5 to 0.6 in [0.55, 0.56]\"",
    "{ dist = \"normal\", mean = 0, sd = 1e308 }",
];

/// Shares are stored as f32: a share may exceed 1 by rounding only.
const SHARE_ROUNDING: f32 = 1e-6;

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    DeleteLine(usize),
    RepeatLine(usize),
    ReplaceValue(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::FlipByte(p, b)),
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::RepeatLine),
        (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Mutation::ReplaceValue(l, v)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut t = text.to_string();
    for m in mutations {
        let lines: Vec<&str> = t.lines().collect();
        let n = lines.len().max(1);
        t = match *m {
            Mutation::FlipByte(p, b) => {
                let mut bytes = t.clone().into_bytes();
                if !bytes.is_empty() {
                    let i = p % bytes.len();
                    bytes[i] = b;
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Mutation::DeleteLine(l) => {
                let mut v = lines.clone();
                if !v.is_empty() {
                    v.remove(l % n);
                }
                v.join("\n")
            }
            Mutation::RepeatLine(l) => {
                let mut v = lines.clone();
                if !v.is_empty() {
                    v.insert(l % n, lines[l % n]);
                }
                v.join("\n")
            }
            Mutation::ReplaceValue(l, val) => {
                // The l-th line with `key = value` gets another value.
                let assigns: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].contains(" = "))
                    .collect();
                let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                if !assigns.is_empty() {
                    let i = assigns[l % assigns.len()];
                    let key = lines[i].split(" = ").next().unwrap_or("");
                    v[i] = format!("{key} = {}", VALUES[val]);
                }
                v.join("\n")
            }
            Mutation::Truncate(p) => {
                let mut cut = p % (t.len() + 1);
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                t[..cut].to_string()
            }
        };
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_mutation_is_a_clean_error_or_a_finite_run(
        base in 0..BASES.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let text = apply(BASES[base], &mutations);
        let Ok(m) = load("fuzz.toml", &text, &["simulation.futures=8".into()]) else {
            return Ok(()); // a clean error: the message is tested elsewhere
        };
        let s = enumerate(&m);
        let paths = simulate(&m, &s, &|_| {});
        let np = m.platforms.len();
        for (i, v) in paths.data.iter().enumerate() {
            prop_assert!(v.is_finite(), "non-finite path value in {text}");
            if (i / paths.futures) % paths.columns < np {
                prop_assert!((-0.0..=1.0 + SHARE_ROUNDING).contains(v), "share {v} in {text}");
            }
        }
        let summary = summarise(&m, &s, &paths);
        prop_assert!(summary.check_finite(&m).is_ok(), "{:?} in {text}", summary.check_finite(&m));
    }
}
