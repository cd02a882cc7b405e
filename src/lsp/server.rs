//! The server loop: initialize, then one message at a time on this thread until `shutdown`
//! and `exit`. The sites' watched files are polled between messages (at most every 300 ms):
//! Neovim 0.7 has no `workspace/didChangeWatchedFiles`, so the server watches them itself.

use super::text::{LineIndex, uri_to_path};
use super::workspace::Workspace;
use crate::cli::SiteArgs;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::*;
use serde_json::Value as Json;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(300);

pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        // a plain number (1, full text): Neovim 0.7 sends didOpen/didChange only for a number
        // or an object with `openClose: true`
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into()]),
            ..Default::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

/// Serve on stdin/stdout; the exit code is 0 after `shutdown` then `exit`, 1 otherwise (as
/// the protocol asks).
pub fn serve(args: SiteArgs) -> crate::error::Result<i32> {
    let mut ws = Workspace::new(args)?;
    let (conn, io) = Connection::stdio();
    let code = match run(&conn, &mut ws) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("language server: {e}");
            1
        }
    };
    drop(conn);
    let _ = io.join();
    Ok(code)
}

fn run(conn: &Connection, ws: &mut Workspace) -> Result<i32, Box<dyn std::error::Error>> {
    let (id, params) = conn.initialize_start()?;
    conn.initialize_finish(
        id,
        serde_json::json!({
            "capabilities": capabilities(),
            "serverInfo": {"name": "runbook", "version": env!("CARGO_PKG_VERSION")},
        }),
    )?;
    // the workspace's site is read, and its pages indexed, now rather than at the first page
    if let Some(root) = root_path(&params) {
        let key = ws.site_for(&root);
        ws.index_in_background(&key);
    }
    let mut shut_down = false;
    let mut last_poll = Instant::now();
    loop {
        let msg = match conn.receiver.recv_timeout(POLL) {
            Ok(m) => Some(m),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            // stdin closed without `exit`
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Ok(1),
        };
        match msg {
            Some(Message::Request(req)) => {
                let resp = if shut_down {
                    Response::new_err(
                        req.id.clone(),
                        ErrorCode::InvalidRequest as i32,
                        "the server is shutting down".into(),
                    )
                } else if req.method == request::Shutdown::METHOD {
                    shut_down = true;
                    Response::new_ok(req.id.clone(), ())
                } else {
                    let id = req.id.clone();
                    catch_unwind(AssertUnwindSafe(|| handle_request(ws, req)))
                        .unwrap_or_else(|_| internal_error(id))
                };
                conn.sender.send(resp.into())?;
            }
            Some(Message::Notification(n)) => {
                if n.method == notification::Exit::METHOD {
                    return Ok(if shut_down { 0 } else { 1 });
                }
                if n.method == notification::DidChangeWatchedFiles::METHOD {
                    last_poll = Instant::now() - POLL;
                }
                let method = n.method.clone();
                let out = catch_unwind(AssertUnwindSafe(|| handle_notification(ws, n)))
                    .unwrap_or_else(|_| {
                        tracing::error!("internal error handling {method}");
                        Vec::new()
                    });
                for m in out {
                    conn.sender.send(m)?;
                }
            }
            Some(Message::Response(_)) | None => {}
        }
        if last_poll.elapsed() >= POLL {
            last_poll = Instant::now();
            let out = catch_unwind(AssertUnwindSafe(|| {
                let uris = ws.reload_changed();
                uris.iter()
                    .filter_map(|u| publish(ws, u))
                    .collect::<Vec<_>>()
            }))
            .unwrap_or_default();
            for m in out {
                conn.sender.send(m)?;
            }
        }
    }
}

fn internal_error(id: RequestId) -> Response {
    Response::new_err(
        id,
        ErrorCode::InternalError as i32,
        "runbook: internal error (see the server's stderr)".into(),
    )
}

/// The workspace's folder: `rootUri`, else the first workspace folder, else `rootPath`.
fn root_path(params: &Json) -> Option<std::path::PathBuf> {
    let uri = params.get("rootUri").and_then(Json::as_str).or_else(|| {
        params
            .pointer("/workspaceFolders/0/uri")
            .and_then(Json::as_str)
    });
    if let Some(u) = uri.and_then(|u| u.parse::<Uri>().ok()) {
        return uri_to_path(&u);
    }
    params
        .get("rootPath")
        .and_then(Json::as_str)
        .map(std::path::PathBuf::from)
}

