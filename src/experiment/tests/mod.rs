//! Experiments run whole, against plain computations.

mod stochastic;
