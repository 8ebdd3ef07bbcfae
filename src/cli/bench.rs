//! Benchmarks that print figures (`optsurf bench`): speed targets are checked here, not in
//! timed unit tests. Their experiments are built as typed values, as a library user builds them.

use super::{Which, peak_rss_mb};
use crate::backend::Backend;
use crate::error::{FieldContext, Result};
use crate::experiment::file::Seed;
use crate::experiment::file::{ExperimentFile, Name, Point, Seeds, StartSpec, Starts, Steps, StudyKind, Threshold};
use crate::experiment::fused::Stepping;
use crate::experiment::model_spec::{ActivationName, Columns, CsvSpec, DataSpec, Every, Layers, LossName, ModelName};
use crate::experiment::runner::{self, Batch};
use crate::experiment::study::{Configuration, Study, StudyEntry, Swept};
use crate::experiment::surface::ModelSpec;
use crate::experiment::{Experiment, RunFile, StudyFile, SurfaceSpec};
use crate::optim::{self, LearningRate, OptimizerSpec, Schedule, Wrapped};
use crate::optim::{adagrad, adam, adamax, ftrl, lamb, lion, nadam, rmsprop, sgd};
use crate::pipeline::{self, Run};
use crate::registry::Registry;
use crate::results::ResultDir;
use crate::surface::NoiseSpec;
use crate::surface::data::{Activation, Loss};
use crate::surface::data::{Dataset, Kind};
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use std::time::Instant;

/// Runs the benchmark `which` (`All`: every one but those that measure the process's peak
/// memory, which run alone) and prints its figures.
pub(crate) fn run(which: Which, points: usize, experiment: &Path, backend: Backend, registry: &Registry) -> Result<()> {
    let device = backend.device()?;
    let bench = Bench {
        backend,
        device: &device,
        registry,
    };
    let all = which == Which::All;
    if all || which == Which::Stepping {
        bench.stepping(experiment, 10)?;
    }
    if all || which == Which::AllOptimizers {
        bench.all_optimizers()?;
    }
    if which == Which::Wide {
        bench.wide(20_000, 100)?;
    }
    if all || which == Which::Data {
        bench.data()?;
    }
    if all || which == Which::Models {
        bench.models()?;
    }
    if all || which == Which::Schedules {
        bench.schedules()?;
    }
    if all || which == Which::Expressions {
        bench.expressions()?;
    }
    if all || which == Which::Throughput {
        throughput(points, 5, backend, registry)?;
    }
    if all || which == Which::AdagradFull {
        adagrad_full(1024, 8, backend)?;
    }
    if all || which == Which::Study {
        bench.study(256, 200)?;
    }
    if which == Which::StudyMillion {
        bench.study(1000, 50)?;
    }
    if all || which == Which::Backends {
        backends(registry)?;
    }
    if all || which == Which::Figures {
        bench.figures()?;
    }
    if all || which == Which::Landscape {
        bench.landscape()?;
    }
    println!("peak memory {:.0} MB", peak_rss_mb());
    Ok(())
}

/// What every benchmark runs on.
struct Bench<'a> {
    backend: Backend,
    device: &'a Device,
    registry: &'a Registry,
}

/// A checked optimizer, for the benchmarks' own (valid) settings.
fn spec<C: optim::Config>(config: C) -> OptimizerSpec {
    OptimizerSpec::new(config).expect("the benchmarks' settings are valid")
}

/// The post's ten optimizers (SGD, NAG, RMSprop, AdaGrad, Adam, Adamax, NAdam, Lion, LAMB,
/// FTRL), each at the rate `rate` gives the rate of `rates`.
fn post_ten(rates: [f64; 10], rate: impl Fn(f64) -> LearningRate) -> Vec<RunFile> {
    let lr = |k: usize| rate(rates[k]);
    let runs = [
        (
            "SGD",
            spec(sgd::SgdConfig {
                learning_rate: lr(0),
                ..Default::default()
            }),
        ),
        (
            "NAG",
            spec(sgd::SgdConfig {
                learning_rate: lr(1),
                momentum: 0.9,
                nesterov: true,
                ..Default::default()
            }),
        ),
        (
            "RMS",
            spec(rmsprop::RmspropConfig {
                learning_rate: lr(2),
                ..Default::default()
            }),
        ),
        (
            "AdaGrad",
            spec(adagrad::AdagradConfig {
                learning_rate: lr(3),
                ..Default::default()
            }),
        ),
        (
            "Adam",
            spec(adam::AdamConfig {
                learning_rate: lr(4),
                ..Default::default()
            }),
        ),
        (
            "Adamax",
            spec(adamax::AdamaxConfig {
                learning_rate: lr(5),
                ..Default::default()
            }),
        ),
        (
            "NAdam",
            spec(nadam::NadamConfig {
                learning_rate: lr(6),
                ..Default::default()
            }),
        ),
        (
            "Lion",
            spec(lion::LionConfig {
                learning_rate: lr(7),
                ..Default::default()
            }),
        ),
        (
            "Lamb",
            spec(lamb::LambConfig {
                learning_rate: lr(8),
                ..Default::default()
            }),
        ),
        (
            "FTRL",
            spec(ftrl::FtrlConfig {
                learning_rate: lr(9),
                ..Default::default()
            }),
        ),
    ];
    runs.into_iter().map(|(label, s)| RunFile::new(label, s)).collect()
}

