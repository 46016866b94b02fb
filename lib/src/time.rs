//! Timestamps as the API reads and writes them: `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

/// A UTC instant with whole-second precision, the precision the API exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to the second.
    pub fn now() -> Self {
        Timestamp(Utc::now().trunc_subsecs(0))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    /// The instant `seconds` after the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        DateTime::from_timestamp(seconds, 0).map(Timestamp)
    }
}

/// A text that is not a `YYYY-MM-DDTHH:MM:SSZ` timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO-8601 timestamp: {0}")]
pub struct BadTimestamp(pub String);

impl FromStr for Timestamp {
    type Err = BadTimestamp;

    /// Accepts exactly `YYYY-MM-DDTHH:MM:SSZ` (four-digit year), as documented. Read by position,
    /// not through a format string: every stored record's timestamps are parsed on each read.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadTimestamp(text.to_owned());
        let bytes = text.as_bytes();
        if bytes.len() != 20 {
            return Err(bad());
        }
        for (at, byte) in bytes.iter().enumerate() {
            let expected = match at {
                4 | 7 => Some(b'-'),
                10 => Some(b'T'),
                13 | 16 => Some(b':'),
                19 => Some(b'Z'),
                _ => None,
            };
            let fits = expected.map_or(byte.is_ascii_digit(), |e| *byte == e);
            if !fits {
                return Err(bad());
            }
        }
        let number = |from: usize, to: usize| {
            bytes[from..to]
                .iter()
                .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'))
        };
        let year = i32::try_from(number(0, 4)).map_err(|_| bad())?;
        NaiveDate::from_ymd_opt(year, number(5, 7), number(8, 10))
            .and_then(|date| date.and_hms_opt(number(11, 13), number(14, 16), number(17, 19)))
            .map(|naive| Timestamp(naive.and_utc()))
            .ok_or_else(bad)
    }
}

impl fmt::Display for Timestamp {
    /// Written by position too (responses print several timestamps per record).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (date, time) = (self.0.date_naive(), self.0.time());
        let Some(year) = u32::try_from(date.year()).ok().filter(|year| *year <= 9999) else {
            return write!(f, "{}", self.0.format(FORMAT));
        };
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, date.month());
        put(8, 2, date.day());
        put(11, 2, time.hour());
        put(14, 2, time.minute());
        put(17, 2, time.second());
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_documented_format() {
        let ts: Timestamp = "2016-08-15T14:52:48Z".parse().expect("valid");
        assert_eq!(ts.to_string(), "2016-08-15T14:52:48Z");
        assert_eq!(Timestamp::from_unix_seconds(ts.unix_seconds()), Some(ts));
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "2016-08-1Z",
            "2016-08-15",
            "2016-08-15T14:52:48",
            "2016-08-15T14:52:48+00:00",
            "2016-08-15T14:52:48.123Z",
            "2016-13-15T14:52:48Z",
            "2016-02-30T14:52:48Z",
            "+016-08-15T14:52:48Z",
            "é016-08-15T14:52:48Z",
            "",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn reads_and_writes_every_field_by_position() {
        let ts: Timestamp = "0987-01-02T03:04:05Z".parse().expect("valid");
        assert_eq!(ts.unix_seconds(), -31_020_353_755);
        assert_eq!(ts.to_string(), "0987-01-02T03:04:05Z");
        let leap: Timestamp = "2024-02-29T23:59:59Z".parse().expect("leap day");
        assert_eq!(leap.to_string(), "2024-02-29T23:59:59Z");
        for bad in [
            "2023-02-29T00:00:00Z",
            "2016-08-15T24:00:00Z",
            "2016-08-15T14:60:00Z",
            "2016-08-15 14:52:48Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn now_has_whole_seconds() {
        let now = Timestamp::now();
        assert_eq!(now.to_string().parse::<Timestamp>(), Ok(now));
    }
}
