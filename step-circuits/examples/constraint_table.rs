//! Prints the constraint table (markdown) from real shape synthesis.
//!
//! `cargo run -p kerafold-step-circuits --example constraint_table`

use kerafold_step_circuits::cost::{markdown, table};
use kerafold_step_circuits::FixedPoint;

fn main() {
    for fp in [
        FixedPoint {
            fa: 8,
            fw: 8,
            bits: 16,
            guard: 6,
        },
        FixedPoint {
            fa: 10,
            fw: 12,
            bits: 24,
            guard: 6,
        },
    ] {
        let rows = table(&fp).expect("synthesis");
        println!("{}", markdown(&fp, &rows));
        for r in rows.iter().filter(|r| !r.meets_target()) {
            println!(
                "Above its target at B = {}: {}, {:.3} constraints per {} (target ≤ {}): {}.\n",
                fp.bits,
                r.what,
                r.measured,
                r.unit,
                r.target.unwrap_or(f64::NAN),
                r.note
            );
        }
    }
}