/// An experiment of `runs` over `surface` from `start`, `steps` steps.
fn experiment(name: &str, surface: SurfaceSpec, start: [f64; 2], steps: usize, runs: Vec<RunFile>) -> ExperimentFile {
    ExperimentFile {
        name: Name::new(name).expect("the benchmarks' names are names"),
        title: None,
        surface,
        domain: None,
        noise: NoiseSpec::default(),
        seed: None,
        gradient_noise: None,
        start: Some(StartSpec::Point(Point(start))),
        steps: Steps(steps),
        plot: Default::default(),
        runs,
        landscape: Default::default(),
    }
}

impl Bench<'_> {
    /// The figure pair of the post's ten-optimizer comparison over f0 (10 runs x 101 points,
    /// 900x900, all-f0 with a legend so that every layer is drawn): the surface and the loss
    /// figures (PNG + GIF) each on one thread, then `draw_all` (both in parallel, files
    /// written); prints seconds and bytes (targets: 1.5 s, GIFs under 1 MB).
    fn figures(&self) -> Result<f64> {
        let mut experiment = Experiment::load(Path::new("experiments/blog/all-f0.json"), self.registry, self.device)?;
        experiment.plot.legend = true;
        let traj = experiment.run(self.device);
        let surface = &experiment.surface;
        let mesh = surface.on_mesh(&surface.noise(traj.noise, self.device), self.device);
        let t = Instant::now();
        let s = crate::plot::surface_figure(&traj, surface, &mesh, true, None)?;
        let t_surface = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let l = crate::plot::loss_figure(&traj, true, None)?.expect("runs have points");
        let t_loss = t.elapsed().as_secs_f64();
        let dir = std::env::temp_dir().join(format!("optsurf-bench-figures-{}", std::process::id()));
        let t = Instant::now();
        crate::plot::draw_all(&traj, surface, &mesh, &dir, None)?;
        let t_all = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        let bytes = |gif: &Option<Vec<u8>>| gif.as_ref().map_or(0, Vec::len) as f64 / 1e6;
        println!(
            "figures   all-f0, 10 runs x {} points, 900x900: surface {t_surface:.3} s, loss {t_loss:.3} s (PNG + GIF, one thread each), draw_all {t_all:.3} s with files (target 1.5 s); surface.gif {:.2} MB, loss.gif {:.2} MB (target 1 MB each)",
            crate::plot::frame_count(&traj),
            bytes(&s.gif),
            bytes(&l.gif)
        );
        Ok(t_all)
    }

    /// Checks `file` as an experiment read from `name`.
    fn check(&self, file: ExperimentFile, name: &str) -> Result<Experiment> {
        Experiment::from_file(file, Path::new(name), self.registry, self.device)
    }

    /// Steps an experiment file (no figures, no files) `repeats` times; prints the best time.
    fn stepping(&self, path: &Path, repeats: usize) -> Result<f64> {
        let experiment = Experiment::load(path, self.registry, self.device)?;
        self.best_stepping(&experiment, repeats)
    }

    /// Steps `experiment` `repeats` times (after a warm-up); prints and returns the best time.
    fn best_stepping(&self, experiment: &Experiment, repeats: usize) -> Result<f64> {
        runner::run(experiment, self.device, &mut []); // warm-up
        let mut best = f64::INFINITY;
        for _ in 0..repeats {
            let start = Instant::now();
            runner::run(experiment, self.device, &mut []);
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "stepping  {:<28} {} runs x {} steps on {:?}: {:.1} ms (best of {repeats}), {:.1} us per step",
            experiment.name,
            experiment.runs.len(),
            experiment.steps,
            self.backend,
            best * 1e3,
            best * 1e6 / experiment.steps as f64
        );
        Ok(best)
    }

    /// Every registered optimizer in one comparison over f0 (the post's noise, from (9, 9), 100
    /// steps): each with its defaults, a wrapper (Lookahead, SAM) around optax's Adam at 0.3.
    /// Prints the best stepping time (target: under 100 ms on the CPU) and returns it.
    fn all_optimizers(&self) -> Result<f64> {
        let inner = spec(optim::adam_optax::AdamOptaxConfig {
            learning_rate: 0.3.into(),
            ..Default::default()
        });
        let runs: Vec<RunFile> = self
            .registry
            .optimizers()
            .iter()
            .map(|o| {
                let wrapped = o.params.iter().find(|p| p.name == "fast" || p.name == "outer");
                let optimizer = match wrapped {
                    None => o.defaults(),
                    Some(p) => {
                        let given = serde_json::to_value(Wrapped::of(inner.clone())).expect("optimizers serialize");
                        o.parse([(p.name.to_string(), given)].into_iter().collect())
                            .in_file("bench")?
                    }
                };
                Ok(RunFile::new(o.name, optimizer))
            })
            .collect::<Result<_>>()?;
        let n = runs.len();
        let file = ExperimentFile {
            noise: NoiseSpec {
                seed: 0,
                lookup: crate::surface::Lookup::Nearest,
            },
            ..experiment("all-optimizers", SurfaceSpec::Name("f0".into()), [9.0, 9.0], 100, runs)
        };
        let seconds = self.best_stepping(&self.check(file, "bench-all-optimizers")?, 10)?;
        println!(
            "all optimizers: the {n} registered optimizers over f0 step 100 times in {:.1} ms (target < 100 ms)",
            seconds * 1e3
        );
        Ok(seconds)
    }

    /// The ten optimizers of the post over Rosenbrock (200 steps from (-2, 2)), once over the
    /// built-in `rosenbrock` and once over the same formula written as an expression; prints both
    /// and their ratio (an expression is compiled once, so it should step about as fast).
    fn expressions(&self) -> Result<f64> {
        let rates = [0.0002, 0.0002, 0.01, 0.5, 0.05, 0.05, 0.05, 0.01, 0.01, 0.5];
        let over = |surface: SurfaceSpec| {
            let file = experiment(
                "bench",
                surface,
                [-2.0, 2.0],
                200,
                post_ten(rates, LearningRate::Constant),
            );
            self.check(file, "bench")
        };
        let builtin = self.best_stepping(&over(SurfaceSpec::Name("rosenbrock".into()))?, 10)?;
        let expression = serde_json::from_str::<SurfaceSpec>(
            r#"{"expr": "(1 - x)^2 + 100 * (y - x^2)^2", "domain": [[-2, 2], [-1, 3]]}"#,
        )
        .expect("a valid expression surface");
        let compiled = self.best_stepping(&over(expression)?, 10)?;
        println!(
            "expressions: {{\"expr\": <Rosenbrock>}} steps in {:.2}x the time of the built-in rosenbrock (target < 1.5x)",
            compiled / builtin
        );
        Ok(compiled / builtin)
    }

    /// The post's ten-optimizer comparison over f0 (all-f0's rates) with constant rates and with
    /// every rate a Keras `CosineDecay` from the same rate over the run; prints both and their
    /// ratio (a schedule is evaluated once per step per row on the host, so it should cost little).
    fn schedules(&self) -> Result<f64> {
        let rates = [10.0, 10.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let steps = 100;
        let over = |rate: &dyn Fn(f64) -> LearningRate| {
            let file = ExperimentFile {
                noise: NoiseSpec {
                    seed: 0,
                    lookup: crate::surface::Lookup::Nearest,
                },
                ..experiment(
                    "schedules",
                    SurfaceSpec::Name("f0".into()),
                    [9.0, 9.0],
                    steps,
                    post_ten(rates, rate),
                )
            };
            self.check(file, "bench-schedules")
        };
        let cosine = |lr: f64| {
            LearningRate::Schedule(Schedule::CosineDecay {
                initial_learning_rate: lr,
                decay_steps: steps as f64,
                alpha: 0.1,
                warmup_target: None,
                warmup_steps: 0.0,
            })
        };
        let constant = self.best_stepping(&over(&LearningRate::Constant)?, 10)?;
        let with = self.best_stepping(&over(&cosine)?, 10)?;
        println!(
            "schedules: a CosineDecay on every run steps in {:.2}x the time of constant rates (target < 1.5x)",
            with / constant
        );
        Ok(with / constant)
    }

    /// A wide experiment: `runs` runs (SGD, Adam and RMSprop from a spread of starts over f4) of
    /// `steps` steps, run and written as `optsurf run --no-plots` would, the file streamed; prints
    /// the time, the file size and the process's peak memory (run it alone: the peak is the
    /// process's).
    fn wide(&self, runs: usize, steps: usize) -> Result<f64> {
        let side = (runs as f64).sqrt().ceil() as usize;
        let optimizers = [
            spec(sgd::SgdConfig {
                learning_rate: 10.0.into(),
                ..Default::default()
            }),
            spec(adam::AdamConfig {
                learning_rate: 0.3.into(),
                ..Default::default()
            }),
            spec(rmsprop::RmspropConfig {
                learning_rate: 0.1.into(),
                ..Default::default()
            }),
        ];
        let list: Vec<RunFile> = (0..runs)
            .map(|k| {
                let start = [
                    -9.5 + 19.0 * (k / side) as f64 / side as f64,
                    -9.5 + 19.0 * (k % side) as f64 / side as f64,
                ];
                RunFile {
                    start: Some(StartSpec::Point(Point(start))),
                    ..RunFile::new(format!("run {k}"), optimizers[k % 3].clone())
                }
            })
            .collect();
        let file = experiment("wide", SurfaceSpec::Name("f4".into()), [0.0, 0.0], steps, list);
        let experiment = self.check(file, "bench-wide")?;
        let dir = ResultDir::new(std::env::temp_dir().join(format!("optsurf-bench-wide-{}", std::process::id())));
        let run = Run {
            figures: false,
            ..Run::new(self.registry, self.device)
        };
        let start = Instant::now();
        pipeline::run_experiment(&experiment, &dir, &run)?;
        let seconds = start.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(dir.trajectories()).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_dir_all(dir.path());
        println!(
            "wide      {runs} runs x {steps} steps over f4 on {:?}, run and written: {seconds:.2} s, {:.0} MB file, peak memory {:.0} MB (target < 250 MB)",
            self.backend,
            bytes as f64 / 1e6,
            peak_rss_mb()
        );
        // The stepping alone (records kept, nothing written), eager and fused, after the peak
        // above was taken.
        let tiling = crate::experiment::tiles::Tiling::for_device(self.device);
        let mut rates = Vec::new();
        for stepping in [Stepping::Eager, Stepping::Fused] {
            let start = Instant::now();
            runner::run_tiled(&experiment, self.device, tiling, stepping, &mut []);
            let seconds = start.elapsed().as_secs_f64();
            rates.push((runs * steps) as f64 / seconds);
            println!(
                "wide      stepping alone, {stepping:?}: {seconds:.3} s, {:.2} million point-steps/s ({:.2}x eager)",
                rates[rates.len() - 1] / 1e6,
                rates[rates.len() - 1] / rates[0]
            );
        }
        Ok(seconds)
    }

    /// Minibatch stepping: 64 runs (SGD, Adam, RMSprop, Lion from a spread of starts) of linear
    /// regression over a 10,000-row CSV in batches of 64, 1,000 steps; prints the time (target:
    /// under 1 s on the CPU).
    fn data(&self) -> Result<f64> {
        let dir = std::env::temp_dir().join(format!("optsurf-bench-data-{}", std::process::id()));
        let data = Dataset::line(false, 10_000, 2.0, -1.0, 0.5, 0);
        let mut csv = String::from("u,v\n");
        for (u, v) in data.x.iter().zip(&data.y) {
            csv.push_str(&format!("{u},{v}\n"));
        }
        let path = dir.join("data.csv");
        crate::io::write_atomic(&path, csv.as_bytes())?;
        let optimizers = [
            spec(sgd::SgdConfig {
                learning_rate: 0.1.into(),
                ..Default::default()
            }),
            spec(adam::AdamConfig {
                learning_rate: 0.05.into(),
                ..Default::default()
            }),
            spec(rmsprop::RmspropConfig {
                learning_rate: 0.01.into(),
                ..Default::default()
            }),
            spec(lion::LionConfig {
                learning_rate: 0.01.into(),
                ..Default::default()
            }),
        ];
        let runs: Vec<RunFile> = (0..64)
            .map(|k| {
                let start = [-2.5 + 5.0 * (k % 8) as f64 / 7.0, -2.5 + 5.0 * (k / 8) as f64 / 7.0];
                RunFile {
                    start: Some(StartSpec::Point(Point(start))),
                    ..RunFile::new(format!("run {k}"), optimizers[k % 4].clone())
                }
            })
            .collect();
        // Beside the experiment (data files are relative paths).
        let surface = SurfaceSpec::Model(Box::new(ModelSpec {
            batch_size: Some(crate::experiment::file::BatchSize(64)),
            ..ModelSpec::new(
                ModelName::Regression(Kind::Linear),
                DataSpec::Csv(CsvSpec {
                    csv: "data.csv".into(),
                    x: Columns::One("u".into()),
                    y: "v".into(),
                }),
            )
        }));
        let file = experiment("data", surface, [0.0, 0.0], 1000, runs);
        let experiment = self.check(file, &dir.join("bench-data.json").display().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let seconds = self.best_stepping(&experiment?, 3)?;
        println!(
            "data      64 runs x 1000 steps, linear regression over 10,000 CSV rows in batches of 64: {seconds:.2} s (target < 1 s)"
        );
        Ok(seconds)
    }

    /// Models: the post's ten optimizers (rates for an MLP, as `scripts/peer_keras.py mlp-ten`)
    /// training a `[4, 16, 16, 3]` tanh MLP on iris, full batch, 1,000 steps (target < 1 s); and
    /// 100 runs of Adam (lr 0.001) training a `[10, 64, 64, 2]` relu MLP over 1,000 rows x 10
    /// features in batches of 32, 1,000 steps (time, runs x steps and examples per second, peak
    /// memory; target < 1 GB). With `OPTSURF_KERAS_PYTHON` set to a Python that has TensorFlow,
    /// Keras does the same work (`scripts/peer_keras.py`) and the ratios are printed.
    /// A landscape of an experiment given as text (its data relative to the working folder):
    /// its runs, then the timed landscapes (and figures, when `figures`); prints and returns the
    /// seconds of the landscapes alone.
    fn time_landscape(&self, text: &str, figures: bool) -> Result<f64> {
        let experiment = Experiment::parse(text, Path::new("bench-landscape.json"), self.registry, self.device)?;
        let traj = experiment.run(self.device);
        let dir = std::env::temp_dir().join(format!("optsurf-bench-landscape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, "create folder", e))?;
        let out = ResultDir::new(&dir);
        let started = Instant::now();
        let landscapes = crate::landscape::run_all(&experiment, &traj, &out, self.device, None)?;
        if figures {
            crate::plot::draw_landscapes(&landscapes, &traj.plot, &dir)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        Ok(seconds)
    }

    /// `landscape`: a 51 x 51 PCA plane through the post's ten optimizers on iris with its
    /// figure, and a 201 x 201 random plane of a ~10,000-parameter MLP over 1,000 rows.
    fn landscape(&self) -> Result<()> {
        let iris = r#"{"name": "bench-landscape", "surface": {"model": "mlp", "layers": [16, 16], "activation": "tanh",
            "loss": "cross_entropy", "data": {"csv": "data/iris.csv",
            "x": ["sepal_length", "sepal_width", "petal_length", "petal_width"], "y": "species_id"},
            "record_every": 10}, "start": {"seed": 0}, "steps": 300,
            "landscape": {"plane": "pca", "resolution": [51, 51]},
            "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1},
                     {"label": "NAG", "optimizer": "sgd", "learning_rate": 0.02, "momentum": 0.9, "nesterov": true},
                     {"label": "RMS", "optimizer": "rmsprop", "learning_rate": 0.001},
                     {"label": "AdaGrad", "optimizer": "adagrad", "learning_rate": 0.05},
                     {"label": "Adam", "optimizer": "adam", "learning_rate": 0.005},
                     {"label": "Adamax", "optimizer": "adamax", "learning_rate": 0.01},
                     {"label": "NAdam", "optimizer": "nadam", "learning_rate": 0.005},
                     {"label": "Lion", "optimizer": "lion", "learning_rate": 0.001},
                     {"label": "Lamb", "optimizer": "lamb", "learning_rate": 0.005},
                     {"label": "FTRL", "optimizer": "ftrl", "learning_rate": 0.1}]}"#;
        let seconds = self.time_landscape(iris, true)?;
        println!(
            "landscape 51 x 51 PCA plane of the [4, 16, 16, 3] iris MLP, 10 paths, sharpness and figure: {seconds:.2} s (target < 1 s)"
        );
        let wide = r#"{"name": "bench-landscape-wide", "surface": {"model": "mlp", "layers": [96, 96], "activation": "tanh",
            "loss": "binary_cross_entropy", "data": {"generate": "moons", "n": 1000, "noise": 0.1, "seed": 0},
            "record_every": 10}, "start": {"seed": 0}, "steps": 20,
            "landscape": {"plane": "random", "resolution": [201, 201]},
            "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.001}]}"#;
        let seconds = self.time_landscape(wide, false)?;
        let points = 201.0 * 201.0;
        println!(
            "landscape 201 x 201 random plane of a [2, 96, 96, 1] MLP (9,697 parameters) over 1,000 rows: {seconds:.1} s, {:.2e} points x rows/s, peak memory so far {:.0} MB (target < 1 GB)",
            points * 1000.0 / seconds,
            peak_rss_mb()
        );
        Ok(())
    }

    fn models(&self) -> Result<()> {
        // The training alone, as the Keras peer times it: the full data evaluated at the first
        // and the last step only (`eval_every` and `record_every` past the end).
        let mlp = |layers: Vec<usize>, activation: Activation, csv: &Path, x: Vec<String>, y: &str| ModelSpec {
            eval_every: Some(Every(1000)),
            record_every: Some(Every(1000)),
            layers: Some(Layers(layers)),
            activation: Some(ActivationName(activation)),
            loss: Some(LossName(Loss::CrossEntropy)),
            ..ModelSpec::new(
                ModelName::Mlp,
                DataSpec::Csv(CsvSpec {
                    csv: csv.display().to_string(),
                    x: Columns::Many(x),
                    y: y.into(),
                }),
            )
        };
        let seeded = |file: ExperimentFile| ExperimentFile {
            start: Some(StartSpec::Seed { seed: Seed(0) }),
            ..file
        };
        // The post's ten on iris.
        let x = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
            .map(String::from)
            .to_vec();
        let surface = SurfaceSpec::Model(Box::new(mlp(
            vec![16, 16],
            Activation::Tanh,
            Path::new("data/iris.csv"),
            x,
            "species_id",
        )));
        let rates = [0.1, 0.02, 0.001, 0.05, 0.005, 0.01, 0.005, 0.001, 0.005, 0.1];
        let runs = post_ten(rates, LearningRate::from);
        let ten = self.check(
            seeded(experiment("mlp-ten", surface, [0.0; 2], 1000, runs)),
            "bench-mlp-ten",
        )?;
        let ten_seconds = self.best_stepping(&ten, 2)?;
        println!(
            "models    the post's ten optimizers, [4, 16, 16, 3] tanh MLP on iris, full batch, 1000 steps: {ten_seconds:.2} s (target < 1 s)"
        );
        // 100 runs of a wide MLP on minibatches.
        let dir = std::env::temp_dir().join(format!("optsurf-bench-mlp-{}", std::process::id()));
        let mut bits = crate::random::SplitMix64::new(7);
        let mut csv = (0..10).map(|j| format!("u{j}")).collect::<Vec<_>>().join(",") + ",label\n";
        for _ in 0..1000 {
            let u: Vec<f64> = (0..10).map(|_| 2.0 * bits.uniform() - 1.0).collect();
            let label = u[0] * u[1] + (3.0 * u[2]).sin() > 0.0;
            let cells: Vec<String> = u.iter().map(|v| format!("{v:.6}")).collect();
            csv += &format!("{},{}\n", cells.join(","), label as u8);
        }
        let path = dir.join("wide.csv");
        crate::io::write_atomic(&path, csv.as_bytes())?;
        let x = (0..10).map(|j| format!("u{j}")).collect();
        let surface = SurfaceSpec::Model(Box::new(ModelSpec {
            batch_size: Some(crate::experiment::file::BatchSize(32)),
            drop_remainder: Some(true),
            ..mlp(vec![64, 64], Activation::Relu, Path::new("wide.csv"), x, "label")
        }));
        let adam = spec(adam::AdamConfig {
            learning_rate: 0.001.into(),
            ..Default::default()
        });
        let runs = (0..100)
            .map(|k| RunFile {
                seed: Some(Seed(k)),
                start: Some(StartSpec::Seed { seed: Seed(k) }),
                ..RunFile::new(format!("run {k}"), adam.clone())
            })
            .collect();
        let wide = seeded(experiment("mlp-wide", surface, [0.0; 2], 1000, runs));
        let wide = self.check(wide, &dir.join("bench-mlp-wide.json").display().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        let wide = wide?;
        let start = Instant::now();
        runner::run(&wide, self.device, &mut []);
        let seconds = start.elapsed().as_secs_f64();
        let rows_steps = 100.0 * 1000.0 / seconds;
        println!(
            "models    100 runs x 1000 steps, [10, 64, 64, 2] relu MLP over 1,000 rows in batches of 32: {seconds:.2} s, {rows_steps:.0} runs x steps/s, {:.0} examples/s, peak memory {:.0} MB (target < 1 GB)",
            rows_steps * 32.0,
            peak_rss_mb()
        );
        keras_peer("mlp-ten", ten_seconds);
        keras_peer("mlp-wide", seconds);
        Ok(())
    }

    /// A `side` x `side`-start study of Adam (lr 0.1) over Himmelblau, `steps` steps, run whole as
    /// `optsurf run` runs it: metrics, `runs.csv`, `study.json` and the figures written; prints
    /// the point-steps per second and the process's peak memory (run it alone: the peak is the
    /// process's). Targets: 256 x 256 x 200 at >= 4 million point-steps/s under 500 MB on the
    /// CPU; 1000 x 1000 under 1.5 GB.
    fn study(&self, side: usize, steps: usize) -> Result<f64> {
        let file = study_file(side, steps);
        let study = Study::from_file(file, Path::new("bench-study"), self.registry, self.device)?;
        let stepping = self.study_tiling(&study);
        let job = crate::experiment::Job::Study(Box::new(study));
        let dir = ResultDir::new(std::env::temp_dir().join(format!("optsurf-bench-study-{}", std::process::id())));
        let start = Instant::now();
        job.run_into(&dir, &Run::new(self.registry, self.device))?;
        let seconds = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(dir.path());
        let rows = side * side;
        let rate = (rows * steps) as f64 / seconds;
        println!(
            "study     {side} x {side} starts ({rows} runs) x {steps} steps of Adam over Himmelblau on {:?}, files and figures included: {seconds:.2} s, {:.2} million point-steps/s, peak memory {:.0} MB",
            self.backend,
            rate / 1e6,
            peak_rss_mb()
        );
        jax_peer(
            side,
            steps,
            &[("stepping alone", stepping), ("files and figures included", rate)],
        );
        Ok(rate)
    }
}

/// `n` points from a fixed spread over the mesh through f4 (nearest noise) with Adam, `steps`
/// steps; prints point-steps per second.
impl Bench<'_> {
    /// The stepping of `study` alone: eager, cut three ways (all rows as one chunk on one
    /// thread, as before tiles; tiles on one thread, the cache's share; tiles on every core),
    /// then fused (replayed block by block, see `experiment/fused`) on one thread and on every
    /// core. Returns the fused rate on every core.
    fn study_tiling(&self, study: &Study) -> f64 {
        use crate::experiment::tiles::{CHUNK_ROWS, TILE_ROWS, Tiling};
        let cores = crate::experiment::tiles::cores();
        let rows = study.rows();
        let tiling = |rows, threads| Tiling { rows, threads };
        let mut rates = Vec::new();
        for (what, tiling, stepping) in [
            ("eager, one chunk, 1 thread", tiling(CHUNK_ROWS, 1), Stepping::Eager),
            ("eager, tiles, 1 thread", tiling(TILE_ROWS, 1), Stepping::Eager),
            ("eager, tiles, every core", tiling(TILE_ROWS, cores), Stepping::Eager),
            ("fused, tiles, 1 thread", tiling(TILE_ROWS, 1), Stepping::Fused),
            ("fused, tiles, every core", tiling(TILE_ROWS, cores), Stepping::Fused),
        ] {
            let rate = stepping_rate(study, self.device, tiling, stepping);
            rates.push(rate);
            println!(
                "study     stepping alone, {what} ({} rows per tile, {} threads): {:.2} million point-steps/s ({:.2}x the one chunk)",
                tiling.rows.min(rows),
                tiling.threads,
                rate / 1e6,
                rate / rates[0]
            );
        }
        rates[4]
    }
}

