//! Where the history lives: a SQLite file, or a PostgreSQL server named by a URL.
//!
//! A value that looks like a URL (`scheme://`) is never taken for a file path: a PostgreSQL
//! URL is read as one, any other scheme is an error (a typo such as `postgress://` would
//! otherwise make folders named after it). Like libpq, what the URL leaves out is taken from
//! the standard PG* variables; tokio-postgres reads none of them itself.
//!
//! TLS: `sslmode=require` (or `verify-ca`, `verify-full`) connects over rustls and verifies the
//! server's certificate and name against the CA in `PGSSLROOTCERT` (else libpq's
//! `~/.postgresql/root.crt`), which must be there: stricter than libpq's `require`, which
//! accepts any certificate when it has no CA file. `disable`, `allow` and `prefer` (the
//! default) connect without TLS.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use postgres::config::{Host, SslMode};

use crate::HistoryError;

/// The most a CA certificate file may hold: a chain is a few kilobytes.
const ROOT_CERT_AT_MOST: u64 = 1 << 20;

/// How long connecting to a history server may take when neither the URL nor
/// `PGCONNECT_TIMEOUT` says: a bench must not hang on a server that is gone.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A history's place, as `--db` or `SYNCCHECK_DB` gave it.
#[derive(Debug, Clone)]
pub enum Target {
    File(PathBuf),
    Postgres(PgTarget),
}

/// A PostgreSQL server and database. Its `Debug` and [`PgTarget::describe`] never show the
/// password.
#[derive(Clone)]
pub struct PgTarget {
    /// Boxed: a client configuration is ten times a path's size.
    pub(crate) config: Box<postgres::Config>,
    /// With `sslmode=require`: the TLS client, trusting only the shop's CA.
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgTarget({})", self.describe())
    }
}

/// The environment a URL is completed from: the process's, or a test's.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Target {
    /// Reads `--db`: a PostgreSQL URL, completed from the process's PG* variables, or a path.
    pub fn parse(given: &std::ffi::OsStr) -> Result<Target, HistoryError> {
        Self::parse_with(given, &|name| std::env::var(name).ok())
    }

    /// [`Target::parse`] with the environment given.
    pub fn parse_with(given: &std::ffi::OsStr, env: Env<'_>) -> Result<Target, HistoryError> {
        let Some(text) = given.to_str() else {
            return Ok(Target::File(PathBuf::from(given)));
        };
        match url_scheme(text) {
            None => Ok(Target::File(PathBuf::from(given))),
            Some(scheme) if scheme == "postgres" || scheme == "postgresql" => {
                // tokio-postgres only knows the scheme in lower case.
                let url = format!("{scheme}{}", &text[scheme.len()..]);
                PgTarget::from_url(&url, env).map(Target::Postgres)
            }
            Some(scheme) => Err(HistoryError::BadUrl(format!(
                "it is a {scheme}:// address; the history is a file path or a postgres:// URL"
            ))),
        }
    }

    /// Where it is, for messages: the path, or the server without the password.
    pub fn describe(&self) -> String {
        match self {
            Target::File(path) => path.display().to_string(),
            Target::Postgres(pg) => pg.describe(),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            Target::File(path) => Some(path),
            Target::Postgres(_) => None,
        }
    }
}

/// `scheme` of `scheme://...` (lowercased), when the value is shaped like a URL.
fn url_scheme(text: &str) -> Option<String> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let is_scheme = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| scheme.to_ascii_lowercase())
}

