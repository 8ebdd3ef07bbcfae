//! A study's basins on a surface without known minima: the minima are found from the runs
//! themselves. The end points of the runs that did not diverge are clustered (each cluster
//! gathers the ends within the basin reach, 5% of the domain's width as for known minima, of its
//! lowest end, and at least a few runs); cluster `k`, in order of its lowest loss, is "found
//! minimum k" at its lowest end. What the success threshold can mean there is said too: with no
//! known minimum it is an absolute loss, not "reached a minimum".
//!
//! Computed from the outcomes as `runs.csv` holds them, so a merged study and an unsharded one
//! find the same basins.

use crate::experiment::study::Study;
use crate::experiment::study::run::Outcome;
use crate::experiment::tiles::CHUNK_ROWS;
use crate::tensor::to_vec;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The basin reach: an end point belongs to a minimum within this share of the domain's width.
pub(crate) const REACH: f64 = 0.05;

/// A run converged when the gradient where it ended is at most this share of the median
/// gradient at the starts.
pub(crate) const CONVERGED: f64 = 0.02;

/// A minimum found from the runs' end points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FoundMinimum {
    /// `found minimum k`.
    pub label: String,
    /// Its lowest end point.
    pub point: [f64; 2],
    /// The loss there.
    pub loss: f64,
    /// The runs that ended in it.
    pub runs: usize,
}

/// `study.json`'s word on where the basins come from, when the surface has no known minima.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FoundBasins {
    /// How they were found.
    pub how: String,
    /// The minima found, lowest loss first.
    pub minima: Vec<FoundMinimum>,
}

impl Study {
    /// True when the basins are found from the runs (the surface has no known minima).
    pub(crate) fn finds_basins(&self) -> bool {
        self.surface.minima().next().is_none() && self.surface.model().is_none()
    }

    /// The fewest runs whose ends make a found minimum.
    fn fewest(ends: usize) -> usize {
        (ends / 500).max(2)
    }

    /// The surface's gradient norm at each point, on `device`.
    fn gradient_norms(&self, points: &[[f64; 2]], device: &Device) -> Vec<f64> {
        let noise = self.surface.noise(self.noise, device);
        let mut norms = Vec::with_capacity(points.len());
        for chunk in points.chunks(CHUNK_ROWS) {
            let flat: Vec<f32> = chunk.iter().flat_map(|p| [p[0] as f32, p[1] as f32]).collect();
            let t = Tensor::<2>::from_data(TensorData::new(flat, [chunk.len(), 2]), device);
            let (_, grad) = self.surface.loss_and_grad(t, &noise);
            norms.extend(to_vec(grad).chunks(2).map(|g| (g[0] as f64).hypot(g[1] as f64)));
        }
        norms
    }

    /// Sets each outcome's basin to the found minimum it ended in (-1 none, -2 diverged kept)
    /// when the surface has no known minima; leaves the outcomes as they are otherwise. Only
    /// runs that converged count: the gradient where they ended is at most [`CONVERGED`] of
    /// the median gradient at the starts.
    pub(crate) fn find_basins(&self, outcomes: &mut [Outcome], device: &Device) {
        if !self.finds_basins() {
            return;
        }
        let reach = REACH * self.surface.domain.width();
        let ended = |o: &Outcome| {
            o.diverged_at.is_none()
                && o.final_loss.is_finite()
                && o.final_point[0].is_finite()
                && o.final_point[1].is_finite()
        };
        let ends: Vec<usize> = (0..outcomes.len()).filter(|&i| ended(&outcomes[i])).collect();
        let fewest = Self::fewest(ends.len());
        let starts: Vec<[f64; 2]> = self.starts.iter().filter_map(|s| s.point()).collect();
        let mut at_starts = self.gradient_norms(&starts, device);
        at_starts.sort_by(f64::total_cmp);
        let flat = CONVERGED * at_starts.get(at_starts.len() / 2).copied().unwrap_or(0.0);
        let points: Vec<[f64; 2]> = ends.iter().map(|&i| outcomes[i].final_point.map(f64::from)).collect();
        let at_ends = self.gradient_norms(&points, device);
        let mut order: Vec<usize> = ends
            .into_iter()
            .zip(at_ends)
            .filter(|(_, g)| *g <= flat)
            .map(|(i, _)| i)
            .collect();
        order.sort_by(|&a, &b| {
            outcomes[a]
                .final_loss
                .total_cmp(&outcomes[b].final_loss)
                .then(a.cmp(&b))
        });
        let at = |i: usize| outcomes[i].final_point.map(f64::from);
        let cell = |p: [f64; 2]| ((p[0] / reach).floor() as i64, (p[1] / reach).floor() as i64);
        // The unassigned ends by cell of side `reach`: a neighbour is in the 3 x 3 cells around.
        let mut cells: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        for &i in &order {
            cells.entry(cell(at(i))).or_default().push(i);
        }
        let mut assigned = vec![false; outcomes.len()];
        let mut clusters: Vec<Vec<usize>> = Vec::new();
        for &i in &order {
            if assigned[i] {
                continue;
            }
            let p = at(i);
            let (cx, cy) = cell(p);
            let mut members = Vec::new();
            for dx in -1..=1 {
                for dy in -1..=1 {
                    if let Some(list) = cells.get(&(cx + dx, cy + dy)) {
                        let near = |&&j: &&usize| {
                            let q = at(j);
                            (q[0] - p[0]).hypot(q[1] - p[1]) <= reach
                        };
                        members.extend(list.iter().filter(near));
                    }
                }
            }
            if members.len() < fewest {
                continue;
            }
            for &j in &members {
                assigned[j] = true;
            }
            for dx in -1..=1 {
                for dy in -1..=1 {
                    if let Some(list) = cells.get_mut(&(cx + dx, cy + dy)) {
                        list.retain(|&j| !assigned[j]);
                    }
                }
            }
            clusters.push(members);
        }
        // Lowest loss first (an end that could not gather a cluster may join a later one below
        // its first end's loss).
        let lowest = |c: &Vec<usize>| {
            c.iter()
                .copied()
                .min_by(|&a, &b| {
                    outcomes[a]
                        .final_loss
                        .total_cmp(&outcomes[b].final_loss)
                        .then(a.cmp(&b))
                })
                .expect("clusters are not empty")
        };
        let mut ranked: Vec<(usize, Vec<usize>)> = clusters.into_iter().map(|c| (lowest(&c), c)).collect();
        ranked.sort_by(|a, b| {
            outcomes[a.0]
                .final_loss
                .total_cmp(&outcomes[b.0].final_loss)
                .then(a.0.cmp(&b.0))
        });
        for o in outcomes.iter_mut().filter(|o| o.basin >= 0) {
            o.basin = -1;
        }
        for (k, (_, members)) in ranked.iter().enumerate() {
            for &j in members {
                outcomes[j].basin = k as i64;
            }
        }
    }

