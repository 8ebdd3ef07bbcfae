//! The fused path on a GPU: a program's shader (`wgsl.rs`) run through wgpu.
//!
//! Rows go to the GPU in chunks (as many as its largest buffer holds of the chunk's outputs);
//! one dispatch computes a chunk's whole run, and its outputs come back and are handed over as
//! the CPU's blocks are. So a study costs a few dispatches where eager stepping on the GPU costs
//! some hundred kernels a step. In the GPU's arithmetic, not bit for bit flex's (see `wgsl.rs`),
//! as eager stepping on the GPU is not.

use super::exec::hand_over;
use super::program::Program;
use super::wgsl::{GROUPS_PER_DIMENSION, Shader, WORKGROUP};
use std::sync::OnceLock;

/// The most bytes one buffer of a chunk takes (within every adapter's default limits).
const CHUNK_BYTES: u64 = 128 << 20;

#[cfg(test)]
thread_local! {
    /// Programs this thread ran on the GPU, for the tests that need to know (tiles stepped on
    /// one thread run on the caller's).
    pub(crate) static RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The GPU the fused path runs on: wgpu's high-performance adapter (`WGPU_ADAPTER_NAME` picks
/// another), opened once.
struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// The most bytes a buffer of a chunk may take here.
    chunk_bytes: u64,
    /// The adapter's name.
    name: String,
}

/// The GPU, or `None` where wgpu finds none.
fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| {
        use futures_lite::future::block_on;
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = block_on(wgpu::util::initialize_adapter_from_env_or_default(&instance, None)).ok()?;
        let limits = adapter.limits();
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("optsurf fused"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .ok()?;
        let chunk_bytes = CHUNK_BYTES
            .min(limits.max_buffer_size)
            .min(limits.max_storage_buffer_binding_size);
        Some(Gpu {
            device,
            queue,
            chunk_bytes,
            name: adapter.get_info().name,
        })
    })
    .as_ref()
}

/// The name of the GPU the fused path runs on, where there is one.
pub(crate) fn adapter() -> Option<String> {
    gpu().map(|g| g.name.clone())
}

impl Program {
    /// [`Program::run`] on the GPU: `None` where the program has no shader or there is no GPU
    /// (the caller then runs it on the CPU), else as [`Program::run`]'s.
    pub(super) fn run_gpu(&self, sink: &mut impl FnMut(usize, usize, &[f32])) -> Option<bool> {
        let shader = Shader::of(self)?;
        let gpu = gpu()?;
        let (pipeline, layout) = gpu.pipeline(&shader.source)?;
        let table = |consts: Vec<usize>| {
            let values: Vec<f32> = consts.iter().flat_map(|&c| self.consts[c].1.iter().copied()).collect();
            gpu.buffer(&values, wgpu::BufferUsages::STORAGE)
        };
        let uniform = table(shader.uniform.clone());
        let lut = table(shader.lookups.iter().map(|l| l.0).collect());
        let columns: usize = shader.outputs.iter().map(|o| o.1).sum();
        let width = columns.max(shader.inputs.len()).max(1) as u64 * 4;
        let chunk = (gpu.chunk_bytes / width).min(self.rows as u64).max(1) as usize;
        let mut values = Vec::new();
        let mut first = 0;
        while first < self.rows {
            let n = chunk.min(self.rows - first);
            // The chunk's input columns, one after another.
            let inputs: Vec<f32> = shader
                .inputs
                .iter()
                .flat_map(|&(c, j)| {
                    let (shape, data) = &self.consts[c];
                    data[first * shape.cols..(first + n) * shape.cols]
                        .iter()
                        .skip(j)
                        .step_by(shape.cols)
                        .copied()
                })
                .collect();
            let inputs = gpu.buffer(&inputs, wgpu::BufferUsages::STORAGE);
            let (outputs, outside) = gpu.dispatch(&pipeline, &layout, n, [&inputs, &uniform, &lut], columns)?;
            if outside {
                return Some(false);
            }
            hand_over(
                &shader.outputs,
                |c| &outputs[c * n..(c + 1) * n],
                first,
                &mut values,
                sink,
            );
            first += n;
        }
        #[cfg(test)]
        RUNS.with(|r| r.set(r.get() + 1));
        Some(true)
    }
}

