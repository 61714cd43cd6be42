//! `api list`, `api schema` and `api call`: every operation of the spec,
//! driven by the operation table the build writes, so an operation added to
//! the spec is listed, described and callable with no code here.

use runalloy_embedded::{Error, OPERATIONS, OperationCall};
use serde_json::{Value, json};
use std::process::ExitCode;

/// Prints every operation with its parameters and body.
pub fn list(as_json: bool) -> ExitCode {
    if as_json {
        let ops: Vec<Value> = OPERATIONS
            .iter()
            .map(|op| {
                json!({
                    "id": op.id,
                    "method": op.method,
                    "path": op.path,
                    "summary": op.summary,
                    "params": op.params.iter().map(|p| json!({
                        "name": p.name,
                        "in": p.location,
                        "required": p.required,
                        "type": p.kind,
                        "values": p.values,
                    })).collect::<Vec<_>>(),
                    "paged": op.paging.is_some(),
                    "body": op.body.map(|b| json!({
                        "required": b.required,
                        "schema": op.request_schema(),
                    })),
                })
            })
            .collect();
        println!("{}", Value::Array(ops));
        return ExitCode::SUCCESS;
    }
    let mut out = String::new();
    for op in OPERATIONS {
        out.push_str(&format!(
            "{}  {} {}  {}\n",
            op.id, op.method, op.path, op.summary
        ));
        for p in op.params {
            let mut kind = p.kind.to_owned();
            if !p.values.is_empty() {
                kind = format!("{kind}: {}", p.values.join("|"));
            }
            out.push_str(&format!(
                "    --param {}=...  {}, {}, {kind}\n",
                p.name,
                p.location,
                if p.required { "required" } else { "optional" },
            ));
        }
        if let Some(paging) = op.paging {
            out.push_str(&format!(
                "    --all  paged: every page, {} items a page, as JSON Lines\n",
                paging.page_size
            ));
        }
        if let Some(body) = op.body {
            out.push_str(&format!(
                "    --body JSON  {}\n",
                if body.required {
                    "required"
                } else {
                    "optional"
                }
            ));
            if let Some(schema) = op.request_schema() {
                for (name, kind, required) in fields(&schema) {
                    let need = if required { "required" } else { "optional" };
                    out.push_str(&format!("        {name}  {kind}, {need}\n"));
                }
            }
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// `api call OP --include`: the status line and the headers, a blank
/// line, then the body as the API sent it, as `curl -i` prints them.
pub async fn print_included(client: &runalloy_embedded::Client, call: &OperationCall) -> ExitCode {
    let (result, body) =
        runalloy_embedded::capture_last_body(client.call_operation_raw(call)).await;
    let response = match result {
        Ok(response) => response,
        Err(e) => return crate::exit::failed(e),
    };
    let status = response.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in response.headers() {
        out.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    out.push('\n');
    match body {
        Some(body) => out.push_str(String::from_utf8_lossy(&body).trim_end()),
        None => out.push_str(&response.body().to_string()),
    }
    println!("{out}");
    ExitCode::SUCCESS
}

/// Walks every page of `call` and prints one item per line, flushed as
/// each page arrives; a failure mid-way comes after the items before it,
/// naming the page, and exits 1.
pub async fn print_all(client: &runalloy_embedded::Client, call: OperationCall) -> ExitCode {
    use futures::StreamExt;
    use std::io::Write;
    let mut items = std::pin::pin!(client.paginate(call));
    let mut out = std::io::stdout().lock();
    while let Some(item) = items.next().await {
        match item {
            Ok(item) => {
                if writeln!(out, "{item}").is_err() {
                    // stdout closed (a pipe into `head`): nothing more to do.
                    return ExitCode::SUCCESS;
                }
            }
            Err(e) => {
                let _ = out.flush();
                return crate::exit::failed(e);
            }
        }
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// Prints an operation's request and response schemas (or one of them).
pub fn schema(operation_id: &str, body_only: bool, response_only: bool) -> ExitCode {
    let op = match OperationCall::new(operation_id) {
        Ok(call) => call.operation(),
        Err(e) => return crate::exit::failed(e),
    };
    let (body, response) = (op.request_schema(), op.response_schema());
    let printed = if body_only {
        match body {
            Some(schema) => schema,
            None => {
                return crate::exit::invalid_input(format!("{operation_id} takes no request body"));
            }
        }
    } else if response_only {
        match response {
            Some(schema) => schema,
            None => {
                return crate::exit::invalid_input(format!("{operation_id} answers no JSON body"));
            }
        }
    } else {
        json!({ "operation": op.id, "body": body, "response": response })
    };
    println!("{printed}");
    ExitCode::SUCCESS
}

/// A body schema's top-level fields: name, type and whether required.
fn fields(schema: &Value) -> Vec<(String, String, bool)> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, property)| {
                    (
                        name.clone(),
                        kind(property, schema),
                        required.contains(&name.as_str()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A property's type in a few words (`string`, `array of string`,
/// `string: asc|desc`), following one `$ref` into the root's definitions.
fn kind(property: &Value, root: &Value) -> String {
    let resolved = property["$ref"]
        .as_str()
        .or_else(|| property["allOf"][0]["$ref"].as_str())
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .map(|name| &root["definitions"][name])
        .unwrap_or(property);
    if let Some(values) = resolved["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        return format!("{}: {}", type_name(resolved), values.join("|"));
    }
    match type_name(resolved).as_str() {
        "array" => format!("array of {}", kind(&resolved["items"], root)),
        other => other.to_owned(),
    }
}

/// The schema's `type`, or its non-null one when it is `[T, "null"]`.
fn type_name(schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("any")
            .to_owned(),
        _ if schema["properties"].is_object() => "object".to_owned(),
        _ => "any".to_owned(),
    }
}

/// Checks an `api call` completely before anything is sent.
pub async fn prepare(
    operation_id: &str,
    params: &[(String, String)],
    body: Option<&str>,
    all: bool,
) -> Result<OperationCall, Error> {
    let mut call = OperationCall::new(operation_id)?;
    if all && call.operation().paging.is_none() {
        return Err(Error::InvalidInput(format!(
            "{operation_id}: --all walks the pages of a paged operation, and the spec declares \
             no paging for it (`api list` marks the paged ones)"
        )));
    }
    for (name, value) in params {
        call = call.param(name, value.as_str())?;
    }
    if let Some(source) = body {
        let text = read_body(operation_id, source).await?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::InvalidInput(format!("{operation_id}: the body is not JSON: {e}"))
        })?;
        call = call.body(value)?;
    }
    call.check()?;
    Ok(call)
}

async fn read_body(operation_id: &str, source: &str) -> Result<String, Error> {
    let unreadable = |from: &str, e: std::io::Error| {
        Error::InvalidInput(format!(
            "{operation_id}: cannot read the body from {from}: {e}"
        ))
    };
    if source == "-" {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::stdin(), &mut text)
            .await
            .map_err(|e| unreadable("standard input", e))?;
        Ok(text)
    } else if let Some(path) = source.strip_prefix('@') {
        tokio::fs::read_to_string(path)
            .await
            .map_err(|e| unreadable(path, e))
    } else {
        Ok(source.to_owned())
    }
}
