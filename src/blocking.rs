//! A blocking client (feature `blocking`), in the style of
//! `reqwest::blocking`: for a plain `fn main`, a synchronous web framework,
//! or a script.
//!
//! It is the async [`crate::Client`] driven on a runtime of its own (one
//! worker thread, where the shared limiter's background work also runs):
//! the same flow control, retries, limits, errors and workflows, not a
//! second implementation. Every operation of the spec is callable through
//! [`Client::call`] and [`Client::call_operation`] with no code per
//! operation, as on the async client; page streams (`paginate`, and the
//! typed `stream()` of a paged operation's builder) become iterators
//! through [`Client::iter`].
//!
//! Called from inside an async runtime, where blocking would stall it, a
//! method returns [`Error::InvalidInput`] saying so, instead of panicking
//! or deadlocking; there, use [`crate::Client`].
//!
//! ```no_run
//! fn main() -> Result<(), runalloy_embedded::Error> {
//!     let client = runalloy_embedded::Client::builder()
//!         .api_key("your-key")
//!         .build_blocking()?;
//!     let outcome = client.erase_user("6323d7c9122ae69742a5d0a2")?;
//!     println!("erased: {}", outcome.is_erased());
//!     let logs = client.api().get_logs().associated_user_id("6323d7c9122ae69742a5d0a2").stream();
//!     for log in client.iter(logs) {
//!         println!("{:?}", log?);
//!     }
//!     Ok(())
//! }
//! ```

use crate::api::types;
use crate::{
    EraseOutcome, Error, FlowStats, OffboardOutcome, OffboardProgress, OperationCall,
    OperationResponse, ResponseValue, UserExport, api,
};
use futures::{Stream, StreamExt};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The runtime a blocking client drives its calls on. Shut down without
/// waiting when the last clone goes, so that dropping a blocking client
/// inside an async runtime does not panic.
#[derive(Debug)]
struct Engine(Option<tokio::runtime::Runtime>);

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The blocking client. Cheap to clone: clones share the runtime, the
/// connection pool and the flow control.
#[derive(Debug, Clone)]
pub struct Client {
    inner: crate::Client,
    engine: Arc<Engine>,
}

impl crate::ClientBuilder {
    /// Builds a [`blocking::Client`](Client): the same checks and settings
    /// as [`build`](crate::ClientBuilder::build), and a runtime of its own.
    ///
    /// ```
    /// let client = runalloy_embedded::Client::builder()
    ///     .api_key("k")
    ///     .build_blocking()
    ///     .unwrap();
    /// assert_eq!(client.base_url(), runalloy_embedded::DEFAULT_BASE_URL);
    /// ```
    pub fn build_blocking(self) -> Result<Client, Error> {
        Client::new(self.build()?)
    }
}

/// A page stream turned into an iterator by [`Client::iter`]: each `next`
/// waits for the next item.
pub struct Iter<'a, T> {
    client: &'a Client,
    stream: Pin<Box<dyn Stream<Item = Result<T, Error>> + 'a>>,
    done: bool,
}

impl<T> std::fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").field("done", &self.done).finish()
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = match self.client.run(self.stream.next()) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        if !matches!(item, Some(Ok(_))) {
            // An error ends the walk, as it ends the stream.
            self.done = true;
        }
        item
    }
}

