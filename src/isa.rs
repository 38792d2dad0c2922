//! Which compiled copy of a vectorised function to run: the simulation
//! kernel and the summaries' paired statistics are each compiled for plain
//! x86-64 and for AVX2, with the same IEEE operations in the same order (no
//! fused multiply-add), so both copies give the same bits.

/// An instruction set a vectorised function is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable code (SSE2 on x86-64).
    Portable,
    /// AVX2, only chosen by [`Isa::detect`] on a processor that has it.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The widest copy this processor runs.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
        Isa::Portable
    }
}
