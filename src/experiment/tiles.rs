//! Cutting many independent rows (a study's runs, a wide experiment's runs, a landscape's plane
//! points) into tiles and stepping the tiles one per core at a time: flex's element-wise kernels
//! use one core. Rows never interact, so the results do not depend on the cut (tested per
//! caller).

use burn::tensor::Device;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Rows stepped together on a GPU, one chunk at a time (memory stays bounded for any size).
pub(crate) const CHUNK_ROWS: usize = 1 << 17;

/// Rows stepped together on a CPU backend at most: large enough that each tensor operation's
/// fixed cost is spread thin (smaller tiles, measured down to 8,192 rows, gain nothing from the
/// cache that makes up for it; README, design notes).
pub(crate) const TILE_ROWS: usize = 1 << 15;

/// Rows a tile holds at least when a batch that fits in one tile is cut so that every core
/// steps a part: fewer, and the threads cost more than they save.
pub(crate) const SPLIT_ROWS: usize = 1 << 12;

/// The cores this process may use.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How rows are cut and stepped: tiles of at most `rows`, on `threads` threads at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tiling {
    /// Rows per tile at most.
    pub(crate) rows: usize,
    /// Tiles stepped at once, one per thread.
    pub(crate) threads: usize,
}

impl Tiling {
    /// Tiles of [`TILE_ROWS`] on every core for the CPU backends; chunks of [`CHUNK_ROWS`] one
    /// at a time on a GPU.
    pub(crate) fn for_device(device: &Device) -> Tiling {
        if crate::backend::is_cpu(device) {
            Tiling {
                rows: TILE_ROWS,
                threads: cores(),
            }
        } else {
            Tiling {
                rows: CHUNK_ROWS,
                threads: 1,
            }
        }
    }

    /// Whether `len` rows are better stepped in tiles on threads than as one batch: more of
    /// them than a tile holds, or enough that every thread's tile has [`SPLIT_ROWS`].
    pub(crate) fn splits(self, len: usize) -> bool {
        len > self.rows || (self.threads > 1 && len >= self.threads * SPLIT_ROWS)
    }

    /// `range` cut into tiles of at most `rows`, their sizes within one of each other, their number a multiple
    /// of `threads` where there are rows enough (so that no core idles at the end).
    pub(crate) fn cut(self, range: Range<usize>) -> Vec<Range<usize>> {
        let len = range.len();
        if len == 0 {
            return Vec::new();
        }
        let mut count = len.div_ceil(self.rows.max(1));
        if self.threads > 1 {
            count = count.next_multiple_of(self.threads).min(len);
        }
        let at = |i: usize| range.start + i * len / count;
        (0..count).map(|i| at(i)..at(i + 1)).collect()
    }

