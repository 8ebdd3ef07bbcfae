//! A plane's figures drawn from a hand-made bowl: where the 3D view puts the plane's points, the
//! paths' dots (hollow off the plane) in the still and in each GIF frame, and the residual
//! chart's lines and threshold.

use super::figures::{Image, decode_gif, decode_png, dist, frame, keep};
use crate::landscape::{Origin, PlaneLandscape, RunOnPlane, Sharpness, linspace};
use crate::plot::colormap::{self, cool};
use crate::plot::figure::render;
use crate::plot::landscape::{LineFigure, camera, plane_domain, plane_plot, resample, surface_figure};
use crate::plot::surface3d::SurfaceLayout;
use crate::plot::{PlotSpec, View};

fn bowl(a: f32, b: f32) -> f32 {
    1.0 + a * a + b * b
}

/// A run along `path`, each point's residual given.
fn run(label: &str, path: Vec<[f32; 2]>, residual: Vec<f32>) -> RunOnPlane {
    let n = path.len();
    RunOnPlane {
        label: label.into(),
        steps: (0..n).map(|k| 10 * k).collect(),
        plane_loss: path.iter().map(|q| bowl(q[0], q[1])).collect(),
        path_loss: path.iter().map(|q| bowl(q[0], q[1]) + 0.25).collect(),
        path,
        residual,
        sharpness: Sharpness {
            lambda_max: 2.0,
            lambda_min: 2.0,
            ratio: 1.0,
        },
    }
}

/// The bowl `1 + a^2 + b^2` on a 21 x 21 PCA plane over `[-1, 1]^2`.
fn plane(runs: Vec<RunOnPlane>) -> PlaneLandscape {
    let (a, b) = (linspace([-1.0, 1.0], 21), linspace([-1.0, 1.0], 21));
    PlaneLandscape {
        plane: "pca",
        center: Origin {
            label: "Adam".into(),
            step: 20,
        },
        data: "train",
        rows: Vec::new(),
        normalize: "filter",
        ignore_biasbn: false,
        loss: b.iter().map(|&bj| a.iter().map(|&ai| bowl(ai, bj)).collect()).collect(),
        a,
        b,
        explained_variance: Some([0.625, 0.25]),
        residual_threshold: 0.5,
        runs,
        directions: [Vec::new(), Vec::new()],
    }
}

/// Two runs: Adam's middle point off the plane, SGD's all on it.
fn two_runs() -> PlaneLandscape {
    plane(vec![
        run("Adam", vec![[0.75, 0.5], [0.5, -0.5], [0.0, 0.0]], vec![0.1, 0.8, 0.0]),
        run(
            "SGD",
            vec![[-0.75, 0.75], [-0.5, -0.25], [-0.25, -0.5]],
            vec![0.2, 0.3, 0.4],
        ),
    ])
}

/// The camera of `p`'s 3D figure, its axes titled as the figure titles them.
fn layout(p: &PlaneLandscape, spec: &PlotSpec, mesh: &[f32]) -> SurfaceLayout {
    let titles = [
        "PC 1: 62.5% of the variance",
        "PC 2: 25.0% of the variance",
        "train loss",
    ];
    SurfaceLayout::new(spec, mesh, plane_domain(p))
        .unwrap()
        .with_titles(titles.map(String::from))
}

fn spec(view: View) -> PlotSpec {
    PlotSpec {
        view,
        size: [600, 600],
        ..PlotSpec::default()
    }
}

#[test]
fn the_top_view_puts_each_grid_value_where_its_point_projects() {
    let p = plane(Vec::new());
    let spec = camera(&spec(View::Camera([90.0, -90.0])));
    let domain = plane_domain(&p);
    let mesh = resample(&p, domain);
    let layout = layout(&p, &spec, &mesh);
    // Seen from straight above, a goes right and b up, whatever the height, the box square
    // about its centre.
    let [x0, y0] = layout.to_pixel(-1.0, -1.0, 1.0);
    let [x1, y1] = layout.to_pixel(1.0, 1.0, 3.0);
    let [cx, cy] = layout.to_pixel(0.0, 0.0, 2.0);
    assert!(x1 > x0 + 200.0 && y0 > y1 + 200.0, "{x0} {y0} {x1} {y1}");
    assert!((cx - (x0 + x1) / 2.0).abs() < 1e-6 && (cy - (y0 + y1) / 2.0).abs() < 1e-6);
    assert!(((x1 - x0) - (y0 - y1)).abs() < 1e-6, "square");
    let fig = surface_figure(&p, &spec, false).unwrap();
    keep("landscape_top.png", &fig.png);
    let img = decode_png(&fig.png);
    let at = |a: f64, b: f64| {
        let [x, y] = layout.to_pixel(a, b, 1.0);
        img.at(x as usize, y as usize)
    };
    // The bottom of the bowl is the low end of the colormap, its corners the high end.
    assert!(dist(at(0.02, 0.02), cool(0.0)) < 40.0, "{:?}", at(0.02, 0.02));
    for (a, b) in [(0.97, 0.97), (-0.97, 0.97), (0.97, -0.97), (-0.97, -0.97)] {
        assert!(dist(at(a, b), cool(1.0)) < 40.0, "{:?} at ({a}, {b})", at(a, b));
    }
    // Halfway up the bowl: z = 1.5, half the range of 1..3 (mesh lines aside).
    let half = at(0.5, 0.5);
    assert!(dist(half, cool(0.25)) < 60.0, "{half:?}");
}