/// The benchmark study: `side x side` starts of Adam (lr 0.1) over Himmelblau, `steps` steps.
fn study_file(side: usize, steps: usize) -> StudyFile {
    let adam = spec(adam::AdamConfig {
        learning_rate: 0.1.into(),
        ..Default::default()
    });
    let entry = StudyEntry {
        label: "adam".into(),
        configs: vec![Configuration {
            label: "adam".into(),
            optimizer: adam,
            swept: Swept::default(),
            batch_size: None,
        }],
    };
    StudyFile {
        name: Name::new("bench-study").expect("a name"),
        title: None,
        surface: SurfaceSpec::Name("himmelblau".into()),
        domain: None,
        noise: NoiseSpec::default(),
        kind: StudyKind::Study,
        steps: Steps(steps),
        starts: Some(Starts::Grid([side, side])),
        seeds: Seeds(vec![0]),
        gradient_noise: None,
        optimizers: crate::experiment::file::Entries(vec![entry]),
        threshold: Threshold(1e-3),
        tune: None,
    }
}

/// The point-steps per second of stepping every row of `study` cut as `tiling` says (no files):
/// the best of three, as this machine's other load comes and goes.
fn stepping_rate(study: &Study, device: &Device, tiling: crate::experiment::tiles::Tiling, stepping: Stepping) -> f64 {
    let once = || {
        let start = Instant::now();
        study.run_tiled(0..study.rows(), device, tiling, stepping, &mut |_| {});
        (study.rows() * study.steps) as f64 / start.elapsed().as_secs_f64()
    };
    (0..3).map(|_| once()).fold(0.0, f64::max)
}

