//! Validation: walks the raw document, checks every rule of MODEL.md
//! section 3, collects every problem, and builds the indexed [`Model`].

use super::schema::{self, is_id};
use super::source::{Document, Node, Origin, Value};
use super::*;
use crate::prior::{parse_prior_str, Family, Prior, Spec};
use crate::scenario;

/// Tolerance on a buyer's base-year mix summing to 1 (MODEL.md section 3).
const MIX_SUM_TOL: f64 = 1e-6;
/// Tolerance on a deal's outcome probabilities summing to 1 (MODEL.md section 3).
const PROB_SUM_TOL: f64 = 1e-9;
/// Largest number of futures per scenario accepted.
pub const MAX_FUTURES: i64 = 100_000_000;
/// Longest horizon accepted, in years.
const MAX_HORIZON: i64 = 200;

struct V<'a> {
    doc: &'a Document,
    diags: Vec<Diagnostic>,
    priors: Vec<PriorSlot>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> V<'a> {
    fn err(&mut self, path: &str, node: Option<&Node>, message: String) {
        let (line, via) = match node.map(|n| &n.origin) {
            Some(Origin::File(r)) => (Some(source::line_of(&self.doc.text, r.start)), None),
            Some(Origin::Override(flag)) => (None, Some(flag.clone())),
            _ => (None, None),
        };
        self.diags.push(Diagnostic {
            file: self.doc.file.clone(),
            path: path.to_string(),
            line,
            via,
            message,
        });
    }

    /// The entries of a table node, or an error.
    fn table(&mut self, node: &'a Node, path: &str) -> Option<&'a [(String, Node)]> {
        match &node.value {
            Value::Table(e) => Some(e),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn check_keys(&mut self, node: &'a Node, path: &str, allowed: &[&str]) {
        for (k, v) in node.entries() {
            if !allowed.contains(&k.as_str()) {
                let known: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
                let msg = format!("unknown key '{k}'; {}", schema::suggest(k, &known));
                self.err(&join(path, k), Some(v), msg);
            }
        }
    }

    fn string(&mut self, node: &'a Node, path: &str) -> Option<&'a str> {
        match &node.value {
            Value::Str(s) => Some(s),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a string, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn integer(&mut self, node: &'a Node, path: &str) -> Option<i64> {
        match &node.value {
            Value::Int(i) => Some(*i),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected an integer, found {}", other.type_name()),
                );
                None
            }
        }
    }

    fn number(&mut self, node: &'a Node, path: &str) -> Option<f64> {
        let x = match &node.value {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            other => {
                self.err(
                    path,
                    Some(node),
                    format!("expected a number, found {}", other.type_name()),
                );
                return None;
            }
        };
        if !x.is_finite() {
            self.err(
                path,
                Some(node),
                format!("expected a finite number, found {x}"),
            );
            return None;
        }
        Some(x)
    }

    fn label(&mut self, node: &'a Node, path: &str, id: &str) -> String {
        match node.get("label") {
            Some(l) => self
                .string(l, &join(path, "label"))
                .unwrap_or(id)
                .to_string(),
            None => id.to_string(),
        }
    }

    fn id_key(&mut self, key: &str, node: &'a Node, path: &str) {
        if !is_id(key) {
            self.err(
                path,
                Some(node),
                format!("'{key}' is not a valid id; ids are a lowercase letter followed by lowercase letters, digits or '_'"),
            );
        }
    }

    fn year(&mut self, node: &'a Node, path: &str, lo: i32, hi: i32, what: &str) -> Option<i32> {
        let y = self.integer(node, path)?;
        if y < lo as i64 || y > hi as i64 {
            self.err(
                path,
                Some(node),
                format!("found {y}; {what} must be a year in [{lo}, {hi}]"),
            );
            return None;
        }
        Some(y as i32)
    }

    /// Reads the prior `key` of table `parent` at `path` and registers it.
    fn field_prior(
        &mut self,
        parent: &'a Node,
        path: &str,
        key: &str,
        default: Option<f64>,
        domain: Domain,
        effect: Option<usize>,
    ) -> PriorId {
        self.prior(
            parent.get(key),
            &join(path, key),
            default,
            domain,
            effect,
            parent,
        )
    }

    /// Reads a prior field (number, string or table) and registers it.
    fn prior(
        &mut self,
        node: Option<&'a Node>,
        path: &str,
        default: Option<f64>,
        domain: Domain,
        effect: Option<usize>,
        parent: &'a Node,
    ) -> PriorId {
        let prior = match node {
            None => match default {
                Some(d) => Prior::fixed(d),
                None => {
                    self.err(path, Some(parent), "missing required prior".into());
                    Prior::fixed(1.0)
                }
            },
            Some(n) => self.read_prior(n, path).unwrap_or(Prior::fixed(1.0)),
        };
        if let (Some(v), Some(n)) = (prior.as_fixed(), node) {
            if !domain.allows(v) {
                self.err(
                    path,
                    Some(n),
                    format!("found {v}; allowed: {}", domain.describe()),
                );
            }
        }
        self.priors.push(PriorSlot {
            path: path.to_string(),
            prior,
            domain,
            effect,
        });
        self.priors.len() - 1
    }

    fn read_prior(&mut self, node: &'a Node, path: &str) -> Option<Prior> {
        match &node.value {
            Value::Int(_) | Value::Float(_) => self.number(node, path).map(Prior::fixed),
            Value::Str(s) => match parse_prior_str(s) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.err(path, Some(node), e.0);
                    None
                }
            },
            Value::Table(_) => self.read_prior_table(node, path),
            other => {
                self.err(
                    path,
                    Some(node),
                    format!(
                        "expected a prior (a number, a string like \"1 to 2\", or a table with dist = ...), found {}",
                        other.type_name()
                    ),
                );
                None
            }
        }
    }

    fn read_prior_table(&mut self, node: &'a Node, path: &str) -> Option<Prior> {
        let dist_node = match node.get("dist") {
            Some(d) => d,
            None => {
                self.err(path, Some(node), "a prior table needs dist = \"interval\", \"normal\", \"lognormal\", \"uniform\", \"triangular\", \"pert\", \"beta\" or \"gamma\"".into());
                return None;
            }
        };
        let dist = self.string(dist_node, &join(path, "dist"))?;
        let params: &[&str] = match dist {
            "interval" => &["low", "high"],
            "normal" => &["mean", "sd"],
            "lognormal" => &["mu", "sigma"],
            "uniform" => &["min", "max"],
            "triangular" | "pert" => &["min", "mode", "max"],
            "beta" => &["alpha", "beta"],
            "gamma" => &["shape", "scale"],
            other => {
                self.err(
                    &join(path, "dist"),
                    Some(dist_node),
                    format!("unknown dist \"{other}\"; allowed: interval, normal, lognormal, uniform, triangular, pert, beta, gamma"),
                );
                return None;
            }
        };
        let mut allowed = vec!["dist", "truncate"];
        allowed.extend_from_slice(params);
        self.check_keys(node, path, &allowed);
        let mut values = Vec::new();
        for p in params {
            match node.get(p) {
                Some(n) => values.push(self.number(n, &join(path, p))?),
                None => {
                    self.err(
                        path,
                        Some(node),
                        format!("dist = \"{dist}\" needs {}", params.join(", ")),
                    );
                    return None;
                }
            }
        }
        let truncate = match node.get("truncate") {
            None => None,
            Some(t) => {
                let tp = join(path, "truncate");
                match &t.value {
                    Value::Array(items) if items.len() == 2 => {
                        let lo = self.number(&items[0], &tp)?;
                        let hi = self.number(&items[1], &tp)?;
                        Some((lo, hi))
                    }
                    _ => {
                        self.err(&tp, Some(t), "truncate must be [lo, hi]".into());
                        return None;
                    }
                }
            }
        };
        let built = if dist == "interval" {
            Family::interval(values[0], values[1]).map(|f| {
                (
                    f,
                    Spec::Interval {
                        low: values[0],
                        high: values[1],
                    },
                )
            })
        } else {
            Family::new(dist, &values).map(|f| (f, Spec::Direct))
        };
        match built.and_then(|(f, s)| Prior::new(f, s, truncate)) {
            Ok(p) => Some(p),
            Err(e) => {
                self.err(path, Some(node), e.0);
                None
            }
        }
    }
}

struct Years {
    start: i32,
    end: i32,
}

pub(super) fn validate(doc: &Document) -> Result<Model, ModelError> {
    let mut v = V {
        doc,
        diags: Vec::new(),
        priors: Vec::new(),
    };
    let root = &doc.root;
    v.check_keys(root, "", schema::TOP);

    // [model]
    let (mut name, mut title, mut unit) =
        (String::from("model"), String::new(), String::from("units"));
    let mut years = Years {
        start: 2025,
        end: 2026,
    };
    match root.get("model") {
        None => v.err(
            "model",
            Some(root),
            "missing [model] table (name, start_year, end_year)".into(),
        ),
        Some(m) => {
            if v.table(m, "model").is_some() {
                v.check_keys(m, "model", schema::MODEL);
                match m.get("name") {
                    Some(n) => {
                        if let Some(s) = v.string(n, "model.name") {
                            let ok = !s.is_empty()
                                && s.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                            if ok {
                                name = s.to_string();
                            } else {
                                v.err("model.name", Some(n), format!("found \"{s}\"; a model name is a folder name: letters, digits, '-' and '_' only"));
                            }
                        }
                    }
                    None => v.err("model.name", Some(m), "missing required key 'name'".into()),
                }
                title = match m.get("title") {
                    Some(t) => v.string(t, "model.title").unwrap_or("").to_string(),
                    None => name.clone(),
                };
                if let Some(u) = m.get("unit") {
                    unit = v.string(u, "model.unit").unwrap_or("units").to_string();
                }
                let start = m
                    .get("start_year")
                    .and_then(|n| v.integer(n, "model.start_year"));
                let end = m
                    .get("end_year")
                    .and_then(|n| v.integer(n, "model.end_year"));
                if m.get("start_year").is_none() {
                    v.err(
                        "model.start_year",
                        Some(m),
                        "missing required key 'start_year'".into(),
                    );
                }
                if m.get("end_year").is_none() {
                    v.err(
                        "model.end_year",
                        Some(m),
                        "missing required key 'end_year'".into(),
                    );
                }
                if let (Some(s), Some(e)) = (start, end) {
                    if e < s + 1 || e - s > MAX_HORIZON || !(1..=9999).contains(&s) {
                        v.err(
                            "model.end_year",
                            m.get("end_year"),
                            format!("found start_year = {s}, end_year = {e}; end_year must be at least start_year + 1 and at most start_year + {MAX_HORIZON}"),
                        );
                    } else {
                        years = Years {
                            start: s as i32,
                            end: e as i32,
                        };
                    }
                }
            }
        }
    }
    if title.is_empty() {
        title = name.clone();
    }

    // [simulation]
    let mut simulation = Simulation {
        futures: 10_000,
        seed: 0,
        sampling: Sampling::Lhs,
    };
    if let Some(s) = root.get("simulation") {
        if v.table(s, "simulation").is_some() {
            v.check_keys(s, "simulation", schema::SIMULATION);
            if let Some(n) = s.get("futures") {
                if let Some(f) = v.integer(n, "simulation.futures") {
                    if (1..=MAX_FUTURES).contains(&f) {
                        simulation.futures = f as usize;
                    } else {
                        v.err(
                            "simulation.futures",
                            Some(n),
                            format!("found {f}; allowed: 1 to {MAX_FUTURES}"),
                        );
                    }
                }
            }
            if let Some(n) = s.get("seed") {
                if let Some(x) = v.integer(n, "simulation.seed") {
                    if x >= 0 {
                        simulation.seed = x as u64;
                    } else {
                        v.err(
                            "simulation.seed",
                            Some(n),
                            format!("found {x}; a seed is an integer >= 0"),
                        );
                    }
                }
            }
            if let Some(n) = s.get("sampling") {
                match v.string(n, "simulation.sampling") {
                    Some("lhs") => simulation.sampling = Sampling::Lhs,
                    Some("random") => simulation.sampling = Sampling::Random,
                    Some(other) => v.err(
                        "simulation.sampling",
                        Some(n),
                        format!("found \"{other}\"; allowed: \"lhs\", \"random\""),
                    ),
                    None => {}
                }
            }
        }
    }

    // [platforms]
    let mut platforms = Vec::new();
    match root.get("platforms") {
        None => v.err(
            "platforms",
            Some(root),
            "missing [platforms]: a model needs at least one platform".into(),
        ),
        Some(pn) => {
            if let Some(entries) = v.table(pn, "platforms") {
                if entries.is_empty() {
                    v.err(
                        "platforms",
                        Some(pn),
                        "a model needs at least one platform".into(),
                    );
                }
                for (id, node) in entries {
                    let path = join("platforms", id);
                    v.id_key(id, node, &path);
                    if v.table(node, &path).is_none() {
                        continue;
                    }
                    v.check_keys(node, &path, schema::PLATFORM);
                    let label = v.label(node, &path, id);
                    let drift = v.field_prior(node, &path, "drift", Some(0.0), Domain::Real, None);
                    let volatility = v.field_prior(
                        node,
                        &path,
                        "volatility",
                        Some(0.0),
                        Domain::NonNegative,
                        None,
                    );
                    let available_from = node.get("available_from").and_then(|n| {
                        v.year(n, &join(&path, "available_from"), 1, 9999, "available_from")
                    });
                    platforms.push(Platform {
                        id: id.clone(),
                        label,
                        drift,
                        volatility,
                        available_from,
                    });
                }
            }
        }
    }
    let platform_ids: Vec<String> = platforms.iter().map(|p| p.id.clone()).collect();
    let find_platform = |id: &str| platforms.iter().position(|p| p.id == id);

    // [groups]
    let mut groups = Vec::new();
    if let Some(gn) = root.get("groups") {
        if let Some(entries) = v.table(gn, "groups") {
            for (id, node) in entries {
                let path = join("groups", id);
                v.id_key(id, node, &path);
                if platform_ids.contains(id) || id == "market" {
                    v.err(&path, Some(node), format!("group id '{id}' is already a platform id or 'market'; series ids must be unique"));
                }
                let Value::Array(items) = &node.value else {
                    v.err(
                        &path,
                        Some(node),
                        format!(
                            "expected an array of platform ids, found {}",
                            node.value.type_name()
                        ),
                    );
                    continue;
                };
                if items.is_empty() {
                    v.err(
                        &path,
                        Some(node),
                        "a group needs at least one platform".into(),
                    );
                }
                let mut members = Vec::new();
                for item in items {
                    let Some(pid) = v.string(item, &path) else {
                        continue;
                    };
                    match find_platform(pid) {
                        Some(p) if members.contains(&p) => v.err(
                            &path,
                            Some(item),
                            format!("platform '{pid}' is listed twice"),
                        ),
                        Some(p) => members.push(p),
                        None => v.err(
                            &path,
                            Some(item),
                            format!(
                                "unknown platform '{pid}'; {}",
                                schema::suggest(pid, &platform_ids)
                            ),
                        ),
                    }
                }
                groups.push(Group {
                    id: id.clone(),
                    members,
                });
            }
        }
    }

    // [buyers]
    let mut buyers: Vec<Buyer> = Vec::new();
    match root.get("buyers") {
        None => v.err(
            "buyers",
            Some(root),
            "missing [buyers]: a model needs at least one buyer".into(),
        ),
        Some(bn) => {
            if let Some(entries) = v.table(bn, "buyers") {
                if entries.is_empty() {
                    v.err(
                        "buyers",
                        Some(bn),
                        "a model needs at least one buyer".into(),
                    );
                }
                for (id, node) in entries {
                    let path = join("buyers", id);
                    v.id_key(id, node, &path);
                    if v.table(node, &path).is_none() {
                        continue;
                    }
                    v.check_keys(node, &path, schema::BUYER);
                    let label = v.label(node, &path, id);
                    let spend = v.field_prior(node, &path, "spend", None, Domain::Positive, None);
                    let growth = v.field_prior(
                        node,
                        &path,
                        "growth",
                        Some(0.0),
                        Domain::AboveMinusOne,
                        None,
                    );
                    let growth_volatility = v.field_prior(
                        node,
                        &path,
                        "growth_volatility",
                        Some(0.0),
                        Domain::NonNegative,
                        None,
                    );
                    let sensitivity = v.field_prior(
                        node,
                        &path,
                        "sensitivity",
                        Some(1.0),
                        Domain::NonNegative,
                        None,
                    );
                    let agility =
                        v.field_prior(node, &path, "agility", Some(0.2), Domain::Unit, None);
                    let mut mix = vec![0.0; platforms.len()];
                    let mix_path = join(&path, "mix");
                    match node.get("mix") {
                        None => v.err(&mix_path, Some(node), "missing required key 'mix' (the base-year spend mix, e.g. { nvidia = 0.9, amd = 0.1 })".into()),
                        Some(mn) => {
                            if let Some(me) = v.table(mn, &mix_path) {
                                let mut sum = 0.0;
                                let mut ok = true;
                                for (pid, x) in me {
                                    let xp = join(&mix_path, pid);
                                    let Some(val) = v.number(x, &xp) else {
                                        ok = false;
                                        continue;
                                    };
                                    if val < 0.0 {
                                        v.err(&xp, Some(x), format!("found {val}; a mix share must be >= 0"));
                                        ok = false;
                                    }
                                    match find_platform(pid) {
                                        Some(p) => {
                                            mix[p] = val;
                                            sum += val;
                                            if let Some(y) = platforms[p].available_from {
                                                if y > years.start && val > 0.0 {
                                                    v.err(&xp, Some(x), format!("found {val}; platform '{pid}' is available from {y}, after the base year {}, so its base-year mix must be 0", years.start));
                                                }
                                            }
                                        }
                                        None => {
                                            v.err(&xp, Some(x), format!("unknown platform '{pid}'; {}", schema::suggest(pid, &platform_ids)));
                                            ok = false;
                                        }
                                    }
                                }
                                if ok && (sum - 1.0).abs() > MIX_SUM_TOL {
                                    v.err(&mix_path, Some(mn), format!("mix sums to {}; it must sum to 1 (within {MIX_SUM_TOL:e})", (sum * 1e12).round() / 1e12));
                                }
                            }
                        }
                    }
                    let mut affinity = vec![None; platforms.len()];
                    if let Some(an) = node.get("affinity") {
                        let apath = join(&path, "affinity");
                        if let Some(ae) = v.table(an, &apath) {
                            for (pid, x) in ae {
                                let xp = join(&apath, pid);
                                match find_platform(pid) {
                                    Some(p) => {
                                        affinity[p] = Some(v.prior(
                                            Some(x),
                                            &xp,
                                            None,
                                            Domain::Real,
                                            None,
                                            an,
                                        ))
                                    }
                                    None => v.err(
                                        &xp,
                                        Some(x),
                                        format!(
                                            "unknown platform '{pid}'; {}",
                                            schema::suggest(pid, &platform_ids)
                                        ),
                                    ),
                                }
                            }
                        }
                    }
                    let accessible = (0..platforms.len())
                        .map(|p| mix[p] > 0.0 || affinity[p].is_some())
                        .collect();
                    buyers.push(Buyer {
                        id: id.clone(),
                        label,
                        spend,
                        growth,
                        growth_volatility,
                        sensitivity,
                        agility,
                        mix,
                        affinity,
                        accessible,
                    });
                }
            }
        }
    }
    // [deals]
    let mut deals: Vec<Deal> = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    if let Some(dn) = root.get("deals") {
        if let Some(entries) = v.table(dn, "deals") {
            let all_deal_ids: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
            for (id, node) in entries {
                let path = join("deals", id);
                v.id_key(id, node, &path);
                if v.table(node, &path).is_none() {
                    continue;
                }
                v.check_keys(node, &path, schema::DEAL);
                let label = v.label(node, &path, id);
                let given = match node.get("given") {
                    None => None,
                    Some(g) => {
                        let gp = join(&path, "given");
                        match v.string(g, &gp) {
                            None => None,
                            Some(gid) => match deals.iter().position(|d| d.id == gid) {
                                Some(i) => Some(i),
                                None => {
                                    let msg = if all_deal_ids.iter().any(|d| d == gid) {
                                        format!("deal '{gid}' is declared after '{id}' (or is '{id}' itself); given must name a deal declared earlier")
                                    } else {
                                        let earlier: Vec<String> =
                                            deals.iter().map(|d| d.id.clone()).collect();
                                        format!(
                                            "unknown deal '{gid}'; {}",
                                            schema::suggest(gid, &earlier)
                                        )
                                    };
                                    v.err(&gp, Some(g), msg);
                                    None
                                }
                            },
                        }
                    }
                };
                let given_outcomes: Option<Vec<String>> =
                    given.map(|g| deals[g].outcomes.iter().map(|o| o.id.clone()).collect());
                let opath = join(&path, "outcomes");
                let mut outcomes = Vec::new();
                match node.get("outcomes") {
                    None => v.err(
                        &opath,
                        Some(node),
                        "a deal needs at least one outcome under outcomes".into(),
                    ),
                    Some(on) => {
                        if let Some(oe) = v.table(on, &opath) {
                            if oe.is_empty() {
                                v.err(&opath, Some(on), "a deal needs at least one outcome".into());
                            }
                            for (oid, onode) in oe {
                                let op = join(&opath, oid);
                                v.id_key(oid, onode, &op);
                                if v.table(onode, &op).is_none() {
                                    continue;
                                }
                                v.check_keys(onode, &op, schema::OUTCOME);
                                let olabel = v.label(onode, &op, oid);
                                let pp = join(&op, "probability");
                                let probability =
                                    read_probability(&mut v, onode, &pp, given_outcomes.as_deref());
                                let mut idx = Vec::new();
                                if let Some(en) = onode.get("effects") {
                                    let ep = join(&op, "effects");
                                    match &en.value {
                                        Value::Array(items) => {
                                            for (i, item) in items.iter().enumerate() {
                                                let path_i = format!("{ep}.{i}");
                                                if let Some(e) = read_effect(
                                                    &mut v,
                                                    item,
                                                    &path_i,
                                                    effects.len(),
                                                    &years,
                                                    &platforms,
                                                    &buyers,
                                                ) {
                                                    idx.push(effects.len());
                                                    effects.push(e);
                                                }
                                            }
                                        }
                                        other => v.err(
                                            &ep,
                                            Some(en),
                                            format!(
                                                "expected an array of effect tables, found {}",
                                                other.type_name()
                                            ),
                                        ),
                                    }
                                }
                                outcomes.push(Outcome {
                                    id: oid.clone(),
                                    label: olabel,
                                    probability,
                                    effects: idx,
                                });
                            }
                        }
                    }
                }
                // Sums to one, per outcome of the given deal when conditional.
                if !outcomes.is_empty() && outcomes.iter().all(|o| !o.probability.is_empty()) {
                    let columns = given_outcomes.as_ref().map_or(1, |g| g.len());
                    for c in 0..columns {
                        let sum: f64 = outcomes.iter().map(|o| o.probability[c]).sum();
                        if (sum - 1.0).abs() > PROB_SUM_TOL {
                            let when = match &given_outcomes {
                                Some(g) => {
                                    format!(" when {} = {}", deals[given.unwrap_or(0)].id, g[c])
                                }
                                None => String::new(),
                            };
                            v.err(&opath, node.get("outcomes"), format!("outcome probabilities{when} sum to {}; they must sum to 1 (within {PROB_SUM_TOL:e})", (sum * 1e12).round() / 1e12));
                        }
                    }
                }
                let outcome_ids: Vec<String> = outcomes.iter().map(|o| o.id.clone()).collect();
                let baseline = match node.get("baseline") {
                    None => outcomes.len().saturating_sub(1),
                    Some(b) => {
                        let bp = join(&path, "baseline");
                        match v.string(b, &bp) {
                            Some(bid) => match outcome_ids.iter().position(|o| o == bid) {
                                Some(i) => i,
                                None => {
                                    v.err(
                                        &bp,
                                        Some(b),
                                        format!(
                                            "unknown outcome '{bid}'; {}",
                                            schema::suggest(bid, &outcome_ids)
                                        ),
                                    );
                                    0
                                }
                            },
                            None => 0,
                        }
                    }
                };
                deals.push(Deal {
                    id: id.clone(),
                    label,
                    given,
                    baseline,
                    outcomes,
                });
            }
        }
    }

    let mut model = Model {
        name,
        title,
        unit,
        start_year: years.start,
        end_year: years.end,
        simulation,
        priors: Vec::new(),
        platforms,
        groups,
        buyers,
        effects,
        deals,
        focus: Vec::new(),
        thresholds: Vec::new(),
    };
    let series_ids: Vec<String> = model
        .series()
        .iter()
        .map(|s| model.series_id(*s).to_string())
        .collect();

    // [report]
    let mut focus_given = false;
    if let Some(rn) = root.get("report") {
        if v.table(rn, "report").is_some() {
            v.check_keys(rn, "report", schema::REPORT);
            if let Some(fnode) = rn.get("focus") {
                focus_given = true;
                match &fnode.value {
                    Value::Array(items) => {
                        for item in items {
                            if let Some(sid) = v.string(item, "report.focus") {
                                match model.find_series(sid) {
                                    Some(s) => model.focus.push(s),
                                    None => v.err(
                                        "report.focus",
                                        Some(item),
                                        format!(
                                            "unknown series '{sid}'; {}",
                                            schema::suggest(sid, &series_ids)
                                        ),
                                    ),
                                }
                            }
                        }
                    }
                    other => v.err(
                        "report.focus",
                        Some(fnode),
                        format!(
                            "expected an array of series ids, found {}",
                            other.type_name()
                        ),
                    ),
                }
            }
            if let Some(tn) = rn.get("thresholds") {
                match &tn.value {
                    Value::Array(items) => {
                        for (i, item) in items.iter().enumerate() {
                            let tp = format!("report.thresholds.{i}");
                            if v.table(item, &tp).is_none() {
                                continue;
                            }
                            v.check_keys(item, &tp, schema::THRESHOLD);
                            let series = match item.get("series") {
                                None => {
                                    v.err(&tp, Some(item), "missing required key 'series'".into());
                                    None
                                }
                                Some(sn) => v.string(sn, &join(&tp, "series")).and_then(|sid| match model.find_series(sid) {
                                    Some(Series::Market) => {
                                        v.err(&join(&tp, "series"), Some(sn), "thresholds apply to shares: name a platform or a group, not 'market'".into());
                                        None
                                    }
                                    Some(s) => Some(s),
                                    None => {
                                        v.err(&join(&tp, "series"), Some(sn), format!("unknown series '{sid}'; {}", schema::suggest(sid, &series_ids)));
                                        None
                                    }
                                }),
                            };
                            let year = match item.get("year") {
                                None => {
                                    v.err(&tp, Some(item), "missing required key 'year'".into());
                                    None
                                }
                                Some(yn) => v.year(
                                    yn,
                                    &join(&tp, "year"),
                                    years.start,
                                    years.end,
                                    "a threshold year",
                                ),
                            };
                            let level = match (item.get("above"), item.get("below")) {
                                (Some(a), None) => {
                                    v.number(a, &join(&tp, "above")).map(|x| (x, true, a))
                                }
                                (None, Some(b)) => {
                                    v.number(b, &join(&tp, "below")).map(|x| (x, false, b))
                                }
                                _ => {
                                    v.err(
                                        &tp,
                                        Some(item),
                                        "a threshold needs exactly one of 'above' or 'below'"
                                            .into(),
                                    );
                                    None
                                }
                            };
                            if let Some((x, _, n)) = level {
                                if !(0.0..=1.0).contains(&x) {
                                    v.err(
                                        &tp,
                                        Some(n),
                                        format!("found {x}; a share threshold must be in [0, 1]"),
                                    );
                                }
                            }
                            if let (Some(series), Some(year), Some((level, above, _))) =
                                (series, year, level)
                            {
                                model.thresholds.push(Threshold {
                                    series,
                                    year,
                                    level,
                                    above,
                                });
                            }
                        }
                    }
                    other => v.err(
                        "report.thresholds",
                        Some(tn),
                        format!("expected an array of tables, found {}", other.type_name()),
                    ),
                }
            }
        }
    }
    if !focus_given && !model.platforms.is_empty() {
        model.focus.push(Series::Platform(0));
        if !model.groups.is_empty() {
            model.focus.push(Series::Group(0));
        }
    }

    if let Err(msg) = scenario::check_count(&model.deals) {
        v.err("deals", root.get("deals"), msg);
    }
    model.priors = std::mem::take(&mut v.priors);
    if v.diags.is_empty() {
        Ok(model)
    } else {
        Err(ModelError(v.diags))
    }
}

fn read_probability<'a>(
    v: &mut V<'a>,
    onode: &'a Node,
    pp: &str,
    given: Option<&[String]>,
) -> Vec<f64> {
    let Some(pn) = onode.get("probability") else {
        v.err(pp, Some(onode), "missing required key 'probability'".into());
        return Vec::new();
    };
    let check = |v: &mut V<'a>, x: f64, path: &str, n: &'a Node| -> bool {
        if (0.0..=1.0).contains(&x) {
            true
        } else {
            v.err(
                path,
                Some(n),
                format!("found {x}; a probability must be in [0, 1]"),
            );
            false
        }
    };
    match (&pn.value, given) {
        (Value::Int(_) | Value::Float(_), _) => {
            let x = match &pn.value {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => unreachable!(),
            };
            if !x.is_finite() || !check(v, x, pp, pn) {
                return Vec::new();
            }
            vec![x; given.map_or(1, |g| g.len())]
        }
        (Value::Table(entries), Some(g)) => {
            let mut out = vec![f64::NAN; g.len()];
            let mut ok = true;
            for (k, n) in entries {
                let kp = join(pp, k);
                let Some(i) = g.iter().position(|o| o == k) else {
                    v.err(
                        &kp,
                        Some(n),
                        format!(
                            "unknown outcome '{k}' of the given deal; {}",
                            schema::suggest(k, g)
                        ),
                    );
                    ok = false;
                    continue;
                };
                let x = match &n.value {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    other => {
                        v.err(
                            &kp,
                            Some(n),
                            format!("expected a number, found {}", other.type_name()),
                        );
                        ok = false;
                        continue;
                    }
                };
                if !x.is_finite() || !check(v, x, &kp, n) {
                    ok = false;
                    continue;
                }
                out[i] = x;
            }
            for (i, o) in g.iter().enumerate() {
                if out[i].is_nan() && ok {
                    v.err(pp, Some(pn), format!("missing the probability for given outcome '{o}'; a conditional deal needs one per outcome of the deal it is given"));
                    ok = false;
                }
            }
            if ok {
                out
            } else {
                Vec::new()
            }
        }
        (Value::Table(_), None) => {
            v.err(pp, Some(pn), "a table of probabilities needs 'given' on the deal; an unconditional outcome takes a number in [0, 1]".into());
            Vec::new()
        }
        (other, _) => {
            v.err(pp, Some(pn), format!("expected a number in [0, 1] (or a table per outcome of the given deal), found {}", other.type_name()));
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn read_effect<'a>(
    v: &mut V<'a>,
    node: &'a Node,
    path: &str,
    effect_index: usize,
    years: &Years,
    platforms: &[Platform],
    buyers: &[Buyer],
) -> Option<Effect> {
    let node_ref = node;
    v.table(node_ref, path)?;
    let kind_node = match node_ref.get("kind") {
        Some(k) => k,
        None => {
            v.err(
                path,
                Some(node_ref),
                "an effect needs kind = \"commitment\", \"affinity\", \"drift\" or \"growth\""
                    .into(),
            );
            return None;
        }
    };
    let kind = v.string(kind_node, &join(path, "kind"))?.to_string();
    let allowed: &[&str] = match kind.as_str() {
        "commitment" => &["kind", "buyer", "platform", "spend", "from", "to"],
        "affinity" => &["kind", "buyer", "platform", "shift", "from", "to"],
        "drift" => &["kind", "platform", "shift", "from", "to"],
        "growth" => &["kind", "buyer", "shift", "from", "to"],
        other => {
            v.err(&join(path, "kind"), Some(kind_node), format!("found \"{other}\"; allowed: \"commitment\", \"affinity\", \"drift\", \"growth\""));
            return None;
        }
    };
    v.check_keys(node_ref, path, allowed);
    let platform_ids: Vec<String> = platforms.iter().map(|p| p.id.clone()).collect();
    let buyer_ids: Vec<String> = buyers.iter().map(|b| b.id.clone()).collect();
    let need = |v: &mut V<'a>, key: &str| -> Option<String> {
        match node_ref.get(key) {
            None => {
                v.err(
                    path,
                    Some(node_ref),
                    format!("a {kind} effect needs '{key}'"),
                );
                None
            }
            Some(n) => v.string(n, &join(path, key)).map(|s| s.to_string()),
        }
    };
    let platform = if allowed.contains(&"platform") {
        match need(v, "platform") {
            Some(pid) => match platforms.iter().position(|p| p.id == pid) {
                Some(p) => Some(p),
                None => {
                    v.err(
                        &join(path, "platform"),
                        node_ref.get("platform"),
                        format!(
                            "unknown platform '{pid}'; {}",
                            schema::suggest(&pid, &platform_ids)
                        ),
                    );
                    return None;
                }
            },
            None => return None,
        }
    } else {
        None
    };
    let buyer_sel: Option<Vec<usize>> = if allowed.contains(&"buyer") {
        match need(v, "buyer") {
            Some(bid) if bid == "*" && kind != "commitment" => {
                Some(match (kind.as_str(), platform) {
                    ("affinity", Some(p)) => (0..buyers.len())
                        .filter(|&b| buyers[b].accessible[p])
                        .collect(),
                    _ => (0..buyers.len()).collect(),
                })
            }
            Some(bid) => match buyers.iter().position(|b| b.id == bid) {
                Some(b) => Some(vec![b]),
                None => {
                    let extra = if kind == "commitment" {
                        " (a commitment names one buyer)"
                    } else {
                        " or \"*\""
                    };
                    v.err(
                        &join(path, "buyer"),
                        node_ref.get("buyer"),
                        format!(
                            "unknown buyer '{bid}'{extra}; {}",
                            schema::suggest(&bid, &buyer_ids)
                        ),
                    );
                    return None;
                }
            },
            None => return None,
        }
    } else {
        None
    };
    let from = match node_ref.get("from") {
        Some(n) => v.year(n, &join(path, "from"), years.start + 1, years.end, "'from'")?,
        None => years.start + 1,
    };
    let to = match node_ref.get("to") {
        Some(n) => v.year(n, &join(path, "to"), years.start + 1, years.end, "'to'")?,
        None => years.end,
    };
    if from > to {
        v.err(
            path,
            node_ref.get("from"),
            format!("from = {from} is after to = {to}; need from <= to"),
        );
        return None;
    }
    // Every kind but a commitment has one `shift` prior.
    let shift = (kind != "commitment").then(|| {
        v.field_prior(
            node_ref,
            path,
            "shift",
            None,
            Domain::Real,
            Some(effect_index),
        )
    });
    let kind = match kind.as_str() {
        "commitment" => {
            let p = platform?;
            if let Some(y) = platforms[p].available_from {
                if from < y {
                    v.err(&join(path, "from"), node_ref.get("from").or(Some(node_ref)), format!("the commitment starts in {from}, but platform '{}' is available only from {y}", platforms[p].id));
                }
            }
            let spend = v.field_prior(
                node_ref,
                path,
                "spend",
                None,
                Domain::NonNegative,
                Some(effect_index),
            );
            EffectKind::Commitment {
                buyer: buyer_sel?[0],
                platform: p,
                spend,
            }
        }
        "affinity" => {
            let p = platform?;
            let sel = buyer_sel?;
            let bid = node_ref.get("buyer").and_then(|n| match &n.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            });
            if bid.as_deref() == Some("*") && sel.is_empty() {
                v.err(&join(path, "buyer"), node_ref.get("buyer"), format!("no buyer can access platform '{}'; an affinity effect needs an accessible platform (mix > 0 or an affinity entry)", platforms[p].id));
            }
            for &b in &sel {
                if !buyers[b].accessible[p] {
                    v.err(&join(path, "platform"), node_ref.get("platform"), format!("buyer '{}' cannot access platform '{}' (no mix > 0 and no affinity entry); an affinity effect needs an accessible platform", buyers[b].id, platforms[p].id));
                }
            }
            let shift = shift?;
            EffectKind::Affinity {
                buyers: sel,
                platform: p,
                shift,
            }
        }
        "drift" => {
            let shift = shift?;
            EffectKind::Drift {
                platform: platform?,
                shift,
            }
        }
        _ => {
            let shift = shift?;
            EffectKind::Growth {
                buyers: buyer_sel?,
                shift,
            }
        }
    };
    Some(Effect {
        kind,
        from,
        to,
        path: path.to_string(),
    })
}
