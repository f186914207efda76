#![no_main]
// The body is kerafold::fuzz's target "h5" (src/fuzz.rs), shared with tests/fuzz_bounded.rs.

#[global_allocator]
static ALLOC: kerafold::fuzz::CappedAlloc = kerafold::fuzz::CappedAlloc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| kerafold::fuzz::run("h5", data));
