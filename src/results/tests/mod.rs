//! Experiments run whole and their trajectories checked against plain computations.

mod stochastic;
