//! The stack of tensors saved for later merges and branches (docs/DESIGN.md §4.2), as every
//! walk over a program keeps it: validation (lengths), the integer and float references (values),
//! the per-sample circuits (variables) and the witness (commitments). One rule, here: a step
//! that reads the saved tensor (a merge, a concatenation or a swap) reads the top; it takes it off
//! unless it keeps it for a later layer; then a step that saves its input pushes it (so a swap
//! pops the fork's tensor and pushes the branch it sets aside).
//!
//! A save may also go **below** the top (crossed skips, docs/DESIGN.md §7.5 item 4): kept
//! sorted by merge order, the stack still lets every merge read its top. A merge that keeps
//! its saved operand may likewise move it below the top (the tensor read again later than
//! another saved under it). In the circuit the
//! stack is one field element, `H(…H(H(0, c_1), c_2)…, c_n)` over the saved tensors'
//! commitments (narrow Poseidon, [`stack_commitment`]); [`insert`] opens its top `d` entries
//! and rebuilds it with the input under them.

use crate::field::Field;
use crate::poseidon::{hash_narrow, hash_narrow_gadget};
use crate::range::one;
use crate::spec::Op;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError,
};

/// The deepest a save may go under the top of the stack (a step's `save_depth`): validation
/// refuses deeper ones, so a hostile program or architecture file cannot grow the circuit (its
/// insert pays two narrow hashes a level, [`insert`]).
pub const MAX_SAVE_DEPTH: usize = 8;

/// Whether a save goes on top (`depth == 0`): the serialized default, so programs, models and
/// architectures without crossed skips keep their files and digests.
pub fn on_top(depth: &usize) -> bool {
    *depth == 0
}

/// Tensors saved for later merges and branches, the last saved on top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedStack<T>(Vec<T>);

impl<T> Default for SavedStack<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> SavedStack<T> {
    /// Nothing saved.
    pub fn new() -> Self {
        Self::default()
    }

    /// What a step that reads the saved tensor reads: the last saved one.
    pub fn top(&self) -> Option<&T> {
        self.0.last()
    }

    /// The saved tensors, bottom first.
    pub fn entries(&self) -> &[T] {
        &self.0
    }

    /// How many tensors are saved.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is saved.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stack over one step of `op`: the top taken off if the op pops what it reads
    /// ([`Op::pops_saved`]); then, if the step saves its input, `input()` inserted under the top
    /// `depth` entries (0: pushed), or else, if the op keeps what it reads, that tensor moved
    /// `depth` entries down ([`moves_kept`]). Returns what was taken off.
    ///
    /// # Panics
    /// If the step inserts deeper than the stack ([`SavedStack::check_step`] refuses it).
    pub fn step(
        &mut self,
        op: &Op,
        save_input: bool,
        depth: usize,
        input: impl FnOnce() -> T,
    ) -> Option<T> {
        let popped = if op.pops_saved() { self.0.pop() } else { None };
        if save_input {
            self.insert(depth, input());
        } else if moves_kept(op) && depth > 0 {
            let kept = self.0.pop().expect("a keeping reader reads a saved tensor");
            self.insert(depth, kept);
        }
        popped
    }

    /// Whether a step of `op` that saves its input or not and inserts `depth` deep may run
    /// on this stack: it reads a saved tensor only if there is one, and it inserts only what it
    /// saves (its input, or the tensor a merge keeps), no deeper than the stack under it and
    /// than [`MAX_SAVE_DEPTH`] ([`check_insert`]).
    pub fn check_step(&self, op: &Op, save_input: bool, depth: usize) -> Result<(), String> {
        check_insert(op, save_input, depth)?;
        if op.reads_saved() && self.is_empty() {
            return Err("reads a saved tensor, none is saved".into());
        }
        // what stays under the insert: the stack less what the op pops or moves
        let under =
            self.0.len() - usize::from(op.reads_saved() && (op.pops_saved() || moves_kept(op)));
        if depth > under {
            return Err(format!(
                "saves {depth} tensors deep into a stack of {under}"
            ));
        }
        Ok(())
    }

    /// Saves `item` below the top `depth` entries (`depth = 0`: on top).
    ///
    /// # Panics
    /// If fewer than `depth` tensors are saved.
    pub fn insert(&mut self, depth: usize, item: T) {
        assert!(
            depth <= self.0.len(),
            "{depth} entries above a stack of {}",
            self.0.len()
        );
        self.0.insert(self.0.len() - depth, item);
    }
}

