//! Typed, range-checked reads of snapshot values, with the values refused kept.
//!
//! A value of the wrong type or an impossible number (a battery at 250 %, a negative capacity)
//! is *refused*: the reader returns `None`, so the one fact it would give is unknown, and the
//! refusal (key, the value in printable words, why) is recorded in [`Refusals`], which ends up
//! in the facts. Nothing is guessed from a refused value and no other key stands in for it
//! (see [`first_present`]): a key the phone sent in a form we do not know means we do not know
//! what this phone says there. Every other fact is read as usual, so one odd value (a new iOS
//! that changes one key's type) costs one fact, never the report. The checks quote the refusals
//! that concern them in their evidence, and the report shows each one as a warning.
//!
//! Reading code stays plain: `let level = battery.unsigned("BatteryCurrentCapacity", 100);` is
//! an `Option<u64>`, absent and refused alike; only [`first_present`] tells them apart.

use std::cell::RefCell;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::Serialize;

use crate::snapshot::{describe_value, value_kind};

/// A value the snapshot holds that was not used: wrong type, out of range, or contradicted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// Where the value sits, e.g. `Domains/com.apple.mobile.battery/BatteryCurrentCapacity`.
    pub key: String,
    /// The value in printable words, bounded (`the string "57"`, `the integer 250`); only its
    /// kind for the keys that identify the customer.
    pub value: String,
    /// Why it was refused (`expected an integer from 0 to 100`).
    pub reason: String,
}

impl Refusal {
    /// The report's warning line for it.
    pub fn warning(&self) -> String {
        format!(
            "{} is {}, {}: ignored, so what it tells is unknown",
            self.key, self.value, self.reason
        )
    }

    /// What a check's evidence says of it (the key is the evidence's source).
    pub fn evidence(&self) -> String {
        format!("{}: refused, {}; unknown", self.value, self.reason)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}, {}", self.key, self.value, self.reason)
    }
}

/// Lockdown keys whose value identifies the customer: a refusal names only their kind, so a
/// redacted report cannot carry them in a warning.
const PRIVATE_KEYS: &[&str] = &[
    "DeviceName",
    "SerialNumber",
    "UniqueDeviceID",
    "WiFiAddress",
    "BluetoothAddress",
    "EthernetAddress",
    "PhoneNumber",
    "InternationalMobileEquipmentIdentity",
    "InternationalMobileSubscriberIdentity",
    "IntegratedCircuitCardIdentity",
    "fm-account-masked",
];

/// The refusals of one reading of a snapshot. Shared by every [`Values`] made from it.
#[derive(Debug, Default)]
pub struct Refusals {
    list: RefCell<Vec<Refusal>>,
    /// Every key path asked for, for the test that each one bears on a check or is listed as
    /// bearing on none.
    #[cfg(test)]
    asked: RefCell<Vec<String>>,
}

impl Refusals {
    pub fn new() -> Self {
        Self::default()
    }

    /// A dictionary of the snapshot, named by `path` in refusals (`None`: not captured).
    pub fn values<'a>(
        &'a self,
        path: impl Into<String>,
        dict: Option<&'a plist::Dictionary>,
    ) -> Values<'a> {
        Values::new(path, dict, self)
    }

    /// The refusals, in the order they were made, one per key.
    pub fn into_vec(self) -> Vec<Refusal> {
        self.list.into_inner()
    }

    fn push(&self, refusal: Refusal) {
        let mut list = self.list.borrow_mut();
        if !list.iter().any(|r| r.key == refusal.key) {
            list.push(refusal);
        }
    }

    #[cfg(test)]
    pub(crate) fn asked(&self) -> Vec<String> {
        self.asked.borrow().clone()
    }
}

/// A dictionary of the snapshot with the path that names it, reading into a [`Refusals`].
#[derive(Clone)]
pub struct Values<'a> {
    path: String,
    dict: Option<&'a plist::Dictionary>,
    refusals: &'a Refusals,
}

impl<'a> Values<'a> {
    pub fn new(
        path: impl Into<String>,
        dict: Option<&'a plist::Dictionary>,
        refusals: &'a Refusals,
    ) -> Self {
        Values {
            path: path.into(),
            dict,
            refusals,
        }
    }

    /// Whether the dictionary was captured at all (a missing domain makes all its facts unknown).
    pub fn present(&self) -> bool {
        self.dict.is_some()
    }

