//! The stack of tensors saved for later merges and branches (docs/DESIGN.md §4.2), as every
//! walk over a program keeps it: validation (lengths), the integer and float references (values),
//! the per-sample circuits (variables) and the witness (commitments). One rule, here: a step
//! that reads the saved tensor (a merge, a concatenation or a swap) reads the top; it takes it off
//! unless it keeps it for a later layer; then a step that saves its input pushes it (so a swap
//! pops the fork's tensor and pushes the branch it sets aside).

use crate::spec::Op;

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

    /// How many tensors are saved.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is saved.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stack over one step of `op`: the top taken off if the op pops what it reads
    /// ([`Op::pops_saved`]), then `input()` pushed if the step saves its input. Returns what was
    /// taken off.
    pub fn step(&mut self, op: &Op, save_input: bool, input: impl FnOnce() -> T) -> Option<T> {
        let popped = if op.pops_saved() { self.0.pop() } else { None };
        if save_input {
            self.0.push(input());
        }
        popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Merge;

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
        assert_eq!(s.step(&relu, true, || "x0"), None);
        assert_eq!(s.step(&relu, true, || "x1"), None);
        assert_eq!(s.top(), Some(&"x1"));
        assert_eq!(s.step(&merge(true), false, || "never"), None);
        assert_eq!(s.len(), 2, "a keeping merge leaves what it read");
        assert_eq!(s.step(&merge(false), false, || "never"), Some("x1"));
        assert_eq!(s.top(), Some(&"x0"));
        let swap = |keep| Op::Swap {
            n: 2,
            saved: 2,
            keep,
        };
        assert_eq!(s.step(&swap(true), true, || "b1"), None);
        assert_eq!(s.0, ["x0", "b1"], "a keeping swap pushes above the fork");
        assert_eq!(s.step(&merge(false), false, || "never"), Some("b1"));
        assert_eq!(s.step(&swap(false), true, || "b2"), Some("x0"));
        assert_eq!(s.0, ["b2"]);
        assert_eq!(s.step(&merge(false), false, || "never"), Some("b2"));
        assert!(s.is_empty());
        // a step that neither reads nor saves leaves the stack
        assert_eq!(s.step(&relu, false, || "never"), None);
        assert!(s.is_empty());
    }
}
