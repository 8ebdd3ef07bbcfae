//! Figures over other domains: the contour view and the 3D view's axes, checked by decoding
//! the pixels (each run's colour where its points project, minima markers where the minima are,
//! start rings at the starts).

use crate::Registry;
use crate::backend::Backend;
use crate::experiment::Experiment;
use crate::plot::surface3d::SurfaceLayout;
use crate::plot::{self, ContourLayout};
use crate::results::Trajectories;
use crate::surface::Surface;
use std::path::Path;

const COLORS: [[u8; 3]; 3] = [[0xd9, 0x5f, 0x02], [0x1b, 0x9e, 0x77], [0x75, 0x70, 0xb3]];

fn run(json: &str) -> (Experiment, Trajectories) {
    let exp = Experiment::parse(
        json,
        Path::new("c.json"),
        &Registry::builtin(),
        &crate::backend::Backend::default().device().unwrap(),
    )
    .unwrap();
    let traj = exp.run(&Backend::default().device().unwrap());
    (exp, traj)
}

fn mesh(surface: &Surface, traj: &Trajectories) -> Vec<f32> {
    let device = Backend::default().device().unwrap();
    surface.on_mesh(&surface.noise(traj.noise, &device), &device)
}

struct Image {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(bytes: &[u8]) -> Image {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        Image {
            w: info.width as usize,
            h: info.height as usize,
            rgb: buf,
        }
    }

    /// Pixels within `r` of `(x, y)` whose colour is within `tol` (per channel) of `c`.
    fn count_near(&self, x: f64, y: f64, r: f64, c: [u8; 3], tol: i32) -> usize {
        let mut n = 0;
        for py in (y - r).floor().max(0.0) as usize..((y + r).ceil() as usize).min(self.h) {
            for px in (x - r).floor().max(0.0) as usize..((x + r).ceil() as usize).min(self.w) {
                let o = (py * self.w + px) * 3;
                if (0..3).all(|k| (self.rgb[o + k] as i32 - c[k] as i32).abs() <= tol) {
                    n += 1;
                }
            }
        }
        n
    }
}

const HIMMELBLAU: &str = r##"{"name": "c", "surface": "himmelblau", "start": [0, 0], "steps": 60,
  "plot": {"view": "contour", "size": [700, 600], "colors": ["#d95f02", "#1b9e77", "#7570b3"]},
  "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.01},
           {"label": "Adam", "optimizer": "adam", "learning_rate": 0.3, "start": [-1, -4.5]},
           {"label": "RMS", "optimizer": "rmsprop", "learning_rate": 0.05, "start": [-4.5, 4.5]}]}"##;