/// The benchmark study's stepping alone on every backend, eager and fused: its point-steps per
/// second where the backend is built in, and how to build it in where not. On a GPU, fused is
/// the study as compute shaders (`experiment/fused/gpu.rs`).
fn backends(registry: &Registry) -> Result<()> {
    use clap::ValueEnum;
    let file = study_file(256, 200);
    for &backend in Backend::value_variants() {
        let device = match backend.device() {
            Ok(device) => device,
            Err(e) => {
                println!("backends  {backend:?}: {e}");
                continue;
            }
        };
        let study = Study::from_file(file.clone(), Path::new("bench-study"), registry, &device)?;
        let tiling = crate::experiment::tiles::Tiling::for_device(&device);
        let rates = [Stepping::Eager, Stepping::Fused].map(|s| stepping_rate(&study, &device, tiling, s));
        println!(
            "backends  {backend:?}{}: the 256 x 256-start study's stepping, {} rows per tile on {} threads: eager {:.2}, fused {:.2} million point-steps/s ({:.1}x)",
            crate::experiment::fused::adapter(&device).map_or(String::new(), |a| format!(" ({a})")),
            tiling.rows.min(study.rows()),
            tiling.threads,
            rates[0] / 1e6,
            rates[1] / 1e6,
            rates[1] / rates[0]
        );
    }
    Ok(())
}

