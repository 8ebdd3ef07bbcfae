//! Figures: decode the PNGs and GIFs `crate::plot` writes and check what a reader would see.

use crate::Registry;
use crate::backend::Backend;
use crate::experiment::{Experiment, SurfaceSpec};
use crate::plot::surface3d::SurfaceLayout;
use crate::plot::{self, FrameProgress, PlotSpec, View, YLim};
use crate::results::{RunTrajectory, Status, Trajectories};
use crate::surface::{Domain, Surface};
use crate::tempfile;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Three runs from three corners so their paths stay apart.
const THREE: &str = r#"{"name": "three", "surface": "f0", "start": [9.0, 9.0], "steps": 12,
  "plot": {"view": [40, -60], "size": [720, 640], "frame_ms": 70, "legend": false},
  "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 20.0},
           {"label": "Adam", "optimizer": "adam", "learning_rate": 0.8, "start": [-8.0, 7.0]},
           {"label": "AdamW", "optimizer": "adamw", "learning_rate": 0.8, "start": [6.0, -8.5]}]}"#;

fn run(json: &str) -> Trajectories {
    let exp = Experiment::parse(
        json,
        Path::new("test.json"),
        &Registry::builtin(),
        &crate::backend::Backend::default().device().unwrap(),
    )
    .expect("valid experiment");
    let device = Backend::default().device().expect("the default device");
    exp.run(&device)
}

fn surface(traj: &Trajectories) -> Surface {
    traj.resolve_surface(
        &Registry::builtin(),
        Path::new("test.json"),
        &crate::backend::Backend::default().device().unwrap(),
    )
    .expect("known surface")
}

fn mesh(traj: &Trajectories) -> Vec<f32> {
    let device = Backend::default().device().expect("the default device");
    let s = surface(traj);
    s.on_mesh(&s.noise(traj.noise, &device), &device)
}

/// `plot::draw_all` over the trajectories' own surface.
fn draw_all(
    traj: &Trajectories,
    mesh: &[f32],
    dir: &Path,
    progress: Option<&dyn FrameProgress>,
) -> crate::Result<Vec<std::path::PathBuf>> {
    plot::draw_all(traj, &surface(traj), mesh, dir, progress)
}

/// `plot::surface_figure` over the trajectories' own surface.
fn surface_figure(traj: &Trajectories, mesh: &[f32], animated: bool) -> crate::Result<plot::Figure> {
    plot::surface_figure(traj, &surface(traj), mesh, animated, None)
}

/// Counts the frames figures report.
#[derive(Default)]
struct Count {
    length: AtomicU64,
    position: AtomicU64,
}

impl FrameProgress for Count {
    fn start(&self, frames: u64) {
        self.length.store(frames, Ordering::SeqCst);
        self.position.store(0, Ordering::SeqCst);
    }
    fn advance(&self) {
        self.position.fetch_add(1, Ordering::SeqCst);
    }
}

impl Count {
    fn length(&self) -> Option<u64> {
        Some(self.length.load(Ordering::SeqCst))
    }
    fn position(&self) -> u64 {
        self.position.load(Ordering::SeqCst)
    }
}

pub(super) struct Image {
    pub(super) w: usize,
    pub(super) h: usize,
    rgb: Vec<u8>,
}

impl Image {
    pub(super) fn at(&self, x: usize, y: usize) -> [u8; 3] {
        let o = (y * self.w + x) * 3;
        [self.rgb[o], self.rgb[o + 1], self.rgb[o + 2]]
    }

    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]])
    }

    /// Pixels within `r` of `(cx, cy)` closer than `tol` to `color`.
    pub(super) fn count_near(&self, cx: f64, cy: f64, r: f64, color: [u8; 3], tol: f64) -> usize {
        let mut n = 0;
        let (x0, x1) = (
            (cx - r).floor().max(0.0) as usize,
            ((cx + r).ceil() as usize).min(self.w - 1),
        );
        let (y0, y1) = (
            (cy - r).floor().max(0.0) as usize,
            ((cy + r).ceil() as usize).min(self.h - 1),
        );
        for y in y0..=y1 {
            for x in x0..=x1 {
                let d2 = (x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2);
                if d2 <= r * r && dist(self.at(x, y), color) <= tol {
                    n += 1;
                }
            }
        }
        n
    }
}

/// Keeps a figure for a person to look at when `OPTSURF_PLOT_KEEP` names a folder.
pub(super) fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("OPTSURF_PLOT_KEEP") {
        let _ = std::fs::write(Path::new(&dir).join(name), bytes);
    }
}

pub(super) fn dist(a: [u8; 3], b: [u8; 3]) -> f64 {
    (0..3).map(|k| (a[k] as f64 - b[k] as f64).powi(2)).sum::<f64>().sqrt()
}

pub(super) fn decode_png(bytes: &[u8]) -> Image {
    let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size().expect("size")];
    let info = r.next_frame(&mut buf).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    Image {
        w: info.width as usize,
        h: info.height as usize,
        rgb: buf,
    }
}

pub(super) struct Gif {
    w: usize,
    h: usize,
    /// Composited frames that were asked for, by index.
    kept: Vec<(usize, Image)>,
    pub(super) delays: Vec<u16>,
    keep_disposal: bool,
    repeat: gif::Repeat,
}

