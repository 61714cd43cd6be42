//! The flow control a [`ClientBuilder`] wires into its client: the fixed
//! cap, and the fleet's limit through its store when a limiter URL is set.

use super::ClientBuilder;
use crate::Error;
use crate::transport::api_key::ApiKey;
#[cfg(feature = "redis")]
use crate::transport::send;
use crate::transport::send::flow::FlowControl;

impl ClientBuilder {
    /// Flow control for the client: the fixed cap if set, and the fleet's
    /// limit through the store when a limiter URL is set.
    #[cfg_attr(not(feature = "redis"), allow(unused_variables))]
    pub(super) fn flow_control(&self, base: &url::Url, key: &ApiKey) -> Result<FlowControl, Error> {
        let flow = FlowControl::new(self.max_rate);
        #[cfg(feature = "redis")]
        if let Some(url) = &self.limiter {
            let shared = send::flow::redis::SharedLimit::new(
                url,
                &base.origin().ascii_serialization(),
                &key.fingerprint(),
            )
            .map_err(|why| Error::InvalidInput(format!("the limiter URL is refused: {why}")))?;
            return Ok(flow.with_shared(shared));
        }
        Ok(flow)
    }
}