impl PgTarget {
    fn from_url(url: &str, env: Env<'_>) -> Result<PgTarget, HistoryError> {
        // tokio-postgres's parse errors name the option, never echo the value (a password).
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            HistoryError::BadUrl(format!(
                "it is not a valid PostgreSQL URL ({})",
                crate::pg::why(&e)
            ))
        })?;
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let in_url = |key: &str| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(key))
        };
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            match var("PGHOST") {
                Some(hosts) => {
                    for host in hosts.split(',') {
                        config.host(host.trim());
                    }
                }
                None => {
                    config.host("localhost");
                }
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = var("PGPORT") {
                let port = port
                    .trim()
                    .parse::<u16>()
                    .map_err(|_| HistoryError::BadUrl("PGPORT is not a port number".to_string()))?;
                config.port(port);
            }
        }
        if config.get_user().is_none() {
            if let Some(user) = var("PGUSER") {
                config.user(&user);
            }
        }
        if config.get_password().is_none() {
            if let Some(password) = var("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_dbname().is_none() {
            if let Some(db) = var("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if !in_url("sslmode") {
            if let Some(mode) = var("PGSSLMODE") {
                config.ssl_mode(match mode.trim() {
                    "disable" | "allow" | "prefer" => SslMode::Disable,
                    "require" | "verify-ca" | "verify-full" => SslMode::Require,
                    _ => {
                        return Err(HistoryError::BadUrl(
                            "PGSSLMODE is not one of disable, allow, prefer, require, verify-ca, verify-full"
                                .to_string(),
                        ))
                    }
                });
            }
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Require => Some(std::sync::Arc::new(tls_client(env)?)),
            // `prefer` would try TLS and accept any certificate: plain, said in the docs.
            _ => {
                config.ssl_mode(SslMode::Disable);
                None
            }
        };
        if config.get_connect_timeout().is_none() {
            let timeout = var("PGCONNECT_TIMEOUT")
                .and_then(|t| t.trim().parse::<u64>().ok())
                .filter(|t| *t > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
            config.connect_timeout(timeout);
        }
        // A server that vanishes without closing the connection (a cable, a sleeping router)
        // is noticed instead of waited on forever.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("synccheck");
        Ok(PgTarget {
            config: Box::new(config),
            tls,
        })
    }

    /// `postgres://user@host:port/db`, without the password: what messages and logs show.
    pub fn describe(&self) -> String {
        let c = &self.config;
        let host = c
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(",");
        let port = c
            .get_ports()
            .first()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
        let db = c.get_dbname().unwrap_or("");
        format!("postgres://{user}{host}{port}/{db}")
    }
}

/// The TLS client for `sslmode=require`: trusting the CA certificates (PEM) of
/// `PGSSLROOTCERT`, else of libpq's `~/.postgresql/root.crt`.
fn tls_client(env: Env<'_>) -> Result<rustls::ClientConfig, HistoryError> {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    let path = match var("PGSSLROOTCERT") {
        Some(path) => PathBuf::from(path),
        None => {
            let libpq_default =
                var("HOME").map(|home| Path::new(&home).join(".postgresql/root.crt"));
            match libpq_default.filter(|p| p.is_file()) {
                Some(path) => path,
                None => return Err(HistoryError::Tls(
                    "sslmode require needs the certificate of the server's CA: set PGSSLROOTCERT to its PEM file".to_string(),
                )),
            }
        }
    };
    let unreadable =
        |why: String| HistoryError::Tls(format!("the CA certificate {}: {why}", path.display()));
    let pem = synccheck_core::user_file::read_regular_file(&path, ROOT_CERT_AT_MOST)
        .map_err(|e| unreadable(e.to_string()))?;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unreadable(format!("not PEM ({e})")))?;
        roots.add(cert).map_err(|e| unreadable(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(unreadable("no certificate in it".to_string()));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HistoryError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsStr;

    fn parse(given: &str, vars: &[(&str, &str)]) -> Result<Target, HistoryError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Target::parse_with(OsStr::new(given), &move |k| vars.get(k).cloned())
    }

    fn pg(given: &str, vars: &[(&str, &str)]) -> PgTarget {
        match parse(given, vars).unwrap() {
            Target::Postgres(pg) => pg,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths_stay_paths_and_only_postgres_urls_are_urls() {
        for path in [
            "h.sqlite",
            "./a:b/h.sqlite",
            "/tmp/x",
            "postgres",
            "C:\\h.sqlite",
        ] {
            assert!(matches!(parse(path, &[]), Ok(Target::File(_))), "{path}");
        }
        for url in [
            "postgres://u@h/db",
            "postgresql://h:5433/db",
            "POSTGRES://h/db",
        ] {
            assert!(matches!(parse(url, &[]), Ok(Target::Postgres(_))), "{url}");
        }
        for bad in [
            "mysql://h/db",
            "postgress://h/db",
            "file:///tmp/h.sqlite",
            "http://x",
        ] {
            assert!(
                matches!(parse(bad, &[]), Err(HistoryError::BadUrl(_))),
                "{bad}"
            );
        }
        for bad in [
            "postgres://h:notaport/db",
            "postgres://h/db?sslmode=sometimes",
            "postgres://h/db?nonsense=1",
        ] {
            assert!(
                matches!(parse(bad, &[]), Err(HistoryError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn what_the_url_leaves_out_comes_from_the_pg_variables() {
        let vars = [
            ("PGHOST", "db.shop"),
            ("PGPORT", "6543"),
            ("PGUSER", "bench"),
            ("PGPASSWORD", "s3cret"),
            ("PGDATABASE", "repairs"),
        ];
        let t = pg("postgres://", &vars);
        assert_eq!(t.describe(), "postgres://bench@db.shop:6543/repairs");
        assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
        // The URL wins over the variables.
        let t = pg("postgresql://alice:pw@h1:5000/main", &vars);
        assert_eq!(t.describe(), "postgres://alice@h1:5000/main");
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert!(matches!(
            parse("postgres://", &[("PGPORT", "x")]),
            Err(HistoryError::BadUrl(_))
        ));
    }

    #[test]
    fn tls_needs_the_shops_ca_and_is_never_skipped_silently() {
        for mode in ["require", "verify-full"] {
            let vars = [("PGSSLMODE", mode), ("HOME", "/nonexistent")];
            let err = parse("postgres://h/db", &vars).unwrap_err();
            assert!(err.to_string().contains("PGSSLROOTCERT"), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "hello").unwrap();
        let ca = file.to_str().unwrap();
        let err = parse("postgres://h/db?sslmode=require", &[("PGSSLROOTCERT", ca)]).unwrap_err();
        assert!(matches!(err, HistoryError::Tls(_)), "{err}");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.shop".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&file, cert.pem()).unwrap();
        let t = pg("postgres://h/db?sslmode=require", &[("PGSSLROOTCERT", ca)]);
        assert!(t.tls.is_some());
        assert!(pg("postgres://h/db", &[("PGSSLMODE", "prefer")])
            .tls
            .is_none());
        // The URL's own sslmode wins over PGSSLMODE.
        let t = pg(
            "postgres://h/db?sslmode=disable",
            &[("PGSSLMODE", "require")],
        );
        assert!(t.tls.is_none());
    }

    #[test]
    fn the_password_is_never_described() {
        let t = pg("postgres://u:hunter2@h/db", &[]);
        assert!(!t.describe().contains("hunter2"));
        assert!(!format!("{t:?}").contains("hunter2"));
        let err = parse("postgres://u:hunter2@h:bad/db", &[]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
