//! criterion benches: one fold step, and compression at two sizes (BN254/Grumpkin, IPA).
//!
//! Run with `cargo bench --bench fold` (a few minutes: every compression sample is a full
//! zero-knowledge CompressedSNARK). The layer-count benchmark is `kerafold bench` (BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kerafold::bench::fixture::FoldFixture;
use kerafold::bench::{Kind, SynthSpec};
use std::time::Duration;

/// The Dense model of this width, 4 layers deep, with its first two steps folded.
fn fixture(width: usize) -> FoldFixture {
    FoldFixture::new(&SynthSpec::new(Kind::Dense, width, 0, 4), 2).expect("fixture")
}

fn fold_step(c: &mut Criterion) {
    let fx = fixture(16);
    let mut g = c.benchmark_group("fold_step");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("dense16", |b| {
        b.iter_batched(
            || fx.state(),
            |mut s| fx.fold(&mut s).expect("fold"),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn compress(c: &mut Criterion) {
    let mut g = c.benchmark_group("compress");
    // the minimum criterion allows; each sample is one compression
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    for width in [4, 32] {
        let fx = fixture(width);
        g.bench_function(format!("dense{width}"), |b| {
            b.iter(|| fx.compress().expect("compress"))
        });
    }
    g.finish();
}

criterion_group!(benches, fold_step, compress);
criterion_main!(benches);