fn throughput(n: usize, steps: usize, backend: Backend, registry: &Registry) -> Result<f64> {
    let device = backend.device()?;
    let f4 = registry.require_surface("f4").in_file("bench")?.clone();
    let noise = f4.noise(NoiseSpec::default(), &device);
    let side = (n as f64).sqrt().ceil() as usize;
    let starts: Vec<f32> = (0..n)
        .flat_map(|k| {
            let (i, j) = (k / side, k % side);
            [
                -10.0 + 20.0 * i as f32 / side as f32,
                -10.0 + 20.0 * j as f32 / side as f32,
            ]
        })
        .collect();
    let points = Tensor::<2>::from_data(TensorData::new(starts, [n, 2]), &device);
    let config = adam::AdamConfig {
        learning_rate: 0.1.into(),
        ..adam::AdamConfig::default()
    };
    let optimizer = <adam::AdamConfig as optim::Config>::build(&vec![config; n], &device);
    let mut batch = Batch::from_points(f4, noise, points, optimizer);
    let evaluation = batch.evaluate(); // warm-up
    batch.advance(evaluation);
    let start = Instant::now();
    for _ in 0..steps {
        let evaluation = batch.evaluate();
        batch.advance(evaluation);
    }
    let checksum = to_vec(batch.points().clone().sum())[0];
    let seconds = start.elapsed().as_secs_f64();
    let rate = (n * steps) as f64 / seconds;
    println!(
        "throughput f4+adam {n} points x {steps} steps on {backend:?}: {:.2} s, {:.2} M point-steps/s (checksum {checksum:.3})",
        seconds,
        rate / 1e6
    );
    Ok(rate)
}

