//! The one way synccheck parses a plist that comes from outside (a phone, usbmuxd, a file):
//! bounded in nesting depth, in the number of objects and in the bytes it expands to, so that
//! neither a reuse bomb nor deep nesting can exhaust memory or the stack.
//!
//! Why a bound on the *expanded* value: a binary plist stores each object once and refers to it
//! by index, so an array of 100 references to one array of 100 references to ... is a few hundred
//! bytes on the wire and 100^k values once read. A frame or file size limit does not see that.
//!
//! How: the plist crate's event reader (`plist::stream::Reader`, behind its unstable feature)
//! walks binary, XML and ASCII plists with explicit stacks and expands reused objects lazily,
//! one event at a time. We count every event (objects, depth, string and data bytes) and build
//! the [`plist::Value`] ourselves with an explicit stack, stopping at the first limit exceeded,
//! so the work and memory spent on a bomb are bounded by the limits, not by its expansion. The
//! alternative, pre-scanning the binary trailer and offset table ourselves and counting XML
//! nesting before handing the bytes to `plist`, would mean a second parser of both formats to
//! keep in step with the crate's; the event reader is the crate's own parser. The price is a
//! pinned plist version (see Cargo.toml), since that API may change in a minor release.
//!
//! Allocation: nothing is allocated from a length the input announces. The containers we build
//! start empty (the announced `StartArray(Some(len))` is ignored); the crate's binary reader
//! refuses any announced length that reaches past the end of the input before allocating it.
//!
//! Recursion: none here. Because every value this returns is at most [`Limits::max_depth`]
//! deep, the plist crate's recursive `Drop`, `Clone` and `PartialEq` of `plist::Value`, and the
//! recursive walks over parsed values elsewhere (`snapshot::uid_path`, the replay date walk), are
//! bounded by that limit and never by the input: a few dozen stack frames.

use std::io::Cursor;

use plist::stream::{Event, Reader};
use plist::{Dictionary, Value};

/// How much one parse may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and dictionaries; the root container is level 1.
    pub max_depth: usize,
    /// Most values (containers, scalars and dictionary keys), counted as they are read.
    pub max_objects: u64,
    /// Most bytes the value may expand to: string and data bytes plus one
    /// `size_of::<plist::Value>()` per value, an estimate of the memory it takes.
    pub max_expanded_bytes: u64,
}

impl Limits {
    /// Anything a phone or usbmuxd sends: lockdown, diagnostics_relay and usbmuxd messages (at
    /// most a 16 MiB frame), pair records, state files read over AFC. Real lockdown and
    /// IORegistry values nest under 10 levels (the fixtures: at most 5), and a full IORegistry
    /// dump is under a megabyte with a few thousand values.
    pub const DEVICE: Limits = Limits {
        max_depth: 64,
        max_objects: 200_000,
        max_expanded_bytes: 48 * 1024 * 1024,
    };

    /// Snapshot files (at most `snapshot::MAX_SNAPSHOT_BYTES`, 64 MiB) and the snapshots the
    /// history stores: a whole device's values with its photo-state files inside.
    pub const SNAPSHOT: Limits = Limits {
        max_depth: 64,
        max_objects: 1_000_000,
        max_expanded_bytes: 160 * 1024 * 1024,
    };
}

/// Which limit a plist went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Depth,
    Objects,
    ExpandedBytes,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Depth => "nesting depth",
            Limit::Objects => "object count",
            Limit::ExpandedBytes => "expanded size",
        })
    }
}

/// Why a plist from outside was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlistLimitError {
    #[error(
        "{source_name} goes over the plist {limit} limit ({max}): refused as hostile or broken"
    )]
    OverLimit {
        source_name: String,
        limit: Limit,
        max: u64,
    },
    #[error("{source_name} is not a readable plist ({detail})")]
    Malformed { source_name: String, detail: String },
}

impl PlistLimitError {
    /// The limit exceeded, if that is why.
    pub fn limit(&self) -> Option<Limit> {
        match self {
            PlistLimitError::OverLimit { limit, .. } => Some(*limit),
            PlistLimitError::Malformed { .. } => None,
        }
    }
}

/// A container being filled.
enum Open {
    Array(Vec<Value>),
    /// A dictionary and the key whose value comes next.
    Dict(Dictionary, Option<String>),
}