impl Client {
    /// The async `client`, driven on a runtime of its own.
    ///
    /// ```
    /// let async_client = runalloy_embedded::Client::builder().api_key("k").build().unwrap();
    /// let client = runalloy_embedded::blocking::Client::new(async_client).unwrap();
    /// # drop(client);
    /// ```
    pub fn new(client: crate::Client) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("runalloy-embedded-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::InvalidInput(format!("cannot start the blocking client's runtime: {e}"))
            })?;
        Ok(Self {
            inner: client,
            engine: Arc::new(Engine(Some(runtime))),
        })
    }

    /// Drives `future` to its end on this client's runtime; an error when
    /// called inside an async runtime.
    fn run<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::InvalidInput(
                "the blocking client was called inside an async runtime, where it would block it; \
                 use runalloy_embedded::Client there"
                    .into(),
            ));
        }
        match &self.engine.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::InvalidInput(
                "the blocking client's runtime has shut down".into(),
            )),
        }
    }

    /// The async client it drives, for what this one does not wrap.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The generated client, for building requests (`client.api().x()`) to
    /// give [`Client::call`], or a paged operation's `stream()` to give
    /// [`Client::iter`].
    pub fn api(&self) -> &api::Client {
        self.inner.api()
    }

    /// [`crate::Client::call`]: any generated operation, its outcome mapped
    /// to [`Error`].
    ///
    /// ```no_run
    /// # fn demo(client: runalloy_embedded::blocking::Client) -> Result<(), runalloy_embedded::Error> {
    /// let users = client.call(|api| api.list_all_users().send())?;
    /// # let _ = users;
    /// # Ok(()) }
    /// ```
    pub fn call<'a, F, Fut, T, E>(&'a self, operation: F) -> Result<T, Error>
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run(self.inner.call(operation))?
    }

    /// [`crate::Client::call_raw`]: [`Client::call`] keeping the status and
    /// headers.
    pub fn call_raw<'a, F, Fut, T, E>(&'a self, operation: F) -> Result<ResponseValue<T>, Error>
    where
        F: FnOnce(&'a api::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        self.run(self.inner.call_raw(operation))?
    }

    /// Walks a page stream as an iterator: `client.paginate(call)` or a paged
    /// operation's `client.api().x().stream()`. Each `next` waits for the
    /// next item; an error is the last item.
    pub fn iter<'a, T: 'a>(
        &'a self,
        stream: impl Stream<Item = Result<T, Error>> + 'a,
    ) -> Iter<'a, T> {
        Iter {
            client: self,
            stream: Box::pin(stream),
            done: false,
        }
    }

    /// [`crate::Client::paginate`], as an iterator.
    pub fn paginate(&self, call: OperationCall) -> Iter<'_, Value> {
        self.iter(self.inner.paginate(call))
    }

    /// [`crate::Client::erase_user`]; an error only when called inside an
    /// async runtime (the outcome holds any failure of the erase).
    pub fn erase_user(&self, user_id: &str) -> Result<EraseOutcome, Error> {
        self.run(self.inner.erase_user(user_id))
    }

    /// [`crate::Client::offboard_user`]; an error only when called inside
    /// an async runtime.
    pub fn offboard_user(&self, user_id: &str) -> Result<OffboardOutcome, Error> {
        self.run(self.inner.offboard_user(user_id))
    }

    /// [`crate::Client::resume_offboard_user`].
    pub fn resume_offboard_user(
        &self,
        user_id: &str,
        progress: OffboardProgress,
    ) -> Result<OffboardOutcome, Error> {
        self.run(self.inner.resume_offboard_user(user_id, progress))
    }

    /// [`crate::Client::call_operation`].
    pub fn call_operation(&self, call: &OperationCall) -> Result<Value, Error> {
        self.run(self.inner.call_operation(call))?
    }

    /// [`crate::Client::call_operation_raw`].
    pub fn call_operation_raw(&self, call: &OperationCall) -> Result<OperationResponse, Error> {
        self.run(self.inner.call_operation_raw(call))?
    }

    /// [`crate::Client::export_user`].
    pub fn export_user(&self, user_id: &str) -> Result<UserExport, Error> {
        self.run(self.inner.export_user(user_id))?
    }

    /// [`crate::Client::verify_user_gone`].
    pub fn verify_user_gone(&self, user_id: &str) -> Result<(), Error> {
        self.run(self.inner.verify_user_gone(user_id))?
    }

    /// [`crate::Client::verify_api_access`].
    pub fn verify_api_access(&self) -> Result<(), Error> {
        self.run(self.inner.verify_api_access())?
    }

    /// [`crate::Client::get_user`].
    pub fn get_user(&self, user_id: &str) -> Result<types::GetAUserResponse, Error> {
        self.run(self.inner.get_user(user_id))?
    }

    /// [`crate::Client::list_users`].
    pub fn list_users(
        &self,
        parent_workflow_id: Option<&str>,
    ) -> Result<types::ListAllUsersResponse, Error> {
        self.run(self.inner.list_users(parent_workflow_id))?
    }

    /// [`crate::Client::create_user`].
    pub fn create_user(
        &self,
        username: &str,
        full_name: Option<&str>,
    ) -> Result<types::CreateAUserResponse, Error> {
        self.run(self.inner.create_user(username, full_name))?
    }

    /// [`crate::Client::update_user`].
    pub fn update_user(
        &self,
        user_id: &str,
        username: Option<&str>,
        full_name: Option<&str>,
    ) -> Result<types::UpdateAUserResponse, Error> {
        self.run(self.inner.update_user(user_id, username, full_name))?
    }

    /// [`crate::Client::delete_user`].
    pub fn delete_user(&self, user_id: &str) -> Result<types::DeleteAUserResponse, Error> {
        self.run(self.inner.delete_user(user_id))?
    }

    /// [`crate::Client::delete_user_logs`].
    pub fn delete_user_logs(
        &self,
        user_id: &str,
    ) -> Result<types::DeleteLogsForAUserResponse, Error> {
        self.run(self.inner.delete_user_logs(user_id))?
    }

    /// [`crate::Client::list_user_credentials`].
    pub fn list_user_credentials(
        &self,
        user_id: &str,
    ) -> Result<types::ListUserCredentialsResponse, Error> {
        self.run(self.inner.list_user_credentials(user_id))?
    }

    /// [`crate::Client::delete_credential`].
    pub fn delete_credential(
        &self,
        user_id: &str,
        credential_id: &str,
    ) -> Result<types::DeleteACredentialResponse, Error> {
        self.run(self.inner.delete_credential(user_id, credential_id))?
    }

    /// [`crate::Client::deactivate_user_workflows`].
    pub fn deactivate_user_workflows(
        &self,
        user_id: &str,
    ) -> Result<types::DisableAllWorkflowsForAUserResponse, Error> {
        self.run(self.inner.deactivate_user_workflows(user_id))?
    }

    /// [`crate::Client::flow_stats`].
    pub fn flow_stats(&self) -> FlowStats {
        self.inner.flow_stats()
    }

    /// [`crate::Client::base_url`].
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }
}
