//! The host's side of lockdown TLS: present the pair record's host certificate; accept the
//! phone's certificate without a chain check.
//!
//! A phone's certificate is signed by the host's own root from pairing, has no names, and is
//! not in any trust store; libimobiledevice, pymobiledevice3 and go-ios all accept it unchecked.
//! The trust decision was the pairing itself. The handshake signatures are still verified, so
//! the phone proves it holds the key of the certificate it sent.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;

use crate::wire::tls::Signatures;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use super::{BoxStream, DeviceError};
use crate::pairing::PairRecord;

#[derive(Debug)]
struct PairedPhoneVerifier {
    signatures: Signatures,
}

impl ServerCertVerifier for PairedPhoneVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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

/// A client configuration that authenticates as the host in `record`.
pub fn client_config(record: &PairRecord) -> Result<Arc<ClientConfig>, DeviceError> {
    let provider = crate::wire::tls::provider();
    let verifier = Arc::new(PairedPhoneVerifier {
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
            if super::error::is_disconnect(&e) {
                DeviceError::Unplugged("the TLS handshake")
            } else {
                DeviceError::Tls(e.to_string())
            }
        })?;
    Ok(Box::new(tls))
}
