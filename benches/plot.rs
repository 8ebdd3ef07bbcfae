//! Times the figure pair of the post's ten-optimizer comparison over f0 (10 runs x 101 points,
//! 900x900, `experiments/blog/all-f0.json`): surface GIF + loss GIF, and prints seconds, bytes
//! and peak memory.
//!
//! `cargo bench --bench plot` (add a folder argument after `--` to keep the figures there).

use optsurf::Registry;
use optsurf::backend::Backend;
use optsurf::experiment::Experiment;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() -> optsurf::Result<()> {
    let keep: Option<PathBuf> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from);
    // The post's ten-optimizer comparison over f0, with a legend so that every layer is drawn.
    let mut experiment = Experiment::load(
        Path::new("experiments/blog/all-f0.json"),
        &Registry::builtin(),
        &optsurf::backend::Backend::default().device().unwrap(),
    )?;
    experiment.plot.legend = true;
    let device = Backend::Ndarray.device()?;
    let traj = experiment.run(&device);
    let surface = &experiment.surface;
    let mesh = surface.on_mesh(&surface.noise(traj.noise, &device), &device);
    let frames = optsurf::plot::frame_count(&traj);

    let t = Instant::now();
    let s = optsurf::plot::surface_figure(&traj, surface, &mesh, true, None)?;
    let t_surface = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let l = optsurf::plot::loss_figure(&traj, true, None)?.expect("runs have points");
    let t_loss = t.elapsed().as_secs_f64();

    let dir = match &keep {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("optsurf-bench-{}", std::process::id())),
    };
    let t = Instant::now();
    let written = optsurf::plot::draw_all(&traj, surface, &mesh, &dir, None)?;
    let t_all = t.elapsed().as_secs_f64();
    let size = |name: &str| std::fs::metadata(dir.join(name)).map(|m| m.len()).unwrap_or(0);

    println!("figures of 10 runs x {frames} points over f0, 900x900:");
    println!("  surface (PNG + GIF, one thread): {t_surface:.3} s");
    println!("  loss    (PNG + GIF, one thread): {t_loss:.3} s");
    println!("  sum of both:                     {:.3} s", t_surface + t_loss);
    println!("  draw_all (both in parallel, files written): {t_all:.3} s");
    println!(
        "  surface.gif {} bytes, loss.gif {} bytes",
        s.gif.as_ref().map_or(0, Vec::len),
        l.gif.as_ref().map_or(0, Vec::len)
    );
    println!("  surface.png {} bytes, loss.png {} bytes", s.png.len(), l.png.len());
    println!(
        "  files: {}",
        written
            .iter()
            .map(|p| format!(
                "{} ({} B)",
                p.display(),
                size(p.file_name().and_then(|n| n.to_str()).unwrap_or(""))
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  peak memory (VmHWM): {:.1} MB", optsurf::cli::peak_rss_mb());
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