/// Whether a step of `op` moves the saved tensor it reads and keeps: a merge or concatenation
/// that keeps its operand for a later layer inserts it again, `depth` deep (at depth 0 the
/// stack is as it was). A swap that keeps the fork's tensor saves its own input instead, so its
/// depth is that input's.
pub fn moves_kept(op: &Op) -> bool {
    op.keeps_saved() && !matches!(op, Op::Swap { .. })
}

/// Whether a step of `op` may insert `depth` deep, whatever the stack: only a step that saves
/// (its input, or the tensor a merge keeps, [`moves_kept`]) inserts, and not deeper than
/// [`MAX_SAVE_DEPTH`] (the insert pays two hashes a level). A merge or concatenation does not
/// save its input and a swap does (it sets the branch it leaves aside).
pub fn check_insert(op: &Op, save_input: bool, depth: usize) -> Result<(), String> {
    let swap = matches!(op, Op::Swap { .. });
    if op.reads_saved() && save_input != swap {
        return Err("a swap saves its input, a merge does not".into());
    }
    if depth > 0 && !(save_input || moves_kept(op)) {
        return Err(format!(
            "inserts {depth} deep but saves nothing (only a step that saves its input or a merge \
             that keeps its operand inserts)"
        ));
    }
    if depth > MAX_SAVE_DEPTH {
        return Err(format!(
            "inserts {depth} deep, at most {MAX_SAVE_DEPTH} (crossed skips this deep are refused)"
        ));
    }
    Ok(())
}

/// The stack `stack` with the tensor committed to `tensor` saved on top: `H(stack, tensor)`
/// (narrow Poseidon); a merge pops it by opening the hash.
pub fn push<F: Field>(stack: F, tensor: F) -> F {
    hash_narrow(&[stack, tensor])
}

/// The commitment to a stack of saved tensors given by their commitments, bottom first:
/// `H(…H(H(0, c_1), c_2)…, c_n)`, zero when nothing is saved.
pub fn stack_commitment<F: Field>(entries: &[F]) -> F {
    entries.iter().fold(F::ZERO, |below, c| push(below, *c))
}