#[test]
fn contour_view_draws_runs_minima_and_starts_where_they_are() {
    let (exp, traj) = run(HIMMELBLAU);
    let surface = &exp.surface;
    let fig = plot::surface_figure(&traj, surface, &mesh(surface, &traj), true, None).unwrap();
    let png = Image::decode(&fig.png);
    assert_eq!((png.w, png.h), (700, 600));
    let layout = ContourLayout::new(700, 600, surface.domain);
    // Each run's colour along its path, and its dot at its last point.
    for (run, color) in traj.runs.iter().zip(COLORS) {
        let px: Vec<[f64; 2]> = run
            .points
            .iter()
            .map(|p| layout.to_pixel(p[0] as f64, p[1] as f64))
            .collect();
        let mut on_path = 0;
        for p in &px {
            on_path += usize::from(png.count_near(p[0], p[1], 2.5, color, 40) > 0);
        }
        assert!(
            on_path * 10 >= px.len() * 9,
            "{}: colour at {on_path} of {} points",
            run.label,
            px.len()
        );
        let end = px[px.len() - 1];
        assert!(
            png.count_near(end[0], end[1], 4.0, color, 40) >= 20,
            "{}: dot at the end",
            run.label
        );
        // The start: a white-filled ring in the run's colour.
        let start = px[0];
        assert!(
            png.count_near(start[0], start[1], 7.0, color, 40) >= 10,
            "{}: start ring",
            run.label
        );
    }
    // A black star at every minimum (the one a run ends on is under its dot).
    let ends: Vec<[f32; 2]> = traj.runs.iter().map(|r| *r.points.last().unwrap()).collect();
    let mut marked = 0;
    for m in surface.minima() {
        let q = layout.to_pixel(m.point[0], m.point[1]);
        let covered = ends
            .iter()
            .any(|e| (e[0] as f64 - m.point[0]).hypot(e[1] as f64 - m.point[1]) < 0.2);
        if !covered {
            assert!(
                png.count_near(q[0], q[1], 5.0, [0, 0, 0], 60) >= 6,
                "no marker at minimum {:?}",
                m.point
            );
            marked += 1;
        }
    }
    assert!(marked >= 1, "at least one minimum is free of runs");
    // Far from any run or marker, the fill is the colormap (cool's blue channel is 255), under
    // a few level lines.
    let corner = layout.to_pixel(4.7, -4.7);
    let (mut cool, mut all) = (0, 0);
    for y in corner[1] as usize - 10..corner[1] as usize + 10 {
        for x in corner[0] as usize - 10..corner[0] as usize + 10 {
            all += 1;
            cool += usize::from(png.rgb[(y * png.w + x) * 3 + 2] == 255);
        }
    }
    assert!(cool * 4 >= all * 3, "cool colormap fill in the corner: {cool} of {all}");
    // The GIF has one frame per point.
    let gif = fig.gif.unwrap();
    let mut decoder = gif::DecodeOptions::new().read_info(std::io::Cursor::new(&gif)).unwrap();
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 61);
}

#[test]
fn runs_leaving_the_domain_are_clipped_in_the_contour_view() {
    let (exp, traj) = run(
        r##"{"name": "c", "surface": "booth", "domain": [[-2, 2], [-2, 2]], "start": [0, 0], "steps": 30,
            "plot": {"view": "contour", "animate": false, "colors": ["#d95f02"]},
            "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.05}]}"##,
    );
    let surface = &exp.surface;
    assert_eq!(surface.domain.x, [-2.0, 2.0]);
    let fig = plot::surface_figure(&traj, surface, &mesh(surface, &traj), false, None).unwrap();
    let png = Image::decode(&fig.png);
    let layout = ContourLayout::new(900, 900, surface.domain);
    let area = layout.area();
    // The run heads for (1, 3), outside the domain: nothing of its colour above the axes.
    let mut outside = 0;
    for y in 0..(area[1] as usize).saturating_sub(2) {
        for x in 0..png.w {
            let o = (y * png.w + x) * 3;
            if (0..3).all(|k| (png.rgb[o + k] as i32 - COLORS[0][k] as i32).abs() <= 30) {
                outside += 1;
            }
        }
    }
    assert_eq!(outside, 0, "pixels of the run outside the axes");
    let first = layout.to_pixel(traj.runs[0].points[1][0] as f64, traj.runs[0].points[1][1] as f64);
    assert!(png.count_near(first[0], first[1], 2.5, COLORS[0], 40) > 0);
}

