//! Values held one per future of a batch: the vector width of the engine.
//! Loops over a lane's futures compile to vector instructions.

/// Futures simulated together. (Fewer cost more instructions per future:
/// 16 needed 9% more than 32 on the 6 x 4 bar model, 18% more on the
/// default model; more outgrow the first-level cache.)
pub const LANES: usize = 32;

/// One value per future of a batch.
pub type Lane = [f64; LANES];

/// One flag per future of a batch, all bits set or none (so that a mask
/// selects a value with one `and`, and selects compile to blends).
pub type Mask = [u64; LANES];

/// The mask of `b`.
#[inline(always)]
pub fn mask(b: bool) -> u64 {
    if b {
        !0
    } else {
        0
    }
}

/// `a * b`, lane by lane. Whole-lane values (rather than updates in place,
/// element by element) are what the compiler turns into vector code.
#[inline(always)]
pub fn lane_mul(a: Lane, b: Lane) -> Lane {
    std::array::from_fn(|l| a[l] * b[l])
}

/// `a + b`, lane by lane.
#[inline(always)]
pub fn lane_add(a: Lane, b: Lane) -> Lane {
    std::array::from_fn(|l| a[l] + b[l])
}
