//! Compiling a program to machine code: every instruction of the run, start to end, for a few
//! rows at a time held in vector registers, so that a step's intermediates never go to memory.
//!
//! The interpreter ([`Program::run`]'s other path) writes each instruction's result to a buffer
//! of the block and reads it back for the next one: it runs at the speed of the caches, not of
//! the arithmetic. Here [Cranelift](https://cranelift.dev) turns the same instruction list into
//! one function whose body computes the whole run for [`ROWS`] rows (two groups of four lanes,
//! independent chains the core overlaps) and whose loop walks the block.
//!
//! Exact, like the interpreter: each instruction is the same IEEE f32 operation (vector add,
//! multiply, divide, square root and fused multiply-add round as their scalar forms do), and the
//! functions flex computes in software (`exp`, `ln`, `sin`, `cos`, `tanh`, `powf`) are called,
//! lane by lane, as the same Rust functions. Integers (the noise lookup's indices) are kept as f32
//! as the interpreter keeps them, and where one may have left the range f32 holds exactly, or an
//! index its table, the call says so, as the interpreter does, and the rows step eagerly.
//!
//! Compiling takes a few microseconds per instruction, and a recorded run is every step unrolled
//! (7,617 instructions for 200 steps of Adam over Himmelblau: 80-130 ms). So the steps are found
//! again as a loop ([`repeat`]): the stretch of instructions that repeats with a step's period,
//! alike but for the constants that are one for every row (a step's bias corrections, read from
//! a table that holds each step's) and the outputs each step makes. The loop body is one step;
//! what a step hands the next is carried in variables. That compiles in ~2 ms.

use super::exec::Operand;
use super::program::{Binary, Cmp, Int, Op, Program, Rows, Unary};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{AbiParam, Endianness, InstBuilder, MemFlagsData, SigRef, Signature, Value as Ssa, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use rustc_hash::{FxHashMap, FxHashSet};

/// Integers up to this magnitude are exact as f32 (as the interpreter's).
const EXACT: u64 = 1 << 24;
/// Lanes of a vector register (f32x4).
const LANES: usize = 4;
/// Vectors computed side by side: independent dependency chains for the core to overlap.
const GROUPS: usize = 2;
/// Rows one pass of the compiled loop computes.
pub(crate) const ROWS: usize = LANES * GROUPS;

/// `code(inputs, outputs, uniform, lookups, passes)`: `inputs[k]` is the block's first row of the
/// `k`-th input column, `outputs[k]` where the `k`-th output column goes (both column-major,
/// [`ROWS`] rows a pass), `uniform` the values that are one for every row, `lookups[k]` the
/// `k`-th table read at an index. Returns 0, or 1 where an integer left the range f32 holds
/// exactly or an index its table (the interpreter's `false`).
type Code = unsafe extern "C" fn(*const *const f32, *const *mut f32, *const f32, *const *const f32, i64) -> i32;

/// A program compiled: its code and where it reads and writes.
pub(crate) struct Kernel {
    code: Code,
    /// The columns it reads, in the order of its `inputs`: (constant, column).
    pub(crate) inputs: Vec<(usize, usize)>,
    /// The constants it reads as one value for every row, in the order of `uniform` (each
    /// constant's columns in turn).
    pub(crate) uniform: Vec<usize>,
    /// How many floats it reads from `uniform`.
    uniform_len: usize,
    /// The tables it reads at an index, in the order of its `lookups`: (constant, length).
    pub(crate) lookups: Vec<(usize, usize)>,
    /// What it writes, in the order of its `outputs` (each output's columns in turn): the
    /// output's index and its columns, in the order the program makes them.
    pub(crate) outputs: Vec<(usize, usize)>,
    /// Owns the code's memory.
    module: Option<JITModule>,
}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the code is only called through `Kernel::call`, which borrows the kernel.
            unsafe { module.free_memory() }
        }
    }
}

impl Kernel {
    /// Runs the code over `passes` passes of [`ROWS`] rows: `inputs` are its input columns from
    /// the block's first row, `outputs` its output columns, `uniform` its uniform constants'
    /// values, all in the order the kernel lists them.
    pub(crate) fn call(
        &self,
        inputs: &[&[f32]],
        outputs: &mut [Vec<f32>],
        uniform: &[f32],
        lookups: &[&[f32]],
        passes: usize,
    ) -> bool {
        let rows = passes * ROWS;
        assert_eq!(inputs.len(), self.inputs.len(), "one slice per input column");
        assert_eq!(
            outputs.len(),
            self.outputs.iter().map(|o| o.1).sum::<usize>(),
            "one per output column"
        );
        assert_eq!(uniform.len(), self.uniform_len, "every uniform value");
        assert!(lookups.iter().zip(&self.lookups).all(|(t, l)| t.len() == l.1) && lookups.len() == self.lookups.len());
        assert!(inputs.iter().all(|c| c.len() >= rows) && outputs.iter().all(|c| c.len() >= rows));
        let inputs: Vec<*const f32> = inputs.iter().map(|c| c.as_ptr()).collect();
        let outputs: Vec<*mut f32> = outputs.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let lookups: Vec<*const f32> = lookups.iter().map(|c| c.as_ptr()).collect();
        // SAFETY: the code reads `rows` floats from each input column, the uniform values at
        // offsets below `uniform_len` and each table at indices it has checked are inside its
        // length, and writes `rows` floats to each output column: all within the slices, as
        // checked above.
        let outside = unsafe {
            (self.code)(
                inputs.as_ptr(),
                outputs.as_ptr(),
                uniform.as_ptr(),
                lookups.as_ptr(),
                passes as i64,
            )
        };
        outside == 0
    }
}

