//! The `optsurf` command line, for any [`Registry`]: `optsurf::cli::main(Registry::builtin())`
//! is optsurf's own binary, and a crate with its own surfaces or optimizers gets every
//! subcommand for them with the same call.
//!
//! Exit codes: 0 done, 1 drift (`diff`), 2 bad input (the file's fault), 3 I/O or environment
//! failure (cannot write, disk full, missing backend feature).

mod bench;

use crate::backend::Backend;
use crate::diff::{self, Tolerance};
use crate::error::{Error, FieldContext, Result};
use crate::optim::Source;
use crate::pipeline::{self, Progress, Run};
use crate::plot::{self, FrameProgress};
use crate::registry::Registry;
use crate::results::{self, RESULTS, Trajectories};
use crate::surface::Kind;
use burn::tensor::Device;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Watch gradient-based optimizers travel over loss surfaces.
#[derive(Parser)]
#[command(
    name = "optsurf",
    version,
    about,
    after_help = "Exit codes: 0 done, 1 drift (diff), 2 bad input (the file's fault), 3 I/O or environment failure (cannot write, disk full, missing backend feature)."
)]
struct Cli {
    /// Tensor backend (baselines are recorded on flex, the default).
    #[arg(long, value_enum, global = true, default_value_t = Backend::default())]
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
        /// Run only shard I of N (from 0) of each study, and of each experiment's landscape
        /// planes: a deterministic slice of the study's runs (of the planes' grid rows), written
        /// with a `shard.json` for `optsurf merge`.
        #[arg(long, value_parser = parse_shard)]
        shard: Option<[usize; 2]>,
        /// End by writing the HTML report of the results folder (`optsurf report`).
        #[arg(long)]
        report: bool,
    },
    /// Merge the folders `run --shard I/N` wrote for one study into its `runs.csv`,
    /// `study.json`, figures and tuned comparison (for one experiment, into its results with
    /// its landscapes), as one whole run writes them.
    Merge {
        /// The shard folders, all N of them.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (default: where `optsurf run` writes the study).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the figures.
        #[arg(long)]
        no_plots: bool,
    },
    /// Write `index.html` over every result under a folder, and an interactive view beside each
    /// trajectory file (`view.html`, `contour.png`). Open the page from disk in any browser.
    Report {
        /// The results folder.
        #[arg(default_value = "results")]
        dir: PathBuf,
    },
    /// List the surfaces and optimizers with their hyperparameters and defaults.
    List,
    /// Check surfaces' autodiff gradients against central differences at random points of their
    /// domains (noise off). Exit 1 when one is off by more than the tolerance.
    Check {
        /// Surface names (default: every registered surface).
        surfaces: Vec<String>,
        /// Random points per surface.
        #[arg(long, default_value_t = 1000)]
        points: usize,
        /// Largest acceptable error `|autodiff - numeric| / (1 + |numeric| + 1e-5 |f| / h)`.
        #[arg(long, default_value_t = 5e-2)]
        tolerance: f64,
    },
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
        /// Write each drifted or missing result beside its baseline as `<baseline>.new` (the
        /// baseline itself is never touched), for review and `optsurf accept`.
        #[arg(long)]
        write_new: bool,
    },
    /// Accept reviewed results: move every `*.json.new` that `diff --write-new` wrote onto the
    /// baseline beside it.
    Accept {
        /// Folders to search, `.new` files, or baselines with one beside them (default: `results`).
        paths: Vec<PathBuf>,
    },
    /// Print benchmark figures: stepping time, schedules, expressions, minibatches, large-batch
    /// throughput, full-matrix AdaGrad and studies (`wide` and `study-million` run alone).
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
pub(crate) enum Which {
    All,
    /// The post's ten-optimizer comparison over f0: 10 runs x 100 steps.
    Stepping,
    /// Every registered optimizer (Keras's and optax's) over f0: one run each x 100 steps.
    AllOptimizers,
    /// Ten optimizers over Rosenbrock written as an expression against the built-in.
    Expressions,
    /// The stepping experiment with a learning-rate schedule on every run against without.
    Schedules,
    /// 20,000 runs x 100 steps run and written (peak memory; run it alone).
    Wide,
    /// 64 runs x 1,000 minibatch steps over a 10,000-row CSV.
    Data,
    /// Models: the post's ten optimizers training a [4, 16, 16, 3] MLP on iris (1,000 full-batch
    /// steps) and 100 runs of a [10, 64, 64, 2] MLP in batches of 32 (1,000 steps), beside Keras
    /// when `OPTSURF_KERAS_PYTHON` names a Python with TensorFlow.
    Models,
    /// 1,000,000 points through f4 with Adam.
    Throughput,
    /// Full-matrix AdaGrad, d = 1024 features, 8 steps, against the direct O(d^3) method.
    AdagradFull,
    /// A 256 x 256-start study of Adam over Himmelblau, 200 steps, files and figures included.
    Study,
    /// A 1000 x 1000-start (1,000,000-run) study, 50 steps: its peak memory (run it alone).
    StudyMillion,
    /// The stepping of the 256 x 256-start study on every backend this binary has (a GPU's
    /// figure with `--features wgpu` or `cuda`), in point-steps per second.
    Backends,
    /// The figure pair of the post's ten-optimizer comparison (surface and loss, PNG + GIF).
    Figures,
    /// Loss landscapes: a 51 x 51 PCA plane of the iris MLP with its figures, and a 201 x 201
    /// random plane of a ~10,000-parameter MLP over 1,000 rows.
    Landscape,
}

