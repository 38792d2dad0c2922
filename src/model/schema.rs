//! The shape of a model file: which keys each table may hold, used both by
//! validation (unknown keys) and by `--set` (which paths exist).

/// Top-level tables.
pub const TOP: &[&str] = &[
    "model",
    "simulation",
    "groups",
    "platforms",
    "buyers",
    "effects",
    "deals",
    "report",
    "observed",
];
/// Keys of `[model]`.
pub const MODEL: &[&str] = &["name", "title", "unit", "start_year", "end_year"];
/// Keys of `[simulation]`.
pub const SIMULATION: &[&str] = &["futures", "seed", "sampling"];
/// Keys of `[platforms.<id>]`.
pub const PLATFORM: &[&str] = &["label", "drift", "volatility", "available_from"];
/// Keys of `[buyers.<id>]`.
pub const BUYER: &[&str] = &[
    "label",
    "spend",
    "growth",
    "growth_volatility",
    "sensitivity",
    "agility",
    "mix",
    "affinity",
];
/// Keys of `[deals.<id>]`.
pub const DEAL: &[&str] = &["label", "given", "baseline", "outcomes"];
/// Keys of `[deals.<id>.outcomes.<id>]`.
pub const OUTCOME: &[&str] = &["label", "probability", "effects"];
/// Keys of an effect table.
pub const EFFECT: &[&str] = &["kind", "buyer", "platform", "spend", "shift", "from", "to"];
/// Keys of `[report]`.
pub const REPORT: &[&str] = &["focus", "thresholds"];
/// Keys of a threshold table.
pub const THRESHOLD: &[&str] = &["series", "year", "above", "below"];
/// Keys of a prior written as a table.
pub const PRIOR_TABLE: &[&str] = &[
    "dist", "low", "high", "mean", "sd", "mu", "sigma", "min", "mode", "max", "alpha", "beta",
    "shape", "scale", "truncate",
];

/// What a table at some path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fields(&'static [&'static str]),
    /// Keys are free ids (groups, mix, affinity, probability per outcome).
    IdMap,
    /// Keys are ids of existing entities; none may be created by `--set`.
    Entities,
    /// Keys are years (`[observed.2026]`).
    Years,
    Unknown,
}

fn kind(path: &[&str]) -> Kind {
    match path {
        [] => Kind::Fields(TOP),
        ["model"] => Kind::Fields(MODEL),
        ["simulation"] => Kind::Fields(SIMULATION),
        ["report"] => Kind::Fields(REPORT),
        ["report", "thresholds", _] => Kind::Fields(THRESHOLD),
        ["groups"] => Kind::IdMap,
        ["platforms"] | ["buyers"] | ["deals"] | ["deals", _, "outcomes"] => Kind::Entities,
        ["platforms", _] => Kind::Fields(PLATFORM),
        ["buyers", _] => Kind::Fields(BUYER),
        ["buyers", _, "mix"] | ["buyers", _, "affinity"] => Kind::IdMap,
        ["deals", _] => Kind::Fields(DEAL),
        ["deals", _, "outcomes", _] => Kind::Fields(OUTCOME),
        ["deals", _, "outcomes", _, "probability"] => Kind::IdMap,
        ["deals", _, "outcomes", _, "effects", _] | ["effects", _] => Kind::Fields(EFFECT),
        ["observed"] => Kind::Years,
        ["observed", _] => Kind::IdMap,
        ["platforms", _, "drift" | "volatility"]
        | ["buyers", _, "spend" | "growth" | "growth_volatility" | "sensitivity" | "agility"]
        | ["buyers", _, "affinity", _]
        | ["deals", _, "outcomes", _, "effects", _, "spend" | "shift"]
        | ["effects", _, "spend" | "shift"] => Kind::Fields(PRIOR_TABLE),
        _ => Kind::Unknown,
    }
}

/// The field names the schema knows for the table at `path` (empty when its
/// keys are ids).
pub fn fields_at(path: &[&str]) -> &'static [&'static str] {
    match kind(path) {
        Kind::Fields(f) => f,
        _ => &[],
    }
}

/// Whether `--set` may create key `key` inside the existing table at
/// `parent`; `last` tells whether it is the final segment of the path.
pub fn may_create(parent: &[&str], key: &str, last: bool) -> bool {
    match kind(parent) {
        Kind::Fields(fields) => {
            if !fields.contains(&key) {
                return false;
            }
            if last {
                return true;
            }
            // Intermediate tables that may be created on the way.
            let mut child: Vec<&str> = parent.to_vec();
            child.push(key);
            matches!(kind(&child), Kind::Fields(_) | Kind::IdMap | Kind::Years)
                && !matches!(kind(&child), Kind::Fields(f) if f == PRIOR_TABLE)
        }
        Kind::IdMap => last && is_id(key),
        // `--set observed.2027.nvidia=...` creates the year's table.
        Kind::Years => !last && key.len() == 4 && key.chars().all(|c| c.is_ascii_digit()),
        Kind::Entities | Kind::Unknown => false,
    }
}

/// An example value for a field that takes only a number (MODEL.md
/// sections 2 and 3), for hints; `None` for fields that take text or a
/// prior (a number or a string).
pub fn number_example(path: &[&str]) -> Option<&'static str> {
    match path {
        ["simulation", "futures"] => Some("50000"),
        ["simulation", "seed"] => Some("7"),
        ["model", "start_year" | "end_year"]
        | ["platforms", _, "available_from"]
        | ["deals", _, "outcomes", _, "effects", _, "from" | "to"]
        | ["effects", _, "from" | "to"]
        | ["report", "thresholds", _, "year"] => Some("2028"),
        ["buyers", _, "mix", _]
        | ["deals", _, "outcomes", _, "probability"]
        | ["deals", _, "outcomes", _, "probability", _]
        | ["report", "thresholds", _, "above" | "below"] => Some("0.3"),
        _ => None,
    }
}

/// Whether `s` is a valid id: `[a-z][a-z0-9_]*`.
pub fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// "did you mean" text listing the nearest known keys.
pub fn suggest(key: &str, known: &[String]) -> String {
    if known.is_empty() {
        return "nothing can be set here".to_string();
    }
    let mut scored: Vec<(usize, &String)> =
        known.iter().map(|k| (edit_distance(key, k), k)).collect();
    scored.sort_by_key(|(d, k)| (*d, (*k).clone()));
    let near: Vec<&str> = scored
        .iter()
        .filter(|(d, _)| *d <= 2.max(key.len() / 3))
        .map(|(_, k)| k.as_str())
        .take(3)
        .collect();
    let all: Vec<&str> = known.iter().map(|s| s.as_str()).collect();
    if near.is_empty() {
        format!("allowed: {}", all.join(", "))
    } else {
        format!(
            "did you mean {}? allowed: {}",
            near.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(" or "),
            all.join(", ")
        )
    }
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract() {
        assert!(is_id("nvidia"));
        assert!(is_id("a1_b"));
        assert!(!is_id("Nvidia"));
        assert!(!is_id("1a"));
        assert!(!is_id("a-b"));
        assert!(!is_id(""));
    }

    #[test]
    fn suggests_the_nearest_key() {
        let known: Vec<String> = PLATFORM.iter().map(|s| s.to_string()).collect();
        assert!(suggest("drfit", &known).contains("'drift'"));
    }
}
