//! Hand-built programs for the code generators' tests (`jit.rs`, `gpu.rs`): every instruction
//! over awkward values, a run of steps, the noise lookup's integers.

use super::exec::{Instr, Operand};
use super::program::{Binary, Cmp, Int, Op, Program, Rows, Shape, Unary};

/// Rows of every fixture.
pub(super) const N: usize = 70;

fn all(cols: usize) -> Shape {
    Shape { rows: Rows::All, cols }
}

fn one() -> Shape {
    Shape {
        rows: Rows::One,
        cols: 1,
    }
}

/// Values an operation can meet: zeros of both signs, infinities, NaN, a subnormal, small
/// and large numbers, integers and halves.
fn awkward(shift: usize) -> Vec<f32> {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e-40,
        -3e-39,
        3.7,
        -2.2,
        1e30,
        -7.0,
        0.1,
        1e-7,
        100.0,
        -0.75,
        2.5,
    ];
    (0..N).map(|i| values[(i * 7 + shift) % values.len()]).collect()
}

/// Every instruction the code generators know, each output, over awkward values (and a
/// uniform constant, a mask with NaN in it, two columns).
pub(super) fn every_instruction() -> Program {
    let mask: Vec<f32> = (0..N).map(|i| [0.0, 1.0, f32::NAN, -0.0, 2.0][i % 5]).collect();
    let consts = vec![
        (all(1), awkward(0)),
        (all(1), awkward(3)),
        (all(1), mask),
        (one(), vec![0.3]),
    ];
    let (x, y, m, u) = (
        Operand::Const(0, all(1)),
        Operand::Const(1, all(1)),
        Operand::Const(2, all(1)),
        Operand::Const(3, one()),
    );
    let mut ops: Vec<(Op, Vec<Operand>)> = [
        Unary::Copy,
        Unary::Neg,
        Unary::Abs,
        Unary::Sign,
        Unary::Sqrt,
        Unary::Exp,
        Unary::Log,
        Unary::Sin,
        Unary::Cos,
        Unary::Tanh,
        Unary::Recip,
        Unary::Powf(2.5),
        Unary::Powf(-1.5),
        Unary::Floor,
        Unary::IsNan,
        Unary::Not,
        Unary::Clamp(-1.0, 2.0),
        Unary::Clamp(f32::NAN, 1.0),
    ]
    .into_iter()
    .map(|u| (Op::Unary(u), vec![x]))
    .collect();
    for b in [Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Pow] {
        ops.extend([
            (Op::Binary(b), vec![x, y]),
            (Op::Binary(b), vec![u, y]),
            (Op::Scalar(b, -1.5), vec![x]),
        ]);
    }
    for c in [Cmp::Eq, Cmp::Ne, Cmp::Gt, Cmp::Ge, Cmp::Lt, Cmp::Le] {
        ops.extend([(Op::Compare(c), vec![x, y]), (Op::CompareScalar(c, 0.5), vec![x])]);
    }
    ops.extend([
        (Op::Logic(true), vec![m, x]),
        (Op::Logic(false), vec![m, x]),
        (Op::MaskWhere, vec![x, m, y]),
        (Op::MaskFill(7.0), vec![x, m]),
        (Op::Fma, vec![x, y, u]),
        (Op::Fill(-0.0), vec![]),
    ]);
    let mut instrs: Vec<Instr> = Vec::new();
    let mut slots = Vec::new();
    let mut push = |op: Op, args: Vec<Operand>, shape: Shape, emit: bool| {
        let out = Operand::Slot(slots.len(), shape);
        slots.push(shape);
        let e = instrs.len();
        instrs.push(Instr {
            op,
            args,
            out,
            emit: if emit { vec![e] } else { vec![] },
        });
        out
    };
    for (op, args) in ops {
        push(op, args, all(1), true);
    }
    // Two columns: placed, added, sliced back and summed; one column against two.
    let left = push(Op::Place(0), vec![x], all(2), true);
    let right = push(Op::Place(1), vec![y], all(2), true);
    let both = push(Op::Binary(Binary::Add), vec![left, right], all(2), true);
    push(Op::Binary(Binary::Mul), vec![both, x], all(2), true);
    push(Op::Columns(1), vec![both], all(1), true);
    push(Op::SumColumns, vec![both], all(1), true);
    push(Op::Unary(Unary::Sqrt), vec![both], all(2), true);
    Program {
        rows: N,
        instrs,
        consts,
        slots,
    }
}

