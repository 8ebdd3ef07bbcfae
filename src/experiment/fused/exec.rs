//! Replaying a program: every instruction over one block of rows, then the next block.

use super::Engine;
use super::program::{Binary, Cmp, Int, Op, Program, Rows, Shape, Unary};

/// Rows replayed together: a block's buffers (about a dozen of `BLOCK x columns` floats for a
/// step of Adam, 100 KB) stay in the core's first- and second-level caches, and each
/// instruction's dispatch is spread over enough rows (`bench study`, one tile of 32,768 rows
/// replayed, best of 28: 512 rows 61 ms, 1,024 57-59 ms, 2,048 62 ms).
const BLOCK: usize = 1024;

#[cfg(test)]
thread_local! {
    /// Programs this thread ran compiled, for the tests that need to know (tiles stepped on one
    /// thread run on the caller's).
    pub(super) static COMPILED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Where an instruction's operand lives: a buffer of the block, or a recorded constant.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand {
    Slot(usize, Shape),
    Const(usize, Shape),
}

impl Operand {
    pub(crate) fn shape(self) -> Shape {
        match self {
            Operand::Slot(_, s) | Operand::Const(_, s) => s,
        }
    }
}

/// `out = op(args)`; the outputs listed in `emit` are copied out after it runs.
#[derive(Clone, Debug)]
pub(crate) struct Instr {
    pub(crate) op: Op,
    pub(crate) args: Vec<Operand>,
    pub(crate) out: Operand,
    pub(crate) emit: Vec<usize>,
}

/// A read-only view of an operand over the block: `at(i, j)` is row `i`, column `j`, with a
/// broadcast row or column read again for every row or column.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl View<'_> {
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

impl Program {
    /// Replays the program over all its rows, blocks in turn, handing each output's values to
    /// `sink` as they are made: `sink(output, first_row, values)` with `values` the block's rows
    /// (`[n x columns]` row-major, every row given even where the program keeps one). Every
    /// output of a block is handed over, in the order the program makes them, before any of the
    /// next block's. False when an integer left the range f32 holds exactly (or an index its
    /// table): the rows then step eagerly, and what `sink` was given is to be dropped. On the
    /// `engine` given, or the next one down where it cannot (a GPU, then compiled, then
    /// interpreted).
    pub(crate) fn run(&self, engine: Engine, mut sink: impl FnMut(usize, usize, &[f32])) -> bool {
        // Every program a test replays has its GPU shader checked too, GPU or not.
        #[cfg(test)]
        if let Some(shader) = super::wgsl::Shader::of(self) {
            super::wgsl::validate(&shader);
        }
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if engine == Engine::Gpu
            && let Some(complete) = self.run_gpu(&mut sink)
        {
            return complete;
        }
        match (engine != Engine::Interpreter)
            .then(|| super::jit::kernel(self))
            .flatten()
        {
            Some(kernel) => {
                #[cfg(test)]
                COMPILED.with(|c| c.set(c.get() + 1));
                self.run_compiled(&kernel, &mut sink)
            }
            None => self.interpret(sink),
        }
    }

    /// [`Program::run`] on the interpreter: every instruction over the block's buffers in turn.
    pub(super) fn interpret(&self, mut sink: impl FnMut(usize, usize, &[f32])) -> bool {
        let mut slots: Vec<Vec<f32>> = self.slots.iter().map(|s| vec![0.0; self.len(*s, BLOCK)]).collect();
        let mut broadcast = Vec::new();
        let mut start = 0;
        while start < self.rows {
            let n = BLOCK.min(self.rows - start);
            for instr in &self.instrs {
                // A constant (a start point never stepped) has nothing to run, only to emit.
                if let Operand::Slot(out, shape) = instr.out {
                    let mut buffer = std::mem::take(&mut slots[out]);
                    let len = self.len(shape, n);
                    let exact = self.execute(instr, &mut buffer[..len], shape, start, n, &slots);
                    slots[out] = buffer;
                    if !exact {
                        return false;
                    }
                }
                for &e in &instr.emit {
                    let shape = instr.out.shape();
                    let values = self.slice(instr.out, start, n, &slots);
                    match shape.rows {
                        Rows::All => sink(e, start, values),
                        Rows::One => {
                            broadcast.clear();
                            (0..n).for_each(|_| broadcast.extend_from_slice(&values[..shape.cols]));
                            sink(e, start, &broadcast)
                        }
                    }
                }
            }
            start += n;
        }
        true
    }