/// Decodes a GIF, compositing frames as a viewer does (Keep disposal, transparency).
pub(super) fn decode_gif(bytes: &[u8], keep: impl Fn(usize) -> bool) -> Gif {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut d = opts.read_info(bytes).expect("a GIF");
    let (w, h) = (d.width() as usize, d.height() as usize);
    let mut screen = vec![0u8; w * h * 3];
    let (mut kept, mut delays, mut keep_disposal) = (Vec::new(), Vec::new(), true);
    let mut i = 0;
    while let Some(f) = d.read_next_frame().expect("a valid frame") {
        let (fw, fh) = (f.width as usize, f.height as usize);
        assert!(
            f.left as usize + fw <= w && f.top as usize + fh <= h,
            "frame inside the screen"
        );
        for y in 0..fh {
            for x in 0..fw {
                let s = (y * fw + x) * 4;
                if f.buffer[s + 3] == 0 {
                    continue;
                }
                let o = ((f.top as usize + y) * w + f.left as usize + x) * 3;
                screen[o..o + 3].copy_from_slice(&f.buffer[s..s + 3]);
            }
        }
        delays.push(f.delay);
        keep_disposal &= matches!(f.dispose, gif::DisposalMethod::Keep | gif::DisposalMethod::Any);
        if keep(i) {
            kept.push((
                i,
                Image {
                    w,
                    h,
                    rgb: screen.clone(),
                },
            ));
        }
        i += 1;
    }
    Gif {
        w,
        h,
        kept,
        delays,
        keep_disposal,
        repeat: d.repeat(),
    }
}

pub(super) fn frame(g: &Gif, i: usize) -> &Image {
    &g.kept.iter().find(|(k, _)| *k == i).expect("frame kept").1
}

#[test]
fn surface_and_loss_files_have_the_asked_shape() {
    let traj = run(THREE);
    let dir = tempfile::tempdir().unwrap();
    let bar = Count::default();
    let written = draw_all(&traj, &mesh(&traj), dir.path(), Some(&bar)).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["surface.png", "surface.gif", "loss.png", "loss.gif"]);
    // Written atomically: nothing else is left in the folder.
    let mut listed: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ["loss.gif", "loss.png", "surface.gif", "surface.png"]);
    // The bar counted every GIF frame of both animations.
    assert_eq!(bar.length(), Some(2 * 13));
    assert_eq!(bar.position(), 2 * 13);
    for name in ["surface", "loss"] {
        let png = decode_png(&std::fs::read(dir.path().join(format!("{name}.png"))).unwrap());
        assert_eq!((png.w, png.h), (720, 640), "{name}.png size");
        let gif = decode_gif(&std::fs::read(dir.path().join(format!("{name}.gif"))).unwrap(), |i| {
            i == 12
        });
        assert_eq!((gif.w, gif.h), (720, 640), "{name}.gif size");
        assert_eq!(gif.delays.len(), 13, "{name}.gif: one frame per point");
        assert!(
            gif.delays.iter().all(|&d| d == 7),
            "{name}.gif: delay frame_ms / 10 centiseconds"
        );
        assert_eq!(gif.repeat, gif::Repeat::Infinite, "{name}.gif loops");
        assert!(gif.keep_disposal, "{name}.gif frames keep what is under them");
        // The GIF's last frame is the PNG up to palette quantization.
        let last = frame(&gif, 12);
        let mean: f64 = last
            .rgb
            .iter()
            .zip(&png.rgb)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / png.rgb.len() as f64;
        assert!(
            mean < 2.0,
            "{name}: GIF last frame differs from the PNG by {mean} on average"
        );
    }
}

#[test]
fn surface_pixels_lie_on_the_cool_colormap() {
    let mut traj = run(THREE);
    traj.runs.clear();
    traj.plot.size = [450, 450];
    let fig = surface_figure(&traj, &mesh(&traj), false).unwrap();
    let img = decode_png(&fig.png);
    let (mut colourful, mut on_map, mut cyan, mut magenta) = (0usize, 0usize, 0usize, 0usize);
    for [r, g, b] in img.pixels() {
        let (mx, mn) = (r.max(g).max(b), r.min(g).min(b));
        if mx - mn < 40 {
            continue; // background, greys of the axes
        }
        colourful += 1;
        // cool(t) = (t, 1 - t, 1); the faint mesh lines and edges blend it with white.
        if b >= 250 && (r as u32 + g as u32) >= 250 {
            on_map += 1;
        }
        cyan += (g > 215 && r < 40) as usize;
        magenta += (r > 215 && g < 40) as usize;
    }
    assert!(
        colourful > img.w * img.h / 5,
        "the surface covers a good part of the figure: {colourful}"
    );
    assert!(
        on_map as f64 >= 0.995 * colourful as f64,
        "{on_map} of {colourful} colourful pixels on the colormap"
    );
    assert!(
        cyan > 100 && magenta > 100,
        "the colormap's whole range is used: {cyan} cyan, {magenta} magenta"
    );
}

