//! The constraint systems kerafold synthesizes into, and which to use when.
//!
//! | system | where | values | use it to |
//! |---|---|---|---|
//! | [`CountingCs`] | here | never evaluated | count constraints and variables of a shape (`inspect`, the cost table, step sizes); tally them by path |
//! | [`CheckingCS`] | here | evaluated as they are added | check a step's witness before folding it (the prover), and name the first failing constraint; its non-zero count and witness values are the benchmark's profile of a step |
//! | [`TamperCs`] (feature `testing`) | here | forwarded to nova's `TestConstraintSystem`, with chosen variables overridden | soundness tests: forge named variables and assert the exact constraint that fails |
//! | nova's `ShapeCS` / `SatisfyingAssignment` | nova-snark | — | inside nova-snark's setup and folding; kerafold never calls them itself |

mod check;
mod count;
#[cfg(any(test, feature = "testing"))]
mod tamper;

pub use check::CheckingCS;
pub use count::CountingCs;
#[cfg(any(test, feature = "testing"))]
pub use tamper::TamperCs;