/// Full-matrix AdaGrad on the post's "Performance" problem: one vector of `features`
/// dimensions, `steps` gradients `RandomState(32).rand(features) * scales` with log-normal
/// per-feature scales (`RandomState(0).lognormal(size=features)`; the post's are unseeded),
/// `delta = 1e-5`. Times optsurf's optimizer (tensors in and out, best of 20), its host
/// accumulator alone, the direct O(d^3) method (eigendecomposition of the d x d `G` every step,
/// once) and diagonal AdaGrad (`RandomState(53)`, host and tensors); prints them with the
/// largest relative error against the direct method. Returns the optimizer's seconds.
fn adagrad_full(features: usize, steps: usize, backend: Backend) -> Result<f64> {
    use crate::experiment::vectors::POST_DELTA;
    use crate::optim::adagrad_full::{Accumulator, AdagradFullConfig};
    use crate::random::RandomState;

    const REPEATS: usize = 20;
    let device = backend.device()?;
    let d = features.max(1);
    let mut scale_draws = RandomState::new(0);
    let scales: Vec<f64> = (0..d).map(|_| scale_draws.lognormal(0.0, 1.0)).collect();
    // Rounded to f32 up front: every method solves the problem the f32 optimizer receives.
    let draw = |seed: u32| -> Vec<Vec<f64>> {
        let mut random = RandomState::new(seed);
        (0..steps)
            .map(|_| scales.iter().map(|s| (random.rand() * s) as f32 as f64).collect())
            .collect()
    };
    let (grads, grads_diagonal) = (draw(32), draw(53));
    let upload = |grads: &[Vec<f64>]| -> Vec<Tensor<2>> {
        grads
            .iter()
            .map(|g| {
                let g: Vec<f32> = g.iter().map(|&v| v as f32).collect();
                Tensor::from_data(TensorData::new(g, [1, d]), &device)
            })
            .collect()
    };
    let (tensors, tensors_diagonal) = (upload(&grads), upload(&grads_diagonal));
    let best_of = |f: &mut dyn FnMut()| {
        let mut best = f64::INFINITY;
        for _ in 0..REPEATS {
            let start = Instant::now();
            f();
            best = best.min(start.elapsed().as_secs_f64());
        }
        best
    };

    // optsurf's optimizer, eta = 1 from w = 0, so w_T = -sum_t v_t.
    let config = AdagradFullConfig {
        learning_rate: 1.0.into(),
        epsilon: POST_DELTA,
        ..AdagradFullConfig::default()
    };
    let mut w_fast = Vec::new();
    let optimizer_time = best_of(&mut || {
        let mut optimizer = <AdagradFullConfig as optim::Config>::build(std::slice::from_ref(&config), &device);
        let mut w = Tensor::<2>::zeros([1, d], &device);
        for g in &tensors {
            w = optim::step_with_gradient(optimizer.as_mut(), w, g.clone());
        }
        w_fast = to_vec(w);
    });
    let mut v_fast: Vec<Vec<f64>> = Vec::new();
    let host_time = best_of(&mut || {
        let mut accumulator = Accumulator::new(d, 0.0, POST_DELTA);
        v_fast = grads.iter().map(|g| accumulator.update(g).to_vec()).collect();
    });

    let start = Instant::now();
    let mut direct = Accumulator::direct(d, 0.0, POST_DELTA);
    let v_direct: Vec<Vec<f64>> = grads.iter().map(|g| direct.update(g).to_vec()).collect();
    let direct_time = start.elapsed().as_secs_f64();

    let mut v_diagonal = Vec::new();
    let diagonal_host_time = best_of(&mut || {
        let mut a = vec![0.0f64; d];
        v_diagonal = grads_diagonal
            .iter()
            .map(|g| {
                a.iter_mut()
                    .zip(g)
                    .map(|(a, g)| {
                        *a += g * g;
                        g / (a.sqrt() + POST_DELTA)
                    })
                    .collect::<Vec<f64>>()
            })
            .collect();
    });
    let mut w_diagonal = Vec::new();
    let diagonal_tensor_time = best_of(&mut || {
        let mut a = Tensor::<2>::zeros([1, d], &device);
        let mut w = Tensor::<2>::zeros([1, d], &device);
        for g in &tensors_diagonal {
            a = a + g.clone().square();
            w = w - g.clone() / (a.clone().sqrt().add_scalar(POST_DELTA));
        }
        w_diagonal = to_vec(w);
    });

    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let v_error = v_fast
        .iter()
        .zip(&v_direct)
        .map(|(a, b)| {
            let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
            norm(&diff) / norm(b)
        })
        .fold(0.0f64, f64::max);
    let w_direct: Vec<f64> = (0..d).map(|k| -v_direct.iter().map(|v| v[k]).sum::<f64>()).collect();
    let w_error = w_fast
        .iter()
        .zip(&w_direct)
        .fold(0.0f64, |m, (a, b)| m.max((*a as f64 - b).abs()))
        / w_direct.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    std::hint::black_box((&w_diagonal, &v_diagonal));

    println!(
        "adagrad_full d={d} x {steps} steps on {backend:?}: {:.3} ms optimizer (f32 tensors in and out, best of {REPEATS}), {:.3} ms host accumulator (f64)",
        optimizer_time * 1e3,
        host_time * 1e3
    );
    println!(
        "  direct O(d^3) method (eigendecomposition of the {d}x{d} G every step): {:.2} s, {:.0}x the optimizer",
        direct_time,
        direct_time / optimizer_time
    );
    println!(
        "  diagonal AdaGrad: {:.3} ms host (f64, as the post's numpy), {:.3} ms tensors",
        diagonal_host_time * 1e3,
        diagonal_tensor_time * 1e3
    );
    println!(
        "  largest relative error against the direct method: v_t {v_error:.1e} (f64), w after {steps} steps {w_error:.1e} (f32 result)"
    );
    println!(
        "  the post (numpy + scipy sqrtm/inv): 27.4 s full-matrix (72.6 s on this kind of machine), 619 us diagonal"
    );
    Ok(optimizer_time)
}

