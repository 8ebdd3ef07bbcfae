//! The report's pages as written (no browser): `optsurf report` lists every result with its runs,
//! marks the best run, shows only the hyperparameters that differ from the defaults, lists
//! unreadable files with the reason, and every file the pages point to exists.

use serde_json::Value;
use std::process::Output;

mod common;
use common::*;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Three runs that end apart, one of them with only default hyperparameters besides the rate,
/// one that diverges.
const MIXED: &str = r#"{"name": "mixed", "title": "Mixed <runs> & rates", "surface": "quadric", "start": [1.0, 2.0],
  "steps": 60,
  "runs": [{"label": "SGD slow", "optimizer": "sgd", "learning_rate": 0.001},
           {"label": "NAG", "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9, "nesterov": true},
           {"label": "Adam defaults", "optimizer": "adam", "learning_rate": 0.1, "beta_2": 0.999, "epsilon": 1e-7},
           {"label": "SGD huge", "optimizer": "sgd", "learning_rate": 50.0}]}"#;

const EXPRESSION: &str = r#"{"name": "bowl", "surface": {"expr": "x^2 + 2 * y^2 + 0.01 * r", "domain": [[-3, 3], [-2, 4]]},
  "start": [2.5, 3.5], "steps": 15,
  "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.1},
           {"label": "RMS", "optimizer": "rmsprop", "learning_rate": 0.1}]}"#;

const VECTORS: &str = r#"{"name": "vec", "kind": "adagrad_vectors", "full": true, "seed": 32, "steps": 8,
  "scales": [0.5, 2.0], "delta": 1e-5, "xlim": [-1, 1], "ylim": [0, 2]}"#;

/// A results folder: two experiments and a vectors experiment under `results/demo`, a broken
/// trajectory file, figures without their trajectories, a study and an unreadable study.
fn results() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "experiments/demo/mixed.json", MIXED);
    write(d, "experiments/demo/bowl.json", EXPRESSION);
    write(d, "experiments/demo/vec.json", VECTORS);
    ok(&optsurf(d, &["run", "experiments", "--no-plots"]));
    // A run that was cut off mid-write.
    let good = std::fs::read_to_string(d.join("results/demo/mixed/trajectories.json")).unwrap();
    write(d, "results/demo/cut/trajectories.json", &good[..good.len() / 2]);
    // Figures whose trajectories were deleted.
    write(d, "results/demo/orphan/surface.png", "not really a png");
    // A study as issue 11 describes it, and one whose `best` is not what the page expects.
    write(
        d,
        "results/studies/sweep/study.json",
        r#"{"name": "sweep", "surface": "himmelblau", "steps": 200,
            "best": {"adam": {"learning_rate": 0.1, "median_final_loss": 0.0021},
                     "sgd": {"learning_rate": 0.01, "momentum": 0.9, "median_final_loss": 0.0042}}}"#,
    );
    write(d, "results/studies/sweep/runs.csv", "config,optimizer\n");
    write(d, "results/studies/sweep/heatmap.png", "png");
    write(d, "results/studies/odd/study.json", r#"{"name": "odd", "best": 3}"#);
    write(d, "results/studies/odd/runs.csv", "config\n");
    dir
}

/// The `<article>` of the result in folder `dir` (relative to the results folder).
fn article<'a>(html: &'a str, dir: &str) -> &'a str {
    let at = html
        .find(&format!("data-dir=\"{dir}\""))
        .unwrap_or_else(|| panic!("no entry for {dir} in the index"));
    let start = html[..at].rfind("<article").unwrap();
    let end = at + html[at..].find("</article>").unwrap();
    &html[start..end]
}

/// The table row of the run labelled `label`.
fn row<'a>(article: &'a str, label: &str) -> &'a str {
    let at = article
        .find(&format!("data-label=\"{label}\""))
        .unwrap_or_else(|| panic!("no row for {label} in {article}"));
    let start = article[..at].rfind("<tr").unwrap();
    let end = at + article[at..].find("</tr>").unwrap();
    &article[start..end]
}

