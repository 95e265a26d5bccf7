//! Where usbmuxd listens, in every form users of the established tools already write.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The usbmuxd socket: `/var/run/usbmuxd` on Linux and macOS alike.
pub const DEFAULT_SOCKET: &str = "/var/run/usbmuxd";

/// The environment variable libimobiledevice, pymobiledevice3 and go-ios all honour.
pub const ENV_VAR: &str = "USBMUXD_SOCKET_ADDRESS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsbmuxdAddress {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{given}\" is not a usbmuxd address (expected UNIX:/path, /path, unix:///path or host:port)"
)]
pub struct AddressError {
    pub given: String,
}

impl UsbmuxdAddress {
    /// Parses `UNIX:/path` (libimobiledevice), `/path`, `unix:///path` (go-ios, URLs) or
    /// `host:port` (usbmuxd over TCP, e.g. a forwarded socket).
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let err = || AddressError {
            given: s.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(err());
        }
        for prefix in ["unix://", "UNIX://", "UNIX:", "unix:"] {
            if let Some(rest) = t.strip_prefix(prefix) {
                return if rest.starts_with('/') {
                    Ok(UsbmuxdAddress::Unix(PathBuf::from(rest)))
                } else {
                    Err(err())
                };
            }
        }
        if t.starts_with('/') || t.starts_with('.') {
            return Ok(UsbmuxdAddress::Unix(PathBuf::from(t)));
        }
        let t = t.strip_prefix("tcp://").unwrap_or(t);
        if let Ok(addr) = t.parse::<SocketAddr>() {
            return Ok(UsbmuxdAddress::Tcp(addr));
        }
        // A host name such as localhost:27015: resolve it once, now.
        match t.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => t
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .map(UsbmuxdAddress::Tcp)
                .ok_or_else(err),
            _ => Err(err()),
        }
    }

    /// `--usbmuxd` first, then `USBMUXD_SOCKET_ADDRESS`, then the default socket.
    pub fn resolve(flag: Option<&str>) -> Result<Self, AddressError> {
        if let Some(f) = flag {
            return Self::parse(f);
        }
        match std::env::var(ENV_VAR) {
            Ok(v) if !v.trim().is_empty() => Self::parse(&v),
            _ => Ok(UsbmuxdAddress::Unix(PathBuf::from(DEFAULT_SOCKET))),
        }
    }
}

impl fmt::Display for UsbmuxdAddress {
    /// The form to put in `USBMUXD_SOCKET_ADDRESS` for libimobiledevice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsbmuxdAddress::Unix(p) => write!(f, "UNIX:{}", p.display()),
            UsbmuxdAddress::Tcp(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(p: &str) -> UsbmuxdAddress {
        UsbmuxdAddress::Unix(PathBuf::from(p))
    }

    #[test]
    fn every_established_form_parses() {
        assert_eq!(
            UsbmuxdAddress::parse("UNIX:/tmp/mux").unwrap(),
            unix("/tmp/mux")
        );
        assert_eq!(
            UsbmuxdAddress::parse("/var/run/usbmuxd").unwrap(),
            unix("/var/run/usbmuxd")
        );
        assert_eq!(
            UsbmuxdAddress::parse("unix:///tmp/mux").unwrap(),
            unix("/tmp/mux")
        );
        assert_eq!(
            UsbmuxdAddress::parse("127.0.0.1:27015").unwrap(),
            UsbmuxdAddress::Tcp("127.0.0.1:27015".parse().unwrap())
        );
        assert_eq!(
            UsbmuxdAddress::parse("[::1]:27015").unwrap(),
            UsbmuxdAddress::Tcp("[::1]:27015".parse().unwrap())
        );
        assert!(
            matches!(UsbmuxdAddress::parse("localhost:27015").unwrap(), UsbmuxdAddress::Tcp(a) if a.port() == 27015)
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "UNIX:",
            "unix://relative",
            "host",
            "host:port",
            ":27015",
            "1.2.3.4:99999",
        ] {
            assert!(UsbmuxdAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_in_the_libimobiledevice_form() {
        assert_eq!(unix("/tmp/m").to_string(), "UNIX:/tmp/m");
        assert_eq!(
            UsbmuxdAddress::parse("127.0.0.1:5").unwrap().to_string(),
            "127.0.0.1:5"
        );
    }
}
