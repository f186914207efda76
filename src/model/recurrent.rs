//! A recurrent layer lowered to a step: Keras' kernels and bias arranged as the linear maps of its
//! cell ([`CellSpec::denses`]), so that quantization scales them as a Dense layer's weights, and
//! its gate and state activations, which quantize as any activation (PWL approximations of
//! sigmoid and tanh) into the step's [`kerafold_step_circuits::Act::Cell`]. The integer layer runs
//! the cell one timestep after the other from a zero state
//! (`kerafold_step_circuits::native::recurrent`).

use super::graph::{Activation, Recurrent, RecurrentCell};
use crate::{Error, Result};
use kerafold_step_circuits::spec::{CellKind, CellSpec, Op, RecurrentSpec};

/// A recurrent layer as lowering makes it a step: its op, its activations and its weights
/// arranged as its cell's linear maps, real-valued.
#[derive(Clone, Debug, PartialEq)]
pub struct LoweredCell {
    /// The layer's op ([`Op::Recurrent`]).
    pub op: Op,
    /// The gates' activation σ (`Linear` for a SimpleRNN, which has none).
    pub gate: Activation,
    /// The state's activation φ.
    pub act: Activation,
    /// The cell's kernels ([`cell_weights`]).
    pub w: Vec<f64>,
    /// The cell's biases.
    pub b: Vec<f64>,
}

/// The cell of `r` over `features` input values a timestep (and the token id after them when
/// `r` is masked).
pub fn cell_spec(r: &Recurrent, features: usize) -> CellSpec {
    let kind = match r.cell {
        RecurrentCell::SimpleRnn => CellKind::Simple,
        RecurrentCell::Gru { reset_after, .. } => CellKind::Gru { reset_after },
        RecurrentCell::Lstm { .. } => CellKind::Lstm,
    };
    CellSpec {
        kind,
        features,
        units: r.units,
        masked: r.masked,
    }
}

/// Keras' weights of `r` in the layouts of its cell's linear maps, one after the other (kernels
/// `[n_in][n_out]` row-major, as a Dense's): `(kernels, biases)`.
/// - SimpleRNN, LSTM: `[x; h] → g·U`, the kernel's rows above the recurrent kernel's.
/// - GRU `reset_after`: `x → 3U` with the bias' first row, `h → 3U` with its second.
/// - GRU reset before: `[x; h] → 2U` (the z and r columns), then `[x; r⊙h] → U` (the n columns).
pub fn cell_weights(
    r: &Recurrent,
    features: usize,
) -> std::result::Result<(Vec<f32>, Vec<f32>), String> {
    let u = r.units;
    let width = r.cell.gates() * u;
    let want = (features * width, u * width, r.cell.bias_rows() * width);
    let got = (r.kernel.len(), r.recurrent_kernel.len(), r.bias.len());
    if got != want {
        return Err(format!(
            "kernel, recurrent kernel and bias of {got:?} values, expected {want:?} for \
             {features} features and {u} units"
        ));
    }
    // the columns `cols` of the row-major matrix `m` of `width` columns
    let columns = |m: &[f32], cols: std::ops::Range<usize>| -> Vec<f32> {
        m.chunks(width)
            .flat_map(|row| row[cols.clone()].iter().copied())
            .collect()
    };
    let (k, rk, b) = (&r.kernel, &r.recurrent_kernel, &r.bias);
    Ok(match r.cell {
        // one map over [x; h], or GRU's two maps x → 3U and h → 3U: Keras' own layout
        RecurrentCell::SimpleRnn
        | RecurrentCell::Lstm { .. }
        | RecurrentCell::Gru {
            reset_after: true, ..
        } => ([&k[..], &rk[..]].concat(), b.to_vec()),
        RecurrentCell::Gru {
            reset_after: false, ..
        } => {
            let (zr, n) = (0..2 * u, 2 * u..width);
            let w = [
                columns(k, zr.clone()),
                columns(rk, zr.clone()),
                columns(k, n.clone()),
                columns(rk, n.clone()),
            ]
            .concat();
            (w, [&b[zr], &b[n]].concat())
        }
    })
}

