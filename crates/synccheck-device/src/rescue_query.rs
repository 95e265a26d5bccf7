//! Which originals `synccheck rescue` copies: one query over Photos.sqlite read in place over
//! AFC, opened and guarded exactly as the scan's summary is
//! ([`crate::photos_query::query_in_place`], run by `rescue::list_assets`).
//!
//! This is the one query that selects file names. They go to the caller (the copy loop and the
//! manifest) and nowhere else: never into a log above debug level, a report or the history.
//!
//! Column facts (docs/device-facts.md, "Rescue"; iLEAPP `Ph001BasicAssetData.py`,
//! `Ph003...`; the summary's own notes in `photos_query.rs`):
//! - the main library is chosen exactly as the summary chooses it (`ZBUNDLESCOPE` 0 on iOS 15
//!   and later, else `ZSAVEDASSETTYPE` not 4 or 8), not in the trash (`ZTRASHEDSTATE` 0);
//!   not in the Shared Library (`ZLIBRARYSCOPESHARESTATE` 0, iOS 16 and later); hidden assets
//!   (`ZHIDDEN` 1) are the user's own and are included;
//! - not yet uploaded: `ZCLOUDLOCALSTATE` 0;
//! - where: `ZDIRECTORY` (e.g. `DCIM/100APPLE`, relative to the AFC root `/var/mobile/Media`)
//!   and `ZFILENAME`;
//! - a Live Photo is `ZKINDSUBTYPE` 2; its video is beside the still, same base name, `.MOV`;
//! - date: `ZDATECREATED`, else `ZADDEDDATE`; size: `ZADDITIONALASSETATTRIBUTES.ZORIGINALFILESIZE`.

use std::collections::HashSet;
use std::time::SystemTime;

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::photos_query::{
    columns, from_core_data, main_library_conditions, missing_columns, table_names, LibraryError,
    ASSET_TABLES,
};

/// Which assets to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The main library's assets not yet uploaded to iCloud (`ZCLOUDLOCALSTATE` 0).
    NotUploaded,
    /// Every asset of the main library (`--all`, for a phone with iCloud Photos off).
    All,
}

/// The longest directory or file name taken from the library: PATH_MAX on iOS. Longer is no
/// file a phone has, and is left out as "no place".
const MAX_PATH_TEXT: i64 = 1024;

/// The most assets one listing holds: far above any real library (the largest seen hold a few
/// hundred thousand), and a bound on the memory a crafted one can take.
pub const MAX_ASSETS: usize = 2_000_000;

/// `ZKINDSUBTYPE` of a Live Photo.
const LIVE_PHOTO: i64 = 2;

/// One asset to rescue, as the library describes it. The names are the phone's text.
#[derive(Debug, Clone, PartialEq)]
pub struct RescueAsset {
    /// `ZDIRECTORY`, relative to the AFC root (`DCIM/100APPLE`).
    pub directory: String,
    /// `ZFILENAME` (`IMG_0001.HEIC`).
    pub file_name: String,
    /// When it was taken (`ZDATECREATED`), else when it was added.
    pub date: Option<SystemTime>,
    /// `ZORIGINALFILESIZE`, what the library says; the phone's stat decides.
    pub size: Option<u64>,
    pub live_photo: bool,
    pub hidden: bool,
}

/// What the listing found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RescueList {
    pub assets: Vec<RescueAsset>,
    /// Selected assets the library gives no usable place for (no directory or name, or one
    /// that is not text or absurdly long): they cannot be copied, and are reported.
    pub unplaced: u64,
    /// Every asset of the main library (not trashed), for "iCloud Photos is off" messages.
    pub main_library: u64,
}

