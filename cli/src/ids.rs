//! The ids of a bulk run, read once from the arguments, a file or standard
//! input, and checked in full before anything is sent.

use crate::args::BulkArgs;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader};

/// Bytes per chunk of id text: ids are appended to the last chunk until it
/// is full, so the text never moves once stored and its buffer never
/// doubles.
const CHUNK: usize = 1 << 20;

/// The ids of one run: unique, in input order, stored compactly.
///
/// A million ids of 24 bytes take about 43 MB here, against about 150 MB as
/// a set of `String`s: their bytes sit in 1 MiB chunks, each id is one
/// `u64` naming its chunk, offset and length, and duplicates are found
/// with a hash table of 4-byte positions whose entries are compared with
/// the stored bytes, so a hash collision never merges two ids.
pub struct Ids {
    chunks: Vec<String>,
    /// Per id: chunk (bits 32..), offset in the chunk (bits 11..32) and
    /// length (bits 0..11, at most `MAX_USER_ID_BYTES`).
    spans: Vec<u64>,
    table: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
    /// Ids read, duplicates included.
    pub read: u64,
}

const LEN_BITS: u32 = 11;
const OFFSET_BITS: u32 = 21;

impl Ids {
    fn new() -> Self {
        Self {
            chunks: Vec::new(),
            spans: Vec::new(),
            table: HashTable::new(),
            hasher: Default::default(),
            read: 0,
        }
    }

    /// Distinct ids.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The id at `position` (in input order).
    pub fn get(&self, position: usize) -> &str {
        span_text(&self.chunks, self.spans[position])
    }

    /// Every distinct id, in input order.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|&span| span_text(&self.chunks, span))
    }

    /// The position of `id`, if it was read.
    pub fn position(&self, id: &str) -> Option<usize> {
        let (chunks, spans) = (&self.chunks, &self.spans);
        self.table
            .find(self.hasher.hash_one(id), |&i| {
                span_text(chunks, spans[i as usize]) == id
            })
            .map(|&i| i as usize)
    }

    fn add(&mut self, id: &str, place: impl Fn() -> String) -> Result<(), String> {
        runalloy_embedded::check_user_id(id).map_err(|e| match e {
            runalloy_embedded::Error::InvalidInput(why) => format!("{}: {why}", place()),
            other => format!("{}: {other}", place()),
        })?;
        self.read += 1;
        if self.position(id).is_some() {
            return Ok(());
        }
        let index = u32::try_from(self.spans.len())
            .map_err(|_| format!("{}: more than {} distinct ids", place(), u32::MAX))?;
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + id.len() > c.capacity())
        {
            self.chunks.push(String::with_capacity(CHUNK.max(id.len())));
        }
        let chunk = self.chunks.len() - 1;
        let text = &mut self.chunks[chunk];
        let offset = text.len();
        text.push_str(id);
        // `check_user_id` bounds the length at 1,024 bytes, and a chunk
        // holds 1 MiB, so both fit their bits.
        self.spans.push(
            ((chunk as u64) << (LEN_BITS + OFFSET_BITS))
                | ((offset as u64) << LEN_BITS)
                | id.len() as u64,
        );
        let (chunks, spans, hasher) = (&self.chunks, &self.spans, &self.hasher);
        self.table.insert_unique(hasher.hash_one(id), index, |&i| {
            hasher.hash_one(span_text(chunks, spans[i as usize]))
        });
        Ok(())
    }
}

fn span_text(chunks: &[String], span: u64) -> &str {
    let chunk = (span >> (LEN_BITS + OFFSET_BITS)) as usize;
    let offset = ((span >> LEN_BITS) & ((1 << OFFSET_BITS) - 1)) as usize;
    let len = (span & ((1 << LEN_BITS) - 1)) as usize;
    &chunks[chunk][offset..offset + len]
}

/// Reads every id once, from the arguments, a file or standard input (`-`),
/// and checks each. A pipe has nothing left to read a second time, so the
/// ids are kept in memory, compactly (see [`Ids`]).
pub fn read_ids(args: &BulkArgs) -> Result<Ids, String> {
    let mut ids = Ids::new();
    match &args.from_file {
        Some(path) if path.as_os_str() == "-" => {
            read_lines(std::io::stdin().lock(), "standard input", &mut ids)?;
        }
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            read_lines(BufReader::new(file), &path.display().to_string(), &mut ids)?;
        }
        None => {
            for id in &args.user_ids {
                ids.add(id, || format!("argument {:?}", id))?;
            }
        }
    }
    Ok(ids)
}

/// One id per line. A leading byte-order mark and `\r\n` endings are
/// dropped, spaces around an id are trimmed, and empty lines are skipped; a
/// line of only whitespace is refused. A read error fails the whole run.
fn read_lines(reader: impl BufRead, name: &str, ids: &mut Ids) -> Result<(), String> {
    for (n, line) in reader.split(b'\n').enumerate() {
        let place = || format!("{name} line {}", n + 1);
        let line = line.map_err(|e| format!("cannot read {name}: {e}"))?;
        let text = std::str::from_utf8(&line).map_err(|_| format!("{}: not UTF-8", place()))?;
        let text = if n == 0 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        let trimmed = text.trim();
        ids.add(if trimmed.is_empty() { text } else { trimmed }, place)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Ids {
        let mut ids = Ids::new();
        read_lines(text.as_bytes(), "test", &mut ids).unwrap();
        ids
    }

    #[test]
    fn ids_keep_their_order_and_bytes_and_repeats_count_once() {
        let ids = read("b\na\nb\n\u{e9}t\u{e9}\na\n");
        assert_eq!(ids.iter().collect::<Vec<_>>(), ["b", "a", "\u{e9}t\u{e9}"]);
        assert_eq!((ids.len(), ids.read), (3, 5));
        assert_eq!(ids.position("\u{e9}t\u{e9}"), Some(2));
        assert_eq!(ids.get(1), "a");
        assert_eq!(ids.position("c"), None);
    }

    #[test]
    fn many_ids_span_chunks_and_the_longest_id_fits() {
        let long = "x".repeat(runalloy_embedded::MAX_USER_ID_BYTES);
        let mut text = String::new();
        for i in 0..3_000 {
            text.push_str(&format!("{long}{i}\n").replacen('x', "", i.to_string().len()));
        }
        let ids = read(&text);
        assert_eq!(ids.len(), 3_000);
        assert!(ids.chunks.len() > 1);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(id.len(), runalloy_embedded::MAX_USER_ID_BYTES);
            assert!(id.ends_with(&i.to_string()));
            assert_eq!(ids.position(id), Some(i));
        }
    }
}
