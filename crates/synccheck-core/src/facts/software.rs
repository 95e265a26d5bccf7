//! iOS version facts and whether the model can run a newer one.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::catalog::Catalog;

/// An iOS version such as 17.4.1; missing parts count as zero, as Apple's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IosVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl FromStr for IosVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().split('.');
        let mut next = |required: bool| -> Result<u32, String> {
            match parts.next() {
                Some(p) => p
                    .parse()
                    .map_err(|_| format!("\"{s}\" is not an iOS version")),
                None if required => Err(format!("\"{s}\" is not an iOS version")),
                None => Ok(0),
            }
        };
        let v = IosVersion {
            major: next(true)?,
            minor: next(false)?,
            patch: next(false)?,
        };
        if parts.next().is_some() || v.major == 0 || v.major > 99 {
            return Err(format!("\"{s}\" is not an iOS version"));
        }
        Ok(v)
    }
}

impl Ord for IosVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch))
    }
}

impl PartialOrd for IosVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for IosVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

impl Serialize for IosVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IosVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Software {
    /// Installed iOS (`ProductVersion`).
    pub ios_version: Option<IosVersion>,
    /// Installed build (`BuildVersion`).
    pub build: Option<String>,
    /// The newest iOS this model can run, from the dated model table.
    pub latest_ios: Option<IosVersion>,
    pub latest_build: Option<String>,
    /// Whether a newer iOS than the installed one exists for this model.
    pub update_available: Option<bool>,
    /// How many iOS major releases came out after the installed one, up to the newest for this
    /// model, counted as Apple numbers them (iOS 12 → 16 is four, iOS 18 → 26 is one).
    pub majors_behind: Option<u32>,
    /// Why `update_available` and `majors_behind` are unknown, when they are.
    pub update_unknown_reason: Option<String>,
    /// The day the model table these facts were derived with was last checked.
    pub model_table_updated: Option<NaiveDate>,
    /// Whether that table was over a year old when the phone was read (newer iOS releases may
    /// be missing from it); unknown when the capture time is.
    pub model_table_stale: Option<bool>,
}

impl Software {
    /// Compares the installed iOS with the newest the model can run, per `catalog`, as of
    /// `captured_on` (the day the phone was read; the table's age is judged against it).
    pub fn derive(
        ios_version: Option<IosVersion>,
        build: Option<String>,
        product_type: Option<&str>,
        catalog: &Catalog,
        captured_on: Option<NaiveDate>,
    ) -> Self {
        let model = product_type.and_then(|p| catalog.model(p));
        let latest = model.and_then(|m| catalog.latest_for(m));
        let counted = match (ios_version, product_type, latest) {
            (None, _, _) => Err("the installed iOS version (ProductVersion) is unknown".into()),
            (_, None, _) => Err("the model (ProductType) is unknown".into()),
            (_, Some(p), None) => Err(format!(
                "{p} is not in the model table of {}",
                catalog.updated
            )),
            (Some(have), Some(_), Some(l)) => catalog
                .majors_between(have.major, l.major)
                .map(|behind| (have < l.latest, behind))
                .map_err(|why| why.to_string()),
        };
        let (update_available, majors_behind, update_unknown_reason) = match counted {
            Ok((update, behind)) => (Some(update), Some(behind), None),
            Err(why) => (None, None, Some(why)),
        };
        Software {
            ios_version,
            build,
            latest_ios: latest.map(|l| l.latest),
            latest_build: latest.and_then(|l| l.build.clone()),
            update_available,
            majors_behind,
            update_unknown_reason,
            model_table_updated: Some(catalog.updated),
            model_table_stale: captured_on.map(|day| catalog.is_stale(day)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> IosVersion {
        s.parse().unwrap()
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(
            v("17.4.1"),
            IosVersion {
                major: 17,
                minor: 4,
                patch: 1
            }
        );
        assert_eq!(v("18"), v("18.0.0"));
        assert!(v("17.10") > v("17.9.9"));
        assert_eq!(v("26.0").to_string(), "26.0");
        assert_eq!(v("15.8.3").to_string(), "15.8.3");
        for bad in ["", "abc", "17.x", "1.2.3.4", "0.1", "-3"] {
            assert!(bad.parse::<IosVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn update_against_catalog() {
        let c = Catalog::builtin();
        let s = Software::derive(Some(v("15.0")), None, Some("iPhone8,1"), c, None);
        assert_eq!(s.latest_ios.unwrap().major, 15);
        assert_eq!(s.update_available, Some(true));
        assert_eq!(s.majors_behind, Some(0));
        assert_eq!(s.model_table_updated, Some(c.updated));
        assert_eq!(s.model_table_stale, None, "no capture day, no judgement");
        let newest = c.latest_for(c.model("iPhone8,1").unwrap()).unwrap().latest;
        let s = Software::derive(Some(newest), None, Some("iPhone8,1"), c, None);
        assert_eq!(s.update_available, Some(false));
        let s = Software::derive(Some(v("17.0")), None, Some("iPhone9,9"), c, None);
        assert_eq!(s.update_available, None);
        assert!(s
            .update_unknown_reason
            .unwrap()
            .contains("iPhone9,9 is not in the model table"));
    }

    /// The two cases: the table listed majors from 15 only, so these said 1 and 2.
    #[test]
    fn old_ios_counts_every_major_apple_released() {
        let c = Catalog::builtin();
        let s = Software::derive(Some(v("13.7")), None, Some("iPhone8,2"), c, None);
        assert_eq!(
            s.majors_behind,
            Some(2),
            "iPhone 6s Plus on iOS 13.7: 14 and 15"
        );
        let s = Software::derive(Some(v("12.4")), None, Some("iPhone10,1"), c, None);
        assert_eq!(
            s.majors_behind,
            Some(4),
            "iPhone 8 on iOS 12.4: 13, 14, 15, 16"
        );
        let s = Software::derive(Some(v("18.6")), None, Some("iPhone14,5"), c, None);
        assert_eq!(s.majors_behind, Some(2), "iPhone 13 on iOS 18.6: 26 and 27");
    }

    #[test]
    fn versions_the_table_cannot_place_are_unknown_with_a_reason() {
        let c = Catalog::builtin();
        let beyond = format!("{}.0", c.newest_major() + 1);
        for (version, product, why) in [
            ("8.4", "iPhone8,1", "older than the iOS majors"),
            ("21.0", "iPhone14,5", "never released"),
            (
                beyond.as_str(),
                "iPhone14,5",
                "newer than any iOS the model table knows",
            ),
            (
                "16.1",
                "iPhone8,1",
                "newer than the model table says this model can run",
            ),
        ] {
            let s = Software::derive(Some(v(version)), None, Some(product), c, None);
            assert_eq!(s.majors_behind, None, "{version} on {product}");
            assert_eq!(s.update_available, None, "{version} on {product}");
            let reason = s.update_unknown_reason.unwrap();
            assert!(reason.contains(why), "{version} on {product}: {reason}");
            assert!(s.latest_ios.is_some(), "the model's newest is still known");
        }
    }

    #[test]
    fn the_table_is_stale_against_the_capture_day() {
        let c = Catalog::builtin();
        let day = |d: u64| Some(c.updated + chrono::Days::new(d));
        let s = Software::derive(Some(v("15.0")), None, Some("iPhone8,1"), c, day(365));
        assert_eq!(s.model_table_stale, Some(false));
        let s = Software::derive(Some(v("15.0")), None, Some("iPhone8,1"), c, day(366));
        assert_eq!(s.model_table_stale, Some(true));
    }
}