    /// [`Program::run`] on `kernel`, the program compiled: block by block, each block's outputs
    /// handed over once the block is done (false as [`Program::run`]'s, at the end of a block).
    pub(super) fn run_compiled(
        &self,
        kernel: &super::jit::Kernel,
        sink: &mut impl FnMut(usize, usize, &[f32]),
    ) -> bool {
        use super::jit::ROWS;
        // Inputs column by column, padded to whole passes with the last row again (its results
        // are dropped; a copy of a real row goes nowhere a real row does not).
        let padded = self.rows.div_ceil(ROWS) * ROWS;
        let inputs: Vec<Vec<f32>> = kernel
            .inputs
            .iter()
            .map(|&(c, j)| {
                let (shape, data) = &self.consts[c];
                let mut column: Vec<f32> = data.iter().skip(j).step_by(shape.cols).copied().collect();
                let last = column[self.rows - 1];
                column.resize(padded, last);
                column
            })
            .collect();
        let lookups: Vec<&[f32]> = kernel
            .lookups
            .iter()
            .map(|&(c, _)| self.consts[c].1.as_slice())
            .collect();
        let uniform: Vec<f32> = kernel
            .uniform
            .iter()
            .flat_map(|&c| self.consts[c].1.iter().copied())
            .collect();
        let columns: usize = kernel.outputs.iter().map(|o| o.1).sum();
        let mut outputs = vec![vec![0.0f32; BLOCK]; columns];
        let mut values = Vec::new();
        let mut start = 0;
        while start < self.rows {
            let n = BLOCK.min(self.rows - start);
            let passes = n.div_ceil(ROWS);
            let reads: Vec<&[f32]> = inputs.iter().map(|c| &c[start..]).collect();
            if !kernel.call(&reads, &mut outputs, &uniform, &lookups, passes) {
                return false;
            }
            hand_over(&kernel.outputs, |c| &outputs[c][..n], start, &mut values, sink);
            start += n;
        }
        true
    }

    fn len(&self, shape: Shape, rows: usize) -> usize {
        match shape.rows {
            Rows::All => rows * shape.cols,
            Rows::One => shape.cols,
        }
    }

    /// The block's part of an operand: `n` rows from `start`, or its one row.
    fn slice<'a>(&'a self, operand: Operand, start: usize, n: usize, slots: &'a [Vec<f32>]) -> &'a [f32] {
        let shape = operand.shape();
        match operand {
            Operand::Slot(s, _) => &slots[s][..self.len(shape, n)],
            Operand::Const(c, _) => match shape.rows {
                Rows::All => &self.consts[c].1[start * shape.cols..(start + n) * shape.cols],
                Rows::One => &self.consts[c].1,
            },
        }
    }

    /// The block's part of an operand, as a view.
    fn view<'a>(&'a self, operand: Operand, start: usize, n: usize, slots: &'a [Vec<f32>]) -> View<'a> {
        let shape = operand.shape();
        View {
            data: self.slice(operand, start, n, slots),
            row_stride: if shape.rows == Rows::All { shape.cols } else { 0 },
            col_stride: usize::from(shape.cols > 1),
        }
    }

    /// Runs one instruction over the block. The common forms (every operand shaped as the
    /// output, or one of two a single value) go straight to their loops; the rest through views.
    fn execute(
        &self,
        instr: &Instr,
        out: &mut [f32],
        shape: Shape,
        start: usize,
        n: usize,
        slots: &[Vec<f32>],
    ) -> bool {
        let whole = |a: &Operand| a.shape() == shape;
        let single = |a: &Operand| {
            a.shape()
                == Shape {
                    rows: Rows::One,
                    cols: 1,
                }
        };
        let slice = |a: &Operand| self.slice(*a, start, n, slots);
        match (instr.op, instr.args.as_slice()) {
            (Op::Binary(b), [x, y]) if whole(x) && whole(y) => zip_whole(b, slice(x), slice(y), out),
            (Op::Binary(b), [x, y]) if whole(x) && single(y) => zip_right(b, slice(x), slice(y)[0], out),
            (Op::Scalar(b, s), [x]) if whole(x) => zip_right(b, slice(x), s, out),
            (Op::Binary(b), [x, y]) if single(x) && whole(y) => zip_left(b, slice(x)[0], slice(y), out),
            (Op::Unary(u), [x]) if whole(x) && u != Unary::IntoInt => {
                let rows = if shape.rows == Rows::All { n } else { 1 };
                let view = View {
                    data: slice(x),
                    row_stride: shape.cols,
                    col_stride: 1,
                };
                unary(u, view, out, rows, shape.cols);
            }
            _ => {
                let rows = if shape.rows == Rows::All { n } else { 1 };
                let view = |k: usize| instr.args.get(k).map(|a| self.view(*a, start, n, slots));
                let width = instr.args.first().map_or(0, |a| a.shape().cols);
                return apply(instr.op, [view(0), view(1), view(2)], width, out, rows, shape.cols);
            }
        }
        true
    }
}