/// A straight program longer than this is not compiled (a few microseconds an instruction):
/// the interpreter runs it.
const MAX_STRAIGHT: usize = 20_000;

/// The steps of a run, as a loop: instructions `start..start + period` repeat `times` times in
/// a row, alike but for the constants that are one for every row (a step's bias corrections)
/// and the outputs they make.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Repeat {
    start: usize,
    period: usize,
    times: usize,
}

/// Where an operand comes from: the instruction that last wrote its buffer, or a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Src {
    Instr(usize),
    Const(usize),
}

/// Each instruction's operands by where they come from (the program names buffers, which it
/// reuses; the loop needs values).
fn sources(program: &Program) -> Vec<Vec<Src>> {
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
enum Read {
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
fn repeat(program: &Program, sources: &[Vec<Src>]) -> Option<(Repeat, Vec<Vec<Read>>)> {
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

/// Compiles `program` (`None` where it cannot be: an instruction it does not know, or a long
/// run with no loop found), leaving it to the interpreter.
pub(crate) fn kernel(program: &Program) -> Option<Kernel> {
    let sources = sources(program);
    let repeat = repeat(program, &sources);
    let straight = program.instrs.len() - repeat.as_ref().map_or(0, |(r, _)| (r.times - 1) * r.period);
    if straight > MAX_STRAIGHT {
        return None;
    }
    compile(program, &sources, repeat)
}

/// A tensor's values in registers: `cols x GROUPS` vectors, column by column.
type Regs = Vec<Ssa>;

/// Functions flex computes in software, called lane by lane.
extern "C" fn exp(x: f32) -> f32 {
    x.exp()
}
extern "C" fn ln(x: f32) -> f32 {
    x.ln()
}
extern "C" fn sin(x: f32) -> f32 {
    x.sin()
}
extern "C" fn cos(x: f32) -> f32 {
    x.cos()
}
extern "C" fn tanh(x: f32) -> f32 {
    x.tanh()
}
extern "C" fn powf(x: f32, p: f32) -> f32 {
    x.powf(p)
}

/// Compiles `program` (its steps as a loop where `repeat` found them); `None` (an
/// instruction it does not compile, or Cranelift failing) leaves the program to the interpreter.
fn compile(program: &Program, sources: &[Vec<Src>], repeat: Option<(Repeat, Vec<Vec<Read>>)>) -> Option<Kernel> {
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").ok()?;
    let isa = cranelift_native::builder()
        .ok()?
        .finish(settings::Flags::new(flags))
        .ok()?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([ptr, ptr, ptr, ptr, types::I64].map(AbiParam::new));
    sig.returns.push(AbiParam::new(types::I32));
    let id = module.declare_function("replay", Linkage::Local, &sig).ok()?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
    // entry -> pass: before the loop -> step (repeated) -> after it -> next pass ... -> exit
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let [inputs, outputs, uniform, lookups, passes] = b.block_params(entry).try_into().expect("five parameters");
    let (pass_head, pass_body, exit) = (b.create_block(), b.create_block(), b.create_block());
    b.append_block_param(pass_head, types::I64);
    b.switch_to_block(entry);
    // Lanes where an integer or an index went out of range, over the whole call.
    let outside = b.declare_var(types::I32X4);
    let none = b.ins().iconst(types::I32, 0);
    let none = b.ins().splat(types::I32X4, none);
    b.def_var(outside, none);
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().jump(pass_head, &[zero.into()]);
    b.switch_to_block(pass_head);
    let pass = b.block_params(pass_head)[0];
    let more = b.ins().icmp(IntCC::SignedLessThan, pass, passes);
    b.ins().brif(more, pass_body, &[], exit, &[]);
    b.switch_to_block(pass_body);
    let offset = b.ins().imul_imm_s(pass, (ROWS * 4) as i64);
    let sigs = [1, 2].map(|n| {
        let mut s = Signature::new(module.isa().default_call_conv());
        s.params.extend((0..n).map(|_| AbiParam::new(types::F32)));
        s.returns.push(AbiParam::new(types::F32));
        b.import_signature(s)
    });
    let n = program.instrs.len();
    let (r, reads) = repeat.unwrap_or((
        Repeat {
            start: n,
            period: 0,
            times: 0,
        },
        Vec::new(),
    ));
    let mut e = Emitter {
        b,
        program,
        sources,
        ptr,
        offset,
        tables: [uniform, outputs],
        inputs,
        lookups,
        outside,
        sigs,
        repeat: r,
        reads,
        step: None,
        kernel: Kernel {
            code: nothing,
            inputs: Vec::new(),
            uniform: Vec::new(),
            uniform_len: 0,
            lookups: Vec::new(),
            outputs: Vec::new(),
            module: None,
        },
        lens: [0, 0],
        values: FxHashMap::default(),
        vars: Vec::new(),
        consts: FxHashMap::default(),
    };
    for i in 0..r.start {
        e.instr(i)?;
    }
    if r.times > 0 {
        e.repeat()?;
    }
    for i in r.start + r.times * r.period..n {
        e.instr(i)?;
    }
    let Emitter {
        mut b,
        mut kernel,
        lens,
        ..
    } = e;
    kernel.uniform_len = lens[UNIFORM];
    let next = b.ins().iadd_imm_s(pass, 1);
    b.ins().jump(pass_head, &[next.into()]);
    b.switch_to_block(exit);
    let outside = b.use_var(outside);
    let any = b.ins().vany_true(outside);
    let any = b.ins().uextend(types::I32, any);
    b.ins().return_(&[any]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
    module.define_function(id, &mut ctx).ok()?;
    module.clear_context(&mut ctx);
    module.finalize_definitions().ok()?;
    let code = module.get_finalized_function(id);
    // SAFETY: `code` is the function just defined, with the signature `Code` describes (four
    // pointers and an i64, the platform's C calling convention, an i32 returned).
    kernel.code = unsafe { std::mem::transmute::<*const u8, Code>(code) };
    kernel.module = Some(module);
    Some(kernel)
}

/// A placeholder until the code is compiled.
unsafe extern "C" fn nothing(
    _: *const *const f32,
    _: *const *mut f32,
    _: *const f32,
    _: *const *const f32,
    _: i64,
) -> i32 {
    1
}

/// The two tables a kernel reads its entries from: uniform constants (floats) and output columns
/// (pointers).
const UNIFORM: usize = 0;
const OUTPUTS: usize = 1;
const ENTRY_BYTES: [usize; 2] = [4, 8];

/// Inside the repeated step: where its table entries start (a variable that moves on each
/// repeat) and what they are, by the instructions of the first repeat ((instruction, operand)
/// for uniform constants, (instruction, output) for outputs); the previous repeat's values.
struct Step {
    base: [Variable; 2],
    first: [usize; 2],
    entries: [Vec<(usize, usize)>; 2],
    carried: FxHashMap<usize, Regs>,
}

/// Builds the function, instruction by instruction.
struct Emitter<'a> {
    b: FunctionBuilder<'a>,
    program: &'a Program,
    sources: &'a [Vec<Src>],
    ptr: types::Type,
    /// The pass's byte offset into every column.
    offset: Ssa,
    inputs: Ssa,
    /// The tables read at an index.
    lookups: Ssa,
    /// Lanes out of range so far (a mask).
    outside: Variable,
    /// The uniform constants' and the outputs' tables.
    tables: [Ssa; 2],
    /// Signatures of the lane-by-lane calls of one and two arguments.
    sigs: [SigRef; 2],
    repeat: Repeat,
    /// How the step's instructions read their operands.
    reads: Vec<Vec<Read>>,
    step: Option<Step>,
    /// The kernel so far: what it reads and writes.
    kernel: Kernel,
    /// Entries in each table so far.
    lens: [usize; 2],
    /// Each instruction's values (the step's: of the repeat being computed).
    values: FxHashMap<usize, Regs>,
    /// The step's values at each offset, carried from repeat to repeat and out of the loop.
    vars: Vec<Vec<Variable>>,
    /// Input columns, once loaded.
    consts: FxHashMap<usize, Regs>,
}

/// `x` of a tensor of `cols` columns, at column `j` and group `g` (a single column is read for
/// every column).
fn at(x: &[Ssa], cols: usize, j: usize, g: usize) -> Ssa {
    x[if cols > 1 { j } else { 0 } * GROUPS + g]
}

impl Emitter<'_> {
    fn splat(&mut self, v: f32) -> Ssa {
        let s = self.b.ins().f32const(v);
        self.b.ins().splat(types::F32X4, s)
    }

    /// Vectors of `v`, for a tensor of `cols` columns.
    fn fill(&mut self, v: f32, cols: usize) -> Regs {
        let s = self.splat(v);
        vec![s; cols * GROUPS]
    }

    /// The repeated instructions as a loop; the tables get each repeat's entries.
    fn repeat(&mut self) -> Option<()> {
        let (program, r) = (self.program, self.repeat);
        let (head, body, after) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
        let base = [UNIFORM, OUTPUTS].map(|t| {
            let var = self.b.declare_var(self.ptr);
            let start = self
                .b
                .ins()
                .iadd_imm_s(self.tables[t], (self.lens[t] * ENTRY_BYTES[t]) as i64);
            self.b.def_var(var, start);
            var
        });
        // Every offset's variables, set before the loop to what the first repeat carries in
        // (the instruction a period before; nothing read elsewhere).
        let zero = self.splat(0.0);
        let carried: FxHashSet<usize> = self
            .reads
            .iter()
            .flatten()
            .filter_map(|r| match r {
                Read::Carried(o) => Some(*o),
                Read::Fixed => None,
            })
            .collect();
        for o in 0..r.period {
            let cols = program.instrs[r.start + o].out.shape().cols;
            let vars: Vec<Variable> = (0..cols * GROUPS).map(|_| self.b.declare_var(types::F32X4)).collect();
            let before = match carried.contains(&o) {
                true => Some(self.values[&(r.start + o - r.period)].clone()),
                false => None,
            };
            for (k, &var) in vars.iter().enumerate() {
                let v = before.as_ref().map_or(zero, |v| v[k]);
                self.b.def_var(var, v);
            }
            self.vars.push(vars);
        }
        self.b.append_block_param(head, types::I64);
        let first = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(head, &[first.into()]);
        self.b.switch_to_block(head);
        let step = self.b.block_params(head)[0];
        let more = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, step, r.times as i64);
        self.b.ins().brif(more, body, &[], after, &[]);
        self.b.switch_to_block(body);
        let carried = carried
            .into_iter()
            .map(|o| (o, self.vars[o].iter().map(|&v| self.b.use_var(v)).collect()))
            .collect();
        self.step = Some(Step {
            base,
            first: self.lens,
            entries: [Vec::new(), Vec::new()],
            carried,
        });
        let outside = self.consts.clone();
        for i in r.start..r.start + r.period {
            self.instr(i)?;
            // (A constant has no values of its own: it is read where it is used.)
            for (&var, &v) in self.vars[i - r.start]
                .iter()
                .zip(self.values.get(&i).into_iter().flatten())
            {
                self.b.def_var(var, v);
            }
        }
        let Step { first, entries, .. } = self.step.take().expect("in the step");
        for t in [UNIFORM, OUTPUTS] {
            let moved = self.b.use_var(base[t]);
            let moved = self
                .b
                .ins()
                .iadd_imm_s(moved, ((self.lens[t] - first[t]) * ENTRY_BYTES[t]) as i64);
            self.b.def_var(base[t], moved);
        }
        let next = self.b.ins().iadd_imm_s(step, 1);
        self.b.ins().jump(head, &[next.into()]);
        self.b.switch_to_block(after);
        // Input columns loaded in the loop are not there after it.
        self.consts = outside;
        // Every repeat's entries, read off its own instructions (the first repeat's were laid out).
        self.kernel
            .uniform
            .truncate(self.kernel.uniform.len() - entries[UNIFORM].len());
        self.kernel
            .outputs
            .truncate(self.kernel.outputs.len() - entries[OUTPUTS].len());
        for t in 0..r.times {
            for &(i, k) in &entries[UNIFORM] {
                let instr = &program.instrs[i + t * r.period];
                let Operand::Const(c, _) = instr.args.get(k).copied().unwrap_or(instr.out) else {
                    unreachable!("alike operands")
                };
                self.kernel.uniform.push(c);
            }
            for &(i, m) in &entries[OUTPUTS] {
                let instr = &program.instrs[i + t * r.period];
                self.kernel.outputs.push((instr.emit[m], instr.out.shape().cols));
            }
        }
        for t in [UNIFORM, OUTPUTS] {
            self.lens[t] = first[t] + r.times * (self.lens[t] - first[t]);
        }
        Some(())
    }

    /// The address of the next entry of table `t` (inside the step: this repeat's).
    fn entry(&mut self, t: usize) -> (Ssa, i32) {
        let at = self.lens[t];
        match &self.step {
            Some(step) => {
                let base = self.b.use_var(step.base[t]);
                (base, ((at - step.first[t]) * ENTRY_BYTES[t]) as i32)
            }
            None => (self.tables[t], (at * ENTRY_BYTES[t]) as i32),
        }
    }

    /// The values of instruction `p`, read by instruction `i`'s operand `k`.
    fn value(&mut self, p: usize, i: usize, k: usize) -> Regs {
        let r = self.repeat;
        let end = r.start + r.times * r.period;
        if let Some(step) = &self.step
            && let Read::Carried(o) = self.reads[i - r.start][k]
        {
            return step.carried[&o].clone();
        }
        if self.step.is_none() && i >= end && (r.start..end).contains(&p) {
            // After the loop: the last repeat's value.
            let o = (p - r.start) % r.period;
            return self.vars[o].iter().map(|&v| self.b.use_var(v)).collect();
        }
        self.values[&p].clone()
    }

    /// Operand `k` of instruction `i` (`k` past its operands: its output, a constant).
    fn load(&mut self, i: usize, k: usize) -> Regs {
        let instr = &self.program.instrs[i];
        let operand = instr.args.get(k).copied().unwrap_or(instr.out);
        let source = self.sources[i].get(k).copied();
        let flags = MemFlagsData::trusted();
        match (operand, source) {
            (_, Some(Src::Instr(p))) => self.value(p, i, k),
            (Operand::Const(c, shape), _) if self.program.consts[c].0.rows == Rows::All => {
                if let Some(regs) = self.consts.get(&c) {
                    return regs.clone();
                }
                let mut regs = Vec::with_capacity(shape.cols * GROUPS);
                for j in 0..shape.cols {
                    let k = self.kernel.inputs.len();
                    self.kernel.inputs.push((c, j));
                    let column = self.b.ins().load(self.ptr, flags, self.inputs, (k * 8) as i32);
                    let row = self.b.ins().iadd(column, self.offset);
                    for g in 0..GROUPS {
                        regs.push(self.b.ins().load(types::F32X4, flags, row, (g * LANES * 4) as i32));
                    }
                }
                self.consts.insert(c, regs.clone());
                regs
            }
            (Operand::Const(c, shape), _) => {
                // One value for every row: a table entry (each repeat's own inside the step).
                let (base, at) = self.entry(UNIFORM);
                if let Some(step) = &mut self.step {
                    step.entries[UNIFORM].push((i, k));
                }
                self.kernel.uniform.push(c);
                self.lens[UNIFORM] += shape.cols;
                let mut regs = Vec::with_capacity(shape.cols * GROUPS);
                for j in 0..shape.cols {
                    let v = self.b.ins().load(types::F32, flags, base, at + (j * 4) as i32);
                    let s = self.b.ins().splat(types::F32X4, v);
                    regs.extend([s; GROUPS]);
                }
                regs
            }
            (Operand::Slot(..), _) => unreachable!("a buffer is read from the instruction that wrote it"),
        }
    }

    /// Stores output `m` of instruction `i` (its values `regs`).
    fn store(&mut self, i: usize, m: usize, regs: &[Ssa]) {
        let instr = &self.program.instrs[i];
        if let Some(step) = &mut self.step {
            step.entries[OUTPUTS].push((i, m));
        }
        self.kernel.outputs.push((instr.emit[m], instr.out.shape().cols));
        let flags = MemFlagsData::trusted();
        for column in regs.chunks_exact(GROUPS) {
            let (base, at) = self.entry(OUTPUTS);
            let pointer = self.b.ins().load(self.ptr, flags, base, at);
            let row = self.b.ins().iadd(pointer, self.offset);
            for (g, &v) in column.iter().enumerate() {
                self.b.ins().store(flags, v, row, (g * LANES * 4) as i32);
            }
            self.lens[OUTPUTS] += 1;
        }
    }

    /// 1 where a comparison's mask is set, else 0.
    fn ones(&mut self, mask: Ssa) -> Ssa {
        let one = self.splat(1.0);
        let mask = self.bits_to_float(mask);
        self.b.ins().band(mask, one)
    }

    fn bits_to_float(&mut self, mask: Ssa) -> Ssa {
        let little = MemFlagsData::new().with_endianness(Endianness::Little);
        self.b.ins().bitcast(types::F32X4, little, mask)
    }

    /// `mask ? yes : no`, lane by lane (`mask` a comparison's).
    fn select(&mut self, mask: Ssa, yes: Ssa, no: Ssa) -> Ssa {
        let mask = self.bits_to_float(mask);
        self.b.ins().bitselect(mask, yes, no)
    }

    /// `f` of each lane, called as a Rust function.
    fn call(&mut self, f: usize, args: &[Ssa]) -> Ssa {
        let callee = self.b.ins().iconst(self.ptr, f as i64);
        let mut out = None;
        for lane in 0..LANES as u8 {
            let xs: Vec<Ssa> = args.iter().map(|&a| self.b.ins().extractlane(a, lane)).collect();
            let call = self.b.ins().call_indirect(self.sigs[args.len() - 1], callee, &xs);
            let r = self.b.inst_results(call)[0];
            out = Some(match out {
                None => self.b.ins().splat(types::F32X4, r),
                Some(v) => self.b.ins().insertlane(v, r, lane),
            });
        }
        out.expect("lanes")
    }

    fn binary(&mut self, op: Binary, x: Ssa, y: Ssa) -> Ssa {
        match op {
            Binary::Add => self.b.ins().fadd(x, y),
            Binary::Sub => self.b.ins().fsub(x, y),
            Binary::Mul => self.b.ins().fmul(x, y),
            Binary::Div => self.b.ins().fdiv(x, y),
            Binary::Pow => self.call(powf as extern "C" fn(f32, f32) -> f32 as usize, &[x, y]),
        }
    }

    fn compare(&mut self, c: Cmp, x: Ssa, y: Ssa) -> Ssa {
        let cc = match c {
            Cmp::Eq => FloatCC::Equal,
            Cmp::Ne => FloatCC::NotEqual,
            Cmp::Gt => FloatCC::GreaterThan,
            Cmp::Ge => FloatCC::GreaterThanOrEqual,
            Cmp::Lt => FloatCC::LessThan,
            Cmp::Le => FloatCC::LessThanOrEqual,
        };
        let mask = self.b.ins().fcmp(cc, x, y);
        self.ones(mask)
    }

    /// A boolean operand's mask: set where it is not 0 (NaN included, as `x != 0.0`).
    fn truth(&mut self, x: Ssa) -> Ssa {
        let zero = self.splat(0.0);
        self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
    }

    /// `a op b` on integers kept as f32 (exact while the result is).
    fn int(&mut self, op: Int, a: Ssa, b: Ssa) -> Ssa {
        match op {
            Int::Add => self.b.ins().fadd(a, b),
            Int::Sub => self.b.ins().fsub(a, b),
            Int::Mul => self.b.ins().fmul(a, b),
        }
    }

    /// An integer result: marked out of range where it may not be exact (2^24 and beyond: the
    /// f32 arithmetic may have rounded it; the interpreter, exact in i64, stops past 2^24), and
    /// with 0 for -0 (an integer has no sign of zero).
    fn integer(&mut self, v: Ssa) -> Ssa {
        let (zero, limit) = (self.splat(0.0), self.splat(EXACT as f32));
        let size = self.b.ins().fabs(v);
        // NaN too: not (|v| < 2^24).
        let inside = self.b.ins().fcmp(FloatCC::LessThan, size, limit);
        let all = self.b.ins().iconst(types::I32, -1);
        let all = self.b.ins().splat(types::I32X4, all);
        let out = self.b.ins().bxor(inside, all);
        self.mark(out);
        self.b.ins().fadd(v, zero)
    }

    /// Adds lanes to the ones out of range.
    fn mark(&mut self, lanes: Ssa) {
        let so_far = self.b.use_var(self.outside);
        let now = self.b.ins().bor(so_far, lanes);
        self.b.def_var(self.outside, now);
    }

    /// `table[index]` lane by lane (`table` of `len` floats at `base`), marking an index outside
    /// it (NaN included) and reading entry 0 there instead.
    fn gather(&mut self, base: Ssa, len: usize, index: Ssa) -> Ssa {
        let (zero, end) = (self.splat(0.0), self.splat(len as f32));
        let from = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, index, zero);
        let below = self.b.ins().fcmp(FloatCC::LessThan, index, end);
        let inside = self.b.ins().band(from, below);
        let all = self.b.ins().iconst(types::I32, -1);
        let all = self.b.ins().splat(types::I32X4, all);
        let out = self.b.ins().bxor(inside, all);
        self.mark(out);
        let index = self.select(inside, index, zero);
        let index = self.b.ins().fcvt_to_sint_sat(types::I32X4, index);
        let flags = MemFlagsData::trusted();
        let mut values = None;
        for lane in 0..LANES as u8 {
            let i = self.b.ins().extractlane(index, lane);
            let i = self.b.ins().sextend(self.ptr, i);
            let at = self.b.ins().imul_imm_s(i, 4);
            let at = self.b.ins().iadd(base, at);
            let v = self.b.ins().load(types::F32, flags, at, 0);
            values = Some(match values {
                None => self.b.ins().splat(types::F32X4, v),
                Some(all) => self.b.ins().insertlane(all, v, lane),
            });
        }
        values.expect("lanes")
    }

    fn unary(&mut self, u: Unary, x: Ssa) -> Option<Ssa> {
        let one = |e: &mut Self, f: extern "C" fn(f32) -> f32| e.call(f as usize, &[x]);
        Some(match u {
            Unary::Copy => x,
            Unary::Neg => self.b.ins().fneg(x),
            Unary::Abs => self.b.ins().fabs(x),
            Unary::Sqrt => self.b.ins().sqrt(x),
            Unary::Floor => self.b.ins().floor(x),
            Unary::Recip => {
                let one = self.splat(1.0);
                self.b.ins().fdiv(one, x)
            }
            Unary::Sign => {
                // ±1 with x's sign, but 0 where x is 0 or NaN.
                let (zero, unit, sign) = (self.splat(0.0), self.splat(1.0), self.splat(-0.0));
                let sign = self.b.ins().band(x, sign);
                let signed = self.b.ins().bor(unit, sign);
                let is_zero = self.b.ins().fcmp(FloatCC::Equal, x, zero);
                let is_nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
                let none = self.b.ins().bor(is_zero, is_nan);
                self.select(none, zero, signed)
            }
            Unary::IsNan => {
                let mask = self.b.ins().fcmp(FloatCC::Unordered, x, x);
                self.ones(mask)
            }
            Unary::Not => {
                let zero = self.splat(0.0);
                let mask = self.b.ins().fcmp(FloatCC::Equal, x, zero);
                self.ones(mask)
            }
            Unary::Clamp(lo, hi) if lo.is_nan() || hi.is_nan() => self.splat(f32::NAN),
            Unary::Clamp(lo, hi) => {
                // `f32::clamp`: below `lo` is `lo`, then above `hi` is `hi`; NaN stays.
                let (lo, hi) = (self.splat(lo), self.splat(hi));
                let below = self.b.ins().fcmp(FloatCC::LessThan, x, lo);
                let x = self.select(below, lo, x);
                let above = self.b.ins().fcmp(FloatCC::GreaterThan, x, hi);
                self.select(above, hi, x)
            }
            Unary::Exp => one(self, exp),
            Unary::Log => one(self, ln),
            Unary::Sin => one(self, sin),
            Unary::Cos => one(self, cos),
            Unary::Tanh => one(self, tanh),
            Unary::Powf(p) => {
                let p = self.splat(p as f32);
                self.call(powf as extern "C" fn(f32, f32) -> f32 as usize, &[x, p])
            }
            Unary::IntoInt => {
                // `x as f64 as i64` (toward zero, NaN to 0), kept while exact as f32.
                let zero = self.splat(0.0);
                let t = self.b.ins().trunc(x);
                let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
                let t = self.select(nan, zero, t);
                self.integer(t)
            }
        })
    }

    /// Emits instruction `i` for every column and group, then stores what it outputs.
    fn instr(&mut self, i: usize) -> Option<()> {
        let instr = &self.program.instrs[i];
        if matches!(instr.op, Op::Const(_)) && instr.emit.is_empty() {
            // Read where it is used.
            return Some(());
        }
        let cols = instr.out.shape().cols;
        // (A gather's table is read at its indices, not loaded whole.)
        let args: Vec<(Regs, usize)> = (0..instr.args.len())
            .map(|k| match (instr.op, k) {
                (Op::Gather, 0) => (Vec::new(), 0),
                _ => (self.load(i, k), instr.args[k].shape().cols),
            })
            .collect();
        let arg = |k: usize, j: usize, g: usize| at(&args[k].0, args[k].1, j, g);
        let each = |e: &mut Self, f: &mut dyn FnMut(&mut Self, usize, usize) -> Option<Ssa>| {
            let mut regs = Vec::with_capacity(cols * GROUPS);
            for j in 0..cols {
                for g in 0..GROUPS {
                    regs.push(f(e, j, g)?);
                }
            }
            Some(regs)
        };
        let regs = match instr.op {
            Op::Const(_) => self.load(i, instr.args.len()),
            Op::Fill(v) => self.fill(v, cols),
            Op::Unary(u) => each(self, &mut |e, j, g| e.unary(u, arg(0, j, g)))?,
            Op::Binary(op) => each(self, &mut |e, j, g| Some(e.binary(op, arg(0, j, g), arg(1, j, g))))?,
            Op::Scalar(op, s) => {
                let s = self.splat(s);
                each(self, &mut |e, j, g| Some(e.binary(op, arg(0, j, g), s)))?
            }
            Op::Columns(from) => (0..cols)
                .flat_map(|j| (0..GROUPS).map(move |g| (j, g)))
                .map(|(j, g)| arg(0, from + j, g))
                .collect(),
            Op::Place(at) => {
                let mut regs = self.fill(0.0, cols);
                for j in 0..args[0].1 {
                    for g in 0..GROUPS {
                        regs[(at + j) * GROUPS + g] = arg(0, j, g);
                    }
                }
                regs
            }
            Op::SumColumns => {
                let (minus_zero, zero) = (self.splat(-0.0), self.splat(0.0));
                let mut regs = Vec::with_capacity(GROUPS);
                for g in 0..GROUPS {
                    let mut sum = minus_zero;
                    for j in 0..args[0].1 {
                        sum = self.b.ins().fadd(sum, arg(0, j, g));
                    }
                    regs.push(self.b.ins().fadd(zero, sum));
                }
                regs
            }
            Op::Compare(c) => each(self, &mut |e, j, g| Some(e.compare(c, arg(0, j, g), arg(1, j, g))))?,
            Op::CompareScalar(c, s) => {
                let s = self.splat(s);
                each(self, &mut |e, j, g| Some(e.compare(c, arg(0, j, g), s)))?
            }
            Op::Logic(and) => each(self, &mut |e, j, g| {
                let (x, y) = (e.truth(arg(0, j, g)), e.truth(arg(1, j, g)));
                let mask = if and { e.b.ins().band(x, y) } else { e.b.ins().bor(x, y) };
                Some(e.ones(mask))
            })?,
            Op::MaskWhere => each(self, &mut |e, j, g| {
                let mask = e.truth(arg(1, j, g));
                Some(e.select(mask, arg(2, j, g), arg(0, j, g)))
            })?,
            Op::MaskFill(v) => {
                let v = self.splat(v);
                each(self, &mut |e, j, g| {
                    let mask = e.truth(arg(1, j, g));
                    Some(e.select(mask, v, arg(0, j, g)))
                })?
            }
            Op::Fma => each(self, &mut |e, j, g| {
                Some(e.b.ins().fma(arg(0, j, g), arg(1, j, g), arg(2, j, g)))
            })?,
            Op::Int(op) => each(self, &mut |e, j, g| {
                let v = e.int(op, arg(0, j, g), arg(1, j, g));
                Some(e.integer(v))
            })?,
            Op::IntScalar(op, k) => {
                // A constant past what f32 holds exactly stays on the interpreter.
                if k.unsigned_abs() >= EXACT {
                    return None;
                }
                let k = self.splat(k as f32);
                each(self, &mut |e, j, g| {
                    let v = e.int(op, arg(0, j, g), k);
                    Some(e.integer(v))
                })?
            }
            Op::Gather => {
                // (An out-of-range lane reads entry 0: an empty table is not compiled.)
                let Operand::Const(c, table) = instr.args[0] else {
                    return None;
                };
                if table.cols == 0 {
                    return None;
                }
                let k = match self.kernel.lookups.iter().position(|l| l.0 == c) {
                    Some(k) => k,
                    None => {
                        self.kernel.lookups.push((c, table.cols));
                        self.kernel.lookups.len() - 1
                    }
                };
                let flags = MemFlagsData::trusted();
                let base = self.b.ins().load(self.ptr, flags, self.lookups, (k * 8) as i32);
                each(self, &mut |e, j, g| Some(e.gather(base, table.cols, arg(1, j, g))))?
            }
        };
        for m in 0..instr.emit.len() {
            self.store(i, m, &regs);
        }
        self.values.insert(i, regs);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fused::exec::Instr;
    use crate::experiment::fused::program::{Int, Shape};

    const N: usize = 70;

    fn all(cols: usize) -> Shape {
        Shape { rows: Rows::All, cols }
    }

    fn one() -> Shape {
        Shape {
            rows: Rows::One,
            cols: 1,
        }
    }

    /// Every output of `program`, as (output, first row, values), on the compiled kernel and on
    /// the interpreter: the same bits.
    fn same_on_both(program: &Program) {
        let collect = |compiled: bool| {
            let mut out: Vec<(usize, usize, Vec<u32>)> = Vec::new();
            let mut sink =
                |e: usize, first: usize, v: &[f32]| out.push((e, first, v.iter().map(|x| x.to_bits()).collect()));
            match compiled {
                true => assert!(program.run_compiled(&kernel(program).expect("compiled"), &mut sink)),
                false => assert!(program.interpret(&mut sink)),
            }
            out.sort_by_key(|o| (o.1, o.0));
            out
        };
        let (compiled, interpreted) = (collect(true), collect(false));
        assert_eq!(compiled.len(), interpreted.len());
        for (c, i) in compiled.iter().zip(&interpreted) {
            assert_eq!(
                c,
                i,
                "output {} from row {}: {:?}",
                c.0,
                c.1,
                program.instrs.iter().find(|x| x.emit.contains(&c.0))
            );
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

    /// Every instruction the kernel compiles, over awkward values (and a uniform constant, a
    /// mask with NaN in it, two columns): the interpreter's bits.
    #[test]
    fn every_instruction_compiles_to_the_interpreters_bits() {
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
        let program = Program {
            rows: N,
            instrs,
            consts,
            slots,
        };
        same_on_both(&program);
    }

    /// A run of steps, `x = x * u_k + y` with a new uniform `u_k` each step and buffers taken in
    /// turn as the program's allocator takes them: compiled as a loop of one step, the
    /// interpreter's bits; an integer instruction is not compiled.
    #[test]
    fn steps_compile_to_a_loop() {
        let steps = 40;
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
        let program = Program {
            rows: N,
            instrs,
            consts,
            slots,
        };
        let (repeat, _) = repeat(&program, &sources(&program)).expect("a loop");
        assert_eq!((repeat.period, repeat.times), (3, steps - 1));
        same_on_both(&program);
    }

    /// The noise lookup's instructions: a value cast to an integer, integer arithmetic and a
    /// table read at the result, compiled to the interpreter's bits where all stays in range;
    /// where an integer passes 2^24 or an index leaves its table, both say so (false: the rows
    /// step eagerly). A constant past 2^24 is not compiled.
    #[test]
    fn integers_and_lookups_compile_and_stop_where_the_interpreter_does() {
        let table: Vec<f32> = (0..50).map(|i| (i as f32 * 0.37).sin()).collect();
        let row = Shape {
            rows: Rows::One,
            cols: 50,
        };
        let lookup = |scale: f32, offset: i64| {
            let points = awkward(4)
                .into_iter()
                .map(|v| if v.is_finite() { v.clamp(-10.0, 30.0) } else { 1.0 });
            let consts = vec![(all(1), points.collect()), (row, table.clone()), (one(), vec![scale])];
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
        };
        // In range: indices 0..=40, products and differences small.
        same_on_both(&lookup(1.0, 10));
        // An index past the table (30 + 30 = 60 > 49), then an integer past 2^24 (x * 2^23).
        for program in [lookup(1.0, 30), lookup(8_388_608.0, 0)] {
            let compiled = kernel(&program).expect("compiled");
            assert!(!program.run_compiled(&compiled, &mut |_, _, _| {}));
            assert!(!program.interpret(|_, _, _| {}));
        }
        assert!(kernel(&lookup(1.0, 1 << 25)).is_none());
    }
}