impl Gpu {
    /// The compute pipeline of a shader's `source`, and the layout of its buffers (the order
    /// `wgsl.rs` binds them: parameters, inputs, uniform table, lookup tables, outputs, flag);
    /// `None` where the GPU's compiler refuses it.
    fn pipeline(&self, source: &str) -> Option<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
        let device = &self.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("optsurf fused"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = (0..6)
            .map(|binding| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match binding {
                        0 => wgpu::BufferBindingType::Uniform,
                        _ => wgpu::BufferBindingType::Storage { read_only: binding < 4 },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: None,
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("optsurf fused"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        futures_lite::future::block_on(scope.pop())
            .is_none()
            .then_some((pipeline, layout))
    }

    /// Runs the pipeline over `n` rows reading `reads` (inputs, uniform table, lookup tables):
    /// the `columns` output columns of `n` rows each, one after another, and whether an integer
    /// or an index went out of range (`None` if the GPU failed).
    fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        layout: &wgpu::BindGroupLayout,
        n: usize,
        reads: [&wgpu::Buffer; 3],
        columns: usize,
    ) -> Option<(Vec<f32>, bool)> {
        let device = &self.device;
        let params = self.buffer(&[n as u32, 0, 0, 0].map(f32::from_bits), wgpu::BufferUsages::UNIFORM);
        let written = |floats: usize| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: floats.max(1) as u64 * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        let (outputs, flag) = (written(columns * n), written(1));
        let buffers = [&params, reads[0], reads[1], reads[2], &outputs, &flag];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(k, b)| wgpu::BindGroupEntry {
                binding: k as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        });
        let workgroups = (n as u32).div_ceil(WORKGROUP);
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(
                workgroups.min(GROUPS_PER_DIMENSION),
                workgroups.div_ceil(GROUPS_PER_DIMENSION),
                1,
            );
        }
        let [outputs, flag] = [&outputs, &flag].map(|b| self.read_back(&mut encoder, b));
        self.queue.submit([encoder.finish()]);
        let [outputs, flag] = [outputs, flag].map(|b| self.map(&b));
        Some((outputs?, flag?[0].to_bits() != 0))
    }

