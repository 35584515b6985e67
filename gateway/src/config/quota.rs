//! Quotas as the config writes them: `100/s burst 20` for request rates,
//! `5000000000/min` for fuel budgets.

use std::fmt;
use std::time::Duration;

/// The window a quota counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    /// `/s`
    Second,
    /// `/min`
    Minute,
    /// `/h`
    Hour,
}

impl QuotaPeriod {
    /// The window's length.
    pub fn duration(self) -> Duration {
        match self {
            Self::Second => Duration::from_secs(1),
            Self::Minute => Duration::from_secs(60),
            Self::Hour => Duration::from_secs(3600),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::Second => "s",
            Self::Minute => "min",
            Self::Hour => "h",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "s" | "sec" | "second" => Some(Self::Second),
            "m" | "min" | "minute" => Some(Self::Minute),
            "h" | "hour" => Some(Self::Hour),
            _ => None,
        }
    }
}

/// A rate: `count` requests per `period`, of which up to `burst` may come
/// at once. `100/s burst 20`; without `burst`, the burst is `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    /// Requests per period, at least 1.
    pub count: u32,
    /// The period.
    pub period: QuotaPeriod,
    /// Requests allowed at once, at least 1.
    pub burst: u32,
}

impl RateQuota {
    /// Reads `N/s`, `N/min` or `N/h`, optionally followed by `burst M`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid rate `{text}`: expected `N/s`, `N/min` or `N/h` with N from 1 to \
                 {}, optionally followed by `burst M`, e.g. \"100/s burst 20\"",
                u32::MAX
            )
        };
        let mut words = text.split_whitespace();
        let (count, period) = split_rate(words.next().ok_or_else(invalid)?).ok_or_else(invalid)?;
        let count: u32 = count.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
        let burst = match (words.next(), words.next(), words.next()) {
            (None, _, _) => count,
            (Some("burst"), Some(burst), None) => {
                burst.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?
            }
            _ => return Err(invalid()),
        };
        Ok(Self {
            count,
            period,
            burst,
        })
    }
}

impl fmt::Display for RateQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} burst {}",
            self.count,
            self.period.suffix(),
            self.burst
        )
    }
}

/// A fuel budget: `fuel` units per `period`, replenished continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuelQuota {
    /// Fuel per period, at least 1.
    pub fuel: u64,
    /// The period.
    pub period: QuotaPeriod,
}

impl FuelQuota {
    /// Reads `N/s`, `N/min` or `N/h`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "invalid fuel budget `{text}`: expected `N/s`, `N/min` or `N/h` with N at \
                 least 1, e.g. \"50000000000/min\""
            )
        };
        let (fuel, period) = split_rate(text.trim()).ok_or_else(invalid)?;
        let fuel: u64 = fuel.parse().ok().filter(|n| *n > 0).ok_or_else(invalid)?;
        Ok(Self { fuel, period })
    }
}

impl fmt::Display for FuelQuota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.fuel, self.period.suffix())
    }
}

/// `N/unit` into its number text and period.
fn split_rate(text: &str) -> Option<(&str, QuotaPeriod)> {
    let (count, unit) = text.split_once('/')?;
    Some((count, QuotaPeriod::parse(unit)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_print_alike() {
        let quota = RateQuota::parse("100/s burst 20").expect("valid");
        assert_eq!(
            quota,
            RateQuota {
                count: 100,
                period: QuotaPeriod::Second,
                burst: 20
            }
        );
        assert_eq!(quota.to_string(), "100/s burst 20");
        assert_eq!(
            RateQuota::parse(" 5/min ").expect("valid").to_string(),
            "5/min burst 5"
        );
        assert_eq!(
            RateQuota::parse("1/hour").expect("valid").period,
            QuotaPeriod::Hour
        );
        for bad in [
            "",
            "100",
            "0/s",
            "-1/s",
            "100/day",
            "100/s burst",
            "100/s burst 0",
            "100/s 20",
            "100/s burst 2 x",
        ] {
            let message = RateQuota::parse(bad).expect_err(bad);
            assert!(message.contains("e.g. \"100/s burst 20\""), "{message}");
        }
    }

    #[test]
    fn fuel_budgets_read_and_print_alike() {
        let quota = FuelQuota::parse("50000000000/min").expect("valid");
        assert_eq!(quota.fuel, 50_000_000_000);
        assert_eq!(quota.period.duration(), Duration::from_secs(60));
        assert_eq!(quota.to_string(), "50000000000/min");
        for bad in ["", "0/min", "1e9/min", "10/min burst 2"] {
            assert!(FuelQuota::parse(bad).is_err(), "{bad}");
        }
    }
}
