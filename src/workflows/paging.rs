//! Every page of a paged operation, as one stream of items, driven by the
//! paging the spec declares (`x-runalloy-paging`): no code per operation.

use crate::{Client, Error, OperationCall, PageStyle, Paging};
use futures::Stream;
use serde_json::Value;
use std::collections::VecDeque;

/// Where a walk through the pages stands, however its pages are fetched
/// (here through the operation table, in `typed_paging.rs` through the
/// generated builder): what to ask for next, and the rules that judge each
/// page. One place, so that both walks end and fail alike.
pub(crate) struct Cursor {
    paging: Paging,
    /// The page size asked for: the caller's limit (at most the vendor's
    /// documented maximum, where there is one), else the spec's.
    pub(crate) size: u64,
    /// The next page's position: an offset in items, or a page number.
    pub(crate) position: u64,
    /// Pages fetched so far.
    pub(crate) fetched: u32,
    /// The last page's items, to tell a server that ignores the position.
    last: Option<Vec<Value>>,
    pub(crate) ready: VecDeque<Value>,
    pub(crate) done: bool,
}

impl Cursor {
    /// A walk from `start` (else the first position) in pages of `limit`
    /// (at least 1, at most the vendor's maximum), else the spec's size.
    pub(crate) fn new(paging: Paging, limit: Option<u64>, start: Option<u64>) -> Self {
        let cap = u64::from(paging.max_page_size.unwrap_or(u32::MAX));
        let size = limit.map_or(u64::from(paging.page_size), |n| n.clamp(1, cap));
        let position = start.unwrap_or(match paging.style {
            PageStyle::Offset { .. } => 0,
            PageStyle::Page { first, .. } => u64::from(first),
        });
        Self {
            paging,
            size,
            position,
            fetched: 0,
            last: None,
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// The parameter that carries the position.
    pub(crate) fn position_param(&self) -> &'static str {
        position_param(&self.paging)
    }

    /// `source` as the failure of the next page.
    pub(crate) fn failed(&self, source: Error) -> Error {
        Error::Page {
            page: self.fetched + 1,
            source: Box::new(source),
        }
    }

    /// Takes the next page's `answer` (of operation `operation`): queues its
    /// items, and judges whether it was the last.
    pub(crate) fn take(&mut self, operation: &str, mut answer: Value) -> Result<(), Error> {
        let page = self.fetched + 1;
        self.fetched = page;
        let failed = |source: Error| Error::Page {
            page,
            source: Box::new(source),
        };
        let total = self
            .paging
            .total_pages
            .and_then(|path| dotted(&answer, path))
            .and_then(Value::as_u64);
        // Taken out of the answer, which is dropped here: the items are
        // copied once, into the queue, beside the page kept to compare.
        let items = match dotted_mut(&mut answer, self.paging.items).map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(failed(Error::NotTheApi(format!(
                    "{operation}: the answer has no `{}` list",
                    self.paging.items
                ))));
            }
        };
        if !items.is_empty() && self.last.as_ref() == Some(&items) {
            self.done = true;
            return Err(failed(Error::NotTheApi(format!(
                "{operation}: page {page} repeats page {} (the server ignored `{}`)",
                page - 1,
                self.position_param()
            ))));
        }
        let received = items.len() as u64;
        self.done = received == 0
            || match total {
                Some(total) => u64::from(page) >= total,
                None => received < self.size,
            };
        self.position += match self.paging.style {
            PageStyle::Offset { .. } => received,
            PageStyle::Page { .. } => 1,
        };
        self.ready.extend(items.iter().cloned());
        self.last = Some(items);
        Ok(())
    }
}

/// Where a walk through the pages of an operation call stands.
struct Walk {
    call: OperationCall,
    cursor: Cursor,
}

impl Client {
    /// Every item of a paged operation ([`Operation::paging`](crate::Operation::paging)),
    /// page after page, as one stream. `call` gives the other parameters;
    /// a position or a limit it sets is where the walk starts and the page
    /// size (lowered to the maximum the vendor documents, where it
    /// documents one, as for `get-workflow-logs`: 30).
    ///
    /// It ends on an empty page, at the answer's page count where it gives
    /// one, or else on a short page. A page that repeats the one before (a
    /// server ignoring the position) ends it with an error, never a loop.
    /// A failure comes after the items of the pages before it, as
    /// [`Error::Page`] naming the page.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {
    /// use futures::StreamExt;
    /// use runalloy_embedded::OperationCall;
    ///
    /// let call = OperationCall::new("get-logs")?.param("associatedUserId", "6323d7c9122ae69742a5d0a2")?;
    /// let mut logs = std::pin::pin!(client.paginate(call));
    /// while let Some(log) = logs.next().await {
    ///     println!("{}", log?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn paginate(&self, call: OperationCall) -> impl Stream<Item = Result<Value, Error>> + '_ {
        let start = match call.operation().paging {
            Some(paging) => Walk::new(call, paging),
            None => Err(Error::InvalidInput(format!(
                "{}: the spec declares no paging for it",
                call.operation().id
            ))),
        };
        futures::stream::unfold(Some(start), move |state| async move {
            let mut walk = match state? {
                Ok(walk) => walk,
                Err(e) => return Some((Err(e), None)),
            };
            loop {
                if let Some(item) = walk.cursor.ready.pop_front() {
                    return Some((Ok(item), Some(Ok(walk))));
                }
                if walk.cursor.done {
                    return None;
                }
                if let Err(e) = walk.next_page(self).await {
                    return Some((Err(e), None));
                }
            }
        })
    }
}

impl Walk {
    fn new(call: OperationCall, paging: Paging) -> Result<Self, Error> {
        let given = |name: &str| -> Result<Option<u64>, Error> {
            call.param_value(name)
                .map(|text| {
                    text.parse::<u64>().map_err(|_| {
                        Error::InvalidInput(format!(
                            "{}: parameter `{name}` must be a whole number, not {text:?}",
                            call.operation().id
                        ))
                    })
                })
                .transpose()
        };
        let limit = given(paging.limit_param)?;
        let start = given(position_param(&paging))?;
        Ok(Self {
            cursor: Cursor::new(paging, limit, start),
            call,
        })
    }

    /// Fetches the next page into the cursor, which judges whether it was
    /// the last.
    async fn next_page(&mut self, client: &Client) -> Result<(), Error> {
        let cursor = &mut self.cursor;
        self.call
            .replace_param(cursor.paging.limit_param, cursor.size.to_string());
        self.call
            .replace_param(cursor.position_param(), cursor.position.to_string());
        let answer = client
            .call_operation(&self.call)
            .await
            .map_err(|e| cursor.failed(e))?;
        cursor.take(self.call.operation().id, answer)
    }
}

/// The parameter that carries a walk's position.
fn position_param(paging: &Paging) -> &'static str {
    match paging.style {
        PageStyle::Offset { param } | PageStyle::Page { param, .. } => param,
    }
}

/// The value at a dotted path (`pagination.totalPages`).
pub(crate) fn dotted<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// [`dotted`], for taking the value out.
fn dotted_mut<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(value, |v, key| v.get_mut(key))
}
