//! Mutated and random input never panics the snapshot parser or the facts layer: a file is
//! either read or refused with an error, and what is read always gives facts (odd values are
//! refused one by one, never the whole snapshot). A cheap, deterministic stand-in for a fuzzer
//! in every CI run.

use std::path::Path;

use synccheck_core::facts::{Catalog, DeviceFacts};
use synccheck_core::snapshot;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn exercise(bytes: &[u8]) {
    if let Ok(snap) = snapshot::parse_bytes(Path::new("mutant"), bytes) {
        let facts = DeviceFacts::from_snapshot(&snap, Catalog::builtin());
        for r in &facts.refused_values {
            assert!(
                !r.to_string().chars().any(char::is_control),
                "a refusal must print on one clean line: {r:?}"
            );
        }
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<Vec<u8>> = [
        "fixtures/healthy.plist",
        "fixtures/failures.plist",
        "fixtures/import/ideviceinfo-x.plist",
        "fixtures/import/pymobiledevice3-lockdown-info.json",
    ]
    .iter()
    .map(|p| std::fs::read(root.join(p)).unwrap())
    .collect();
    // The same snapshot as a binary plist, whose offsets and lengths are worth corrupting.
    let value = plist::Value::from_reader_xml(&seeds[0][..]).unwrap();
    let mut bin = Vec::new();
    value.to_writer_binary(&mut bin).unwrap();
    seeds.push(bin);
    seeds
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x5EED_CAFE_F00D_BEEF);
    for seed in seeds() {
        for _ in 0..400 {
            let mut m = seed.clone();
            for _ in 0..=rng.below(8) {
                let i = rng.below(m.len());
                match rng.below(4) {
                    0 => m[i] ^= 1 << rng.below(8),
                    1 => m[i] = rng.next() as u8,
                    2 => m.truncate(i.max(1)),
                    _ => {
                        let j = rng.below(m.len());
                        m.swap(i, j)
                    }
                }
            }
            exercise(&m);
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    for len in [0, 1, 8, 16, 40, 100, 1000] {
        for _ in 0..200 {
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 8 && rng.below(2) == 0 {
                bytes[..8].copy_from_slice(b"bplist00");
            }
            exercise(&bytes);
        }
    }
}
