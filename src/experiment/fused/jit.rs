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
//! again as a loop (`steps.rs`): the stretch of instructions that repeats with a step's period,
//! alike but for the constants that are one for every row (a step's bias corrections, read from
//! a table that holds each step's) and the outputs each step makes. The loop body is one step;
//! what a step hands the next is carried in variables. That compiles in ~2 ms.

use super::exec::Operand;
use super::program::{Binary, Cmp, Int, Op, Program, Rows, Unary};
use super::steps::{Layout, Read, Src};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{AbiParam, Endianness, InstBuilder, MemFlagsData, SigRef, Signature, Value as Ssa, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use rustc_hash::FxHashMap;

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

/// Compiles `program` (`None` where it cannot be: an instruction it does not know, or a long
/// run with no loop found), leaving it to the interpreter.
pub(crate) fn kernel(program: &Program) -> Option<Kernel> {
    compile(program, &Layout::of(program)?)
}

/// Compiles `program` as `layout` lays it out; `None` (an instruction it does not compile, or
/// Cranelift failing) leaves the program to the interpreter.
fn compile(program: &Program, layout: &Layout) -> Option<Kernel> {
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
    let (n, r) = (program.instrs.len(), layout.repeat);
    let mut e = Emitter {
        b,
        program,
        ptr,
        offset,
        tables: [uniform, outputs],
        inputs,
        lookups,
        outside,
        sigs,
        layout,
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
    for i in layout.end()..n {
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
    /// Where operands come from, and the steps as a loop.
    layout: &'a Layout,
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
        let (program, r) = (self.program, self.layout.repeat);
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
        let carried = self.layout.carried();
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
        // Every repeat's entries (the first repeat's were laid out).
        let (uniform, outputs) = self.layout.each_repeat(program, &entries[UNIFORM], &entries[OUTPUTS]);
        self.kernel
            .uniform
            .truncate(self.kernel.uniform.len() - entries[UNIFORM].len());
        self.kernel.uniform.extend(uniform);
        self.kernel
            .outputs
            .truncate(self.kernel.outputs.len() - entries[OUTPUTS].len());
        self.kernel.outputs.extend(outputs);
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
        let r = self.layout.repeat;
        let end = self.layout.end();
        if let Some(step) = &self.step
            && let Read::Carried(o) = self.layout.reads[i - r.start][k]
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
        let source = self.layout.sources[i].get(k).copied();
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
    use crate::experiment::fused::fixtures;

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

    /// Every instruction the kernel compiles, over awkward values (and a uniform constant, a
    /// mask with NaN in it, two columns): the interpreter's bits.
    #[test]
    fn every_instruction_compiles_to_the_interpreters_bits() {
        same_on_both(&fixtures::every_instruction());
    }

    /// A run of steps, `x = x * u_k + y` with a new uniform `u_k` each step: compiled as a loop
    /// of one step, the interpreter's bits.
    #[test]
    fn steps_compile_to_a_loop() {
        let steps = 40;
        let program = fixtures::steps(steps);
        let repeat = Layout::of(&program).expect("laid out").repeat;
        assert_eq!((repeat.period, repeat.times), (3, steps - 1));
        same_on_both(&program);
    }

    /// The noise lookup's instructions: a value cast to an integer, integer arithmetic and a
    /// table read at the result, compiled to the interpreter's bits where all stays in range;
    /// where an integer passes 2^24 or an index leaves its table, both say so (false: the rows
    /// step eagerly). A constant past 2^24 is not compiled.
    #[test]
    fn integers_and_lookups_compile_and_stop_where_the_interpreter_does() {
        // In range: indices 0..=40, products and differences small.
        same_on_both(&fixtures::lookup(1.0, 10));
        // An index past the table (30 + 30 = 60 > 49), then an integer past 2^24 (x * 2^23).
        for program in [fixtures::lookup(1.0, 30), fixtures::lookup(8_388_608.0, 0)] {
            let compiled = kernel(&program).expect("compiled");
            assert!(!program.run_compiled(&compiled, &mut |_, _, _| {}));
            assert!(!program.interpret(|_, _, _| {}));
        }
        assert!(kernel(&fixtures::lookup(1.0, 1 << 25)).is_none());
    }
}