/// The stack `stack` with `input` saved below its top `depth` entries:
/// `H(…H(H(rest, input), c_d)…, c_1)` where `stack = H(…H(rest, c_d)…, c_1)`, `c_1` its top.
///
/// `at[k]` is `[depth = k]` for `k = 0..=D`, one-hot; the caller binds it to its architecture
/// (so the verifier's compilation fixes the depth), the gadget does not check it. The top `D` entries `c_k` and the
/// stacks under them `u_k` are witnesses (`entry{k}`, `rest{k}`); for `k ≤ depth`,
/// `H(u_k, c_k) = u_{k−1}` (`u_0 = stack`, constraint `above{k}`) opens them, and the rebuild
/// hashes the input onto `u_depth` (`base`, `push`) and the opened entries back on top
/// (`rehash{k}`, `next{k}`): `2D + 1` narrow hashes and `4D + 3` other constraints. The witness
/// is the whole stack's entries, bottom first, and the depth (`None` at shape synthesis).
pub fn insert<F: Field, CS: ConstraintSystem<F>>(
    cs: &mut CS,
    stack: &AllocatedNum<F>,
    input: &AllocatedNum<F>,
    at: &[LinearCombination<F>],
    witness: Option<(&[F], usize)>,
) -> Result<AllocatedNum<F>, SynthesisError> {
    let Some(max) = at.len().checked_sub(1) else {
        return Err(SynthesisError::IncompatibleLengthVector(
            "an insert needs a selector for depth 0".into(),
        ));
    };
    if let Some((entries, depth)) = witness {
        if depth > max || depth > entries.len() {
            return Err(SynthesisError::Unsatisfiable(format!(
                "an insert {depth} entries deep into a stack of {} (at most {max} deep)",
                entries.len()
            )));
        }
    }
    let num = |cs: &mut CS, name: String, v: Option<F>| {
        AllocatedNum::alloc(cs.namespace(|| name), || {
            v.ok_or(SynthesisError::AssignmentMissing)
        })
    };
    // [depth ≥ k]
    let at_least = |k: usize| {
        at[k..]
            .iter()
            .fold(LinearCombination::zero(), |lc, a| lc + a)
    };
    // the top D entries and the stacks under them (zero past the stack: never opened)
    let mut rests = vec![stack.clone()];
    let mut entries = Vec::with_capacity(max);
    for k in 1..=max {
        // entry k from the top is e[len − k]; past the stack, zero
        let below = witness.map(|(e, _)| (e, e.len().checked_sub(k)));
        let c = below.map(|(e, i)| i.map_or(F::ZERO, |i| e[i]));
        let u = below.map(|(e, i)| i.map_or(F::ZERO, |i| stack_commitment(&e[..i])));
        let c = num(cs, format!("entry{k}"), c)?;
        let u = num(cs, format!("rest{k}"), u)?;
        let h = hash_narrow_gadget(
            cs.namespace(|| format!("unhash{k}")),
            &[u.clone(), c.clone()],
        )?;
        // [depth ≥ k] · (H(u_k, c_k) − u_{k−1}) = 0
        cs.enforce(
            || format!("above{k}"),
            |_| at_least(k),
            |lc| lc + h.get_variable() - rests[k - 1].get_variable(),
            |lc| lc,
        );
        rests.push(u);
        entries.push(c);
    }
    let depth = witness.map(|(_, d)| d);
    // base = Σ_k [depth = k] · u_k
    let mut base_lc = LinearCombination::zero();
    for (k, u) in rests.iter().enumerate() {
        let p = num(
            cs,
            format!("base{k}"),
            depth
                .zip(u.get_value())
                .map(|(d, u)| if d == k { u } else { F::ZERO }),
        )?;
        cs.enforce(
            || format!("base{k}_mul"),
            |_| at[k].clone(),
            |lc| lc + u.get_variable(),
            |lc| lc + p.get_variable(),
        );
        base_lc = base_lc + p.get_variable();
    }
    let base = num(cs, "base".into(), depth.and_then(|d| rests[d].get_value()))?;
    cs.enforce(
        || "base_eq",
        |_| base_lc,
        |lc| lc + one(),
        |lc| lc + base.get_variable(),
    );
    let pushed = hash_narrow_gadget(cs.namespace(|| "push"), &[base, input.clone()])?;
    // r_k = [depth = k] · pushed + [depth > k] · H(r_{k+1}, c_{k+1}), from k = D down to 0
    let mut r: Option<AllocatedNum<F>> = None;
    for k in (0..=max).rev() {
        let here = num(
            cs,
            format!("here{k}"),
            depth
                .zip(pushed.get_value())
                .map(|(d, v)| if d == k { v } else { F::ZERO }),
        )?;
        cs.enforce(
            || format!("here{k}_mul"),
            |_| at[k].clone(),
            |lc| lc + pushed.get_variable(),
            |lc| lc + here.get_variable(),
        );
        r = Some(match r {
            None => here,
            Some(above) => {
                let t = hash_narrow_gadget(
                    cs.namespace(|| format!("rehash{}", k + 1)),
                    &[above, entries[k].clone()],
                )?;
                let v = match (depth, here.get_value(), t.get_value()) {
                    (Some(d), Some(h), Some(t)) => Some(if d > k { t } else { h }),
                    _ => None,
                };
                let next = num(cs, format!("next{k}"), v)?;
                // next − here = [depth > k] · t
                cs.enforce(
                    || format!("next{k}_eq"),
                    |_| at_least(k + 1),
                    |lc| lc + t.get_variable(),
                    |lc| lc + next.get_variable() - here.get_variable(),
                );
                next
            }
        });
    }
    Ok(r.expect("depth 0 is always a choice"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cs::TamperCs;
    use crate::spec::Merge;
    use ff::Field as _;
    use nova_snark::frontend::Boolean;
    use nova_snark::provider::PallasEngine;
    use nova_snark::traits::Engine;

    type Fp = <PallasEngine as Engine>::Scalar;

    /// Inserts `input` `depth` deep into the stack of `entries` (bottom first) in a circuit for
    /// depths up to `max`; `claimed` is the witness' stack (the honest one unless forged).
    fn insert_into(entries: &[Fp], claimed: &[Fp], depth: usize, max: usize) -> (TamperCs<Fp>, Fp) {
        let mut cs = TamperCs::<Fp>::new();
        let stack = AllocatedNum::alloc(cs.namespace(|| "stack"), || Ok(stack_commitment(entries)))
            .unwrap();
        let input = AllocatedNum::alloc(cs.namespace(|| "input"), || Ok(Fp::from(77))).unwrap();
        let at: Vec<_> = (0..=max)
            .map(|k| Boolean::constant(k == depth).lc(one(), Fp::ONE))
            .collect();
        let out = insert(
            &mut cs.namespace(|| "ins"),
            &stack,
            &input,
            &at,
            Some((claimed, depth)),
        )
        .unwrap();
        (cs, out.get_value().unwrap())
    }

    fn entries(n: u64) -> Vec<Fp> {
        (1..=n).map(|i| Fp::from(1000 + i)).collect()
    }

    #[test]
    fn an_insert_saves_below_the_top_entries_as_the_native_stack_does() {
        let max = 3;
        for n in 0..=4u64 {
            let e = entries(n);
            for depth in 0..=max.min(n as usize) {
                let (cs, out) = insert_into(&e, &e, depth, max);
                assert!(
                    cs.is_satisfied(),
                    "n {n} depth {depth}: {:?}",
                    cs.which_is_unsatisfied()
                );
                let mut s = SavedStack(e.clone());
                s.insert(depth, Fp::from(77));
                assert_eq!(out, stack_commitment(&s.0), "n {n} depth {depth}");
                assert_eq!(cs.num_constraints() - hashes(&cs), 4 * max + 3);
            }
        }
        // depth 0 is a push
        let e = entries(2);
        let (_, out) = insert_into(&e, &e, 0, max);
        assert_eq!(out, push(stack_commitment(&e), Fp::from(77)));
    }

    /// The constraints of the `2·max + 1` narrow hashes.
    fn hashes(cs: &TamperCs<Fp>) -> usize {
        cs.constraint_paths()
            .iter()
            .filter(|p| {
                ["/unhash", "/push/", "/rehash"]
                    .iter()
                    .any(|h| p.contains(h))
            })
            .count()
    }

    /// A witness whose opened entries are not the stack's: an entry under the top forged, or
    /// the tensors below the insert point, fails the top's opening, `above1`.
    #[test]
    fn forged_entries_under_the_top_fail_their_opening() {
        let e = entries(3);
        for (depth, i) in [(1, 2), (2, 1), (2, 2), (3, 0), (1, 0)] {
            let mut forged = e.clone();
            forged[i] += Fp::ONE;
            let (cs, _) = insert_into(&e, &forged, depth, 3);
            assert_eq!(
                cs.unsatisfied(),
                vec!["ins/above1"],
                "depth {depth}, entry {i}"
            );
        }
        // a stack one entry shorter or longer than the real one
        let (cs, _) = insert_into(&e, &e[1..], 1, 3);
        assert_eq!(cs.unsatisfied(), vec!["ins/above1"]);
        let (cs, _) = insert_into(&e, &entries(4), 1, 3);
        assert_eq!(cs.unsatisfied(), vec!["ins/above1"]);
    }

    /// The depth is the selectors' (the architecture's), not the witness': a witness at another
    /// depth fails the selection of the stack it pushes onto.
    #[test]
    fn a_witness_at_another_depth_than_the_selectors_fails() {
        let e = entries(3);
        let mut cs = TamperCs::<Fp>::new();
        let stack =
            AllocatedNum::alloc(cs.namespace(|| "stack"), || Ok(stack_commitment(&e))).unwrap();
        let input = AllocatedNum::alloc(cs.namespace(|| "input"), || Ok(Fp::from(77))).unwrap();
        let at: Vec<_> = (0..=3)
            .map(|k| Boolean::constant(k == 1).lc(one(), Fp::ONE))
            .collect();
        insert(
            &mut cs.namespace(|| "ins"),
            &stack,
            &input,
            &at,
            Some((&e, 2)),
        )
        .unwrap();
        let failing = cs.unsatisfied();
        assert!(failing.contains(&"ins/base1_mul"), "{failing:?}");
    }

    /// An insert keeps the `depth` tensors merged sooner on top of the one it saves.
    #[test]
    fn an_insert_goes_under_the_tensors_merged_sooner() {
        let mut s = SavedStack::new();
        s.insert(0, "outer");
        s.insert(0, "inner");
        s.insert(1, "crossed");
        assert_eq!(s.0, ["outer", "crossed", "inner"]);
        assert_eq!(s.top(), Some(&"inner"));
        s.insert(3, "bottom");
        assert_eq!(s.0, ["bottom", "outer", "crossed", "inner"]);
    }

    #[test]
    fn an_insert_deeper_than_the_stack_or_the_circuit_is_refused() {
        let e = entries(1);
        let mut cs = TamperCs::<Fp>::new();
        let stack =
            AllocatedNum::alloc(cs.namespace(|| "stack"), || Ok(stack_commitment(&e))).unwrap();
        let at: Vec<_> = (0..=2).map(|_| LinearCombination::zero()).collect();
        for depth in [2, 3] {
            assert!(insert(
                &mut cs.namespace(|| format!("ins{depth}")),
                &stack,
                &stack,
                &at,
                Some((&e, depth))
            )
            .is_err());
        }
        assert!(insert(&mut cs.namespace(|| "none"), &stack, &stack, &[], None).is_err());
    }

    fn merge(keep: bool) -> Op {
        Op::Merge {
            merge: Merge::Add,
            n: 2,
            saved_first: false,
            keep,
        }
    }

    /// A skip saved, a nested one saved above it, merged innermost first; a kept operand stays;
    /// a swap pops the fork and pushes the branch (or keeps the fork under it).
    #[test]
    fn steps_pop_what_they_read_and_push_what_they_save() {
        let mut s = SavedStack::new();
        let relu = Op::Identity { n: 2 };
        assert_eq!(s.step(&relu, true, 0, || "x0"), None);
        assert_eq!(s.step(&relu, true, 0, || "x1"), None);
        assert_eq!(s.top(), Some(&"x1"));
        assert_eq!(s.step(&merge(true), false, 0, || "never"), None);
        assert_eq!(s.len(), 2, "a keeping merge leaves what it read");
        assert_eq!(s.step(&merge(false), false, 0, || "never"), Some("x1"));
        assert_eq!(s.top(), Some(&"x0"));
        let swap = |keep| Op::Swap {
            n: 2,
            saved: 2,
            keep,
        };
        assert_eq!(s.step(&swap(true), true, 0, || "b1"), None);
        assert_eq!(s.0, ["x0", "b1"], "a keeping swap pushes above the fork");
        assert_eq!(s.step(&merge(false), false, 0, || "never"), Some("b1"));
        assert_eq!(s.step(&swap(false), true, 0, || "b2"), Some("x0"));
        assert_eq!(s.0, ["b2"]);
        assert_eq!(s.step(&merge(false), false, 0, || "never"), Some("b2"));
        assert!(s.is_empty());
        // a step that neither reads nor saves leaves the stack
        assert_eq!(s.step(&relu, false, 0, || "never"), None);
        assert!(s.is_empty());
    }

    /// A merge that keeps its operand moves it under the tensors read again sooner; at depth 0
    /// the stack is as it was. A keeping swap's depth is its input's.
    #[test]
    fn a_keeping_merge_moves_what_it_keeps() {
        let mut s = SavedStack(vec!["x1", "x0"]);
        assert_eq!(s.step(&merge(true), false, 0, || "never"), None);
        assert_eq!(s.0, ["x1", "x0"]);
        assert_eq!(s.step(&merge(true), false, 1, || "never"), None);
        assert_eq!(s.0, ["x0", "x1"], "x0 kept under x1, merged sooner");
        let swap = Op::Swap {
            n: 2,
            saved: 2,
            keep: true,
        };
        assert_eq!(s.step(&swap, true, 1, || "b"), None);
        assert_eq!(s.0, ["x0", "b", "x1"], "a keeping swap inserts its input");
    }

    /// Only what a step saves is inserted, not deeper than the stack under it or the bound.
    #[test]
    fn inserts_are_checked_against_the_op_and_the_stack() {
        let s = SavedStack(vec![1, 2]);
        let relu = Op::Identity { n: 2 };
        assert!(s.check_step(&relu, true, 2).is_ok());
        assert!(s
            .check_step(&relu, true, 3)
            .unwrap_err()
            .contains("stack of 2"));
        assert!(s
            .check_step(&relu, false, 1)
            .unwrap_err()
            .contains("saves nothing"));
        assert!(s.check_step(&merge(true), false, 1).is_ok());
        assert!(s
            .check_step(&merge(true), false, 2)
            .unwrap_err()
            .contains("stack of 1"));
        assert!(s
            .check_step(&merge(false), false, 1)
            .unwrap_err()
            .contains("saves nothing"));
        assert!(s
            .check_step(&merge(false), true, 0)
            .unwrap_err()
            .contains("a merge does not"));
        let deep = SavedStack(vec![0; MAX_SAVE_DEPTH + 2]);
        let too_deep = deep.check_step(&relu, true, MAX_SAVE_DEPTH + 1);
        assert!(too_deep.unwrap_err().contains("at most"));
        assert!(SavedStack::<u8>::new()
            .check_step(&merge(false), false, 0)
            .unwrap_err()
            .contains("none is saved"));
    }
}
