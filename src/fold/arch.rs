//! Compiling a quantized model into one uniform step circuit (DESIGN.md §4).
//!
//! Nova folds the same circuit at every step. The model's steps are grouped into **slots**: all
//! Dense steps with the same activation share one slot sized to the largest of them (smaller ones
//! are zero-padded into it, and a mask zeroes their unused outputs), as do residual Adds and
//! identity steps; every other step shares a slot only with steps of identical geometry. Each fold
//! runs exactly one slot, picked by a one-hot selector derived from the step's descriptor; the
//! descriptors are hashed into the architecture chain, so the verifier knows which slot ran at
//! every step.

use crate::model::QuantizedModel;
use crate::{Error, Result};
use kerafold_step_circuits::native::Weights;
use kerafold_step_circuits::packing::{self, Packed};
use kerafold_step_circuits::spec::{Act, DenseSpec, FixedPoint, Op, ViewOp};
use kerafold_step_circuits::Field;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A slot: one gadget instance in the step circuit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub views: Vec<ViewOp>,
    pub op: Op,
    pub act: Act,
    /// Steps padded into this slot may be smaller than it: outputs past the step's own length are
    /// masked to zero.
    pub padded: bool,
}

impl Slot {
    /// Values the slot reads from the activation bus (before its views).
    pub fn raw_input_len(&self) -> usize {
        self.views
            .first()
            .map_or(self.op.input_len(), |v| v.input_len())
    }

    /// Whether an idle slot must be fed zeros rather than the bus: a residual Add of arbitrary
    /// in-range values can overflow, and so can a weightless polynomial activation. Weighted slots
    /// get zero weights when idle and never overflow.
    pub fn gated(&self) -> bool {
        matches!(self.op, Op::Add { .. })
            || (!self.op.is_linear() && matches!(self.act, Act::Poly { .. }))
    }
}

/// What the circuit learns about one step: which slot runs, how many outputs are real, and
/// whether the step's input is saved for a residual Add. Hashed into the architecture chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDesc {
    /// The step's name (Keras layers it covers).
    pub name: String,
    pub slot: usize,
    pub n_out: usize,
    pub save_input: bool,
}

/// The public architecture of a model: everything the verifier needs except weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    pub name: String,
    pub fp: FixedPoint,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    pub softmax: bool,
    /// Length of the activation bus: the largest tensor any step reads or writes.
    pub width: usize,
    pub slots: Vec<Slot>,
    pub steps: Vec<StepDesc>,
}

/// Slot grouping key.
#[derive(PartialEq)]
enum Key {
    Dense(Act),
    Add(Act),
    Identity(Act),
    Exact(Vec<ViewOp>, Op, Act),
}

fn key(views: &[ViewOp], op: &Op, act: &Act) -> Key {
    match op {
        Op::Dense(_) if views.is_empty() => Key::Dense(*act),
        Op::Add { .. } if views.is_empty() => Key::Add(*act),
        Op::Identity { .. } if views.is_empty() => Key::Identity(*act),
        _ => Key::Exact(views.to_vec(), *op, *act),
    }
}

fn merge(a: &Op, b: &Op) -> Op {
    match (a, b) {
        (Op::Dense(x), Op::Dense(y)) => Op::Dense(DenseSpec {
            n_in: x.n_in.max(y.n_in),
            n_out: x.n_out.max(y.n_out),
        }),
        (Op::Add { n: x }, Op::Add { n: y }) => Op::Add { n: *x.max(y) },
        (Op::Identity { n: x }, Op::Identity { n: y }) => Op::Identity { n: *x.max(y) },
        _ => *a,
    }
}

impl Architecture {
    /// Compiles the step circuit's layout for `model`.
    pub fn compile(model: &QuantizedModel) -> Result<Self> {
        if model.steps.is_empty() {
            return Err(Error::Usage("the model has no steps".into()));
        }
        let mut slots: Vec<Slot> = vec![];
        let mut keys: Vec<Key> = vec![];
        let mut steps = Vec::with_capacity(model.steps.len());
        let mut width = model.input_len();
        for s in &model.steps {
            let k = key(&s.views, &s.op, &s.act);
            let idx = match keys.iter().position(|x| *x == k) {
                Some(i) => {
                    let merged = merge(&slots[i].op, &s.op);
                    if merged != slots[i].op || merged != s.op {
                        slots[i].padded = true;
                    }
                    slots[i].op = merged;
                    i
                }
                None => {
                    keys.push(k);
                    slots.push(Slot {
                        views: s.views.clone(),
                        op: s.op,
                        act: s.act,
                        padded: false,
                    });
                    slots.len() - 1
                }
            };
            width = width.max(s.raw_input_len()).max(s.op.output_len());
            steps.push(StepDesc {
                name: s.name.clone(),
                slot: idx,
                n_out: s.op.output_len(),
                save_input: s.save_input,
            });
        }
        // a padded slot may have grown past steps that were assigned before it grew
        for s in &mut slots {
            if s.padded {
                width = width.max(s.op.input_len()).max(s.op.output_len());
            }
        }
        Ok(Self {
            name: model.name.clone(),
            fp: model.fp,
            input_shape: model.input_shape.clone(),
            output_shape: model.output_shape.clone(),
            softmax: model.softmax,
            width,
            slots,
            steps,
        })
    }

