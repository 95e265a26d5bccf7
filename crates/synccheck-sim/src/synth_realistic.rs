//! Synthetic libraries at realistic scale (`synccheck sim --library-profile realistic`): the
//! library [`crate::synth::build`] makes, with the tables a real `Photos.sqlite` spends most
//! of its bytes on written around every asset of the main file, as Core Data's saves
//! interleave them: extended (EXIF) attributes, computed and media-analysis attributes, 27
//! scene classifications, a scene print, detected faces and their face prints, moments,
//! albums and their members, people. A 100,000-asset library comes to about 0.7 GB, most of it
//! tables the sync summary never reads. Sources and proportions: docs/simulator.md
//! ("Realistic libraries").
//!
//! The newest assets, the ones only in the `-wal`, get no analysis rows: on a phone, Photos
//! analyses new pictures later, while the phone is locked and charging.
//!
//! The blobs (scene and face prints) are one repeating pattern, so the SQLite pages that hold
//! nothing but blob bytes repeat, and [`crate::paged::PagedFile`] keeps each distinct one once:
//! the simulator serves the 0.7 GB file while holding a fraction of it.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::paged::PagedFile;
use super::synth::{Rng, SynthError};

/// How large a library the simulator makes from a snapshot's database summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LibraryProfile {
    /// Only the tables the summary reads: about 350 bytes an asset, quick to build (the
    /// fixtures and most tests).
    #[default]
    Compact,
    /// The tables and proportions of a real library: about 7 KB an asset.
    Realistic,
}

impl std::str::FromStr for LibraryProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "compact" => Ok(LibraryProfile::Compact),
            "realistic" => Ok(LibraryProfile::Realistic),
            other => Err(format!(
                "unknown library profile `{other}`; expected compact or realistic"
            )),
        }
    }
}

/// A realistic library: its main file as deduplicated pages, and its `-wal`.
#[derive(Debug)]
pub struct LazyLibrary {
    pub main: PagedFile,
    pub wal: Vec<u8>,
}

/// Scene classifications per asset: 180,674 for 6,693 assets in one library's Z_PRIMARYKEY.
pub const SCENES_PER_ASSET: u64 = 27;
/// Detected faces (each with a face print) per asset, in turn: 0.75 a picture on average.
const FACES: [u64; 8] = [0, 1, 0, 2, 0, 1, 0, 2];
/// A scene print's archived bytes: more than a 4 KiB page holds, so most of it sits on an
/// overflow page of its own, which the simulator keeps once for all assets.
pub const SCENEPRINT_BYTES: usize = 4_600;
/// A face print's archived bytes.
pub const FACEPRINT_BYTES: usize = 900;
/// One moment (a place and time the Photos app groups) per this many assets: 704 for 6,693.
const ASSETS_PER_MOMENT: i64 = 10;
/// One album per this many assets; every third asset is in one.
const ASSETS_PER_ALBUM: i64 = 50;
/// One person (a named or unnamed face group) per this many assets.
const ASSETS_PER_PERSON: i64 = 20;

