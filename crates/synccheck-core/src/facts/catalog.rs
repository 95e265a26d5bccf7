//! The dated table of iPhone models and the newest iOS each can run (`data/iphone-models.toml`).
//!
//! Facts that age live in that one file, each with its source beside it; this module parses it,
//! checks that its rows agree with each other, and counts iOS major releases the way Apple
//! numbers them. It is compiled in so a bench machine without network still knows the models.

use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

use super::software::IosVersion;

const MODELS_TOML: &str = include_str!("../../../../data/iphone-models.toml");

/// The table is considered out of date a year after it was last checked.
pub const STALE_AFTER_DAYS: i64 = 365;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The day the table was last checked against its sources.
    pub updated: NaiveDate,
    /// Which major numbers Apple has used, so that "majors behind" counts releases.
    pub majors: MajorNumbering,
    #[serde(rename = "ios")]
    pub releases: Vec<IosRelease>,
    #[serde(rename = "model")]
    pub models: Vec<Model>,
}

/// The iOS majors that exist: every number from `first` up to the newest major in the table,
/// except the `skipped` ranges (Apple went from iOS 18 to iOS 26).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MajorNumbering {
    /// The oldest major the table counts from: what the oldest model in it shipped with.
    pub first: u32,
    #[serde(default)]
    pub skipped: Vec<SkippedMajors>,
}

/// Major numbers Apple never released, both ends included.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkippedMajors {
    pub from: u32,
    pub to: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IosRelease {
    pub major: u32,
    pub latest: IosVersion,
    pub build: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub product_types: Vec<String>,
    pub name: String,
    pub max_ios_major: u32,
}

/// A model table whose rows contradict each other.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the model table does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the model table is inconsistent: {0}")]
    Inconsistent(String),
}

/// Why "how many majors behind" cannot be counted for an installed major.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UncountableMajor {
    #[error(
        "iOS {installed} is older than the iOS majors the model table counts (iOS {first} onward)"
    )]
    OlderThanTable { installed: u32, first: u32 },
    #[error("iOS {installed} was never released: Apple skipped iOS {from} to {to}")]
    NeverReleased { installed: u32, from: u32, to: u32 },
    #[error("iOS {installed} is newer than any iOS the model table knows (newest: iOS {newest})")]
    NewerThanTable { installed: u32, newest: u32 },
    #[error("iOS {installed} is newer than the model table says this model can run (iOS {max})")]
    NewerThanModel { installed: u32, max: u32 },
}

