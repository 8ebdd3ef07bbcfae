//! A program as a WGSL compute shader: what `jit.rs` does for the CPU, written for a GPU.
//!
//! One invocation computes one row's whole run, every value in registers, its steps as a loop
//! (`steps.rs`), each step's uniform constants (bias corrections) read from a table. `gpu.rs`
//! runs it through wgpu. WGSL lets a GPU round `exp`, `log`, `sin`, `cos`, `tanh` and `pow` its
//! own way (a few ulp; division 2.5 ulp), flush subnormals, and compare as if there were no NaN:
//! so NaN tests are spelt out on the bits, Rust's `powf` edge cases (a negative base, a zero
//! base, NaN) are handled before WGSL's `pow`, and integers (the noise lookup's indices) are
//! checked as the interpreter checks them (one that may have left the range f32 holds exactly,
//! or an index its table, sets a flag: the rows step eagerly).

use super::exec::{Instr, Operand};
use super::program::{Binary, Cmp, Int, Op, Program, Rows, Unary};
use super::steps::{Layout, Read, Src};
use rustc_hash::FxHashSet;
use std::fmt::Write;

/// Threads of a workgroup (one row each).
pub(super) const WORKGROUP: u32 = 64;
/// Workgroups a dispatch has along one dimension at most (WebGPU's default limit).
pub(super) const GROUPS_PER_DIMENSION: u32 = 65_535;

/// A program as a shader: its WGSL and what it reads and writes, in the order its buffers hold
/// them.
pub(super) struct Shader {
    pub(super) source: String,
    /// Per-row input columns: (constant, column); `inputs[k * rows + row]`.
    pub(super) inputs: Vec<(usize, usize)>,
    /// Constants read as one value for every row, each its columns' floats in turn.
    pub(super) uniform: Vec<usize>,
    /// Tables read at an index: (constant, offset into `lut`).
    pub(super) lookups: Vec<(usize, usize)>,
    /// Outputs in the order they are written, (output, columns); `outputs[k * rows + row]`.
    pub(super) outputs: Vec<(usize, usize)>,
}

/// Table entries a step reads and writes: uniform constants (floats) and output columns.
const UNIFORM: usize = 0;
const OUTPUTS: usize = 1;

/// Inside the repeated step: where its table entries start, and which (instruction, operand)
/// for uniform constants and (instruction, output) for outputs they are, in the first repeat.
struct Step {
    first: [usize; 2],
    entries: [Vec<(usize, usize)>; 2],
}

/// Writes the shader, instruction by instruction (as `jit.rs` builds its function).
struct Writer<'a> {
    program: &'a Program,
    layout: &'a Layout,
    shader: Shader,
    /// Reads of the input columns, at the top of the shader's body.
    loads: String,
    /// The rest of its body.
    code: String,
    /// Entries in the uniform and output tables so far.
    lens: [usize; 2],
    /// Inside the step: its table entries.
    step: Option<Step>,
    /// Input columns read so far.
    loaded: FxHashSet<(usize, usize)>,
    /// Lookup tables' floats so far.
    lut: usize,
    /// Temporaries so far (`t{k}`).
    temps: usize,
}

/// Whether an instruction is a constant no one takes as an output: it has no value of its own
/// (`v{i}_{j}`), and is read where it is used.
fn read_where_used(instr: &Instr) -> bool {
    matches!(instr.op, Op::Const(_)) && instr.emit.is_empty()
}

/// Whether a boolean operand holds: not 0 (NaN included, as the CPU's `x != 0.0`; a GPU may
/// compare as if there were no NaN).
fn truth(x: &str) -> String {
    format!("({x} != 0.0 || is_nan({x}))")
}

/// An f32 as WGSL, bit for bit.
fn lit(v: f32) -> String {
    format!("bitcast<f32>({:#010x}u)", v.to_bits())
}

