//! The plan of a run, built once before any future is simulated: which
//! work the scenarios share. A buyer's preferred mix (steps 1 and 3)
//! depends on a scenario only through the drift effects on platforms it can
//! use and the affinity effects aimed at it: scenarios are mapped, buyer by
//! buyer, to [`Slot`]s, one per distinct set of such effects (26 for 36
//! scenarios x 7 buyers on the default model). A buyer's whole path (steps
//! 2, 4, 5) depends on a scenario only through its slot, the growth effects
//! listing it and its commitments: scenarios share [`Track`]s (32 instead
//! of 252). Per buyer, the platforms its mix can ever hold ([`support`]).

use crate::model::{EffectId, EffectKind, Model, PriorId};
use crate::scenario::Scenario;

/// An effect resolved for fast application in the inner loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Active {
    pub effect: EffectId,
    pub from: usize,
    pub to: usize,
}

impl Active {
    /// Effect `e` with its first and last year as year indices.
    pub fn new(model: &Model, e: EffectId) -> Active {
        let year0 = model.start_year;
        Active {
            effect: e,
            from: (model.effects[e].from - year0) as usize,
            to: (model.effects[e].to - year0) as usize,
        }
    }
}

/// One buyer's path (spend and mix, year by year) under one set of the
/// effects that reach it: its preferred-mix slot (drift and affinity
/// effects), the growth effects that list it and its commitments. A
/// buyer's path depends on a scenario only through these, so scenarios
/// that agree on them share one track: in the default model 36 scenarios
/// x 7 buyers need 32 tracks, and in a one-deal model only the buyers the
/// deal reaches are simulated twice.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub buyer: usize,
    /// Index into `Preferences::slots`.
    pub slot: usize,
    /// Growth effects listing the buyer, once per listing, and the
    /// buyer's commitments, each in the scenario's order (the order the
    /// arithmetic adds them in).
    pub growth: Vec<Active>,
    pub commits: Vec<Active>,
}

/// The tracks of `scenarios`, and each scenario's track per buyer.
pub(crate) fn tracks(
    model: &Model,
    scenarios: &[Scenario],
    prefs: &Preferences,
) -> (Vec<Track>, Vec<usize>) {
    let nb = model.buyers.len();
    let mut tracks: Vec<Track> = Vec::new();
    let mut of_scenario = Vec::with_capacity(scenarios.len() * nb);
    for (s, sc) in scenarios.iter().enumerate() {
        let active: Vec<Active> = sc.effects(model).map(|e| Active::new(model, e)).collect();
        for b in 0..nb {
            let mut track = Track {
                buyer: b,
                slot: prefs.scenario_slots[s * nb + b],
                growth: Vec::new(),
                commits: Vec::new(),
            };
            for a in &active {
                match &model.effects[a.effect].kind {
                    EffectKind::Growth { buyers, .. } => {
                        for _ in buyers.iter().filter(|&&x| x == b) {
                            track.growth.push(a.clone());
                        }
                    }
                    EffectKind::Commitment { buyer, .. } if *buyer == b => {
                        track.commits.push(a.clone());
                    }
                    _ => {}
                }
            }
            let same = |t: &Track| {
                t.buyer == b
                    && t.slot == track.slot
                    && t.growth == track.growth
                    && t.commits == track.commits
            };
            of_scenario.push(match tracks.iter().position(same) {
                Some(i) => i,
                None => {
                    tracks.push(track);
                    tracks.len() - 1
                }
            });
        }
    }
    (tracks, of_scenario)
}

/// One buyer's preferred mix under one set of preference effects.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The buyer.
    pub buyer: usize,
    /// Price-performance path to use: index into [`Preferences::drift_sets`].
    pub(super) drift_set: usize,
    /// Affinity shifts: (position in the buyer's platform list, shift
    /// prior, first and last year index).
    pub(super) affinity: Vec<(usize, PriorId, usize, usize)>,
    /// Start of its `T x platforms` block in the preferred-mix buffer.
    pub offset: usize,
}

/// The plan for steps 1 and 3, built once per run.
#[derive(Debug, Clone)]
pub struct Preferences {
    /// Distinct sets of active drift effects; each gets a price-performance
    /// path per future.
    pub(super) drift_sets: Vec<Vec<Active>>,
    /// Per buyer, the platforms it can access in some year, ascending.
    pub platforms: Vec<Vec<usize>>,
    /// Per buyer and listed platform: `ln(mix)`, or `None` where an
    /// affinity prior gives `phi`.
    pub(super) base_phi: Vec<Vec<Result<f64, PriorId>>>,
    /// `available[k * P + p]`: platform `p` can be bought in year `k`.
    pub(super) available: Vec<bool>,
    /// The slots.
    pub slots: Vec<Slot>,
    /// Each scenario's slot per buyer, at `s * B + b`.
    pub scenario_slots: Vec<usize>,
    /// Length of the preferred-mix buffer.
    pub len: usize,
}