/// The tables a real library has beyond the ones the summary reads: (name, columns). Column
/// names are real ones (iOS 16–17 libraries as iLEAPP and osxphotos read them); types as Core
/// Data declares them.
pub(crate) const TABLES: &[(&str, &str)] = &[
    (
        "ZEXTENDEDATTRIBUTES",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFLASHFIRED INTEGER, \
         ZISO INTEGER, ZMETERINGMODE INTEGER, ZWHITEBALANCE INTEGER, ZASSET INTEGER, \
         ZAPERTURE FLOAT, ZBRIGHTNESSVALUE FLOAT, ZEXPOSUREBIAS FLOAT, ZFOCALLENGTH FLOAT, \
         ZLATITUDE FLOAT, ZLONGITUDE FLOAT, ZSHUTTERSPEED FLOAT, ZCAMERAMAKE VARCHAR, \
         ZCAMERAMODEL VARCHAR, ZCODEC VARCHAR, ZLENSMODEL VARCHAR, ZTIMEZONENAME VARCHAR",
    ),
    (
        "ZCOMPUTEDASSETATTRIBUTES",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZASSET INTEGER, \
         ZBEHAVIORALSCORE FLOAT, ZFAILURESCORE FLOAT, ZHARMONIOUSCOLORSCORE FLOAT, \
         ZIMMERSIVENESSSCORE FLOAT, ZINTERACTIONSCORE FLOAT, ZINTERESTINGSUBJECTSCORE FLOAT, \
         ZINTRUSIVEOBJECTPRESENCESCORE FLOAT, ZLIVELYCOLORSCORE FLOAT, ZLOWLIGHT FLOAT, \
         ZNOISESCORE FLOAT, ZPLEASANTCAMERATILTSCORE FLOAT, ZPLEASANTCOMPOSITIONSCORE FLOAT, \
         ZPLEASANTLIGHTINGSCORE FLOAT, ZPLEASANTPATTERNSCORE FLOAT, \
         ZPLEASANTPERSPECTIVESCORE FLOAT, ZPLEASANTPOSTPROCESSINGSCORE FLOAT, \
         ZPLEASANTREFLECTIONSSCORE FLOAT, ZPLEASANTSYMMETRYSCORE FLOAT, \
         ZSHARPLYFOCUSEDSUBJECTSCORE FLOAT, ZTASTEFULLYBLURREDSCORE FLOAT, \
         ZWELLCHOSENSUBJECTSCORE FLOAT, ZWELLFRAMEDSUBJECTSCORE FLOAT, \
         ZWELLTIMEDSHOTSCORE FLOAT",
    ),
    (
        "ZMEDIAANALYSISASSETATTRIBUTES",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZMEDIAANALYSISVERSION INTEGER, \
         ZASSET INTEGER, ZACTIVITYSCORE FLOAT, ZAUTOPLAYSUGGESTIONSCORE FLOAT, \
         ZBLURRINESSSCORE FLOAT, ZEXPOSURESCORE FLOAT, ZMEDIAANALYSISTIMESTAMP TIMESTAMP, \
         ZCHARACTERRECOGNITIONATTRIBUTES INTEGER, ZVISUALSEARCHATTRIBUTES INTEGER",
    ),
    (
        "ZSCENEPRINT",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, \
         ZMEDIAANALYSISASSETATTRIBUTES INTEGER, ZDATA BLOB",
    ),
    (
        "ZSCENECLASSIFICATION",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZSCENEIDENTIFIER INTEGER, \
         ZASSETATTRIBUTES INTEGER, ZCONFIDENCE FLOAT, ZPACKEDBOUNDINGBOXRECT INTEGER",
    ),
    (
        "ZDETECTEDFACE",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZAGETYPE INTEGER, \
         ZGENDERTYPE INTEGER, ZHASSMILE INTEGER, ZISLEFTEYECLOSED INTEGER, \
         ZISRIGHTEYECLOSED INTEGER, ZASSETFORFACE INTEGER, ZPERSONFORFACE INTEGER, \
         ZFACEPRINT INTEGER, ZBLURSCORE FLOAT, ZCENTERX FLOAT, ZCENTERY FLOAT, \
         ZQUALITY FLOAT, ZROLL FLOAT, ZSIZE FLOAT, ZYAW FLOAT, ZUUID VARCHAR",
    ),
    (
        "ZDETECTEDFACEPRINT",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFACEPRINTVERSION INTEGER, \
         ZFACE INTEGER, ZDATA BLOB",
    ),
    (
        "ZPERSON",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFACECOUNT INTEGER, \
         ZTYPE INTEGER, ZDISPLAYNAME VARCHAR, ZFULLNAME VARCHAR, ZPERSONUUID VARCHAR",
    ),
    (
        "ZMOMENT",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZCACHEDCOUNT INTEGER, \
         ZAPPROXIMATELATITUDE FLOAT, ZAPPROXIMATELONGITUDE FLOAT, ZSTARTDATE TIMESTAMP, \
         ZENDDATE TIMESTAMP, ZTITLE VARCHAR, ZSUBTITLE VARCHAR, ZUUID VARCHAR",
    ),
    (
        "ZGENERICALBUM",
        "Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZKIND INTEGER, \
         ZCACHEDCOUNT INTEGER, ZCREATIONDATE TIMESTAMP, ZTITLE VARCHAR, ZUUID VARCHAR",
    ),
    (
        "Z_28ASSETS",
        "Z_28ALBUMS INTEGER, Z_3ASSETS INTEGER, Z_FOK_3ASSETS INTEGER, \
         PRIMARY KEY (Z_28ALBUMS, Z_3ASSETS)",
    ),
];