/// Hands a block's outputs to `sink` (see [`Program::run`]) from generated code's column-major
/// results: `outputs` lists (output, columns) in the order the program makes them, `column(k)`
/// is the block's values of the `k`-th column. One column goes as it is; more are interleaved
/// into `values` (rows of `columns` floats).
pub(super) fn hand_over<'a>(
    outputs: &[(usize, usize)],
    column: impl Fn(usize) -> &'a [f32],
    first: usize,
    values: &mut Vec<f32>,
    sink: &mut impl FnMut(usize, usize, &[f32]),
) {
    let mut at = 0;
    for &(e, cols) in outputs {
        if cols == 1 {
            sink(e, first, column(at));
        } else {
            let n = column(at).len();
            values.resize(n * cols, 0.0);
            for j in 0..cols {
                for (v, &x) in values[j..].iter_mut().step_by(cols).zip(column(at + j)) {
                    *v = x;
                }
            }
            sink(e, first, values);
        }
        at += cols;
    }
}

/// `out = x op y`, element by element, all three alike.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn zip_whole(b: Binary, x: &[f32], y: &[f32], out: &mut [f32]) {
    #[inline(always)]
    fn each(x: &[f32], y: &[f32], out: &mut [f32], f: impl Fn(f32, f32) -> f32) {
        for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
            *o = f(a, b);
        }
    }
    match b {
        Binary::Add => each(x, y, out, |a, b| a + b),
        Binary::Sub => each(x, y, out, |a, b| a - b),
        Binary::Mul => each(x, y, out, |a, b| a * b),
        Binary::Div => each(x, y, out, |a, b| a / b),
        Binary::Pow => each(x, y, out, f32::powf),
    }
}

/// `out = x op s` for one value `s`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn zip_right(b: Binary, x: &[f32], s: f32, out: &mut [f32]) {
    #[inline(always)]
    fn each(x: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &a) in out.iter_mut().zip(x) {
            *o = f(a);
        }
    }
    match b {
        Binary::Add => each(x, out, |a| a + s),
        Binary::Sub => each(x, out, |a| a - s),
        Binary::Mul => each(x, out, |a| a * s),
        Binary::Div => each(x, out, |a| a / s),
        Binary::Pow => each(x, out, |a| a.powf(s)),
    }
}

/// `out = s op y` for one value `s`.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn zip_left(b: Binary, s: f32, y: &[f32], out: &mut [f32]) {
    #[inline(always)]
    fn each(y: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &b) in out.iter_mut().zip(y) {
            *o = f(b);
        }
    }
    match b {
        Binary::Add => each(y, out, |b| s + b),
        Binary::Sub => each(y, out, |b| s - b),
        Binary::Mul => each(y, out, |b| s * b),
        Binary::Div => each(y, out, |b| s / b),
        Binary::Pow => each(y, out, |b| s.powf(b)),
    }
}

/// `op` over whole constant operands (each `(shape, values)`), for `rows` rows: what the program
/// folds before it runs (`None`: not exact, see [`Program::run`]).
pub(crate) fn evaluate(op: Op, args: &[(Shape, &[f32])], rows: usize, cols: usize) -> Option<Vec<f32>> {
    let views = [0, 1, 2].map(|k| {
        args.get(k).map(|&(shape, data)| View {
            data,
            row_stride: if shape.rows == Rows::All { shape.cols } else { 0 },
            col_stride: usize::from(shape.cols > 1),
        })
    });
    let width = args.first().map_or(0, |a| a.0.cols);
    let mut out = vec![0.0; rows * cols];
    apply(op, views, width, &mut out, rows, cols).then_some(out)
}

/// Integers up to this magnitude are exact as f32.
const EXACT: i64 = 1 << 24;

