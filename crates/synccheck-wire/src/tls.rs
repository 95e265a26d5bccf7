//! What both ends of lockdown TLS share. Neither side checks a chain (pairing is the trust
//! decision), but both check that the peer's handshake signatures are made with the key of the
//! certificate it sent: these are those checks, for the host's and the simulated phone's
//! certificate verifiers alike.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::CertificateDer;
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The crypto both ends use (ring: no cmake, quick to build).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Handshake signature checks with a provider's algorithms.
#[derive(Debug)]
pub struct Signatures(WebPkiSupportedAlgorithms);

impl Signatures {
    pub fn of(provider: &CryptoProvider) -> Self {
        Signatures(provider.signature_verification_algorithms)
    }

    pub fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    pub fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    pub fn schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