#[test]
fn trajectories_appear_where_their_points_project_and_dots_move() {
    let traj = run(THREE);
    let mesh = mesh(&traj);
    let layout = SurfaceLayout::new(&traj.plot, &mesh, Domain::POST).unwrap();
    let fig = surface_figure(&traj, &mesh, true).unwrap();
    keep("three-surface.png", &fig.png);
    keep("three-surface.gif", fig.gif.as_ref().unwrap());
    let png = decode_png(&fig.png);
    let gif = decode_gif(fig.gif.as_ref().unwrap(), |_| true);
    let set2 = [[0x66, 0xc2, 0xa5], [0xfc, 0x8d, 0x62], [0x8d, 0xa0, 0xcb]];
    for (run, color) in traj.runs.iter().zip(set2) {
        let px: Vec<[f64; 2]> = run
            .points
            .iter()
            .zip(&run.loss)
            .map(|(p, &l)| layout.to_pixel(p[0] as f64, p[1] as f64, l as f64))
            .collect();
        // The path: the run's colour next to every projected point.
        for (k, p) in px.iter().enumerate() {
            assert!(
                png.count_near(p[0], p[1], 2.5, color, 30.0) > 0,
                "{}: no colour near point {k} at {p:?}",
                run.label
            );
        }
        let last = frame(&gif, px.len() - 1);
        let end = px[px.len() - 1];
        assert!(
            last.count_near(end[0], end[1], 3.0, color, 30.0) >= 20,
            "{}: dot at the last point",
            run.label
        );
        // Frame k: a dot at point k, and no path yet beyond it.
        for k in [0, 3, 6] {
            let f = frame(&gif, k);
            let p = px[k];
            assert!(
                f.count_near(p[0], p[1], 3.0, color, 30.0) >= 20,
                "{}: dot at point {k} in frame {k}",
                run.label
            );
            let far = px[px.len() - 1];
            if (far[0] - p[0]).hypot(far[1] - p[1]) > 25.0 {
                assert_eq!(
                    f.count_near(far[0], far[1], 3.0, color, 30.0),
                    0,
                    "{}: path drawn ahead of frame {k}",
                    run.label
                );
            }
        }
    }
}

#[test]
fn legend_only_when_asked() {
    let mut traj = run(THREE);
    let mesh = mesh(&traj);
    let without = decode_png(&surface_figure(&traj, &mesh, false).unwrap().png);
    traj.plot.legend = true;
    let fig = surface_figure(&traj, &mesh, false).unwrap();
    keep("three-legend.png", &fig.png);
    let with = decode_png(&fig.png);
    let (mut differ, mut dark) = (0, 0);
    for (a, b) in with.pixels().zip(without.pixels()) {
        if a != b {
            differ += 1;
            if a.iter().all(|&c| c < 90) {
                dark += 1;
            }
        }
    }
    assert!(differ > 1000, "the legend box is drawn: {differ} pixels changed");
    assert!(dark > 150, "its text is dark: {dark} pixels");
}

#[test]
fn loss_chart_shows_every_run() {
    let traj = run(THREE);
    let fig = plot::loss_figure(&traj, true, None).unwrap().expect("runs have points");
    let png = decode_png(&fig.png);
    assert_eq!((png.w, png.h), (720, 640));
    for color in [[0x66, 0xc2, 0xa5], [0xfc, 0x8d, 0x62], [0x8d, 0xa0, 0xcb]] {
        let n = png.pixels().filter(|&p| dist(p, color) < 12.0).count();
        assert!(n > 60, "colour {color:?} drawn ({n} pixels)");
    }
    let gif = decode_gif(fig.gif.as_ref().unwrap(), |_| false);
    assert_eq!(gif.delays.len(), 13);
    // Given colours replace Set2.
    let mut traj = traj;
    traj.plot.colors = Some(vec!["#ff0000".into(), "#00aa00".into(), "#0000ff".into()]);
    let fig = plot::loss_figure(&traj, false, None).unwrap().unwrap();
    keep("three-loss-colors.png", &fig.png);
    let png = decode_png(&fig.png);
    for color in [[255, 0, 0], [0, 170, 0], [0, 0, 255]] {
        assert!(
            png.pixels().filter(|&p| dist(p, color) < 12.0).count() > 60,
            "given colour {color:?} drawn"
        );
    }
}

#[test]
fn auto_loss_limits_follow_the_post() {
    // The figure itself cannot tell its limits; a loss chart with given limits that exclude
    // every value shows no line pixels.
    let mut traj = run(THREE);
    traj.plot.loss_ylim = YLim::Range([50.0, 60.0]);
    let png = decode_png(&plot::loss_figure(&traj, false, None).unwrap().unwrap().png);
    let lines = png.pixels().filter(|&p| dist(p, [0x66, 0xc2, 0xa5]) < 12.0).count();
    // Only the legend handle and the end label (outside the plot area) remain.
    assert!(lines < 200, "lines are clipped to the limits ({lines} pixels)");
}

fn hand_run(label: &str, points: Vec<[f32; 2]>, loss: Vec<f32>) -> RunTrajectory {
    let n = points.len();
    RunTrajectory {
        label: label.into(),
        optimizer: "sgd".into(),
        hyperparameters: serde_json::Map::new(),
        grads: vec![[0.0, 0.0]; n.saturating_sub(1)],
        points,
        loss,
        learning_rates: None,
        eval_points: None,
        batch_loss: None,
        batch_size: None,
        seed: None,
        sigma: None,
        test_loss: None,
        accuracy: None,
        test_accuracy: None,
        snapshots: None,
        start: None,
        status: Status::Ok,
        diverged_at: None,
    }
}

fn hand_traj(runs: Vec<RunTrajectory>) -> Trajectories {
    Trajectories {
        name: "hand".into(),
        title: None,
        surface: SurfaceSpec::Name("f0".into()),
        domain: None,
        steps: 5,
        noise: Default::default(),
        plot: PlotSpec {
            size: [300, 300],
            ..PlotSpec::default()
        },
        eval_steps: None,
        params: None,
        runs,
    }
}

#[test]
fn empty_experiment_draws_the_surface_alone() {
    let traj = hand_traj(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let written = draw_all(&traj, &mesh(&traj), dir.path(), None).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["surface.png", "surface.gif"]);
    let gif = decode_gif(&std::fs::read(dir.path().join("surface.gif")).unwrap(), |_| false);
    assert_eq!(gif.delays.len(), 1);
}