/// The shader's fixed part: its buffers and helpers, and the strides `U_STRIDE` and `O_STRIDE`
/// (filled in) by which a step's table entries move.
const HEAD: &str = "
struct Params { rows: u32, a: u32, b: u32, c: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> inputs: array<f32>;
@group(0) @binding(2) var<storage, read> uni: array<f32>;
@group(0) @binding(3) var<storage, read> lut: array<f32>;
@group(0) @binding(4) var<storage, read_write> outputs: array<f32>;
@group(0) @binding(5) var<storage, read_write> flag: array<atomic<u32>>;

fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// `x.powf(y)`, where WGSL's `pow` (defined for x > 0) is not: 1 to any power and any base to 0
// are 1, NaN otherwise stays, 0 to a negative power is infinite, a negative base needs an
// integer power and keeps its sign to an odd one.
fn powf(x: f32, y: f32) -> f32 {
    if (y == 0.0 || x == 1.0) { return 1.0; }
    if (is_nan(x) || is_nan(y)) { return bitcast<f32>(0x7fc00000u); }
    let odd = abs(y) < 16777216.0 && fract(y * 0.5) != 0.0;
    if (x == 0.0) {
        let r = select(0.0, bitcast<f32>(0x7f800000u), y < 0.0);
        return select(r, -r, odd && bitcast<u32>(x) == 0x80000000u);
    }
    let r = pow(abs(x), y);
    if (x < 0.0) {
        if (y != trunc(y)) { return bitcast<f32>(0x7fc00000u); }
        return select(r, -r, odd);
    }
    return r;
}
";

impl Writer<'_> {
    /// `expr` bound to a new name (for what is read more than once), the name.
    fn temp(&mut self, expr: &str) -> String {
        let name = format!("t{}", self.temps);
        self.temps += 1;
        let _ = writeln!(self.code, "let {name} = {expr};");
        name
    }

    /// The value of instruction `p`'s column `j`, read by instruction `i`'s operand `k`.
    fn value(&self, p: usize, i: usize, k: usize, j: usize) -> String {
        let r = self.layout.repeat;
        if self.step.is_some()
            && let Read::Carried(o) = self.layout.reads[i - r.start][k]
        {
            return format!("c{o}_{j}");
        }
        if self.step.is_none() && i >= self.layout.end() && (r.start..self.layout.end()).contains(&p) {
            // After the loop: the last repeat's value.
            return format!("c{}_{j}", (p - r.start) % r.period);
        }
        format!("v{p}_{j}")
    }

    /// The next entry of table `t`: its index expression (inside the step, this repeat's).
    fn entry(&mut self, t: usize, i: usize, at: usize) -> String {
        let len = self.lens[t];
        match &mut self.step {
            Some(step) => {
                step.entries[t].push((i, at));
                format!("{} + {}u", ["ub", "ob"][t], len - step.first[t])
            }
            None => format!("{len}u"),
        }
    }

    /// Operand `k` of instruction `i` (`k` past its operands: its output, a constant), column by
    /// column.
    fn operand(&mut self, i: usize, k: usize) -> Vec<String> {
        let instr = &self.program.instrs[i];
        let operand = instr.args.get(k).copied().unwrap_or(instr.out);
        let cols = operand.shape().cols;
        match (operand, self.layout.sources[i].get(k).copied()) {
            (_, Some(Src::Instr(p))) => (0..cols).map(|j| self.value(p, i, k, j)).collect(),
            (Operand::Const(c, _), _) if self.program.consts[c].0.rows == Rows::All => (0..cols)
                .map(|j| {
                    if self.loaded.insert((c, j)) {
                        let at = self.shader.inputs.len();
                        self.shader.inputs.push((c, j));
                        let _ = writeln!(self.loads, "let i{c}_{j} = inputs[{at}u * n + row];");
                    }
                    format!("i{c}_{j}")
                })
                .collect(),
            (Operand::Const(c, _), _) => {
                // One value for every row: a table entry (each repeat's own inside the step).
                let at = self.entry(UNIFORM, i, k);
                self.shader.uniform.push(c);
                self.lens[UNIFORM] += cols;
                (0..cols).map(|j| format!("uni[{at} + {j}u]")).collect()
            }
            (Operand::Slot(..), _) => unreachable!("a buffer is read from the instruction that wrote it"),
        }
    }

    /// `expr` as an integer result: marked out of range where it may not be exact (as the
    /// interpreter's), with 0 for -0.
    fn integer(&mut self, expr: &str) -> String {
        let t = self.temp(expr);
        let _ = writeln!(
            self.code,
            "if (!(abs({t}) < 16777216.0) || is_nan({t})) {{ bad = true; }}"
        );
        format!("select({t}, 0.0, {t} == 0.0)")
    }

