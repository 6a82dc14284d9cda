//! The heaviest keys of a stream (clients, URLs by errors) in bounded memory: Misra-Gries with
//! `capacity` counters. A count is at most `error_bound()` below the truth; a key seen more
//! than `total / (capacity + 1)` times is always kept.

use super::fx::FxMap;

#[derive(Clone, Debug)]
pub struct Top {
    capacity: usize,
    counts: FxMap<u64>,
    total: u64,
    decrements: u64,
}

impl Top {
    pub fn new(capacity: usize) -> Self {
        Top {
            capacity: capacity.max(1),
            counts: FxMap::default(),
            total: 0,
            decrements: 0,
        }
    }

    pub fn add(&mut self, key: &[u8]) {
        self.total += 1;
        if let Some(c) = self.counts.get_mut(key) {
            *c += 1;
        } else if self.counts.len() < self.capacity {
            self.counts.insert(key.into(), 1);
        } else {
            // Each decrement round is paid for by the increments it removes: O(1) amortised.
            self.decrements += 1;
            self.counts.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
        }
    }

    /// Adds another summary of a disjoint part of the stream (Misra-Gries merge: sum the
    /// counters, then take away the (capacity+1)-th largest so at most `capacity` remain).
    pub fn merge(&mut self, o: Top) {
        self.total += o.total;
        self.decrements += o.decrements;
        for (k, c) in o.counts {
            *self.counts.entry(k).or_default() += c;
        }
        if self.counts.len() > self.capacity {
            let mut v: Vec<u64> = self.counts.values().copied().collect();
            v.sort_unstable_by(|a, b| b.cmp(a));
            let cut = v[self.capacity];
            self.decrements += cut;
            self.counts.retain(|_, c| {
                *c = c.saturating_sub(cut);
                *c > 0
            });
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// How far below the truth a count may be (0: every count is exact).
    pub fn error_bound(&self) -> u64 {
        self.decrements
    }

    /// The `n` largest, largest first (ties by key).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v: Vec<(&[u8], u64)> = self.counts.iter().map(|(k, &c)| (&k[..], c)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.into_iter()
            .take(n)
            .map(|(k, c)| (String::from_utf8_lossy(k).into_owned(), c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_hitters_survive_a_flood_of_distinct_keys() {
        let mut t = Top::new(16);
        for i in 0..10_000u32 {
            t.add(format!("rare{i}").as_bytes());
            if i % 3 == 0 {
                t.add(b"10.0.0.1");
            }
        }
        let top = t.top(1);
        assert_eq!(top[0].0, "10.0.0.1");
        let truth = 3334;
        assert!(top[0].1 <= truth && truth - top[0].1 <= t.error_bound());
        let mut exact = Top::new(10);
        for k in ["a", "b", "a"] {
            exact.add(k.as_bytes());
        }
        assert_eq!(
            (exact.top(5), exact.error_bound()),
            (vec![("a".into(), 2), ("b".into(), 1)], 0)
        );
    }
}
