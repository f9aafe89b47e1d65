//! Inline mode (`Server(..., inline=True)`): the handler runs on the worker thread that read
//! the request, which takes the interpreter lock for the call, with no hand-off to a Python
//! thread and back. For handlers that never block: while one runs, its worker serves nothing
//! else, and workers wait for each other's lock.

use nanoapi::server::{Dispatch, OwnedRequest, Request, ResponseWriter};
use pyo3::prelude::*;

use crate::request;
use crate::respond::{self, Answer, Failure};

/// The tuple protocol's handler, called on the workers.
pub(crate) struct InlineDispatch {
    pub(crate) handler: Py<PyAny>,
    pub(crate) body_limit: u64,
}

/// What a call of the handler left to send, outside the interpreter lock.
enum Outcome {
    Whole(nanoapi::http::Response),
    /// The head, and the iterable whose items are the chunks (with its iterator).
    Stream(nanoapi::http::Response, Py<PyAny>, Py<PyAny>),
}

impl Dispatch<()> for InlineDispatch {
    async fn dispatch(
        &self,
        _: &(),
        req: &mut Request,
        w: &mut ResponseWriter,
    ) -> nanoapi::Result<()> {
        req.set_body_limit(self.body_limit);
        let body = req.read_to_end().await?;
        let owned = OwnedRequest::new(req, body);
        let outcome = Python::attach(|py| {
            let answer = self
                .handler
                .call1(py, (request::Request::new(owned),))
                .map_err(Failure::from)
                .and_then(|answer| match respond::read_answer(answer.bind(py))? {
                    Answer::Whole(response) => Ok(Outcome::Whole(response)),
                    Answer::Stream(head, body, chunks) => Ok(Outcome::Stream(
                        head,
                        body.unbind(),
                        chunks.into_any().unbind(),
                    )),
                });
            answer.map_err(|failure| respond::failed(py, failure))
        })?;
        match outcome {
            Outcome::Whole(response) => w.send(response).await,
            Outcome::Stream(head, body, chunks) => {
                let mut out = w.start_chunked(head).await?;
                let streamed = loop {
                    // One item at a time under the lock; sent without it.
                    let next = Python::attach(|py| {
                        chunks
                            .bind(py)
                            .cast::<pyo3::types::PyIterator>()
                            .map_err(PyErr::from)
                            .and_then(|iterator| iterator.clone().next().transpose())
                            .and_then(|item| {
                                item.map(|chunk| respond::chunk_bytes(&chunk)).transpose()
                            })
                    });
                    match next {
                        Ok(Some(chunk)) => {
                            if let Err(err) = out.send(chunk).await {
                                break Err(err);
                            }
                        }
                        Ok(None) => break Ok(()),
                        Err(err) => {
                            break Err(Python::attach(|py| respond::failed(py, err.into())));
                        }
                    }
                };
                // A generator is closed whatever happened (its `finally` blocks run).
                Python::attach(|py| {
                    respond::close(body.bind(py)).map_err(|err| respond::failed(py, err.into()))
                })?;
                streamed?;
                out.finish().await
            }
        }
    }
}
