//! Pairing material, the host's side (`synccheck pair`, and the scan of a phone that has not
//! trusted this computer yet). The phone's side (its own key, the hosts it trusts) is the
//! simulator's, in synccheck-sim.
//!
//! A host pairs by reading the phone's `DevicePublicKey`, making a root CA and a host
//! certificate, certifying the phone's key with that root, and sending the three certificates
//! with a `HostID` in a lockdown `Pair` request. The host keeps the result (plus both private
//! keys, the `SystemBUID`, the phone's `EscrowBag` and Wi-Fi address) as the pair record that
//! usbmuxd serves through `ReadPairRecord`. The simulator plays both sides of that past pairing,
//! so an unmodified client finds a record and starts a session with no pairing step.
//!
//! Certificate shape follows libimobiledevice's `userpref.c` (1.3.0): X.509 v3, serial 0, empty
//! subject and issuer, ten years of validity, root `basicConstraints` critical CA:TRUE, host and
//! device critical CA:FALSE with critical `keyUsage` digitalSignature + keyEncipherment, and a
//! subject key identifier on the device certificate. Two deliberate differences: signatures are
//! SHA-256 (ring cannot sign SHA-1; OpenSSL at security level 0 and rustls read both), and the
//! root and host keys are made once per simulator run and shared by every simulated phone,
//! whereas libimobiledevice makes fresh ones per pairing. Each record still has its own `HostID`
//! and device certificate, so every phone sees a distinct, complete pairing; RSA key generation
//! is the only slow part of starting the simulator, and this keeps it at two keys plus one per
//! phone.
//!
//! Private keys never reach a log: the types here print as `<redacted>` in `Debug`.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber, PKCS_RSA_SHA256,
};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
// rsa takes a rand_core RNG to generate keys; plain random bytes come from getrandom.
use rsa::rand_core::OsRng;
use rsa::RsaPrivateKey;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a pair record could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("cannot generate an RSA key: {0}")]
    KeyGeneration(#[from] rsa::Error),
    #[error("cannot encode a key: {0}")]
    KeyEncoding(String),
    #[error("cannot build a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("the phone's public key is not an RSA public key: {0}")]
    DeviceKey(String),
    #[error("the pair record is unusable: {0}")]
    BadRecord(String),
}

const RSA_BITS: usize = 2048;
const VALIDITY_YEARS: i32 = 10;

/// An RSA key pair in the encodings the protocols need.
struct RsaKey {
    signing: KeyPair,
    pkcs8_pem: String,
}

impl RsaKey {
    fn generate() -> Result<Self, PairingError> {
        let key = RsaPrivateKey::new(&mut OsRng, RSA_BITS)?;
        let pkcs8_der = key
            .to_pkcs8_der()
            .map_err(|e| PairingError::KeyEncoding(e.to_string()))?
            .as_bytes()
            .to_vec();
        let pkcs8_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| PairingError::KeyEncoding(e.to_string()))?
            .to_string();
        let signing = KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(pkcs8_der),
            &PKCS_RSA_SHA256,
        )?;
        Ok(RsaKey { signing, pkcs8_pem })
    }
}

fn base_params(is_ca: IsCa) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.serial_number = Some(SerialNumber::from_slice(&[0]));
    params.is_ca = is_ca;
    let today = chrono::Utc::now().date_naive();
    use chrono::Datelike;
    let (y, m, d) = (today.year(), today.month() as u8, today.day() as u8);
    // 29 February plus ten years is not a date; the day before is close enough.
    let d_end = if m == 2 && d == 29 { 28 } else { d };
    params.not_before = rcgen::date_time_ymd(y, m, d);
    params.not_after = rcgen::date_time_ymd(y + VALIDITY_YEARS, m, d_end);
    params
}

fn leaf_params() -> CertificateParams {
    let mut params = base_params(IsCa::ExplicitNoCa);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params
}

/// The host side of the pairing: root CA and host certificate, made once per simulator run.
pub struct HostIdentity {
    root: RsaKey,
    root_params: CertificateParams,
    root_cert_pem: String,
    host: RsaKey,
    host_cert_pem: String,
    system_buid: String,
}

impl fmt::Debug for HostIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostIdentity")
            .field("system_buid", &self.system_buid)
            .field("keys", &"<redacted>")
            .finish()
    }
}

impl HostIdentity {
    /// A host identity for the `SystemBUID` that usbmuxd reports (`ReadBUID`): the host side of
    /// a real pairing.
    pub fn generate_with_buid(system_buid: String) -> Result<Self, PairingError> {
        let mut identity = Self::generate()?;
        identity.system_buid = system_buid;
        Ok(identity)
    }

