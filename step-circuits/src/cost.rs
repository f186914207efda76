//! Measured constraint costs: the rows of the constraint table (`examples/constraint_table.rs`,
//! README) and the targets a test asserts. Every number comes from a real shape synthesis into a
//! [`CountingCs`], attributed by constraint path.

use crate::commit::commit;
use crate::cs::CountingCs;
use crate::packing;
use crate::spec::{
    Act, ConvSpec, DenseSpec, FixedPoint, Merge, NormSpec, Op, Padding, PoolSpec, Shape3, Window,
};
use crate::step::{alloc_nums, synthesize_shape};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};

type Fr = <nova_snark::provider::Bn256EngineKZG as nova_snark::traits::Engine>::Scalar;

/// One row of the constraint table.
#[derive(Clone, Debug)]
pub struct Row {
    /// What is measured.
    pub what: String,
    /// Constraints per unit, measured.
    pub measured: f64,
    /// The unit (`MAC`, `output`, `element`).
    pub unit: &'static str,
    /// The target the design sets (an upper bound), if any.
    pub target: Option<f64>,
    /// How the number decomposes, or the design's estimate.
    pub note: String,
}

impl Row {
    /// Whether the measured cost meets the target (rows without target always do).
    pub fn meets_target(&self) -> bool {
        self.target.is_none_or(|t| self.measured <= t + 1e-9)
    }
}

/// Synthesizes a step's shape with a tally.
pub fn tally(op: &Op, act: &Act, fp: &FixedPoint) -> Result<CountingCs<Fr>, SynthesisError> {
    let mut cs = CountingCs::<Fr>::with_tally();
    synthesize_shape(&mut cs, op, act, &[], fp)?;
    Ok(cs)
}

/// Constraints of a linear step attributed to multiply-accumulates (the products and lane sums,
/// `op/grp/…`) and to requantization + activation (`op/out/…`, `act/…`).
pub fn linear_split(op: &Op, act: &Act, fp: &FixedPoint) -> Result<(usize, usize), SynthesisError> {
    let cs = tally(op, act, fp)?;
    let mac = cs.count_where(|p| p.starts_with("op/grp/"));
    Ok((mac, cs.num_constraints() - mac))
}

/// Constraints to commit to `n` values of `bits` bits (packing + Poseidon).
pub fn commit_cost(n: usize, bits: u32) -> Result<usize, SynthesisError> {
    let mut cs = CountingCs::<Fr>::new();
    let x = alloc_nums::<Fr, _>(&mut cs, "x", &vec![None; n])?;
    let blind = AllocatedNum::alloc(cs.namespace(|| "blind"), || {
        Err(SynthesisError::AssignmentMissing)
    })?;
    commit(&mut cs, &x, &blind, bits)?;
    Ok(cs.num_constraints())
}

fn conv(input: Shape3, k: usize, c_out: usize, padding: Padding) -> Op {
    let window = Window::keras(input, (k, k), (1, 1), (1, 1), padding).expect("valid window");
    Op::Conv(ConvSpec { window, c_out })
}

fn pool(input: Shape3, k: usize) -> PoolSpec {
    PoolSpec {
        window: Window::keras(input, (k, k), (k, k), (1, 1), Padding::Valid).expect("window"),
    }
}

