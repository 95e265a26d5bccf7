//! Typed, range-checked reads of snapshot values.
//!
//! A value of the wrong type or an impossible number is an error naming the key, never a guess
//! and never silently "unknown": a snapshot that says a battery is at 250 % is broken, and the
//! technician should hear so rather than get a verdict built on it.

use std::ops::RangeInclusive;

use crate::snapshot::describe_value;

/// A value in the snapshot that cannot be a real phone's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct FactError {
    /// Where the value sits, e.g. `Domains/com.apple.disk_usage/TotalDataAvailable`.
    pub key: String,
    pub problem: String,
}

/// A dictionary of the snapshot with the path that names it in errors.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    path: &'a str,
    dict: Option<&'a plist::Dictionary>,
}

impl<'a> Values<'a> {
    pub fn new(path: &'a str, dict: Option<&'a plist::Dictionary>) -> Self {
        Values { path, dict }
    }

    /// Whether the dictionary was captured at all (a missing domain makes all its facts unknown).
    pub fn present(&self) -> bool {
        self.dict.is_some()
    }

    pub fn key_path(&self, key: &str) -> String {
        format!("{}/{}", self.path, key)
    }

    fn raw(&self, key: &str) -> Option<&'a plist::Value> {
        self.dict.and_then(|d| d.get(key))
    }

    fn wrong(&self, key: &str, expected: &str, found: &plist::Value) -> FactError {
        FactError {
            key: self.key_path(key),
            problem: format!("expected {expected}, found {}", describe_value(found)),
        }
    }

    pub fn string(&self, key: &str) -> Result<Option<&'a str>, FactError> {
        match self.raw(key) {
            None => Ok(None),
            Some(plist::Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, FactError> {
        match self.raw(key) {
            None => Ok(None),
            Some(plist::Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "a boolean", other)),
        }
    }

    /// An integer within `range`; outside it is an error ("absurd" values never reach a verdict).
    pub fn integer(
        &self,
        key: &str,
        range: RangeInclusive<i128>,
    ) -> Result<Option<i128>, FactError> {
        let value = match self.raw(key) {
            None => return Ok(None),
            Some(plist::Value::Integer(i)) => i
                .as_signed()
                .map(i128::from)
                .or_else(|| i.as_unsigned().map(i128::from))
                .expect("a plist integer is signed or unsigned"),
            Some(other) => return Err(self.wrong(key, "an integer", other)),
        };
        if range.contains(&value) {
            Ok(Some(value))
        } else {
            Err(FactError {
                key: self.key_path(key),
                problem: format!(
                    "{value} is impossible for a phone (expected {} to {})",
                    range.start(),
                    range.end()
                ),
            })
        }
    }

    /// A non-negative integer, as the byte counts and capacities are.
    pub fn unsigned(&self, key: &str, max: u64) -> Result<Option<u64>, FactError> {
        Ok(self.integer(key, 0..=i128::from(max))?.map(|v| v as u64))
    }

    /// A dictionary nested under `key` (e.g. `BatteryData` inside AppleSmartBattery).
    pub fn nested(&self, key: &str, path: &'a str) -> Result<Values<'a>, FactError> {
        match self.raw(key) {
            None => Ok(Values::new(path, None)),
            Some(plist::Value::Dictionary(d)) => Ok(Values::new(path, Some(d))),
            Some(other) => Err(self.wrong(key, "a dictionary", other)),
        }
    }

    /// A short text flag such as NonVolatileRAM's `fm-activation-locked`, which a phone sends as
    /// data bytes ("YES"/"NO"), and which JSON importers may carry as a string.
    pub fn text_or_data(&self, key: &str) -> Result<Option<String>, FactError> {
        match self.raw(key) {
            None => Ok(None),
            Some(plist::Value::String(s)) => Ok(Some(s.clone())),
            Some(plist::Value::Data(d)) => Ok(Some(
                String::from_utf8_lossy(d)
                    .trim_end_matches('\0')
                    .to_string(),
            )),
            Some(other) => Err(self.wrong(key, "data or a string", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert("n".into(), 42.into());
        d.insert("neg".into(), plist::Value::Integer((-5i64).into()));
        d.insert("s".into(), "x".into());
        d.insert("flag".into(), plist::Value::Data(b"YES".to_vec()));
        d
    }

    #[test]
    fn reads_typed_values() {
        let d = dict();
        let v = Values::new("Lockdown", Some(&d));
        assert_eq!(v.unsigned("n", 100).unwrap(), Some(42));
        assert_eq!(v.string("s").unwrap(), Some("x"));
        assert_eq!(v.string("missing").unwrap(), None);
        assert_eq!(v.text_or_data("flag").unwrap().as_deref(), Some("YES"));
    }

    #[test]
    fn wrong_type_and_absurd_values_name_the_key() {
        let d = dict();
        let v = Values::new("Domains/x", Some(&d));
        let e = v.unsigned("s", 100).unwrap_err();
        assert_eq!(e.key, "Domains/x/s");
        assert!(e.problem.contains("expected an integer"), "{e}");
        let e = v.unsigned("neg", 100).unwrap_err();
        assert!(e.problem.contains("-5 is impossible"), "{e}");
        assert!(v.unsigned("n", 10).is_err());
        assert!(v.boolean("n").is_err());
    }

    #[test]
    fn absent_dictionary_reads_as_unknown() {
        let v = Values::new("IORegistry/AppleSmartBattery", None);
        assert!(!v.present());
        assert_eq!(v.unsigned("CycleCount", 10).unwrap(), None);
    }
}
