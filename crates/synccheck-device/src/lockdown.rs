//! The host's lockdownd client: values, the TLS session and starting services.
//!
//! Our own rather than idevice's because idevice allocates whatever length the phone announces
//! (see `wire`), and because a scan pipelines its GetValue requests: lockdownd answers frames in
//! order, so sending them together saves a round trip each.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::error::within;
use super::usbmuxd::{AttachedDevice, Usbmuxd};
use super::{tls, BoxStream, DeviceError};
use crate::pairing::PairRecord;
use synccheck_wire::plist_frame::{self, MAX_FRAME};

pub const LOCKDOWN_PORT: u16 = 62078;
const LABEL: &str = "synccheck";

pub struct Lockdown {
    stream: BoxStream,
    timeout: Duration,
}

/// A service lockdownd started for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePort {
    pub port: u16,
    pub ssl: bool,
}

/// One GetValue: a domain (None for the root values) and a key (None for the whole domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueQuery<'a> {
    pub domain: Option<&'a str>,
    pub key: Option<&'a str>,
}

impl Lockdown {
    pub fn new(stream: BoxStream, timeout: Duration) -> Self {
        Lockdown { stream, timeout }
    }

    fn request(name: &str) -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert("Label".into(), LABEL.into());
        d.insert("Request".into(), name.into());
        d
    }

    async fn send(
        &mut self,
        what: &'static str,
        messages: &[plist::Dictionary],
    ) -> Result<(), DeviceError> {
        let bytes: Vec<u8> = messages.iter().flat_map(plist_frame::encode).collect();
        use tokio::io::AsyncWriteExt;
        within(self.timeout, what, async {
            self.stream
                .write_all(&bytes)
                .await
                .map_err(|e| DeviceError::from_frame(what, e.into()))?;
            self.stream
                .flush()
                .await
                .map_err(|e| DeviceError::from_frame(what, e.into()))
        })
        .await
    }

    /// Reads one reply and checks it answers `request`; an `Error` becomes a typed error.
    async fn receive(
        &mut self,
        what: &'static str,
        request: &str,
    ) -> Result<plist::Dictionary, DeviceError> {
        match self.receive_reply(what, request).await? {
            Reply::Answer(reply) => Ok(reply),
            Reply::Refused(error) => Err(lockdown_error(what, &error)),
        }
    }

    /// Reads one reply: lockdownd's answer, or the `Error` it gave instead. Only a broken
    /// connection or a reply to another request is an error here: after either, the replies
    /// that follow cannot be trusted.
    async fn receive_reply(
        &mut self,
        what: &'static str,
        request: &str,
    ) -> Result<Reply, DeviceError> {
        let reply = within(self.timeout, what, async {
            plist_frame::read_dict(&mut self.stream, MAX_FRAME)
                .await
                .map_err(|e| DeviceError::from_frame(what, e))
        })
        .await?;
        if let Some(error) = reply.get("Error").and_then(|v| v.as_string()) {
            return Ok(Reply::Refused(error.to_string()));
        }
        match reply.get("Request").and_then(|v| v.as_string()) {
            Some(r) if r == request => Ok(Reply::Answer(reply)),
            other => Err(DeviceError::Refused {
                what,
                error: format!("a reply to {} instead", other.unwrap_or("nothing")),
            }),
        }
    }

    async fn call(
        &mut self,
        what: &'static str,
        message: plist::Dictionary,
    ) -> Result<plist::Dictionary, DeviceError> {
        let request = message
            .get("Request")
            .and_then(|v| v.as_string())
            .unwrap_or_default()
            .to_string();
        self.send(what, std::slice::from_ref(&message)).await?;
        self.receive(what, &request).await
    }

    pub async fn query_type(&mut self) -> Result<String, DeviceError> {
        let reply = self.call("QueryType", Self::request("QueryType")).await?;
        Ok(reply
            .get("Type")
            .and_then(|v| v.as_string())
            .unwrap_or_default()
            .to_string())
    }

    /// Several GetValues in one write; the replies come back in order. A value the phone does
    /// not have (`MissingValue`) is `None`, not an error; any other refusal is.
    pub async fn get_values(
        &mut self,
        queries: &[ValueQuery<'_>],
    ) -> Result<Vec<Option<plist::Value>>, DeviceError> {
        self.get_each_value(queries).await?.into_iter().collect()
    }

    /// [`Lockdown::get_values`], with each query's refusal kept apart: a phone that refuses one
    /// value (an unknown domain, a key it will not give) still answers the others. The outer
    /// error is the connection failing, after which no reply can be trusted.
    pub async fn get_each_value(
        &mut self,
        queries: &[ValueQuery<'_>],
    ) -> Result<Vec<Result<Option<plist::Value>, DeviceError>>, DeviceError> {
        let messages: Vec<_> = queries
            .iter()
            .map(|q| {
                let mut d = Self::request("GetValue");
                if let Some(domain) = q.domain {
                    d.insert("Domain".into(), domain.into());
                }
                if let Some(key) = q.key {
                    d.insert("Key".into(), key.into());
                }
                d
            })
            .collect();
        self.send("GetValue", &messages).await?;
        let mut values = Vec::with_capacity(queries.len());
        for _ in queries {
            values.push(match self.receive_reply("GetValue", "GetValue").await? {
                Reply::Answer(mut reply) => Ok(reply.remove("Value")),
                Reply::Refused(error) if error == "MissingValue" => Ok(None),
                Reply::Refused(error) => Err(lockdown_error("GetValue", &error)),
            });
        }
        Ok(values)
    }

    /// Starts the TLS session that every protected value and service needs.
    pub async fn start_session(
        mut self,
        record: &PairRecord,
        config: Arc<ClientConfig>,
    ) -> Result<Lockdown, DeviceError> {
        let mut req = Self::request("StartSession");
        req.insert("HostID".into(), record.host_id().into());
        if !record.system_buid().is_empty() {
            req.insert("SystemBUID".into(), record.system_buid().into());
        }
        let reply = self.call("StartSession", req).await?;
        let ssl = reply
            .get("EnableSessionSSL")
            .and_then(|v| v.as_boolean())
            .unwrap_or(false);
        if !ssl {
            return Ok(self);
        }
        let timeout = self.timeout;
        let stream = within(
            timeout,
            "the TLS handshake",
            tls::connect(config, self.stream),
        )
        .await?;
        Ok(Lockdown { stream, timeout })
    }

    pub async fn start_service(&mut self, name: &str) -> Result<ServicePort, DeviceError> {
        let mut req = Self::request("StartService");
        req.insert("Service".into(), name.into());
        let reply = self.call("StartService", req).await?;
        let port = reply
            .get("Port")
            .and_then(|v| v.as_unsigned_integer())
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| DeviceError::Refused {
                what: "StartService",
                error: "no port in the reply".into(),
            })?;
        Ok(ServicePort {
            port,
            ssl: reply
                .get("EnableServiceSSL")
                .and_then(|v| v.as_boolean())
                .unwrap_or(false),
        })
    }

    /// Asks the phone to trust this host (it shows the Trust dialog). `record` is what the phone
    /// will keep: our certificates and the one we made for its public key.
    pub async fn pair(
        &mut self,
        pair_request: plist::Dictionary,
    ) -> Result<plist::Dictionary, DeviceError> {
        let mut req = Self::request("Pair");
        req.insert("PairRecord".into(), plist::Value::Dictionary(pair_request));
        req.insert("ProtocolVersion".into(), "2".into());
        let mut options = plist::Dictionary::new();
        options.insert("ExtendedPairingErrors".into(), true.into());
        req.insert("PairingOptions".into(), plist::Value::Dictionary(options));
        self.call("Pair", req).await
    }
}

