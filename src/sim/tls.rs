//! The phone's side of lockdown TLS: it serves its device certificate and accepts a client only
//! if the certificate the client presents is one the host sent when pairing.
//!
//! A phone does not check a chain or names: the pairing itself is the trust decision, and
//! clients present either the root (libimobiledevice 1.3.0) or the host certificate (idevice,
//! pymobiledevice3). So the check is byte equality against the trusted hosts' two certificates,
//! followed by the ordinary handshake signature check with the presented key.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;

use crate::wire::tls::Signatures;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

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

/// A server configuration for one TLS session, accepting the given hosts' certificates.
pub fn server_config(
    identity: &DeviceIdentity,
    accepted: Vec<TrustedHost>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = crate::wire::tls::provider();
    let verifier = Arc::new(PairedHostVerifier {
        accepted,
        signatures: Signatures::of(&provider),
    });
    let mut config =
        ServerConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![identity.certificate_der.clone()],
                identity.private_key(),
            )?;
    // Session tickets would be extra records in flight when lockdown drops back to plaintext,
    // and no client resumes a lockdown session anyway.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
