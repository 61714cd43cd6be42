//! Every page of a paged operation, as one stream of items, driven by the
//! paging the spec declares (`x-runalloy-paging`): no code per operation.

use crate::{Client, Error, OperationCall, PageStyle, Paging};
use futures::Stream;
use serde_json::Value;
use std::collections::VecDeque;

/// Where a walk through the pages stands.
struct Walk {
    call: OperationCall,
    paging: Paging,
    /// The page size asked for: the caller's limit (at most the vendor's
    /// documented maximum, where there is one), else the spec's.
    size: u32,
    /// The next page's position: an offset in items, or a page number.
    position: u64,
    /// Pages fetched so far.
    fetched: u32,
    /// The last page's items, to tell a server that ignores the position.
    last: Option<Vec<Value>>,
    ready: VecDeque<Value>,
    done: bool,
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
                if let Some(item) = walk.ready.pop_front() {
                    return Some((Ok(item), Some(Ok(walk))));
                }
                if walk.done {
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
        let cap = paging.max_page_size.unwrap_or(u32::MAX);
        let size = given(paging.limit_param)?.map_or(paging.page_size, |n| {
            u32::try_from(n).unwrap_or(u32::MAX).clamp(1, cap)
        });
        let position = match paging.style {
            PageStyle::Offset { param } => given(param)?.unwrap_or(0),
            PageStyle::Page { param, first } => given(param)?.unwrap_or(u64::from(first)),
        };
        Ok(Self {
            call,
            paging,
            size,
            position,
            fetched: 0,
            last: None,
            ready: VecDeque::new(),
            done: false,
        })
    }

    /// Fetches the next page into `ready`, and judges whether it was the
    /// last.
    async fn next_page(&mut self, client: &Client) -> Result<(), Error> {
        let page = self.fetched + 1;
        let failed = |source: Error| Error::Page {
            page,
            source: Box::new(source),
        };
        let position_param = match self.paging.style {
            PageStyle::Offset { param } | PageStyle::Page { param, .. } => param,
        };
        self.call
            .replace_param(self.paging.limit_param, self.size.to_string());
        self.call
            .replace_param(position_param, self.position.to_string());
        let mut answer = client.call_operation(&self.call).await.map_err(failed)?;
        self.fetched = page;
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
                    "{}: the answer has no `{}` list",
                    self.call.operation().id,
                    self.paging.items
                ))));
            }
        };
        if !items.is_empty() && self.last.as_ref() == Some(&items) {
            self.done = true;
            return Err(failed(Error::NotTheApi(format!(
                "{}: page {page} repeats page {} (the server ignored `{position_param}`)",
                self.call.operation().id,
                page - 1
            ))));
        }
        let received = items.len() as u64;
        self.done = received == 0
            || match total {
                Some(total) => u64::from(page) >= total,
                None => received < u64::from(self.size),
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

/// The value at a dotted path (`pagination.totalPages`).
pub(crate) fn dotted<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// [`dotted`], for taking the value out.
fn dotted_mut<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(value, |v, key| v.get_mut(key))
}