/// The constraint table for fixed-point parameters `fp`.
pub fn table(fp: &FixedPoint) -> Result<Vec<Row>, SynthesisError> {
    let k = packing::lanes(fp);
    let (fw, b) = (fp.fw as f64, fp.bits as f64);
    let mut rows = Vec::new();
    let linear_ops = [
        (
            "Dense 784→128",
            Op::Dense(DenseSpec {
                n_in: 784,
                n_out: 128,
            }),
        ),
        (
            "Dense 128→10",
            Op::Dense(DenseSpec {
                n_in: 128,
                n_out: 10,
            }),
        ),
        (
            "Dense 256→256",
            Op::Dense(DenseSpec {
                n_in: 256,
                n_out: 256,
            }),
        ),
        (
            "Conv2D 28×28×1, 3×3→8, same",
            conv(Shape3::new(28, 28, 1), 3, 8, Padding::Same),
        ),
        (
            "Conv2D 14×14×8, 3×3→16, same",
            conv(Shape3::new(14, 14, 8), 3, 16, Padding::Same),
        ),
        (
            "Conv2D 7×7×16, 3×3→32, valid",
            conv(Shape3::new(7, 7, 16), 3, 32, Padding::Valid),
        ),
    ];
    for (name, op) in &linear_ops {
        let (mac, rest) = linear_split(op, &Act::Linear, fp)?;
        let c_out = op.output_shape().c;
        let macs = op.macs() as f64;
        rows.push(Row {
            what: format!("{name}: multiply-accumulate"),
            measured: mac as f64 / macs,
            unit: "MAC",
            target: Some(1.1),
            note: format!(
                "{mac} of {} constraints; ≈ 1/min(k = {k}, c_out = {c_out}) = {:.3}",
                mac + rest,
                1.0 / k.min(c_out) as f64
            ),
        });
    }
    // requantization + activation per output element
    let dense = Op::Dense(DenseSpec {
        n_in: 64,
        n_out: 64,
    });
    let acts = [
        ("Linear", Act::Linear, fw + b + 1.0),
        ("ReLU", Act::Relu, fw + b + 1.0),
        (
            "ReLU6 (clip)",
            Act::Clip { hi: 6 << fp.fa },
            fw + b + b + 4.0,
        ),
        (
            "LeakyReLU α = 13/128",
            Act::Leaky { k: 13, m: 7 },
            fw + b + 7.0 + b + 2.0,
        ),
        (
            "poly x² + c·x",
            Act::Poly {
                c: 1 << (fp.fa - 1),
            },
            fw + b + fp.fa as f64 + b + 2.0,
        ),
        (
            "piecewise-linear, 32 segments, shift 16",
            Act::Pwl(crate::spec::Pwl {
                label: "cost".into(),
                shift: 16,
                segments: (0..32)
                    .map(|i| crate::spec::Segment {
                        from: fp.min() + (i << (fp.bits - 5)),
                        slope: 1 << 15,
                        offset: 0,
                    })
                    .collect(),
            }),
            fw + b + 32.0 + 3.0 * b + 16.0 + 5.0,
        ),
    ];
    for (name, act, estimate) in acts {
        let (_, rest) = linear_split(&dense, &act, fp)?;
        let per = rest as f64 / 64.0;
        rows.push(Row {
            what: format!("requantize + {name}"),
            measured: per,
            unit: "output",
            target: matches!(act, Act::Relu | Act::Linear).then_some(fw + b + 4.0),
            note: format!("design fw + B + … = {estimate}"),
        });
    }
    // pooling, per output element
    let input = Shape3::new(28, 28, 8);
    for (name, op, estimate) in [
        (
            "MaxPool 2×2",
            Op::MaxPool(pool(input, 2)),
            format!("4·(B+1) + 3 = {}", 4.0 * (b + 1.0) + 3.0),
        ),
        (
            "AvgPool 2×2",
            Op::AvgPool(pool(input, 2)),
            format!("B + log2 4 + 1 + 1 = {}", b + 4.0),
        ),
        (
            "AvgPool 3×3",
            Op::AvgPool(pool(Shape3::new(27, 27, 8), 3)),
            format!("B + 2·4 + 1 + 1 + 1 = {}", b + 11.0),
        ),
        (
            "GlobalAvgPool 7×7",
            Op::AvgPool(pool(Shape3::new(7, 7, 32), 7)),
            format!("B + 2·6 + 1 + 1 + 1 = {}", b + 15.0),
        ),
    ] {
        for (aname, act) in [("", Act::Linear), (" + ReLU", Act::Relu)] {
            let cs = tally(&op, &act, fp)?;
            rows.push(Row {
                what: format!("{name}{aname}"),
                measured: cs.num_constraints() as f64 / op.output_len() as f64,
                unit: "output",
                target: None,
                note: format!(
                    "design {estimate}{}",
                    if aname.is_empty() {
                        ""
                    } else {
                        " + sign + ReLU"
                    }
                ),
            });
        }
    }
    // merges with the saved tensor, per output element
    let fa = fp.fa as f64;
    for (merge, estimate) in [
        (Merge::Add, format!("(B + 1) + output = {}", b + 2.0)),
        (Merge::Subtract, format!("(B + 1) + output = {}", b + 2.0)),
        (
            Merge::Multiply,
            format!("(B + fa + 1) + output = {}", b + fa + 2.0),
        ),
        (Merge::Average, format!("(B + 2) + output = {}", b + 3.0)),
        (Merge::Maximum, format!("2·(B + 1) + 1 = {}", 2.0 * b + 3.0)),
        (Merge::Minimum, format!("2·(B + 1) + 1 = {}", 2.0 * b + 3.0)),
    ] {
        let op = Op::merge(merge, 64);
        let cs = tally(&op, &Act::Linear, fp)?;
        rows.push(Row {
            what: format!("{} of two tensors", merge.keras_name()),
            measured: cs.num_constraints() as f64 / 64.0,
            unit: "output",
            target: None,
            note: format!("design {estimate}"),
        });
    }
    for vocab in [16, 256] {
        let op = Op::OneHot { n: 8, vocab };
        let cs = tally(&op, &Act::Linear, fp)?;
        rows.push(Row {
            what: format!("one-hot over {vocab} ids (an Embedding's lookup)"),
            measured: cs.num_constraints() as f64 / 8.0,
            unit: "token",
            target: None,
            note: format!(
                "design V + 2 = {}; the table then costs a 1×1 convolution",
                vocab + 2
            ),
        });
    }
    for n in [8, 64] {
        let spec = NormSpec {
            groups: 4,
            n,
            eps: NormSpec::eps_fixed(1e-3).map_err(SynthesisError::Unsatisfiable)?,
            kind: Default::default(),
        };
        let k = spec.shift(fp).map_err(SynthesisError::Unsatisfiable)? as f64;
        let op = Op::LayerNorm(spec);
        let cs = tally(&op, &Act::Linear, fp)?;
        let per_value = b + (k - fa) + 3.0 + (5.0 * k + 10.0) / n as f64;
        rows.push(Row {
            what: format!("LayerNormalization over {n} values"),
            measured: cs.num_constraints() as f64 / (4 * n) as f64,
            unit: "value",
            target: None,
            note: format!(
                "design B + (k − fa) + 3 + (5k + 10)/n = {per_value:.1} (k = {k}); γ, β then \
                 cost a per-channel affine step"
            ),
        });
    }
    for n in [10, 100] {
        let op = Op::ArgMax { n };
        let cs = tally(&op, &Act::Linear, fp)?;
        rows.push(Row {
            what: format!("ArgMax over {n}"),
            measured: cs.num_constraints() as f64 / n as f64,
            unit: "element",
            target: None,
            note: format!("design (n·(B+3) + 2)/n = {:.2}", b + 3.0 + 2.0 / n as f64),
        });
    }
    for n in [784, 4096, 25088] {
        let c = commit_cost(n, fp.bits)?;
        rows.push(Row {
            what: format!("commit {n} values"),
            measured: c as f64 / n as f64,
            unit: "element",
            target: Some(6.0),
            note: format!(
                "{c} constraints: {} blocks of {} packed elements ({} values each), a narrow Poseidon each",
                crate::commit::num_blocks(n, fp.bits),
                crate::commit::BLOCK_ELEMENTS,
                crate::field::per_element(fp.bits)
            ),
        });
    }
    rows.push(Row {
        what: "open: range check".into(),
        measured: b + 1.0,
        unit: "element",
        target: None,
        note: "B bits + recomposition, on top of the commitment".into(),
    });
    Ok(rows)
}

/// The table as markdown.
pub fn markdown(fp: &FixedPoint, rows: &[Row]) -> String {
    let mut s = format!(
        "Fixed point fa = {}, fw = {}, B = {} (lane width S = {}, k = {} lanes per packed weight).\n\n",
        fp.fa,
        fp.fw,
        fp.bits,
        fp.lane_bits(),
        packing::lanes(fp)
    );
    s += "| what | constraints | per | target | note |\n|---|---:|---|---:|---|\n";
    for r in rows {
        s += &format!(
            "| {} | {:.3} | {} | {} | {} |\n",
            r.what,
            r.measured,
            r.unit,
            r.target.map_or("–".to_string(), |t| format!("≤ {t}")),
            r.note
        );
    }
    s
}