#[test]
fn diverged_and_odd_runs_still_draw() {
    let long = hand_run(
        "long",
        vec![[9.0, 9.0], [8.0, 8.0], [7.0, 7.0], [6.0, 6.0], [5.0, 5.0], [4.0, 4.0]],
        vec![1.6, 1.3, 1.0, 0.7, 0.5, 0.3],
    );
    let mut short = hand_run("diverged", vec![[-9.0, 9.0], [-9.5, 9.9]], vec![1.6, 1.8]);
    short.status = Status::Diverged;
    short.diverged_at = Some(2);
    let huge = hand_run(
        "huge",
        vec![[0.0, 0.0], [1e30, -1e30], [f32::NAN, 0.0]],
        vec![0.0, f32::INFINITY, f32::NAN],
    );
    let empty = hand_run("empty", vec![], vec![]);
    let mut traj = hand_traj(vec![long, short, huge, empty]);
    traj.plot.legend = true;
    let dir = tempfile::tempdir().unwrap();
    let written = draw_all(&traj, &mesh(&traj), dir.path(), None).unwrap();
    assert_eq!(written.len(), 4);
    let gif = decode_gif(&std::fs::read(dir.path().join("loss.gif")).unwrap(), |_| false);
    assert_eq!(gif.delays.len(), 6, "as many frames as the longest run has points");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let traj = hand_traj(vec![hand_run("a", vec![[1.0, 1.0]], vec![0.1])]);
    let dir = tempfile::tempdir().unwrap();
    let err = draw_all(&traj, &[0.0; 10], dir.path(), None).unwrap_err();
    assert!(matches!(err, crate::Error::Plot(_)), "{err}");
    let mesh = mesh(&traj);
    for bad in [
        PlotSpec {
            frame_ms: 0,
            ..traj.plot.clone()
        },
        PlotSpec {
            size: [10, 10],
            ..traj.plot.clone()
        },
        PlotSpec {
            view: View::Camera([f64::NAN, 0.0]),
            ..traj.plot.clone()
        },
        PlotSpec {
            zlim: YLim::Range([1.0, 0.0]),
            ..traj.plot.clone()
        },
        PlotSpec {
            colors: Some(vec!["teal".into()]),
            ..traj.plot.clone()
        },
    ] {
        let t = Trajectories {
            plot: bad,
            ..traj.clone()
        };
        let err = draw_all(&t, &mesh, dir.path(), None).unwrap_err();
        assert!(matches!(err, crate::Error::Plot(_)), "{err}");
    }
    let err = plot::draw_vectors(&[[1.0, 1.0]], &[], [-1.0, 1.0], [0.0, 1.0], &dir.path().join("a.png")).unwrap_err();
    assert!(matches!(err, crate::Error::Plot(_)), "{err}");
    let err = plot::draw_vectors(&[], &[], [1.0, -1.0], [0.0, 1.0], &dir.path().join("a.png")).unwrap_err();
    assert!(matches!(err, crate::Error::Plot(_)), "{err}");
    // An unwritable target is an I/O error.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = draw_all(&traj, &mesh, &blocker.join("sub"), None).unwrap_err();
    assert!(matches!(err, crate::Error::Io { .. }), "{err}");
}

#[test]
fn adagrad_arrows_are_grey_and_teal() {
    // The post's diagonal AdaGrad: g_t uniform in [0, 0.5) x [0, 2), v_t = g_t / sqrt(sum g^2).
    let mut x = 53u64;
    let mut uniform = || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut grads, mut updates, mut sum) = (Vec::new(), Vec::new(), [0.0f64; 2]);
    for _ in 0..8 {
        let g = [uniform() * 0.5, uniform() * 2.0];
        sum = [sum[0] + g[0] * g[0], sum[1] + g[1] * g[1]];
        updates.push([g[0] / (sum[0].sqrt() + 1e-5), g[1] / (sum[1].sqrt() + 1e-5)]);
        grads.push(g);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arrows.png");
    plot::draw_vectors(&grads, &updates, [0.0, 1.2], [0.0, 1.2], &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    keep("arrows.png", &bytes);
    let img = decode_png(&bytes);
    assert_eq!((img.w, img.h), (900, 900));
    let grey = img
        .pixels()
        .filter(|p| p[0] == p[1] && p[1] == p[2] && p[0] < 150)
        .count();
    let teal = img
        .pixels()
        .filter(|p| p[0] < 90 && p[1] > 100 && (p[1] as i32 - p[2] as i32).abs() < 4)
        .count();
    assert!(grey > 200, "grey gradient arrows ({grey} pixels)");
    assert!(teal > 200, "teal update arrows ({teal} pixels)");
}

#[test]
fn stills_only_when_not_animated_and_no_loss_chart_when_off() {
    let mut traj = run(THREE);
    traj.plot.animate = false;
    traj.plot.loss = false;
    let dir = tempfile::tempdir().unwrap();
    let bar = Count::default();
    let written = draw_all(&traj, &mesh(&traj), dir.path(), Some(&bar)).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["surface.png"]);
    assert_eq!(bar.length(), Some(0));
}