/// Starts `service` on a paired phone: a lockdown session just long enough to start it. Returns
/// its port and the TLS configuration of the pair record the session used, for its connection.
pub(crate) async fn start_service_on(
    mux: &Usbmuxd,
    device: &AttachedDevice,
    service: &str,
    timeout: Duration,
) -> Result<(ServicePort, Arc<ClientConfig>), DeviceError> {
    let (record, stream) = tokio::join!(
        mux.read_pair_record(&device.udid),
        mux.connect(device.device_id, LOCKDOWN_PORT, "lockdownd")
    );
    let record = record?.ok_or_else(|| DeviceError::NotPaired(device.udid.clone()))?;
    let config = tls::client_config(&record)?;
    let mut lockdown = Lockdown::new(stream?, timeout)
        .start_session(&record, config.clone())
        .await?;
    let port = lockdown.start_service(service).await?;
    Ok((port, config))
}

/// One reply from lockdownd: what was asked for, or its `Error` string.
enum Reply {
    Answer(plist::Dictionary),
    Refused(String),
}

/// lockdownd's error strings that mean something at the bench.
fn lockdown_error(what: &'static str, error: &str) -> DeviceError {
    match error {
        "InvalidHostID" => DeviceError::PairingInvalid,
        "PasswordProtected" => DeviceError::PasscodeLocked,
        "UserDeniedPairing" => DeviceError::UserDenied,
        "PairingDialogResponsePending" => DeviceError::TrustPending,
        other => DeviceError::Refused {
            what,
            error: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn reply(pairs: &[(&str, plist::Value)]) -> Vec<u8> {
        let d: plist::Dictionary = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        plist_frame::encode(&d)
    }

    /// A phone that refuses one of several pipelined GetValues (here with an error other than
    /// MissingValue) still answers the rest: `get_each_value` keeps them, `get_values` fails.
    #[tokio::test]
    async fn one_refused_query_leaves_the_others_answered() {
        let answers = || {
            let mut bytes = reply(&[
                ("Request", "GetValue".into()),
                ("Error", "InvalidDomain".into()),
            ]);
            bytes.extend(reply(&[
                ("Request", "GetValue".into()),
                ("Value", true.into()),
            ]));
            bytes
        };
        let queries = [
            ValueQuery {
                domain: Some("com.apple.fmip"),
                key: Some("IsAssociated"),
            },
            ValueQuery {
                domain: None,
                key: Some("ProductType"),
            },
        ];
        for each in [true, false] {
            let (ours, mut phone) = tokio::io::duplex(64 * 1024);
            phone.write_all(&answers()).await.unwrap();
            let mut lockdown = Lockdown::new(Box::new(ours), Duration::from_secs(5));
            if each {
                let values = lockdown.get_each_value(&queries).await.unwrap();
                assert!(matches!(
                    &values[0],
                    Err(DeviceError::Refused { error, .. }) if error == "InvalidDomain"
                ));
                assert_eq!(
                    values[1].as_ref().unwrap(),
                    &Some(plist::Value::Boolean(true))
                );
            } else {
                assert!(lockdown.get_values(&queries).await.is_err());
            }
        }
    }
}