/// The text of the first `<td class="{class}...">` of a row.
fn cell<'a>(row: &'a str, class: &str) -> &'a str {
    let at = row
        .find(&format!("<td class=\"{class}"))
        .unwrap_or_else(|| panic!("no {class} cell in {row}"));
    let open = at + row[at..].find('>').unwrap() + 1;
    &row[open..open + row[open..].find("</td>").unwrap()]
}

#[test]
fn the_index_lists_every_experiment_with_its_runs() {
    let dir = results();
    let d = dir.path();
    let stdout = ok(&optsurf(d, &["report"]));
    assert!(stdout.contains("results/index.html"), "{stdout}");
    let html = std::fs::read_to_string(d.join("results/index.html")).unwrap();

    // Grouped by folder.
    let demo = html.find("id=\"group-demo\"").expect("a demo group");
    let studies = html.find("id=\"group-studies\"").expect("a studies group");
    assert!(demo < studies);
    assert!(html[demo..studies].contains("data-dir=\"demo/mixed\""));

    let mixed = article(&html, "demo/mixed");
    // Titles are escaped, the surface and steps shown, the view linked.
    assert!(mixed.contains("Mixed &lt;runs&gt; &amp; rates"), "{mixed}");
    assert!(mixed.contains("<code class=\"surface\">quadric</code>"), "{mixed}");
    assert!(mixed.contains("<span class=\"steps\">60</span> steps"), "{mixed}");
    assert!(mixed.contains("href=\"demo/mixed/view.html\""), "{mixed}");
    let t = read_json(&d.join("results/demo/mixed/trajectories.json"));
    let runs = t["runs"].as_array().unwrap();
    assert_eq!(mixed.matches("<tr class=\"run").count(), runs.len());
    for run in runs {
        let label = run["label"].as_str().unwrap();
        let r = row(mixed, label);
        assert!(
            r.contains(&format!("<td>{}</td>", run["optimizer"].as_str().unwrap())),
            "{r}"
        );
    }

    // Hyperparameters: only what differs from the optimizer's defaults.
    assert_eq!(cell(row(mixed, "SGD slow"), "hyper"), "learning_rate=0.001");
    assert_eq!(
        cell(row(mixed, "NAG"), "hyper"),
        "learning_rate=0.05, momentum=0.9, nesterov=true"
    );
    // beta_2 and epsilon were given but equal Keras's defaults; amsgrad was never given.
    assert_eq!(cell(row(mixed, "Adam defaults"), "hyper"), "learning_rate=0.1");
    let adam_defaults = &runs[2]["hyperparameters"];
    assert_eq!(adam_defaults["beta_2"], 0.999);
    assert_eq!(adam_defaults["amsgrad"], false);

    // The final losses, and the best run: the lowest final loss among the runs that did not
    // diverge, computed here from the trajectory file.
    let finals: Vec<Option<f64>> = runs
        .iter()
        .map(|r| match r["status"].as_str() {
            Some("ok") => r["loss"].as_array().unwrap().last().and_then(Value::as_f64),
            _ => None,
        })
        .collect();
    let best = finals
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.map(|f| (i, f)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
        .0;
    for (i, run) in runs.iter().enumerate() {
        let r = row(mixed, run["label"].as_str().unwrap());
        assert_eq!(r.contains("class=\"run best"), i == best, "{r}");
        assert_eq!(r.contains(">best</span>"), i == best, "{r}");
        if let Some(f) = finals[i] {
            let shown: f64 = cell(r, "num loss").split_whitespace().next().unwrap().parse().unwrap();
            assert!((shown - f).abs() <= 1e-5 * f.abs().max(1e-30), "{shown} vs {f}");
        }
    }
    assert_eq!(mixed.matches("class=\"run best").count(), 1);

    // The diverged run: its status with the step, no final loss, never the best.
    let huge = &runs[3];
    assert_eq!(huge["status"], "diverged");
    let at = huge["diverged_at"].as_u64().unwrap();
    let r = row(mixed, "SGD huge");
    assert_eq!(cell(r, "status"), format!("diverged at step {at}"));
    assert!(cell(r, "num loss").contains("—"), "{r}");
    assert!(r.contains("class=\"run diverged\""), "{r}");

    // An expression surface shows its expression; the vectors experiment its steps.
    let bowl = article(&html, "demo/bowl");
    assert!(
        bowl.contains("<code class=\"surface\">x^2 + 2 * y^2 + 0.01 * r</code>"),
        "{bowl}"
    );
    let vec = article(&html, "demo/vec");
    assert!(vec.contains("Full-matrix AdaGrad"), "{vec}");
    assert_eq!(vec.matches("<tr><td>").count(), 8);
    assert!(
        !vec.contains("view.html"),
        "vectors experiments have no interactive view"
    );
}

#[test]
fn unreadable_results_are_listed_with_the_reason() {
    let dir = results();
    let d = dir.path();
    let stdout = ok(&optsurf(d, &["report", "results"]));
    // The command line says what it could not read, and still writes the page.
    assert!(stdout.contains("3 unreadable"), "{stdout}");
    assert!(stdout.contains("demo/cut"), "{stdout}");
    let html = std::fs::read_to_string(d.join("results/index.html")).unwrap();
    assert!(html.contains("<span id=\"count-broken\">3</span>"), "{html}");

    let cut = article(&html, "demo/cut");
    assert!(cut.contains("class=\"entry broken\""), "{cut}");
    assert!(cut.contains("demo/cut/trajectories.json"), "{cut}");
    assert!(cut.contains("EOF while parsing"), "the parser's reason: {cut}");
    assert!(!d.join("results/demo/cut/view.html").exists());

    let orphan = article(&html, "demo/orphan");
    assert!(orphan.contains("class=\"entry broken\""), "{orphan}");
    assert!(
        orphan.contains("trajectories.json is missing (the folder holds surface.png)"),
        "{orphan}"
    );

    // Studies: the best configuration per optimizer, whatever fields it has; an unexpected shape
    // is listed as unreadable with the reason.
    let sweep = article(&html, "studies/sweep");
    assert!(sweep.contains("class=\"entry study\""), "{sweep}");
    assert!(sweep.contains("<code class=\"surface\">himmelblau</code>"), "{sweep}");
    let adam = row(sweep, "adam");
    assert_eq!(
        cell(adam, "hyper metrics"),
        "learning_rate=0.1, median_final_loss=0.0021"
    );
    let sgd = row(sweep, "sgd");
    assert_eq!(
        cell(sgd, "hyper metrics"),
        "learning_rate=0.01, momentum=0.9, median_final_loss=0.0042"
    );
    assert!(sweep.contains("src=\"studies/sweep/heatmap.png\""), "{sweep}");
    assert!(sweep.contains("href=\"studies/sweep/runs.csv\""), "{sweep}");
    let odd = article(&html, "studies/odd");
    assert!(odd.contains("class=\"entry study broken\""), "{odd}");
    assert!(
        odd.contains("field `best`: expected an object or a list of configurations, got a number"),
        "{odd}"
    );
}

/// Every `src="..."` and `href="..."` of `html` that is not a fragment.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let link = &rest[..rest.find('"').unwrap()];
            if !link.starts_with('#') {
                out.push(link.replace("&amp;", "&"));
            }
        }
    }
    out
}