/// Parses a binary, XML or ASCII plist within `limits`. `source_name` names what the bytes are
/// (e.g. "the lockdown reply", "syncstatus.plist") in the error.
pub fn parse(bytes: &[u8], limits: &Limits, source_name: &str) -> Result<Value, PlistLimitError> {
    let over = |limit: Limit, max: u64| PlistLimitError::OverLimit {
        source_name: source_name.to_string(),
        limit,
        max,
    };
    let malformed = |detail: String| PlistLimitError::Malformed {
        source_name: source_name.to_string(),
        detail,
    };
    let per_value = std::mem::size_of::<Value>() as u64;

    let reader = Reader::new(Cursor::new(bytes));
    let mut stack: Vec<Open> = Vec::new();
    let mut objects: u64 = 0;
    let mut expanded: u64 = 0;
    let mut root: Option<Value> = None;

    for event in reader {
        // Stop at the first error: a reader that failed to start repeats its error forever.
        // In plain words: the plist crate's own text is its enum's Debug (`plist_words.rs`).
        let event = event.map_err(|e| malformed(crate::plist_words::plain_words(&e)))?;
        if root.is_some() {
            return Err(malformed("more than one value at the top level".into()));
        }
        if !matches!(event, Event::EndCollection) {
            objects += 1;
            if objects > limits.max_objects {
                return Err(over(Limit::Objects, limits.max_objects));
            }
            let payload = match &event {
                Event::String(s) => s.len() as u64,
                Event::Data(d) => d.len() as u64,
                _ => 0,
            };
            expanded = expanded.saturating_add(per_value + payload);
            if expanded > limits.max_expanded_bytes {
                return Err(over(Limit::ExpandedBytes, limits.max_expanded_bytes));
            }
        }
        let value = match event {
            Event::StartArray(_) | Event::StartDictionary(_) => {
                if stack.len() >= limits.max_depth {
                    return Err(over(Limit::Depth, limits.max_depth as u64));
                }
                // The announced length is not trusted: containers grow as values arrive.
                stack.push(match event {
                    Event::StartArray(_) => Open::Array(Vec::new()),
                    _ => Open::Dict(Dictionary::new(), None),
                });
                continue;
            }
            Event::EndCollection => match stack.pop() {
                Some(Open::Array(items)) => Value::Array(items),
                Some(Open::Dict(d, None)) => Value::Dictionary(d),
                Some(Open::Dict(_, Some(key))) => {
                    return Err(malformed(format!("the key \"{key}\" has no value")))
                }
                None => return Err(malformed("a container closes that never opened".into())),
            },
            Event::Boolean(b) => Value::Boolean(b),
            Event::Data(d) => Value::Data(d.into_owned()),
            Event::Date(d) => Value::Date(d),
            Event::Integer(i) => Value::Integer(i),
            Event::Real(r) => Value::Real(r),
            Event::String(s) => Value::String(s.into_owned()),
            Event::Uid(u) => Value::Uid(u),
            // `Event` is non_exhaustive: a kind of value this version does not know.
            #[allow(unreachable_patterns)]
            _ => {
                return Err(malformed(
                    "a kind of value this reader does not know".into(),
                ))
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Open::Array(items)) => items.push(value),
            Some(Open::Dict(_, key @ None)) => match value {
                Value::String(k) => *key = Some(k),
                other => {
                    return Err(malformed(format!(
                        "a dictionary key is a {}, not a string",
                        kind(&other)
                    )))
                }
            },
            Some(Open::Dict(d, key)) => {
                let k = key.take().expect("matched Some above");
                d.insert(k, value);
            }
        }
    }
    if !stack.is_empty() {
        return Err(malformed("it ends inside an array or dictionary".into()));
    }
    root.ok_or_else(|| malformed("it holds no value".into()))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "array",
        Value::Dictionary(_) => "dictionary",
        Value::Boolean(_) => "boolean",
        Value::Data(_) => "data",
        Value::Date(_) => "date",
        Value::Real(_) => "real",
        Value::Integer(_) => "integer",
        Value::String(_) => "string",
        Value::Uid(_) => "UID",
        _ => "value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plist_bombs;

    fn binary(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_binary(&mut out).unwrap();
        out
    }

    fn xml(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_xml(&mut out).unwrap();
        out
    }

    fn sample() -> Value {
        let mut inner = Dictionary::new();
        inner.insert("Level".into(), 87.into());
        inner.insert("Data".into(), Value::Data(vec![1, 2, 3]));
        inner.insert("List".into(), Value::Array(vec![true.into(), 1.5.into()]));
        let mut d = Dictionary::new();
        d.insert("ProductType".into(), "iPhone14,2".into());
        d.insert("Battery".into(), Value::Dictionary(inner));
        Value::Dictionary(d)
    }

    #[test]
    fn reads_what_the_plist_crate_reads_in_every_format() {
        let value = sample();
        for bytes in [binary(&value), xml(&value)] {
            assert_eq!(parse(&bytes, &Limits::DEVICE, "t").unwrap(), value);
            assert_eq!(plist::from_bytes::<Value>(&bytes).unwrap(), value);
        }
        let ascii = br#"{ A = ( 1, "two" ); }"#;
        assert_eq!(
            parse(ascii, &Limits::DEVICE, "t").unwrap(),
            plist::from_bytes::<Value>(ascii).unwrap()
        );
        assert_eq!(
            parse(&binary(&"x".into()), &Limits::DEVICE, "t").unwrap(),
            Value::from("x")
        );
    }

    #[test]
    fn every_fixture_is_well_within_the_limits() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut paths = vec![root.join("data/demo-iphone.plist")];
        for dir in ["fixtures", "fixtures/photos", "fixtures/import"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "plist") {
                    paths.push(p);
                }
            }
        }
        let tight = Limits {
            max_depth: 10,
            ..Limits::DEVICE
        };
        for p in paths {
            let bytes = std::fs::read(&p).unwrap();
            parse(&bytes, &tight, "fixture").unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }

    #[test]
    fn a_reuse_bomb_stops_at_the_object_limit_in_bounded_work() {
        // 500-odd bytes that expand to 64^5 (about a billion) values.
        let bomb = plist_bombs::reuse_bomb(5, 64);
        assert!(bomb.len() < 1024, "{}", bomb.len());
        let err = parse(&bomb, &Limits::DEVICE, "the lockdown reply").unwrap_err();
        assert_eq!(err.limit(), Some(Limit::Objects), "{err}");
        assert!(err.to_string().starts_with("the lockdown reply "), "{err}");
    }

    #[test]
    fn a_reuse_bomb_of_strings_stops_at_the_size_limit() {
        let bomb = plist_bombs::string_reuse_bomb(3, 64, 64 * 1024);
        let err = parse(&bomb, &Limits::DEVICE, "syncstatus.plist").unwrap_err();
        assert_eq!(err.limit(), Some(Limit::ExpandedBytes), "{err}");
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_limit_in_every_format() {
        for bomb in [
            plist_bombs::deep_binary(20_000, false),
            plist_bombs::deep_binary(20_000, true),
            plist_bombs::deep_xml(20_000, false),
            plist_bombs::deep_xml(20_000, true),
            // OpenStep text, which the plist crate also reads.
            "(".repeat(20_000).into_bytes(),
            "{ a = ".repeat(20_000).into_bytes(),
        ] {
            let err = parse(&bomb, &Limits::DEVICE, "t").unwrap_err();
            assert_eq!(err.limit(), Some(Limit::Depth), "{err}");
        }
        // At the limit itself, it reads.
        let at_limit = plist_bombs::deep_xml(Limits::DEVICE.max_depth, true);
        parse(&at_limit, &Limits::DEVICE, "t").unwrap();
        let over = plist_bombs::deep_xml(Limits::DEVICE.max_depth + 1, true);
        assert!(parse(&over, &Limits::DEVICE, "t").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_on_a_small_thread_stack() {
        // A watch worker's stack is smaller than main's: nothing here may recurse by depth.
        let handle = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                let bomb = plist_bombs::deep_binary(100_000, false);
                parse(&bomb, &Limits::DEVICE, "t").unwrap_err()
            })
            .unwrap();
        assert_eq!(handle.join().unwrap().limit(), Some(Limit::Depth));
    }

    #[test]
    fn garbage_truncation_and_self_reference_are_malformed() {
        for bytes in [
            &b""[..],
            b"\x01\x02\x03",
            b"bplist00",
            b"<plist><array><string>x</string>",
        ] {
            let err = parse(bytes, &Limits::DEVICE, "t").unwrap_err();
            assert!(matches!(err, PlistLimitError::Malformed { .. }), "{err}");
        }
        let cyclic = plist_bombs::self_referencing_array();
        assert!(parse(&cyclic, &Limits::DEVICE, "t").is_err());
    }

    #[test]
    fn a_huge_announced_length_allocates_nothing() {
        // One string object announcing 2^62 bytes.
        let bomb = plist_bombs::huge_announced_string();
        let err = parse(&bomb, &Limits::DEVICE, "t").unwrap_err();
        assert!(matches!(err, PlistLimitError::Malformed { .. }), "{err}");
    }
}