/// A run of `steps` steps, `x = x * u_k + y` with a new uniform `u_k` each step and buffers taken in
/// turn as the program's allocator takes them, each step's `x` an output, then its row sum.
pub(super) fn steps(steps: usize) -> Program {
    let mut consts = vec![
        (all(2), awkward(1).into_iter().chain(awkward(5)).collect()),
        (all(1), awkward(2)),
    ];
    let (x0, y) = (Operand::Const(0, all(2)), Operand::Const(1, all(1)));
    let mut instrs = vec![Instr {
        op: Op::Const(0),
        args: vec![],
        out: x0,
        emit: vec![],
    }];
    let mut x = x0;
    for k in 0..steps {
        consts.push((one(), vec![0.5 + k as f32 / 64.0]));
        let c = consts.len() - 1;
        let u = Operand::Const(c, one());
        instrs.push(Instr {
            op: Op::Const(c),
            args: vec![],
            out: u,
            emit: vec![],
        });
        let a = Operand::Slot(2 * (k % 2), all(2));
        instrs.push(Instr {
            op: Op::Binary(Binary::Mul),
            args: vec![x, u],
            out: a,
            emit: vec![],
        });
        x = Operand::Slot(1 + 2 * (k % 2), all(2));
        instrs.push(Instr {
            op: Op::Binary(Binary::Add),
            args: vec![a, y],
            out: x,
            emit: vec![k],
        });
    }
    instrs.push(Instr {
        op: Op::SumColumns,
        args: vec![x],
        out: Operand::Slot(0, all(1)),
        emit: vec![steps],
    });
    let slots = vec![all(2), all(2), all(2), all(2)];
    Program {
        rows: N,
        instrs,
        consts,
        slots,
    }
}

/// The noise lookup's instructions: `x * scale` cast to an integer `i`, `j = i + offset`,
/// `j * i - j`, and a table of 50 read at `j`.
pub(super) fn lookup(scale: f32, offset: i64) -> Program {
    let table: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
    let row = Shape {
        rows: Rows::One,
        cols: 50,
    };
    let points = awkward(4)
        .into_iter()
        .map(|v| if v.is_finite() { v.clamp(-10.0, 30.0) } else { 1.0 });
    let consts = vec![(all(1), points.collect()), (row, table), (one(), vec![scale])];
    let (x, t, s) = (
        Operand::Const(0, all(1)),
        Operand::Const(1, row),
        Operand::Const(2, one()),
    );
    let slot = |k: usize| Operand::Slot(k, all(1));
    let instr = |op: Op, args: Vec<Operand>, k: usize| Instr {
        op,
        args,
        out: slot(k),
        emit: vec![k],
    };
    let instrs = vec![
        instr(Op::Binary(Binary::Mul), vec![x, s], 0),
        instr(Op::Unary(Unary::IntoInt), vec![slot(0)], 1),
        instr(Op::IntScalar(Int::Add, offset), vec![slot(1)], 2),
        instr(Op::Int(Int::Mul), vec![slot(2), slot(1)], 3),
        instr(Op::Int(Int::Sub), vec![slot(3), slot(2)], 4),
        instr(Op::Gather, vec![t, slot(2)], 5),
    ];
    Program {
        rows: N,
        instrs,
        consts,
        slots: vec![all(1); 6],
    }
}
