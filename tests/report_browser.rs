//! The report in a real browser: headless Chromium driven through chromedriver (Debian's
//! `chromium` and `chromium-driver` packages; `scripts/test.sh` installs them). The page for the whole
//! post is loaded from `file://`; every experiment must be listed and every figure load; one
//! interactive view is driven (slider, hover, toggle, play) and its drawing checked against
//! positions computed here from the trajectory file; every view is opened; and any console
//! error anywhere fails the test.
//!
//! Without Chromium or chromedriver the test fails and says how to install them.

mod common;
use common::tempfile;
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

fn js(c: &Session, script: &str, args: Vec<Value>) -> Res<Value> {
    c.execute(script, args)
}

/// Waits until `script` returns true (5 s at most); on time-out, says what the console said.
fn wait_for(c: &Session, script: &str, what: &str) -> Res<()> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        if js(c, script, vec![])? == json!(true) {
            return Ok(());
        }
        if Instant::now() > until {
            let console = logs(c).unwrap_or_default();
            return Err(format!("timed out waiting for {what}; the console said: {console:#?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state(c: &Session) -> Res<Value> {
    js(
        c,
        "var v = window.optsurfView; return JSON.parse(JSON.stringify({step: v.step, maxStep: v.maxStep, \
         visible: v.visible, points: v.points, cursorX: v.cursorX, cursorDots: v.cursorDots, \
         lossArea: v.lossArea, hover: v.hover, playing: v.playing}));",
        vec![],
    )
}

/// The RGBA of canvas `id` at CSS pixel `p` of each point.
fn pixels(c: &Session, id: &str, points: &[[f64; 2]]) -> Res<Vec<[u8; 4]>> {
    let got = js(
        c,
        "var c = document.getElementById(arguments[0]), ctx = c.getContext('2d');
         var dpr = c.width / parseFloat(c.style.width);
         return arguments[1].map(function (p) {
           return Array.from(ctx.getImageData(Math.floor(p[0] * dpr), Math.floor(p[1] * dpr), 1, 1).data);
         });",
        vec![json!(id), json!(points)],
    )?;
    Ok(serde_json::from_value(got)?)
}

/// The WebDriver key codes the test presses.
const HOME: &str = "\u{E011}";
const RIGHT: &str = "\u{E014}";

/// A `file://` URL of an absolute path (bytes other than letters, digits and `/-._~`
/// percent-encoded).
fn file_url(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A WebDriver session with chromedriver on `127.0.0.1:port`: the W3C protocol's JSON over plain
/// HTTP/1.1, one connection a command. Written here rather than taken from a WebDriver crate,
/// whose async stack (tokio, hyper, url) would enable other features of crates optsurf shares
/// and make `cargo test` rebuild them after `cargo build`.
struct Session {
    port: u16,
    id: String,
}

/// The key under which WebDriver gives an element's reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An element of the page, by its WebDriver reference.
struct Element<'a> {
    session: &'a Session,
    id: String,
}

impl Session {
    /// A new session with `capabilities` (W3C `alwaysMatch`).
    fn new(port: u16, capabilities: Value) -> Res<Session> {
        let value = request(
            port,
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": capabilities}})),
        )?;
        let id = value["sessionId"].as_str().ok_or(format!("no session id in {value}"))?;
        Ok(Session {
            port,
            id: id.to_string(),
        })
    }

    /// `METHOD /session/{id}/{path}` with `body` (GET without one); the answer's `value`.
    fn command(&self, method: &str, path: &str, body: Value) -> Res<Value> {
        let body = (method != "GET").then_some(body);
        request(self.port, method, &format!("/session/{}/{path}", self.id), body)
    }

    fn goto(&self, url: &str) -> Res<()> {
        self.command("POST", "url", json!({"url": url})).map(drop)
    }

    /// Runs `script` as a function of `args` in the page; its return value.
    fn execute(&self, script: &str, args: Vec<Value>) -> Res<Value> {
        self.command("POST", "execute/sync", json!({"script": script, "args": args}))
    }

    /// The first element matching the CSS selector `css`.
    fn find(&self, css: &str) -> Res<Element<'_>> {
        let found = self.command("POST", "element", json!({"using": "css selector", "value": css}))?;
        let id = found[ELEMENT]
            .as_str()
            .ok_or(format!("no element for {css}: {found}"))?;
        Ok(Element {
            session: self,
            id: id.to_string(),
        })
    }

    /// Moves the mouse to `(x, y)` pixels from the centre of `element`.
    fn move_to(&self, element: &Element, x: f64, y: f64) -> Res<()> {
        let pointer = json!({"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                             "actions": [{"type": "pointerMove", "duration": 0, "origin": {ELEMENT: element.id},
                                          "x": x as i64, "y": y as i64}]});
        self.command("POST", "actions", json!({"actions": [pointer]})).map(drop)
    }

    fn close(&self) {
        let _ = self.command("DELETE", "", Value::Null);
    }
}