/// Columns a real asset table has beyond the ones synth writes (a real ZASSET has over a
/// hundred): filled by [`Analysis::asset_details`] so that asset rows weigh what real ones do.
/// (`ZHIDDEN` is not among them: synth writes it, with meaning, for `synccheck rescue`.)
const ASSET_DETAILS: &[(&str, &str)] = &[
    ("ZAVALANCHEPICKTYPE", "INTEGER"),
    ("ZCLOUDHASCOMMENTSBYME", "INTEGER"),
    ("ZCLOUDPLACEHOLDERKIND", "INTEGER"),
    ("ZDEFERREDPROCESSINGNEEDED", "INTEGER"),
    ("ZDEPTHTYPE", "INTEGER"),
    ("ZFAVORITE", "INTEGER"),
    ("ZHASADJUSTMENTS", "INTEGER"),
    ("ZHDRTYPE", "INTEGER"),
    ("ZORIENTATION", "INTEGER"),
    ("ZPLAYBACKSTYLE", "INTEGER"),
    ("ZSAVEDASSETTYPE2", "INTEGER"),
    ("ZTHUMBNAILINDEX", "INTEGER"),
    ("ZMOMENT", "INTEGER"),
    ("ZCURATIONSCORE", "FLOAT"),
    ("ZDURATION", "FLOAT"),
    ("ZHDRGAIN", "FLOAT"),
    ("ZICONICSCORE", "FLOAT"),
    ("ZLATITUDE", "FLOAT"),
    ("ZLONGITUDE", "FLOAT"),
    ("ZOVERALLAESTHETICSCORE", "FLOAT"),
    ("ZPROMOTIONSCORE", "FLOAT"),
    ("ZSORTTOKEN", "FLOAT"),
    ("ZCLOUDBATCHPUBLISHDATE", "TIMESTAMP"),
    ("ZCLOUDSERVERPUBLISHDATE", "TIMESTAMP"),
    ("ZLASTSHAREDDATE", "TIMESTAMP"),
    ("ZANALYSISSTATEMODIFICATIONDATE", "TIMESTAMP"),
    ("ZAVALANCHEUUID", "VARCHAR"),
    ("ZMEDIAGROUPUUID", "VARCHAR"),
    ("ZORIGINALCOLORSPACE", "VARCHAR"),
    ("ZUNIFORMTYPEIDENTIFIER", "VARCHAR"),
    ("ZCLOUDCOLLECTIONGUID", "VARCHAR"),
];

/// The to-one indexes Core Data makes for those tables' relationships.
const INDEXES: &[(&str, &str)] = &[
    ("ZEXTENDEDATTRIBUTES", "ZASSET"),
    ("ZCOMPUTEDASSETATTRIBUTES", "ZASSET"),
    ("ZMEDIAANALYSISASSETATTRIBUTES", "ZASSET"),
    ("ZSCENEPRINT", "ZMEDIAANALYSISASSETATTRIBUTES"),
    ("ZSCENECLASSIFICATION", "ZASSETATTRIBUTES"),
    ("ZDETECTEDFACE", "ZASSETFORFACE"),
    ("ZDETECTEDFACE", "ZPERSONFORFACE"),
    ("ZDETECTEDFACEPRINT", "ZFACE"),
    ("Z_28ASSETS", "Z_3ASSETS"),
];

