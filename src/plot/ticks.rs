//! Tick positions and labels the way matplotlib chooses them.

/// Tick positions inside `[lo, hi]` like matplotlib's `MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10])`:
/// the smallest "nice" step at least `(hi - lo) / nbins` that still gives two ticks.
pub(crate) fn nice_ticks(lo: f64, hi: f64, nbins: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || nbins <= 0.0 {
        return Vec::new();
    }
    let raw = (hi - lo) / nbins;
    let mag = 10f64.powf(raw.log10().floor());
    if !(mag.is_finite() && mag > 0.0) {
        return Vec::new();
    }
    const STEPS: [f64; 9] = [0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0];
    let mut idx = STEPS
        .iter()
        .position(|s| s * mag >= raw * (1.0 - 1e-9))
        .unwrap_or(STEPS.len() - 1);
    loop {
        let step = STEPS[idx] * mag;
        let first = (lo / step - 1e-9).ceil();
        let last = (hi / step + 1e-9).floor();
        let n = last - first + 1.0;
        if (n >= 2.0 || idx == 0) && n <= 1000.0 {
            return (0..n.max(0.0) as usize)
                .map(|k| {
                    let v = (first + k as f64) * step;
                    if v.abs() < step * 1e-9 { 0.0 } else { v }
                })
                .collect();
        }
        if n > 1000.0 || idx == 0 {
            return Vec::new();
        }
        idx -= 1;
    }
}

/// Labels for evenly spaced ticks, all with the decimals the step needs (`-7.5`, `0.0`, `20`), and a
/// typographic minus as matplotlib prints it.
pub(crate) fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let step = match ticks {
        [a, b, ..] => (b - a).abs(),
        [a] => a.abs().max(1.0),
        [] => return Vec::new(),
    };
    let big = ticks.iter().fold(0.0f64, |m, t| m.max(t.abs()));
    if big >= 1e5 || step < 1e-4 {
        return ticks.iter().map(|t| minus(&format!("{t:.2e}"))).collect();
    }
    let mut decimals = 0usize;
    while decimals < 8 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled.round() - scaled).abs() <= 1e-6 * scaled.max(1.0) {
            break;
        }
        decimals += 1;
    }
    ticks.iter().map(|t| minus(&format!("{t:.decimals$}"))).collect()
}

/// Replaces a leading ASCII hyphen by matplotlib's minus sign, and drops the sign of zero.
fn minus(s: &str) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => format!("\u{2212}{rest}"),
        Some(rest) => rest.to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matplotlib_like_ticks() {
        let t = nice_ticks(-10.0, 10.0, 9.0 * 24.0 / 23.0);
        assert_eq!(tick_labels(&t)[..3], ["\u{2212}10.0", "\u{2212}7.5", "\u{2212}5.0"]);
        assert_eq!(t.len(), 9);
        let t = nice_ticks(-0.05, 101.05, 9.0);
        assert_eq!(tick_labels(&t), ["0", "20", "40", "60", "80", "100"]);
        let t = nice_ticks(-0.016, 1.70, 9.0);
        assert_eq!(tick_labels(&t).first().map(String::as_str), Some("0.0"));
        assert_eq!(tick_labels(&t).last().map(String::as_str), Some("1.6"));
        assert!(nice_ticks(1.0, 1.0, 9.0).is_empty());
        assert!(nice_ticks(f64::NAN, 1.0, 9.0).is_empty());
    }
}
