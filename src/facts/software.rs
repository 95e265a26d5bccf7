//! iOS version facts and whether the model can run a newer one.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

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
    /// model (iOS 18 → 26 is one release, not eight).
    pub majors_behind: Option<u32>,
}

impl Software {
    pub fn derive(
        ios_version: Option<IosVersion>,
        build: Option<String>,
        product_type: Option<&str>,
        catalog: &Catalog,
    ) -> Self {
        let latest = product_type
            .and_then(|p| catalog.model(p))
            .and_then(|m| catalog.latest_for(m));
        let (update_available, majors_behind) = match (ios_version, latest) {
            (Some(have), Some(l)) => (
                Some(have < l.latest),
                Some(catalog.majors_between(have.major, l.major)),
            ),
            _ => (None, None),
        };
        Software {
            ios_version,
            build,
            latest_ios: latest.map(|l| l.latest),
            latest_build: latest.and_then(|l| l.build.clone()),
            update_available,
            majors_behind,
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
        let s = Software::derive(Some(v("15.0")), None, Some("iPhone8,1"), c);
        assert_eq!(s.latest_ios.unwrap().major, 15);
        assert_eq!(s.update_available, Some(true));
        assert_eq!(s.majors_behind, Some(0));
        let newest = c.latest_for(c.model("iPhone8,1").unwrap()).unwrap().latest;
        let s = Software::derive(Some(newest), None, Some("iPhone8,1"), c);
        assert_eq!(s.update_available, Some(false));
        let s = Software::derive(Some(v("17.0")), None, Some("iPhone9,9"), c);
        assert_eq!(s.update_available, None);
    }
}