    /// Whether any step uses the residual tensor.
    pub fn has_skip(&self) -> bool {
        self.slots.iter().any(|s| matches!(s.op, Op::Add { .. }))
    }

    /// Whether any slot is padded (the circuit then builds an output mask).
    pub fn has_padding(&self) -> bool {
        self.slots.iter().any(|s| s.padded)
    }

    /// Length of the output mask: the largest output of a padded slot.
    pub fn mask_len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.padded)
            .map(|s| s.op.output_len())
            .max()
            .unwrap_or(0)
    }

    /// Index of the ArgMax slot.
    pub fn argmax_slot(&self) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| matches!(s.op, Op::ArgMax { .. }))
    }

    /// Number of output logits.
    pub fn output_len(&self) -> usize {
        self.output_shape.iter().product()
    }

    /// SHA-256 of the canonical JSON form: keys the public parameters on disk.
    pub fn digest(&self) -> [u8; 32] {
        let json = serde_json::to_vec(self).expect("architecture serializes");
        Sha256::digest(&json).into()
    }

    /// The step's weights laid out in its slot's geometry (zero-padded for padded slots).
    pub fn slot_weights(&self, step: usize, weights: &Weights, step_op: &Op) -> Weights {
        let slot = &self.slots[self.steps[step].slot];
        match (&slot.op, step_op) {
            (Op::Dense(big), Op::Dense(small)) if big != small => {
                let mut w = vec![0; big.n_in * big.n_out];
                for i in 0..small.n_in {
                    for o in 0..small.n_out {
                        w[i * big.n_out + o] = weights.w[i * small.n_out + o];
                    }
                }
                let mut b = vec![0; big.n_out];
                b[..small.n_out].copy_from_slice(&weights.b);
                Weights { w, b }
            }
            _ => weights.clone(),
        }
    }

    /// Packed weights of every slot at `step`: the step's own in its slot, zeros elsewhere.
    pub fn packed_weights<F: Field>(&self, step: usize, model: &QuantizedModel) -> Vec<Packed<F>> {
        let active = self.steps[step].slot;
        self.slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                let (wl, bl) = packing::packed_lens(&slot.op, &self.fp);
                if i == active && slot.op.is_linear() {
                    let ms = &model.steps[step];
                    let w = self.slot_weights(step, &ms.weights, &ms.op);
                    packing::pack(&slot.op, &w, &self.fp)
                } else {
                    Packed {
                        w: vec![F::ZERO; wl],
                        b: vec![F::ZERO; bl],
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::QStep;

    fn dense(name: &str, n_in: usize, n_out: usize, act: Act) -> QStep {
        QStep {
            name: name.into(),
            views: vec![],
            op: Op::Dense(DenseSpec { n_in, n_out }),
            act,
            save_input: false,
            weights: Weights {
                w: (0..(n_in * n_out) as i64).collect(),
                b: vec![1; n_out],
            },
            output_shape: vec![n_out],
        }
    }

    #[test]
    fn dense_steps_share_a_padded_slot_per_activation() {
        let model = QuantizedModel {
            name: "m".into(),
            fp: FixedPoint {
                fa: 8,
                fw: 8,
                bits: 16,
                guard: 1,
            },
            input_shape: vec![4],
            output_shape: vec![3],
            softmax: true,
            steps: vec![
                dense("d0", 4, 6, Act::Relu),
                dense("d1", 6, 6, Act::Relu),
                dense("d2", 6, 3, Act::Linear),
                QStep {
                    name: "argmax".into(),
                    views: vec![],
                    op: Op::ArgMax { n: 3 },
                    act: Act::Linear,
                    save_input: false,
                    weights: Weights::default(),
                    output_shape: vec![3],
                },
            ],
        };
        let arch = Architecture::compile(&model).unwrap();
        assert_eq!(arch.slots.len(), 3);
        assert_eq!(arch.slots[0].op, Op::Dense(DenseSpec { n_in: 6, n_out: 6 }));
        assert!(arch.slots[0].padded);
        assert!(!arch.slots[1].padded);
        assert_eq!(
            arch.steps.iter().map(|s| s.slot).collect::<Vec<_>>(),
            vec![0, 0, 1, 2]
        );
        assert_eq!(arch.width, 6);
        let w = arch.slot_weights(0, &model.steps[0].weights, &model.steps[0].op);
        assert_eq!(w.w.len(), 36);
        // d0 is 4→6 padded into 6→6: rows 0..4 are its weights, rows 4..6 are zero
        assert_eq!(w.w[6 + 1], model.steps[0].weights.w[6 + 1]); // row 1, col 1
        assert!(w.w[4 * 6..].iter().all(|&v| v == 0));
        assert_eq!(w.b[..6], model.steps[0].weights.b[..]);
    }
}