/// Parses `I/N` (0 <= I < N <= the most runs a study may have): `--shard 2/8`.
fn parse_shard(text: &str) -> Result<[usize; 2]> {
    let max = crate::experiment::study::MAX_RUNS;
    let parts: Option<(usize, usize)> = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parts {
        Some((i, n)) if n >= 1 && i < n && n as u64 <= max => Ok([i, n]),
        _ => Err(Error::input(
            "--shard",
            "",
            format!(
                "expected I/N with 0 <= I < N <= {max} (shard I of N, from 0; no more shards than a study may have runs), got {}",
                crate::io::quote(text)
            ),
        )),
    }
}

/// Peak resident memory of this process so far, in MB (Linux; 0 elsewhere).
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs the command line given to this process with `registry`'s surfaces and optimizers.
pub fn main(registry: Registry) -> ExitCode {
    main_with_args(registry, std::env::args_os())
}

/// Runs the command line `args` (the program name first) with `registry`.
pub fn main_with_args<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match execute(cli, &registry) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn execute(cli: Cli, registry: &Registry) -> Result<ExitCode> {
    let backend = cli.backend;
    match cli.command {
        Command::Run {
            paths,
            out,
            no_plots,
            shard,
            report,
        } => run(&paths, out.as_deref(), !no_plots, shard, report, backend, registry),
        Command::Merge { dirs, out, no_plots } => merge(&dirs, out.as_deref(), !no_plots, backend, registry),
        Command::Report { dir } => write_report(&dir, registry, &backend.device()?).map(|_| ExitCode::SUCCESS),
        Command::List => {
            print!("{}", list(registry));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            surfaces,
            points,
            tolerance,
        } => check(&surfaces, points, tolerance, backend, registry),
        Command::Plot { paths } => plot_files(&paths, backend, registry),
        Command::Accept { paths } => accept(paths),
        Command::Diff {
            paths,
            baseline,
            rtol,
            atol,
            write_new,
        } => compare(paths, &baseline, Tolerance { rtol, atol }, write_new, backend, registry),
        Command::Bench {
            which,
            points,
            experiment,
        } => bench::run(which, points, &experiment, backend, registry).map(|()| ExitCode::SUCCESS),
    }
}