impl Element<'_> {
    fn command(&self, method: &str, path: &str, body: Value) -> Res<Value> {
        self.session
            .command(method, &format!("element/{}/{path}", self.id), body)
    }

    fn click(&self) -> Res<()> {
        self.command("POST", "click", json!({})).map(drop)
    }

    fn send_keys(&self, text: &str) -> Res<()> {
        self.command("POST", "value", json!({"text": text})).map(drop)
    }

    /// The element's DOM property `name`, as text.
    fn prop(&self, name: &str) -> Res<Option<String>> {
        Ok(self
            .command("GET", &format!("property/{name}"), Value::Null)?
            .as_str()
            .map(str::to_string))
    }

    fn text(&self) -> Res<String> {
        Ok(self
            .command("GET", "text", Value::Null)?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    fn is_displayed(&self) -> Res<bool> {
        Ok(self.command("GET", "displayed", Value::Null)? == json!(true))
    }
}

/// One HTTP/1.1 request to `127.0.0.1:port`; the JSON answer's `value`, or its WebDriver error.
fn request(port: u16, method: &str, path: &str, body: Option<Value>) -> Res<Value> {
    use std::io::{Read, Write};
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // The header, then the body by its Content-Length (chromedriver keeps the connection open
    // whatever `Connection: close` asks), or to the end or the last chunk.
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let complete = |a: &[u8]| -> bool {
        let text = String::from_utf8_lossy(a);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let head = head.to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        match length {
            Some(n) => body.len() >= n,
            None => head.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n"),
        }
    };
    while !complete(&answer) {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8(answer)?;
    let (head, rest) = answer.split_once("\r\n\r\n").ok_or("no HTTP header in the answer")?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let text = if chunked { unchunk(rest)? } else { rest.to_string() };
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
    let value = json.get("value").cloned().unwrap_or(Value::Null);
    match value.get("error").and_then(Value::as_str) {
        Some(error) if status >= 400 => Err(format!("{method} {path}: {error}: {}", value["message"]).into()),
        _ if status >= 400 => Err(format!("{method} {path}: HTTP {status}: {text}").into()),
        _ => Ok(value),
    }
}

/// The body of a chunked HTTP answer.
fn unchunk(mut rest: &str) -> Res<String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").ok_or("a chunk without its size")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if size == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..size).ok_or("a chunk cut short")?);
        rest = after[size..].trim_start_matches("\r\n");
    }
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
    // A model with a plane: its view moves the runs' projected points.
    std::fs::write(
        root.join("experiments/extra/plane.json"),
        r#"{"name": "plane", "surface": {"model": "mlp", "layers": [6], "activation": "tanh",
              "loss": "binary_cross_entropy", "data": {"generate": "spirals", "n": 80, "noise": 0.2, "seed": 1},
              "record_every": 10},
            "start": {"seed": 0}, "steps": 40, "plot": {"animate": false, "size": [320, 320]},
            "landscape": {"plane": "pca", "resolution": [9, 7]},
            "runs": [{"label": "Adam", "optimizer": "adam", "learning_rate": 0.02},
                     {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.5}]}"#,
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
        33 + 3,
        "the post's 33 experiments, the bowl, the plane and the broken file"
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
    let outcome = (|| -> Res<()> {
        let client =
            Session::new(port, caps).map_err(|e| format!("cannot start a Chromium session ({e}); {INSTALL}"))?;
        let result = drive(&client, &results, &expected);
        client.close();
        result
    })();
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

