//! A recorded run's steps found again as a loop, for the code generators (`jit.rs` for the CPU,
//! `gpu.rs` for a GPU).
//!
//! A recorded run is every step unrolled (7,617 instructions for 200 steps of Adam over
//! Himmelblau), and generating code costs something per instruction. So the steps are found
//! again ([`repeat`]): the stretch of instructions that repeats with a step's period, alike but
//! for the constants that are one for every row (a step's bias corrections, which the generated
//! code reads from a table holding each step's) and the outputs each step makes. The loop body is
//! one step; what a step hands the next is carried in variables.

use super::exec::Operand;
use super::program::{Op, Program, Rows};
use rustc_hash::FxHashMap;

/// A straight program longer than this is not compiled (compiling costs a few microseconds an
/// instruction): the interpreter runs it.
const MAX_STRAIGHT: usize = 20_000;

/// The steps of a run, as a loop: instructions `start..start + period` repeat `times` times in
/// a row, alike but for the constants that are one for every row (a step's bias corrections)
/// and the outputs they make.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Repeat {
    pub(super) start: usize,
    pub(super) period: usize,
    pub(super) times: usize,
}

/// Where an operand comes from: the instruction that last wrote its buffer, or a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Src {
    Instr(usize),
    Const(usize),
}

/// Each instruction's operands by where they come from (the program names buffers, which it
/// reuses; the loop needs values).
pub(super) fn sources(program: &Program) -> Vec<Vec<Src>> {
    let mut writer: FxHashMap<usize, usize> = FxHashMap::default();
    let mut sources = Vec::with_capacity(program.instrs.len());
    for (i, instr) in program.instrs.iter().enumerate() {
        let src = |a: &Operand| match *a {
            Operand::Slot(k, _) => Src::Instr(writer[&k]),
            Operand::Const(c, _) => Src::Const(c),
        };
        sources.push(instr.args.iter().map(src).collect());
        if let Operand::Slot(k, _) = instr.out {
            writer.insert(k, i);
        }
    }
    sources
}

/// How an operand of the repeated step is read, the same in every repeat.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Read {
    /// An earlier instruction of the same repeat, or one before the loop, or a constant.
    Fixed,
    /// The previous repeat's value of the step's instruction at this offset (the first repeat:
    /// the instruction `period` before it).
    Carried(usize),
}

/// Whether instructions `i` and `j` compute alike: the same operation and numbers, operands
/// `j - i` later or the same, the same input columns, any uniform constants (their values may
/// differ), the same shapes and as many outputs.
fn alike(program: &Program, sources: &[Vec<Src>], i: usize, j: usize) -> bool {
    let (x, y) = (&program.instrs[i], &program.instrs[j]);
    let uniform = |c: usize| program.consts[c].0.rows == Rows::One;
    let src = |a: Src, b: Src| match (a, b) {
        (Src::Instr(p), Src::Instr(q)) => q == p + (j - i) || q == p,
        (Src::Const(c), Src::Const(d)) => c == d || uniform(c) && uniform(d),
        _ => false,
    };
    if let (Op::Const(c), Op::Const(d)) = (x.op, y.op) {
        return x.emit.len() == y.emit.len() && (c == d || uniform(c) && uniform(d));
    }
    x.op == y.op
        && super::program::numbers(&x.op) == super::program::numbers(&y.op)
        && x.args.len() == y.args.len()
        && x.args.iter().zip(&y.args).all(|(a, b)| a.shape() == b.shape())
        && sources[i].iter().zip(&sources[j]).all(|(&a, &b)| src(a, b))
        && x.out.shape() == y.out.shape()
        && x.emit.len() == y.emit.len()
        && (x.op != Op::Gather || sources[i][0] == sources[j][0])
}

/// How each operand of the step's instructions is read (an earlier value the same in every
/// repeat, or the previous repeat's, checked in every repeat), and whether the instructions
/// after the loop read only the last repeat; `None` if not so.
fn reads(sources: &[Vec<Src>], r: Repeat) -> Option<Vec<Vec<Read>>> {
    let Repeat { start, period, times } = r;
    let end = start + period * times;
    let mut reads = Vec::with_capacity(period);
    for o in 0..period {
        let first = &sources[start + o];
        let mut read = Vec::with_capacity(first.len());
        for (k, &src) in first.iter().enumerate() {
            read.push(match src {
                // Constants alike in every repeat: `alike` held between each repeat and the next.
                Src::Const(_) => Read::Fixed,
                Src::Instr(p) if p >= start => {
                    // This repeat's own.
                    if !(1..times).all(|t| sources[start + o + t * period][k] == Src::Instr(p + t * period)) {
                        return None;
                    }
                    Read::Fixed
                }
                Src::Instr(p) if (1..times).all(|t| sources[start + o + t * period][k] == Src::Instr(p)) => Read::Fixed,
                Src::Instr(p)
                    if p + period >= start
                        && (1..times).all(|t| sources[start + o + t * period][k] == Src::Instr(p + t * period)) =>
                {
                    Read::Carried(p + period - start)
                }
                Src::Instr(_) => return None,
            });
        }
        reads.push(read);
    }
    let last = end - period;
    let after_ok = sources[end..].iter().flatten().all(|&s| match s {
        Src::Instr(p) => p < start || p >= last,
        Src::Const(_) => true,
    });
    after_ok.then_some(reads)
}