    /// Certifies a phone's own key (its `DevicePublicKey`, PKCS#1 PEM) with this host's root,
    /// for a `Pair` request.
    pub fn pair_with_device_key(
        &self,
        device_public_key_pem: &[u8],
        wifi_address: &str,
    ) -> Result<HostPairing, PairingError> {
        use rsa::pkcs1::DecodeRsaPublicKey;
        let pem = std::str::from_utf8(device_public_key_pem)
            .map_err(|e| PairingError::DeviceKey(e.to_string()))?;
        let key = rsa::RsaPublicKey::from_pkcs1_pem(pem.trim())
            .map_err(|e| PairingError::DeviceKey(e.to_string()))?;
        let device_key = DevicePublicKey(
            key.to_pkcs1_der()
                .map_err(|e| PairingError::DeviceKey(e.to_string()))?
                .as_bytes()
                .to_vec(),
        );
        let issuer = Issuer::from_params(&self.root_params, &self.root.signing);
        let device_cert = leaf_params().signed_by(&device_key, &issuer)?;
        Ok(HostPairing {
            record: PairRecord {
                device_certificate_pem: device_cert.pem(),
                host_certificate_pem: self.host_cert_pem.clone(),
                host_private_key_pem: self.host.pkcs8_pem.clone(),
                root_certificate_pem: self.root_cert_pem.clone(),
                root_private_key_pem: self.root.pkcs8_pem.clone(),
                system_buid: self.system_buid.clone(),
                host_id: new_uuid(),
                wifi_mac_address: wifi_address.to_string(),
                escrow_bag: Vec::new(),
            },
        })
    }

    pub fn generate() -> Result<Self, PairingError> {
        let root = RsaKey::generate()?;
        let root_params = base_params(IsCa::Ca(BasicConstraints::Unconstrained));
        let root_cert = root_params.self_signed(&root.signing)?;
        let host = RsaKey::generate()?;
        let issuer = Issuer::from_params(&root_params, &root.signing);
        let host_cert = leaf_params().signed_by(&host.signing, &issuer)?;
        Ok(HostIdentity {
            root_cert_pem: root_cert.pem(),
            root,
            root_params,
            host_cert_pem: host_cert.pem(),
            host,
            system_buid: new_uuid(),
        })
    }

    /// The host's `SystemBUID`, which usbmuxd answers to `ReadBUID`.
    pub fn system_buid(&self) -> &str {
        &self.system_buid
    }
}

/// A phone's public key as rcgen needs it to certify it: the PKCS#1 RSAPublicKey DER.
struct DevicePublicKey(Vec<u8>);

impl rcgen::PublicKeyData for DevicePublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

/// A pairing in progress on the host: the request to send, and the record to keep once the
/// phone trusts us.
pub struct HostPairing {
    record: PairRecord,
}

impl HostPairing {
    /// The `PairRecord` of a lockdown `Pair` request: certificates, HostID and SystemBUID, no
    /// private keys.
    pub fn request(&self) -> plist::Dictionary {
        let mut d = self.record.to_dictionary();
        for private in [
            "HostPrivateKey",
            "RootPrivateKey",
            "EscrowBag",
            "WiFiMACAddress",
        ] {
            d.remove(private);
        }
        d
    }

    /// The record to save with usbmuxd, completed with the phone's escrow bag.
    pub fn into_record(mut self, escrow_bag: Vec<u8>) -> PairRecord {
        self.record.escrow_bag = escrow_bag;
        self.record
    }
}

/// The host's pair record as usbmuxd stores it. Holds private keys: its Debug shows none.
#[derive(Clone)]
pub struct PairRecord {
    device_certificate_pem: String,
    host_certificate_pem: String,
    host_private_key_pem: String,
    root_certificate_pem: String,
    root_private_key_pem: String,
    system_buid: String,
    host_id: String,
    wifi_mac_address: String,
    escrow_bag: Vec<u8>,
}

impl fmt::Debug for PairRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairRecord")
            .field("host_id", &self.host_id)
            .field("contents", &"<redacted>")
            .finish()
    }
}

impl PairRecord {
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    pub fn system_buid(&self) -> &str {
        &self.system_buid
    }