#[test]
fn paths_sit_on_the_plane_and_points_off_it_are_hollow() {
    let p = two_runs();
    let spec = camera(&spec(View::Contour));
    assert!(
        matches!(spec.view, View::Camera(_)),
        "the contour view is landscape_contour.png's"
    );
    let mesh = resample(&p, plane_domain(&p));
    let plot = plane_plot(&p, &spec, &mesh).unwrap();
    let layout = layout(&p, &spec, &mesh);
    for (i, r) in p.runs.iter().enumerate() {
        for (k, q) in r.path.iter().enumerate() {
            // Each point at the plane's loss over its projection.
            let want = layout.to_pixel(q[0] as f64, q[1] as f64, bowl(q[0], q[1]) as f64);
            let got = plot.pixel(i, k);
            assert!(
                (want[0] - got[0]).abs() < 1e-9 && (want[1] - got[1]).abs() < 1e-9,
                "{want:?} {got:?}"
            );
        }
    }
    let fig = surface_figure(&p, &spec, true).unwrap();
    keep("landscape.png", &fig.png);
    let img = decode_png(&fig.png);
    let colors = colormap::run_colors(&spec, 2).unwrap();
    let near_within = |img: &Image, run: usize, k: usize, color, tol| {
        let [x, y] = plot.pixel(run, k);
        img.count_near(x, y, 1.5, color, tol)
    };
    let near = |img: &Image, run: usize, k: usize, color| near_within(img, run, k, color, 30.0);
    // Adam's end and SGD's every point are filled; Adam's middle point is a white ring.
    assert!(near(&img, 0, 2, colors[0]) >= 5, "Adam's end dot");
    for k in 0..3 {
        assert!(near(&img, 1, k, colors[1]) >= 4, "SGD's point {k}");
    }
    // (The ring's inside is white at 0.8 over the path and the surface.)
    assert!(
        near_within(&img, 0, 1, [255, 255, 255], 45.0) >= 4,
        "Adam's point off the plane is hollow"
    );
    assert_eq!(near(&img, 0, 1, colors[0]), 0, "no fill inside the ring");

    // One GIF frame a snapshot; frame k shows each run's dot at its point k and not yet beyond.
    let gif = decode_gif(fig.gif.as_ref().unwrap(), |_| true);
    keep("landscape.gif", fig.gif.as_ref().unwrap());
    assert_eq!(gif.delays.len(), 3);
    assert!(near(frame(&gif, 0), 1, 0, colors[1]) >= 5, "SGD's dot at its start");
    assert_eq!(
        near(frame(&gif, 0), 1, 2, colors[1]),
        0,
        "SGD's end not reached at frame 0"
    );
    assert!(near(frame(&gif, 2), 1, 2, colors[1]) >= 5, "SGD's dot at its end");
}

#[test]
fn long_paths_make_a_short_gif() {
    let n = 90;
    let path: Vec<[f32; 2]> = (0..n).map(|k| [k as f32 / n as f32 - 0.5, 0.25]).collect();
    let p = plane(vec![run("Adam", path, vec![0.1; n])]);
    let fig = surface_figure(&p, &spec(View::Camera([30.0, -70.0])), true).unwrap();
    let gif = decode_gif(fig.gif.as_ref().unwrap(), |_| false);
    assert_eq!(
        gif.delays.len(),
        16,
        "at most PLANE_FRAMES frames, the first and last among them"
    );
    let still = surface_figure(&p, &spec(View::Camera([30.0, -70.0])), false).unwrap();
    assert!(still.gif.is_none());
}

#[test]
fn the_residual_chart_has_each_run_and_the_threshold() {
    let p = two_runs();
    let spec = spec(View::Camera([30.0, -70.0]));
    let chart = LineFigure::residual(&p, &spec).unwrap();
    let fig = render(&chart, &spec, false, None).unwrap();
    keep("residual.png", &fig.png);
    let img = decode_png(&fig.png);
    assert_eq!((img.w, img.h), (600, 360), "a strip under the figure");
    let colors = colormap::run_colors(&spec, 2).unwrap();
    let ax = &chart.axes;
    // SGD's residual at step 10 is 0.3, a filled dot; Adam's 0.8, above the threshold, a ring.
    assert!(img.count_near(ax.x(10.0), ax.y(0.3), 2.0, colors[1], 40.0) >= 8);
    assert_eq!(img.count_near(ax.x(10.0), ax.y(0.8), 1.5, colors[0], 40.0), 0);
    assert!(img.count_near(ax.x(10.0), ax.y(0.8), 1.5, [255, 255, 255], 45.0) >= 4);
    assert!(img.count_near(ax.x(10.0), ax.y(0.8), 4.0, colors[0], 80.0) >= 4);
    // The threshold's dashed grey line, across the chart.
    let y = ax.y(0.5).round() as usize;
    let [x0, _, x1, _] = ax.area;
    let grey = (x0 as usize..x1 as usize)
        .filter(|&x| {
            (y - 1..=y + 1).any(|y| {
                let c = img.at(x, y);
                c[0] == c[1] && c[1] == c[2] && c[0] < 225
            })
        })
        .count();
    assert!(
        grey as f64 > 0.3 * (x1 - x0),
        "{grey} grey pixels on the threshold's row"
    );
}
