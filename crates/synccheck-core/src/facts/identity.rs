use serde::Serialize;

use super::catalog::Catalog;
use super::read::Values;

/// Who the phone is. Serial, UDID and name are private to the customer: reports can redact them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Identity {
    pub name: Option<String>,
    /// Apple's identifier, e.g. iPhone14,5.
    pub product_type: Option<String>,
    /// The name on the box, e.g. iPhone 13, from the dated model table.
    pub marketing_name: Option<String>,
    /// ModelNumber + RegionInfo, e.g. MLPF3 + ZD/A, as Settings > General > About shows it.
    pub model_number: Option<String>,
    pub serial_number: Option<String>,
    pub udid: Option<String>,
    /// Activated, Unactivated, FactoryActivated...
    pub activation_state: Option<String>,
    /// Whether a passcode is set (lockdown's PasswordProtected).
    pub passcode_set: Option<bool>,
}

impl Identity {
    pub(super) fn read(root: &Values, catalog: &Catalog) -> Self {
        let owned = |key: &str| root.string(key).map(str::to_owned);
        let product_type = owned("ProductType");
        let model_number = match (root.string("ModelNumber"), root.string("RegionInfo")) {
            (Some(m), Some(r)) => Some(format!("{m}{r}")),
            (Some(m), None) => Some(m.to_owned()),
            _ => None,
        };
        Identity {
            name: owned("DeviceName"),
            marketing_name: product_type
                .as_deref()
                .and_then(|p| catalog.model(p))
                .map(|m| m.name.clone()),
            product_type,
            model_number,
            serial_number: owned("SerialNumber"),
            udid: owned("UniqueDeviceID"),
            activation_state: owned("ActivationState"),
            passcode_set: root.boolean("PasswordProtected"),
        }
    }
}
