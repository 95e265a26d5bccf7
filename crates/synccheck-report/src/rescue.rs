//! The one sentence every report carries when photos are waiting: they exist only on this
//! phone, and `synccheck rescue` copies them before any repair (docs/rescue.md).

use synccheck_core::facts::photos::LibraryFacts;
use synccheck_core::facts::DeviceFacts;
use synccheck_core::units::{self, thousands};

/// "1,204 photos (4.1 GB) are only on this phone: `synccheck rescue --to DIR` copies them
/// before any repair", when the library says photos wait to upload; `None` otherwise.
pub fn note(facts: &DeviceFacts) -> Option<String> {
    let photos = facts.photos.as_ref()?;
    let LibraryFacts::Read(counts) = &photos.library else {
        return None;
    };
    let n = counts.waiting.filter(|n| *n > 0)?;
    let what = match n {
        1 => "1 photo".to_string(),
        n => format!("{} photos", thousands(n)),
    };
    let size = counts
        .waiting_bytes
        .map(|b| format!(" ({})", units::bytes(b)))
        .unwrap_or_default();
    let verb = if n == 1 { "is" } else { "are" };
    // With iCloud Photos off every photo waits: rescue copies them all only when asked.
    let all = if photos.enabled == Some(false) {
        " --all"
    } else {
        ""
    };
    let pronoun = if n == 1 { "it" } else { "them" };
    Some(format!(
        "{what}{size} {verb} only on this phone: `synccheck rescue --to DIR{all}` copies {pronoun} before any repair"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