#[test]
fn pages_need_no_network_and_every_link_resolves() {
    let dir = results();
    let d = dir.path();
    let out = optsurf(d, &["run", "experiments/demo/bowl.json", "--report"]);
    let stdout = ok(&out);
    // `run --report` ends with where the page is.
    assert!(
        stdout.lines().last().unwrap().ends_with("results/index.html"),
        "{stdout}"
    );
    let root = d.join("results");
    let index = std::fs::read_to_string(root.join("index.html")).unwrap();
    let mut pages = vec![(root.clone(), index)];
    for view in ["demo/mixed", "demo/bowl"] {
        let folder = root.join(view);
        pages.push((
            folder.clone(),
            std::fs::read_to_string(folder.join("view.html")).unwrap(),
        ));
    }
    for (folder, html) in &pages {
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "a network address in a page"
        );
        assert!(
            !html.contains("<script src") && !html.contains("<link"),
            "scripts and styles are inline"
        );
        let links = links(html);
        assert!(!links.is_empty());
        for link in links {
            assert!(
                folder.join(&link).exists(),
                "{} links to missing {link}",
                folder.display()
            );
        }
    }
    // The bowl ran with figures, so the index shows them, GIF included.
    let bowl = article(&pages[0].1, "demo/bowl");
    for figure in ["surface.png", "surface.gif", "loss.png", "loss.gif"] {
        assert!(
            bowl.contains(&format!("demo/bowl/{figure}")),
            "{figure} missing: {bowl}"
        );
    }
}