fn drive(c: &Session, results: &Path, expected: &BTreeSet<String>) -> Res<()> {
    let mut console: Vec<Value> = Vec::new();
    c.goto(&file_url(&results.join("index.html")))?;

    // Every experiment is listed, the broken file with its reason.
    let listed: BTreeSet<String> = serde_json::from_value(js(
        c,
        "return Array.from(document.querySelectorAll('article.entry')).map(a => a.dataset.dir);",
        vec![],
    )?)?;
    assert_eq!(&listed, expected);
    let broken = js(
        c,
        "var a = document.querySelector('article[data-dir=\"blog/zz-broken\"]');
         return [a.classList.contains('broken'), a.querySelector('.reason').textContent];",
        vec![],
    )?;
    assert_eq!(broken[0], true);
    assert!(broken[1].as_str().unwrap().contains("EOF while parsing"), "{broken}");
    // Every figure on the page loads (the bowl's PNGs here), and a GIF plays on demand.
    wait_for(
        c,
        "return Array.from(document.images).every(i => i.complete);",
        "the figures",
    )?;
    let images = js(
        c,
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]);",
        vec![],
    )?;
    let images = images.as_array().unwrap();
    assert!(images.len() >= 2, "{images:?}");
    for image in images {
        assert!(image[1].as_u64().unwrap() > 0, "figure did not load: {image}");
    }
    c.find("article[data-dir=\"extra/bowl\"] button.animate")?.click()?;
    wait_for(
        c,
        "var i = document.querySelector('article[data-dir=\"extra/bowl\"] img');
         return i.getAttribute('src') === 'extra/bowl/surface.gif' && i.complete && i.naturalWidth === 320;",
        "the GIF",
    )?;
    let views: Vec<String> = serde_json::from_value(js(
        c,
        "return Array.from(document.querySelectorAll('a.view-link')).map(a => a.href);",
        vec![],
    )?)?;
    assert_eq!(
        views.len(),
        expected.len() - 4,
        "one view per trajectory file but the model's (its plane has its own)"
    );

    // all-f0's view, opened from its link.
    c.find("article[data-dir=\"blog/all-f0\"] a.view-link")?.click()?;
    wait_for(
        c,
        "return !!(window.optsurfView && window.optsurfView.ready);",
        "the view",
    )?;
    wait_for(
        c,
        "var i = document.getElementById('contour'); return i.complete && i.naturalWidth === 600;",
        "the contour image",
    )?;
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

    let s = state(c)?;
    assert_eq!(s["step"], 100);
    assert_eq!(s["maxStep"], 100);
    let area = &s["lossArea"];
    let (left, right) = (area[0].as_f64().unwrap(), area[2].as_f64().unwrap());
    assert!(
        near(s["cursorX"].as_f64().unwrap(), right, 1e-9),
        "the cursor starts at the last step"
    );

    // Move the slider with the keyboard: Home, then five steps right.
    let slider = c.find("#step")?;
    slider.send_keys(HOME)?;
    for _ in 0..5 {
        slider.send_keys(RIGHT)?;
    }
    let k = 5;
    let s = state(c)?;
    assert_eq!(s["step"], k);
    assert_eq!(slider.prop("value")?.as_deref(), Some("5"));
    assert_eq!(c.find("#step-label")?.text()?, "step 5 / 100");
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
    let got = pixels(c, "paths", &drawn)?;
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
    let on_cursor = pixels(c, "loss", &column)?
        .iter()
        .filter(|p| same_color(**p, [0x33, 0x33, 0x33]))
        .count();
    assert!(
        on_cursor * 100 >= column.len() * 98,
        "{on_cursor} of {} pixels of the cursor's column",
        column.len()
    );
    let old_column: Vec<[f64; 2]> = column.iter().map(|p| [right - 1.0, p[1]]).collect();
    let stale = pixels(c, "loss", &old_column)?
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
    let canvas = c.find("#paths")?;
    let p = at(apart, k);
    c.move_to(&canvas, (p[0] - 300.0).round(), (p[1] - 300.0).round())?;
    let hover = state(c)?["hover"].clone();
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
    let tip = c.find("#tooltip")?;
    assert!(tip.is_displayed()?);
    let text = tip.text()?;
    for part in [run.label.as_str(), "step 5", "point (", "loss ", "gradient ("] {
        assert!(text.contains(part), "tooltip {text:?} lacks {part:?}");
    }

    // Toggle that run off: its point, its loss dot and its colour are gone.
    c.find(&format!("#run-list input[data-run=\"{apart}\"]"))?.click()?;
    let s = state(c)?;
    assert_eq!(s["visible"][apart], false);
    assert_eq!(s["points"][apart], Value::Null);
    assert_eq!(s["cursorDots"][apart], Value::Null);
    assert_eq!(
        s["visible"].as_array().unwrap().iter().filter(|v| **v == true).count(),
        n - 1
    );
    let shared = (0..n).any(|j| j != apart && colors[j] == colors[apart]);
    if !shared {
        let px = pixels(c, "paths", &[drawn[apart]])?[0];
        assert!(!same_color(px, colors[apart]), "run {apart} is still drawn: {px:?}");
    }

    // Play steps on by itself; pause stops it.
    let play = c.find("#play")?;
    play.click()?;
    wait_for(c, "return window.optsurfView.step >= 8;", "play to step on")?;
    play.click()?;
    let paused = state(c)?;
    assert_eq!(paused["playing"], false);
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(state(c)?["step"], paused["step"]);
    console.extend(logs(c)?);

    // Every view opens with its contour image and every run drawn.
    for view in &views {
        c.goto(view)?;
        wait_for(c, "return !!(window.optsurfView && window.optsurfView.ready);", view)?;
        wait_for(
            c,
            "var i = document.getElementById('contour'); return !i || (i.complete && i.naturalWidth > 0);",
            view,
        )?;
        let ok = js(
            c,
            "var v = window.optsurfView; return !!document.getElementById('contour') && \
             v.points.every(p => p !== null) && v.step === v.maxStep;",
            vec![],
        )?;
        assert_eq!(ok, true, "{view}");
    }

    plane_view(c, results)?;

    // The console: a probe proves the log is read; anything else at error level fails.
    js(c, "console.error('optsurf-probe'); return true;", vec![])?;
    console.extend(logs(c)?);
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

