//! From a capture to a program: the recorded operations as element-wise instructions over
//! `[rows, cols]` blocks, the deferred gradients rebuilt as burn-autodiff's backward operations,
//! dead instructions dropped and buffers reused.

use super::exec::{Instr, Operand};
use crate::capture::{GradientRequest, capture};
use burn::tensor::Device;
use burn_ir::{BaseOperationIr, FloatOperationIr, NumericOperationIr, OperationIr, ScalarIr, TensorIr};
use rustc_hash::{FxHashMap, FxHashSet};

/// Rows of a tensor: every row of the tile, or one row broadcast to all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Rows {
    All,
    One,
}

/// The shape of a program tensor: its rows and its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    pub(crate) rows: Rows,
    pub(crate) cols: usize,
}

/// An element-wise function of one operand, as flex computes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Unary {
    Copy,
    Neg,
    Abs,
    Sign,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tanh,
    Recip,
    Powf(f64),
    Floor,
    /// 1 where the operand is NaN, else 0 (a boolean).
    IsNan,
    /// Boolean not.
    Not,
    /// flex's `clamp` to `[min, max]`.
    Clamp(f32, f32),
    /// flex's cast to `i64` (`x as f64 as i64`), kept as an f32 while it is exact (|i| <= 2^24).
    IntoInt,
}

/// An integer operation (on integers kept exactly as f32, see [`Unary::IntoInt`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Int {
    Add,
    Sub,
    Mul,
}

/// An element-wise function of two operands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    /// `a.powf(b)`, element by element.
    Pow,
}

/// A comparison, as flex makes it (f32 against f32; a scalar rounded to f32 first): 1 where it
/// holds, else 0 (a boolean).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// What an instruction computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// A recorded constant (index into the program's constants).
    Const(usize),
    /// Every element `value`.
    Fill(f32),
    Unary(Unary),
    Binary(Binary),
    /// `a op s`.
    Scalar(Binary, f32),
    /// Columns `start..start + cols` of the operand.
    Columns(usize),
    /// Zeros with the operand placed at column `start` (a slice's gradient).
    Place(usize),
    /// The sum of each row's columns, as flex's SIMD row sum makes it for rows shorter than a
    /// vector: `0 + (((-0 + a) + b) + ...)`.
    SumColumns,
    /// `a cmp b` (`is_nan` is `x != x`).
    Compare(Cmp),
    /// `a cmp s`.
    CompareScalar(Cmp, f32),
    /// `a and b`, `a or b` on booleans (`true` for and).
    Logic(bool),
    /// `mask ? value : a` for operands `[a, mask, value]`.
    MaskWhere,
    /// `a.mul_add(b, c)` for operands `[a, b, c]` (see `capture::fused_multiply_add`).
    Fma,
    /// `mask ? value : a` for operands `[a, mask]`.
    MaskFill(f32),
    /// `a op b` on integers.
    Int(Int),
    /// `a op k` on integers.
    IntScalar(Int, i64),
    /// `table[index]` for operands `[table, index]` (a select along a table's only dimension).
    Gather,
}

/// One symbolic instruction: `out = op(args)`, tensors named by capture id.
#[derive(Clone, Debug)]
struct Sym {
    op: Op,
    args: Vec<u64>,
    out: u64,
}

/// A recorded run, ready to replay over blocks of rows.
pub(crate) struct Program {
    pub(crate) rows: usize,
    pub(crate) instrs: Vec<Instr>,
    pub(crate) consts: Vec<(Shape, Vec<f32>)>,
    pub(crate) slots: Vec<Shape>,
}

impl Program {
    /// Records `body` (which builds its tensors on the device it is given and returns the capture
    /// ids of what to keep, see [`crate::capture::id`]) for `rows` rows. `None` when it cannot be replayed
    /// here; the caller then runs `body`'s work eagerly.
    pub(crate) fn record<T>(rows: usize, body: impl FnOnce(&Device) -> (Vec<u64>, T)) -> Option<(Program, T)> {
        // A row count equal to a column count would make shapes ambiguous.
        if rows < 64 {
            return None;
        }
        let (graph, recorded, (outputs, kept)) = capture(body)?;
        let mut builder = Builder {
            rows,
            numbers: FxHashSet::default(),
            detached: FxHashSet::default(),
            shapes: FxHashMap::default(),
            consts: Vec::new(),
            syms: Vec::new(),
            next: u64::MAX,
        };
        let values = &graph.values;
        let requests: FxHashMap<u64, GradientRequest> = recorded.gradients.into_iter().map(|r| (r.grad, r)).collect();
        builder.detached.extend(recorded.detached);
        let fmas: FxHashMap<u64, [u64; 3]> = recorded.fmas.iter().map(|&[o, a, b, c]| (o, [a, b, c])).collect();
        for op in &graph.graph.operations {
            if let OperationIr::BaseFloat(BaseOperationIr::Zeros(c)) = op
                && let Some(&[a, b, addend]) = fmas.get(&c.out.id.value())
            {
                builder.fma(&c.out, [a, b, addend]).ok()?;
                continue;
            }
            if let OperationIr::BaseFloat(BaseOperationIr::Zeros(c)) = op
                && let Some(request) = requests.get(&c.out.id.value())
            {
                builder.shape(&c.out).ok()?;
                builder.gradient(request).ok()?;
                continue;
            }
            // An operation the program cannot replay only matters if what it makes is used (an
            // operand of a replayed one, or an output): then that one fails in turn.
            let _unknown = builder.translate(op, values);
        }
        Some((builder.finish(&outputs)?, kept))
    }
}

