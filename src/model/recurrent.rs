//! A recurrent layer's integer form: Keras' kernels and bias arranged as the linear maps of its
//! cell ([`CellSpec::denses`]), quantized as a Dense layer's weights, with the gate and state
//! activations quantized as any activation (PWL approximations of sigmoid and tanh); and the
//! integer run over a sequence, one [`cell_step`] a timestep from a zero state.
//!
//! Lowering does not use it yet: a recurrent layer is to be proven as bands of one timestep
//! (docs/DESIGN.md §7.5 item 3), each band one step of this cell.

use super::graph::{Recurrent, RecurrentCell};
use super::quant::{native_error, quantize_act, quantize_weights};
use crate::{Error, Result};
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::recurrent::{cell_step, CellKind, CellSpec};
use kerafold_step_circuits::spec::{Act, FixedPoint};

/// A recurrent layer in integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantizedCell {
    /// The layer's name.
    pub name: String,
    /// The cell.
    pub spec: CellSpec,
    /// The gates' activation σ (`Linear` for a SimpleRNN, which has none).
    pub gate: Act,
    /// The state's activation φ.
    pub act: Act,
    /// The cell's weights: its linear maps' kernels at `2^fw` and biases at `2^(fa+fw)`.
    pub weights: Weights,
    /// Timesteps of the input sequence.
    pub timesteps: usize,
    /// Output `h` at every timestep, or at the last only.
    pub return_sequences: bool,
}

/// The cell of `r` over `features` input values a timestep.
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

/// Quantizes the recurrent layer `name` over a sequence of shape `[timesteps, features]`.
pub fn quantize_cell(
    name: &str,
    r: &Recurrent,
    input_shape: &[usize],
    fp: &FixedPoint,
) -> Result<QuantizedCell> {
    let &[timesteps, features] = input_shape else {
        return Err(Error::Shape {
            context: format!("layer '{name}'"),
            msg: format!("input shape {input_shape:?} is not a sequence [timesteps, features]"),
        });
    };
    let spec = cell_spec(r, features);
    spec.validate().map_err(|msg| Error::Shape {
        context: format!("layer '{name}'"),
        msg,
    })?;
    let (w, b) = cell_weights(r, features).map_err(|msg| Error::Shape {
        context: format!("layer '{name}'"),
        msg,
    })?;
    let gate = match &r.cell {
        RecurrentCell::SimpleRnn => Act::Linear,
        RecurrentCell::Gru {
            recurrent_activation,
            ..
        }
        | RecurrentCell::Lstm {
            recurrent_activation,
        } => quantize_act(recurrent_activation, fp, name)?,
    };
    Ok(QuantizedCell {
        name: name.into(),
        spec,
        gate,
        act: quantize_act(&r.activation, fp, name)?,
        weights: quantize_weights(
            w.into_iter().map(f64::from),
            b.into_iter().map(f64::from),
            fp,
            name,
        )?,
        timesteps,
        return_sequences: r.return_sequences,
    })
}

impl QuantizedCell {
    /// Runs the layer over the sequence `x` (`timesteps × features` values at `2^fa`) from a zero
    /// state: `h` of every timestep (`return_sequences`) or of the last.
    pub fn run(&self, x: &[i64], fp: &FixedPoint, sample: Option<usize>) -> Result<Vec<i64>> {
        let f = self.spec.features;
        if x.len() != self.timesteps * f {
            return Err(Error::Shape {
                context: format!("layer '{}'", self.name),
                msg: format!(
                    "{} input values, expected {} timesteps of {f}",
                    x.len(),
                    self.timesteps
                ),
            });
        }
        let u = self.spec.units;
        let mut state = vec![0; self.spec.state_len()];
        let mut out = vec![];
        for (t, x_t) in x.chunks(f).enumerate() {
            state = cell_step(
                &self.spec,
                &self.gate,
                &self.act,
                x_t,
                &state,
                &self.weights,
                fp,
            )
            .map_err(|e| {
                native_error(
                    e,
                    &format!("layer '{}', timestep {t}", self.name),
                    &self.name,
                    sample,
                    fp,
                )
            })?;
            if self.return_sequences {
                out.extend_from_slice(&state[..u]);
            }
        }
        if !self.return_sequences {
            out = state[..u].to_vec();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::float::forward_trace;
    use crate::model::graph::{LayerKind, Src};
    use crate::model::test_fixture;

    /// `x` at the activation scale, run through `cell`: the largest distance of the outputs from
    /// `want`, in real units.
    fn max_error(cell: &QuantizedCell, x: &[f64], want: &[f64], fp: &FixedPoint) -> f64 {
        let scale = f64::from(1u32 << fp.fa);
        let xq: Vec<i64> = x.iter().map(|v| (v * scale).round() as i64).collect();
        let y = cell.run(&xq, fp, None).unwrap();
        assert_eq!(y.len(), want.len(), "{}", cell.name);
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
                    kinds.insert(format!("{:?}/{}", cell.spec.kind, r.return_sequences));
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
}
