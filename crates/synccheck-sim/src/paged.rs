//! A large file served without holding it: its pages, each kept as its first four bytes and a
//! shared body. The realistic libraries' bulk is media-analysis blobs (scene prints, face
//! prints) made of one repeating pattern, so their SQLite overflow pages differ only in their
//! first four bytes, the number of the next overflow page: thousands of pages share a handful
//! of bodies, and a 0.7 GB `Photos.sqlite` costs the simulator the asset rows and indexes, not
//! the blobs. Every page is rebuilt on read from its head and body, so the bytes served are the
//! file SQLite wrote, byte for byte, whatever kind of page it is.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::synth::SynthError;

/// The unit of deduplication: SQLite's default page size, which the synthetic libraries use.
pub const PAGE: usize = 4096;
/// The bytes of a page kept per page: an overflow page's pointer to the next one.
const HEAD: usize = 4;

/// A file as deduplicated pages.
pub struct PagedFile {
    len: u64,
    /// Per page: its first bytes and the index of the rest in `bodies`.
    pages: Vec<([u8; HEAD], u32)>,
    bodies: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for PagedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagedFile")
            .field("len", &self.len)
            .field("pages", &self.pages.len())
            .field("bodies", &self.bodies.len())
            .finish()
    }
}

impl PagedFile {
    /// Reads a file page by page (never whole into memory).
    pub fn from_path(path: &Path) -> Result<PagedFile, SynthError> {
        let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
        let mut builder = Builder::default();
        let mut page = vec![0u8; PAGE];
        loop {
            let n = read_full(&mut file, &mut page)?;
            if n == 0 {
                break;
            }
            builder.push(&page[..n]);
            if n < PAGE {
                break;
            }
        }
        Ok(builder.finish())
    }

    pub fn from_bytes(bytes: &[u8]) -> PagedFile {
        let mut builder = Builder::default();
        for page in bytes.chunks(PAGE) {
            builder.push(page);
        }
        builder.finish()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Distinct page bodies kept: what the file costs in memory, in pages.
    pub fn distinct_pages(&self) -> usize {
        self.bodies.len()
    }

    /// The bytes in `start..end` (clamped to the file).
    pub fn read(&self, start: u64, end: u64) -> Vec<u8> {
        let end = end.min(self.len);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut pos = start;
        while pos < end {
            let index = (pos / PAGE as u64) as usize;
            let within = (pos % PAGE as u64) as usize;
            let (head, body) = &self.pages[index];
            let body = &self.bodies[*body as usize];
            let page_len = (self.len - index as u64 * PAGE as u64).min(PAGE as u64) as usize;
            let take = ((end - pos) as usize).min(page_len - within);
            let until = within + take;
            if within < HEAD {
                out.extend_from_slice(&head[within..until.min(HEAD)]);
            }
            if until > HEAD {
                out.extend_from_slice(&body[within.max(HEAD) - HEAD..until - HEAD]);
            }
            pos += take as u64;
        }
        out
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.read(0, self.len)
    }
}

fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            got => n += got,
        }
    }
    Ok(n)
}

#[derive(Default)]
struct Builder {
    len: u64,
    pages: Vec<([u8; HEAD], u32)>,
    bodies: Vec<Box<[u8]>>,
    /// Body hash → indexes of the bodies with that hash.
    seen: HashMap<u64, Vec<u32>>,
}

impl Builder {
    fn push(&mut self, page: &[u8]) {
        self.len += page.len() as u64;
        let split = HEAD.min(page.len());
        let mut head = [0u8; HEAD];
        head[..split].copy_from_slice(&page[..split]);
        let body = &page[split..];
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let candidates = self.seen.entry(hasher.finish()).or_default();
        let index = match candidates
            .iter()
            .find(|&&i| *self.bodies[i as usize] == *body)
        {
            Some(&i) => i,
            None => {
                let i = u32::try_from(self.bodies.len()).expect("fewer than 2^32 pages");
                self.bodies.push(body.into());
                candidates.push(i);
                i
            }
        };
        self.pages.push((head, index));
    }

    fn finish(self) -> PagedFile {
        PagedFile {
            len: self.len,
            pages: self.pages,
            bodies: self.bodies,
        }
    }
}

/// A served file's bytes: held whole, or as [`PagedFile`] pages.
#[derive(Debug, Clone)]
pub(crate) enum Contents {
    Flat(Arc<Vec<u8>>),
    Paged(Arc<PagedFile>),
}

impl Contents {
    pub fn len(&self) -> u64 {
        match self {
            Contents::Flat(b) => b.len() as u64,
            Contents::Paged(p) => p.len(),
        }
    }

    /// The bytes in `start..end` (clamped to the file).
    pub fn read(&self, start: u64, end: u64) -> Vec<u8> {
        match self {
            Contents::Flat(b) => {
                let end = end.min(b.len() as u64) as usize;
                let start = (start as usize).min(end);
                b[start..end].to_vec()
            }
            Contents::Paged(p) => p.read(start, end),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.read(0, self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sharing_a_body_are_kept_once_and_read_back_exactly() {
        let mut bytes = Vec::new();
        for i in 0..50u32 {
            bytes.extend_from_slice(&(i + 7).to_be_bytes());
            bytes.extend(std::iter::repeat_n(0xA5u8, PAGE - HEAD));
        }
        bytes.extend_from_slice(b"a short tail");
        let paged = PagedFile::from_bytes(&bytes);
        assert_eq!(paged.len(), bytes.len() as u64);
        assert_eq!(paged.distinct_pages(), 2);
        assert_eq!(paged.to_vec(), bytes);
        for (a, b) in [(0, 1), (3, 4099), (4095, 8200), (200_000, 204_810), (0, 0)] {
            assert_eq!(
                paged.read(a, b),
                bytes[(a as usize).min(bytes.len())..(b as usize).min(bytes.len())],
                "{a}..{b}"
            );
        }
        assert!(paged
            .read(bytes.len() as u64 + 10, bytes.len() as u64 + 20)
            .is_empty());
    }

    #[test]
    fn from_path_equals_from_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..3 * PAGE + 17).map(|i| (i / 5) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(PagedFile::from_path(&path).unwrap().to_vec(), bytes);
        std::fs::write(&path, b"").unwrap();
        assert!(PagedFile::from_path(&path).unwrap().is_empty());
    }
}
