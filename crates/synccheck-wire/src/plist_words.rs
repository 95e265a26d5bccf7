//! The plist crate's errors in plain words. Its `Display` is the `Debug` of an internal enum
//! (`UnclosedXmlElement (offset 700)`, `ExpectedEndOfEventStream { found: String }`), which is
//! no sentence for a technician; its error kinds are private, so the words are chosen from the
//! kind's name at the start of that text. A kind this table does not know (a newer plist
//! release) still gets plain words, never the enum's name.

/// What is wrong with the bytes, in words, with where when the reader said.
pub fn plain_words(err: &plist::Error) -> String {
    // Plists are parsed from memory: a read error is an offset beyond the bytes there are.
    if err.is_io() {
        return "it points past its own end: cut off or damaged".into();
    }
    let text = err.to_string();
    let kind: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let words = words_for(&kind);
    match offset(&text) {
        Some(at) => format!("{words}, at byte {at}"),
        None => words.to_string(),
    }
}

/// The number in the text's trailing "(offset N)", if any.
fn offset(text: &str) -> Option<u64> {
    let inner = text.strip_suffix(')')?;
    let start = inner.rfind("(offset ")?;
    inner[start + "(offset ".len()..].parse().ok()
}

fn words_for(kind: &str) -> &'static str {
    match kind {
        "UnexpectedEof"
        | "UnexpectedEndOfEventStream"
        | "UnclosedXmlElement"
        | "UnclosedString"
        | "IncompleteComment" => "it ends too early, as if cut off",
        "ExpectedEndOfEventStream" => "more follows where the plist should end",
        "UnexpectedEventType" => "a value is not of the kind expected there",
        "InvalidUtf8AsciiStream"
        | "InvalidXmlUtf8"
        | "InvalidUtf8String"
        | "InvalidUtf16String" => "it holds text that is not valid UTF-8 or UTF-16",
        "InvalidOctalString" => "it holds a malformed escaped character",
        "UnexpectedXmlCharactersExpectedElement"
        | "UnexpectedXmlOpeningTag"
        | "UnknownXmlElement"
        | "InvalidXmlSyntax" => "its XML is not laid out as a plist",
        "InvalidDataString" => "a <data> value is not valid base64",
        "InvalidDateString" | "OverflowOrNanDate" => "a date is malformed or out of range",
        "InvalidIntegerString" | "IntegerOutOfRange" => "a number is malformed or out of range",
        "InvalidRealString" => "a decimal number is malformed",
        "UidNotSupportedInXmlPlist" => "an XML plist holds a UID, which XML plists cannot",
        "InvalidMagic" => "it is neither an XML, a binary nor a text plist",
        "ObjectTooLarge"
        | "InvalidTrailerObjectOffsetSize"
        | "InvalidTrailerObjectReferenceSize"
        | "InvalidObjectLength"
        | "ObjectReferenceTooLarge"
        | "ObjectOffsetTooLarge"
        | "NullObjectUnimplemented"
        | "FillObjectUnimplemented"
        | "UnknownObjectType" => "its binary plist tables are damaged",
        "RecursiveObject" => "a binary plist value contains itself",
        _ => "it is damaged or not a plist",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_for(bytes: &[u8]) -> plist::Error {
        plist::from_bytes::<plist::Value>(bytes).unwrap_err()
    }

    #[test]
    fn no_debug_text_reaches_the_words() {
        let cases: [&[u8]; 8] = [
            b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>a</key>",
            b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>a</key><foo/></dict></plist>",
            b"{ a = \"\xff\xfe\"; }",
            b"{ a = \"unclosed; }",
            b"bplist00\x00\x00\x00",
            b"bplist00\xd1\x01\x02\x51a\x51b\x08\x0b\x0d\x00\x00\x00\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff",
            b"<?xml version=\"1.0\"?><plist version=\"1.0\"><integer>99999999999999999999999</integer></plist>",
            b"<?xml version=\"1.0\"?><plist version=\"1.0\"><data>!!!</data></plist>",
        ];
        for bytes in cases {
            let words = plain_words(&error_for(bytes));
            let first = words.chars().next().unwrap();
            assert!(first.is_lowercase(), "{words}");
            assert!(
                !words.contains('{') && !words.contains("offset") && !words.contains("Xml"),
                "{words}"
            );
        }
    }

    #[test]
    fn a_cut_off_file_says_so_and_where() {
        let words = plain_words(&error_for(
            b"<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>a</key><string>b",
        ));
        assert!(words.starts_with("it ends too early"), "{words}");
    }

    #[test]
    fn unknown_kinds_get_plain_words_too() {
        assert_eq!(words_for("SomethingNew"), "it is damaged or not a plist");
        assert_eq!(offset("Foo (offset 10)"), Some(10));
        assert_eq!(offset("Foo"), None);
    }
}