#[test]
fn any_view_and_odd_meshes_draw() {
    let mut traj = run(THREE);
    traj.plot.size = [360, 300];
    let good = mesh(&traj);
    for view in [
        [90.0, 0.0],
        [0.0, 0.0],
        [-30.0, 45.0],
        [30.0, 180.0],
        [60.0, 270.0],
        [10.0, -135.0],
    ] {
        traj.plot.view = View::Camera(view);
        let fig = surface_figure(&traj, &good, false).unwrap();
        keep(&format!("view-{}-{}.png", view[0], view[1]), &fig.png);
        let img = decode_png(&fig.png);
        let colourful = img
            .pixels()
            .filter(|p| p.iter().max().unwrap() - p.iter().min().unwrap() > 40)
            .count();
        assert!(
            colourful > img.w * img.h / 20,
            "view {view:?}: the surface is visible ({colourful} pixels)"
        );
    }
    // A mesh with holes and one with nothing finite: drawn without the missing quads.
    let mut holes = good.clone();
    for z in holes.iter_mut().step_by(7) {
        *z = f32::NAN;
    }
    surface_figure(&traj, &holes, false).unwrap();
    surface_figure(&traj, &vec![f32::NAN; good.len()], false).unwrap();
    // A surface far outside given z limits is drawn where it falls, as matplotlib does.
    traj.plot.zlim = YLim::Range([100.0, 101.0]);
    surface_figure(&traj, &good, false).unwrap();
}

/// How far apart two images of one size are.
#[derive(Default)]
struct PixelDiff {
    /// Sum of absolute channel differences.
    sum: f64,
    /// Channels compared.
    n: usize,
    /// Largest channel difference.
    max: u8,
    /// Pixels with some channel more than 64 apart.
    far: usize,
}

impl PixelDiff {
    fn add(&mut self, a: &Image, b: &Image) {
        assert_eq!((a.w, a.h), (b.w, b.h), "same size");
        for (p, q) in a.rgb.chunks_exact(3).zip(b.rgb.chunks_exact(3)) {
            let d = (0..3).map(|k| p[k].abs_diff(q[k])).max().unwrap_or(0);
            self.sum += (0..3).map(|k| p[k].abs_diff(q[k]) as f64).sum::<f64>();
            self.max = self.max.max(d);
            self.far += (d > 64) as usize;
        }
        self.n += a.rgb.len();
    }

    fn mean(&self) -> f64 {
        self.sum / self.n.max(1) as f64
    }
}

/// The figures of the post's ten-optimizer comparison and its full-matrix AdaGrad arrows against
/// reference stills committed in `tests/fixtures/figures/` (drawn by optsurf's earlier,
/// hand-written rasterizer): the mean absolute channel difference stays below 1 (anti-aliasing
/// only) and almost no pixel moves far. A change that moves a figure shows here; if it is
/// meant, redraw the references (`optsurf run experiments/blog/all-f0.json` and copy the PNGs).
#[test]
fn figures_match_reference_figures() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/figures");
    let device = Backend::default().device().expect("the default device");
    let out = tempfile::tempdir().unwrap();
    let names = ["all-f0", "adagrad-vectors-full"];
    let (mut total, mut compared) = (PixelDiff::default(), 0);
    eprintln!(
        "{:<42} {:>7} {:>9} {:>4} {:>9}",
        "figure", "frames", "mean", "max", ">64 px"
    );
    for name in names {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("experiments/blog/{name}.json"));
        let dir = out.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        match crate::experiment::Job::load(
            &path,
            &Registry::builtin(),
            &crate::backend::Backend::default().device().unwrap(),
        )
        .expect("a blog experiment")
        {
            crate::experiment::Job::Runs(e) => {
                let traj = e.run(&device);
                draw_all(&traj, &mesh(&traj), &dir, None).expect("figures");
            }
            crate::experiment::Job::Vectors(v) => {
                let r = v.compute();
                plot::draw_vectors(&r.grads, &r.updates, v.xlim, v.ylim, &dir.join("vectors.png")).expect("arrows");
            }
            crate::experiment::Job::Study(_) => unreachable!("the blog has no studies"),
        }
        for file in ["surface.png", "loss.png", "vectors.png"] {
            let new = dir.join(file);
            if !new.exists() {
                continue;
            }
            let old = match file {
                "vectors.png" => reference.join(format!("{name}.png")),
                _ => reference.join(format!("{name}-{file}")),
            };
            let (new, old) = (std::fs::read(&new).unwrap(), std::fs::read(&old).unwrap());
            keep(&format!("{name}-{file}"), &new);
            let mut diff = PixelDiff::default();
            diff.add(&decode_png(&new), &decode_png(&old));
            eprintln!(
                "{:<42} {:>9.4} {:>4} {:>9}",
                format!("{name}/{file}"),
                diff.mean(),
                diff.max,
                diff.far
            );
            assert!(
                diff.mean() < 1.0,
                "{name}/{file} moved: mean difference {}",
                diff.mean()
            );
            assert!(
                diff.far * 200 < diff.n / 3,
                "{name}/{file}: {} pixels moved far (more than 0.5%)",
                diff.far
            );
            total.sum += diff.sum;
            total.n += diff.n;
            total.max = total.max.max(diff.max);
            total.far += diff.far;
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "every reference figure was compared");
    eprintln!("{:<42} {:>9.4} {:>4} {:>9}", "all", total.mean(), total.max, total.far);
}