    /// The minima found, from outcomes whose basins [`Study::find_basins`] set: each basin's
    /// lowest end. `None` when the surface has known minima.
    pub(crate) fn found_basins(&self, outcomes: &[Outcome]) -> Option<FoundBasins> {
        if !self.finds_basins() {
            return None;
        }
        let mut minima: Vec<FoundMinimum> = Vec::new();
        for o in outcomes.iter().filter(|o| o.basin >= 0) {
            let k = o.basin as usize;
            if minima.len() <= k {
                minima.resize_with(k + 1, || FoundMinimum {
                    label: String::new(),
                    point: [f64::NAN; 2],
                    loss: f64::INFINITY,
                    runs: 0,
                });
            }
            let m = &mut minima[k];
            m.runs += 1;
            if (o.final_loss as f64) < m.loss {
                m.loss = o.final_loss as f64;
                m.point = o.final_point.map(f64::from);
            }
        }
        for (k, m) in minima.iter_mut().enumerate() {
            m.label = format!("found minimum {k}");
        }
        let ends = outcomes.iter().filter(|o| o.basin != -2).count();
        let how = format!(
            "the surface has no known minima: basins are minima found from the runs' end points (the ends of runs \
             that converged, with a gradient below {}% of the median at the starts, gathered within {}% of the \
             domain's width of the lowest, at least {} runs each)",
            CONVERGED * 100.0,
            REACH * 100.0,
            Self::fewest(ends)
        );
        Some(FoundBasins { how, minima })
    }

    /// What the success threshold cannot mean, when it cannot mean "reached the minimum": the
    /// surface has no known minimum, so it is an absolute loss, with what the runs show of it.
    pub(crate) fn threshold_warnings(&self, outcomes: &[Outcome], found: Option<&FoundBasins>) -> Vec<String> {
        let Some(found) = found else {
            return Vec::new();
        };
        let target = self.target();
        let mut warning = format!(
            "the surface has no known minimum, so success means a loss <= {target} (the threshold itself), not \
             reaching a minimum"
        );
        let at_start = outcomes.iter().filter(|o| o.steps_to_threshold == Some(0)).count();
        if at_start * 2 >= outcomes.len() && at_start > 0 {
            warning.push_str(&format!(
                "; {at_start} of {} runs start below it, so it says nothing of them",
                outcomes.len()
            ));
        }
        match found.minima.first() {
            Some(lowest) if lowest.loss > target => warning.push_str(&format!(
                "; no run can succeed: the lowest found minimum has loss {}",
                lowest.loss
            )),
            Some(lowest) => {
                let higher: Vec<String> = found
                    .minima
                    .iter()
                    .skip(1)
                    .filter(|m| m.loss <= target && m.loss > lowest.loss + self.threshold)
                    .map(|m| m.label.clone())
                    .collect();
                if !higher.is_empty() {
                    warning.push_str(&format!(
                        "; runs ending in {} count as successes though found minimum 0 is lower",
                        higher.join(", ")
                    ));
                }
            }
            None => {}
        }
        warning.push_str(
            "; give the surface its minima (an expression's \"minima\", Surface::with_minimum in Rust) for a threshold \
             above the lowest",
        );
        vec![warning]
    }
}
