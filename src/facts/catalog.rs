//! The dated table of iPhone models and the newest iOS each can run (`data/iphone-models.toml`).
//!
//! Facts that age live in that one file, each with its source beside it; this module only parses
//! it. It is compiled in so a bench machine without network still knows the models.

use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

use super::software::IosVersion;

const MODELS_TOML: &str = include_str!("../../data/iphone-models.toml");

/// The table is considered out of date a year after it was last checked.
pub const STALE_AFTER_DAYS: i64 = 365;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// The day the table was last checked against its sources.
    pub updated: NaiveDate,
    #[serde(rename = "ios")]
    pub releases: Vec<IosRelease>,
    #[serde(rename = "model")]
    pub models: Vec<Model>,
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

impl Catalog {
    /// The table compiled into this build.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The file is part of the crate and a unit test parses it, so a failure here is a
            // build defect, not bad input.
            toml::from_str(MODELS_TOML).expect("data/iphone-models.toml is valid")
        })
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

    /// How many major releases in the table are newer than `installed` and not newer than
    /// `newest`: the numbering jumped from 18 to 26, so subtraction would overcount.
    pub fn majors_between(&self, installed: u32, newest: u32) -> u32 {
        self.releases
            .iter()
            .filter(|r| r.major > installed && r.major <= newest)
            .count() as u32
    }

    pub fn is_stale(&self, today: NaiveDate) -> bool {
        (today - self.updated).num_days() > STALE_AFTER_DAYS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn majors_count_releases_not_numbers() {
        let c = Catalog::builtin();
        assert_eq!(c.majors_between(18, 26), 1);
        assert_eq!(c.majors_between(26, 26), 0);
        assert_eq!(c.majors_between(15, 17), 2);
    }

    #[test]
    fn staleness_is_a_year() {
        let c = Catalog::builtin();
        assert!(!c.is_stale(c.updated));
        assert!(!c.is_stale(c.updated + chrono::Days::new(365)));
        assert!(c.is_stale(c.updated + chrono::Days::new(366)));
    }
}
