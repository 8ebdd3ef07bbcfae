//! The report in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver` packages; `scripts/test.sh` installs them). The page for the whole
//! post is loaded from `file://`; every experiment must be listed and every figure load; one
//! interactive view is driven (slider, hover, toggle, play) and its drawing checked against
//! positions computed here from the trajectory file; every view is opened; and any console
//! error anywhere fails the test.
//!
//! Without Chromium or chromedriver the test fails and says how to install them.

use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use optsurf::plot::ContourLayout;
use optsurf::results::Trajectories;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const INSTALL: &str = "the report's browser test needs Chromium and ChromeDriver: on Debian or Ubuntu, \
     `apt-get install chromium chromium-driver` (as root; `scripts/test.sh` does it)";

/// The first of `names` found on the `PATH` (or in /usr/bin).
fn program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push("/usr/bin".into());
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver, and whatever Chromium it started (found by the fresh profile folder in their
/// command lines), are ended when the test ends, however it ends.
struct Driver {
    child: Child,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let marker = self.profile.to_string_lossy().into_owned();
        let Ok(procs) = std::fs::read_dir("/proc") else { return };
        for p in procs.flatten() {
            let name = p.file_name().to_string_lossy().into_owned();
            if !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                let _ = Command::new("kill").arg(&name).status();
            }
        }
    }
}

/// `POST /session/{id}/se/log {"type": "browser"}`: the console messages since the last call
/// (ChromeDriver's log endpoint, which fantoccini does not wrap).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type": "browser"}"#.into()))
    }
}