#[test]
fn views_carry_their_runs_and_the_contour_images_mapping() {
    let dir = results();
    let d = dir.path();
    ok(&optsurf(d, &["report"]));
    let folder = d.join("results/demo/bowl");
    let html = std::fs::read_to_string(folder.join("view.html")).unwrap();
    let data = view_data(&html);
    let t = read_json(&folder.join("trajectories.json"));
    assert_eq!(data["runs"].as_array().unwrap().len(), 2);
    for (shown, run) in data["runs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(t["runs"].as_array().unwrap())
    {
        assert_eq!(shown["label"], run["label"]);
        assert_eq!(shown["points"], run["points"]);
        assert_eq!(shown["loss"], run["loss"]);
        assert_eq!(shown["grads"], run["grads"]);
    }
    // Run colours are the figures' (seaborn's Set2).
    assert_eq!(data["runs"][0]["color"], "#66c2a5");
    assert_eq!(data["runs"][1]["color"], "#fc8d62");
    // The image is optsurf's contour view of the experiment's domain, and the page maps data to
    // pixels as the contour layout does.
    assert_eq!(data["domain"], serde_json::json!([[-3.0, 3.0], [-2.0, 4.0]]));
    let domain = optsurf::surface::Domain::from([[-3.0, 3.0], [-2.0, 4.0]]);
    let layout = optsurf::plot::ContourLayout::new(600, 600, domain);
    let area: Vec<f64> = data["image"]["area"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(area, layout.area());
    let png = std::fs::read(folder.join("contour.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (600, 600));
}

#[test]
fn a_view_without_its_surface_still_shows_the_runs() {
    let dir = results();
    let d = dir.path();
    // Trajectories over a surface this registry does not have (a user's own, say).
    let path = d.join("results/demo/mixed/trajectories.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"surface\": \"quadric\"", "\"surface\": \"my_own\"", 1),
    )
    .unwrap();
    ok(&optsurf(d, &["report"]));
    let html = std::fs::read_to_string(d.join("results/index.html")).unwrap();
    let mixed = article(&html, "demo/mixed");
    assert!(mixed.contains("The view has no contour image"), "{mixed}");
    assert!(mixed.contains("my_own"), "{mixed}");
    assert_eq!(mixed.matches("<tr class=\"run").count(), 4);
    let view = std::fs::read_to_string(d.join("results/demo/mixed/view.html")).unwrap();
    assert!(view.contains("No contour image"), "{view}");
    assert!(!view.contains("<img id=\"contour\""));
}

#[test]
fn a_missing_results_folder_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = optsurf(dir.path(), &["report", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nowhere") && stderr.contains("results folder"),
        "{stderr}"
    );
}

#[test]
fn a_study_shows_its_figures_best_configurations_and_tuned_comparison() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "experiments/studies/small.json",
        r#"{"kind": "study", "name": "small", "surface": "himmelblau", "steps": 30,
            "starts": {"grid": [6, 6]},
            "optimizers": [{"optimizer": "adam", "learning_rate": {"logspace": [0.01, 1.0, 3]}},
                           {"optimizer": "sgd", "learning_rate": [0.001, 0.01], "momentum": [0.0, 0.9]}],
            "threshold": 0.001, "tune": {"objective": "median_final_loss"}}"#,
    );
    ok(&optsurf(d, &["run", "experiments", "--report"]));
    let html = std::fs::read_to_string(d.join("results/index.html")).unwrap();
    let study = article(&html, "studies/small");
    assert!(study.contains("class=\"entry study\""), "{study}");
    for figure in ["heatmap.png", "basins.png", "sensitivity.png"] {
        assert!(
            study.contains(&format!("src=\"studies/small/{figure}\"")),
            "{figure}: {study}"
        );
    }
    // The best configuration of each optimizer, as study.json has it: the optimizer and the
    // hyperparameters of the configuration it points to that differ from the defaults.
    let json = read_json(&d.join("results/studies/small/study.json"));
    let best = json["best"].as_object().unwrap();
    assert_eq!(best.len(), 2);
    let registry = optsurf::Registry::builtin();
    for (label, entry) in best {
        let config = &json["configurations"][entry["config"].as_u64().unwrap() as usize];
        let optimizer = config["optimizer"].as_str().unwrap();
        let defaults = registry.optimizer(optimizer).unwrap().defaults().hyperparameters();
        let differing: Vec<String> = config["hyperparameters"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| match (defaults[k.as_str()].as_f64(), v.as_f64()) {
                (Some(a), Some(b)) => a != b,
                _ => defaults[k.as_str()] != **v,
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = row(study, label);
        assert!(r.contains(&format!("<td>{optimizer}</td>")), "{r}");
        assert_eq!(cell(r, "hyper\""), differing.join(", "), "{r}");
        let objective = json["objective"].as_str().unwrap();
        let shown = cell(r, "hyper metrics");
        let value: f64 = shown
            .split(&format!("{objective}="))
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let want = entry[objective].as_f64().unwrap();
        assert!(
            (value - want).abs() <= 1e-5 * want.abs().max(1e-300),
            "{objective} in {r}"
        );
    }
    // Its tuned comparison is an experiment of its own, linked from the study.
    assert!(study.contains("href=\"#x-studies/small/tuned\""), "{study}");
    let tuned = article(&html, "studies/small/tuned");
    assert!(tuned.contains("class=\"entry runs\""), "{tuned}");
    assert_eq!(tuned.matches("<tr class=\"run").count(), 2);
    assert!(html.contains("id=\"x-studies/small/tuned\""));
}

/// Results a clone holds without figures (committed baselines never run here) say how to run
/// them; a data surface's entry says nothing of noise (it has none); a noisy surface's does.
#[test]
fn results_never_run_say_how_and_data_surfaces_show_no_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/iris.csv"),
        d.join("data/iris.csv"),
    )
    .unwrap();
    write(d, "experiments/blog/the-mixed.json", MIXED);
    write(
        d,
        "experiments/data/iris-fit.json",
        r#"{"name": "iris-fit", "surface": {"model": "linear_regression", "data": {"csv": "data/iris.csv", "x": "petal_length", "y": "petal_width"}},
            "start": [0.5, 0.5], "steps": 5, "runs": [{"label": "SGD", "optimizer": "sgd", "learning_rate": 0.01}]}"#,
    );
    ok(&optsurf(d, &["run", "experiments/blog/the-mixed.json", "--no-plots"]));
    ok(&optsurf(d, &["run", "experiments/data/iris-fit.json"]));
    ok(&optsurf(d, &["report"]));
    let index = std::fs::read_to_string(d.join("results/index.html")).unwrap();
    let entry = |dir: &str| -> String {
        let start = index
            .find(&format!("data-dir=\"{dir}\""))
            .unwrap_or_else(|| panic!("{dir} not listed"));
        let end = index[start..].find("</article>").unwrap();
        index[start..start + end].to_string()
    };
    let mixed = entry("blog/mixed");
    assert!(
        mixed.contains("not run yet: <code>optsurf run experiments/blog/the-mixed.json</code>"),
        "{mixed}"
    );
    assert!(mixed.contains("noise seed 0, nearest"), "{mixed}");
    let iris = entry("data/iris-fit");
    assert!(!iris.contains("not run yet"), "its figures are drawn: {iris}");
    assert!(!iris.contains("noise seed"), "{iris}");
}