/// `run`: every job under `paths` into its results folder, then the report when asked.
fn run(
    paths: &[PathBuf],
    out: Option<&Path>,
    figures: bool,
    shard: Option<[usize; 2]>,
    with_report: bool,
    backend: Backend,
    registry: &Registry,
) -> Result<ExitCode> {
    let results = out.unwrap_or(Path::new(RESULTS));
    let device = backend.device()?;
    let jobs = results::load_all(paths, results, registry, &device)?;
    let bars = Bars::new(jobs.len() as u64);
    let started = std::time::Instant::now();
    let settings = Run {
        registry,
        device: &device,
        figures,
        shard,
        progress: &bars,
    };
    for (job, dir) in &jobs {
        bars.overall.set_message(job.name().to_string());
        job.run_into(dir, &settings)?;
        bars.overall.inc(1);
    }
    bars.clear();
    println!(
        "{} experiment(s) in {:.1} s (peak memory {:.0} MB); results{} in:",
        jobs.len(),
        started.elapsed().as_secs_f64(),
        peak_rss_mb(),
        if figures { " and figures" } else { "" }
    );
    for (_, dir) in &jobs {
        println!("  {}", dir.path().display());
    }
    if with_report {
        write_report(results, registry, &device)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `merge`: shard folders into their study's files.
fn merge(
    dirs: &[PathBuf],
    out: Option<&Path>,
    figures: bool,
    backend: Backend,
    registry: &Registry,
) -> Result<ExitCode> {
    let device = backend.device()?;
    let bars = Bars::new(0);
    let settings = Run {
        registry,
        device: &device,
        figures,
        shard: None,
        progress: &bars,
    };
    let dir = pipeline::merge(dirs, out, &settings)?;
    bars.clear();
    println!("merged {} shards into {}", dirs.len(), dir.path().display());
    Ok(ExitCode::SUCCESS)
}

/// `check`: surfaces' autodiff gradients against central differences.
fn check(
    surfaces: &[String],
    points: usize,
    tolerance: f64,
    backend: Backend,
    registry: &Registry,
) -> Result<ExitCode> {
    let device = backend.device()?;
    let names: Vec<String> = if surfaces.is_empty() {
        registry.surfaces().iter().map(|s| s.name.clone()).collect()
    } else {
        surfaces.to_vec()
    };
    let mut failed = 0;
    for name in &names {
        let surface = registry.require_surface(name).in_file("check")?;
        let report = crate::surface::check_with(surface, points.max(1), 0, &device);
        let verdict = if report.passes(tolerance) { "ok  " } else { "FAIL" };
        failed += usize::from(!report.passes(tolerance));
        println!("{verdict} {name:<18} {report}");
    }
    println!("{} ok, {failed} failed (tolerance {tolerance:e})", names.len() - failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `plot`: redraws the figures of trajectory files beside them.
fn plot_files(paths: &[PathBuf], backend: Backend, registry: &Registry) -> Result<ExitCode> {
    let device = backend.device()?;
    for path in paths {
        let trajectories = Trajectories::load(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let surface = trajectories.resolve_surface(registry, path, &device)?;
        for written in plot::draw_figures(&trajectories, &surface, &device, dir, None)? {
            println!("{}", written.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `accept`: moves reviewed `.new` results onto their baselines.
fn accept(paths: Vec<PathBuf>) -> Result<ExitCode> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(RESULTS)]
    } else {
        paths
    };
    let accepted = diff::accept(&paths)?;
    for path in &accepted {
        println!("accepted {}", path.display());
    }
    if accepted.is_empty() {
        println!("nothing to accept: no *.json.new under the given paths");
    }
    Ok(ExitCode::SUCCESS)
}

/// `diff`: two trajectory files, or experiments re-run against their baselines.
fn compare(
    paths: Vec<PathBuf>,
    baseline: &Path,
    tol: Tolerance,
    write_new: bool,
    backend: Backend,
    registry: &Registry,
) -> Result<ExitCode> {
    if !(tol.rtol >= 0.0 && tol.atol >= 0.0) {
        return Err(Error::input("--rtol/--atol", "", "expected tolerances >= 0"));
    }
    // Two trajectory files compare directly; anything else names experiments.
    let pair = match paths.as_slice() {
        [a, b] if a.is_file() && b.is_file() => Trajectories::load(a).ok().zip(Trajectories::load(b).ok()),
        _ => None,
    };
    let mut report = if let Some((a, b)) = &pair {
        diff::files((&paths[0], a), (&paths[1], b), tol)?
    } else {
        let paths = if paths.is_empty() {
            vec![PathBuf::from("experiments")]
        } else {
            paths
        };
        diff::experiments(&paths, baseline, tol, registry, &backend.device()?)?
    };
    if write_new {
        report.write_new()?;
    }
    println!("{report}");
    Ok(if report.clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes the report of `results` and says where it is and what it could not read.
fn write_report(results: &Path, registry: &Registry, device: &Device) -> Result<()> {
    let started = std::time::Instant::now();
    let written = crate::report::write(results, registry, device)?;
    let broken: Vec<_> = written.broken().collect();
    for (entry, reason) in &broken {
        println!("unreadable: {}: {reason}", entry.dir.display());
    }
    let undrawn: Vec<_> = written.undrawn().collect();
    for (entry, reason) in &undrawn {
        eprintln!(
            "warning: {}: its view has no contour image: {reason}",
            results.join(&entry.dir).display()
        );
    }
    if !undrawn.is_empty() {
        eprintln!(
            "warning: {} view(s) drawn without their surface; a surface registered by your own program is known \
             only to that program: run the report with the binary that knows the surface (`cargo run --release \
             -- report {}` in your crate, or `--example NAME -- report ...`)",
            undrawn.len(),
            results.display()
        );
    }
    println!(
        "report of {} result(s), {} interactive view(s){} in {:.2} s: {}",
        written.entries.len(),
        written.views.len(),
        if broken.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable", broken.len())
        },
        started.elapsed().as_secs_f64(),
        written.index.display()
    );
    Ok(())
}

/// A progress bar over GIF frames.
struct FrameBar(ProgressBar);

impl FrameProgress for FrameBar {
    fn start(&self, frames: u64) {
        self.0.set_length(frames);
        self.0.set_position(0);
    }
    fn advance(&self) {
        self.0.inc(1);
    }
}

/// The progress bars of `run`: experiments, steps (or a study's row-steps) and GIF frames.
struct Bars {
    multi: indicatif::MultiProgress,
    overall: ProgressBar,
    steps: ProgressBar,
    frames: FrameBar,
}

impl Bars {
    fn new(experiments: u64) -> Self {
        Self::drawn_on(experiments, indicatif::ProgressDrawTarget::stderr())
    }

    fn drawn_on(experiments: u64, target: indicatif::ProgressDrawTarget) -> Self {
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} {eta}")
            .expect("valid template")
            .progress_chars("=> ");
        let multi = indicatif::MultiProgress::with_draw_target(target);
        let overall = multi.add(
            ProgressBar::new(experiments)
                .with_style(style.clone())
                .with_prefix("experiments"),
        );
        let steps = multi.add(ProgressBar::new(0).with_style(style.clone()).with_prefix("steps"));
        let frames = multi.add(ProgressBar::new(0).with_style(style).with_prefix("frames"));
        Bars {
            multi,
            overall,
            steps,
            frames: FrameBar(frames),
        }
    }

    fn clear(&self) {
        self.frames.0.finish_and_clear();
        self.steps.finish_and_clear();
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Progress for Bars {
    fn start(&self, name: &str, total: u64) {
        // Position first: a bar drawn in between shows 0 of the new total, never the last
        // job's count over it (a study's 1536000 row-steps over its tuned run's 200 steps).
        self.steps.set_position(0);
        self.steps.set_message(name.to_string());
        self.steps.set_length(total);
    }
    fn set(&self, done: u64) {
        self.steps.set_position(done);
        // The end is always shown, even when it comes sooner than the bar redraws.
        if Some(done) == self.steps.length() {
            self.steps.force_draw();
        }
    }
    fn say(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }
    fn frames(&self) -> Option<&dyn FrameProgress> {
        Some(&self.frames)
    }
}

fn list(registry: &Registry) -> String {
    let mut out = String::from("Surfaces (name, formula, domain, known stationary points):\n");
    for s in registry.surfaces() {
        out.push_str(&format!("  {:<17} {}\n", s.name, s.formula));
        let points: Vec<String> = s
            .stationary
            .iter()
            .map(|p| {
                let kind = match p.kind {
                    Kind::Minimum => "minimum",
                    Kind::Saddle => "saddle",
                };
                format!("{kind} f({:.6}, {:.6}) = {:.6}", p.point[0], p.point[1], p.value)
            })
            .collect();
        out.push_str(&format!("  {:<17} domain {}; {}\n", "", s.domain, points.join("; ")));
    }
    for (source, title) in [
        (Source::Keras, "Keras"),
        (Source::Optax, "optax"),
        (Source::Paper, "from the paper"),
    ] {
        let entries: Vec<_> = registry.optimizers().iter().filter(|o| o.source == source).collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\nOptimizers ({title}): hyperparameter = default, allowed values, meaning\n"
        ));
        if source == Source::Keras {
            out.push_str(
                "  A run without learning_rate gets Keras's default (0.001 for most): small on these surfaces, \
                 where such a run barely moves in 100 steps; its default label says \"lr=0.001 (default)\".\n",
            );
        }
        for o in entries {
            out.push_str(&format!("  {:<19} {}\n", o.name, o.description));
            let defaults = o.defaults().hyperparameters();
            for p in o.params {
                let mut default = defaults.get(p.name).map_or(String::new(), |v| v.to_string());
                if p.name == "learning_rate" && source == Source::Keras {
                    default.push_str(" (Keras's default, used when a run omits it)");
                }
                let range = p.range.map_or(String::new(), |r| format!("; {r}"));
                out.push_str(&format!(
                    "                {}={default}{range}; {}\n",
                    p.name,
                    p.doc.trim()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A terminal that keeps every line drawn on it.
    #[derive(Debug, Default, Clone)]
    struct Recorder(Arc<Mutex<Vec<String>>>);

    impl indicatif::TermLike for Recorder {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.write_line(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A study's row-steps, then its tuned run's steps: no drawn steps bar counts past its
    /// total, and each job's end is drawn.
    #[test]
    fn the_steps_bar_never_shows_one_jobs_count_over_anothers_total() {
        let term = Recorder::default();
        let target = indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(term.clone()), 200);
        let bars = Bars::drawn_on(2, target);
        bars.start("study", 1_536_000);
        for k in 1..=200u64 {
            bars.set(k * 7680);
        }
        bars.start("study-tuned", 200);
        for k in 1..=200 {
            bars.set(k);
        }
        let lines = term.0.lock().unwrap().clone();
        let steps: Vec<&String> = lines.iter().filter(|l| l.contains("steps [")).collect();
        assert!(!steps.is_empty(), "{lines:?}");
        for line in &steps {
            let counts = line
                .split(']')
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .unwrap();
            let (done, total) = counts.split_once('/').unwrap();
            let (done, total): (u64, u64) = (done.parse().unwrap(), total.parse().unwrap());
            assert!(done <= total, "drawn: {line}");
        }
        assert!(steps.iter().any(|l| l.contains("1536000/1536000")), "{steps:?}");
        assert!(steps.last().unwrap().contains("200/200"), "{steps:?}");
    }
}
