//! Path checks before a request leaves: the path must still fit the
//! operation's template, every path parameter is percent-encoded strictly,
//! and parameters the vendor also declares in the query are copied there.

use crate::transport::spec::Operation;

/// Checks a request's path against `op`'s template and finishes it: refuses
/// a path that no longer fits, encodes each path parameter strictly, and
/// copies the parameters the vendor also declares in the query there.
///
/// One pass over the segments does the checking and finds what needs
/// changing; most requests need nothing changed but the query copy, so they
/// allocate nothing else. The hooks run this on every request.
pub(super) fn prepare_path(
    base_segments: usize,
    url: &mut reqwest::Url,
    op: &Operation,
) -> Result<(), String> {
    let mut needs_encoding = false;
    let mut copies: Vec<(&'static str, String)> = Vec::new();
    let segments = crate::transport::spec::segments(url.path()).skip(base_segments);
    let fits = op.match_path(segments, |name, segment| {
        needs_encoding |= !is_strictly_encoded(segment);
        if let Some(name) = op.also_in_query.iter().find(|n| **n == name) {
            let value = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
            copies.push((name, value.into_owned()));
        }
    });
    if !fits {
        return Err(misfit(url, op));
    }
    if needs_encoding {
        encode_parameters_strictly(base_segments, url, op);
    }
    copy_to_query(url, &copies);
    Ok(())
}

/// Why a URL whose path no longer matches the operation's template is
/// refused.
///
/// The URL parser resolves `.` and `..` segments and reads `\` as `/`, and an
/// empty parameter leaves an empty segment, so such ids would reach another
/// endpoint (`DELETE /users/..` becomes `DELETE /`). Comparing the final path
/// with the template catches all of them, for every operation.
fn misfit(url: &reqwest::Url, op: &Operation) -> String {
    format!(
        "{}: a path parameter is empty, `.` or `..`, or contains `\\`, \
         so the request would go to `{}` instead of `{}`",
        op.id,
        url.path(),
        op.path
    )
}

/// Whether strict encoding ([`PATH_PARAMETER`]) leaves `segment` as it is.
/// `Cow::from` borrows, and allocates nothing, when no byte needs encoding.
fn is_strictly_encoded(segment: &str) -> bool {
    let encoded = percent_encoding::percent_encode(segment.as_bytes(), PATH_PARAMETER);
    matches!(
        std::borrow::Cow::from(encoded),
        std::borrow::Cow::Borrowed(_)
    )
}

/// Characters left as they are in a path parameter: RFC 3986's unreserved
/// set. Everything else is percent-encoded.
const PATH_PARAMETER: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Re-encodes each path parameter so that only unreserved characters stay
/// literal.
///
/// progenitor escapes only `/`, `?`, `#`, `%` and space, so `victim;x` would
/// leave as `/users/victim;x`, which servers that read `;` (or `,`, `=`,
/// `@`) as structure route to `victim`. The parameter is decoded once (undoing
/// progenitor's and the URL parser's escapes) and encoded again. Called by
/// [`prepare_path`] once the path fits, so the segments line up with the
/// template.
fn encode_parameters_strictly(base_segments: usize, url: &mut reqwest::Url, op: &Operation) {
    // Each URL segment beside its template segment; the base URL's own
    // segments have none.
    let templates = std::iter::repeat_n(None, base_segments)
        .chain(crate::transport::spec::segments(op.path).map(Some));
    let mut path = String::with_capacity(url.path().len() + 16);
    for (segment, t) in crate::transport::spec::segments(url.path()).zip(templates) {
        path.push('/');
        if t.is_some_and(|t| t.starts_with('{')) {
            let raw: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
            path.extend(percent_encoding::percent_encode(&raw, PATH_PARAMETER));
        } else {
            path.push_str(segment);
        }
    }
    url.set_path(&path);
}

/// Adds each `(name, value)` of `copies` to the query: the operation's
/// [`Operation::also_in_query`] parameters, with the value their path
/// segment carries (decoded, then encoded again as a query value). The
/// vendor's document declares these in the query of a path that names
/// them, so the value goes in both places and a server that reads either
/// finds it.
fn copy_to_query(url: &mut reqwest::Url, copies: &[(&str, String)]) {
    if copies.is_empty() {
        return;
    }
    let mut query = url.query_pairs_mut();
    for (name, value) in copies {
        query.append_pair(name, value);
    }
}

/// The longest value a path parameter may have, in bytes.
pub(crate) const MAX_PATH_VALUE_BYTES: usize = 1024;

/// Why `value` cannot travel as one path segment, if it cannot: the rules of
/// `check_user_id`, for any path parameter.
pub(crate) fn check_path_value(value: &str) -> Result<(), &'static str> {
    Err(if value.is_empty() {
        "is empty"
    } else if value.trim().is_empty() {
        "is only whitespace"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else if value.len() > MAX_PATH_VALUE_BYTES {
        "is longer than 1024 bytes"
    } else if value == "." || value == ".." {
        "is `.` or `..`, which would address another endpoint"
    } else if value.contains('\\') {
        "contains `\\`, which URLs read as `/`"
    } else {
        return Ok(());
    })
}
