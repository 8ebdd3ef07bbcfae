//! The `optsurf` command line.

use burn::tensor::Device;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use optsurf::backend::Backend;
use optsurf::diff::{self, Tolerance};
use optsurf::experiment::runner::{self, Observer};
use optsurf::experiment::trajectory::Trajectories;
use optsurf::experiment::{self, Experiment, Job};
use optsurf::surface::Noise;
use optsurf::{Error, Result, bench, optim, plot, surface};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Watch gradient-based optimizers travel over loss surfaces.
#[derive(Parser)]
#[command(name = "optsurf", version, about)]
struct Cli {
    /// Tensor backend.
    #[arg(long, value_enum, global = true, default_value_t = Backend::Ndarray)]
    backend: Backend,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run experiment files (or every *.json under a folder) and write their trajectories.
    Run {
        /// Experiment files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output folder (default: `results`, mirroring the `experiments` folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the figures.
        #[arg(long)]
        no_plots: bool,
    },
    /// List the surfaces and optimizers with their hyperparameters and defaults.
    List,
    /// Redraw the figures of a trajectory file, next to it, without re-running.
    Plot {
        /// `trajectories.json` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Re-run experiments in memory and compare them with their committed baselines; or compare
    /// two trajectory files. Exit 0 when all agree, 1 on drift, 2 on bad input.
    Diff {
        /// Experiment files or folders (default: `experiments`), or two trajectory files.
        paths: Vec<PathBuf>,
        /// Root of the baselines, mirrored like `optsurf run` writes results.
        #[arg(long, default_value = "results")]
        baseline: PathBuf,
        /// Relative tolerance.
        #[arg(long, default_value_t = Tolerance::default().rtol)]
        rtol: f64,
        /// Absolute tolerance.
        #[arg(long, default_value_t = Tolerance::default().atol)]
        atol: f64,
    },
    /// Print benchmark figures: stepping time, large-batch throughput, full-matrix AdaGrad.
    Bench {
        /// Which benchmark.
        #[arg(value_enum, default_value_t = Which::All)]
        which: Which,
        /// Points for the throughput benchmark.
        #[arg(long, default_value_t = 1_000_000)]
        points: usize,
        /// Experiment for the stepping benchmark.
        #[arg(long, default_value = "experiments/blog/all-f0.json")]
        experiment: PathBuf,
    },
}

/// The benchmarks of `optsurf bench`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    All,
    /// The post's ten-optimizer comparison over f0: 10 runs x 100 steps.
    Stepping,
    /// 1,000,000 points through f4 with Adam.
    Throughput,
    /// Full-matrix AdaGrad, d = 1024 features, 8 steps, against the direct O(d^3) method.
    AdagradFull,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run { paths, out, no_plots } => {
            run(&paths, out.as_deref(), no_plots, cli.backend)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            print!("{}", list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plot { paths } => {
            let device = cli.backend.device()?;
            for path in paths {
                let trajectories = Trajectories::load(&path)?;
                let dir = path.parent().unwrap_or(Path::new("."));
                for written in draw(&trajectories, dir, &device, None)? {
                    println!("{}", written.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            paths,
            baseline,
            rtol,
            atol,
        } => {
            let tol = Tolerance { rtol, atol };
            if !(rtol >= 0.0 && atol >= 0.0) {
                return Err(Error::input("--rtol/--atol", "", "expected tolerances >= 0"));
            }
            // Two trajectory files compare directly; anything else names experiments.
            let pair = match paths.as_slice() {
                [a, b] if a.is_file() && b.is_file() => Trajectories::load(a).ok().zip(Trajectories::load(b).ok()),
                _ => None,
            };
            let report = if let Some((a, b)) = &pair {
                diff::files((&paths[0], a), (&paths[1], b), tol)?
            } else {
                let paths = if paths.is_empty() {
                    vec![PathBuf::from("experiments")]
                } else {
                    paths
                };
                diff::experiments(&paths, &baseline, tol, &cli.backend.device()?)?
            };
            println!("{report}");
            Ok(if report.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Bench {
            which,
            points,
            experiment,
        } => {
            if matches!(which, Which::All | Which::Stepping) {
                bench::stepping(&experiment, cli.backend, 10)?;
            }
            if matches!(which, Which::All | Which::Throughput) {
                bench::throughput(points, 5, cli.backend)?;
            }
            if matches!(which, Which::All | Which::AdagradFull) {
                bench::adagrad_full(1024, 8, cli.backend)?;
            }
            println!("peak memory {:.0} MB", bench::peak_rss_mb());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Draws the figures of `trajectories` into `dir`.
fn draw(
    trajectories: &Trajectories,
    dir: &Path,
    device: &Device,
    frames: Option<&ProgressBar>,
) -> Result<Vec<PathBuf>> {
    let surface = surface::get(&trajectories.surface).ok_or_else(|| {
        Error::input(
            dir.join("trajectories.json"),
            "surface",
            format!("unknown surface {:?}", trajectories.surface),
        )
    })?;
    let mesh = surface.on_mesh(&Noise::new(trajectories.noise, device), device);
    plot::draw_all(trajectories, &mesh, dir, frames)
}

/// Writes `trajectories.json` into the experiment's output folder when a run finishes.
struct JsonWriter {
    dir: PathBuf,
}

impl Observer for JsonWriter {
    fn on_finish(&mut self, _experiment: &Experiment, trajectories: &Trajectories) -> Result<()> {
        trajectories.write(&self.dir.join("trajectories.json"))
    }
}

/// Draws the figures into the experiment's output folder when a run finishes.
struct Figures {
    dir: PathBuf,
    device: Device,
    frames: ProgressBar,
}

impl Observer for Figures {
    fn on_finish(&mut self, _experiment: &Experiment, trajectories: &Trajectories) -> Result<()> {
        draw(trajectories, &self.dir, &self.device, Some(&self.frames)).map(|_| ())
    }
}

/// A progress bar over the steps of one experiment.
struct StepBar {
    bar: ProgressBar,
}

impl Observer for StepBar {
    fn on_start(&mut self, experiment: &Experiment) {
        self.bar.set_length(experiment.steps as u64);
        self.bar.set_position(0);
        self.bar.set_message(experiment.name.clone());
    }
    fn on_step(&mut self, _experiment: &Experiment, step: usize) {
        self.bar.set_position(step as u64);
    }
}

fn run(paths: &[PathBuf], out: Option<&Path>, no_plots: bool, backend: Backend) -> Result<()> {
    let results = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("results"));
    let experiments = experiment::load_all(paths, &results)?;
    let device = backend.device()?;
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let overall = ProgressBar::new(experiments.len() as u64)
        .with_style(style.clone())
        .with_prefix("experiments");
    let multi = indicatif::MultiProgress::new();
    let overall = multi.add(overall);
    let steps = multi.add(ProgressBar::new(0).with_style(style.clone()).with_prefix("steps"));
    let frames = multi.add(ProgressBar::new(0).with_style(style).with_prefix("frames"));
    let started = std::time::Instant::now();
    for (job, dir) in &experiments {
        overall.set_message(job.name().to_string());
        match job {
            Job::Runs(experiment) => {
                let mut bar = StepBar { bar: steps.clone() };
                let mut writer = JsonWriter { dir: dir.clone() };
                let mut figures = Figures {
                    dir: dir.clone(),
                    device: device.clone(),
                    frames: frames.clone(),
                };
                if no_plots {
                    runner::run(experiment, &device, &mut [&mut bar, &mut writer])?;
                } else {
                    runner::run(experiment, &device, &mut [&mut bar, &mut writer, &mut figures])?;
                }
            }
            Job::Vectors(vectors) => {
                vectors.run(dir, !no_plots)?;
            }
        }
        overall.inc(1);
    }
    frames.finish_and_clear();
    steps.finish_and_clear();
    overall.finish_and_clear();
    println!(
        "{} experiment(s) in {:.1} s (peak memory {:.0} MB); results{} in:",
        experiments.len(),
        started.elapsed().as_secs_f64(),
        bench::peak_rss_mb(),
        if no_plots { "" } else { " and figures" }
    );
    for (_, dir) in &experiments {
        println!("  {}", dir.display());
    }
    Ok(())
}

fn list() -> String {
    let mut out = String::from("Surfaces:\n");
    for s in surface::REGISTRY {
        out.push_str(&format!("  {:<8} {}\n", s.name, s.formula));
    }
    out.push_str("\nOptimizers (hyperparameter=default):\n");
    for o in optim::REGISTRY {
        out.push_str(&format!("  {:<13} {}\n", o.name, o.description));
        let params: Vec<String> = o.defaults().iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!("  {:<13} {}\n", "", params.join(" ")));
    }
    out
}
