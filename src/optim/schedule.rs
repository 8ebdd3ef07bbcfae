//! Learning rates: a constant, or one of Keras's learning-rate schedules.
//!
//! ```json
//! "learning_rate": {"schedule": "CosineDecay", "initial_learning_rate": 0.5, "decay_steps": 80,
//!                   "alpha": 0.0, "warmup_target": 2.0, "warmup_steps": 10}
//! ```
//! A schedule is evaluated as Keras evaluates it: at the optimizer's iteration count before the
//! update (0 at the first step), in `float32`, with Keras's own operation order. The class names
//! and constructor arguments are Keras's, with Keras's defaults.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::f32::consts::PI;

/// A run's learning rate.
#[derive(Clone, Debug, PartialEq)]
pub enum LearningRate {
    /// The same at every step.
    Constant(f64),
    /// A Keras schedule of the iteration count.
    Schedule(Schedule),
}

impl From<f64> for LearningRate {
    fn from(v: f64) -> Self {
        LearningRate::Constant(v)
    }
}

impl LearningRate {
    /// The rate at iteration `k` (0-based), in `f32` as Keras computes it.
    pub fn at(&self, k: u64) -> f32 {
        match self {
            LearningRate::Constant(v) => *v as f32,
            LearningRate::Schedule(s) => s.at(k),
        }
    }

    /// The constant, if it is one.
    pub fn constant(&self) -> Option<f64> {
        match self {
            LearningRate::Constant(v) => Some(*v),
            LearningRate::Schedule(_) => None,
        }
    }
}

impl Serialize for LearningRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            LearningRate::Constant(v) => v.serialize(s),
            LearningRate::Schedule(schedule) => schedule.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for LearningRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(LearningRate::Constant(n.as_f64().unwrap_or(f64::NAN))),
            Value::Object(m) => Schedule::from_json(&m)
                .map(LearningRate::Schedule)
                .map_err(|e| e.to_serde()),
            other => Err(serde::de::Error::custom(format!(
                "expected f64 (a number) or a schedule object {{\"schedule\": \"ExponentialDecay\", ...}}, got {other}"
            ))),
        }
    }
}

/// Keras's learning-rate schedules, with their constructor arguments (Keras's names and
/// defaults; JSON `{"schedule": <class name>, <arguments>}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schedule", deny_unknown_fields)]
pub enum Schedule {
    /// `initial_learning_rate * decay_rate ^ (step / decay_steps)` (floored when `staircase`).
    ExponentialDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// Steps of one decay period.
        decay_steps: f64,
        /// The decay per period.
        decay_rate: f64,
        /// Decay in whole periods (the floor of `step / decay_steps`).
        #[serde(default)]
        staircase: bool,
    },
    /// `values[i]` for `boundaries[i-1] < step <= boundaries[i]`.
    PiecewiseConstantDecay {
        /// The steps where the rate changes.
        boundaries: Vec<f64>,
        /// The rate in each interval (one more than boundaries).
        values: Vec<f64>,
    },
    /// `(initial - end) (1 - step / decay_steps)^power + end`, optionally cycling.
    PolynomialDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// Steps of one decay period.
        decay_steps: f64,
        /// The rate at the end.
        #[serde(default = "default_end_learning_rate")]
        end_learning_rate: f64,
        /// The polynomial's power.
        #[serde(default = "one")]
        power: f64,
        /// Restart the decay after `decay_steps`.
        #[serde(default)]
        cycle: bool,
    },
    /// `initial_learning_rate / (1 + decay_rate step / decay_steps)` (floored when `staircase`).
    InverseTimeDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// Steps of one decay period.
        decay_steps: f64,
        /// The decay per period.
        decay_rate: f64,
        /// Decay in whole periods (the floor of `step / decay_steps`).
        #[serde(default)]
        staircase: bool,
    },
    /// A half cosine from the initial rate (or a linear warmup to `warmup_target`) down to
    /// `alpha` times it over `decay_steps`.
    CosineDecay {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// Steps of one decay period.
        decay_steps: f64,
        /// The final rate as a fraction of the initial one.
        #[serde(default)]
        alpha: f64,
        /// The rate a linear warmup reaches, if any.
        #[serde(default)]
        warmup_target: Option<f64>,
        /// Steps of the warmup.
        #[serde(default)]
        warmup_steps: f64,
    },
    /// SGDR: cosine decays restarting after `first_decay_steps`, each period `t_mul` times
    /// longer and `m_mul` times higher.
    CosineDecayRestarts {
        /// The rate at step 0.
        initial_learning_rate: f64,
        /// Steps of the first period.
        first_decay_steps: f64,
        /// Each period's length over the one before.
        #[serde(default = "two")]
        t_mul: f64,
        /// Each period's initial rate over the one before.
        #[serde(default = "one")]
        m_mul: f64,
        /// The final rate as a fraction of the initial one.
        #[serde(default)]
        alpha: f64,
    },
}

