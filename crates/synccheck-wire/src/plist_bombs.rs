//! Hostile plists, built on demand: reuse bombs and deep nesting, for the simulator's faults
//! (`sim --fault plist-bomb`, `deep-plist`, `afc-plist-bomb`), the tests and the `plist_bounded`
//! fuzz target. Generated rather than committed: a bomb is a few hundred bytes of recipe.
//!
//! A binary plist (`bplist00`) is a header, the objects, an offset table giving where each object
//! starts, and a 32-byte trailer (offset and reference sizes, object count, root, table offset).
//! Containers hold object *indices*, so any number of entries may name one object: that reuse
//! is what makes a bomb small.

/// One object of a binary plist under construction.
enum Object {
    Array(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    /// ASCII string.
    String(Vec<u8>),
    Integer(u64),
    /// A string header announcing `len` bytes that do not follow.
    AnnouncedString(u64),
}

/// A minimal binary plist writer: objects are added and referred to by their index.
#[derive(Default)]
pub struct BinaryPlist {
    objects: Vec<Object>,
}

impl BinaryPlist {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&mut self, object: Object) -> usize {
        self.objects.push(object);
        self.objects.len() - 1
    }

    pub fn array(&mut self, items: Vec<usize>) -> usize {
        self.add(Object::Array(items))
    }

    pub fn dict(&mut self, pairs: Vec<(usize, usize)>) -> usize {
        self.add(Object::Dict(pairs))
    }

    /// An ASCII string (other characters are replaced by `?`).
    pub fn string(&mut self, s: &str) -> usize {
        let bytes = s
            .bytes()
            .map(|b| if b.is_ascii() { b } else { b'?' })
            .collect();
        self.add(Object::String(bytes))
    }

    pub fn integer(&mut self, i: u64) -> usize {
        self.add(Object::Integer(i))
    }

    /// A dictionary of string keys and string values plus `key` → `value` (an object index).
    pub fn message(&mut self, fields: &[(&str, &str)], key: &str, value: usize) -> usize {
        let mut pairs: Vec<(usize, usize)> = fields
            .iter()
            .map(|(k, v)| (self.string(k), self.string(v)))
            .collect();
        let k = self.string(key);
        pairs.push((k, value));
        self.dict(pairs)
    }

    /// The file, with `root` as its top-level object.
    pub fn finish(&self, root: usize) -> Vec<u8> {
        let ref_size = width_for(self.objects.len() as u64);
        let mut out = b"bplist00".to_vec();
        let mut offsets = Vec::with_capacity(self.objects.len());
        for object in &self.objects {
            offsets.push(out.len() as u64);
            match object {
                Object::Array(items) => {
                    marker(&mut out, 0xA0, items.len() as u64);
                    for &i in items {
                        be(&mut out, i as u64, ref_size);
                    }
                }
                Object::Dict(pairs) => {
                    marker(&mut out, 0xD0, pairs.len() as u64);
                    for &(k, _) in pairs {
                        be(&mut out, k as u64, ref_size);
                    }
                    for &(_, v) in pairs {
                        be(&mut out, v as u64, ref_size);
                    }
                }
                Object::String(bytes) => {
                    marker(&mut out, 0x50, bytes.len() as u64);
                    out.extend_from_slice(bytes);
                }
                Object::Integer(i) => integer(&mut out, *i),
                Object::AnnouncedString(len) => marker(&mut out, 0x50, *len),
            }
        }
        let table = out.len() as u64;
        let offset_size = width_for(table);
        for o in offsets {
            be(&mut out, o, offset_size);
        }
        out.extend_from_slice(&[0; 6]);
        out.push(offset_size as u8);
        out.push(ref_size as u8);
        out.extend_from_slice(&(self.objects.len() as u64).to_be_bytes());
        out.extend_from_slice(&(root as u64).to_be_bytes());
        out.extend_from_slice(&table.to_be_bytes());
        out
    }
}

/// Bytes needed for indices or offsets below `n`: 1, 2, 4 or 8.
fn width_for(n: u64) -> usize {
    match n {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFFFF_FFFF => 4,
        _ => 8,
    }
}

fn be(out: &mut Vec<u8>, value: u64, width: usize) {
    out.extend_from_slice(&value.to_be_bytes()[8 - width..]);
}

fn integer(out: &mut Vec<u8>, i: u64) {
    let width = width_for(i.saturating_add(1));
    out.push(0x10 | width.trailing_zeros() as u8);
    be(out, i, width);
}

/// An object marker with its length: in the low nibble, or 0xF and an integer after it.
fn marker(out: &mut Vec<u8>, kind: u8, len: u64) {
    if len < 15 {
        out.push(kind | len as u8);
    } else {
        out.push(kind | 0x0F);
        integer(out, len);
    }
}