/// The listing over an open library.
pub fn list(conn: &Connection, selection: Selection) -> Result<RescueList, LibraryError> {
    let tables = table_names(conn)?;
    let table = ASSET_TABLES
        .into_iter()
        .find(|t| tables.contains(*t))
        .ok_or_else(|| LibraryError::NotRecognised {
            table: None,
            missing: vec![ASSET_TABLES.join(" or ")],
        })?;
    let asset = columns(conn, table)?;
    let mut missing = missing_columns(table, &asset);
    for c in ["ZDIRECTORY", "ZFILENAME"] {
        if !asset.contains(c) {
            missing.push(format!("{table}.{c}"));
        }
    }
    if !missing.is_empty() {
        return Err(LibraryError::NotRecognised {
            table: Some(table.to_string()),
            missing,
        });
    }
    let attrs = if tables.contains("ZADDITIONALASSETATTRIBUTES") {
        columns(conn, "ZADDITIONALASSETATTRIBUTES")?
    } else {
        HashSet::new()
    };

    // The main library, as the summary counts it.
    let mut filter = main_library_conditions(&asset);
    // iOS 16 and later: an asset in the iCloud Shared Photo Library has a non-zero share state
    // (osxphotos, iLEAPP Ph100): it belongs to the shared library, which rescue leaves out.
    if asset.contains("ZLIBRARYSCOPESHARESTATE") {
        filter.push("IFNULL(a.ZLIBRARYSCOPESHARESTATE, 0) = 0");
    }
    let main_library: i64 = conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM {table} a WHERE {}",
            filter.join(" AND ")
        ),
        [],
        |r| r.get(0),
    )?;
    if selection == Selection::NotUploaded {
        filter.push("a.ZCLOUDLOCALSTATE = 0");
    }

    let column_or_null = |c: &str| {
        if asset.contains(c) {
            format!("a.{c}")
        } else {
            "NULL".to_string()
        }
    };
    let size = if attrs.contains("ZORIGINALFILESIZE")
        && attrs.contains("Z_PK")
        && asset.contains("ZADDITIONALATTRIBUTES")
    {
        "(SELECT aa.ZORIGINALFILESIZE FROM ZADDITIONALASSETATTRIBUTES aa \
          WHERE aa.Z_PK = a.ZADDITIONALATTRIBUTES)"
    } else if attrs.contains("ZORIGINALFILESIZE") && attrs.contains("ZASSET") {
        "(SELECT aa.ZORIGINALFILESIZE FROM ZADDITIONALASSETATTRIBUTES aa \
          WHERE aa.ZASSET = a.Z_PK LIMIT 1)"
    } else {
        "NULL"
    };
    // A name longer than any path is not fetched at all: its length is checked in SQL.
    let text = |c: &str| {
        format!(
            "CASE WHEN typeof(a.{c}) = 'text' AND length(a.{c}) <= {MAX_PATH_TEXT} THEN a.{c} END"
        )
    };
    let sql = format!(
        "SELECT {}, {}, {}, {}, {size}, {}, {} FROM {table} a WHERE {} ORDER BY a.Z_PK",
        text("ZDIRECTORY"),
        text("ZFILENAME"),
        column_or_null("ZDATECREATED"),
        column_or_null("ZADDEDDATE"),
        column_or_null("ZKINDSUBTYPE"),
        column_or_null("ZHIDDEN"),
        filter.join(" AND "),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = RescueList {
        main_library: u64::try_from(main_library).unwrap_or(0),
        ..RescueList::default()
    };
    while let Some(row) = rows.next()? {
        let get = |i| row.get::<_, Value>(i);
        let (directory, file_name) = match (get(0)?, get(1)?) {
            (Value::Text(d), Value::Text(f)) if !f.is_empty() => (d, f),
            _ => {
                out.unplaced += 1;
                continue;
            }
        };
        if out.assets.len() >= MAX_ASSETS {
            return Err(LibraryError::TooComplex(format!(
                "more than {MAX_ASSETS} assets to rescue"
            )));
        }
        let date = date(get(2)?).or(date(get(3)?));
        let size = match get(4)? {
            Value::Integer(n) => u64::try_from(n).ok(),
            _ => None,
        };
        out.assets.push(RescueAsset {
            directory,
            file_name,
            date,
            size,
            live_photo: matches!(get(5)?, Value::Integer(LIVE_PHOTO)),
            hidden: matches!(get(6)?, Value::Integer(1)),
        });
    }
    Ok(out)
}

