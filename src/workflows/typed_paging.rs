//! Every page of a paged operation as a stream of its generated item type:
//! the walk behind the `stream()` that the build generates on the request
//! builder of every operation the spec declares paged (`x-runalloy-paging`),
//! with the rules of [`Client::paginate`](crate::Client::paginate): the
//! caller's page size, the ends, a repeated page, a failure after the items
//! before it.

use super::paging::Cursor;
use crate::transport::send;
use crate::{Error, Paging};
use futures::Stream;
use serde_json::Value;
use std::future::Future;

/// A page number or size as the generated builder holds it.
pub(crate) trait PageNumber {
    /// The number, if it is a whole number of at least zero.
    fn page_number(&self) -> Option<u64>;
}

macro_rules! page_numbers {
    ($($t:ty),*) => {$(
        impl PageNumber for $t {
            fn page_number(&self) -> Option<u64> {
                u64::try_from(*self).ok()
            }
        }
    )*};
}
page_numbers!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

impl PageNumber for f64 {
    fn page_number(&self) -> Option<u64> {
        (self.fract() == 0.0 && *self >= 0.0 && *self <= u64::MAX as f64).then_some(*self as u64)
    }
}

impl PageNumber for std::num::NonZeroU64 {
    fn page_number(&self) -> Option<u64> {
        Some(self.get())
    }
}

impl PageNumber for std::num::NonZeroU32 {
    fn page_number(&self) -> Option<u64> {
        Some(u64::from(self.get()))
    }
}

impl PageNumber for String {
    fn page_number(&self) -> Option<u64> {
        self.parse().ok()
    }
}

/// What the caller set on a builder's field, as a number: `Ok(None)` when
/// unset, an error naming it when it is not a whole number.
pub(crate) fn given<T: PageNumber>(
    operation: &str,
    name: &str,
    field: &Result<Option<T>, String>,
) -> Result<Option<u64>, Error> {
    match field {
        Ok(None) => Ok(None),
        Ok(Some(value)) => value.page_number().map(Some).ok_or_else(|| {
            Error::InvalidInput(format!(
                "{operation}: parameter `{name}` must be a whole number of at least 0"
            ))
        }),
        Err(why) => Err(Error::InvalidInput(format!("{operation}: {why}"))),
    }
}

/// Walks the pages of operation `operation` (its spec paging `paging`),
/// from `start` (the caller's position, else the first) with pages of the
/// caller's `limit` (lowered to the vendor's maximum), else the spec's
/// size; `fetch(position, size)` sends one page through the generated
/// builder. Yields each item decoded as `I`.
pub(crate) fn walk<'a, I, R, E, F, Fut>(
    operation: &'static str,
    paging: Option<Paging>,
    limit: Result<Option<u64>, Error>,
    start: Result<Option<u64>, Error>,
    fetch: F,
) -> impl Stream<Item = Result<I, Error>> + 'a
where
    I: serde::de::DeserializeOwned + 'a,
    F: Fn(u64, u64) -> Fut + 'a,
    Fut: Future<Output = Result<progenitor_client::ResponseValue<R>, progenitor_client::Error<E>>>
        + 'a,
    R: 'a,
    E: 'a,
{
    let begin = (|| {
        let paging = paging.ok_or_else(|| {
            Error::InvalidInput(format!("{operation}: the spec declares no paging for it"))
        })?;
        let limit = limit?;
        Ok::<_, Error>(Cursor::new(paging, limit, start?))
    })();
    futures::stream::unfold(Some((begin, fetch)), move |state| async move {
        let (walk, fetch) = state?;
        let mut walk = match walk {
            Ok(walk) => walk,
            Err(e) => return Some((Err(e), None)),
        };
        loop {
            if let Some(item) = walk.ready.pop_front() {
                let page = walk.fetched;
                let decoded = serde_json::from_value::<I>(item).map_err(|e| Error::Page {
                    page,
                    source: Box::new(Error::NotTheApi(format!(
                        "{operation}: an item of page {page} does not decode: {}",
                        crate::transport::error::DecodeFault::of(&e)
                    ))),
                });
                return Some((decoded, Some((Ok(walk), fetch))));
            }
            if walk.done {
                return None;
            }
            if let Err(e) = next_page(&mut walk, operation, &fetch).await {
                return Some((Err(e), None));
            }
        }
    })
}

/// Fetches the next page through the generated builder into `cursor`,
/// which judges whether it was the last.
async fn next_page<R, E, F, Fut>(
    cursor: &mut Cursor,
    operation: &'static str,
    fetch: &F,
) -> Result<(), Error>
where
    F: Fn(u64, u64) -> Fut,
    Fut: Future<Output = Result<progenitor_client::ResponseValue<R>, progenitor_client::Error<E>>>,
{
    let (result, summary, body) =
        send::recorded(Box::pin(fetch(cursor.position, cursor.size))).await;
    if let Err(error) = result {
        return Err(cursor.failed(send::from_generated(error, summary, body.as_deref()).await));
    }
    // The page as the API sent it: its items are decoded one by one as the
    // caller takes them, and compared with the page before.
    let answer: Value = body
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    cursor.take(operation, answer)
}