/// The numbers an operation carries, bit for bit (what `==` on its floats does not tell apart:
/// -0 and 0).
pub(crate) fn numbers(op: &Op) -> [u64; 2] {
    let f = |v: f32| u64::from(v.to_bits());
    match *op {
        Op::Fill(v) | Op::Scalar(_, v) | Op::CompareScalar(_, v) | Op::MaskFill(v) => [f(v), 0],
        Op::Unary(Unary::Powf(p)) => [p.to_bits(), 0],
        Op::Unary(Unary::Clamp(lo, hi)) => [f(lo), f(hi)],
        _ => [0, 0],
    }
}

struct Builder {
    rows: usize,
    /// Boolean and integer tensors (kept as f32; never differentiated).
    numbers: FxHashSet<u64>,
    /// Detached tensors: fresh leaves of depth 0 that carry no gradient.
    detached: FxHashSet<u64>,
    shapes: FxHashMap<u64, Shape>,
    consts: Vec<(Shape, Vec<f32>)>,
    syms: Vec<Sym>,
    /// Ids for the tensors the backward pass adds, counted down from the top.
    next: u64,
}

type Built<T = ()> = Result<T, String>;

fn scalar(s: &ScalarIr) -> Built<f64> {
    match *s {
        ScalarIr::Float(v) => Ok(v),
        ScalarIr::Int(v) => Ok(v as f64),
        ScalarIr::UInt(v) => Ok(v as f64),
        ScalarIr::Bool(_) => Err("a boolean scalar".into()),
    }
}

impl Builder {
    fn shape(&mut self, t: &TensorIr) -> Built<Shape> {
        use burn::tensor::DType;
        match t.dtype {
            DType::F32 => {}
            DType::Bool(_) | DType::I64 | DType::I32 => {
                self.numbers.insert(t.id.value());
            }
            other => return Err(format!("a {other:?} tensor")),
        }
        let rows = |n: usize| match n {
            n if n == self.rows => Ok(Rows::All),
            1 => Ok(Rows::One),
            n => Err(format!("a dimension of {n} that is not the rows")),
        };
        let shape = match t.shape.as_slice() {
            [] => Shape {
                rows: Rows::One,
                cols: 1,
            },
            [n] if *n == self.rows || *n == 1 => Shape {
                rows: rows(*n)?,
                cols: 1,
            },
            // A vector of another length: a row, broadcast as burn broadcasts it (a table).
            [n] => Shape {
                rows: Rows::One,
                cols: *n,
            },
            [n, c] if *c != self.rows => Shape {
                rows: rows(*n)?,
                cols: *c,
            },
            dims => return Err(format!("shape {dims:?}")),
        };
        self.shapes.insert(t.id.value(), shape);
        Ok(shape)
    }

    fn known(&self, t: &TensorIr) -> Built<u64> {
        match self.shapes.contains_key(&t.id.value()) {
            true => Ok(t.id.value()),
            false => Err(format!("tensor {} comes from an operation not replayed", t.id.value())),
        }
    }

    fn emit(&mut self, op: Op, args: &[&TensorIr], out: &TensorIr) -> Built {
        let args = args.iter().map(|a| self.known(a)).collect::<Built<Vec<_>>>()?;
        self.shape(out)?;
        self.syms.push(Sym {
            op,
            args,
            out: out.id.value(),
        });
        Ok(())
    }

    /// A new tensor of the backward pass, shaped `shape`, computed as `op(args)`.
    fn fresh(&mut self, op: Op, args: &[u64], shape: Shape) -> u64 {
        let out = self.next;
        self.next -= 1;
        self.shapes.insert(out, shape);
        self.syms.push(Sym {
            op,
            args: args.to_vec(),
            out,
        });
        out
    }