    /// Runs `work` on every tile of `range`, `threads` at a time, and returns its results in
    /// tile order. `work` reports the row-steps it has done so far in its tile; `progress` is
    /// told the total over all tiles (from this thread).
    pub(crate) fn run<T: Send>(
        self,
        range: Range<usize>,
        work: impl Fn(Range<usize>, &mut dyn FnMut(u64)) -> T + Sync,
        progress: &mut dyn FnMut(u64),
    ) -> Vec<T> {
        let tiles = self.cut(range);
        let threads = self.threads.min(tiles.len());
        if threads <= 1 {
            let mut done = 0u64;
            return tiles
                .into_iter()
                .map(|tile| {
                    let mut reported = 0;
                    let out = work(tile, &mut |steps| {
                        reported = steps;
                        progress(done + steps)
                    });
                    done += reported;
                    out
                })
                .collect();
        }
        // Workers take the next tile until none is left; this thread reports their progress.
        let next = AtomicUsize::new(0);
        let done = AtomicU64::new(0);
        let finished = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<T>>> = tiles.iter().map(|_| Mutex::new(None)).collect();
        let reporter = std::thread::current();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    // Counted even if `work` panics, so that this thread's wait ends and the
                    // panic reaches the caller; the wait ends at once, not at its next report.
                    struct Finished<'a>(&'a AtomicUsize, &'a std::thread::Thread);
                    impl Drop for Finished<'_> {
                        fn drop(&mut self) {
                            self.0.fetch_add(1, Ordering::Release);
                            self.1.unpark();
                        }
                    }
                    let _finished = Finished(&finished, &reporter);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(tile) = tiles.get(i) else { break };
                        let mut reported = 0;
                        let out = work(tile.clone(), &mut |steps| {
                            done.fetch_add(steps - reported, Ordering::Relaxed);
                            reported = steps;
                        });
                        *results[i].lock().expect("no worker panics holding it") = Some(out);
                    }
                });
            }
            while finished.load(Ordering::Acquire) < threads {
                progress(done.load(Ordering::Relaxed));
                std::thread::park_timeout(std::time::Duration::from_millis(20));
            }
        });
        progress(done.load(Ordering::Relaxed));
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .expect("no worker panics holding it")
                    .expect("every tile was run")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_range_in_order_evenly_and_within_the_size() {
        for (len, rows, threads) in [
            (0, 8, 2),
            (1, 8, 2),
            (5, 8, 2),
            (20_000, 8192, 2),
            (65_536, 8192, 2),
            (100, 7, 3),
            (9, 1, 4),
        ] {
            let tiling = Tiling { rows, threads };
            let tiles = tiling.cut(10..10 + len);
            let flat: Vec<usize> = tiles.iter().flat_map(|t| t.clone()).collect();
            assert_eq!(
                flat,
                (10..10 + len).collect::<Vec<_>>(),
                "{len} rows in tiles of {rows}"
            );
            assert!(tiles.iter().all(|t| !t.is_empty() && t.len() <= rows));
            let (min, max) = (tiles.iter().map(|t| t.len()).min(), tiles.iter().map(|t| t.len()).max());
            if let (Some(min), Some(max)) = (min, max) {
                assert!(max - min <= 1, "{len}/{rows}: tiles of {min} to {max} rows");
            }
            if len.div_ceil(rows).next_multiple_of(threads) <= len {
                assert_eq!(
                    tiles.len() % threads,
                    0,
                    "{len}/{rows}: {} tiles on {threads} threads",
                    tiles.len()
                );
            }
        }
        // 20,000 runs on 2 cores: 4 tiles of 5,000, not 8192 + 8192 + 3616.
        assert_eq!(Tiling { rows: 8192, threads: 2 }.cut(0..20_000).len(), 4);
    }

    #[test]
    fn rows_that_fit_one_tile_are_split_when_every_core_gets_enough() {
        let (one, two) = (
            Tiling {
                rows: TILE_ROWS,
                threads: 1,
            },
            Tiling {
                rows: TILE_ROWS,
                threads: 2,
            },
        );
        assert!(!one.splits(20_000) && two.splits(20_000));
        assert!(!two.splits(2 * SPLIT_ROWS - 1) && two.splits(2 * SPLIT_ROWS));
        assert!(one.splits(TILE_ROWS + 1) && !one.splits(TILE_ROWS) && !two.splits(3));
        assert_eq!(two.cut(0..20_000), [0..10_000, 10_000..20_000]);
    }

    #[test]
    fn results_come_back_in_tile_order_with_the_total_progress() {
        for threads in [1, 2, 3] {
            let tiling = Tiling { rows: 4, threads };
            let mut seen = Vec::new();
            let out = tiling.run(
                0..30,
                |tile, progress| {
                    for step in 1..=3 {
                        progress((tile.len() * step) as u64);
                    }
                    tile.collect::<Vec<_>>()
                },
                &mut |done| seen.push(done),
            );
            assert_eq!(out.concat(), (0..30).collect::<Vec<_>>());
            assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress goes forward: {seen:?}");
            assert_eq!(seen.last(), Some(&90), "{threads} threads");
        }
    }
}