    /// Parses what usbmuxd's `ReadPairRecord` returns (XML or binary plist).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PairingError> {
        use synccheck_wire::plist_bounded::{parse, Limits};
        match parse(bytes, &Limits::DEVICE, "the pair record") {
            Ok(plist::Value::Dictionary(d)) => Self::from_dictionary(&d),
            Err(e) if e.limit().is_some() => Err(PairingError::BadRecord(e.to_string())),
            _ => Err(PairingError::BadRecord("not a plist dictionary".into())),
        }
    }

    /// Reads a record written by any host tool. Keys a session needs (HostID, the host
    /// certificate and key) must be there; the rest default to empty.
    pub fn from_dictionary(d: &plist::Dictionary) -> Result<Self, PairingError> {
        let text = |key: &str| -> Option<String> {
            match d.get(key)? {
                plist::Value::Data(b) => String::from_utf8(b.clone()).ok(),
                plist::Value::String(s) => Some(s.clone()),
                _ => None,
            }
        };
        let required = |key: &str| {
            text(key)
                .ok_or_else(|| PairingError::BadRecord(format!("{key} is missing or malformed")))
        };
        let record = PairRecord {
            device_certificate_pem: text("DeviceCertificate").unwrap_or_default(),
            host_certificate_pem: required("HostCertificate")?,
            host_private_key_pem: required("HostPrivateKey")?,
            root_certificate_pem: text("RootCertificate").unwrap_or_default(),
            root_private_key_pem: text("RootPrivateKey").unwrap_or_default(),
            system_buid: text("SystemBUID").unwrap_or_default(),
            host_id: required("HostID")?,
            wifi_mac_address: text("WiFiMACAddress").unwrap_or_default(),
            escrow_bag: d
                .get("EscrowBag")
                .and_then(|v| v.as_data())
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        };
        record.host_certificate()?;
        record.host_key()?;
        Ok(record)
    }

    /// The certificate the host presents in TLS.
    pub fn host_certificate(&self) -> Result<CertificateDer<'static>, PairingError> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(self.host_certificate_pem.as_bytes())
            .map_err(|_| PairingError::BadRecord("HostCertificate is not a PEM certificate".into()))
    }

    /// The certificate the phone must present in TLS: the one this host made for the phone's
    /// key when pairing. Without it nothing ties a TLS peer to the paired phone, so a record
    /// lacking it cannot start a session.
    pub fn device_certificate(&self) -> Result<CertificateDer<'static>, PairingError> {
        use rustls::pki_types::pem::PemObject;
        if self.device_certificate_pem.trim().is_empty() {
            return Err(PairingError::BadRecord(
                "DeviceCertificate is missing, so the iPhone's identity cannot be checked".into(),
            ));
        }
        CertificateDer::from_pem_slice(self.device_certificate_pem.as_bytes()).map_err(|_| {
            PairingError::BadRecord("DeviceCertificate is not a PEM certificate".into())
        })
    }

    /// The host key in whichever PEM form the record holds (PKCS#1 from libimobiledevice,
    /// PKCS#8 from synccheck and others).
    pub fn host_key(&self) -> Result<PrivateKeyDer<'static>, PairingError> {
        use rustls::pki_types::pem::PemObject;
        PrivateKeyDer::from_pem_slice(self.host_private_key_pem.as_bytes())
            .map_err(|_| PairingError::BadRecord("HostPrivateKey is not a PEM private key".into()))
    }

    /// The record as a plist dictionary; certificates and keys are PEM text in `<data>`, as
    /// libimobiledevice and usbmuxd write them.
    pub fn to_dictionary(&self) -> plist::Dictionary {
        let data = |s: &str| plist::Value::Data(s.as_bytes().to_vec());
        let mut d = plist::Dictionary::new();
        d.insert(
            "DeviceCertificate".into(),
            data(&self.device_certificate_pem),
        );
        d.insert(
            "EscrowBag".into(),
            plist::Value::Data(self.escrow_bag.clone()),
        );
        d.insert("HostCertificate".into(), data(&self.host_certificate_pem));
        d.insert("HostID".into(), self.host_id.clone().into());
        d.insert("HostPrivateKey".into(), data(&self.host_private_key_pem));
        d.insert("RootCertificate".into(), data(&self.root_certificate_pem));
        d.insert("RootPrivateKey".into(), data(&self.root_private_key_pem));
        d.insert("SystemBUID".into(), self.system_buid.clone().into());
        d.insert(
            "WiFiMACAddress".into(),
            self.wifi_mac_address.clone().into(),
        );
        d
    }

    /// The serialized record that `ReadPairRecord` carries as `PairRecordData`.
    pub fn to_xml_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing a dictionary of strings and data to a Vec cannot fail.
        let _ = plist::Value::Dictionary(self.to_dictionary()).to_writer_xml(&mut out);
        out
    }
}

/// An uppercase random (version 4) UUID, the form hosts use for `HostID` and `SystemBUID`.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the OS gives random bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_missing_what_a_session_needs_are_refused() {
        let mut d = plist::Dictionary::new();
        d.insert("HostID".into(), "X".into());
        assert!(matches!(
            PairRecord::from_dictionary(&d),
            Err(PairingError::BadRecord(_))
        ));
        assert!(PairRecord::from_bytes(b"garbage").is_err());
    }

    #[test]
    fn a_plist_bomb_as_a_pair_record_is_refused_naming_the_limit() {
        let bomb = synccheck_wire::plist_bombs::reuse_bomb(5, 64);
        let err = PairRecord::from_bytes(&bomb).unwrap_err().to_string();
        assert!(err.contains("the pair record goes over the plist"), "{err}");
    }

    #[test]
    fn uuid_is_uppercase_v4() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(!u.chars().any(|c| c.is_ascii_lowercase()));
    }
}
