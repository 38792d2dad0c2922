//! sharecast: a Monte Carlo forecaster of how AI-accelerator spend splits
//! between platforms, and how strategic deals move that split.
//!
//! The pipeline, one module per stage: [`model`] (read, override, validate)
//! → [`prior`] (distributions) → [`scenario`] (the deal tree) → [`engine`]
//! (simulate futures) → [`summary`] (statistics) → [`output`] (tables) and
//! [`report`] (charts read back from the tables). [`check`] describes a
//! model in words.

#![deny(missing_docs)]

pub mod check;
pub mod engine;
pub mod evidence;
pub(crate) mod fastmath;
mod hugepages;
pub mod isa;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod prior;
pub mod report;
pub mod scenario;
pub mod sensitivity;
pub mod shard;
pub mod summary;
#[cfg(test)]
mod test_util;