fn default_end_learning_rate() -> f64 {
    0.0001
}

fn one() -> f64 {
    1.0
}

fn two() -> f64 {
    2.0
}

/// The six class names.
pub(crate) const CLASSES: [&str; 6] = [
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
];

use crate::error::{FieldError, Parsed};

impl Schedule {
    /// Reads a schedule object and checks it; errors name the argument (`decay_steps`) and what
    /// was expected.
    pub(crate) fn from_json(map: &Map<String, Value>) -> Parsed<Schedule> {
        match map.get("schedule") {
            Some(Value::String(s)) if CLASSES.contains(&s.as_str()) => {}
            Some(Value::String(s)) => {
                return Err(FieldError::new(format!(
                    "unknown schedule {s:?}; expected one of: {}",
                    CLASSES.join(", ")
                ))
                .at("schedule"));
            }
            Some(other) => return Err(FieldError::new(format!("expected a class name, got {other}")).at("schedule")),
            None => {
                return Err(FieldError::new(format!(
                    "missing; name one of Keras's schedules: {}",
                    CLASSES.join(", ")
                ))
                .at("schedule"));
            }
        }
        // Arguments are numbers, flags or lists: anything else is named here (serde's message for
        // a tagged enum would not say which argument it is).
        if let Some((k, v)) = map
            .iter()
            .find(|(k, v)| *k != "schedule" && (v.is_string() || v.is_object()))
        {
            return Err(FieldError::new(format!("expected f64 (a number), got {v}")).at(k));
        }
        let schedule: Schedule = serde_path_to_error::deserialize(Value::Object(map.clone())).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().to_string();
            // serde names an unknown or missing argument in its message, not its path.
            let named = message.split('`').nth(1).filter(|_| field == ".").map(str::to_string);
            let field = if field == "." { String::new() } else { field };
            FieldError::new(message).at(&named.unwrap_or(field))
        })?;
        schedule.validate()?;
        Ok(schedule)
    }

    /// Checks what Keras checks, and what would make no learning rate; the error names the
    /// argument.
    pub(crate) fn validate(&self) -> Parsed<()> {
        let positive = |name: &str, v: f64| {
            if v > 0.0 {
                Ok(())
            } else {
                Err(FieldError::new(format!("expected a number > 0, got {v}")).at(name))
            }
        };
        match self {
            Schedule::ExponentialDecay { decay_steps, .. }
            | Schedule::InverseTimeDecay { decay_steps, .. }
            | Schedule::PolynomialDecay { decay_steps, .. }
            | Schedule::CosineDecay { decay_steps, .. } => positive("decay_steps", *decay_steps)?,
            Schedule::CosineDecayRestarts { first_decay_steps, .. } => {
                positive("first_decay_steps", *first_decay_steps)?
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                if boundaries.is_empty() {
                    return Err(FieldError::new("expected at least one boundary").at("boundaries"));
                }
                if let Some(i) = boundaries.windows(2).position(|w| w[1] <= w[0]) {
                    return Err(FieldError::new(format!(
                        "expected strictly increasing boundaries, but {} is followed by {}",
                        boundaries[i],
                        boundaries[i + 1]
                    ))
                    .at("boundaries"));
                }
                if values.len() != boundaries.len() + 1 {
                    return Err(FieldError::new(format!(
                        "expected one more value than boundaries ({}), got {}",
                        boundaries.len() + 1,
                        values.len()
                    ))
                    .at("values"));
                }
            }
        }
        if let Schedule::CosineDecay { warmup_steps, .. } = self
            && *warmup_steps < 0.0
        {
            return Err(FieldError::new(format!("expected a number >= 0, got {warmup_steps}")).at("warmup_steps"));
        }
        if let Schedule::CosineDecayRestarts { t_mul, .. } = self
            && *t_mul <= 0.0
        {
            return Err(FieldError::new(format!("expected a number > 0, got {t_mul}")).at("t_mul"));
        }
        Ok(())
    }

    /// The rate at iteration `k`, in `f32`, exactly as Keras's schedule computes it inside
    /// TensorFlow's optimized graph (a `tf.function` train step, as the post runs it): every
    /// value `float32`; `cos`, `ln` and `powf` are glibc's, as TensorFlow's kernels; and
    /// grappler's rewrites are followed: `x / C` for a constant `C` becomes `x * f32(1/C)`,
    /// constant factors are folded together, `pow(x, 2)` is `x * x`. The rewrites change which
    /// step a staircase, cycle or restart lands on when `k` is an exact multiple of
    /// `decay_steps`, so they matter beyond the last bit.
    pub fn at(&self, k: u64) -> f32 {
        let s = k as f32;
        match self {
            Schedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => *initial_learning_rate as f32 * (*decay_rate as f32).powf(progress(s, *decay_steps, *staircase)),
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                // The boundaries meet the integer step as int64 (a fraction is truncated).
                let k = k as i64;
                let index = boundaries
                    .iter()
                    .position(|&b| k <= b as f32 as i64)
                    .unwrap_or(boundaries.len());
                values[index] as f32
            }
            Schedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                let (end, d) = (*end_learning_rate as f32, *decay_steps as f32);
                let c = *initial_learning_rate as f32 - end;
                let p = if *cycle {
                    let multiplier = if s == 0.0 {
                        1.0
                    } else {
                        (recip(*decay_steps) * s).ceil()
                    };
                    // The horizon is no constant: a true division.
                    s / (d * multiplier)
                } else {
                    recip(*decay_steps) * s.min(d)
                };
                let x = 1.0 - p;
                let y = if *power as f32 == 3.0 {
                    // c (x x^2) regrouped as x^2 (c x).
                    (x * x) * (c * x)
                } else {
                    c * pow_constant(x, *power as f32)
                };
                end + y
            }
            Schedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let r = *decay_rate as f32;
                let rp = if *staircase {
                    r * progress(s, *decay_steps, true)
                } else {
                    // rate (s / d) with the constants folded: s (rate / d).
                    s * (r * recip(*decay_steps))
                };
                *initial_learning_rate as f32 / (1.0 + rp)
            }
            Schedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => {
                let (lr0, d, a) = (*initial_learning_rate as f32, *decay_steps as f32, *alpha as f32);
                // `1 - self.alpha` is a Python float, rounded once; then halved in f32.
                let half_one_minus_alpha = (1.0 - *alpha) as f32 * 0.5;
                match warmup_target {
                    None => {
                        // pi (s / d) folded to s (pi / d).
                        let big_a = 1.0 + ((PI * recip(*decay_steps)) * s.min(d)).cos();
                        if a == 0.0 {
                            big_a * (lr0 * 0.5)
                        } else {
                            lr0 * (a + big_a * half_one_minus_alpha)
                        }
                    }
                    Some(target) => {
                        // Inside a tf.cond: the divisions stay divisions.
                        let (target, w) = (*target as f32, *warmup_steps as f32);
                        let s = s.min(d + w);
                        if s < w {
                            lr0 + (target - lr0) * (s / w)
                        } else {
                            let big_a = (PI * ((s - w) / d)).cos() + 1.0;
                            (a + big_a * half_one_minus_alpha) * target
                        }
                    }
                }
            }
            Schedule::CosineDecayRestarts {
                initial_learning_rate,
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => {
                let (lr0, t, m, a) = (
                    *initial_learning_rate as f32,
                    *t_mul as f32,
                    *m_mul as f32,
                    *alpha as f32,
                );
                let mut fraction = recip(*first_decay_steps) * s;
                let restart = if t == 1.0 {
                    let i = fraction.floor();
                    fraction -= i;
                    i
                } else {
                    let one_minus_t = 1.0 - t;
                    let i = ((1.0 / t.ln()) * (1.0 - one_minus_t * fraction).ln()).floor();
                    let t_i = t.powf(i);
                    let sum = (1.0 / one_minus_t) * (1.0 - t_i);
                    fraction = (fraction - sum) / t_i;
                    i
                };
                let m_fac = m.powf(restart);
                let big_a = 1.0 + (PI * fraction).cos();
                if a == 0.0 {
                    big_a * (m_fac * (0.5 * lr0))
                } else {
                    (a + big_a * (m_fac * ((1.0 - a) * 0.5))) * lr0
                }
            }
        }
    }
}