#[test]
fn long_runs_get_at_most_max_frames_evenly_spaced_with_the_first_and_last() {
    assert_eq!(plot::shown_frames(5, 300), vec![0, 1, 2, 3, 4]);
    let shown = plot::shown_frames(20_001, 300);
    assert_eq!(shown.len(), 300);
    assert_eq!((shown[0], shown[299]), (0, 20_000));
    let gaps: Vec<usize> = shown.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|&g| g == 66 || g == 67), "even spacing: {gaps:?}");
    // A 2,000-step run: the surface and loss GIFs have 300 frames, the last one the run's end.
    let json = THREE
        .replace("\"steps\": 12", "\"steps\": 2000")
        .replace("20.0", "0.05");
    let mut traj = run(&json);
    traj.plot.size = [300, 300];
    let count = Count::default();
    let dir = tempfile::tempdir().unwrap();
    draw_all(&traj, &mesh(&traj), dir.path(), Some(&count)).unwrap();
    assert_eq!(count.length(), Some(2 * 300));
    assert_eq!(count.position(), 2 * 300);
    for file in ["surface.gif", "loss.gif"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        let gif = decode_gif(&bytes, |k| k == 299);
        assert_eq!(gif.delays.len(), 300, "{file}");
        // The last frame is the still.
        let png = decode_png(&std::fs::read(dir.path().join(file.replace("gif", "png"))).unwrap());
        let last = frame(&gif, 299);
        let differing = png
            .rgb
            .iter()
            .zip(&last.rgb)
            .filter(|(a, b)| a.abs_diff(**b) > 40)
            .count();
        assert!(
            differing < png.rgb.len() / 100,
            "{file}: last frame is not the still ({differing})"
        );
    }
    // Asked for fewer, get fewer.
    traj.plot.max_frames = 40;
    let gif = plot::surface_figure(&traj, &surface(&traj), &mesh(&traj), true, None).unwrap();
    assert_eq!(decode_gif(gif.gif.as_ref().unwrap(), |_| false).delays.len(), 40);
    traj.plot.max_frames = 1;
    assert!(draw_all(&traj, &mesh(&traj), dir.path(), None).is_err());
}

/// A text of an SVG figure: its characters, fill and box (cap height to descenders, as the
/// layout measures it).
#[derive(Debug)]
struct SvgText {
    text: String,
    fill: String,
    bbox: [f64; 4],
}

fn attr(n: &roxmltree::Node, name: &str) -> f64 {
    n.attribute(name)
        .unwrap_or_else(|| panic!("{name} on {n:?}"))
        .parse()
        .unwrap()
}

/// Every `<text>` of an SVG document with its box.
fn svg_texts(doc: &roxmltree::Document) -> Vec<SvgText> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let (x, y, fs, len) = (
                attr(&n, "x"),
                attr(&n, "y"),
                attr(&n, "font-size"),
                attr(&n, "textLength"),
            );
            let (cap, desc) = (0.729 * fs, 0.25 * fs);
            let up = n.attribute("transform").is_some_and(|t| t.starts_with("rotate(-90"));
            SvgText {
                text: n.text().unwrap_or_default().to_string(),
                fill: n.attribute("fill").unwrap_or_default().to_string(),
                bbox: if up {
                    [x - cap, y - len, x + desc, y]
                } else {
                    [x, y - cap, x + len, y + desc]
                },
            }
        })
        .collect()
}

fn overlap(a: [f64; 4], b: [f64; 4]) -> bool {
    // Boxes may touch: half a pixel of slack.
    a[0] + 0.5 < b[2] && b[0] + 0.5 < a[2] && a[1] + 0.5 < b[3] && b[1] + 0.5 < a[3]
}

/// No two texts of the document overlap, and all are inside its `w` x `h`.
fn assert_texts_apart(name: &str, texts: &[SvgText], w: f64, h: f64) {
    for (i, a) in texts.iter().enumerate() {
        let b = a.bbox;
        assert!(
            b[0] >= -1.0 && b[1] >= -1.0 && b[2] <= w + 1.0 && b[3] <= h + 1.0,
            "{name}: {a:?} leaves the {w}x{h} figure"
        );
        for o in &texts[..i] {
            assert!(!overlap(a.bbox, o.bbox), "{name}: {a:?} overlaps {o:?}");
        }
    }
}

/// Pixels inside `b` at least `contrast` darker than white in some channel.
fn ink(img: &Image, b: [f64; 4], contrast: u8) -> usize {
    let (x0, y0) = (b[0].floor().max(0.0) as usize, b[1].floor().max(0.0) as usize);
    let (x1, y1) = ((b[2].ceil() as usize).min(img.w), (b[3].ceil() as usize).min(img.h));
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            n += img.at(x, y).iter().any(|&c| c < 255 - contrast) as usize;
        }
    }
    n
}

fn svg_of(bytes: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(bytes).expect("well-formed SVG")
}

/// A figure's still, kept as `name`, decoded, and its SVG, whose texts are checked to stay
/// apart.
fn still(name: &str, fig: plot::Figure) -> (Image, String) {
    keep(name, &fig.png);
    let png = decode_png(&fig.png);
    let svg = fig.svg.expect("an SVG");
    assert_texts_apart(name, &svg_texts(&svg_of(&svg)), png.w as f64, png.h as f64);
    (png, svg)
}

/// `n` hand-made runs with labels of `len` characters (distinct at both ends), ending near one
/// another.
fn many(n: usize, len: usize) -> Trajectories {
    let runs = (0..n)
        .map(|i| {
            let head = format!("r{i} adam lr=CosineDecayRestarts beta_1=0.8 ");
            let mut label: String = head.chars().cycle().take(len.max(1)).collect();
            if len >= 8 {
                label.replace_range(label.len() - 4.., &format!("{i:04}"));
            } else {
                label = format!("{i}").chars().take(len.max(1)).collect();
            }
            let a = i as f32 * 0.7;
            let points: Vec<[f32; 2]> = (0..8)
                .map(|k| {
                    let r = 9.0 * (1.0 - k as f32 / 8.0) + 0.5;
                    [r * a.cos(), r * a.sin()]
                })
                .collect();
            let loss = (0..8).map(|k| 1.5 / (1.0 + k as f32) + 0.001 * i as f32).collect();
            hand_run(&label, points, loss)
        })
        .collect();
    let mut traj = hand_traj(runs);
    traj.title = Some("t".repeat(300));
    traj
}

