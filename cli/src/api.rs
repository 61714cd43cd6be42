//! `api list` and `api call`: every operation of the spec, driven by the
//! operation table the build writes, so an operation added to the spec is
//! listed and callable with no code here.

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
                    "body": op.body.map(|b| json!({ "required": b.required })),
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
        if let Some(body) = op.body {
            out.push_str(&format!(
                "    --body JSON  {}\n",
                if body.required {
                    "required"
                } else {
                    "optional"
                }
            ));
        }
    }
    print!("{out}");
    ExitCode::SUCCESS
}

/// Checks an `api call` completely before anything is sent.
pub async fn prepare(
    operation_id: &str,
    params: &[(String, String)],
    body: Option<&str>,
) -> Result<OperationCall, Error> {
    let mut call = OperationCall::new(operation_id)?;
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