/// A hostile value, built into a [`BinaryPlist`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bomb {
    /// `levels` arrays, each of `width` references to the next: width^levels values once read.
    Reuse { levels: u32, width: u32 },
    /// As `Reuse`, with a string of `len` bytes at the bottom: width^levels × len bytes.
    StringReuse { levels: u32, width: u32, len: u32 },
    /// `depth` nested arrays (or dictionaries, each with one key), all distinct objects.
    Deep { depth: u32, dicts: bool },
}

impl Bomb {
    /// Adds the bomb's objects; returns its top object.
    pub fn build(self, plist: &mut BinaryPlist) -> usize {
        match self {
            Bomb::Reuse { levels, width } => reuse(plist, levels, width, None),
            Bomb::StringReuse { levels, width, len } => reuse(plist, levels, width, Some(len)),
            Bomb::Deep { depth, dicts } => {
                let key = plist.string("k");
                let mut inner = plist.integer(0);
                for _ in 0..depth {
                    inner = if dicts {
                        plist.dict(vec![(key, inner)])
                    } else {
                        plist.array(vec![inner])
                    };
                }
                inner
            }
        }
    }

    /// The bomb alone, as a binary plist file.
    pub fn bytes(self) -> Vec<u8> {
        let mut plist = BinaryPlist::new();
        let root = self.build(&mut plist);
        plist.finish(root)
    }

    /// A dictionary of `fields` with the bomb under `key` (a lockdown reply, a state file).
    pub fn in_message(self, fields: &[(&str, &str)], key: &str) -> Vec<u8> {
        let mut plist = BinaryPlist::new();
        let bomb = self.build(&mut plist);
        let root = plist.message(fields, key, bomb);
        plist.finish(root)
    }
}

fn reuse(plist: &mut BinaryPlist, levels: u32, width: u32, leaf_len: Option<u32>) -> usize {
    let mut inner = match leaf_len {
        Some(len) => plist.string(&"x".repeat(len as usize)),
        None => plist.integer(0),
    };
    for _ in 0..levels {
        inner = plist.array(vec![inner; width as usize]);
    }
    inner
}

/// [`Bomb::Reuse`] as a file.
pub fn reuse_bomb(levels: u32, width: u32) -> Vec<u8> {
    Bomb::Reuse { levels, width }.bytes()
}

/// [`Bomb::StringReuse`] as a file.
pub fn string_reuse_bomb(levels: u32, width: u32, len: u32) -> Vec<u8> {
    Bomb::StringReuse { levels, width, len }.bytes()
}

/// [`Bomb::Deep`] as a binary plist file.
pub fn deep_binary(depth: u32, dicts: bool) -> Vec<u8> {
    Bomb::Deep { depth, dicts }.bytes()
}

/// `depth` nested arrays (or single-key dictionaries) as an XML plist.
pub fn deep_xml(depth: usize, dicts: bool) -> Vec<u8> {
    let (open, leaf, close) = if dicts {
        ("<dict><key>k</key>", "<dict/>", "</dict>")
    } else {
        ("<array>", "<array/>", "</array>")
    };
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">");
    let inner = depth.saturating_sub(1);
    out.push_str(&open.repeat(inner));
    if depth > 0 {
        out.push_str(leaf);
    }
    out.push_str(&close.repeat(inner));
    out.push_str("</plist>");
    out.into_bytes()
}

/// An array whose only entry is itself.
pub fn self_referencing_array() -> Vec<u8> {
    let mut plist = BinaryPlist::new();
    let me = plist.array(vec![0]);
    plist.finish(me)
}

/// One string object announcing 2^62 bytes that are not there.
pub fn huge_announced_string() -> Vec<u8> {
    let mut plist = BinaryPlist::new();
    let s = plist.add(Object::AnnouncedString(1 << 62));
    plist.finish(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_writes_what_the_plist_crate_reads() {
        let mut p = BinaryPlist::new();
        let items: Vec<usize> = (0..20).map(|i| p.integer(i * 1000)).collect();
        let list = p.array(items);
        let root = p.message(&[("Request", "GetValue")], "Value", list);
        let value: plist::Value = plist::from_bytes(&p.finish(root)).unwrap();
        let d = value.as_dictionary().unwrap();
        assert_eq!(d["Request"].as_string(), Some("GetValue"));
        let list = d["Value"].as_array().unwrap();
        assert_eq!(list.len(), 20);
        assert_eq!(list[19].as_unsigned_integer(), Some(19_000));
    }

    #[test]
    fn a_small_bomb_reads_as_its_expansion() {
        let value: plist::Value = plist::from_bytes(&reuse_bomb(2, 16)).unwrap();
        let outer = value.as_array().unwrap();
        assert_eq!(outer.len(), 16);
        assert!(outer.iter().all(|v| v.as_array().unwrap().len() == 16));
        let deep: plist::Value = plist::from_bytes(&deep_xml(3, true)).unwrap();
        assert!(deep.as_dictionary().unwrap()["k"].as_dictionary().is_some());
    }
}
