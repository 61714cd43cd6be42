//! The ids of a bulk run, read once from the arguments, a file or standard
//! input, and checked in full before anything is sent.

use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Bytes per chunk of id text: ids are appended to the last chunk while
/// they fit, so the text never moves once stored and no buffer doubles.
const CHUNK_BITS: u32 = 20;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The ids of one run: unique, in input order, stored compactly.
///
/// A million ids of 24 bytes take about 29 MB here while a run goes on,
/// against about 150 MB as a set of `String`s. Their bytes sit in 1 MiB
/// chunks, each ended by a newline (which no id contains); each id is the
/// `u32` offset of its first byte; and while the ids are read (and the
/// report matched to them), duplicates are found with a hash table of
/// 4-byte positions whose entries are compared with the stored bytes, so a
/// hash collision never merges two ids. [`Ids::seal`] drops the table.
pub struct Ids {
    chunks: Vec<String>,
    /// Per id: chunk (the high bits) and offset in it (the low
    /// `CHUNK_BITS`), so at most 4 GiB of ids.
    starts: Vec<u32>,
    table: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
    /// Ids read, duplicates included.
    pub read: u64,
}

impl Ids {
    fn new() -> Self {
        Self {
            chunks: Vec::new(),
            starts: Vec::new(),
            table: HashTable::new(),
            hasher: Default::default(),
            read: 0,
        }
    }

    /// Distinct ids.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// The id at `position` (in input order).
    pub fn get(&self, position: usize) -> &str {
        text_at(&self.chunks, self.starts[position])
    }

    /// Every distinct id, in input order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.starts
            .iter()
            .map(|&start| text_at(&self.chunks, start))
    }

    /// The position of `id`, if it was read. Always `None` after
    /// [`Ids::seal`].
    pub fn position(&self, id: &str) -> Option<usize> {
        let (chunks, starts) = (&self.chunks, &self.starts);
        self.table
            .find(self.hasher.hash_one(id), |&i| {
                text_at(chunks, starts[i as usize]) == id
            })
            .map(|&i| i as usize)
    }

    /// Makes room for `more` ids without growing.
    fn reserve(&mut self, more: usize) {
        self.starts.reserve_exact(more);
        let (chunks, starts, hasher) = (&self.chunks, &self.starts, &self.hasher);
        self.table.reserve(more, |&i| {
            hasher.hash_one(text_at(chunks, starts[i as usize]))
        });
    }

    /// Frees the lookup table, once nothing needs to find an id by its text
    /// (the report is matched, and outcomes carry their position).
    pub fn seal(&mut self) {
        self.table = HashTable::new();
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
        let index = u32::try_from(self.starts.len())
            .map_err(|_| format!("{}: more than {} distinct ids", place(), u32::MAX))?;
        // `check_user_id` bounds an id at 1,024 bytes, far less than a chunk.
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + id.len() + 1 > CHUNK)
        {
            self.chunks.push(String::with_capacity(CHUNK));
        }
        let chunk = self.chunks.len() - 1;
        let start = u32::try_from((chunk << CHUNK_BITS) | self.chunks[chunk].len())
            .map_err(|_| format!("{}: more than 4 GiB of ids", place()))?;
        let text = &mut self.chunks[chunk];
        text.push_str(id);
        text.push('\n');
        self.starts.push(start);
        let (chunks, starts, hasher) = (&self.chunks, &self.starts, &self.hasher);
        self.table.insert_unique(hasher.hash_one(id), index, |&i| {
            hasher.hash_one(text_at(chunks, starts[i as usize]))
        });
        Ok(())
    }
}

/// The id starting at `start`: up to its newline.
fn text_at(chunks: &[String], start: u32) -> &str {
    let chunk = &chunks[(start >> CHUNK_BITS) as usize];
    let rest = &chunk[(start as usize) & (CHUNK - 1)..];
    rest.split_once('\n').map_or(rest, |(id, _)| id)
}

/// Reads every id once, from the arguments, a file or standard input (`-`),
/// and checks each. A pipe has nothing left to read a second time, so the
/// ids are kept in memory, compactly (see [`Ids`]).
pub fn read_ids(from_file: Option<&Path>, user_ids: &[String]) -> Result<Ids, String> {
    let mut ids = Ids::new();
    match from_file {
        Some(path) if path.as_os_str() == "-" => {
            read_lines(std::io::stdin().lock(), "standard input", &mut ids)?;
        }
        Some(path) => {
            let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
            let mut file = std::fs::File::open(path).map_err(cannot)?;
            // A file can be read twice: count its lines first, so that the
            // table and offsets are sized once rather than grown by
            // doubling, which briefly holds the old and the new copy.
            if file.metadata().map_err(cannot)?.is_file() {
                ids.reserve(count_lines(&mut file).map_err(cannot)?);
                std::io::Seek::rewind(&mut file).map_err(cannot)?;
            }
            read_lines(BufReader::new(file), &path.display().to_string(), &mut ids)?;
        }
        None => {
            for id in user_ids {
                ids.add(id, || format!("argument {:?}", id))?;
            }
        }
    }
    Ok(ids)
}

/// The lines of `file` (a last one without a newline included).
fn count_lines(file: &mut std::fs::File) -> std::io::Result<usize> {
    use std::io::Read;
    let (mut lines, mut last) = (0, b'\n');
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            return Ok(lines + usize::from(last != b'\n'));
        }
        lines += block[..n].iter().filter(|&&b| b == b'\n').count();
        last = block[n - 1];
    }
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
        let mut sealed = ids;
        sealed.seal();
        assert_eq!(sealed.position(sealed.get(0)), None);
        assert!(sealed.get(2_999).ends_with("2999"));
    }
}
