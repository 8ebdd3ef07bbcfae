//! The `optsurf` command line.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use optsurf::backend::Backend;
use optsurf::experiment::runner::{self, Observer};
use optsurf::experiment::trajectory::Trajectories;
use optsurf::experiment::{self, Experiment};
use optsurf::{Result, optim, surface};
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
    }
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

fn run(paths: &[PathBuf], out: Option<&Path>, _no_plots: bool, backend: Backend) -> Result<()> {
    let results = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("results"));
    let experiments = experiment::load_all(paths, &results)?;
    let device = backend.device()?;
    let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
        .expect("valid template")
        .progress_chars("=> ");
    let overall = ProgressBar::new(experiments.len() as u64)
        .with_style(style.clone())
        .with_prefix("experiments");
    let steps = ProgressBar::hidden().with_style(style).with_prefix("steps");
    let multi = indicatif::MultiProgress::new();
    let overall = multi.add(overall);
    let steps = multi.add(steps);
    steps.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    for (experiment, dir) in &experiments {
        let mut bar = StepBar { bar: steps.clone() };
        let mut writer = JsonWriter { dir: dir.clone() };
        runner::run(experiment, &device, &mut [&mut bar, &mut writer])?;
        overall.inc(1);
    }
    steps.finish_and_clear();
    overall.finish_and_clear();
    for (_, dir) in &experiments {
        println!("{}", dir.join("trajectories.json").display());
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
