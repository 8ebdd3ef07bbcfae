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

/// Programs run on the GPU, for the tests that need to know.
#[cfg(test)]
pub(crate) static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

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
        let device = &gpu.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("optsurf fused"),
            source: wgpu::ShaderSource::Wgsl(shader.source.as_str().into()),
        });
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match binding {
                    0 => wgpu::BufferBindingType::Uniform,
                    _ => wgpu::BufferBindingType::Storage { read_only },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let entries = [
            storage(0, true),
            storage(1, true),
            storage(2, true),
            storage(3, true),
            storage(4, false),
            storage(5, false),
        ];
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
        if futures_lite::future::block_on(scope.pop()).is_some() {
            return None;
        }
        // A buffer holds at least one float: WebGPU has no empty bindings.
        let floats = |values: Vec<f32>| if values.is_empty() { vec![0.0] } else { values };
        let uniform = floats(
            shader
                .uniform
                .iter()
                .flat_map(|&c| self.consts[c].1.iter().copied())
                .collect(),
        );
        let lut = floats(
            shader
                .lookups
                .iter()
                .flat_map(|&(c, _)| self.consts[c].1.iter().copied())
                .collect(),
        );
        let columns: usize = shader.outputs.iter().map(|o| o.1).sum();
        let width = columns.max(shader.inputs.len()).max(1) as u64 * 4;
        let chunk = (gpu.chunk_bytes / width).min(self.rows as u64).max(1) as usize;
        let uniform = gpu.buffer(&uniform, wgpu::BufferUsages::STORAGE);
        let lut = gpu.buffer(&lut, wgpu::BufferUsages::STORAGE);
        let mut values = Vec::new();
        let mut first = 0;
        while first < self.rows {
            let n = chunk.min(self.rows - first);
            let inputs: Vec<f32> = floats(
                shader
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
                    .collect(),
            );
            let params = [n as u32, 0, 0, 0].map(f32::from_bits);
            let buffers = [
                gpu.buffer(&params, wgpu::BufferUsages::UNIFORM),
                gpu.buffer(&inputs, wgpu::BufferUsages::STORAGE),
                uniform.clone(),
                lut.clone(),
                gpu.buffer(
                    &vec![0.0; (columns * n).max(1)],
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                ),
                gpu.buffer(&[0.0], wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC),
            ];
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
                layout: &layout,
                entries: &entries,
            });
            let workgroups = (n as u32).div_ceil(WORKGROUP);
            let mut encoder = device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(
                    workgroups.min(GROUPS_PER_DIMENSION),
                    workgroups.div_ceil(GROUPS_PER_DIMENSION),
                    1,
                );
            }
            let [outputs, flag] = [&buffers[4], &buffers[5]].map(|b| gpu.read_back(&mut encoder, b));
            gpu.queue.submit([encoder.finish()]);
            let [outputs, flag] = [outputs, flag].map(|b| gpu.map(&b));
            let (outputs, flag) = (outputs?, flag?);
            if flag[0].to_bits() != 0 {
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
        RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(true)
    }
}

impl Gpu {
    /// A buffer holding `values`.
    fn buffer(&self, values: &[f32], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
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