    /// A buffer holding `values` (one float at least: WebGPU has no empty bindings).
    fn buffer(&self, values: &[f32], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        if bytes.is_empty() {
            bytes = vec![0; 4];
        }
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: &bytes,
            usage,
        })
    }

    /// A buffer the host can read, into which `encoder` copies `from`.
    fn read_back(&self, encoder: &mut wgpu::CommandEncoder, from: &wgpu::Buffer) -> wgpu::Buffer {
        let to = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: from.size(),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(from, 0, &to, 0, from.size());
        to
    }

    /// `buffer`'s floats, once the GPU is done (`None` if it failed).
    fn map(&self, buffer: &wgpu::Buffer) -> Option<Vec<f32>> {
        let (send, receive) = std::sync::mpsc::channel();
        buffer
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |r| drop(send.send(r)));
        self.device.poll(wgpu::PollType::wait_indefinitely()).ok()?;
        receive.recv().ok()?.ok()?;
        let bytes = buffer.slice(..).get_mapped_range().ok()?;
        let values = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        drop(bytes);
        buffer.unmap();
        Some(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::fused::exec::Operand;
    use crate::experiment::fused::fixtures;
    use crate::experiment::fused::program::{Binary, Op, Rows, Unary};

    /// Each output of `program`, as (output, first row, values), run on the GPU (`None`: it
    /// said false) or interpreted.
    fn outputs(program: &Program, on_gpu: bool) -> Option<Vec<(usize, usize, Vec<f32>)>> {
        let mut out = Vec::new();
        let mut sink = |e: usize, first: usize, v: &[f32]| out.push((e, first, v.to_vec()));
        let complete = match on_gpu {
            true => {
                assert!(
                    gpu().is_some(),
                    "wgpu finds no GPU here; on a machine without one, install a Vulkan driver (scripts/test-gpu.sh installs Mesa's software one)"
                );
                program.run_gpu(&mut sink).expect("the program has a shader")
            }
            false => program.interpret(&mut sink),
        };
        out.sort_by_key(|o| (o.1, o.0));
        complete.then_some(out)
    }

    /// Whether `gpu` is `cpu` as WGSL rounds `op`: the same bits where IEEE arithmetic is
    /// exact (±0 alike), within 3 ulp for division and square roots, and within 2^-11 of
    /// the value's size for the functions WGSL leaves to the GPU's precision (`exp`, `ln`,
    /// `sin`, `cos`, `tanh`, powers); NaN where NaN, an infinity where the same infinity.
    fn within_wgsl(op: Op, gpu: f32, cpu: f32) -> bool {
        if gpu.is_nan() || cpu.is_nan() || gpu.is_infinite() || cpu.is_infinite() {
            return gpu.is_nan() == cpu.is_nan() && (gpu.is_nan() || gpu == cpu);
        }
        let ulps = (gpu.to_bits() as i64 - cpu.to_bits() as i64).unsigned_abs();
        match op {
            Op::Unary(Unary::Exp | Unary::Log | Unary::Sin | Unary::Cos | Unary::Tanh | Unary::Powf(_))
            | Op::Binary(Binary::Pow)
            | Op::Scalar(Binary::Pow, _) => (gpu - cpu).abs() <= cpu.abs().max(1.0) / 2048.0,
            Op::Binary(Binary::Div) | Op::Scalar(Binary::Div, _) | Op::Unary(Unary::Recip | Unary::Sqrt) => {
                gpu == cpu || gpu.signum() == cpu.signum() && ulps <= 3
            }
            _ => gpu == cpu,
        }
    }

    /// Rows whose per-row inputs are all normal numbers or zero: a GPU may flush subnormals.
    fn normal_rows(program: &Program) -> Vec<bool> {
        (0..program.rows)
            .map(|row| {
                program
                    .consts
                    .iter()
                    .filter(|(shape, _)| shape.rows == Rows::All)
                    .all(|(shape, data)| {
                        data[row * shape.cols..(row + 1) * shape.cols]
                            .iter()
                            .all(|v| !v.is_subnormal())
                    })
            })
            .collect()
    }

    /// `program` on the GPU and interpreted: every output of every row with normal inputs
    /// within WGSL's precision ([`within_wgsl`]), and for the functions WGSL leaves loose, at
    /// arguments a run meets (|x| <= 100; beyond, only that both are numbers or both not).
    fn close_on_both(program: &Program) {
        let (gpu, cpu) = (
            outputs(program, true).expect("in range"),
            outputs(program, false).unwrap(),
        );
        assert_eq!(gpu.len(), cpu.len());
        let normal = normal_rows(program);
        let mut compared = 0;
        for ((e, first, g), (_, _, c)) in gpu.iter().zip(&cpu) {
            let instr = program.instrs.iter().find(|x| x.emit.contains(e)).expect("an output");
            let cols = instr.out.shape().cols;
            for (k, (&g, &c)) in g.iter().zip(c).enumerate() {
                let row = first + k / cols;
                if !normal[row] {
                    continue;
                }
                let argument = instr.args.first().and_then(|a| match *a {
                    Operand::Const(x, shape) if shape.rows == Rows::All => Some(program.consts[x].1[row * shape.cols]),
                    _ => None,
                });
                let loose = matches!(
                    instr.op,
                    Op::Unary(Unary::Exp | Unary::Log | Unary::Sin | Unary::Cos | Unary::Tanh | Unary::Powf(_))
                        | Op::Binary(Binary::Pow)
                        | Op::Scalar(Binary::Pow, _)
                );
                if loose && argument.is_some_and(|x| x.abs() > 100.0) {
                    assert_eq!(g.is_nan(), c.is_nan(), "{:?} at row {row}: GPU {g}, CPU {c}", instr.op);
                    continue;
                }
                assert!(
                    within_wgsl(instr.op, g, c),
                    "{:?} at row {row}: GPU {g:e}, CPU {c:e}",
                    instr.op
                );
                compared += 1;
            }
        }
        assert!(compared > fixtures::N, "only {compared} values compared");
    }

    /// Every instruction the shader knows, over awkward values: within WGSL's precision of the
    /// interpreter.
    #[test]
    fn every_instruction_runs_on_the_gpu_as_wgsl_rounds_it() {
        close_on_both(&fixtures::every_instruction());
    }

    /// A run of steps becomes one loop in the shader, and gives the interpreter's values.
    #[test]
    fn steps_run_on_the_gpu_as_a_loop() {
        let program = fixtures::steps(40);
        let shader = Shader::of(&program).expect("a shader");
        assert!(
            shader.source.contains("for (var t = 0u; t < 39u; t++)"),
            "{}",
            shader.source
        );
        close_on_both(&program);
    }

    /// The noise lookup on the GPU: the interpreter's values in range; where an index leaves its
    /// table or an integer passes 2^24, false, as the interpreter says; a constant past 2^24 has
    /// no shader.
    #[test]
    fn integers_and_lookups_stop_on_the_gpu_where_the_interpreter_does() {
        close_on_both(&fixtures::lookup(1.0, 10));
        for program in [fixtures::lookup(1.0, 30), fixtures::lookup(8_388_608.0, 0)] {
            assert!(outputs(&program, true).is_none());
            assert!(outputs(&program, false).is_none());
        }
        assert!(Shader::of(&fixtures::lookup(1.0, 1 << 25)).is_none());
    }
}