impl Catalog {
    /// The table compiled into this build.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The file is part of the crate and unit tests parse and check it, so a failure
            // here is a build defect, not bad input.
            Catalog::parse(MODELS_TOML).expect("data/iphone-models.toml is valid")
        })
    }

    /// Parses a model table and checks that its rows agree with each other.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = toml::from_str(text)?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), CatalogError> {
        let bad = |m: String| Err(CatalogError::Inconsistent(m));
        if self.releases.is_empty() {
            return bad("no [[ios]] release".into());
        }
        for s in &self.majors.skipped {
            if s.from > s.to || s.from <= self.majors.first {
                return bad(format!(
                    "skipped majors {}..={} are out of order",
                    s.from, s.to
                ));
            }
        }
        let mut seen = Vec::new();
        for r in &self.releases {
            if r.latest.major != r.major {
                return bad(format!("iOS {} row names {}", r.major, r.latest));
            }
            if seen.contains(&r.major) {
                return bad(format!("iOS {} is listed twice", r.major));
            }
            seen.push(r.major);
            if r.major < self.majors.first || self.skipped_range(r.major).is_some() {
                return bad(format!("iOS {} is not a released major", r.major));
            }
        }
        for m in &self.models {
            if self.latest_for(m).is_none() {
                return bad(format!("{} has no iOS {} row", m.name, m.max_ios_major));
            }
        }
        Ok(())
    }

    pub fn model(&self, product_type: &str) -> Option<&Model> {
        self.models
            .iter()
            .find(|m| m.product_types.iter().any(|p| p == product_type))
    }

    /// The newest iOS release a model can install.
    pub fn latest_for(&self, model: &Model) -> Option<&IosRelease> {
        self.releases
            .iter()
            .find(|r| r.major == model.max_ios_major)
    }

    /// The newest major the table knows of any model.
    pub fn newest_major(&self) -> u32 {
        self.releases.iter().map(|r| r.major).max().unwrap_or(0)
    }

    fn skipped_range(&self, major: u32) -> Option<&SkippedMajors> {
        self.majors
            .skipped
            .iter()
            .find(|s| (s.from..=s.to).contains(&major))
    }

    /// Whether Apple released this major, as far as the table knows.
    pub fn is_released_major(&self, major: u32) -> bool {
        self.check_major(major).is_ok()
    }

    fn check_major(&self, installed: u32) -> Result<(), UncountableMajor> {
        let first = self.majors.first;
        let newest = self.newest_major();
        if installed < first {
            return Err(UncountableMajor::OlderThanTable { installed, first });
        }
        if let Some(s) = self.skipped_range(installed) {
            return Err(UncountableMajor::NeverReleased {
                installed,
                from: s.from,
                to: s.to,
            });
        }
        if installed > newest {
            return Err(UncountableMajor::NewerThanTable { installed, newest });
        }
        Ok(())
    }

    /// How many major releases came after `installed`, up to and including `newest` (the
    /// newest major the model can run): iOS 12 → 16 is four, iOS 18 → 26 is one. An
    /// installed major the table cannot place is an error with its reason, never a guess.
    pub fn majors_between(&self, installed: u32, newest: u32) -> Result<u32, UncountableMajor> {
        self.check_major(installed)?;
        if installed > newest {
            return Err(UncountableMajor::NewerThanModel {
                installed,
                max: newest,
            });
        }
        Ok(((installed + 1)..=newest)
            .filter(|&m| self.is_released_major(m))
            .count() as u32)
    }

    pub fn is_stale(&self, today: NaiveDate) -> bool {
        (today - self.updated).num_days() > STALE_AFTER_DAYS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apple's iOS majors from the iPhone 6s's iOS 9 on, written out by hand from the release
    /// history (docs/device-facts.md): 9 to 18 yearly, then 26 (2025) and 27 (2026).
    const RELEASED: &[u32] = &[9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 26, 27];

    #[test]
    fn builtin_table_parses_and_is_complete() {
        let c = Catalog::builtin();
        assert_eq!(c.model("iPhone8,1").unwrap().name, "iPhone 6s");
        assert_eq!(c.model("iPhone14,5").unwrap().name, "iPhone 13");
        // Every model's newest major has a release row, or ios-update could not decide.
        for m in &c.models {
            assert!(
                c.latest_for(m).is_some(),
                "{} has no iOS {} row",
                m.name,
                m.max_ios_major
            );
        }
        // Every identifier appears once.
        let mut all: Vec<_> = c
            .models
            .iter()
            .flat_map(|m| m.product_types.iter())
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn released_majors_are_apples() {
        let c = Catalog::builtin();
        let counted: Vec<u32> = (0..=c.newest_major() + 5)
            .filter(|&m| c.is_released_major(m))
            .collect();
        assert_eq!(counted, RELEASED);
    }

    /// The invariant over the whole table: for every model and every real major it could have
    /// installed, majors_behind is the number of real majors after it up to the model's newest.
    #[test]
    fn every_model_counts_every_installed_major_by_hand() {
        let c = Catalog::builtin();
        for m in &c.models {
            assert!(
                RELEASED.contains(&m.max_ios_major),
                "{}: iOS {} is not a real major",
                m.name,
                m.max_ios_major
            );
            for &installed in RELEASED.iter().filter(|&&v| v <= m.max_ios_major) {
                let by_hand = RELEASED
                    .iter()
                    .filter(|&&v| v > installed && v <= m.max_ios_major)
                    .count() as u32;
                assert_eq!(
                    c.majors_between(installed, m.max_ios_major),
                    Ok(by_hand),
                    "{} on iOS {installed}",
                    m.name
                );
            }
            for &beyond in RELEASED.iter().filter(|&&v| v > m.max_ios_major) {
                assert!(c.majors_between(beyond, m.max_ios_major).is_err());
            }
        }
        for r in &c.releases {
            assert_eq!(r.latest.major, r.major, "iOS {} row", r.major);
        }
    }

    #[test]
    fn majors_count_releases_not_numbers() {
        let c = Catalog::builtin();
        assert_eq!(c.majors_between(18, 26), Ok(1));
        assert_eq!(c.majors_between(26, 26), Ok(0));
        assert_eq!(c.majors_between(15, 17), Ok(2));
        // The two the issue reported: the table used to start at 15 and count 1 and 2.
        assert_eq!(
            c.majors_between(13, 15),
            Ok(2),
            "iPhone 6s Plus on iOS 13.7"
        );
        assert_eq!(c.majors_between(12, 16), Ok(4), "iPhone 8 on iOS 12.4");
        assert_eq!(c.majors_between(9, 27), Ok(11));
    }

    #[test]
    fn majors_the_table_cannot_place_are_errors_with_a_reason() {
        let c = Catalog::builtin();
        let newest = c.newest_major();
        assert_eq!(
            c.majors_between(8, 15),
            Err(UncountableMajor::OlderThanTable {
                installed: 8,
                first: 9
            })
        );
        let e = c.majors_between(20, 27).unwrap_err();
        assert!(e.to_string().contains("never released"), "{e}");
        let e = c.majors_between(newest + 1, newest).unwrap_err();
        assert!(matches!(e, UncountableMajor::NewerThanTable { .. }), "{e}");
        let e = c.majors_between(16, 15).unwrap_err();
        assert!(matches!(e, UncountableMajor::NewerThanModel { .. }), "{e}");
    }

    #[test]
    fn inconsistent_tables_are_refused() {
        let head =
            "updated = \"2026-01-01\"\n[majors]\nfirst = 9\nskipped = [{ from = 19, to = 25 }]\n";
        let model =
            "[[model]]\nproduct_types = [\"iPhone1,1\"]\nname = \"x\"\nmax_ios_major = 18\n";
        let ok = format!("{head}[[ios]]\nmajor = 18\nlatest = \"18.7\"\n{model}");
        assert!(Catalog::parse(&ok).is_ok());
        for bad in [
            // a model with no row for its newest major
            format!("{head}[[ios]]\nmajor = 17\nlatest = \"17.7\"\n{model}"),
            // a row whose version is another major's
            format!("{head}[[ios]]\nmajor = 18\nlatest = \"17.7\"\n{model}"),
            // a row for a major Apple skipped
            format!("{head}[[ios]]\nmajor = 18\nlatest = \"18.7\"\n[[ios]]\nmajor = 20\nlatest = \"20.1\"\n{model}"),
        ] {
            assert!(Catalog::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn staleness_is_a_year() {
        let c = Catalog::builtin();
        assert!(!c.is_stale(c.updated));
        assert!(!c.is_stale(c.updated + chrono::Days::new(365)));
        assert!(c.is_stale(c.updated + chrono::Days::new(366)));
    }
}