/// The recurrent layer `name` over a sequence of shape `[timesteps, features]`, lowered.
pub fn lower_cell(name: &str, r: &Recurrent, input_shape: &[usize]) -> Result<LoweredCell> {
    let shape_err = |msg: String| Error::Shape {
        context: format!("layer '{name}'"),
        msg,
    };
    let &[timesteps, row] = input_shape else {
        return Err(shape_err(format!(
            "input shape {input_shape:?} is not a sequence [timesteps, features]"
        )));
    };
    // a masked layer's timesteps end with their token id
    let Some(features) = row.checked_sub(usize::from(r.masked)) else {
        return Err(shape_err(format!(
            "a masked layer's input {input_shape:?} has no token ids"
        )));
    };
    let cell = cell_spec(r, features);
    let op = Op::Recurrent(RecurrentSpec {
        cell,
        timesteps,
        return_sequences: r.return_sequences,
    });
    op.validate().map_err(shape_err)?;
    let (w, b) = cell_weights(r, features).map_err(shape_err)?;
    let gate = match &r.cell {
        RecurrentCell::SimpleRnn => Activation::Linear,
        RecurrentCell::Gru {
            recurrent_activation,
            ..
        }
        | RecurrentCell::Lstm {
            recurrent_activation,
        } => recurrent_activation.clone(),
    };
    Ok(LoweredCell {
        op,
        gate,
        act: r.activation.clone(),
        w: w.into_iter().map(f64::from).collect(),
        b: b.into_iter().map(f64::from).collect(),
    })
}

/// A recurrent layer's real-valued run: its outputs, and every value its integer twin holds
/// in range before an activation (the gate sums, merges and products of every timestep), which
/// calibration must size the activation range for.
pub(crate) struct FloatRun {
    pub out: Vec<f64>,
    pub held: Vec<f64>,
}