/// The longest repeat around the middle of the run, its period one of the distances between
/// outputs there (a step, or a few for rules that act every few steps); `None` when there is
/// none worth a loop.
pub(super) fn repeat(program: &Program, sources: &[Vec<Src>]) -> Option<(Repeat, Vec<Vec<Read>>)> {
    let n = program.instrs.len();
    let outputs: Vec<usize> = (0..n).filter(|&i| !program.instrs[i].emit.is_empty()).collect();
    let middle = *outputs.get(outputs.len() / 2)?;
    let mut best: Option<(Repeat, Vec<Vec<Read>>)> = None;
    for k in 1..=8 {
        let Some(&next) = outputs.get(outputs.len() / 2 + k) else {
            break;
        };
        let period = next - middle;
        if !alike(program, sources, middle, next) {
            continue;
        }
        let (mut lo, mut hi) = (middle, middle);
        while lo > 0 && alike(program, sources, lo - 1, lo - 1 + period) {
            lo -= 1;
        }
        while hi + 1 + period < n && alike(program, sources, hi + 1, hi + 1 + period) {
            hi += 1;
        }
        let found = Repeat {
            start: lo,
            period,
            times: (hi - lo + 1) / period + 1,
        };
        if found.times >= 2
            && best
                .as_ref()
                .is_none_or(|(b, _)| b.times * b.period < found.times * period)
            && let Some(reads) = reads(sources, found)
        {
            best = Some((found, reads));
        }
    }
    best.filter(|(r, _)| 2 * r.times * r.period > n)
}

/// A program laid out for code generation: where each operand comes from, and its steps as a
/// loop (`times` 0, starting past the end, where there is none).
pub(super) struct Layout {
    pub(super) sources: Vec<Vec<Src>>,
    pub(super) repeat: Repeat,
    pub(super) reads: Vec<Vec<Read>>,
}

impl Layout {
    /// `program` laid out; `None` when, its steps folded into a loop, it is still too long to
    /// generate code for.
    pub(super) fn of(program: &Program) -> Option<Layout> {
        let sources = sources(program);
        let n = program.instrs.len();
        let (repeat, reads) = repeat(program, &sources).unwrap_or((
            Repeat {
                start: n,
                period: 0,
                times: 0,
            },
            Vec::new(),
        ));
        let straight = n - repeat.times.saturating_sub(1) * repeat.period;
        (straight <= MAX_STRAIGHT).then_some(Layout { sources, repeat, reads })
    }

    /// Where the loop ends: the first instruction after its last repeat.
    pub(super) fn end(&self) -> usize {
        self.repeat.start + self.repeat.times * self.repeat.period
    }

    /// Every repeat's table entries, read off its own instructions, given the first repeat's:
    /// the constants read as one value for every row at `uniform` ((instruction, operand)) and
    /// the outputs made at `outputs` ((instruction, output): (output, columns) each).
    pub(super) fn each_repeat(
        &self,
        program: &Program,
        uniform: &[(usize, usize)],
        outputs: &[(usize, usize)],
    ) -> (Vec<usize>, Vec<(usize, usize)>) {
        let r = self.repeat;
        let (mut consts, mut made) = (Vec::new(), Vec::new());
        for t in 0..r.times {
            for &(i, k) in uniform {
                let instr = &program.instrs[i + t * r.period];
                let Operand::Const(c, _) = instr.args.get(k).copied().unwrap_or(instr.out) else {
                    unreachable!("alike operands")
                };
                consts.push(c);
            }
            for &(i, m) in outputs {
                let instr = &program.instrs[i + t * r.period];
                made.push((instr.emit[m], instr.out.shape().cols));
            }
        }
        (consts, made)
    }

    /// Which offsets of the step carry their value to the next repeat.
    pub(super) fn carried(&self) -> rustc_hash::FxHashSet<usize> {
        self.reads
            .iter()
            .flatten()
            .filter_map(|r| match r {
                Read::Carried(o) => Some(*o),
                Read::Fixed => None,
            })
            .collect()
    }
}
