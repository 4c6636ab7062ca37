//! The `traceparent` accessors of [`Headers`], apart from both the header
//! map (which knows nothing of the trace context) and the trace context
//! (which reads and writes headers through the map's own interface).

use crate::{Headers, TraceParent};

/// The trace context's accessors of [`Headers`].
impl Headers {
    /// The `traceparent` header when it is valid; `None` when absent or
    /// malformed (a malformed one is never an error: the reader starts a new
    /// trace, see [`IncomingTrace`](crate::IncomingTrace)).
    ///
    /// ```
    /// use ms_protocol::{Headers, TraceParent};
    ///
    /// let mut headers = Headers::new();
    /// let parent = TraceParent::start();
    /// headers.set_traceparent(&parent);
    /// assert_eq!(headers.traceparent(), Some(parent));
    /// headers.insert(Headers::TRACEPARENT, "00-zz");
    /// assert_eq!(headers.traceparent(), None);
    /// ```
    pub fn traceparent(&self) -> Option<TraceParent> {
        self.get(Self::TRACEPARENT)
            .and_then(|t| TraceParent::parse(t).ok())
    }

    /// Sets the `traceparent` header.
    pub fn set_traceparent(&mut self, parent: &TraceParent) {
        self.set(Self::TRACEPARENT, parent.to_string());
    }
}
