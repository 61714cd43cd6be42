//! Keeps vendor text a string for YAML 1.1 readers too.
//!
//! The assembled spec is written by a YAML 1.2 emitter, which quotes only
//! what a YAML 1.2 reader would misread. PyYAML and SnakeYAML (and the tools
//! built on them) read YAML 1.1, where a plain `2024-09-30T20:13:32.491Z` is
//! a timestamp, `yes`/`no`/`on`/`off` are booleans and `1_000` or `1:30` are
//! numbers. [`quote_for_yaml_11`] single-quotes every plain scalar that YAML
//! 1.2 reads as a string and YAML 1.1 would not, so every reader gets the
//! vendor's text as written.

use regex::Regex;
use std::sync::LazyLock;

/// The YAML 1.1 types (<https://yaml.org/type/>) that a plain scalar can
/// resolve to besides a string: bool, null, int, float, timestamp. Floats
/// are matched as PyYAML reads them (one dot), so `3.0.1` stays a string.
static YAML_11_NOT_A_STRING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        // bool
        r"y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        // null
        r"|~|null|Null|NULL",
        // int: binary, octal, decimal, hex, sexagesimal
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        // float (as PyYAML reads it: one dot)
        r"|[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        // timestamp
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?",
        r"(?:[ \t]*Z|[-+][0-9]{1,2}(?::[0-9]{2})?)?",
        r")$"
    ))
    .expect("a valid pattern")
});

/// Whether YAML 1.2 reads the plain scalar `text` as a string and YAML 1.1
/// as something else.
pub fn misread_by_yaml_11(text: &str) -> bool {
    YAML_11_NOT_A_STRING.is_match(text)
        && matches!(
            serde_norway::from_str::<serde_norway::Value>(text),
            Ok(serde_norway::Value::String(_))
        )
}

/// `yaml` (as the YAML 1.2 emitter wrote it) with every plain scalar that
/// YAML 1.1 would misread single-quoted. Block scalars are left alone.
pub fn quote_for_yaml_11(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 64);
    // The indentation of a block scalar's header line, while inside one.
    let mut block: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let indent = content.len() - content.trim_start().len();
        if let Some(header) = block {
            if content.trim().is_empty() || indent > header {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let (quoted, opens_block) = quote_line(content);
        if opens_block {
            block = Some(indent);
        }
        out.push_str(&quoted);
        if line.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// One line, its value quoted if needed; and whether it opens a block scalar.
fn quote_line(line: &str) -> (String, bool) {
    let indent = line.len() - line.trim_start().len();
    let mut prefix = line[..indent].to_owned();
    let mut rest = &line[indent..];
    // Sequence items, possibly nested (`- - x`).
    while let Some(after) = rest.strip_prefix("- ") {
        prefix.push_str("- ");
        rest = after;
    }
    // A mapping entry: a plain or quoted key, then `: `.
    if let Some(split) = key_end(rest) {
        prefix.push_str(&rest[..split]);
        rest = &rest[split..];
    } else if rest == "-" || rest.ends_with(':') {
        return (line.to_owned(), false);
    }
    let opens_block = rest.starts_with('|') || rest.starts_with('>');
    let plain = !rest.is_empty()
        && !opens_block
        && !rest.starts_with(['\'', '"', '{', '[', '&', '*', '!', '#']);
    if plain && misread_by_yaml_11(rest) {
        (format!("{prefix}'{}'", rest.replace('\'', "''")), false)
    } else {
        (line.to_owned(), opens_block)
    }
}

/// Where the value of a mapping entry starts (after `key: `), if `text` is
/// one.
fn key_end(text: &str) -> Option<usize> {
    if let Some(quote) = text.chars().next().filter(|c| *c == '\'' || *c == '"') {
        // A quoted key: find its closing quote (doubled quotes escape in
        // single-quoted keys; the emitter's double-quoted keys escape with
        // a backslash).
        let mut chars = text.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && quote == '"' {
                chars.next();
            } else if c == quote {
                if quote == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    continue;
                }
                return text[i + 1..].starts_with(": ").then_some(i + 3);
            }
        }
        return None;
    }
    text.find(": ").map(|i| i + 2)
}

#[cfg(test)]
mod tests {
    use super::{misread_by_yaml_11, quote_for_yaml_11};

    #[test]
    fn what_yaml_1_1_misreads_is_quoted_and_nothing_else() {
        for misread in [
            "2024-09-30T20:13:32.491Z",
            "2023-11-03T12:42:48.304Z",
            "2024-09-30",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "1_000",
            "1:30",
            "017",
        ] {
            assert!(misread_by_yaml_11(misread), "{misread}");
        }
        for fine in [
            "Success",
            "true",
            "12",
            "1.5",
            "null",
            "bearer YOUR_API_KEY",
            "2025-09",
            "3.0.1",
        ] {
            assert!(!misread_by_yaml_11(fine), "{fine}");
        }
    }

    #[test]
    fn values_keys_lists_and_block_scalars() {
        let yaml = "a:\n  createdAt: 2024-09-30T20:13:32.491Z\n  n: 12\n  flag: true\n  '200': yes\n  list:\n  - on\n  - key: 1:30\n  text: |-\n    on\n    2024-09-30\n  after: off\n";
        assert_eq!(
            quote_for_yaml_11(yaml),
            "a:\n  createdAt: '2024-09-30T20:13:32.491Z'\n  n: 12\n  flag: true\n  '200': 'yes'\n  list:\n  - 'on'\n  - key: '1:30'\n  text: |-\n    on\n    2024-09-30\n  after: 'off'\n"
        );
    }
}