/// Runs a peer script (`scripts/peer_keras.py` or `scripts/peer_jax.py`) with `args` under the
/// Python the environment variable `env` names, and returns the JSON line it prints last; prints
/// how to get the comparison when `env` is not set, or that the script failed.
fn peer(section: &str, env: &str, script: &str, args: &[&str]) -> Option<serde_json::Value> {
    let what = format!("{section:<10}peer {script} {}", args.join(" "));
    let Some(python) = std::env::var_os(env) else {
        println!("{what}: set {env} to a Python that has its library (see {script})");
        return None;
    };
    let out = std::process::Command::new(&python).arg(script).args(args).output();
    let line = out.ok().filter(|o| o.status.success()).and_then(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        serde_json::from_str::<serde_json::Value>(text.lines().last()?).ok()
    });
    if line.is_none() {
        println!("{what}: failed with {}", python.to_string_lossy());
    }
    line
}

/// Keras doing `work` of `scripts/peer_keras.py` beside our `seconds`.
fn keras_peer(work: &str, seconds: f64) {
    let Some(line) = peer("models", "OPTSURF_KERAS_PYTHON", "scripts/peer_keras.py", &[work]) else {
        return;
    };
    if let Some(keras) = line["seconds"].as_f64() {
        println!(
            "models    Keras peer of {work}: {keras:.2} s (+ {:.2} s compiling) against optsurf's {seconds:.2} s: optsurf / Keras = {:.2}",
            line["compile_seconds"].as_f64().unwrap_or(f64::NAN),
            seconds / keras
        );
    }
}

/// JAX doing the study of `side x side` starts for `steps` steps (`scripts/peer_jax.py study`)
/// beside our point-steps per second, `rates` (one per way of stepping, labelled).
fn jax_peer(side: usize, steps: usize, rates: &[(&str, f64)]) {
    let (grid, steps_arg) = (side.to_string(), steps.to_string());
    let args = ["study", "--grid", &grid, "--steps", &steps_arg];
    let Some(line) = peer("study", "OPTSURF_JAX_PYTHON", "scripts/peer_jax.py", &args) else {
        return;
    };
    if let Some(jax) = line["point_steps_per_second"].as_f64() {
        println!(
            "study     JAX peer ({} on {}, jit + lax.scan): {:.2} million point-steps/s after {:.2} s compiling",
            line["jax"].as_str().unwrap_or("?"),
            line["backend"].as_str().unwrap_or("?"),
            jax / 1e6,
            line["compile_seconds"].as_f64().unwrap_or(f64::NAN)
        );
        for (what, rate) in rates {
            println!("study     JAX / optsurf ({what}) = {:.1}", jax / rate);
        }
    }
}