/// The JSON inside `<script id="optsurf-data">` of a view.
fn view_data(html: &str) -> Value {
    let start = html.find("id=\"optsurf-data\">").unwrap() + "id=\"optsurf-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn a_models_planes_show_their_paths_sharpness_and_residuals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "experiments/m.json",
        r#"{"name": "m", "surface": {"model": "mlp", "layers": [6], "activation": "tanh", "loss": "binary_cross_entropy",
              "data": {"generate": "spirals", "n": 80, "noise": 0.2, "seed": 1}, "record_every": 10},
            "start": {"seed": 0}, "steps": 40, "plot": {"animate": false},
            "landscape": [{"plane": "pca", "resolution": [9, 7]},
                          {"plane": "random", "resolution": 5, "range": [[-1, 1], [-1, 1]]}],
            "runs": [{"label": "Adam <fast>", "optimizer": "adam", "learning_rate": 0.02},
                     {"label": "SGD", "optimizer": "sgd", "learning_rate": 0.5}]}"#,
    );
    ok(&optsurf(d, &["run", "experiments"]));
    let folder = d.join("results/m");
    assert!(folder.join("landscape.png").is_file() && !folder.join("landscape.gif").exists());
    // A third plane whose file was damaged: its content never reaches the page.
    write(
        d,
        "results/m/landscape-3.json",
        r#"{"plane": "pca", "a": "SECRET-ROW-42"}"#,
    );
    ok(&optsurf(d, &["report", "results"]));
    let index = std::fs::read_to_string(d.join("results/index.html")).unwrap();
    let html = article(&index, "m");
    for (k, file) in ["landscape.json", "landscape-2.json"].iter().enumerate() {
        let plane = read_json(&folder.join(file));
        let at = html.find(&format!("data-file=\"{file}\"")).unwrap();
        let section = &html[at..at + html[at..].find("</section>").unwrap()];
        // Each run's sharpness as landscape.json has it.
        for r in plane["runs"].as_array().unwrap() {
            let label = r["label"].as_str().unwrap().replace('<', "&lt;").replace('>', "&gt;");
            let row = row(section, &label);
            for (class, key) in [("num lambda-max", "lambda_max"), ("num ratio", "ratio")] {
                let shown: f64 = cell(row, class).parse().unwrap();
                let want = r["sharpness"][key].as_f64().unwrap();
                assert!(
                    (shown - want).abs() <= 1e-5 * want.abs(),
                    "{label} {key}: {shown} vs {want}"
                );
            }
        }
        if k == 0 {
            let e = plane["explained_variance"][0].as_f64().unwrap();
            assert!(section.contains(&format!("PC 1: {:.1}%", 100.0 * e)), "{section}");
        } else {
            assert!(section.contains("random plane") && !section.contains("PC 1"));
        }
        // The view moves each run along its projected path, its steps and residuals with it.
        let view_name = if k == 0 {
            "landscape_view.html".to_string()
        } else {
            format!("landscape_view-{}.html", k + 1)
        };
        assert!(section.contains(&view_name), "{section}");
        let view = std::fs::read_to_string(folder.join(&view_name)).unwrap();
        let data = view_data(&view);
        assert_eq!(data["threshold"], plane["residual_threshold"]);
        assert_eq!(data["stepLabels"], plane["runs"][0]["steps"]);
        let image = data["image"]["src"].as_str().unwrap();
        assert!(folder.join(image).is_file() && view.contains(&format!("src=\"{image}\"")));
        for (shown, r) in data["runs"]
            .as_array()
            .unwrap()
            .iter()
            .zip(plane["runs"].as_array().unwrap())
        {
            assert_eq!(shown["label"], r["label"]);
            assert_eq!(shown["points"], r["path"]);
            assert_eq!(shown["residual"], r["residual"]);
            assert_eq!(shown["loss"], r["path_loss"]);
        }
        assert!(
            !view.contains("http://") && !view.contains("https://"),
            "self-contained"
        );
    }
    let broken = &html[html.find("data-file=\"landscape-3.json\"").unwrap()..];
    assert!(broken.contains("landscape-3.json: not a landscape the report can read"));
    assert!(!index.contains("SECRET-ROW-42"));
    assert!(!folder.join("landscape_view-3.html").exists());
}
