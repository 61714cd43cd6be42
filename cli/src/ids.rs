//! The ids of a bulk run, read once from the arguments, a file or standard
//! input, and checked in full before anything is sent.

use crate::args::BulkArgs;
use indexmap::IndexSet;
use std::io::{BufRead, BufReader};

/// The ids of one run: unique, in input order.
pub struct Ids {
    pub unique: IndexSet<String>,
    /// Ids read, duplicates included.
    pub read: u64,
}

impl Ids {
    fn add(&mut self, id: &str, place: impl Fn() -> String) -> Result<(), String> {
        runalloy_embedded::check_user_id(id).map_err(|e| match e {
            runalloy_embedded::Error::InvalidInput(why) => format!("{}: {why}", place()),
            other => format!("{}: {other}", place()),
        })?;
        self.read += 1;
        self.unique.insert(id.to_owned());
        Ok(())
    }
}

/// Reads every id once, from the arguments, a file or standard input (`-`),
/// and checks each. A pipe has nothing left to read a second time, so the
/// ids are kept in memory: about their length plus 40 bytes each.
pub fn read_ids(args: &BulkArgs) -> Result<Ids, String> {
    let mut ids = Ids {
        unique: IndexSet::new(),
        read: 0,
    };
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
