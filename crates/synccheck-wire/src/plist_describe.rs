//! Plist helpers both the wire codecs and the snapshot format use: where a UID hides, and a
//! short, bounded, printable description of a value for a message. Helpers, no policy.

pub const UID_PROBLEM: &str =
    "a UID (only keyed archives hold one), which a snapshot cannot: it is saved as XML";

/// Where the first UID in a value is, as `/key/index/...` (empty for the value itself).
/// Recursive, on values from `wire::plist_bounded` only: their depth is bounded. UIDs
/// belong to NSKeyedArchiver's binary plists, never to lockdown, and an XML plist cannot hold
/// one, so nothing that synccheck may write back as XML (a snapshot, a message) may carry one.
pub fn uid_path(value: &plist::Value) -> Option<String> {
    match value {
        plist::Value::Uid(_) => Some(String::new()),
        plist::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| uid_path(v).map(|p| format!("/{i}{p}"))),
        plist::Value::Dictionary(d) => d
            .iter()
            .find_map(|(k, v)| uid_path(v).map(|p| format!("/{k}{p}"))),
        _ => None,
    }
}

pub fn kind(value: &plist::Value) -> &'static str {
    match value {
        plist::Value::Array(_) => "an array",
        plist::Value::Dictionary(_) => "a dictionary",
        plist::Value::Boolean(_) => "a boolean",
        plist::Value::Data(_) => "data",
        plist::Value::Date(_) => "a date",
        plist::Value::Real(_) => "a real number",
        plist::Value::Integer(_) => "an integer",
        plist::Value::String(_) => "a string",
        plist::Value::Uid(_) => "a UID",
        _ => "an unknown value",
    }
}

/// How many characters of a string or data value a description quotes.
const QUOTED_CHARS: usize = 40;

/// A short description of a value for a message: its kind, and the value when it is short.
/// Bounded and printable whatever the value holds: control characters are escaped and long
/// strings cut, so a value from a phone or a file cannot break a terminal line or a report.
pub fn describe(value: &plist::Value) -> String {
    match value {
        plist::Value::String(s) => format!("the string \"{}\"", printable(s)),
        plist::Value::Integer(i) => format!("the integer {i}"),
        plist::Value::Boolean(b) => format!("the boolean {b}"),
        plist::Value::Real(r) => format!("the number {r}"),
        plist::Value::Data(d) => match std::str::from_utf8(d) {
            Ok(text) if d.len() <= QUOTED_CHARS && text.chars().all(|c| !c.is_control()) => {
                format!("data \"{text}\"")
            }
            _ => format!("{} bytes of data", d.len()),
        },
        plist::Value::Array(a) => format!("an array of {}", plural(a.len(), "item")),
        plist::Value::Dictionary(d) => format!("a dictionary of {}", plural(d.len(), "key")),
        other => kind(other).to_string(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `s` with control characters escaped (`\n`, `\u{1b}`), cut after [`QUOTED_CHARS`]
/// characters with an ellipsis.
fn printable(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == QUOTED_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
