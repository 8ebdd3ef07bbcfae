//! The compiled form of an expression: a flat list of tensor operations over numbered value
//! slots, run in one loop. Constant subexpressions are folded in `f64` while compiling, what the
//! result does not need is dropped, and each slot is freed by its one read (an expression is a
//! tree, so every intermediate value has exactly one reader), so a long expression holds few
//! tensors at a time. Nothing here recurses, and dropping a program is dropping a `Vec`.

use super::func::{Binary, Unary, select};
use crate::surface::Formula;
use burn::tensor::Tensor;
use std::sync::Arc;

type T = Tensor<1>;

/// An input of the formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Var {
    X,
    Y,
    R,
    C,
}

/// A step of the postfix form the parser writes: push a value, or apply an operation to the
/// values on top of the stack.
#[derive(Clone)]
pub(super) enum Item {
    Const(f64),
    Var(Var),
    Unary(Unary),
    Binary(Binary),
    Where,
    /// A registered surface's formula, and whether it reads the noise terms.
    Surface(Arc<Formula>, bool),
}

/// Where a tensor comes from: an input, or the slot an earlier instruction wrote.
#[derive(Clone, Copy, Debug)]
enum Src {
    Var(Var),
    Slot(usize),
}

/// A value while compiling: a constant, or a tensor.
#[derive(Clone, Copy, Debug)]
enum Val {
    Const(f64),
    Tensor(Src),
}

/// One operation; its output slot is kept beside it in [`Program::code`].
#[derive(Clone)]
enum Instr {
    Unary(Unary, Src),
    Binary(Binary, Src, Src),
    /// `t op k` for a constant `k`.
    TensorScalar(Binary, Src, f64),
    /// `k op t` for a constant `k`.
    ScalarTensor(Binary, f64, Src),
    Where(Src, Val, Val),
    Surface(Arc<Formula>, bool, Val, Val),
}

impl Instr {
    /// The tensors it reads.
    fn sources_mut(&mut self) -> [Option<&mut Src>; 3] {
        fn tensor(v: &mut Val) -> Option<&mut Src> {
            match v {
                Val::Tensor(s) => Some(s),
                Val::Const(_) => None,
            }
        }
        match self {
            Instr::Unary(_, a) | Instr::TensorScalar(_, a, _) | Instr::ScalarTensor(_, _, a) => [Some(a), None, None],
            Instr::Binary(_, a, b) => [Some(a), Some(b), None],
            Instr::Where(c, a, b) => [Some(c), tensor(a), tensor(b)],
            Instr::Surface(_, _, a, b) => [tensor(a), tensor(b), None],
        }
    }
}

/// A compiled expression.
#[derive(Clone)]
pub(super) struct Program {
    /// Each operation with the slot it writes.
    code: Vec<(Instr, usize)>,
    /// How many slots the code uses.
    slots: usize,
    result: Val,
    noisy: bool,
}

fn pop(stack: &mut Vec<Val>) -> Val {
    stack.pop().expect("the parser writes well-formed postfix")
}

impl Program {
    /// Compiles the parser's postfix `items`.
    pub(super) fn compile(items: Vec<Item>) -> Program {
        let mut code = Vec::new();
        let mut stack = Vec::new();
        let mut emit = |instr: Instr| {
            code.push(instr);
            Val::Tensor(Src::Slot(code.len() - 1))
        };
        for item in items {
            let value = match item {
                Item::Const(k) => Val::Const(k),
                Item::Var(v) => Val::Tensor(Src::Var(v)),
                Item::Unary(op) => match pop(&mut stack) {
                    Val::Const(k) => Val::Const(op.fold(k)),
                    Val::Tensor(a) => emit(Instr::Unary(op, a)),
                },
                Item::Binary(op) => {
                    let b = pop(&mut stack);
                    match (pop(&mut stack), b) {
                        (Val::Const(a), Val::Const(b)) => Val::Const(op.fold(a, b)),
                        (Val::Tensor(a), Val::Const(k)) => emit(Instr::TensorScalar(op, a, k)),
                        (Val::Const(k), Val::Tensor(b)) => emit(Instr::ScalarTensor(op, k, b)),
                        (Val::Tensor(a), Val::Tensor(b)) => emit(Instr::Binary(op, a, b)),
                    }
                }
                Item::Where => {
                    let (b, a) = (pop(&mut stack), pop(&mut stack));
                    match pop(&mut stack) {
                        // NaN is true, as in NumPy.
                        Val::Const(k) if k != 0.0 || k.is_nan() => a,
                        Val::Const(_) => b,
                        Val::Tensor(c) => emit(Instr::Where(c, a, b)),
                    }
                }
                Item::Surface(f, noisy) => {
                    let b = pop(&mut stack);
                    emit(Instr::Surface(f, noisy, pop(&mut stack), b))
                }
            };
            stack.push(value);
        }
        let result = pop(&mut stack);
        Program::allocate(code, result)
    }