/// `out = op(views)`, `rows x cols`; `width` is the first operand's columns. False when an
/// integer result is not exact as f32 or an index falls outside its table.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn apply(op: Op, views: [Option<View>; 3], width: usize, out: &mut [f32], rows: usize, cols: usize) -> bool {
    let view = |k: usize| views[k].expect("an operand");
    let int = |op: Int, a: f32, b: i64| {
        let a = a as i64;
        match op {
            Int::Add => a.checked_add(b),
            Int::Sub => a.checked_sub(b),
            Int::Mul => a.checked_mul(b),
        }
        .filter(|v| v.abs() <= EXACT)
        .map_or(f32::NAN, |v| v as f32)
    };
    match op {
        Op::Const(_) => unreachable!("constants have no buffer"),
        Op::Fill(v) => out.fill(v),
        Op::Unary(u) => unary(u, view(0), out, rows, cols),
        Op::Binary(b) => binary(b, view(0), view(1), out, rows, cols),
        Op::Scalar(b, s) => {
            let scalar = [s];
            let s = View {
                data: &scalar,
                row_stride: 0,
                col_stride: 0,
            };
            binary(b, view(0), s, out, rows, cols)
        }
        Op::Columns(from) => {
            let a = view(0);
            for i in 0..rows {
                for j in 0..cols {
                    out[i * cols + j] = a.at(i, from + j);
                }
            }
        }
        Op::Place(at) => {
            let a = view(0);
            out.fill(0.0);
            for i in 0..rows {
                for j in 0..width {
                    out[i * cols + at + j] = a.at(i, j);
                }
            }
        }
        Op::SumColumns => {
            let a = view(0);
            for (i, o) in out.iter_mut().take(rows).enumerate() {
                *o = 0.0 + (0..width).fold(-0.0f32, |sum, j| sum + a.at(i, j));
            }
        }
        Op::Compare(c) => zip(view(0), view(1), out, rows, cols, |a, b| compare(c, a, b)),
        Op::CompareScalar(c, s) => map(view(0), out, rows, cols, |a| compare(c, a, s)),
        Op::Logic(and) => zip(view(0), view(1), out, rows, cols, |a, b| {
            let (a, b) = (a != 0.0, b != 0.0);
            f32::from(u8::from(if and { a && b } else { a || b }))
        }),
        Op::Fma => {
            let (a, b, c) = (view(0), view(1), view(2));
            for (i, o) in out.chunks_exact_mut(cols).take(rows).enumerate() {
                for (j, o) in o.iter_mut().enumerate() {
                    *o = a.at(i, j).mul_add(b.at(i, j), c.at(i, j));
                }
            }
        }
        Op::MaskWhere => {
            let (a, mask, value) = (view(0), view(1), view(2));
            for (i, o) in out.chunks_exact_mut(cols).take(rows).enumerate() {
                for (j, o) in o.iter_mut().enumerate() {
                    *o = if mask.at(i, j) != 0.0 {
                        value.at(i, j)
                    } else {
                        a.at(i, j)
                    };
                }
            }
        }
        Op::MaskFill(v) => zip(
            view(0),
            view(1),
            out,
            rows,
            cols,
            |a, mask| if mask != 0.0 { v } else { a },
        ),
        Op::Int(op) => zip(view(0), view(1), out, rows, cols, |a, b| int(op, a, b as i64)),
        Op::IntScalar(op, k) => map(view(0), out, rows, cols, |a| int(op, a, k)),
        Op::Gather => {
            let (table, index) = (view(0).data, view(1));
            let mut inside = true;
            map(index, out, rows, cols, |i| match table.get(i as usize) {
                Some(&v) if i >= 0.0 => v,
                _ => {
                    inside = false;
                    0.0
                }
            });
            return inside;
        }
    }
    // Integer results are NaN where they were not exact.
    !matches!(op, Op::Int(_) | Op::IntScalar(..) | Op::Unary(Unary::IntoInt)) || !out.iter().any(|v| v.is_nan())
}

/// 1 where `a cmp b` holds (IEEE: every comparison with NaN is false but `!=`), else 0.
fn compare(c: Cmp, a: f32, b: f32) -> f32 {
    let holds = match c {
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    };
    f32::from(u8::from(holds))
}

