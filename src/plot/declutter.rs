//! Keeping labels apart: a column of labels spread along one axis (the loss chart's end-of-run
//! values), and labels beside markers nudged up or down, or to the other side, until they touch
//! nothing (the surface figure's values at each run's dot). A label that finds no room is left
//! out; the legend still carries its value.

use super::legend::overlaps;

/// Where labels wanting the centres `want` (any order) go in a column from `lo` to `hi`, at least
/// `gap` apart and each as near its wish as the others allow. When the column cannot hold them
/// all, the highest, the lowest and evenly spaced ones between are kept, the rest `None`.
pub(crate) fn spread(want: &[f64], gap: f64, lo: f64, hi: f64) -> Vec<Option<f64>> {
    let mut order: Vec<usize> = (0..want.len()).filter(|&i| want[i].is_finite()).collect();
    order.sort_by(|&a, &b| want[a].total_cmp(&want[b]));
    let room = if hi >= lo && gap > 0.0 {
        ((hi - lo) / gap).floor() as usize + 1
    } else {
        1
    };
    if order.len() > room {
        let n = order.len();
        order = (0..room)
            .map(|k| {
                order[if room > 1 {
                    (k * (n - 1) + (room - 1) / 2) / (room - 1)
                } else {
                    0
                }]
            })
            .collect();
        order.dedup();
    }
    let mut ys: Vec<f64> = order.iter().map(|&i| want[i].clamp(lo, hi.max(lo))).collect();
    for k in 1..ys.len() {
        ys[k] = ys[k].max(ys[k - 1] + gap);
    }
    if let Some(last) = ys.last_mut() {
        *last = last.min(hi.max(lo));
    }
    for k in (0..ys.len().saturating_sub(1)).rev() {
        ys[k] = ys[k].min(ys[k + 1] - gap);
    }
    let mut out = vec![None; want.len()];
    for (&i, y) in order.iter().zip(ys) {
        out[i] = Some(y);
    }
    out
}

/// A label to put beside a marker.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Beside {
    /// The marker's centre.
    pub at: [f64; 2],
    /// The marker's radius.
    pub radius: f64,
    /// The label's width and height.
    pub size: [f64; 2],
    /// How far above the marker's centre the label's middle is at its first place.
    pub lift: f64,
}

/// Where a label went: its box `[x0, y0, x1, y1]` and whether it moved off its first place
/// (then a leader line joins it to its marker).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spot {
    /// The label's box.
    pub bbox: [f64; 4],
    /// Moved away from the marker.
    pub moved: bool,
}

/// Places labels beside their markers, in order (earlier ones keep the better places): first
/// right of the marker, `lift` above its centre, then nudged up or down a label's height
/// at a time, then the same on the left, up to `steps` heights away; never overlapping an
/// earlier label, another marker or an `avoid` box, and inside `bounds`.
pub(crate) fn beside(labels: &[Beside], bounds: [f64; 4], avoid: &[[f64; 4]], steps: usize) -> Vec<Option<Spot>> {
    // Markers as boxes a little inside their discs: a label may graze a disc's edge.
    let markers: Vec<[f64; 4]> = labels
        .iter()
        .map(|l| {
            let r = 0.85 * l.radius;
            [l.at[0] - r, l.at[1] - r, l.at[0] + r, l.at[1] + r]
        })
        .collect();
    let mut taken: Vec<[f64; 4]> = Vec::new();
    let mut out = Vec::with_capacity(labels.len());
    for (i, l) in labels.iter().enumerate() {
        let [w, h] = l.size;
        let [x, y] = l.at;
        if !(x.is_finite() && y.is_finite()) {
            out.push(None);
            continue;
        }
        let free = |b: [f64; 4]| {
            // A pixel of air: drawn text snaps to whole pixels.
            let air = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
            b[0] >= bounds[0]
                && b[1] >= bounds[1]
                && b[2] <= bounds[2]
                && b[3] <= bounds[3]
                && !taken.iter().chain(avoid).any(|t| overlaps(*t, air))
                && !markers
                    .iter()
                    .enumerate()
                    .any(|(j, m)| j != i && labels[j].at[0].is_finite() && overlaps(*m, b))
        };
        let right = x + 0.9 * l.radius;
        let left = x - 0.9 * l.radius - w;
        let mid = y - l.lift;
        let pitch = 1.1 * h;
        let found = [right, left]
            .iter()
            .flat_map(|&x0| {
                (0..=2 * steps).map(move |k| {
                    // 0, -1, +1, -2, +2, ... label heights.
                    let step = k.div_ceil(2) as f64 * if k % 2 == 1 { -1.0 } else { 1.0 };
                    (x0, mid + step * pitch, k > 0 || x0 != right)
                })
            })
            .map(|(x0, cy, moved)| (([x0, cy - h / 2.0, x0 + w, cy + h / 2.0]), moved))
            .find(|(b, _)| free(*b));
        match found {
            Some((bbox, moved)) => {
                taken.push(bbox);
                out.push(Some(Spot { bbox, moved }));
            }
            None => out.push(None),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_spreads_and_drops_what_cannot_fit() {
        let ys = spread(&[10.0, 10.0, 10.0], 5.0, 0.0, 100.0);
        let ys: Vec<f64> = ys.into_iter().map(Option::unwrap).collect();
        assert!(ys.windows(2).all(|p| p[1] - p[0] >= 5.0 - 1e-9), "{ys:?}");
        // Forty wishes, room for eleven.
        let want: Vec<f64> = (0..40).map(|k| k as f64).collect();
        let ys = spread(&want, 10.0, 0.0, 100.0);
        let kept: Vec<f64> = ys.iter().flatten().copied().collect();
        assert_eq!(kept.len(), 11);
        assert!(ys[0].is_some() && ys[39].is_some(), "both ends kept");
        let mut sorted = kept.clone();
        sorted.sort_by(f64::total_cmp);
        assert!(sorted.windows(2).all(|p| p[1] - p[0] >= 10.0 - 1e-9), "{sorted:?}");
        assert!(sorted.iter().all(|y| (0.0..=100.0).contains(y)));
    }

    #[test]
    fn labels_beside_markers_never_overlap() {
        // Ten markers on one spot.
        let labels = vec![
            Beside {
                at: [200.0, 200.0],
                radius: 5.0,
                size: [30.0, 12.0],
                lift: 4.0,
            };
            10
        ];
        let spots = beside(&labels, [0.0, 0.0, 400.0, 400.0], &[], 6);
        let boxes: Vec<[f64; 4]> = spots.iter().flatten().map(|s| s.bbox).collect();
        assert_eq!(boxes.len(), 10);
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[..i] {
                assert!(!overlaps(*a, *b), "{a:?} overlaps {b:?}");
            }
        }
        assert!(!spots[0].unwrap().moved && spots[1].unwrap().moved);
        // No room at all: left out.
        let spots = beside(&labels, [195.0, 195.0, 205.0, 205.0], &[], 6);
        assert!(spots.iter().all(Option::is_none));
    }
}
