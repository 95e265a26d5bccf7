//! The phone's side of lockdown TLS: it serves the device certificate the host made for it when
//! pairing (its `DeviceCertificate`), and accepts a client only if the certificate the client
//! presents is one the host sent when pairing.
//!
//! A phone keeps, per trusted host, the `DeviceCertificate` from that host's `Pair` request,
//! and knows which host it is talking to from the `HostID` of `StartSession` (a service knows
//! the session that started it), so each host meets the certificate in its own pair record.
//! The `impostor-certificate` fault serves a certificate of another key instead: what a device
//! posing as this phone, without its key, would have to do.
//!
//! A phone does not check a chain or names: the pairing itself is the trust decision, and
//! clients present either the root (libimobiledevice 1.3.0) or the host certificate (idevice,
//! pymobiledevice3). So the check is byte equality against the trusted hosts' two certificates,
//! followed by the ordinary handshake signature check with the presented key.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use synccheck_wire::tls::Signatures;

use crate::pairing::{DeviceIdentity, TrustedHost};

#[derive(Debug)]
struct PairedHostVerifier {
    accepted: Vec<TrustedHost>,
    signatures: Signatures,
}

impl ClientCertVerifier for PairedHostVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.accepted.iter().any(|h| h.owns(end_entity)) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.schemes()
    }
}

/// A server configuration for one TLS session with `host`: the phone presents the certificate
/// `host` made for it when pairing (its own original one if the pairing carried none), or an
/// impostor's.
pub fn server_config(
    identity: &DeviceIdentity,
    host: TrustedHost,
    impostor: bool,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = synccheck_wire::tls::provider();
    let (certificate, key) = if impostor {
        impostor_identity()?
    } else {
        let certificate = host
            .device_certificate
            .clone()
            .unwrap_or_else(|| identity.certificate_der.clone());
        (certificate, identity.private_key())
    };
    let verifier = Arc::new(PairedHostVerifier {
        accepted: vec![host],
        signatures: Signatures::of(&provider),
    });
    let mut config =
        ServerConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![certificate], key)?;
    // Session tickets would be extra records in flight when lockdown drops back to plaintext,
    // and no client resumes a lockdown session anyway.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A certificate shaped like a device certificate (no names, not a CA), self-signed with a key
/// of its own: valid handshake signatures, but not the paired phone. ECDSA P-256, because its
/// keys are made in microseconds, where RSA would take a debug build seconds per handshake.
fn impostor_identity() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rustls::Error> {
    let failed = |e: rcgen::Error| rustls::Error::General(format!("impostor certificate: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(failed)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let certificate = params.self_signed(&key).map_err(failed)?;
    let key = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    Ok((certificate.der().clone(), key))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::TlsAcceptor;

    use super::*;
    use crate::pairing::PairNewDevice;
    use synccheck_device::pairing::{HostIdentity, PairRecord};
    use synccheck_device::tls::{client_config, connect};
    use synccheck_device::DeviceError;

    /// Runs the host's handshake against this phone's, then sends `ping` if the host accepted
    /// the phone. Returns the host's outcome and every byte the phone received after the
    /// handshake (none if the phone's side of the handshake failed).
    async fn handshake(
        record: &PairRecord,
        phone: Arc<ServerConfig>,
    ) -> (Result<(), DeviceError>, Vec<u8>) {
        let (host_end, phone_end) = tokio::io::duplex(64 * 1024);
        let host = async {
            let mut tls = connect(client_config(record)?, Box::new(host_end)).await?;
            tls.write_all(b"ping").await.unwrap();
            tls.shutdown().await.unwrap();
            Ok(())
        };
        let phone = async {
            let mut received = Vec::new();
            if let Ok(mut tls) = TlsAcceptor::from(phone).accept(phone_end).await {
                let _ = tls.read_to_end(&mut received).await;
            }
            received
        };
        tokio::join!(host, phone)
    }

    #[tokio::test]
    async fn host_accepts_only_the_pair_records_device_certificate() {
        let pairing = HostIdentity::generate()
            .unwrap()
            .pair_new_device("00:11:22:33:44:55")
            .unwrap();
        let genuine = server_config(&pairing.identity, pairing.trusted.clone(), false).unwrap();
        let (outcome, received) = handshake(&pairing.record, genuine).await;
        outcome.unwrap();
        assert_eq!(received, b"ping");

        // Valid signatures with a key of its own, but not the paired phone's certificate.
        let impostor = server_config(&pairing.identity, pairing.trusted.clone(), true).unwrap();
        let (outcome, received) = handshake(&pairing.record, impostor).await;
        assert!(
            matches!(outcome, Err(DeviceError::NotThePairedPhone)),
            "{outcome:?}"
        );
        assert!(received.is_empty(), "the host sent {received:?}");
    }

    #[test]
    fn a_record_without_a_usable_device_certificate_starts_no_session() {
        let pairing = HostIdentity::generate()
            .unwrap()
            .pair_new_device("00:11:22:33:44:55")
            .unwrap();
        let mut d = pairing.record.to_dictionary();
        for (value, expected) in [
            (None, "DeviceCertificate is missing"),
            (
                Some(plist::Value::Data(
                    b"-----BEGIN CERTIFICATE-----\nnot base64!\n".to_vec(),
                )),
                "DeviceCertificate is not a PEM certificate",
            ),
            (
                Some(plist::Value::Integer(1.into())),
                "DeviceCertificate is missing",
            ),
        ] {
            match value {
                Some(v) => d.insert("DeviceCertificate".into(), v),
                None => d.remove("DeviceCertificate"),
            };
            let record = PairRecord::from_dictionary(&d).unwrap();
            let err = client_config(&record).unwrap_err();
            assert!(
                matches!(&err, DeviceError::BadPairRecord(m) if m.contains(expected)),
                "{err:?}"
            );
        }
    }
}