/// Entity numbers for the new tables in Z_PRIMARYKEY, after the ones synth uses.
const ENTITIES: &[(i64, &str, &str)] = &[
    (20, "ExtendedAttributes", "ZEXTENDEDATTRIBUTES"),
    (14, "ComputedAssetAttributes", "ZCOMPUTEDASSETATTRIBUTES"),
    (
        38,
        "MediaAnalysisAssetAttributes",
        "ZMEDIAANALYSISASSETATTRIBUTES",
    ),
    (50, "Sceneprint", "ZSCENEPRINT"),
    (49, "SceneClassification", "ZSCENECLASSIFICATION"),
    (17, "DetectedFace", "ZDETECTEDFACE"),
    (18, "DetectedFaceprint", "ZDETECTEDFACEPRINT"),
    (46, "Person", "ZPERSON"),
    (42, "Moment", "ZMOMENT"),
    (25, "GenericAlbum", "ZGENERICALBUM"),
];

fn insert_sql(table: &str, columns: &str) -> String {
    let names: Vec<&str> = columns
        .split(',')
        .map(|c| c.split_whitespace().next().unwrap_or(""))
        .filter(|c| {
            c.starts_with('Z') && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    )
}

/// The blob pattern: one page's worth of bytes that look like archived floats, repeated.
fn pattern() -> Vec<u8> {
    let mut rng = Rng(0x5ce9_e9a1_0000_0001);
    (0..super::paged::PAGE - 4)
        .map(|_| rng.below(256) as u8)
        .collect()
}

/// Writes the analysis rows of each asset, as the assets are written.
pub(crate) struct Analysis {
    /// The statement that fills the asset table's details (ZASSET or ZGENERICASSET).
    update_asset: String,
    blob: Vec<u8>,
    rng: Rng,
    inserts: Vec<String>,
    next: std::collections::HashMap<&'static str, i64>,
}

impl Analysis {
    pub fn new() -> Analysis {
        let pattern = pattern();
        let blob = pattern
            .iter()
            .copied()
            .cycle()
            .take(SCENEPRINT_BYTES.max(FACEPRINT_BYTES))
            .collect();
        Analysis {
            update_asset: String::new(),
            blob,
            rng: Rng(0xa11_a1ce_0000_0002),
            inserts: TABLES.iter().map(|(t, c)| insert_sql(t, c)).collect(),
            next: Default::default(),
        }
    }

    pub fn create(&mut self, conn: &Connection, asset_table: &str) -> Result<(), SynthError> {
        self.update_asset = format!(
            "UPDATE {asset_table} SET {} WHERE Z_PK = ?",
            ASSET_DETAILS
                .iter()
                .map(|(c, _)| format!("{c} = ?"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut sql = String::new();
        for (column, kind) in ASSET_DETAILS {
            sql.push_str(&format!(
                "ALTER TABLE {asset_table} ADD COLUMN {column} {kind};\n"
            ));
        }
        for (table, columns) in TABLES {
            sql.push_str(&format!("CREATE TABLE {table} ( {columns} );\n"));
        }
        for (table, column) in INDEXES {
            sql.push_str(&format!(
                "CREATE INDEX {table}_{column}_INDEX ON {table} ({column});\n"
            ));
        }
        for (ent, name, _) in ENTITIES {
            sql.push_str(&format!(
                "INSERT INTO Z_PRIMARYKEY VALUES ({ent}, '{name}', 0, 0);\n"
            ));
        }
        conn.execute_batch(&sql)?;
        Ok(())
    }

    fn pk(&mut self, table: &'static str) -> i64 {
        let n = self.next.entry(table).or_insert(0);
        *n += 1;
        *n
    }

    fn insert(&self, conn: &Connection, table: &str, values: Vec<Value>) -> Result<(), SynthError> {
        let i = TABLES
            .iter()
            .position(|(t, _)| *t == table)
            .expect("a table of TABLES");
        conn.prepare_cached(&self.inserts[i])?
            .execute(params_from_iter(values))?;
        Ok(())
    }

    fn unit(&mut self) -> Value {
        Value::Real(self.rng.below(1_000_000) as f64 / 1_000_000.0)
    }

    /// Fills the columns of [`ASSET_DETAILS`] of asset `asset`, added at `added`.
    pub fn asset_details(
        &mut self,
        conn: &Connection,
        asset: i64,
        added: Option<f64>,
    ) -> Result<(), SynthError> {
        use Value::{Integer as I, Null, Real as R, Text as T};
        let when = added.map_or(Null, R);
        let uuid = |rng: &mut Rng| {
            T(format!(
                "{:08X}-{:04X}-4{:03X}-9{:03X}-{:012X}",
                rng.below(1 << 32),
                rng.below(0x10000),
                rng.below(0x1000),
                rng.below(0x1000),
                rng.below(1 << 48)
            ))
        };
        let mut values = vec![
            I(0),
            I(0),
            I(0),
            I(0),
            I(asset % 3),
            I(i64::from(asset % 17 == 0)),
            I(i64::from(asset % 9 == 0)),
            I(asset % 4),
            I(1 + asset % 8),
            I(1),
            I(0),
            I(asset),
            I(1 + asset / ASSETS_PER_MOMENT),
        ];
        for _ in 0..9 {
            values.push(self.unit());
        }
        values.extend([when.clone(), when.clone(), Null, when]);
        values.push(uuid(&mut self.rng));
        values.push(uuid(&mut self.rng));
        values.push(T("Display P3".into()));
        values.push(T(if asset % 10 == 0 {
            "com.apple.quicktime-movie".into()
        } else {
            "public.heic".into()
        }));
        values.push(uuid(&mut self.rng));
        values.push(I(asset));
        conn.prepare_cached(&self.update_asset)?
            .execute(params_from_iter(values))?;
        Ok(())
    }

    /// The analysis rows of asset `asset`, added at `added` (Core Data seconds).
    pub fn write(
        &mut self,
        conn: &Connection,
        asset: i64,
        added: Option<f64>,
    ) -> Result<(), SynthError> {
        use Value::{Integer as I, Null, Real as R, Text as T};
        let when = added.map_or(Null, R);

        let pk = self.pk("ZEXTENDEDATTRIBUTES");
        let row = vec![
            I(pk),
            I(20),
            I(1),
            I(0),
            I(32 + (asset % 8) * 50),
            I(5),
            I(0),
            I(asset),
            R(1.78),
            R(5.0 + (asset % 7) as f64),
            R(0.0),
            R(6.86),
            R(48.85 + self.rng.below(1000) as f64 / 10_000.0),
            R(2.35 + self.rng.below(1000) as f64 / 10_000.0),
            R(1.0 / 120.0),
            T("Apple".into()),
            T("iPhone 14 Pro".into()),
            T("hvc1".into()),
            T("iPhone 14 Pro back triple camera 6.86mm f/1.78".into()),
            T("Europe/Paris".into()),
        ];
        self.insert(conn, "ZEXTENDEDATTRIBUTES", row)?;

        let pk = self.pk("ZCOMPUTEDASSETATTRIBUTES");
        let mut row = vec![I(pk), I(14), I(1), I(asset)];
        for _ in 0..23 {
            row.push(self.unit());
        }
        self.insert(conn, "ZCOMPUTEDASSETATTRIBUTES", row)?;

        let media = self.pk("ZMEDIAANALYSISASSETATTRIBUTES");
        let row = vec![
            I(media),
            I(38),
            I(1),
            I(75),
            I(asset),
            self.unit(),
            self.unit(),
            self.unit(),
            self.unit(),
            added.map_or(Null, |t| R(t + 86_400.0)),
            Null,
            Null,
        ];
        self.insert(conn, "ZMEDIAANALYSISASSETATTRIBUTES", row)?;

        let pk = self.pk("ZSCENEPRINT");
        let row = vec![
            I(pk),
            I(50),
            I(1),
            I(media),
            Value::Blob(self.blob[..SCENEPRINT_BYTES].to_vec()),
        ];
        self.insert(conn, "ZSCENEPRINT", row)?;

        for k in 0..SCENES_PER_ASSET {
            let pk = self.pk("ZSCENECLASSIFICATION");
            let row = vec![
                I(pk),
                I(49),
                I(1),
                I((self.rng.below(1400) + k) as i64),
                I(media),
                self.unit(),
                I(self.rng.below(1 << 40) as i64),
            ];
            self.insert(conn, "ZSCENECLASSIFICATION", row)?;
        }

        let people = (asset / ASSETS_PER_PERSON).max(1);
        for _ in 0..FACES[(asset % FACES.len() as i64) as usize] {
            let face = self.pk("ZDETECTEDFACE");
            let print = self.pk("ZDETECTEDFACEPRINT");
            let person = 1 + self.rng.below(people as u64) as i64;
            let mut row = vec![
                I(face),
                I(17),
                I(1),
                I(3),
                I(1 + face % 2),
                I(face % 3 / 2),
                I(0),
                I(0),
                I(asset),
                I(person),
                I(print),
            ];
            for _ in 0..7 {
                row.push(self.unit());
            }
            row.push(T(format!(
                "{:08X}-{:04X}-4{:03X}-A{:03X}-{:012X}",
                face,
                self.rng.below(0x10000),
                self.rng.below(0x1000),
                self.rng.below(0x1000),
                self.rng.below(1 << 48)
            )));
            self.insert(conn, "ZDETECTEDFACE", row)?;
            let row = vec![
                I(print),
                I(18),
                I(1),
                I(6),
                I(face),
                Value::Blob(self.blob[..FACEPRINT_BYTES].to_vec()),
            ];
            self.insert(conn, "ZDETECTEDFACEPRINT", row)?;
        }

        if asset % ASSETS_PER_PERSON == 1 {
            let pk = self.pk("ZPERSON");
            let name = if pk % 4 == 1 {
                T(format!("Person {pk}"))
            } else {
                Null
            };
            let row = vec![
                I(pk),
                I(46),
                I(1),
                I(5 + pk % 40),
                I(0),
                name.clone(),
                name,
                T(format!("{pk:08X}-0000-4000-8000-000000000000")),
            ];
            self.insert(conn, "ZPERSON", row)?;
        }
        if asset % ASSETS_PER_MOMENT == 1 {
            let pk = self.pk("ZMOMENT");
            let row = vec![
                I(pk),
                I(42),
                I(1),
                I(ASSETS_PER_MOMENT),
                R(48.85),
                R(2.35),
                when.clone(),
                added.map_or(Null, |t| R(t + 3600.0)),
                T("Paris".into()),
                T("Île-de-France".into()),
                T(format!("{pk:08X}-1111-4000-8000-000000000000")),
            ];
            self.insert(conn, "ZMOMENT", row)?;
        }
        if asset % ASSETS_PER_ALBUM == 1 {
            let pk = self.pk("ZGENERICALBUM");
            let row = vec![
                I(pk),
                I(26),
                I(1),
                I(2),
                I(ASSETS_PER_ALBUM / 3),
                when,
                T(format!("Album {pk}")),
                T(format!("{pk:08X}-2222-4000-8000-000000000000")),
            ];
            self.insert(conn, "ZGENERICALBUM", row)?;
        }
        if asset % 3 == 0 {
            let album = (asset / ASSETS_PER_ALBUM).max(1);
            let row = vec![I(album), I(asset), I(asset * 1024)];
            self.insert(conn, "Z_28ASSETS", row)?;
        }
        Ok(())
    }

    /// Z_PRIMARYKEY's Z_MAX for the new entities.
    pub fn set_max(&self, conn: &Connection) -> Result<(), SynthError> {
        for (ent, _, table) in ENTITIES {
            let max = self.next.get(table).copied().unwrap_or(0);
            conn.execute(
                "UPDATE Z_PRIMARYKEY SET Z_MAX = ?1 WHERE Z_ENT = ?2",
                (max, ent),
            )?;
        }
        Ok(())
    }
}