    /// Drops the operations the result does not need and gives each value a slot, reusing the
    /// slots of values already read.
    fn allocate(mut code: Vec<Instr>, result: Val) -> Program {
        let mut live = vec![false; code.len()];
        if let Val::Tensor(Src::Slot(i)) = result {
            live[i] = true;
        }
        for i in (0..code.len()).rev() {
            if live[i] {
                for s in code[i].sources_mut().into_iter().flatten() {
                    if let Src::Slot(j) = *s {
                        live[j] = true;
                    }
                }
            }
        }
        let reads_noise = |s: &Src| matches!(s, Src::Var(Var::R | Var::C));
        let mut noisy = matches!(result, Val::Tensor(s) if reads_noise(&s));
        let (mut slot_of, mut free, mut slots) = (vec![usize::MAX; code.len()], Vec::new(), 0);
        let mut program = Vec::new();
        for (i, mut instr) in code.into_iter().enumerate() {
            if !live[i] {
                continue;
            }
            for s in instr.sources_mut().into_iter().flatten() {
                noisy |= reads_noise(s);
                if let Src::Slot(j) = s {
                    *j = slot_of[*j];
                    free.push(*j);
                }
            }
            noisy |= matches!(instr, Instr::Surface(_, true, ..));
            let out = free.pop().unwrap_or_else(|| {
                slots += 1;
                slots - 1
            });
            slot_of[i] = out;
            program.push((instr, out));
        }
        let result = match result {
            Val::Tensor(Src::Slot(i)) => Val::Tensor(Src::Slot(slot_of[i])),
            other => other,
        };
        Program {
            code: program,
            slots,
            result,
            noisy,
        }
    }

    /// Whether it reads the noise terms (directly or through a noisy surface).
    pub(super) fn is_noisy(&self) -> bool {
        self.noisy
    }

    /// The formulas of the surfaces the expression calls.
    pub(super) fn formulas(&self) -> impl Iterator<Item = &Arc<Formula>> {
        self.code.iter().filter_map(|(i, _)| match i {
            Instr::Surface(f, ..) => Some(f),
            _ => None,
        })
    }

    /// The value, when the expression is a constant.
    pub(super) fn constant(&self) -> Option<f64> {
        match self.result {
            Val::Const(k) => Some(k),
            Val::Tensor(_) => None,
        }
    }

    /// How many operations it runs.
    pub(super) fn len(&self) -> usize {
        self.code.len()
    }

    /// How many slots a run holds at most.
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.slots
    }

    /// Runs the program on the inputs `[x, y, r, c]`, each `[N]`.
    pub(super) fn eval(&self, vars: [T; 4]) -> T {
        let mut run = Run {
            slots: (0..self.slots).map(|_| None).collect(),
            vars: &vars,
        };
        for (instr, out) in &self.code {
            let value = match instr {
                Instr::Unary(op, a) => op.apply(run.take(*a)),
                Instr::Binary(op, a, b) => {
                    let a = run.take(*a);
                    op.apply(a, run.take(*b))
                }
                Instr::TensorScalar(op, a, k) => op.apply_scalar(run.take(*a), *k),
                Instr::ScalarTensor(op, k, b) => op.scalar_apply(*k, run.take(*b)),
                Instr::Where(c, a, b) => {
                    let (c, a) = (run.take(*c), run.value(*a));
                    select(c, a, run.value(*b))
                }
                Instr::Surface(f, _, a, b) => {
                    let a = run.value(*a);
                    f(a, run.value(*b), vars[2].clone(), vars[3].clone())
                }
            };
            run.slots[*out] = Some(value);
        }
        run.value(self.result)
    }
}

/// The state of one run: the inputs and the slots.
struct Run<'a> {
    slots: Vec<Option<T>>,
    vars: &'a [T; 4],
}

impl Run<'_> {
    /// A tensor, moved out of its slot (its one read) or an input.
    fn take(&mut self, s: Src) -> T {
        match s {
            Src::Var(v) => self.vars[v as usize].clone(),
            Src::Slot(i) => self.slots[i].take().expect("every slot is written before its one read"),
        }
    }

    /// A value as a tensor; a constant fills the shape of `x`, as `zeros_like(x) + k`.
    fn value(&mut self, v: Val) -> T {
        match v {
            Val::Const(k) => self.vars[0].zeros_like().add_scalar(k),
            Val::Tensor(s) => self.take(s),
        }
    }
}