    /// Whether the dictionary holds `key`, whatever its value (refused or not).
    pub fn has(&self, key: &str) -> bool {
        #[cfg(test)]
        self.refusals.asked.borrow_mut().push(self.key_path(key));
        self.dict.is_some_and(|d| d.contains_key(key))
    }

    pub fn key_path(&self, key: &str) -> String {
        format!("{}/{}", self.path, key)
    }

    fn raw(&self, key: &str) -> Option<&'a plist::Value> {
        #[cfg(test)]
        self.refusals.asked.borrow_mut().push(self.key_path(key));
        self.dict.and_then(|d| d.get(key))
    }

    /// Records that the value under `key` is not used, and why. Returns `None` for the reader
    /// to hand on. A key the dictionary does not hold is not refused: absent is not odd.
    pub fn refuse<T>(&self, key: &str, reason: impl Into<String>) -> Option<T> {
        if let Some(found) = self.dict.and_then(|d| d.get(key)) {
            let value = if PRIVATE_KEYS.contains(&key) {
                value_kind(found).to_string()
            } else {
                describe_value(found)
            };
            self.refusals.push(Refusal {
                key: self.key_path(key),
                value,
                reason: reason.into(),
            });
        }
        None
    }

    pub fn string(&self, key: &str) -> Option<&'a str> {
        match self.raw(key)? {
            plist::Value::String(s) => Some(s.as_str()),
            _ => self.refuse(key, "expected a string"),
        }
    }

    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.raw(key)? {
            plist::Value::Boolean(b) => Some(*b),
            _ => self.refuse(key, "expected a boolean"),
        }
    }

    /// An integer within `range`; outside it is refused ("absurd" values never reach a verdict).
    pub fn integer(&self, key: &str, range: RangeInclusive<i128>) -> Option<i128> {
        let expected = || {
            format!(
                "expected an integer from {} to {}",
                range.start(),
                range.end()
            )
        };
        let plist::Value::Integer(i) = self.raw(key)? else {
            return self.refuse(key, expected());
        };
        let value = match (i.as_signed(), i.as_unsigned()) {
            (Some(s), _) => i128::from(s),
            (None, Some(u)) => i128::from(u),
            (None, None) => return self.refuse(key, expected()),
        };
        if range.contains(&value) {
            Some(value)
        } else {
            self.refuse(key, expected())
        }
    }

    /// A non-negative integer up to `max`, as the byte counts and capacities are.
    pub fn unsigned(&self, key: &str, max: u64) -> Option<u64> {
        self.integer(key, 0..=i128::from(max))
            .and_then(|v| u64::try_from(v).ok())
    }

    /// A string parsed as `T` (an iOS version); one that does not parse is refused as not
    /// being `expected` ("an iOS version such as 17.4.1").
    pub fn parsed<T: FromStr>(&self, key: &str, expected: &str) -> Option<T> {
        match self.string(key)?.parse() {
            Ok(v) => Some(v),
            Err(_) => self.refuse(key, format!("expected {expected}")),
        }
    }

    /// The dictionary nested under `key` (e.g. `BatteryData` inside AppleSmartBattery), named
    /// `<path>/<key>`. Anything else there is refused and reads as a dictionary not captured.
    pub fn nested(&self, key: &str) -> Values<'a> {
        let dict = match self.raw(key) {
            None => None,
            Some(plist::Value::Dictionary(d)) => Some(d),
            Some(_) => self.refuse(key, "expected a dictionary"),
        };
        Values::new(self.key_path(key), dict, self.refusals)
    }

    /// A short text flag such as NonVolatileRAM's `fm-activation-locked`, which a phone sends as
    /// data bytes ("YES"/"NO"), and which JSON importers may carry as a string.
    pub fn text_or_data(&self, key: &str) -> Option<String> {
        match self.raw(key)? {
            plist::Value::String(s) => Some(s.clone()),
            plist::Value::Data(d) => Some(
                String::from_utf8_lossy(d)
                    .trim_end_matches('\0')
                    .to_string(),
            ),
            _ => self.refuse(key, "expected data or a string"),
        }
    }
}