/// The real-valued twin of the integer layer on the lowered weights (what
/// [`crate::model::run_float`] runs for a recurrent step): the cell's equations in Keras' form,
/// `σ` and `φ` given, from a zero state.
pub(crate) fn run_float(
    spec: &RecurrentSpec,
    gate: &dyn Fn(f64) -> f64,
    act: &dyn Fn(f64) -> f64,
    x: &[f64],
    w: &[f64],
    b: &[f64],
) -> FloatRun {
    let c = &spec.cell;
    let (f, u) = (c.features, c.units);
    let ds = c.denses();
    // the maps' kernels and biases, one after the other
    let (mut wo, mut bo) = (vec![], vec![]);
    let (mut wi, mut bi) = (0, 0);
    for d in &ds {
        wo.push(wi);
        bo.push(bi);
        wi += d.n_in * d.n_out;
        bi += d.n_out;
    }
    let dense = |k: usize, input: &[f64]| -> Vec<f64> {
        let d = ds[k];
        (0..d.n_out)
            .map(|o| {
                b[bo[k] + o]
                    + (0..d.n_in)
                        .map(|i| input[i] * w[wo[k] + i * d.n_out + o])
                        .sum::<f64>()
            })
            .collect()
    };
    let map = |g: &dyn Fn(f64) -> f64, v: &[f64]| v.iter().map(|&a| g(a)).collect::<Vec<_>>();
    let mut state = vec![0.0; c.state_len()];
    let mut out = vec![];
    let mut held = vec![];
    for row in x.chunks(c.input_len()) {
        let xt = &row[..f];
        let h = state[..u].to_vec();
        let update = match c.kind {
            CellKind::Simple => {
                let q = dense(0, &[xt, &h].concat());
                held.extend_from_slice(&q);
                map(act, &q)
            }
            CellKind::Lstm => {
                let q = dense(0, &[xt, &h].concat());
                let (i, fg) = (map(gate, &q[..u]), map(gate, &q[u..2 * u]));
                let (g, o) = (map(act, &q[2 * u..3 * u]), map(gate, &q[3 * u..]));
                let (fc, ig): (Vec<f64>, Vec<f64>) =
                    (0..u).map(|j| (fg[j] * state[u + j], i[j] * g[j])).unzip();
                let c2: Vec<f64> = (0..u).map(|j| fc[j] + ig[j]).collect();
                let h2: Vec<f64> = (0..u).map(|j| o[j] * act(c2[j])).collect();
                held.extend(q.iter().chain(&fc).chain(&ig).chain(&c2));
                [h2, c2].concat()
            }
            CellKind::Gru { reset_after } => {
                let (z, n) = if reset_after {
                    let (qx, qh) = (dense(0, xt), dense(1, &h));
                    let sz: Vec<f64> = (0..u).map(|j| qx[j] + qh[j]).collect();
                    let sr: Vec<f64> = (0..u).map(|j| qx[u + j] + qh[u + j]).collect();
                    let r = map(gate, &sr);
                    let rh: Vec<f64> = (0..u).map(|j| r[j] * qh[2 * u + j]).collect();
                    let sn: Vec<f64> = (0..u).map(|j| qx[2 * u + j] + rh[j]).collect();
                    held.extend(qx.iter().chain(&qh).chain(&sz).chain(&sr));
                    held.extend(rh.iter().chain(&sn));
                    (map(gate, &sz), map(act, &sn))
                } else {
                    let q = dense(0, &[xt, &h].concat());
                    let (z, r) = (map(gate, &q[..u]), map(gate, &q[u..]));
                    let rh: Vec<f64> = (0..u).map(|j| r[j] * h[j]).collect();
                    let qn = dense(1, &[xt, &rh].concat());
                    held.extend(q.iter().chain(&rh).chain(&qn));
                    (z, map(act, &qn))
                };
                // h' = n + z⊙(h − n), as the integer cell computes it
                let d: Vec<f64> = (0..u).map(|j| h[j] - n[j]).collect();
                let zd: Vec<f64> = (0..u).map(|j| z[j] * d[j]).collect();
                held.extend(d.iter().chain(&zd));
                (0..u).map(|j| n[j] + zd[j]).collect()
            }
        };
        // a masked timestep of padding keeps the state (its update is computed all the same)
        if !(c.masked && row[f] == 0.0) {
            state = update;
        }
        if spec.return_sequences {
            out.extend_from_slice(&state[..u]);
        }
    }
    if !spec.return_sequences {
        out.extend_from_slice(&state[..u]);
    }
    FloatRun { out, held }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::float::forward_trace;
    use crate::model::graph::{LayerKind, Src};
    use crate::model::lower::FloatStep;
    use crate::model::quant::{quantize_step, QStep};
    use crate::model::test_fixture;
    use kerafold_step_circuits::native;
    use kerafold_step_circuits::spec::FixedPoint;

    /// The layer `name` lowered and quantized as a step.
    fn quantize_cell(name: &str, r: &Recurrent, shape: &[usize], fp: &FixedPoint) -> Result<QStep> {
        let l = lower_cell(name, r, shape)?;
        let step = FloatStep {
            layers: vec![name.into()],
            views: vec![],
            op: l.op,
            act: l.act,
            gate: Some(l.gate),
            w: l.w,
            b: l.b,
            save_input: false,
            save_depth: 0,
            output_shape: vec![],
        };
        quantize_step(&step, fp)
    }

    /// `x` at the activation scale, run through the step: the largest distance of the outputs
    /// from `want`, in real units.
    fn max_error(step: &QStep, x: &[f64], want: &[f64], fp: &FixedPoint) -> f64 {
        let scale = f64::from(1u32 << fp.fa);
        let xq: Vec<i64> = x.iter().map(|v| (v * scale).round() as i64).collect();
        let y = native::apply(&step.op, &step.act, &xq, None, &step.weights, fp)
            .unwrap()
            .y;
        assert_eq!(y.len(), want.len(), "{}", step.name);
        y.iter()
            .zip(want)
            .map(|(&q, w)| (q as f64 / scale - w).abs())
            .fold(0.0, f64::max)
    }

    /// Each recurrent layer of the fixtures (SimpleRNN, GRU either way, LSTM; sequences or the
    /// last state), fed Keras' input to it quantized, stays close to the float reference over
    /// its whole sequence: the arrangement of Keras' weights is the cell's, and what is left is
    /// rounding and the PWL approximations of sigmoid and tanh.
    #[test]
    fn integer_cells_follow_the_float_layers() {
        let fp = FixedPoint {
            fa: 12,
            fw: 12,
            bits: 18,
            guard: 8,
        };
        let mut kinds = std::collections::BTreeSet::new();
        for name in ["rnn", "gru", "lstm_seq"] {
            let (graph, inputs) = test_fixture(name);
            for input in &inputs[..4] {
                let trace = forward_trace(&graph, input).unwrap();
                for (i, node) in graph.nodes.iter().enumerate() {
                    let LayerKind::Recurrent(r) = &node.kind else {
                        continue;
                    };
                    let (x, shape) = match node.inputs[0] {
                        Src::Input => (
                            input.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
                            graph.input_shape.clone(),
                        ),
                        Src::Node(j) => {
                            (trace.nodes[j].clone(), graph.nodes[j].output_shape.clone())
                        }
                    };
                    let cell = quantize_cell(&node.name, r, &shape, &fp).unwrap();
                    let Op::Recurrent(spec) = cell.op else {
                        panic!("{}: not a recurrent step", node.name)
                    };
                    kinds.insert(format!("{:?}/{}", spec.cell.kind, spec.return_sequences));
                    let err = max_error(&cell, &x, &trace.nodes[i], &fp);
                    // h is in (−1, 1); the PWL tables' error at fa = 12 is a few 1e-3 and the
                    // state carries it on through 8 timesteps
                    assert!(err < 0.02, "{name}/{}: {err}", node.name);
                }
            }
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    /// A weight arrangement that swapped two gates' columns would still run; the integer cell
    /// then leaves the float layer by far more than the approximation error.
    #[test]
    fn swapped_gate_columns_leave_the_float_layer() {
        let fp = FixedPoint {
            fa: 12,
            fw: 12,
            bits: 18,
            guard: 8,
        };
        let (graph, inputs) = test_fixture("lstm_seq");
        let trace = forward_trace(&graph, &inputs[0]).unwrap();
        let (i, node) = graph
            .nodes
            .iter()
            .enumerate()
            .find(|(_, n)| matches!(n.kind, LayerKind::Recurrent(_)))
            .unwrap();
        let LayerKind::Recurrent(r) = &node.kind else {
            unreachable!()
        };
        let mut cell = quantize_cell(&node.name, r, &graph.input_shape, &fp).unwrap();
        // the input and forget gates' columns of every row, swapped
        let (u, width) = (r.units, 4 * r.units);
        for row in cell.weights.w.chunks_mut(width) {
            let (a, b) = row.split_at_mut(u);
            a.swap_with_slice(&mut b[..u]);
        }
        let x: Vec<f64> = inputs[0].iter().map(|&v| f64::from(v)).collect();
        let err = max_error(&cell, &x, &trace.nodes[i], &fp);
        assert!(err > 0.05, "{err}");
    }

    #[test]
    fn a_non_sequence_or_weights_of_another_size_are_refused() {
        let (graph, _) = test_fixture("rnn");
        let node = graph
            .nodes
            .iter()
            .find(|n| matches!(n.kind, LayerKind::Recurrent(_)))
            .unwrap();
        let LayerKind::Recurrent(r) = &node.kind else {
            unreachable!()
        };
        let fp = FixedPoint {
            fa: 8,
            fw: 8,
            bits: 16,
            guard: 4,
        };
        let e = quantize_cell(&node.name, r, &[4, 4, 2], &fp).unwrap_err();
        assert!(e.to_string().contains(&node.name), "{e}");
        assert!(e.to_string().contains("not a sequence"), "{e}");
        // weights of another size than the layer's units and features
        let mut short = r.clone();
        short.recurrent_kernel.pop();
        let e = quantize_cell(&node.name, &short, &graph.input_shape, &fp).unwrap_err();
        assert!(e.to_string().contains(&node.name), "{e}");
        assert!(e.to_string().contains("recurrent kernel"), "{e}");
    }

    /// Calibration sizes the activation range for what a cell holds before its activations,
    /// not only for the layer's outputs: on the all-0.5 input `inspect` falls back to, the
    /// fixtures' gate sums exceed every output (GRU's reach 3 where no output does), and the
    /// integer model must still run.
    #[test]
    fn calibration_covers_the_gate_sums() {
        for name in ["rnn", "gru", "lstm_seq"] {
            let (graph, _) = test_fixture(name);
            let program = crate::model::lower(&graph).unwrap();
            let neutral = vec![vec![0.5f32; graph.input_shape.iter().product()]];
            let xf: Vec<f64> = neutral[0].iter().map(|&v| f64::from(v)).collect();
            let steps = crate::model::quant::run_float(&program, &xf).unwrap();
            let (held, out) = program
                .steps
                .iter()
                .zip(&steps)
                .filter(|(s, _)| matches!(s.op, Op::Recurrent(_)))
                .fold((0f64, 0f64), |(h, o), (_, (q, y))| {
                    let m = |v: &[f64]| v.iter().fold(0f64, |a, x| a.max(x.abs()));
                    (h.max(m(q)), o.max(m(y)))
                });
            assert!(held > out, "{name}: the cells hold more than they output");
            let (q, cal) = crate::model::calibrate(&program, &neutral)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(cal.max_activation >= held, "{name}");
            let x = q.quantize_input(&neutral[0], Some(0)).unwrap();
            q.trace(&x, Some(0))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