/// `f32(1 / c)`: the constant grappler multiplies by in place of dividing by `c`.
fn recip(c: f64) -> f32 {
    1.0 / c as f32
}

/// `pow(x, e)` for a constant exponent, as grappler rewrites the common ones.
fn pow_constant(x: f32, e: f32) -> f32 {
    match e {
        2.0 => x * x,
        1.0 => x,
        0.5 => x.sqrt(),
        0.0 => 1.0,
        -0.5 => 1.0 / x.sqrt(),
        -1.0 => 1.0 / x,
        _ => x.powf(e),
    }
}

/// `step / decay_steps` as the graph computes it (`step * f32(1 / decay_steps)`), floored for a
/// staircase.
fn progress(step: f32, decay_steps: f64, staircase: bool) -> f32 {
    let p = recip(decay_steps) * step;
    if staircase { p.floor() } else { p }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(v: Value) -> Schedule {
        Schedule::from_json(v.as_object().unwrap()).unwrap()
    }

    fn error(v: Value) -> FieldError {
        Schedule::from_json(v.as_object().unwrap()).unwrap_err()
    }

    #[test]
    fn shapes_of_the_six_schedules() {
        let exp = schedule(json!({"schedule": "ExponentialDecay", "initial_learning_rate": 1.0,
                                  "decay_steps": 10, "decay_rate": 0.5}));
        assert_eq!(exp.at(0), 1.0);
        assert_eq!(exp.at(10), 0.5);
        assert!((exp.at(5) - 0.5f32.sqrt()).abs() < 1e-6);
        let stairs = schedule(json!({"schedule": "ExponentialDecay", "initial_learning_rate": 1.0,
                                     "decay_steps": 10, "decay_rate": 0.5, "staircase": true}));
        assert_eq!(stairs.at(9), 1.0);
        assert_eq!(stairs.at(19), 0.5);
        let pieces = schedule(json!({"schedule": "PiecewiseConstantDecay", "boundaries": [3, 6],
                                     "values": [1.0, 0.5, 0.1]}));
        let got: Vec<f32> = (0..9).map(|k| pieces.at(k)).collect();
        assert_eq!(got, [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]);
        let poly = schedule(json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0,
                                   "decay_steps": 4, "end_learning_rate": 0.0}));
        assert_eq!([poly.at(0), poly.at(2), poly.at(4), poly.at(9)], [1.0, 0.5, 0.0, 0.0]);
        let cyc = schedule(json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0,
                                  "decay_steps": 4, "end_learning_rate": 0.0, "cycle": true}));
        // Cycling stretches the horizon to the next multiple of decay_steps.
        assert_eq!(cyc.at(6), 0.25);
        let inv = schedule(json!({"schedule": "InverseTimeDecay", "initial_learning_rate": 1.0,
                                  "decay_steps": 1, "decay_rate": 1.0}));
        assert_eq!([inv.at(0), inv.at(1), inv.at(3)], [1.0, 0.5, 0.25]);
        let cos = schedule(json!({"schedule": "CosineDecay", "initial_learning_rate": 2.0,
                                  "decay_steps": 10, "alpha": 0.1}));
        assert_eq!(cos.at(0), 2.0);
        assert!((cos.at(5) - 2.0 * (0.9 * 0.5 + 0.1)).abs() < 1e-6);
        assert!((cos.at(10) - 0.2).abs() < 1e-6);
        assert!((cos.at(50) - 0.2).abs() < 1e-6);
        let warm = schedule(json!({"schedule": "CosineDecay", "initial_learning_rate": 0.0,
                                   "decay_steps": 10, "warmup_target": 1.0, "warmup_steps": 4}));
        assert_eq!([warm.at(0), warm.at(2), warm.at(4)], [0.0, 0.5, 1.0]);
        let sgdr = schedule(json!({"schedule": "CosineDecayRestarts", "initial_learning_rate": 1.0,
                                   "first_decay_steps": 4, "m_mul": 0.5}));
        assert_eq!(sgdr.at(0), 1.0);
        // The second period is twice as long and starts at half the rate.
        assert!((sgdr.at(4) - 0.5).abs() < 1e-6);
        assert!((sgdr.at(8) - 0.5 * 0.5 * (1.0 + (PI * 0.5).cos())).abs() < 1e-6);
        assert!((sgdr.at(12) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn defaults_are_filled_in_and_bad_schedules_name_the_argument() {
        let poly = schedule(json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0, "decay_steps": 4}));
        assert_eq!(
            serde_json::to_value(&poly).unwrap(),
            json!({"schedule": "PolynomialDecay", "initial_learning_rate": 1.0, "decay_steps": 4.0,
                   "end_learning_rate": 0.0001, "power": 1.0, "cycle": false})
        );
        let e = error(json!({"schedule": "Cosine"}));
        assert_eq!(e.path(), "schedule");
        assert!(
            e.message().contains("ExponentialDecay, PiecewiseConstantDecay"),
            "{}",
            e.message()
        );
        assert_eq!(
            error(json!({"schedule": "CosineDecay", "decay_steps": 3})).path(),
            "initial_learning_rate"
        );
        let e = error(json!({"schedule": "CosineDecay", "initial_learning_rate": 1, "decay_steps": 0}));
        assert_eq!((e.path(), e.message()), ("decay_steps", "expected a number > 0, got 0"));
        let e = error(json!({"schedule": "PiecewiseConstantDecay", "boundaries": [5, 5], "values": [1, 2, 3]}));
        assert_eq!(e.path(), "boundaries");
        let e = error(json!({"schedule": "PiecewiseConstantDecay", "boundaries": [5], "values": [1]}));
        assert_eq!(e.path(), "values");
        let e = error(
            json!({"schedule": "ExponentialDecay", "initial_learning_rate": 1, "decay_steps": 3,
                             "decay_rate": 0.5, "gamma": 2}),
        );
        assert_eq!(e.path(), "gamma");
        assert!(
            e.message()
                .contains("expected one of `initial_learning_rate`, `decay_steps`"),
            "{}",
            e.message()
        );
    }
}