/// The plane's view: at each step the slider gives, every run's point where its projected
/// snapshot maps into the plane's image, hollow exactly when its residual is above the threshold.
fn plane_view(c: &Session, results: &Path) -> Res<()> {
    let folder = results.join("extra/plane");
    let plane: Value = serde_json::from_str(&std::fs::read_to_string(folder.join("landscape.json"))?)?;
    c.goto(&file_url(&folder.join("landscape_view.html")))?;
    wait_for(
        c,
        "return !!(window.optsurfView && window.optsurfView.ready);",
        "the plane's view",
    )?;
    wait_for(
        c,
        "var i = document.getElementById('contour'); return i.complete && i.naturalWidth === 600;",
        "the plane's image",
    )?;
    let steps = plane["runs"][0]["steps"].as_array().unwrap().clone();
    let threshold = plane["residual_threshold"].as_f64().unwrap();
    for k in [0, 2, steps.len() - 1] {
        let v = js(
            c,
            "var v = window.optsurfView; v.setStep(arguments[0]); \
             var d = JSON.parse(document.getElementById('optsurf-data').textContent); \
             return [document.getElementById('step-label').textContent, v.points, v.hollow, d.image.area, d.domain];",
            vec![json!(k)],
        )?;
        let last = steps.last().unwrap();
        assert_eq!(v[0], format!("step {} / {last}", steps[k]));
        let (area, domain) = (&v[3], &v[4]);
        let f = |x: &Value| x.as_f64().unwrap();
        for (i, r) in plane["runs"].as_array().unwrap().iter().enumerate() {
            let [a, b] = [f(&r["path"][k][0]), f(&r["path"][k][1])];
            let x = f(&area[0])
                + (a - f(&domain[0][0])) / (f(&domain[0][1]) - f(&domain[0][0])) * (f(&area[2]) - f(&area[0]));
            let y = f(&area[3])
                - (b - f(&domain[1][0])) / (f(&domain[1][1]) - f(&domain[1][0])) * (f(&area[3]) - f(&area[1]));
            let p = &v[1][i];
            assert!(near(f(&p[0]), x, 1e-6) && near(f(&p[1]), y, 1e-6), "{p} vs ({x}, {y})");
            assert_eq!(v[2][i], json!(f(&r["residual"][k]) > threshold), "run {i} step {k}");
        }
    }
    Ok(())
}

fn logs(c: &Session) -> Res<Vec<Value>> {
    match c.command("POST", "se/log", json!({"type": "browser"}))? {
        Value::Array(entries) => Ok(entries),
        other => Err(format!("unexpected log answer: {other}").into()),
    }
}
