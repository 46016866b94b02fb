//! Timestamps as the API reads and writes them: `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
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

    /// Accepts exactly `YYYY-MM-DDTHH:MM:SSZ` (four-digit year), as documented.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let well_formed =
            text.len() == 20 && text.is_char_boundary(4) && text[..4].bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(BadTimestamp(text.to_owned()));
        }
        NaiveDateTime::parse_from_str(text, FORMAT)
            .map(|naive| Timestamp(naive.and_utc()))
            .map_err(|_| BadTimestamp(text.to_owned()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(FORMAT))
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
    fn now_has_whole_seconds() {
        let now = Timestamp::now();
        assert_eq!(now.to_string().parse::<Timestamp>(), Ok(now));
    }
}