#[test]
fn long_labels_and_many_runs_never_stop_the_figures() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = mesh(&many(1, 1));
    let cases = [
        (1, 1),
        (1, 300),
        (10, 1),
        (10, 97),
        (10, 300),
        (40, 12),
        (40, 97),
        (40, 300),
    ];
    for (k, (n, len)) in cases.into_iter().enumerate() {
        let mut traj = many(n, len);
        traj.plot.size = if k % 2 == 0 { [600, 600] } else { [900, 700] };
        traj.plot.legend = true;
        traj.plot.animate = k == cases.len() - 1;
        traj.plot.view = if k % 3 == 1 {
            View::Contour
        } else {
            View::Camera([30.0, -70.0])
        };
        traj.plot.format = vec![plot::Format::Png, plot::Format::Svg];
        let out = dir.path().join(format!("{n}-{len}"));
        std::fs::create_dir_all(&out).unwrap();
        let written = draw_all(&traj, &mesh, &out, None).unwrap_or_else(|e| panic!("{n} runs, {len}: {e}"));
        assert!(written.iter().any(|p| p.ends_with("loss.svg")));
        let [w, h] = traj.plot.size.map(|v| v as f64);
        for name in ["surface", "loss"] {
            let text = std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
            keep(&format!("many-{n}-{len}-{name}.svg"), text.as_bytes());
            let texts = svg_texts(&svg_of(&text));
            assert!(!texts.is_empty());
            assert_texts_apart(&format!("{n} runs, labels of {len}: {name}"), &texts, w, h);
        }
    }
}

#[test]
fn svg_has_the_png_layout() {
    let mut traj = run(THREE);
    traj.plot.legend = true;
    traj.plot.format = vec![plot::Format::Svg, plot::Format::Png];
    let dir = tempfile::tempdir().unwrap();
    let mesh = mesh(&traj);
    let written = draw_all(&traj, &mesh, dir.path(), None).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "surface.svg",
            "surface.png",
            "surface.gif",
            "loss.svg",
            "loss.png",
            "loss.gif"
        ]
    );
    let text = std::fs::read_to_string(dir.path().join("surface.svg")).unwrap();
    keep("three-surface.svg", text.as_bytes());
    assert!(text.len() < 2_000_000, "{} bytes", text.len());
    let doc = svg_of(&text);
    let root = doc.root_element();
    assert_eq!((attr(&root, "width"), attr(&root, "height")), (720.0, 640.0));
    assert_eq!(
        doc.descendants().filter(|n| n.has_tag_name("image")).count(),
        1,
        "the mesh, rasterized"
    );
    // A group a run, titled with its label, holding its path, on the PNG's projection.
    let layout = SurfaceLayout::new(&traj.plot, &mesh, Domain::POST).unwrap();
    let groups: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("run"))
        .collect();
    assert_eq!(groups.len(), 3);
    let png = decode_png(&std::fs::read(dir.path().join("surface.png")).unwrap());
    for (g, run) in groups.iter().zip(&traj.runs) {
        let title = g.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text());
        assert_eq!(title, Some(run.label.as_str()));
        let lines: Vec<roxmltree::Node> = g.children().filter(|c| c.has_tag_name("polyline")).collect();
        assert_eq!(lines.len(), 1, "{}: one polyline", run.label);
        let pts: Vec<[f64; 2]> = lines[0]
            .attribute("points")
            .unwrap()
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                [x.parse().unwrap(), y.parse().unwrap()]
            })
            .collect();
        assert_eq!(pts.len(), run.points.len());
        for (q, (p, &l)) in pts.iter().zip(run.points.iter().zip(&run.loss)) {
            let want = layout.to_pixel(p[0] as f64, p[1] as f64, l as f64);
            assert!(
                (q[0] - want[0]).abs() < 0.006 && (q[1] - want[1]).abs() < 0.006,
                "{}: {q:?} is not {want:?}",
                run.label
            );
        }
    }
    // Each dot of the SVG is a dot of its colour in the PNG.
    let dots: Vec<(f64, f64, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| (attr(&n, "cx"), attr(&n, "cy"), n.attribute("fill").unwrap().to_string()))
        .collect();
    assert!(dots.len() >= 6, "three dots and three legend handles");
    for (x, y, fill) in &dots {
        let c = u32::from_str_radix(&fill[1..], 16).unwrap();
        let color = [(c >> 16) as u8, (c >> 8) as u8, c as u8];
        assert!(
            png.count_near(*x, *y, 2.0, color, 30.0) >= 5,
            "dot {fill} at ({x}, {y}) in the PNG"
        );
    }
    let texts = svg_texts(&doc);
    for want in ["Optimizers & losses", "SGD", "Adam", "AdamW", "x", "f"] {
        assert!(texts.iter().any(|t| t.text == want), "surface.svg: no text {want:?}");
    }
    // Texts of the SVG are where the PNG has ink.
    for t in &texts {
        assert!(ink(&png, t.bbox, 60) > 3, "{t:?}: no ink in the PNG");
    }
    let text = std::fs::read_to_string(dir.path().join("loss.svg")).unwrap();
    let doc = svg_of(&text);
    let texts = svg_texts(&doc);
    for want in ["Losses", "step", "loss", "SGD"] {
        assert!(texts.iter().any(|t| t.text == want), "loss.svg: no text {want:?}");
    }
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("run"))
            .count(),
        3
    );
}

