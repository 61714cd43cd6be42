//! Path checks before a request leaves: the path must still fit the
//! operation's template, every path parameter is percent-encoded strictly,
//! and parameters the vendor also declares in the query are copied there.

use crate::spec::Operation;
use std::borrow::Cow;

/// Refuses a URL whose path no longer matches the operation's template.
///
/// The URL parser resolves `.` and `..` segments and reads `\` as `/`, and an
/// empty parameter leaves an empty segment, so such ids would reach another
/// endpoint (`DELETE /users/..` becomes `DELETE /`). Comparing the final path
/// with the template catches all of them, for every operation.
pub(super) fn check_path(
    base_segments: usize,
    url: &reqwest::Url,
    op: &Operation,
) -> Result<(), String> {
    let matches = op.path_fits(url_segments(url, base_segments));
    if matches {
        Ok(())
    } else {
        Err(format!(
            "{}: a path parameter is empty, `.` or `..`, or contains `\\`, \
             so the request would go to `{}` instead of `{}`",
            op.id,
            url.path(),
            op.path
        ))
    }
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
/// progenitor's and the URL parser's escapes) and encoded again. Runs after
/// [`check_path`], so the segments line up with the template.
pub(super) fn encode_parameters_strictly(
    base_segments: usize,
    url: &mut reqwest::Url,
    op: &Operation,
) {
    // Each URL segment beside its template segment; the base URL's own
    // segments have none.
    let templates =
        || std::iter::repeat_n(None, base_segments).chain(op.path.split('/').skip(1).map(Some));
    let is_parameter = |t: Option<&str>| t.is_some_and(|t| t.starts_with('{'));
    // `Cow::from` borrows, and allocates nothing, when no byte needs
    // encoding: so it is for most ids (hex, uuids).
    let needs_encoding = |segment: &str| {
        let encoded = percent_encoding::percent_encode(segment.as_bytes(), PATH_PARAMETER);
        matches!(Cow::from(encoded), Cow::Owned(_))
    };
    let needed = url
        .path()
        .split('/')
        .skip(1)
        .zip(templates())
        .any(|(segment, t)| is_parameter(t) && needs_encoding(segment));
    if !needed {
        return;
    }
    let mut path = String::with_capacity(url.path().len() + 16);
    for (segment, t) in url.path().split('/').skip(1).zip(templates()) {
        path.push('/');
        if is_parameter(t) {
            let raw: Vec<u8> = percent_encoding::percent_decode_str(segment).collect();
            path.extend(percent_encoding::percent_encode(&raw, PATH_PARAMETER));
        } else {
            path.push_str(segment);
        }
    }
    url.set_path(&path);
}

/// Adds each of the operation's [`Operation::also_in_query`] parameters to
/// the query, with the value its path segment carries (decoded, then
/// encoded again as a query value). The vendor's document declares these
/// in the query of a path that names them, so the value goes in both places
/// and a server that reads either finds it. Runs after [`check_path`].
pub(super) fn copy_path_parameters_to_query(
    base_segments: usize,
    url: &mut reqwest::Url,
    op: &Operation,
) {
    if op.also_in_query.is_empty() {
        return;
    }
    let pairs: Vec<(&str, String)> = op
        .also_in_query
        .iter()
        .filter_map(|name| {
            let value = op.path_value(url_segments(url, base_segments), name)?;
            Some((*name, value.into_owned()))
        })
        .collect();
    let mut query = url.query_pairs_mut();
    for (name, value) in &pairs {
        query.append_pair(name, value);
    }
}

/// The URL's path segments after the base URL's own.
fn url_segments(url: &reqwest::Url, base_segments: usize) -> impl Iterator<Item = &str> {
    url.path().split('/').skip(1 + base_segments)
}