fn handle_request(ws: &mut Workspace, req: Request) -> Response {
    let id = req.id.clone();
    let result: Result<Json, String> = match req.method.as_str() {
        request::HoverRequest::METHOD => params::<HoverParams>(&req).map(|p| {
            let (uri, offset) = at(ws, &p.text_document_position_params);
            let h = offset.and_then(|o| super::hover::hover(ws, &uri, o));
            serde_json::to_value(h.map(|value| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value,
                }),
                range: None,
            }))
            .unwrap_or(Json::Null)
        }),
        request::GotoDefinition::METHOD => params::<GotoDefinitionParams>(&req).map(|p| {
            let (uri, offset) = at(ws, &p.text_document_position_params);
            let loc = offset.and_then(|o| super::definition::definition(ws, &uri, o));
            serde_json::to_value(loc.map(GotoDefinitionResponse::Scalar)).unwrap_or(Json::Null)
        }),
        request::Completion::METHOD => params::<CompletionParams>(&req).map(|p| {
            let (uri, offset) = at(ws, &p.text_document_position);
            let items = offset
                .map(|o| super::completion::completion(ws, &uri, o))
                .unwrap_or_default();
            serde_json::to_value(CompletionResponse::Array(items)).unwrap_or(Json::Null)
        }),
        request::DocumentSymbolRequest::METHOD => params::<DocumentSymbolParams>(&req).map(|p| {
            let uri = p.text_document.uri.as_str().to_string();
            let symbols = ws.model(&uri).and_then(|doc| {
                let text = ws.pages.get(&uri)?.text().to_string();
                Some(super::symbols::symbols(&doc, &text))
            });
            serde_json::to_value(symbols.map(DocumentSymbolResponse::Nested)).unwrap_or(Json::Null)
        }),
        other => {
            return Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("runbook lsp does not handle {other}"),
            );
        }
    };
    match result {
        Ok(v) => Response::new_ok(id, v),
        Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e),
    }
}

fn params<P: serde::de::DeserializeOwned>(req: &Request) -> Result<P, String> {
    serde_json::from_value(req.params.clone()).map_err(|e| format!("invalid params: {e}"))
}

/// The page's URI and the byte offset of the position in its text (None if not open).
fn at(ws: &Workspace, p: &TextDocumentPositionParams) -> (String, Option<usize>) {
    let uri = p.text_document.uri.as_str().to_string();
    let offset = ws
        .pages
        .get(&uri)
        .map(|page| LineIndex::new(page.text()).offset(p.position));
    (uri, offset)
}

fn handle_notification(ws: &mut Workspace, n: Notification) -> Vec<Message> {
    match n.method.as_str() {
        notification::DidOpenTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            let uri = p.text_document.uri.as_str().to_string();
            let Some(path) = uri_to_path(&p.text_document.uri) else {
                return Vec::new();
            };
            ws.set_text(&uri, path, p.text_document.text, p.text_document.version);
            publish(ws, &uri).into_iter().collect()
        }
        notification::DidChangeTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            let uri = p.text_document.uri.as_str().to_string();
            let Some(page) = ws.pages.get(&uri) else {
                return Vec::new();
            };
            let mut text = page.text().to_string();
            let path = page.path.clone();
            for change in p.content_changes {
                match change.range {
                    // full sync is what is advertised; a ranged change is applied all the same
                    Some(r) => {
                        let index = LineIndex::new(&text);
                        let (a, b) = (index.offset(r.start), index.offset(r.end));
                        if a <= b {
                            text.replace_range(a..b, &change.text);
                        }
                    }
                    None => text = change.text,
                }
            }
            ws.set_text(&uri, path, text, p.text_document.version);
            publish(ws, &uri).into_iter().collect()
        }
        notification::DidCloseTextDocument::METHOD => {
            let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                return Vec::new();
            };
            ws.close(p.text_document.uri.as_str());
            vec![publish_message(p.text_document.uri, Vec::new(), None)]
        }
        _ => Vec::new(),
    }
}

/// `textDocument/publishDiagnostics` for an open page: what `check` finds in its text.
fn publish(ws: &Workspace, uri: &str) -> Option<Message> {
    let page = ws.pages.get(uri)?;
    let started = Instant::now();
    let diags = ws.check(uri);
    let lsp = super::diagnostics::to_lsp(&page.path, page.text(), &diags);
    tracing::debug!(uri, n = lsp.len(), elapsed = ?started.elapsed(), "checked");
    Some(publish_message(uri.parse().ok()?, lsp, Some(page.version)))
}

fn publish_message(uri: Uri, diagnostics: Vec<Diagnostic>, version: Option<i32>) -> Message {
    Notification::new(
        notification::PublishDiagnostics::METHOD.to_string(),
        PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        },
    )
    .into()
}