/// Copies the trajectory and vectors files of `from` (not figures or pages) under `to`.
fn copy_results(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_results(&path, &target);
        } else if matches!(entry.file_name().to_str(), Some("trajectories.json" | "vectors.json")) {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn run_optsurf(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_optsurf"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "optsurf {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn js(c: &Client, script: &str, args: Vec<Value>) -> Res<Value> {
    Ok(c.execute(script, args).await?)
}

/// Waits until `script` returns true (5 s at most); on time-out, says what the console said.
async fn wait_for(c: &Client, script: &str, what: &str) -> Res<()> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        if js(c, script, vec![]).await? == json!(true) {
            return Ok(());
        }
        if Instant::now() > until {
            let console = logs(c).await.unwrap_or_default();
            return Err(format!("timed out waiting for {what}; the console said: {console:#?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn state(c: &Client) -> Res<Value> {
    js(
        c,
        "var v = window.optsurfView; return JSON.parse(JSON.stringify({step: v.step, maxStep: v.maxStep, \
         visible: v.visible, points: v.points, cursorX: v.cursorX, cursorDots: v.cursorDots, \
         lossArea: v.lossArea, hover: v.hover, playing: v.playing}));",
        vec![],
    )
    .await
}

/// The RGBA of canvas `id` at CSS pixel `p` of each point.
async fn pixels(c: &Client, id: &str, points: &[[f64; 2]]) -> Res<Vec<[u8; 4]>> {
    let got = js(
        c,
        "var c = document.getElementById(arguments[0]), ctx = c.getContext('2d');
         var dpr = c.width / parseFloat(c.style.width);
         return arguments[1].map(function (p) {
           return Array.from(ctx.getImageData(Math.floor(p[0] * dpr), Math.floor(p[1] * dpr), 1, 1).data);
         });",
        vec![json!(id), json!(points)],
    )
    .await?;
    Ok(serde_json::from_value(got)?)
}

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn same_color(px: [u8; 4], c: [u8; 3]) -> bool {
    px[3] == 255 && (0..3).all(|k| (px[k] as i32 - c[k] as i32).abs() <= 2)
}

#[test]
fn the_report_works_in_chromium() {
    let started = Instant::now();
    let chromium = program(&["chromium", "chromium-browser"]).unwrap_or_else(|| panic!("no chromium: {INSTALL}"));
    let chromedriver = program(&["chromedriver"]).unwrap_or_else(|| panic!("no chromedriver: {INSTALL}"));

    // The post's results (the committed trajectories), an experiment with its figures, and a
    // trajectory file cut off mid-write.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_results(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("results/blog"),
        &root.join("results/blog"),
    );
    std::fs::create_dir_all(root.join("results/blog/zz-broken")).unwrap();
    std::fs::write(
        root.join("results/blog/zz-broken/trajectories.json"),
        "{\"name\": \"zz\", ",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("experiments/extra")).unwrap();
    std::fs::write(
        root.join("experiments/extra/bowl.json"),
        r#"{"name": "bowl", "surface": {"expr": "x^2 + 2 * y^2 + 0.01 * r", "domain": [[-3, 3], [-3, 3]]},
            "start": [2.5, 2.5], "steps": 20, "plot": {"view": "contour", "size": [320, 320]},
            "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1},
                     {"label": "Adam", "optimizer": "adam", "learning_rate": 0.3}]}"#,
    )
    .unwrap();
    run_optsurf(root, &["run", "experiments/extra", "--report"]);
    let results = root.join("results");
    let mut expected: BTreeSet<String> = BTreeSet::new();
    for group in ["blog", "extra"] {
        for e in std::fs::read_dir(results.join(group)).unwrap().flatten() {
            if e.path().is_dir() {
                expected.insert(format!("{group}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    assert_eq!(
        expected.len(),
        33 + 2,
        "the post's 33 experiments, the bowl and the broken file"
    );

    // chromedriver on a free port, Chromium with a fresh profile.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let profile = root.join("chromium-profile");
    let log = std::fs::File::create(root.join("chromedriver.log")).unwrap();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", chromedriver.display()));
    let _driver = Driver {
        child,
        profile: profile.clone(),
    };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "chromedriver did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(25));
    }
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1400,1000",
                     format!("--user-data-dir={}", profile.display())]
        },
        "goog:loggingPrefs": {"browser": "ALL"}
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async {
        let Value::Object(caps) = caps else { unreachable!() };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("cannot start a Chromium session ({e}); {INSTALL}"))?;
        let result = drive(&client, &results, &expected).await;
        let _ = client.close().await;
        result
    });
    if let Err(e) = outcome {
        let log = std::fs::read_to_string(root.join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!(
            "{e}\n(chromedriver's last log lines, newest first:\n{})",
            tail.join("\n")
        );
    }
    eprintln!("browser test: {:.1} s", started.elapsed().as_secs_f64());
}

async fn drive(c: &Client, results: &Path, expected: &BTreeSet<String>) -> Res<()> {
    let mut console: Vec<Value> = Vec::new();
    let index = url::Url::from_file_path(results.join("index.html")).unwrap();
    c.goto(index.as_str()).await?;

    // Every experiment is listed, the broken file with its reason.
    let listed: BTreeSet<String> = serde_json::from_value(
        js(
            c,
            "return Array.from(document.querySelectorAll('article.entry')).map(a => a.dataset.dir);",
            vec![],
        )
        .await?,
    )?;
    assert_eq!(&listed, expected);
    let broken = js(
        c,
        "var a = document.querySelector('article[data-dir=\"blog/zz-broken\"]');
         return [a.classList.contains('broken'), a.querySelector('.reason').textContent];",
        vec![],
    )
    .await?;
    assert_eq!(broken[0], true);
    assert!(broken[1].as_str().unwrap().contains("EOF while parsing"), "{broken}");
    // Every figure on the page loads (the bowl's PNGs here), and a GIF plays on demand.
    wait_for(
        c,
        "return Array.from(document.images).every(i => i.complete);",
        "the figures",
    )
    .await?;
    let images = js(
        c,
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);",
        vec![],
    )
    .await?;
    let images = images.as_array().unwrap();
    assert!(images.len() >= 2, "{images:?}");
    for image in images {
        assert!(image[1].as_u64().unwrap() > 0, "figure did not load: {image}");
    }
    c.find(Locator::Css("article[data-dir=\"extra/bowl\"] button.animate"))
        .await?
        .click()
        .await?;
    wait_for(
        c,
        "var i = document.querySelector('article[data-dir=\"extra/bowl\"] img');
         return i.getAttribute('src') === 'extra/bowl/surface.gif' && i.complete && i.naturalWidth === 320;",
        "the GIF",
    )
    .await?;
    let views: Vec<String> = serde_json::from_value(
        js(
            c,
            "return Array.from(document.querySelectorAll('a.view-link')).map(a => a.href);",
            vec![],
        )
        .await?,
    )?;
    assert_eq!(views.len(), expected.len() - 3, "one view per trajectory file");

    // all-f0's view, opened from its link.
    c.find(Locator::Css("article[data-dir=\"blog/all-f0\"] a.view-link"))
        .await?
        .click()
        .await?;
    wait_for(
        c,
        "return !!(window.optsurfView && window.optsurfView.ready);",
        "the view",
    )
    .await?;
    wait_for(
        c,
        "var i = document.getElementById('contour'); return i.complete && i.naturalWidth === 600;",
        "the contour image",
    )
    .await?;
    let path = results.join("blog/all-f0/trajectories.json");
    let t = Trajectories::load(&path)?;
    let surface = t.resolve_surface(
        &optsurf::Registry::builtin(),
        &path,
        &optsurf::backend::Backend::default().device().unwrap(),
    )?;
    let layout = ContourLayout::new(600, 600, surface.domain);
    let colors = optsurf::plot::run_colors(&t.plot, t.runs.len())?;
    let n = t.runs.len();
    let at = |i: usize, k: usize| {
        let p = t.runs[i].points[k.min(t.runs[i].points.len() - 1)];
        layout.to_pixel(p[0] as f64, p[1] as f64)
    };

    let s = state(c).await?;
    assert_eq!(s["step"], 100);
    assert_eq!(s["maxStep"], 100);
    let area = &s["lossArea"];
    let (left, right) = (area[0].as_f64().unwrap(), area[2].as_f64().unwrap());
    assert!(
        near(s["cursorX"].as_f64().unwrap(), right, 1e-9),
        "the cursor starts at the last step"
    );

    // Move the slider with the keyboard: Home, then five steps right.
    let slider = c.find(Locator::Id("step")).await?;
    slider.send_keys(&char::from(Key::Home).to_string()).await?;
    for _ in 0..5 {
        slider.send_keys(&char::from(Key::Right).to_string()).await?;
    }
    let k = 5;
    let s = state(c).await?;
    assert_eq!(s["step"], k);
    assert_eq!(slider.prop("value").await?.as_deref(), Some("5"));
    assert_eq!(c.find(Locator::Id("step-label")).await?.text().await?, "step 5 / 100");
    // The drawn points are the runs' points at step 5, where the contour layout puts them.
    let drawn: Vec<[f64; 2]> = serde_json::from_value(s["points"].clone())?;
    assert_eq!(drawn.len(), n);
    for (i, p) in drawn.iter().enumerate() {
        let want = at(i, k);
        assert!(
            near(p[0], want[0], 1e-3) && near(p[1], want[1], 1e-3),
            "run {i}: drawn at {p:?}, expected {want:?}"
        );
    }
    // And the canvas shows each run's colour there, unless a later run's dot covers it.
    let got = pixels(c, "paths", &drawn).await?;
    let mut checked = 0;
    for (i, p) in drawn.iter().enumerate() {
        let centre = [p[0].floor() + 0.5, p[1].floor() + 0.5];
        let d = |j: usize| (drawn[j][0] - centre[0]).hypot(drawn[j][1] - centre[1]);
        let top = (0..n).rev().find(|&j| d(j) < 6.2).unwrap();
        if d(top) < 3.5 {
            assert!(
                same_color(got[i], colors[top]),
                "run {i}: pixel {:?}, expected run {top}'s colour {:?}",
                got[i],
                colors[top]
            );
            checked += 1;
        }
    }
    assert!(checked >= n / 2, "only {checked} of {n} dots could be checked");
    // The loss cursor moved to step 5, each run's dot on it at its loss.
    let cursor = s["cursorX"].as_f64().unwrap();
    assert!(
        near(cursor, left + (right - left) * k as f64 / 100.0, 1e-9),
        "cursor at {cursor}"
    );
    for (i, dot) in s["cursorDots"].as_array().unwrap().iter().enumerate() {
        assert!(near(dot[0].as_f64().unwrap(), cursor, 1e-9), "run {i}'s dot {dot}");
    }
    let (top, bottom) = (area[1].as_f64().unwrap() + 3.0, area[3].as_f64().unwrap() - 3.0);
    // The cursor's column, away from the dots drawn over it.
    let dots: Vec<f64> = s["cursorDots"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d[1].as_f64())
        .collect();
    let column: Vec<[f64; 2]> = (top as usize..bottom as usize)
        .map(|y| [cursor, y as f64 + 0.5])
        .filter(|p| dots.iter().all(|d| (d - p[1]).abs() > 5.0))
        .collect();
    assert!(
        column.len() > 100,
        "{} pixels of the cursor's column are free",
        column.len()
    );
    let on_cursor = pixels(c, "loss", &column)
        .await?
        .iter()
        .filter(|p| same_color(**p, [0x33, 0x33, 0x33]))
        .count();
    assert!(
        on_cursor * 100 >= column.len() * 98,
        "{on_cursor} of {} pixels of the cursor's column",
        column.len()
    );
    let old_column: Vec<[f64; 2]> = column.iter().map(|p| [right - 1.0, p[1]]).collect();
    let stale = pixels(c, "loss", &old_column)
        .await?
        .iter()
        .filter(|p| same_color(**p, [0x33, 0x33, 0x33]))
        .count();
    assert!(stale * 10 < old_column.len(), "the cursor was left at the last step");

    // Hover a run whose point stands apart: the tooltip gives run, step, point, loss, gradient.
    let apart = (0..n)
        .find(|&i| {
            (0..n).all(|j| {
                (0..=k).all(|s| {
                    (j == i && s == k) || {
                        let q = at(j, s);
                        let p = at(i, k);
                        (q[0] - p[0]).hypot(q[1] - p[1]) > 12.0
                    }
                })
            })
        })
        .ok_or("no run's point at step 5 stands apart from the others")?;
    let canvas = c.find(Locator::Id("paths")).await?;
    let p = at(apart, k);
    c.perform_actions(MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: canvas.clone(),
        duration: None,
        x: (p[0] - 300.0).round(),
        y: (p[1] - 300.0).round(),
    }))
    .await?;
    let hover = state(c).await?["hover"].clone();
    let run = &t.runs[apart];
    assert_eq!(hover["run"], apart, "{hover}");
    assert_eq!(hover["step"], k, "{hover}");
    // The page shows the file's f32 values (read back here as f64, so compared as f32).
    let f32s = |v: &Value| -> Vec<f32> {
        match v {
            Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
            x => vec![x.as_f64().unwrap() as f32],
        }
    };
    assert_eq!(f32s(&hover["point"]), run.points[k], "{hover}");
    assert_eq!(f32s(&hover["loss"]), [run.loss[k]], "{hover}");
    assert_eq!(f32s(&hover["gradient"]), run.grads[k], "{hover}");
    let tip = c.find(Locator::Id("tooltip")).await?;
    assert!(tip.is_displayed().await?);
    let text = tip.text().await?;
    for part in [run.label.as_str(), "step 5", "point (", "loss ", "gradient ("] {
        assert!(text.contains(part), "tooltip {text:?} lacks {part:?}");
    }

    // Toggle that run off: its point, its loss dot and its colour are gone.
    c.find(Locator::Css(&format!("#run-list input[data-run=\"{apart}\"]")))
        .await?
        .click()
        .await?;
    let s = state(c).await?;
    assert_eq!(s["visible"][apart], false);
    assert_eq!(s["points"][apart], Value::Null);
    assert_eq!(s["cursorDots"][apart], Value::Null);
    assert_eq!(
        s["visible"].as_array().unwrap().iter().filter(|v| **v == true).count(),
        n - 1
    );
    let shared = (0..n).any(|j| j != apart && colors[j] == colors[apart]);
    if !shared {
        let px = pixels(c, "paths", &[drawn[apart]]).await?[0];
        assert!(!same_color(px, colors[apart]), "run {apart} is still drawn: {px:?}");
    }

    // Play steps on by itself; pause stops it.
    let play = c.find(Locator::Id("play")).await?;
    play.click().await?;
    wait_for(c, "return window.optsurfView.step >= 8;", "play to step on").await?;
    play.click().await?;
    let paused = state(c).await?;
    assert_eq!(paused["playing"], false);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(state(c).await?["step"], paused["step"]);
    console.extend(logs(c).await?);

    // Every view opens with its contour image and every run drawn.
    for view in &views {
        c.goto(view).await?;
        wait_for(c, "return !!(window.optsurfView && window.optsurfView.ready);", view).await?;
        wait_for(
            c,
            "var i = document.getElementById('contour'); return !i || (i.complete && i.naturalWidth > 0);",
            view,
        )
        .await?;
        let ok = js(
            c,
            "var v = window.optsurfView; return !!document.getElementById('contour') && \
             v.points.every(p => p !== null) && v.step === v.maxStep;",
            vec![],
        )
        .await?;
        assert_eq!(ok, true, "{view}");
    }

    // The console: a probe proves the log is read; anything else at error level fails.
    js(c, "console.error('optsurf-probe'); return true;", vec![]).await?;
    console.extend(logs(c).await?);
    let errors: Vec<&Value> = console.iter().filter(|e| e["level"] == "SEVERE").collect();
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains("optsurf-probe")),
        "the console log could not be read: {console:?}"
    );
    let others: Vec<&&Value> = errors
        .iter()
        .filter(|e| !e["message"].as_str().unwrap_or("").contains("optsurf-probe"))
        .collect();
    assert!(others.is_empty(), "console errors: {others:#?}");
    Ok(())
}

async fn logs(c: &Client) -> Res<Vec<Value>> {
    match c.issue_cmd(BrowserLog).await? {
        Value::Array(entries) => Ok(entries),
        other => Err(format!("unexpected log answer: {other}").into()),
    }
}