/// The first of `sources` whose dictionary holds its key, read with `read`, and that key.
/// A later source stands in for a key the phone did not send, never for one it sent in a form
/// that was refused: then the fact is unknown.
pub fn first_present<'a, T>(
    sources: &[(&Values<'a>, &'static str)],
    read: impl Fn(&Values<'a>, &str) -> Option<T>,
) -> Option<(T, &'static str)> {
    let (values, key) = sources.iter().find(|(v, key)| v.has(key))?;
    read(values, key).map(|v| (v, *key))
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
        d.insert("version".into(), "17.x".into());
        d.insert("SerialNumber".into(), 12345.into());
        d.insert("huge".into(), plist::Value::Integer(u64::MAX.into()));
        d
    }

    #[test]
    fn reads_typed_values_and_refuses_nothing_valid() {
        let d = dict();
        let refusals = Refusals::new();
        let v = refusals.values("Lockdown", Some(&d));
        assert_eq!(v.unsigned("n", 100), Some(42));
        assert_eq!(v.string("s"), Some("x"));
        assert_eq!(v.string("missing"), None);
        assert_eq!(v.text_or_data("flag").as_deref(), Some("YES"));
        assert_eq!(v.unsigned("huge", u64::MAX), Some(u64::MAX));
        assert!(refusals.into_vec().is_empty());
    }

    #[test]
    fn wrong_type_and_absurd_values_are_refused_with_key_value_and_reason() {
        let d = dict();
        let refusals = Refusals::new();
        let v = refusals.values("Domains/x", Some(&d));
        assert_eq!(v.unsigned("s", 100), None);
        assert_eq!(v.unsigned("neg", 100), None);
        assert_eq!(v.unsigned("n", 10), None);
        assert_eq!(v.boolean("flag"), None);
        assert_eq!(
            v.parsed::<crate::facts::IosVersion>("version", "an iOS version"),
            None
        );
        assert_eq!(v.integer("huge", 0..=10), None, "no panic past i64");
        let list = refusals.into_vec();
        let keys: Vec<&str> = list.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Domains/x/s",
                "Domains/x/neg",
                "Domains/x/n",
                "Domains/x/flag",
                "Domains/x/version",
                "Domains/x/huge"
            ]
        );
        assert_eq!(list[0].value, "the string \"x\"");
        assert_eq!(list[0].reason, "expected an integer from 0 to 100");
        assert_eq!(list[1].value, "the integer -5");
        assert_eq!(list[3].reason, "expected a boolean");
        assert!(list[4].reason.contains("iOS version"), "{:?}", list[4]);
        assert!(list[0]
            .warning()
            .contains("Domains/x/s is the string \"x\""));
    }

    #[test]
    fn a_key_refused_twice_is_one_refusal() {
        let d = dict();
        let refusals = Refusals::new();
        let v = refusals.values("L", Some(&d));
        v.boolean("s");
        v.boolean("s");
        assert_eq!(refusals.into_vec().len(), 1);
    }

    #[test]
    fn private_keys_are_refused_by_kind_only() {
        let d = dict();
        let refusals = Refusals::new();
        refusals.values("Lockdown", Some(&d)).string("SerialNumber");
        let list = refusals.into_vec();
        assert_eq!(list[0].value, "an integer");
        assert!(!list[0].warning().contains("12345"));
    }

    #[test]
    fn a_nested_value_that_is_no_dictionary_is_refused_and_reads_as_absent() {
        let d = dict();
        let refusals = Refusals::new();
        let inner = refusals.values("IORegistry/B", Some(&d)).nested("n");
        assert!(!inner.present());
        assert_eq!(inner.unsigned("x", 5), None);
        assert_eq!(refusals.into_vec()[0].key, "IORegistry/B/n");
    }

    #[test]
    fn a_later_source_stands_in_for_an_absent_key_not_a_refused_one() {
        let d = dict();
        let refusals = Refusals::new();
        let v = refusals.values("D", Some(&d));
        let read = |v: &Values, k: &str| v.unsigned(k, 100);
        assert_eq!(
            first_present(&[(&v, "missing"), (&v, "n")], read),
            Some((42, "n"))
        );
        assert_eq!(first_present(&[(&v, "s"), (&v, "n")], read), None);
        assert_eq!(first_present(&[(&v, "missing")], read), None);
        assert_eq!(refusals.into_vec().len(), 1);
    }

    #[test]
    fn absent_dictionary_reads_as_unknown() {
        let refusals = Refusals::new();
        let v = refusals.values("IORegistry/AppleSmartBattery", None);
        assert!(!v.present());
        assert_eq!(v.unsigned("CycleCount", 10), None);
        assert!(refusals.into_vec().is_empty());
    }
}
