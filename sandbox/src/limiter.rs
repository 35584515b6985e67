//! Memory and table limits that remember why growth was refused, so a call
//! that hits its cap fails as `memory_limit` rather than as an anonymous trap.

/// Most table elements one table may grow to. Rust guests use a few hundred.
const MAX_TABLE_ELEMENTS: usize = 100_000;

pub(crate) struct CallLimiter {
    max_memory_bytes: usize,
    peak_memory_bytes: usize,
    memory_refused: bool,
}

impl CallLimiter {
    pub(crate) fn new(max_memory_bytes: u64) -> Self {
        Self {
            max_memory_bytes: usize::try_from(max_memory_bytes).unwrap_or(usize::MAX),
            peak_memory_bytes: 0,
            memory_refused: false,
        }
    }

    pub(crate) fn peak_memory_bytes(&self) -> u64 {
        self.peak_memory_bytes as u64
    }

    pub(crate) fn memory_refused(&self) -> bool {
        self.memory_refused
    }
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let over_declared = maximum.is_some_and(|max| desired > max);
        if desired > self.max_memory_bytes || over_declared {
            self.memory_refused = true;
            return Ok(false);
        }
        self.peak_memory_bytes = self.peak_memory_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn refuses_growth_past_the_limit_and_remembers_it() {
        let mut limiter = CallLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 19, None).unwrap_or(false));
        assert!(!limiter.memory_refused());
        assert!(
            !limiter
                .memory_growing(1 << 19, 2 << 20, None)
                .unwrap_or(true)
        );
        assert!(limiter.memory_refused());
        assert_eq!(limiter.peak_memory_bytes(), 1 << 19);
    }
}
