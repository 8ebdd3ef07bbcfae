//! A study's outcomes summarised: per configuration (its median, mean and extreme final losses,
//! success and divergence rates) and the best configuration per label under the tuning
//! objective.

use super::run::Outcome;
use super::{Objective, Study};

impl Study {
    /// The objective tuning uses (the tune's, or the median final loss).
    pub(crate) fn objective(&self) -> Objective {
        self.tune.as_ref().map_or(Objective::MedianFinalLoss, |t| t.objective)
    }

    /// Each configuration's summary (over all its starts and seeds) from every row's outcome.
    pub fn summaries(&self, outcomes: &[Outcome]) -> Vec<Summary> {
        let per = self.starts.len() * self.seeds.len();
        outcomes.chunks(per).map(Summary::of).collect()
    }

    /// The best configuration per label (optimizer), in the order labels first appear.
    pub fn best(&self, summaries: &[Summary]) -> Vec<(String, usize)> {
        let objective = self.objective();
        let mut best: Vec<(String, usize)> = Vec::new();
        for (i, config) in self.configs.iter().enumerate() {
            let name = config.label.clone();
            match best.iter_mut().find(|(n, _)| *n == name) {
                None => best.push((name, i)),
                Some((_, b)) => {
                    if summaries[i].better(&summaries[*b], objective) {
                        *b = i;
                    }
                }
            }
        }
        best
    }
}

/// One configuration's results over its starts and seeds. Diverged runs count as an infinite
/// final loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Runs.
    pub runs: usize,
    /// Median, mean, minimum and maximum final loss (infinite when diverged runs decide it).
    pub final_loss: [f64; 4],
    /// Share of runs that reached the threshold without diverging.
    pub success_rate: f64,
    /// Median steps to the threshold over the runs that reached it.
    pub median_steps: Option<f64>,
    /// Share of runs that diverged.
    pub divergence_rate: f64,
    /// A model's median held-out loss, accuracy and held-out accuracy over the runs that did
    /// not diverge (each when the model and its data have it).
    pub model: [Option<f64>; 3],
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => {
            let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
            if a == b { a } else { a + (b - a) / 2.0 }
        }
    }
}

impl Summary {
    /// The summary of one configuration's outcomes.
    pub(crate) fn of(outcomes: &[Outcome]) -> Summary {
        let n = outcomes.len();
        let mut losses: Vec<f64> = outcomes.iter().map(Outcome::ranked_loss).collect();
        losses.sort_by(f64::total_cmp);
        let mean = losses.iter().sum::<f64>() / n as f64;
        let mut steps: Vec<f64> = outcomes
            .iter()
            .filter(|o| o.diverged_at.is_none())
            .filter_map(|o| o.steps_to_threshold.map(|s| s as f64))
            .collect();
        steps.sort_by(f64::total_cmp);
        Summary {
            runs: n,
            final_loss: [median(&losses), mean, losses[0], losses[n - 1]],
            success_rate: steps.len() as f64 / n as f64,
            median_steps: (!steps.is_empty()).then(|| median(&steps)),
            divergence_rate: outcomes.iter().filter(|o| o.diverged_at.is_some()).count() as f64 / n as f64,
            model: [0, 1, 2].map(|k| {
                let mut v: Vec<f64> = outcomes.iter().filter_map(|o| o.model[k]).map(f64::from).collect();
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| median(&v))
            }),
        }
    }

    /// The value ranked by `objective` (lower is better; success rate negated).
    pub(crate) fn rank(&self, objective: Objective) -> f64 {
        match objective {
            Objective::MedianFinalLoss => self.final_loss[0],
            Objective::MeanFinalLoss => self.final_loss[1],
            Objective::SuccessRate => -self.success_rate,
            Objective::MedianStepsToThreshold => self.median_steps.unwrap_or(f64::INFINITY),
            Objective::MedianTestLoss => self.model[0].unwrap_or(f64::INFINITY),
            Objective::MedianTestAccuracy => -self.model[2].unwrap_or(f64::NEG_INFINITY),
        }
    }

    /// True when strictly better by `objective`; ties go to the fewer median steps to the
    /// threshold, then the lower median final loss, then the earlier configuration. NaN ranks
    /// last.
    pub(crate) fn better(&self, other: &Summary, objective: Objective) -> bool {
        let key = |s: &Summary| {
            [objective, Objective::MedianStepsToThreshold, Objective::MedianFinalLoss].map(|o| {
                let v = s.rank(o);
                if v.is_nan() { f64::INFINITY } else { v }
            })
        };
        key(self).partial_cmp(&key(other)) == Some(std::cmp::Ordering::Less)
    }
}