    /// flex's `powf_scalar`: integer exponents go through `powi` (0: ones, 1: itself, 2: a
    /// product, -1 and -2: reciprocals), the others through `powf`.
    fn power(&mut self, x: u64, p: f64, shape: Shape) -> u64 {
        if p.fract() != 0.0 || p.abs() > 2.0 {
            return self.fresh(Op::Unary(Unary::Powf(p)), &[x], shape);
        }
        match p as i64 {
            0 => self.fresh(Op::Fill(1.0), &[], shape),
            1 => x,
            2 => self.fresh(Op::Binary(Binary::Mul), &[x, x], shape),
            -1 => self.fresh(Op::Unary(Unary::Recip), &[x], shape),
            _ => {
                let square = self.fresh(Op::Binary(Binary::Mul), &[x, x], shape);
                self.fresh(Op::Unary(Unary::Recip), &[square], shape)
            }
        }
    }

    fn translate(
        &mut self,
        op: &OperationIr,
        values: &std::collections::BTreeMap<burn::tensor::TensorId, burn::tensor::TensorData>,
    ) -> Built {
        use BaseOperationIr as B;
        use FloatOperationIr as F;
        use NumericOperationIr as N;
        match op {
            OperationIr::Init(init) => {
                let shape = self.shape(&init.out)?;
                let data = values.get(&init.out.id).ok_or("an initialised tensor without data")?;
                let host: Vec<f32> = data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
                self.consts.push((shape, host));
                self.syms.push(Sym {
                    op: Op::Const(self.consts.len() - 1),
                    args: Vec::new(),
                    out: init.out.id.value(),
                });
                Ok(())
            }
            OperationIr::BaseFloat(B::Expand(r)) | OperationIr::BaseBool(B::Expand(r)) => {
                self.emit(Op::Unary(Unary::Copy), &[&r.input], &r.out)
            }
            OperationIr::BaseFloat(B::Reshape(r)) | OperationIr::BaseBool(B::Reshape(r)) => {
                let input = *self.shapes.get(&self.known(&r.input)?).expect("known");
                if self.shape(&r.out)? != input {
                    return Err("a reshape across rows".into());
                }
                self.emit(Op::Unary(Unary::Copy), &[&r.input], &r.out)
            }
            OperationIr::BaseFloat(B::Slice(s)) | OperationIr::BaseBool(B::Slice(s)) => {
                let input = *self.shapes.get(&self.known(&s.tensor)?).expect("known");
                let full_rows = |r: &burn::tensor::Slice, n: usize| {
                    r.start == 0 && r.step == 1 && r.end.is_none_or(|e| e == n as isize)
                };
                let rows = if input.rows == Rows::All { self.rows } else { 1 };
                match s.ranges.as_slice() {
                    [r, c] if full_rows(r, rows) && c.step == 1 && c.start >= 0 => {
                        self.emit(Op::Columns(c.start as usize), &[&s.tensor], &s.out)
                    }
                    _ => Err("a slice across rows".into()),
                }
            }
            OperationIr::BaseFloat(B::Zeros(c)) => self.emit(Op::Fill(0.0), &[], &c.out),
            OperationIr::BaseFloat(B::NotEqual(b)) => self.emit(Op::Compare(Cmp::Ne), &[&b.lhs, &b.rhs], &b.out),
            OperationIr::BaseFloat(B::Equal(b)) => self.emit(Op::Compare(Cmp::Eq), &[&b.lhs, &b.rhs], &b.out),
            OperationIr::BaseFloat(B::EqualElem(c)) => {
                self.emit(Op::CompareScalar(Cmp::Eq, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out)
            }
            OperationIr::BaseFloat(B::NotEqualElem(c)) => {
                self.emit(Op::CompareScalar(Cmp::Ne, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out)
            }
            OperationIr::BaseFloat(B::MaskWhere(m)) => {
                self.emit(Op::MaskWhere, &[&m.tensor, &m.mask, &m.value], &m.out)
            }
            OperationIr::Bool(b) => {
                use burn_ir::BoolOperationIr as L;
                match b {
                    L::And(b) => self.emit(Op::Logic(true), &[&b.lhs, &b.rhs], &b.out),
                    L::Or(b) => self.emit(Op::Logic(false), &[&b.lhs, &b.rhs], &b.out),
                    L::Not(u) => self.emit(Op::Unary(Unary::Not), &[&u.input], &u.out),
                    other => Err(format!("{other:?}")),
                }
            }
            OperationIr::BaseFloat(B::MaskFill(m)) => {
                self.emit(Op::MaskFill(scalar(&m.value)? as f32), &[&m.tensor, &m.mask], &m.out)
            }
            OperationIr::BaseFloat(B::Select(s)) if s.dim == 0 && s.tensor.shape.num_dims() == 1 => {
                // A table as long as the rows would read as a column: not replayed.
                if self
                    .shapes
                    .get(&s.tensor.id.value())
                    .is_none_or(|t| t.rows != Rows::One)
                {
                    return Err("a select from a table as long as the rows".into());
                }
                self.emit(Op::Gather, &[&s.tensor, &s.indices], &s.out)
            }
            OperationIr::NumericInt(_, n) => {
                let int = |s: &ScalarIr| match *s {
                    ScalarIr::Int(v) => Ok(v),
                    _ => Err("an integer operation with another scalar".to_string()),
                };
                match n {
                    N::Add(b) => self.emit(Op::Int(Int::Add), &[&b.lhs, &b.rhs], &b.out),
                    N::Sub(b) => self.emit(Op::Int(Int::Sub), &[&b.lhs, &b.rhs], &b.out),
                    N::Mul(b) => self.emit(Op::Int(Int::Mul), &[&b.lhs, &b.rhs], &b.out),
                    N::AddScalar(s) => self.emit(Op::IntScalar(Int::Add, int(&s.rhs)?), &[&s.lhs], &s.out),
                    N::SubScalar(s) => self.emit(Op::IntScalar(Int::Sub, int(&s.rhs)?), &[&s.lhs], &s.out),
                    N::MulScalar(s) => self.emit(Op::IntScalar(Int::Mul, int(&s.rhs)?), &[&s.lhs], &s.out),
                    other => Err(format!("{other:?}")),
                }
            }
            OperationIr::BaseFloat(B::Ones(c)) => self.emit(Op::Fill(1.0), &[], &c.out),
            OperationIr::NumericFloat(_, n) => match n {
                N::Full(f) => self.emit(Op::Fill(scalar(&f.value)? as f32), &[], &f.out),
                N::Add(b) => self.emit(Op::Binary(Binary::Add), &[&b.lhs, &b.rhs], &b.out),
                N::Sub(b) => self.emit(Op::Binary(Binary::Sub), &[&b.lhs, &b.rhs], &b.out),
                N::Mul(b) => self.emit(Op::Binary(Binary::Mul), &[&b.lhs, &b.rhs], &b.out),
                N::Div(b) => self.emit(Op::Binary(Binary::Div), &[&b.lhs, &b.rhs], &b.out),
                N::AddScalar(s) => self.emit(Op::Scalar(Binary::Add, scalar(&s.rhs)? as f32), &[&s.lhs], &s.out),
                N::SubScalar(s) => self.emit(Op::Scalar(Binary::Sub, scalar(&s.rhs)? as f32), &[&s.lhs], &s.out),
                N::MulScalar(s) => self.emit(Op::Scalar(Binary::Mul, scalar(&s.rhs)? as f32), &[&s.lhs], &s.out),
                N::DivScalar(s) => self.emit(Op::Scalar(Binary::Div, scalar(&s.rhs)? as f32), &[&s.lhs], &s.out),
                N::Neg(u) => self.emit(Op::Unary(Unary::Neg), &[&u.input], &u.out),
                N::Abs(u) => self.emit(Op::Unary(Unary::Abs), &[&u.input], &u.out),
                N::Sign(u) => self.emit(Op::Unary(Unary::Sign), &[&u.input], &u.out),
                N::Greater(b) => self.emit(Op::Compare(Cmp::Gt), &[&b.lhs, &b.rhs], &b.out),
                N::GreaterEqual(b) => self.emit(Op::Compare(Cmp::Ge), &[&b.lhs, &b.rhs], &b.out),
                N::Lower(b) => self.emit(Op::Compare(Cmp::Lt), &[&b.lhs, &b.rhs], &b.out),
                N::LowerEqual(b) => self.emit(Op::Compare(Cmp::Le), &[&b.lhs, &b.rhs], &b.out),
                N::GreaterElem(c) => self.emit(Op::CompareScalar(Cmp::Gt, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out),
                N::GreaterEqualElem(c) => {
                    self.emit(Op::CompareScalar(Cmp::Ge, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out)
                }
                N::LowerElem(c) => self.emit(Op::CompareScalar(Cmp::Lt, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out),
                N::LowerEqualElem(c) => {
                    self.emit(Op::CompareScalar(Cmp::Le, scalar(&c.rhs)? as f32), &[&c.lhs], &c.out)
                }
                // Rows of fewer than 4 columns: shorter than any SIMD vector flex sums with.
                N::SumDim(r) if r.axis == 1 && r.input.shape.num_dims() == 2 && r.input.shape[1] < 4 => {
                    self.emit(Op::SumColumns, &[&r.input], &r.out)
                }
                N::Clamp(c) => self.emit(
                    Op::Unary(Unary::Clamp(scalar(&c.min)? as f32, scalar(&c.max)? as f32)),
                    &[&c.tensor],
                    &c.out,
                ),
                // Recorded only past powi's special cases: flex's `powf`.
                N::PowiScalar(s) => self.emit(Op::Unary(Unary::Powf(scalar(&s.rhs)?)), &[&s.lhs], &s.out),
                other => Err(format!("{other:?}")),
            },
            OperationIr::Float(_, f) => {
                let unary = |u| Op::Unary(u);
                match f {
                    F::Exp(u) => self.emit(unary(Unary::Exp), &[&u.input], &u.out),
                    F::Log(u) => self.emit(unary(Unary::Log), &[&u.input], &u.out),
                    F::Sqrt(u) => self.emit(unary(Unary::Sqrt), &[&u.input], &u.out),
                    F::Sin(u) => self.emit(unary(Unary::Sin), &[&u.input], &u.out),
                    F::Cos(u) => self.emit(unary(Unary::Cos), &[&u.input], &u.out),
                    F::Tanh(u) => self.emit(unary(Unary::Tanh), &[&u.input], &u.out),
                    F::Recip(u) => self.emit(unary(Unary::Recip), &[&u.input], &u.out),
                    F::Powf(b) => self.emit(Op::Binary(Binary::Pow), &[&b.lhs, &b.rhs], &b.out),
                    F::Floor(u) => self.emit(unary(Unary::Floor), &[&u.input], &u.out),
                    F::IsNan(u) => self.emit(unary(Unary::IsNan), &[&u.input], &u.out),
                    F::IntoInt(c) => self.emit(unary(Unary::IntoInt), &[&c.input], &c.out),
                    // Recorded only for exponents that are not integers: flex's `powf`.
                    F::PowfScalar(s) => self.emit(unary(Unary::Powf(scalar(&s.rhs)?)), &[&s.lhs], &s.out),
                    other => Err(format!("{other:?}")),
                }
            }
            other => Err(format!("{:?}", std::mem::discriminant(other))),
        }
    }

    /// `out = a.mul_add(b, c)` where the recording left a multiply-add's placeholder.
    fn fma(&mut self, out: &TensorIr, args: [u64; 3]) -> Built {
        if let Some(a) = args.iter().find(|a| !self.shapes.contains_key(a)) {
            return Err(format!("tensor {a} comes from an operation not replayed"));
        }
        self.shape(out)?;
        self.syms.push(Sym {
            op: Op::Fma,
            args: args.to_vec(),
            out: out.id.value(),
        });
        Ok(())
    }

    /// `out` as a copy of `y` (a gradient under its placeholder's id).
    fn fresh_alias(&mut self, y: u64, out: u64, shape: Shape) {
        self.shapes.insert(out, shape);
        self.syms.push(Sym {
            op: Op::Unary(Unary::Copy),
            args: vec![y],
            out,
        });
    }

    /// The instructions of `request`'s gradient, as burn-autodiff's backward pass runs them (see
    /// `burn-autodiff`'s `runtime/server.rs`): every node's depth is one more than its deepest
    /// input's (inputs made outside the loss count 0); the nodes reachable from the loss are
    /// collected depth-first, the last input first, then run deepest first, in collection order
    /// within a depth; a node's gradient is the sum of what its consumers register, each new
    /// term added as `new + old`.
    fn gradient(&mut self, request: &GradientRequest) -> Built {
        let start = self
            .syms
            .iter()
            .rposition(|s| s.out == request.start)
            .ok_or("the gradient's start was not replayed")?;
        let grad_shape = *self.shapes.get(&request.grad).expect("shaped");
        // Depth and tracking of every tensor made in the loss's operations.
        let mut depth: FxHashMap<u64, usize> = FxHashMap::default();
        let mut tracked: FxHashSet<u64> = FxHashSet::from_iter([request.points]);
        let mut made: FxHashMap<u64, usize> = FxHashMap::default();
        // Autodiff nodes are float tensors: booleans and integers neither count for depth nor
        // carry a gradient (an index made from the point, as the noise lookup's, is not
        // tracked), and a detached tensor is a fresh leaf.
        let float = |id: &u64| !self.numbers.contains(id);
        for (k, sym) in self.syms.iter().enumerate().skip(start) {
            if self.detached.contains(&sym.out) {
                continue;
            }
            let d = sym
                .args
                .iter()
                .filter(|a| float(a))
                .map(|a| depth.get(a).copied().unwrap_or(0))
                .max();
            depth.insert(sym.out, d.map_or(0, |d| d + 1));
            if float(&sym.out) && sym.args.iter().any(|a| tracked.contains(a)) {
                tracked.insert(sym.out);
                made.insert(sym.out, k);
            }
        }
        let parents = |id: u64| -> Vec<u64> {
            made.get(&id)
                .map(|&k| {
                    self.syms[k]
                        .args
                        .iter()
                        .copied()
                        .filter(|a| tracked.contains(a))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut order = Vec::new();
        if made.contains_key(&request.loss) {
            let mut visited = FxHashSet::from_iter([request.loss]);
            order.push(request.loss);
            let mut stack = parents(request.loss);
            while let Some(p) = stack.pop() {
                if !visited.insert(p) {
                    continue;
                }
                if made.contains_key(&p) {
                    order.push(p);
                    stack.extend(parents(p));
                }
            }
        }
        let deepest = order.iter().map(|id| depth[id]).max().unwrap_or(0);
        let mut grads: FxHashMap<u64, u64> = FxHashMap::default();
        let loss_shape = *self.shapes.get(&request.loss).ok_or("the loss was not replayed")?;
        if !order.is_empty() {
            let one = self.fresh(Op::Fill(1.0), &[], loss_shape);
            grads.insert(request.loss, one);
        }
        for d in (0..=deepest).rev() {
            for &node in order.iter().filter(|n| depth[*n] == d) {
                let grad = grads.remove(&node).ok_or("a node without a gradient")?;
                let sym = self.syms[made[&node]].clone();
                self.backward(&sym, grad, &tracked, &mut grads)?;
            }
        }
        let result = grads.remove(&request.points);
        let shape = grad_shape;
        match result {
            Some(g) => self.fresh_alias(g, request.grad, shape),
            None => {
                self.shapes.insert(request.grad, shape);
                self.syms.push(Sym {
                    op: Op::Fill(0.0),
                    args: Vec::new(),
                    out: request.grad,
                });
            }
        }
        Ok(())
    }

    /// Registers `value` as a term of `node`'s gradient (`value + old` when there is one).
    fn register(&mut self, grads: &mut FxHashMap<u64, u64>, node: u64, value: u64) {
        let shape = self.shapes[&value];
        let sum = match grads.remove(&node) {
            Some(old) => self.fresh(Op::Binary(Binary::Add), &[value, old], shape),
            None => value,
        };
        grads.insert(node, sum);
    }

    /// One node's backward step, as burn-autodiff writes it for that operation.
    fn backward(&mut self, sym: &Sym, g: u64, tracked: &FxHashSet<u64>, grads: &mut FxHashMap<u64, u64>) -> Built {
        let out = self.shapes[&sym.out];
        let shape = |b: &Self, id: u64| b.shapes[&id];
        // A tracked operand must have the output's shape (a broadcast one needs a reduction).
        for a in sym.args.iter().filter(|a| tracked.contains(*a)) {
            if shape(self, *a) != out && !matches!(sym.op, Op::Columns(_)) {
                return Err("the gradient of a broadcast operand".into());
            }
        }
        let lhs_tracked = sym.args.first().is_some_and(|a| tracked.contains(a));
        let rhs_tracked = sym.args.get(1).is_some_and(|a| tracked.contains(a));
        let un = |b: &mut Self, u: Unary, x: u64| b.fresh(Op::Unary(u), &[x], out);
        let mul = |b: &mut Self, x: u64, y: u64| b.fresh(Op::Binary(Binary::Mul), &[x, y], out);
        match sym.op {
            Op::Binary(op) => {
                let (a, b) = (sym.args[0], sym.args[1]);
                let (ga, gb) = match op {
                    Binary::Pow => return Err("the gradient of a power of tensors".into()),
                    Binary::Add => (lhs_tracked.then_some(g), rhs_tracked.then_some(g)),
                    Binary::Sub => (lhs_tracked.then_some(g), rhs_tracked.then(|| un(self, Unary::Neg, g))),
                    Binary::Mul => (
                        lhs_tracked.then(|| mul(self, g, b)),
                        rhs_tracked.then(|| mul(self, g, a)),
                    ),
                    Binary::Div => {
                        let ga = lhs_tracked.then(|| {
                            let r = self.fresh(Op::Unary(Unary::Recip), &[b], shape(self, b));
                            mul(self, g, r)
                        });
                        let gb = rhs_tracked.then(|| {
                            let neg = self.fresh(Op::Unary(Unary::Neg), &[a], shape(self, a));
                            let square = self.fresh(Op::Binary(Binary::Mul), &[b, b], shape(self, b));
                            let value = self.fresh(Op::Binary(Binary::Div), &[neg, square], out);
                            mul(self, g, value)
                        });
                        (ga, gb)
                    }
                };
                if let Some(ga) = ga {
                    self.register(grads, a, ga);
                }
                if let Some(gb) = gb {
                    self.register(grads, b, gb);
                }
            }
            Op::Scalar(op, s) => {
                let x = sym.args[0];
                let gx = match op {
                    Binary::Add | Binary::Sub => g,
                    Binary::Mul => self.fresh(Op::Scalar(Binary::Mul, s), &[g], out),
                    Binary::Div => self.fresh(Op::Scalar(Binary::Mul, 1.0 / s), &[g], out),
                    Binary::Pow => return Err("the gradient of a power by a scalar tensor".into()),
                };
                self.register(grads, x, gx);
            }
            Op::Unary(u) => {
                let x = sym.args[0];
                // `g * f(x)`: the derivative as burn-autodiff computes it, then the product.
                let times = |b: &mut Self, f: Unary| {
                    let d = un(b, f, x);
                    mul(b, g, d)
                };
                let gx = match u {
                    Unary::Copy => g,
                    Unary::Neg => un(self, Unary::Neg, g),
                    Unary::Abs => times(self, Unary::Sign),
                    Unary::Sin => times(self, Unary::Cos),
                    Unary::Cos => {
                        let sin = un(self, Unary::Sin, x);
                        let neg = un(self, Unary::Neg, sin);
                        mul(self, g, neg)
                    }
                    Unary::Exp => times(self, Unary::Exp),
                    Unary::Log => times(self, Unary::Recip),
                    Unary::Sqrt => {
                        let p = self.power(x, -0.5, out);
                        let half = self.fresh(Op::Scalar(Binary::Div, 2.0), &[p], out);
                        mul(self, g, half)
                    }
                    Unary::Tanh => {
                        let t = un(self, Unary::Tanh, x);
                        let square = self.power(t, 2.0, out);
                        let neg = un(self, Unary::Neg, square);
                        let value = self.fresh(Op::Scalar(Binary::Add, 1.0), &[neg], out);
                        mul(self, g, value)
                    }
                    Unary::Recip => {
                        let p = self.power(x, -2.0, out);
                        let neg = un(self, Unary::Neg, p);
                        mul(self, g, neg)
                    }
                    Unary::Powf(p) => {
                        let lower = self.power(x, p - 1.0, out);
                        let value = self.fresh(Op::Scalar(Binary::Mul, p as f32), &[lower], out);
                        mul(self, g, value)
                    }
                    Unary::Sign | Unary::Floor | Unary::IsNan | Unary::Not | Unary::Clamp(..) | Unary::IntoInt => {
                        return Err(format!("the gradient of {u:?}"));
                    }
                };
                self.register(grads, x, gx);
            }
            Op::Columns(start) => {
                let x = sym.args[0];
                let gx = self.fresh(Op::Place(start), &[g], shape(self, x));
                self.register(grads, x, gx);
            }
            Op::Const(_)
            | Op::Fill(_)
            | Op::Place(_)
            | Op::SumColumns
            | Op::Compare(_)
            | Op::CompareScalar(..)
            | Op::Logic(_)
            | Op::MaskWhere
            | Op::Fma
            | Op::MaskFill(_)
            | Op::Int(_)
            | Op::IntScalar(..)
            | Op::Gather => return Err(format!("the gradient of {:?}", sym.op)),
        }
        Ok(())
    }

    /// Computes once, before the run, every instruction whose operands are all constants and
    /// whose result is the same in every row (a step's bias corrections, its learning rate):
    /// the same f32 operations, once instead of once per block. Constants equal in every row
    /// are kept as one row.
    fn fold(&mut self) {
        let rows = self.rows;
        // Bit for bit: +0 and -0 (or two NaNs) are not one value here.
        let uniform = |shape: Shape, data: &[f32]| {
            let first = &data[..shape.cols];
            shape.rows == Rows::One
                || data
                    .chunks_exact(shape.cols)
                    .all(|r| r.iter().zip(first).all(|(a, b)| a.to_bits() == b.to_bits()))
        };
        for (shape, data) in &mut self.consts {
            if uniform(*shape, data) {
                data.truncate(shape.cols);
                shape.rows = Rows::One;
            }
        }
        let mut known: FxHashMap<u64, usize> = FxHashMap::default();
        for k in 0..self.syms.len() {
            let sym = &self.syms[k];
            let out = self.shapes[&sym.out];
            let folded = match sym.op {
                Op::Const(c) => {
                    known.insert(sym.out, c);
                    continue;
                }
                Op::Fill(v) => vec![v; out.cols],
                _ if sym.args.iter().all(|a| known.contains_key(a)) => {
                    let args: Vec<(Shape, &[f32])> = sym
                        .args
                        .iter()
                        .map(|a| {
                            let (shape, data) = &self.consts[known[a]];
                            (*shape, data.as_slice())
                        })
                        .collect();
                    let all = args.iter().any(|(s, _)| s.rows == Rows::All);
                    let Some(values) = super::exec::evaluate(sym.op, &args, if all { rows } else { 1 }, out.cols)
                    else {
                        continue;
                    };
                    let shape = Shape {
                        rows: if all { Rows::All } else { Rows::One },
                        cols: out.cols,
                    };
                    if !uniform(shape, &values) {
                        continue;
                    }
                    values[..out.cols].to_vec()
                }
                _ => continue,
            };
            self.consts.push((
                Shape {
                    rows: Rows::One,
                    cols: out.cols,
                },
                folded,
            ));
            let c = self.consts.len() - 1;
            known.insert(self.syms[k].out, c);
            self.syms[k].op = Op::Const(c);
            self.syms[k].args.clear();
        }
    }

    /// Reads a copy's operand wherever the copy (an expand or reshape within its shape) is read,
    /// and the first of identical instructions' result wherever a repeat is read (autodiff
    /// computes some products twice: the same f32 operation on the same operands gives the same
    /// bits), so that copies and repeats are dropped as dead; those that are outputs stay.
    fn share(&mut self, outputs: &[u64]) {
        let outputs: FxHashSet<u64> = outputs.iter().copied().collect();
        let mut alias: FxHashMap<u64, u64> = FxHashMap::default();
        // What an instruction computes: its operation (its numbers bit for bit, so -0 is not 0),
        // its operands and its shape; operations with a NaN never compare equal, so never merge.
        type Computes = (std::mem::Discriminant<Op>, [u64; 2], Vec<u64>, Shape);
        let mut seen: FxHashMap<Computes, Vec<(Op, u64)>> = FxHashMap::default();
        for sym in &mut self.syms {
            for a in &mut sym.args {
                if let Some(&original) = alias.get(a) {
                    *a = original;
                }
            }
            if matches!(sym.op, Op::Const(_)) || outputs.contains(&sym.out) {
                continue;
            }
            let shape = self.shapes[&sym.out];
            if sym.op == Op::Unary(Unary::Copy) && self.shapes[&sym.args[0]] == shape {
                alias.insert(sym.out, sym.args[0]);
                continue;
            }
            let computes = (
                std::mem::discriminant(&sym.op),
                numbers(&sym.op),
                sym.args.clone(),
                shape,
            );
            let earlier = seen.entry(computes).or_default();
            match earlier.iter().find(|(op, _)| *op == sym.op) {
                Some(&(_, first)) => {
                    alias.insert(sym.out, first);
                }
                None => earlier.push((sym.op, sym.out)),
            }
        }
    }

    /// Drops what `outputs` do not need, gives every tensor a buffer (reused once its last
    /// reader has run) and lists the instructions.
    fn finish(mut self, outputs: &[u64]) -> Option<Program> {
        self.fold();
        self.share(outputs);
        let mut live: FxHashSet<u64> = outputs.iter().copied().collect();
        let mut keep = vec![false; self.syms.len()];
        for (k, sym) in self.syms.iter().enumerate().rev() {
            if live.contains(&sym.out) {
                keep[k] = true;
                live.extend(sym.args.iter().copied());
            }
        }
        let syms: Vec<&Sym> = self
            .syms
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(s, _)| s)
            .collect();
        let mut last_use: FxHashMap<u64, usize> = FxHashMap::default();
        for (k, sym) in syms.iter().enumerate() {
            for a in &sym.args {
                last_use.insert(*a, k);
            }
        }
        let output_index: FxHashMap<u64, Vec<usize>> =
            outputs.iter().enumerate().fold(FxHashMap::default(), |mut m, (i, o)| {
                m.entry(*o).or_default().push(i);
                m
            });
        let mut slots: Vec<Shape> = Vec::new();
        let mut free: FxHashMap<Shape, Vec<usize>> = FxHashMap::default();
        let mut slot_of: FxHashMap<u64, Operand> = FxHashMap::default();
        let mut instrs = Vec::with_capacity(syms.len());
        for (k, sym) in syms.iter().enumerate() {
            let shape = self.shapes[&sym.out];
            let args: Vec<Operand> = sym.args.iter().map(|a| slot_of[a]).collect();
            let out = match sym.op {
                Op::Const(c) => Operand::Const(c, self.consts[c].0),
                _ => {
                    let slot = free.get_mut(&shape).and_then(Vec::pop).unwrap_or_else(|| {
                        slots.push(shape);
                        slots.len() - 1
                    });
                    Operand::Slot(slot, shape)
                }
            };
            slot_of.insert(sym.out, out);
            instrs.push(Instr {
                op: sym.op,
                args,
                out,
                emit: output_index.get(&sym.out).cloned().unwrap_or_default(),
            });
            for a in sym.args.iter().chain([&sym.out]) {
                if last_use.get(a).is_none_or(|&l| l <= k)
                    && let Operand::Slot(s, shape) = slot_of[a]
                    && !free.get(&shape).is_some_and(|f| f.contains(&s))
                {
                    free.entry(shape).or_default().push(s);
                }
            }
        }
        if !outputs.iter().all(|o| slot_of.contains_key(o)) {
            return None;
        }
        Some(Program {
            rows: self.rows,
            instrs,
            consts: self.consts,
            slots,
        })
    }
}