    /// `u` of the value named `x`, as an expression.
    fn unary(&mut self, u: Unary, x: &str) -> String {
        match u {
            Unary::Copy => x.to_string(),
            Unary::Neg => format!("(-{x})"),
            Unary::Abs => format!("abs({x})"),
            Unary::Sqrt => format!("sqrt({x})"),
            Unary::Exp => format!("exp({x})"),
            Unary::Log => format!("log({x})"),
            Unary::Sin => format!("sin({x})"),
            Unary::Cos => format!("cos({x})"),
            Unary::Tanh => format!("tanh({x})"),
            Unary::Floor => format!("floor({x})"),
            Unary::Recip => format!("(1.0 / {x})"),
            Unary::Powf(p) => format!("powf({x}, {})", lit(p as f32)),
            Unary::Sign => format!("select(select(-1.0, 1.0, {x} > 0.0), 0.0, {x} == 0.0 || is_nan({x}))"),
            Unary::IsNan => format!("select(0.0, 1.0, is_nan({x}))"),
            Unary::Not => format!("select(1.0, 0.0, {})", truth(x)),
            Unary::Clamp(lo, hi) if lo.is_nan() || hi.is_nan() => lit(f32::NAN),
            Unary::Clamp(lo, hi) => {
                let (lo, hi) = (lit(lo), lit(hi));
                let low = self.temp(&format!("select({x}, {lo}, {x} < {lo} && !is_nan({x}))"));
                format!("select({low}, {hi}, {low} > {hi} && !is_nan({low}))")
            }
            Unary::IntoInt => self.integer(&format!("select(trunc({x}), 0.0, is_nan({x}))")),
        }
    }