/// `out = f(a)` over the block, with flex's f32 functions.
#[multiversion::multiversion(targets("x86_64+avx512f+avx512vl+avx2+fma", "x86_64+avx2+fma"))]
fn unary(u: Unary, a: View, out: &mut [f32], rows: usize, cols: usize) {
    match u {
        Unary::Copy => map(a, out, rows, cols, |x| x),
        Unary::Neg => map(a, out, rows, cols, |x| -x),
        Unary::Abs => map(a, out, rows, cols, f32::abs),
        Unary::Sign => map(a, out, rows, cols, |x| {
            if x.is_nan() || x == 0.0 { 0.0 } else { 1f32.copysign(x) }
        }),
        Unary::Sqrt => map(a, out, rows, cols, f32::sqrt),
        Unary::Exp => map(a, out, rows, cols, f32::exp),
        Unary::Log => map(a, out, rows, cols, f32::ln),
        Unary::Sin => map(a, out, rows, cols, f32::sin),
        Unary::Cos => map(a, out, rows, cols, f32::cos),
        Unary::Tanh => map(a, out, rows, cols, f32::tanh),
        Unary::Recip => map(a, out, rows, cols, |x| 1.0 / x),
        Unary::Floor => map(a, out, rows, cols, f32::floor),
        Unary::IsNan => map(a, out, rows, cols, |x| if x.is_nan() { 1.0 } else { 0.0 }),
        Unary::Not => map(a, out, rows, cols, |x| if x != 0.0 { 0.0 } else { 1.0 }),
        Unary::Clamp(lo, hi) => match lo.is_nan() || hi.is_nan() {
            true => map(a, out, rows, cols, |_| f32::NAN),
            false => map(a, out, rows, cols, |x| x.clamp(lo, hi)),
        },
        Unary::IntoInt => map(a, out, rows, cols, |x| {
            let i = x as f64 as i64;
            if i.abs() <= EXACT { i as f32 } else { f32::NAN }
        }),
        Unary::Powf(p) => {
            // Rows mostly share their base (a beta raised to the step): one powf per new base.
            let p = p as f32;
            let mut last = (f32::NAN, f32::NAN);
            map(a, out, rows, cols, |x| {
                if x.to_bits() != last.0.to_bits() {
                    last = (x, x.powf(p));
                }
                last.1
            })
        }
    }
}

#[inline(always)]
fn map(a: View, out: &mut [f32], rows: usize, cols: usize, mut f: impl FnMut(f32) -> f32) {
    if a.row_stride == cols && (a.col_stride == 1 || cols == 1) {
        for (o, &x) in out.iter_mut().zip(a.data) {
            *o = f(x);
        }
        return;
    }
    for (i, o) in out.chunks_exact_mut(cols).take(rows).enumerate() {
        let at = i * a.row_stride;
        for (j, o) in o.iter_mut().enumerate() {
            *o = f(a.data[at + j * a.col_stride]);
        }
    }
}

fn binary(b: Binary, x: View, y: View, out: &mut [f32], rows: usize, cols: usize) {
    match b {
        Binary::Add => zip(x, y, out, rows, cols, |a, b| a + b),
        Binary::Sub => zip(x, y, out, rows, cols, |a, b| a - b),
        Binary::Mul => zip(x, y, out, rows, cols, |a, b| a * b),
        Binary::Div => zip(x, y, out, rows, cols, |a, b| a / b),
        Binary::Pow => zip(x, y, out, rows, cols, f32::powf),
    }
}

/// `out = f(x, y)` over the block; the common layouts (both whole, one a single value, a
/// column against whole rows) get loops the compiler vectorises.
#[inline(always)]
fn zip(x: View, y: View, out: &mut [f32], rows: usize, cols: usize, f: impl Fn(f32, f32) -> f32) {
    let whole = |v: &View| v.row_stride == cols && (v.col_stride == 1 || cols == 1);
    let single = |v: &View| v.row_stride == 0 && v.col_stride == 0;
    let column = |v: &View| v.row_stride == 1 && v.col_stride == 0;
    match (whole(&x), whole(&y)) {
        (true, true) => {
            for ((o, &a), &b) in out.iter_mut().zip(x.data).zip(y.data) {
                *o = f(a, b);
            }
        }
        (true, false) if single(&y) => {
            let b = y.data[0];
            for (o, &a) in out.iter_mut().zip(x.data) {
                *o = f(a, b);
            }
        }
        (false, true) if single(&x) => {
            let a = x.data[0];
            for (o, &b) in out.iter_mut().zip(y.data) {
                *o = f(a, b);
            }
        }
        (true, false) if column(&y) && cols == 2 => {
            for ((o, a), &b) in out.chunks_exact_mut(2).zip(x.data.chunks_exact(2)).zip(y.data) {
                o[0] = f(a[0], b);
                o[1] = f(a[1], b);
            }
        }
        (false, true) if column(&x) && cols == 2 => {
            for ((o, b), &a) in out.chunks_exact_mut(2).zip(y.data.chunks_exact(2)).zip(x.data) {
                o[0] = f(a, b[0]);
                o[1] = f(a, b[1]);
            }
        }
        _ => {
            for (i, o) in out.chunks_exact_mut(cols).take(rows).enumerate() {
                let (xa, ya) = (i * x.row_stride, i * y.row_stride);
                for (j, o) in o.iter_mut().enumerate() {
                    *o = f(x.data[xa + j * x.col_stride], y.data[ya + j * y.col_stride]);
                }
            }
        }
    }
}