impl Preferences {
    /// Plans the slots of `scenarios`.
    pub fn new(model: &Model, scenarios: &[Scenario]) -> Preferences {
        let (np, nb) = (model.platforms.len(), model.buyers.len());
        let year0 = model.start_year;
        let t = model.horizon();
        let platforms: Vec<Vec<usize>> = model
            .buyers
            .iter()
            .map(|b| (0..np).filter(|&p| b.accessible[p]).collect())
            .collect();
        let base_phi = model
            .buyers
            .iter()
            .zip(&platforms)
            .map(|(b, list)| {
                list.iter()
                    .map(|&p| match b.affinity[p] {
                        Some(id) => Err(id),
                        None => Ok(b.mix[p].ln()),
                    })
                    .collect()
            })
            .collect();
        let mut available = vec![false; (t + 1) * np];
        for k in 0..=t {
            let year = year0 + k as i32;
            for (p, plat) in model.platforms.iter().enumerate() {
                available[k * np + p] = plat.available_from.is_none_or(|y| year >= y);
            }
        }
        let mut drift_sets: Vec<Vec<Active>> = Vec::new();
        let mut slot_keys: Vec<(usize, Vec<crate::model::EffectId>)> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        let mut scenario_slots = Vec::with_capacity(scenarios.len() * nb);
        let mut len = 0;
        for sc in scenarios {
            let active: Vec<Active> = sc.effects(model).map(|e| Active::new(model, e)).collect();
            let drifts: Vec<Active> = active
                .iter()
                .filter(|a| matches!(model.effects[a.effect].kind, EffectKind::Drift { .. }))
                .cloned()
                .collect();
            let ds = match drift_sets.iter().position(|d| *d == drifts) {
                Some(i) => i,
                None => {
                    drift_sets.push(drifts.clone());
                    drift_sets.len() - 1
                }
            };
            for (b, list) in platforms.iter().enumerate() {
                // The effects that can change this buyer's softmax.
                let key: Vec<crate::model::EffectId> = active
                    .iter()
                    .filter(|a| match &model.effects[a.effect].kind {
                        EffectKind::Drift { platform, .. } => list.contains(platform),
                        EffectKind::Affinity { buyers, .. } => buyers.contains(&b),
                        _ => false,
                    })
                    .map(|a| a.effect)
                    .collect();
                let slot = match slot_keys.iter().position(|k| *k == (b, key.clone())) {
                    Some(i) => i,
                    None => {
                        let affinity = active
                            .iter()
                            .filter_map(|a| match &model.effects[a.effect].kind {
                                EffectKind::Affinity {
                                    buyers,
                                    platform,
                                    shift,
                                } if buyers.contains(&b) => list
                                    .iter()
                                    .position(|q| q == platform)
                                    .map(|j| (j, *shift, a.from, a.to)),
                                _ => None,
                            })
                            .collect();
                        slot_keys.push((b, key));
                        slots.push(Slot {
                            buyer: b,
                            drift_set: ds,
                            affinity,
                            offset: len,
                        });
                        len += t * list.len();
                        slots.len() - 1
                    }
                };
                scenario_slots.push(slot);
            }
        }
        Preferences {
            drift_sets,
            platforms,
            base_phi,
            available,
            slots,
            scenario_slots,
            len,
        }
    }
}

/// Per buyer, the platforms its mix can ever hold (accessible or committed
/// to), ascending; outside them its share stays exactly 0, so the kernel
/// skips them.
pub(crate) fn support(model: &Model) -> Vec<Vec<usize>> {
    let (np, nb) = (model.platforms.len(), model.buyers.len());
    (0..nb)
        .map(|b| {
            (0..np)
                .filter(|&p| {
                    model.buyers[b].accessible[p]
                        || model.effects.iter().any(|e| {
                            matches!(e.kind, EffectKind::Commitment { buyer, platform, .. }
                                if buyer == b && platform == p)
                        })
                })
                .collect()
        })
        .collect()
}

/// The pairs (platform, buyer that can hold it), by platform then buyer:
/// one flat list, so that step 6 runs one loop rather than one per
/// platform (whose varying lengths the processor mispredicted).
pub(crate) fn holdings(support: &[Vec<usize>], np: usize) -> Vec<(usize, usize)> {
    (0..np)
        .flat_map(|p| {
            (0..support.len())
                .filter(move |&b| support[b].contains(&p))
                .map(move |b| (p, b))
        })
        .collect()
}