    /// Writes instruction `i` for every column, then stores what it outputs.
    fn instr(&mut self, i: usize) -> Option<()> {
        let instr = &self.program.instrs[i];
        if read_where_used(instr) {
            return Some(());
        }
        let cols = instr.out.shape().cols;
        let args: Vec<Vec<String>> = (0..instr.args.len())
            .map(|k| match (instr.op, k) {
                (Op::Gather, 0) => Vec::new(),
                _ => self.operand(i, k),
            })
            .collect();
        let arg = |k: usize, j: usize| args[k][if args[k].len() > 1 { j } else { 0 }].clone();
        let binary = |op: Binary, x: String, y: String| match op {
            Binary::Add => format!("({x} + {y})"),
            Binary::Sub => format!("({x} - {y})"),
            Binary::Mul => format!("({x} * {y})"),
            Binary::Div => format!("({x} / {y})"),
            Binary::Pow => format!("powf({x}, {y})"),
        };
        // (A GPU may compare as if there were no NaN: IEEE's answer is spelt out.)
        let compare = |c: Cmp, x: String, y: String| {
            let nan = format!("is_nan({x}) || is_nan({y})");
            let holds = match c {
                Cmp::Eq => format!("{x} == {y} && !({nan})"),
                Cmp::Ne => format!("{x} != {y} || {nan}"),
                Cmp::Gt => format!("{x} > {y} && !({nan})"),
                Cmp::Ge => format!("{x} >= {y} && !({nan})"),
                Cmp::Lt => format!("{x} < {y} && !({nan})"),
                Cmp::Le => format!("{x} <= {y} && !({nan})"),
            };
            format!("select(0.0, 1.0, {holds})")
        };
        let int = |op: Int, x: String, y: String| match op {
            Int::Add => format!("({x} + {y})"),
            Int::Sub => format!("({x} - {y})"),
            Int::Mul => format!("({x} * {y})"),
        };
        let values: Vec<String> = match instr.op {
            Op::Const(_) => self.operand(i, instr.args.len()),
            Op::Fill(v) => vec![lit(v); cols],
            Op::Unary(u) => (0..cols).map(|j| self.unary(u, &arg(0, j))).collect(),
            Op::Binary(op) => (0..cols).map(|j| binary(op, arg(0, j), arg(1, j))).collect(),
            Op::Scalar(op, s) => (0..cols).map(|j| binary(op, arg(0, j), lit(s))).collect(),
            Op::Columns(from) => (0..cols).map(|j| arg(0, from + j)).collect(),
            Op::Place(at) => (0..cols)
                .map(|j| match j.checked_sub(at).filter(|&j| j < args[0].len()) {
                    Some(j) => arg(0, j),
                    None => "0.0".to_string(),
                })
                .collect(),
            Op::SumColumns => {
                let sum = args[0]
                    .iter()
                    .fold("-0.0".to_string(), |sum, a| format!("({sum} + {a})"));
                vec![format!("(0.0 + {sum})")]
            }
            Op::Compare(c) => (0..cols).map(|j| compare(c, arg(0, j), arg(1, j))).collect(),
            Op::CompareScalar(c, s) => (0..cols).map(|j| compare(c, arg(0, j), lit(s))).collect(),
            Op::Logic(and) => (0..cols)
                .map(|j| {
                    let op = if and { "&&" } else { "||" };
                    format!("select(0.0, 1.0, {} {op} {})", truth(&arg(0, j)), truth(&arg(1, j)))
                })
                .collect(),
            Op::MaskWhere => (0..cols)
                .map(|j| format!("select({}, {}, {})", arg(0, j), arg(2, j), truth(&arg(1, j))))
                .collect(),
            Op::MaskFill(v) => (0..cols)
                .map(|j| format!("select({}, {}, {})", arg(0, j), lit(v), truth(&arg(1, j))))
                .collect(),
            Op::Fma => (0..cols)
                .map(|j| format!("fma({}, {}, {})", arg(0, j), arg(1, j), arg(2, j)))
                .collect(),
            Op::Int(op) => (0..cols)
                .map(|j| self.integer(&int(op, arg(0, j), arg(1, j))))
                .collect(),
            Op::IntScalar(op, k) => {
                // A constant past what f32 holds exactly stays on the CPU.
                if k.unsigned_abs() >= 1 << 24 {
                    return None;
                }
                (0..cols)
                    .map(|j| self.integer(&int(op, arg(0, j), lit(k as f32))))
                    .collect()
            }
            Op::Gather => {
                let Operand::Const(c, table) = instr.args[0] else {
                    return None;
                };
                if table.cols == 0 {
                    return None;
                }
                let offset = match self.shader.lookups.iter().find(|l| l.0 == c) {
                    Some(&(_, offset)) => offset,
                    None => {
                        self.shader.lookups.push((c, self.lut));
                        self.lut += table.cols;
                        self.lut - table.cols
                    }
                };
                (0..cols)
                    .map(|j| {
                        let index = self.temp(&arg(1, j));
                        let inside = self.temp(&format!(
                            "{index} >= 0.0 && {index} < {}.0 && !is_nan({index})",
                            table.cols
                        ));
                        let _ = writeln!(self.code, "if (!{inside}) {{ bad = true; }}");
                        format!("lut[{offset}u + u32(select(0.0, {index}, {inside}))]")
                    })
                    .collect()
            }
        };
        for (j, v) in values.iter().enumerate() {
            let _ = writeln!(self.code, "let v{i}_{j} = {v};");
        }
        for m in 0..instr.emit.len() {
            self.shader.outputs.push((instr.emit[m], cols));
            let at = self.entry(OUTPUTS, i, m);
            for j in 0..cols {
                let _ = writeln!(self.code, "outputs[({at} + {j}u) * n + row] = v{i}_{j};");
            }
            self.lens[OUTPUTS] += cols;
        }
        Some(())
    }