#[test]
fn end_labels_keep_apart_with_leaders() {
    // Ten runs ending within a pixel of one another, as the post's comparison does.
    let mut traj = many(10, 5);
    traj.plot.size = [900, 900];
    traj.plot.format = vec![plot::Format::Svg];
    let (png, svg) = still("ten-loss.png", plot::loss_figure(&traj, false, None).unwrap().unwrap());
    let doc = svg_of(&svg);
    let texts = svg_texts(&doc);
    let colors = plot::run_colors(&traj.plot, 10).unwrap();
    let ends: Vec<&SvgText> = texts
        .iter()
        .filter(|t| t.fill != "#262626" && t.fill != "#555555")
        .collect();
    assert_eq!(ends.len(), 10, "one end label a run");
    for (t, c) in ends.iter().zip(&colors) {
        // The label in its run's colour, where the SVG has it.
        let n = (0..png.h)
            .flat_map(|y| (0..png.w).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let (x, y) = (x as f64 + 0.5, y as f64 + 0.5);
                x >= t.bbox[0] && x <= t.bbox[2] && y >= t.bbox[1] && y <= t.bbox[3]
            })
            .filter(|&(x, y)| dist(png.at(x, y), *c) < 40.0)
            .count();
        assert!(n > 8, "{t:?}: {n} pixels of {c:?}");
    }
    // Labels moved off their lines have leader lines.
    let leaders = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.parent().is_some_and(|p| p.attribute("class") != Some("run")))
        .filter(|n| n.attribute("stroke-opacity") == Some("0.8"))
        .count();
    assert!(leaders >= 5, "{leaders} leader lines");
}

#[test]
fn the_3d_box_keeps_corner_ticks_and_the_legend_clear() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/blog/f5-sgd-lr01-50.json");
    let exp = Experiment::load(
        &path,
        &Registry::builtin(),
        &crate::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    let mut traj = exp.run(&Backend::default().device().unwrap());
    traj.plot.format = vec![plot::Format::Svg];
    let device = Backend::default().device().unwrap();
    let mesh = exp.surface.on_mesh(&exp.surface.noise(traj.noise, &device), &device);
    let fig = plot::surface_figure(&traj, &exp.surface, &mesh, false, None).unwrap();
    let (png, svg) = still("f5-sgd-surface.png", fig);
    let doc = svg_of(&svg);
    let texts = svg_texts(&doc);
    let ticks: Vec<&SvgText> = texts.iter().filter(|t| t.fill == "#555555").collect();
    assert!(ticks.iter().any(|t| t.text == "1.4"), "the top z tick is drawn");
    let legend = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("rx").is_some())
        .expect("a legend");
    let (x, y) = (attr(&legend, "x"), attr(&legend, "y"));
    let b = [x, y, x + attr(&legend, "width"), y + attr(&legend, "height")];
    for t in &ticks {
        assert!(!overlap(t.bbox, b), "the legend {b:?} covers {t:?}");
        // On the raster: the tick label's grey ink is there, not hidden.
        let grey = (t.bbox[1].floor() as usize..(t.bbox[3].ceil() as usize).min(png.h))
            .flat_map(|yy| (t.bbox[0].floor() as usize..(t.bbox[2].ceil() as usize).min(png.w)).map(move |xx| (xx, yy)))
            .filter(|&(xx, yy)| dist(png.at(xx, yy), [0x55, 0x55, 0x55]) < 60.0)
            .count();
        assert!(grey >= 5, "{t:?} is not visible ({grey} grey pixels)");
    }
}

#[test]
fn charts_have_axis_titles() {
    let json = THREE.replace(
        r#""learning_rate": 20.0}"#,
        r#""learning_rate": {"schedule": "CosineDecay", "initial_learning_rate": 20.0, "decay_steps": 10}}"#,
    );
    let mut traj = run(&json);
    traj.plot.format = vec![plot::Format::Png, plot::Format::Svg];
    traj.plot.animate = false;
    let dir = tempfile::tempdir().unwrap();
    draw_all(&traj, &mesh(&traj), dir.path(), None).unwrap();
    for (name, titles) in [("loss", ["step", "loss"]), ("learning_rate", ["step", "learning rate"])] {
        let png = decode_png(&std::fs::read(dir.path().join(format!("{name}.png"))).unwrap());
        let svg = std::fs::read_to_string(dir.path().join(format!("{name}.svg"))).unwrap();
        keep(
            &format!("titles-{name}.png"),
            &std::fs::read(dir.path().join(format!("{name}.png"))).unwrap(),
        );
        let doc = svg_of(&svg);
        let texts = svg_texts(&doc);
        assert_texts_apart(name, &texts, png.w as f64, png.h as f64);
        for title in titles {
            let t = texts
                .iter()
                .find(|t| t.text == title)
                .unwrap_or_else(|| panic!("{name}: no title {title:?}"));
            assert!(
                ink(&png, t.bbox, 120) > 20,
                "{name}: {title:?} has no ink at {:?}",
                t.bbox
            );
        }
        // The y title reads upwards: taller than wide.
        let y = texts.iter().find(|t| t.text == titles[1]).unwrap();
        assert!(y.bbox[3] - y.bbox[1] > y.bbox[2] - y.bbox[0], "{name}: {y:?}");
    }
}
