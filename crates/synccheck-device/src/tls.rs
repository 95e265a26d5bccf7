//! The host's side of lockdown TLS: present the pair record's host certificate; accept only
//! the phone's certificate from the same pair record.
//!
//! A phone's certificate is the `DeviceCertificate` the host made for the phone's key when
//! pairing: signed by the host's own root, no names, in no trust store, so a chain check would
//! prove nothing. libimobiledevice, pymobiledevice3 and go-ios accept any certificate; then any
//! peer that answers as the phone (a tampered phone or cable, another device on the bus) passes
//! by presenting a certificate of its own and signing with its own key. So the presented
//! certificate must be the pair record's `DeviceCertificate` (byte for byte, or at least for
//! the same public key), and the handshake signature is verified with that key: only the
//! paired phone holds its private half.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use synccheck_wire::tls::Signatures;
use tokio_rustls::TlsConnector;

use super::{BoxStream, DeviceError};
use crate::pairing::PairRecord;

#[derive(Debug)]
struct PairedPhoneVerifier {
    /// The pair record's `DeviceCertificate`, DER.
    paired: CertificateDer<'static>,
    signatures: Signatures,
}

/// The phone presented a certificate other than the pair record's `DeviceCertificate`.
#[derive(Debug, thiserror::Error)]
#[error("the iPhone's certificate is not the one in its pair record")]
struct NotThePairedPhone;

impl PairedPhoneVerifier {
    /// The presented certificate is the pair record's, or one for the same public key (a phone
    /// that re-encoded it proves as much: only the paired phone holds that key's private half,
    /// and the handshake signature is verified with it).
    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.paired.as_ref() || same_key(presented, &self.paired) {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(NotThePairedPhone))),
            ))
        }
    }
}

/// Whether two certificates carry the same subject public key; `false` if either does not parse.
fn same_key(a: &CertificateDer<'_>, b: &CertificateDer<'_>) -> bool {
    let key = |der| {
        webpki::EndEntityCert::try_from(der)
            .ok()
            .map(|cert| cert.subject_public_key_info())
    };
    match (key(a), key(b)) {
        (Some(a), Some(b)) => a.as_ref() == b.as_ref(),
        _ => false,
    }
}

/// Whether a handshake failed because the phone's certificate is not the paired one.
fn is_not_the_paired_phone(e: &std::io::Error) -> bool {
    let Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    other.0.downcast_ref::<NotThePairedPhone>().is_some()
}

impl ServerCertVerifier for PairedPhoneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // rustls passes the certificate it already checked; checked again, so the signature
        // can only ever be verified with the paired key.
        self.check(cert)?;
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.check(cert)?;
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// A client configuration that authenticates as the host in `record` and accepts only the
/// phone of `record`. A record without a usable `DeviceCertificate` is refused here, before
/// anything is sent.
pub fn client_config(record: &PairRecord) -> Result<Arc<ClientConfig>, DeviceError> {
    let provider = synccheck_wire::tls::provider();
    let verifier = Arc::new(PairedPhoneVerifier {
        paired: record.device_certificate()?,
        signatures: Signatures::of(&provider),
    });
    let mut config =
        ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| DeviceError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(vec![record.host_certificate()?], record.host_key()?)
            .map_err(|e| DeviceError::BadPairRecord(e.to_string()))?;
    // A phone has no host name; sending one would only be noise in its logs.
    config.enable_sni = false;
    Ok(Arc::new(config))
}

/// Runs the TLS handshake over `stream` (lockdown after StartSession, or a service socket).
pub async fn connect(
    config: Arc<ClientConfig>,
    stream: BoxStream,
) -> Result<BoxStream, DeviceError> {
    let name = ServerName::try_from("iphone").expect("a valid DNS name");
    let tls = TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| {
            if is_not_the_paired_phone(&e) {
                DeviceError::NotThePairedPhone
            } else if super::error::is_disconnect(&e) {
                DeviceError::Unplugged("the TLS handshake")
            } else {
                DeviceError::Tls(e.to_string())
            }
        })?;
    Ok(Box::new(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate_for(key: &rcgen::KeyPair, name: &str) -> CertificateDer<'static> {
        rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(key)
            .unwrap()
            .der()
            .clone()
    }

    #[test]
    fn a_certificate_for_the_paired_key_passes_and_any_other_key_does_not() {
        let paired_key = rcgen::KeyPair::generate().unwrap();
        let paired = certificate_for(&paired_key, "a");
        let verifier = PairedPhoneVerifier {
            paired: paired.clone(),
            signatures: Signatures::of(&synccheck_wire::tls::provider()),
        };
        assert!(verifier.check(&paired).is_ok());
        // The same key in a certificate encoded anew: the same phone.
        assert!(verifier.check(&certificate_for(&paired_key, "b")).is_ok());
        // Another key: an impostor, whatever its certificate says.
        let other = rcgen::KeyPair::generate().unwrap();
        assert!(verifier.check(&certificate_for(&other, "a")).is_err());
        assert!(verifier
            .check(&CertificateDer::from(b"not a certificate".to_vec()))
            .is_err());
    }
}