fn date(v: Value) -> Option<SystemTime> {
    match v {
        Value::Real(f) => from_core_data(f),
        Value::Integer(i) => from_core_data(i as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(sql: &str) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(sql).unwrap();
        conn
    }

    const IOS17: &str = "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZCLOUDLOCALSTATE INTEGER, \
        ZTRASHEDSTATE INTEGER, ZBUNDLESCOPE INTEGER, ZSAVEDASSETTYPE INTEGER, ZKINDSUBTYPE INTEGER, \
        ZHIDDEN INTEGER, ZDIRECTORY VARCHAR, ZFILENAME VARCHAR, ZDATECREATED TIMESTAMP, \
        ZADDEDDATE TIMESTAMP, ZADDITIONALATTRIBUTES INTEGER); \
        CREATE TABLE ZADDITIONALASSETATTRIBUTES (Z_PK INTEGER PRIMARY KEY, ZASSET INTEGER, \
        ZORIGINALFILESIZE INTEGER);";

    fn row(pk: i64, state: i64, trashed: i64, scope: i64, extra: &str) -> String {
        format!(
            "INSERT INTO ZASSET VALUES ({pk}, {state}, {trashed}, {scope}, 3, {extra}, \
             'DCIM/100APPLE', 'IMG_{pk:04}.HEIC', 700000000.0, 700000100.0, {pk}); \
             INSERT INTO ZADDITIONALASSETATTRIBUTES VALUES ({pk}, {pk}, {});",
            pk * 1000
        )
    }

    #[test]
    fn lists_the_main_library_not_uploaded_hidden_included() {
        let sql = [
            IOS17.to_string(),
            row(1, 0, 0, 0, "0, 0"), // waiting
            row(2, 1, 0, 0, "0, 0"), // uploaded
            row(3, 0, 1, 0, "0, 0"), // waiting, trashed
            row(4, 0, 0, 2, "0, 0"), // shared album
            row(5, 0, 0, 3, "0, 0"), // Shared with You
            row(6, 0, 0, 0, "2, 1"), // waiting, hidden Live Photo
            row(7, 0, 0, 1, "0, 0"), // iCloud link
        ]
        .join("\n");
        let conn = library(&sql);
        let got = list(&conn, Selection::NotUploaded).unwrap();
        let names: Vec<_> = got.assets.iter().map(|a| a.file_name.as_str()).collect();
        assert_eq!(names, ["IMG_0001.HEIC", "IMG_0006.HEIC"]);
        assert_eq!(got.main_library, 3);
        assert!(got.assets[1].live_photo && got.assets[1].hidden);
        assert_eq!(got.assets[0].size, Some(1000));
        assert_eq!(got.assets[0].directory, "DCIM/100APPLE");
        assert_eq!(got.assets[0].date, from_core_data(700000000.0));
        let all = list(&conn, Selection::All).unwrap();
        assert_eq!(all.assets.len(), 3);
    }

    #[test]
    fn a_row_without_a_usable_place_is_counted_not_guessed() {
        let sql = format!(
            "{IOS17} INSERT INTO ZASSET (Z_PK, ZCLOUDLOCALSTATE, ZTRASHEDSTATE, ZBUNDLESCOPE, ZDIRECTORY, ZFILENAME) \
             VALUES (1, 0, 0, 0, NULL, 'x.HEIC'), (2, 0, 0, 0, 'DCIM', X'4142'), (3, 0, 0, 0, 'DCIM', '{}');",
            "a".repeat(2000)
        );
        let got = list(&library(&sql), Selection::NotUploaded).unwrap();
        assert!(got.assets.is_empty());
        assert_eq!(got.unplaced, 3);
    }

    #[test]
    fn a_library_without_file_places_is_not_recognised() {
        let conn = library(
            "CREATE TABLE ZASSET (Z_PK INTEGER PRIMARY KEY, ZCLOUDLOCALSTATE INTEGER, \
             ZTRASHEDSTATE INTEGER, ZBUNDLESCOPE INTEGER);",
        );
        match list(&conn, Selection::NotUploaded) {
            Err(LibraryError::NotRecognised { missing, .. }) => {
                assert_eq!(missing, ["ZASSET.ZDIRECTORY", "ZASSET.ZFILENAME"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_shared_library_is_left_out() {
        let conn = library(&format!(
            "{IOS17} {} {} ALTER TABLE ZASSET ADD COLUMN ZLIBRARYSCOPESHARESTATE INTEGER; \
             UPDATE ZASSET SET ZLIBRARYSCOPESHARESTATE = 65536 WHERE Z_PK = 2;",
            row(1, 0, 0, 0, "0, 0"),
            row(2, 0, 0, 0, "0, 0")
        ));
        let got = list(&conn, Selection::NotUploaded).unwrap();
        assert_eq!(got.assets.len(), 1);
        assert_eq!(got.assets[0].file_name, "IMG_0001.HEIC");
    }

    #[test]
    fn ios_14_and_older_use_the_saved_asset_type() {
        let conn = library(
            "CREATE TABLE ZGENERICASSET (Z_PK INTEGER PRIMARY KEY, ZCLOUDLOCALSTATE INTEGER, \
             ZTRASHEDSTATE INTEGER, ZSAVEDASSETTYPE INTEGER, ZDIRECTORY VARCHAR, ZFILENAME VARCHAR); \
             INSERT INTO ZGENERICASSET VALUES (1, 0, 0, 3, 'DCIM/100APPLE', 'IMG_0001.JPG'), \
             (2, 0, 0, 4, 'DCIM/100APPLE', 'IMG_0002.JPG'), (3, 0, 0, 8, 'DCIM/100APPLE', 'IMG_0003.JPG');",
        );
        let got = list(&conn, Selection::NotUploaded).unwrap();
        assert_eq!(got.assets.len(), 1);
        assert_eq!(got.assets[0].size, None);
        assert!(!got.assets[0].live_photo);
    }
}
