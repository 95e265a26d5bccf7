//! Text a phone (or a file) chose, made safe for where synccheck puts it.
//!
//! A phone names itself: its UDID, its usbmuxd serial and its device name are bytes a stranger's
//! (possibly tampered) phone sends. Three places cannot take such text raw, and each has one
//! function here that every caller goes through:
//! - a terminal or a page ([`printable`]): control characters (C0, DEL, C1, so ESC and the
//!   8-bit CSI too) would move the cursor, retitle the window, clear the screen or forge a link,
//!   and bidirectional overrides would reorder what the technician reads. They are shown as
//!   visible escapes (`\u{1b}`) instead.
//! - a file name ([`file_name_part`]): only ASCII letters, digits and dashes survive, so no
//!   `../`, slash, NUL or dot file can come from a phone, and the length is capped.
//! - an XML plist ([`xml_can_carry`]): XML 1.0 cannot hold most C0 characters, nor U+FFFE and
//!   U+FFFF; writers check first and choose what to do (binary plist, or refuse).
//!
//! JSON output needs none of this: serde_json escapes control characters itself, and a JSON
//! report stays faithful to what the phone said.

use std::borrow::Cow;

/// Whether `c` would act on a terminal or on the order of the text rather than be read:
/// control characters (C0, DEL and C1, Unicode category Cc), bidirectional embeddings,
/// overrides, isolates and marks, the zero-width space and other invisible formatting or filler
/// characters, tag characters, and the line and paragraph separators. The zero-width joiner and
/// non-joiner and the variation selectors stay: names use them (emoji sequences, Persian).
pub fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `text` as it may be shown on a terminal or a page: every [`is_hazard`] character written as
/// a visible `\u{..}` escape (lowercase hex), everything else as is. Borrowed when nothing
/// needed escaping.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hazard(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Longest part of a file name taken from a phone value: a UDID is 25 to 40 characters; more
/// than this is not a UDID, and file systems cap a whole name at 255 bytes.
pub const MAX_FILE_NAME_PART: usize = 64;

/// A phone value (a UDID, a serial) as a part of a file name: ASCII letters, digits and dashes
/// are kept, anything else becomes `_`, so the result never holds a path separator, a dot
/// (no `..`, no hidden file), NUL or a control character; cut to [`MAX_FILE_NAME_PART`]
/// characters; `phone` when nothing is left. Two values may give the same part: callers that
/// name several files keep them apart themselves.
pub fn file_name_part(value: &str) -> String {
    let safe: String = value
        .chars()
        .take(MAX_FILE_NAME_PART)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.chars().all(|c| c == '_' || c == '-') {
        "phone".to_string()
    } else {
        safe
    }
}

/// Whether XML 1.0 can hold `c` (its `Char` production): tab, LF, CR, and everything from
/// U+0020 except U+FFFE and U+FFFF (surrogates cannot be in a Rust string).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Where in `value` a key or string holds a character XML 1.0 cannot carry, as a path
/// (`Lockdown/DeviceName`), or `None` when all of it can be written as XML. Walks with its own
/// stack: the depth of the value (which a peer chose) never drives recursion.
pub fn xml_can_carry(value: &plist::Value) -> Result<(), String> {
    let fits = |s: &str| s.chars().all(xml_char);
    let mut stack: Vec<(String, &plist::Value)> = vec![(String::new(), value)];
    while let Some((path, v)) = stack.pop() {
        match v {
            plist::Value::String(s) if !fits(s) => return Err(path_or_root(path)),
            plist::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    stack.push((join(&path, &i.to_string()), item));
                }
            }
            plist::Value::Dictionary(d) => {
                for (k, item) in d {
                    let at = join(&path, k);
                    if !fits(k) {
                        return Err(printable(&at).into_owned());
                    }
                    stack.push((at, item));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Paths stop growing past this length, so a deep value costs no more than a shallow one.
const MAX_PATH: usize = 200;

fn join(path: &str, key: &str) -> String {
    if path.len() >= MAX_PATH {
        return path.to_string();
    }
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}/{key}")
    }
}

fn path_or_root(path: String) -> String {
    if path.is_empty() {
        "the value".to_string()
    } else {
        printable(&path).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_and_bidi_overrides_become_visible_escapes() {
        let hostile = "a\u{1b}]0;owned\u{7}b\u{1b}[2J\u{9b}c\u{202e}d\u{7f}\u{0}\n\u{2066}";
        let shown = printable(hostile);
        assert_eq!(
            shown,
            "a\\u{1b}]0;owned\\u{7}b\\u{1b}[2J\\u{9b}c\\u{202e}d\\u{7f}\\u{0}\\u{a}\\u{2066}"
        );
        assert!(!shown.chars().any(is_hazard));
        assert!(matches!(
            printable("Anna’s iPhone ✔ 日本"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn file_name_parts_never_leave_the_folder() {
        for (value, part) in [
            ("00008030-001A2B3C4D5E6F70", "00008030-001A2B3C4D5E6F70"),
            ("../../x", "______x"),
            ("a/b\\c\u{0}d", "a_b_c_d"),
            ("..", "phone"),
            ("", "phone"),
            (".hidden", "_hidden"),
        ] {
            assert_eq!(file_name_part(value), part, "{value:?}");
        }
        let long = "A".repeat(5000);
        assert_eq!(file_name_part(&long).len(), MAX_FILE_NAME_PART);
    }

    #[test]
    fn xml_refusals_name_where_the_character_is() {
        let mut inner = plist::Dictionary::new();
        inner.insert("DeviceName".into(), "Bob\u{1}".into());
        let mut root = plist::Dictionary::new();
        root.insert("Lockdown".into(), plist::Value::Dictionary(inner));
        root.insert("Fine".into(), "tab\tand\nnewline".into());
        let got = xml_can_carry(&plist::Value::Dictionary(root.clone()));
        assert_eq!(got, Err("Lockdown/DeviceName".to_string()));
        root.remove("Lockdown");
        assert_eq!(xml_can_carry(&plist::Value::Dictionary(root)), Ok(()));
        assert!(xml_can_carry(&plist::Value::String("\u{fffe}".into())).is_err());
    }

    #[test]
    fn deep_values_do_not_recurse() {
        let mut v = plist::Value::String("deep\u{0}".into());
        for _ in 0..100_000 {
            v = plist::Value::Array(vec![v]);
        }
        assert!(xml_can_carry(&v).is_err());
        // Dropping the value is the test's own business: leak it rather than recurse.
        std::mem::forget(v);
    }
}
