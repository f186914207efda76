//! # kerafold
//!
//! Zero-knowledge proofs of Keras neural-network inference, folded layer by layer with Nova.

pub mod error;
pub mod model;

pub use error::{Error, Result};
