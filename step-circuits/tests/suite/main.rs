//! The gadget crate's integration tests in one binary: each file a module, so that nova-snark and
//! the gadgets are compiled and linked once rather than once a file.

mod common;

mod gadgets;
mod nova;
mod props;
mod tamper;
mod targets;