    /// The repeated instructions as a loop; the tables get each repeat's entries.
    fn repeat(&mut self) -> Option<()> {
        let (program, r) = (self.program, self.layout.repeat);
        // Every offset's variables, set before the loop to what the first repeat carries in.
        let carried = self.layout.carried();
        for o in 0..r.period {
            for j in 0..program.instrs[r.start + o].out.shape().cols {
                let before = match carried.contains(&o) {
                    true => format!("v{}_{j}", r.start + o - r.period),
                    false => "0.0".to_string(),
                };
                let _ = writeln!(self.code, "var c{o}_{j}: f32 = {before};");
            }
        }
        let first = self.lens;
        let _ = writeln!(
            self.code,
            "for (var t = 0u; t < {}u; t++) {{\nlet ub = {}u + t * U_STRIDE;\nlet ob = {}u + t * O_STRIDE;",
            r.times, first[UNIFORM], first[OUTPUTS]
        );
        self.step = Some(Step {
            first,
            entries: [Vec::new(), Vec::new()],
        });
        for i in r.start..r.start + r.period {
            self.instr(i)?;
        }
        for i in (r.start..r.start + r.period).filter(|&i| !read_where_used(&program.instrs[i])) {
            for j in 0..program.instrs[i].out.shape().cols {
                let _ = writeln!(self.code, "c{}_{j} = v{i}_{j};", i - r.start);
            }
        }
        self.code.push_str("}\n");
        let Step { entries, .. } = self.step.take().expect("in the step");
        let stride = [UNIFORM, OUTPUTS].map(|t| self.lens[t] - first[t]);
        let _ = write!(
            self.shader.source,
            "const U_STRIDE: u32 = {}u;\nconst O_STRIDE: u32 = {}u;\n",
            stride[UNIFORM], stride[OUTPUTS]
        );
        // Every repeat's entries (the first repeat's were laid out).
        let (uniform, outputs) = self.layout.each_repeat(program, &entries[UNIFORM], &entries[OUTPUTS]);
        self.shader
            .uniform
            .truncate(self.shader.uniform.len() - entries[UNIFORM].len());
        self.shader.uniform.extend(uniform);
        self.shader
            .outputs
            .truncate(self.shader.outputs.len() - entries[OUTPUTS].len());
        self.shader.outputs.extend(outputs);
        for t in [UNIFORM, OUTPUTS] {
            self.lens[t] = first[t] + r.times * stride[t];
        }
        Some(())
    }
}

impl Shader {
    /// `program` as a shader; `None` where it cannot be (an instruction it does not know, or a
    /// long run with no loop found).
    pub(super) fn of(program: &Program) -> Option<Shader> {
        let layout = Layout::of(program)?;
        let mut w = Writer {
            program,
            layout: &layout,
            shader: Shader {
                source: HEAD.to_string(),
                inputs: Vec::new(),
                uniform: Vec::new(),
                lookups: Vec::new(),
                outputs: Vec::new(),
            },
            loads: String::new(),
            code: String::new(),
            lens: [0, 0],
            step: None,
            loaded: FxHashSet::default(),
            lut: 0,
            temps: 0,
        };
        let r = layout.repeat;
        for i in 0..r.start {
            w.instr(i)?;
        }
        if r.times > 0 {
            w.repeat()?;
        } else {
            w.shader
                .source
                .push_str("const U_STRIDE: u32 = 0u;\nconst O_STRIDE: u32 = 0u;\n");
        }
        for i in layout.end()..program.instrs.len() {
            w.instr(i)?;
        }
        let Writer {
            mut shader,
            loads,
            code,
            ..
        } = w;
        let _ = write!(
            shader.source,
            "
@compute @workgroup_size({WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {{
let row = id.x + id.y * {};
let n = params.rows;
if (row >= n) {{ return; }}
var bad = false;
{loads}{code}if (bad) {{ atomicMax(&flag[0], 1u); }}
}}
",
            WORKGROUP * GROUPS_PER_DIMENSION
        );
        Some(shader)
    }
}

/// Parses and validates `shader` as wgpu does before it runs one (naga, every check), or panics
/// with the first error and the shader's lines around it.
#[cfg(test)]
pub(super) fn validate(shader: &Shader) {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    let module = naga::front::wgsl::parse_str(&shader.source)
        .unwrap_or_else(|e| panic!("{}\n{}", e.emit_to_string(&shader.source), shader.source));
    if let Err(e) = Validator::new(ValidationFlags::all(), Capabilities::empty()).validate(&module) {
        panic!("{}\n{}", e.emit_to_string(&shader.source), shader.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fused::fixtures;

    /// The fixtures' shaders are valid WGSL: every instruction, a loop of steps (found as one,
    /// with each step's table entries laid out), the noise lookup; a constant past 2^24 has
    /// none.
    #[test]
    fn the_fixtures_shaders_are_valid_wgsl() {
        validate(&Shader::of(&fixtures::every_instruction()).expect("a shader"));
        let steps = Shader::of(&fixtures::steps(40)).expect("a shader");
        validate(&steps);
        assert!(steps.source.contains("for (var t = 0u; t < 39u; t++)"));
        // One uniform per step (39 in the loop, one before it), one output a step and the sum.
        assert_eq!((steps.uniform.len(), steps.outputs.len()), (40, 41));
        validate(&Shader::of(&fixtures::lookup(1.0, 10)).expect("a shader"));
        assert!(Shader::of(&fixtures::lookup(1.0, 1 << 25)).is_none());
    }
}
