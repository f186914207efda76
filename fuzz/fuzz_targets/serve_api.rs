#![no_main]
#[path = "../targets.rs"]
mod targets;
// The body is the target "serve_api" (fuzz/targets.rs), shared with tests/fuzz_bounded.rs.

#[global_allocator]
static ALLOC: targets::CappedAlloc = targets::CappedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::run("serve_api", data));