#[test]
fn the_3d_view_spans_the_domain_it_is_given() {
    let (exp, traj) = run(
        r##"{"name": "c", "surface": "rosenbrock", "start": [-1.5, 2.5], "steps": 40,
            "plot": {"animate": false, "colors": ["#d95f02"]},
            "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.05}]}"##,
    );
    let surface = &exp.surface;
    let mesh = mesh(surface, &traj);
    let fig = plot::surface_figure(&traj, surface, &mesh, false, None).unwrap();
    let png = Image::decode(&fig.png);
    let layout = SurfaceLayout::new(&traj.plot, &mesh, surface.domain).unwrap();
    let run = &traj.runs[0];
    for (p, l) in run.points.iter().zip(&run.loss) {
        let q = layout.to_pixel(p[0] as f64, p[1] as f64, *l as f64);
        assert!(
            q[0] > 0.0 && q[0] < 900.0 && q[1] > 0.0 && q[1] < 900.0,
            "{p:?} lands at {q:?}"
        );
        assert!(
            png.count_near(q[0], q[1], 2.5, COLORS[0], 40) > 0,
            "no run colour at {p:?}"
        );
    }
    // The domain's corners are the box's: its floor spans most of the figure's width (over the
    // post's box the same corners would huddle in the middle).
    let zlo = mesh.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
    let corners = [[-2.0, -1.0], [2.0, -1.0], [2.0, 3.0], [-2.0, 3.0]].map(|c| layout.to_pixel(c[0], c[1], zlo));
    let xs: Vec<f64> = corners.iter().map(|c| c[0]).collect();
    let span = xs.iter().cloned().fold(f64::MIN, f64::max) - xs.iter().cloned().fold(f64::MAX, f64::min);
    assert!(span > 0.6 * 900.0, "the floor spans {span} px: {corners:?}");
    let post = SurfaceLayout::new(&traj.plot, &mesh, crate::surface::Domain::POST).unwrap();
    let huddle = [[-2.0, -1.0], [2.0, 3.0]].map(|c| post.to_pixel(c[0], c[1], zlo));
    assert!((huddle[0][0] - huddle[1][0]).abs() < 0.25 * span, "{huddle:?}");
}

/// `"plot": {"points": "eval"}` draws Lookahead's slow weights (its `eval_points`) instead of the
/// fast weights where gradients are taken; runs without evaluation points draw their points.
#[test]
fn eval_points_are_drawn_when_asked() {
    let text = |points: &str| {
        format!(
            r##"{{"name": "e", "surface": "himmelblau", "start": [-4.5, -1], "steps": 12,
              "plot": {{"view": "contour", "size": [600, 600], "colors": ["#d95f02", "#1b9e77"]{points}}},
              "runs": [{{"label": "LA", "optimizer": "lookahead", "sync_period": 8, "slow_step_size": 0.3,
                         "fast": {{"optimizer": "adam_optax", "learning_rate": 0.4}}}},
                       {{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.01, "start": [4.5, 4.5]}}]}}"##
        )
    };
    let mut ends = Vec::new();
    for (points, eval) in [("", false), (r#", "points": "eval""#, true)] {
        let (exp, traj) = run(&text(points));
        assert_eq!(exp.plot.points == plot::Shown::Eval, eval);
        let layout = ContourLayout::new(600, 600, exp.surface.domain);
        let la = &traj.runs[0];
        let slow = la.eval_points.as_ref().expect("lookahead records its slow weights");
        let (fast_end, slow_end) = (la.points[la.points.len() - 1], slow[slow.len() - 1]);
        let (f, s) = (
            layout.to_pixel(fast_end[0] as f64, fast_end[1] as f64),
            layout.to_pixel(slow_end[0] as f64, slow_end[1] as f64),
        );
        assert!(
            (f[0] - s[0]).hypot(f[1] - s[1]) > 12.0,
            "the two ends must be apart to tell them: {f:?} {s:?}"
        );
        let fig = plot::surface_figure(&traj, &exp.surface, &mesh(&exp.surface, &traj), false, None).unwrap();
        let png = Image::decode(&fig.png);
        let (drawn, other) = if eval { (s, f) } else { (f, s) };
        let dot = |p: [f64; 2]| png.count_near(p[0], p[1], 3.0, COLORS[0], 30);
        assert!(dot(drawn) >= 15, "eval {eval}: no dot at {drawn:?}");
        assert!(dot(other) < 15, "eval {eval}: a dot at {other:?} too");
        // SGD has no evaluation points: drawn the same either way.
        let sgd = traj.runs[1].points.last().unwrap();
        let p = layout.to_pixel(sgd[0] as f64, sgd[1] as f64);
        assert!(png.count_near(p[0], p[1], 3.0, COLORS[1], 30) >= 15);
        ends.push(traj.plot.points);
    }
    assert_eq!(ends, [plot::Shown::Points, plot::Shown::Eval]);
}
