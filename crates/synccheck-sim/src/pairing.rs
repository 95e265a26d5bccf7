//! The phone's side of pairing: its own key and TLS identity, the hosts it trusts, and a past
//! pairing made in one step so that an unmodified client finds a record and starts a session.
//!
//! The host's side (root CA, host certificate, certifying the phone's key, the pair record)
//! is synccheck-device's `pairing`; the simulator plays the phone and asks that host side to
//! certify its key, as a real phone's `Pair` does.
//!
//! Private keys never reach a log: the types here print as `<redacted>` in `Debug`.

use std::fmt;

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
// rsa takes a rand_core RNG to generate keys (ring cannot generate RSA keys); plain random
// bytes come from getrandom.
use rsa::rand_core::OsRng;
use rsa::RsaPrivateKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use synccheck_device::pairing::{HostIdentity, PairRecord, PairingError};

/// The phones' keys: the size lockdown's own are.
const RSA_BITS: usize = 2048;

/// Everything one past pairing left behind.
#[derive(Clone)]
pub struct Pairing {
    /// What the host keeps (usbmuxd's store).
    pub record: PairRecord,
    /// What the phone keeps about that host.
    pub trusted: TrustedHost,
    /// The phone's own key and certificate.
    pub identity: DeviceIdentity,
}

/// A past pairing with a new simulated phone, made in one step.
pub trait PairNewDevice {
    /// Makes a phone's own key, has the host certify it with its root, and returns both
    /// halves of the pairing: what the phone keeps and what the host keeps.
    fn pair_new_device(&self, wifi_address: &str) -> Result<Pairing, PairingError>;
}

impl PairNewDevice for HostIdentity {
    fn pair_new_device(&self, wifi_address: &str) -> Result<Pairing, PairingError> {
        let key = RsaPrivateKey::new(&mut OsRng, RSA_BITS)?;
        let encoding = |e: String| PairingError::KeyEncoding(e);
        let private_key_der = key
            .to_pkcs8_der()
            .map_err(|e| encoding(e.to_string()))?
            .as_bytes()
            .to_vec();
        // `DevicePublicKey` is PKCS#1 ("BEGIN RSA PUBLIC KEY"): libimobiledevice reads it with
        // PEM_read_bio_RSAPublicKey, which takes nothing else.
        let public_key_pem = key
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| encoding(e.to_string()))?;
        let pending = self.pair_with_device_key(public_key_pem.as_bytes(), wifi_address)?;
        let request = pending.request();
        let trusted = TrustedHost::from_pair_request(&request).ok_or_else(|| {
            PairingError::BadRecord("the host's pair request is incomplete".into())
        })?;
        let certificate_pem = match request.get("DeviceCertificate") {
            Some(plist::Value::Data(pem)) => String::from_utf8(pem.clone()).ok(),
            _ => None,
        }
        .ok_or_else(|| PairingError::BadRecord("DeviceCertificate is missing".into()))?;
        let mut escrow_bag = vec![0u8; 32];
        getrandom::getrandom(&mut escrow_bag).expect("the OS gives random bytes");
        let record = pending.into_record(escrow_bag.clone());
        let identity = DeviceIdentity {
            certificate_der: record.device_certificate()?,
            certificate_pem,
            private_key_der,
            public_key_pem,
            escrow_bag,
        };
        Ok(Pairing {
            record,
            trusted,
            identity,
        })
    }
}

/// The phone's own TLS identity.
#[derive(Clone)]
pub struct DeviceIdentity {
    pub certificate_der: CertificateDer<'static>,
    pub certificate_pem: String,
    private_key_der: Vec<u8>,
    /// PKCS#1 PEM, served as lockdown's `DevicePublicKey`.
    pub public_key_pem: String,
    /// The keybag the phone hands a host on `Pair`.
    pub escrow_bag: Vec<u8>,
}

impl fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.private_key_der.clone()))
    }
}
/// A host the phone trusts: the `HostID` it paired with and the certificates it sent then.
#[derive(Clone, Debug, PartialEq)]
pub struct TrustedHost {
    pub host_id: String,
    pub root_certificate: CertificateDer<'static>,
    pub host_certificate: CertificateDer<'static>,
    /// The certificate this host made for the phone's own key (`DeviceCertificate`): the one
    /// the phone presents in TLS sessions this host starts, and the one the host pins.
    pub device_certificate: Option<CertificateDer<'static>>,
}

impl TrustedHost {
    /// Reads the host's half of a lockdown `Pair` request (`PairRecord` without private keys).
    pub fn from_pair_request(record: &plist::Dictionary) -> Option<Self> {
        let host_id = record.get("HostID")?.as_string()?.to_string();
        let root_certificate = pem_data_to_der(record.get("RootCertificate")?)?;
        let host_certificate = pem_data_to_der(record.get("HostCertificate")?)?;
        let device_certificate = record.get("DeviceCertificate").and_then(pem_data_to_der);
        Some(TrustedHost {
            host_id,
            root_certificate,
            host_certificate,
            device_certificate,
        })
    }

    /// A client may present either certificate: libimobiledevice 1.3.0 presents the root,
    /// idevice and pymobiledevice3 the host certificate.
    pub fn owns(&self, presented: &CertificateDer<'_>) -> bool {
        presented.as_ref() == self.root_certificate.as_ref()
            || presented.as_ref() == self.host_certificate.as_ref()
    }
}

fn pem_data_to_der(value: &plist::Value) -> Option<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    let bytes = value.as_data()?;
    CertificateDer::from_pem_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_certifies_a_phones_key_and_the_phone_accepts_the_request() {
        let phone_side = HostIdentity::generate()
            .unwrap()
            .pair_new_device("00:11:22:33:44:55")
            .unwrap();
        let host = HostIdentity::generate_with_buid("BUID-1".into()).unwrap();
        let pairing = host
            .pair_with_device_key(
                phone_side.identity.public_key_pem.as_bytes(),
                "00:11:22:33:44:55",
            )
            .unwrap();
        let request = pairing.request();
        assert!(!request.contains_key("HostPrivateKey") && !request.contains_key("RootPrivateKey"));
        assert_eq!(request["SystemBUID"].as_string(), Some("BUID-1"));
        assert!(TrustedHost::from_pair_request(&request).is_some());
        let record = pairing.into_record(b"bag".to_vec());
        assert!(record.host_key().is_ok());
        assert!(host.pair_with_device_key(b"not a key", "").is_err());
    }

    #[test]
    fn pair_record_has_the_keys_clients_read() {
        let host = HostIdentity::generate().unwrap();
        let pairing = host.pair_new_device("a4:cf:99:3e:07:d5").unwrap();
        let d = pairing.record.to_dictionary();
        for key in [
            "DeviceCertificate",
            "EscrowBag",
            "HostCertificate",
            "HostID",
            "HostPrivateKey",
            "RootCertificate",
            "RootPrivateKey",
            "SystemBUID",
            "WiFiMACAddress",
        ] {
            assert!(d.contains_key(key), "{key}");
        }
        let parsed = PairRecord::from_bytes(&pairing.record.to_xml_bytes()).unwrap();
        assert_eq!(parsed.host_id(), pairing.record.host_id());
        assert_eq!(parsed.to_dictionary(), d);
        let back = TrustedHost::from_pair_request(&d).unwrap();
        assert_eq!(back, pairing.trusted);
        assert!(format!("{:?}", pairing.record).contains("redacted"));
        assert!(!format!("{:?}", pairing.record).contains("PRIVATE"));
    }
}
