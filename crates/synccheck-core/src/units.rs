//! How numbers are written for people: decimal gigabytes, as Settings shows them.

/// `118.4 GB`, `812 MB`: decimal units, because that is what the phone's Settings and the box use.
pub fn bytes(n: u64) -> String {
    const GB: f64 = 1e9;
    const MB: f64 = 1e6;
    let f = n as f64;
    if f >= 10.0 * GB {
        format!("{:.0} GB", f / GB)
    } else if f >= GB {
        format!("{:.1} GB", f / GB)
    } else {
        format!("{:.0} MB", f / MB)
    }
}

/// `1,204`: digits grouped by thousands, as counts are written for people.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `80.6 %`, or `80 %` when whole.
pub fn percent(p: f64) -> String {
    if (p - p.round()).abs() < 0.05 {
        format!("{:.0} %", p)
    } else {
        format!("{:.1} %", p)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::bytes(118_400_000_000), "118 GB");
        assert_eq!(super::bytes(1_450_000_000), "1.4 GB");
        assert_eq!(super::bytes(812_000_000), "812 MB");
        assert_eq!(super::percent(80.0), "80 %");
        assert_eq!(super::percent(80.64), "80.6 %");
    }
}
