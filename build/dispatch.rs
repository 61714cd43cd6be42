//! Generates `dispatch.rs`: one function that calls any operation of the
//! spec by its id, through the request builder progenitor generated for it.
//!
//! The arguments come from an `OperationCall` (names as the spec spells
//! them, values as text, the body as JSON). The generated builder's own
//! fields say how to convert each one (each is `Result<T, String>`, or
//! `Result<Option<T>, String>` when optional), so the code here reads them
//! from progenitor's output instead of guessing progenitor's rules.

use crate::normalise::Operation;
use quote::ToTokens;
use std::fmt::Write as _;

/// How one setter of a generated builder is filled.
enum Arg {
    /// `String`: a required parameter's text.
    Text(String),
    /// `Option<String>`: an optional parameter's text, set only when given.
    OptText(String),
    /// Any other type `T`: a required parameter parsed with `FromStr`.
    Parsed(String, String),
    /// `Option<T>`: an optional parameter parsed with `FromStr`.
    OptParsed(String, String),
    /// The request body, decoded from JSON as `T`.
    Body(String),
}

/// The Rust source that the build writes beside the generated client.
pub struct Generated {
    /// `dispatch.rs`: the call by operation id, and its argument checks,
    /// for `OperationCall` (the workflows' layer).
    pub dispatch: String,
    /// `schemas.rs`: each operation's request and response JSON Schemas,
    /// for `Operation` (the transport's spec facts).
    pub schemas: String,
}

/// The Rust source of the dispatch and the schemas, or a sentence naming
/// the operation whose generated builder could not be read.
pub fn generate(
    file: &syn::File,
    operations: &[Operation],
    rust_name: fn(&str) -> String,
) -> Result<Generated, String> {
    let builders: Vec<&syn::ItemStruct> = builder_module(file)
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s),
            _ => None,
        })
        .collect();

    let mut arms = String::new();
    let mut checks = String::new();
    let mut request_schemas = String::new();
    let mut response_schemas = String::new();
    for op in operations {
        let name = rust_name(&op.id);
        let builder_name = pascal(&name);
        let builder = builders
            .iter()
            .find(|s| s.ident == builder_name)
            .ok_or_else(|| {
                format!(
                    "operation `{}`: no generated request builder `{builder_name}`",
                    op.id
                )
            })?;
        let mut lets = String::new();
        let mut check_lines = String::new();
        let mut setters = String::new();
        for field in &builder.fields {
            let Some((ident, arg)) = field_arg(op, &builder_name, field, rust_name)? else {
                continue;
            };
            if let Arg::Body(t) = &arg {
                let _ = writeln!(
                    request_schemas,
                    "{name:?} => Some(::schemars::schema_for!({t})),"
                );
            }
            let expr = arg.read_expr();
            let _ = writeln!(lets, "let {ident} = {expr};");
            let _ = writeln!(check_lines, "let _ = {expr};");
            setters.push_str(&arg.setter(&ident));
        }
        if let Some(t) = success_type(file, &builder_name) {
            let _ = writeln!(
                response_schemas,
                "{name:?} => Some(::schemars::schema_for!({})),",
                qualify(&t)
            );
        }
        let tail = call_and_answer(&name, &setters, builder_returns_bytes(file, &builder_name));
        let _ = write!(checks, "{name:?} => {{\n{check_lines}Ok(())\n}}\n");
        let _ = write!(arms, "{name:?} => {{\n{lets}{tail}\n}}\n");
    }
    Ok(Generated {
        dispatch: dispatch_source(&arms, &checks),
        schemas: schemas_source(&request_schemas, &response_schemas),
    })
}

/// `dispatch.rs` around the match arms of each operation: the call, and the
/// conversion of its arguments alone.
fn dispatch_source(arms: &str, checks: &str) -> String {
    format!(
        "/// Calls the operation `call` names through its generated builder.\n\
         pub(crate) async fn dispatch(\n\
             client: &crate::Client,\n\
             call: &crate::OperationCall,\n\
         ) -> Result<crate::OperationResponse, crate::Error> {{\n\
             match call.operation().rust_name {{\n{arms}\
                 other => Err(crate::Error::InvalidInput(format!(\"no generated method `{{other}}`\"))),\n\
             }}\n\
         }}\n\n\
         /// Converts every argument as `dispatch` would, without calling.\n\
         fn convert_arguments(call: &crate::OperationCall) -> Result<(), crate::Error> {{\n\
             match call.operation().rust_name {{\n{checks}\
                 other => Err(crate::Error::InvalidInput(format!(\"no generated method `{{other}}`\"))),\n\
             }}\n\
         }}\n"
    )
}

/// `schemas.rs` around the match arms of each operation's request and
/// response schemas.
fn schemas_source(request_schemas: &str, response_schemas: &str) -> String {
    format!(
        "/// The JSON Schema of the request body that the generated builder of\n\
         /// `rust_name` takes, made by schemars from the type itself.\n\
         pub(crate) fn request_schema(rust_name: &str) -> Option<::schemars::schema::RootSchema> {{\n\
             match rust_name {{\n{request_schemas}\
                 _ => None,\n\
             }}\n\
         }}\n\n\
         /// The JSON Schema of the type a success of `rust_name` decodes to.\n\
         pub(crate) fn response_schema(rust_name: &str) -> Option<::schemars::schema::RootSchema> {{\n\
             match rust_name {{\n{response_schemas}\
                 _ => None,\n\
             }}\n\
         }}\n"
    )
}

/// What the builder's `field` of `op` takes, and from where in the call:
/// `None` for the builder's own client.
fn field_arg(
    op: &Operation,
    builder_name: &str,
    field: &syn::Field,
    rust_name: fn(&str) -> String,
) -> Result<Option<(String, Arg)>, String> {
    let Some(ident) = field.ident.as_ref().map(ToString::to_string) else {
        return Ok(None);
    };
    if ident == "client" {
        return Ok(None);
    }
    let ty = compact(&field.ty);
    let inner = ty
        .strip_prefix("Result<")
        .and_then(|t| t.strip_suffix(",String>"))
        .ok_or_else(|| {
            format!(
                "operation `{}`: field `{ident}` of `{builder_name}` is not a `Result<_, String>`",
                op.id
            )
        })?;
    let spec_name = || {
        op.params
            .iter()
            .find(|p| rust_name(&p.name) == ident)
            .map(|p| p.name.clone())
            .ok_or_else(|| {
                format!(
                    "operation `{}`: field `{ident}` of `{builder_name}` matches no parameter",
                    op.id
                )
            })
    };
    let optional = inner
        .strip_prefix("Option<")
        .and_then(|t| t.strip_suffix('>'));
    let arg = if ident == "body" {
        // A body with a builder is held as `types::builder::X`; the setter
        // takes `types::X`.
        Arg::Body(qualify(&inner.replace("types::builder::", "types::")))
    } else if is_string(inner) {
        Arg::Text(spec_name()?)
    } else if optional.is_some_and(is_string) {
        Arg::OptText(spec_name()?)
    } else if let Some(t) = optional {
        Arg::OptParsed(spec_name()?, qualify(t))
    } else {
        Arg::Parsed(spec_name()?, qualify(inner))
    };
    Ok(Some((ident, arg)))
}

impl Arg {
    /// The expression that reads it from the `OperationCall` named `call`.
    fn read_expr(&self) -> String {
        match self {
            Arg::Text(n) => format!("call.text({n:?})?"),
            Arg::OptText(n) => format!("call.opt_text({n:?})"),
            Arg::Parsed(n, t) => {
                format!("call.opt_parsed::<{t}>({n:?})?.ok_or_else(|| call.missing({n:?}))?")
            }
            Arg::OptParsed(n, t) => format!("call.opt_parsed::<{t}>({n:?})?"),
            Arg::Body(t) => format!("call.body_as::<{t}>()?"),
        }
    }

    /// The line that hands the value bound to `ident` to the builder; an
    /// optional one only when given.
    fn setter(&self, ident: &str) -> String {
        match self {
            Arg::OptText(_) | Arg::OptParsed(..) => {
                format!("if let Some(value) = {ident} {{ request = request.{ident}(value); }}\n")
            }
            _ => format!("request = request.{ident}({ident});\n"),
        }
    }
}

/// The end of an operation's arm: the call through the generated method
/// `name` with its `setters`, and its answer as JSON. Raw bytes come back
/// as they are (the send path read the body whole: JSON if it parses, else
/// a JSON string); anything decoded (no body included, as `()`) as the API
/// sent it.
fn call_and_answer(name: &str, setters: &str, raw_bytes: bool) -> String {
    let call_it = format!(
        "client.call_raw(move |api| {{\n#[allow(unused_mut)]\nlet mut request = api.{name}();\n{setters}request.send()\n}})"
    );
    let head = format!(
        "let (value, body) = crate::capture_last_body({call_it}).await;\n\
         let value = value?;\n\
         let (status, headers) = (value.status(), value.headers().clone());\n"
    );
    if raw_bytes {
        format!(
            "{head}let body = body.unwrap_or_default();\n\
             Ok(crate::OperationResponse::new(status, headers, ::serde_json::from_slice(&body).unwrap_or_else(|_| \
             ::serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()))))"
        )
    } else {
        format!(
            "{head}Ok(crate::OperationResponse::new(status, headers, \
             as_received(call.operation().id, body, value.into_inner())?))"
        )
    }
}

/// The items of the generated `builder` module.
fn builder_module(file: &syn::File) -> impl Iterator<Item = &syn::Item> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref(),
            _ => None,
        })
        .flat_map(|(_, items)| items)
}

/// Whether the `send` of builder `name` returns raw bytes.
fn builder_returns_bytes(file: &syn::File, name: &str) -> bool {
    builder_module(file)
        .filter_map(|item| match item {
            syn::Item::Impl(block) if compact(&block.self_ty).starts_with(&format!("{name}<")) => {
                Some(block)
            }
            _ => None,
        })
        .flat_map(|block| &block.items)
        .any(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => f
                .sig
                .output
                .to_token_stream()
                .to_string()
                .contains("ByteStream"),
            _ => false,
        })
}

/// The type that the `send` of builder `name` decodes a success to
/// (`types::X` of `Result<ResponseValue<types::X>, Error<_>>`); `None` for
/// raw bytes or no body.
fn success_type(file: &syn::File, name: &str) -> Option<String> {
    let output = builder_module(file)
        .filter_map(|item| match item {
            syn::Item::Impl(block) if compact(&block.self_ty).starts_with(&format!("{name}<")) => {
                Some(block)
            }
            _ => None,
        })
        .flat_map(|block| &block.items)
        .find_map(|item| match item {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" => {
                Some(f.sig.output.to_token_stream().to_string().replace(' ', ""))
            }
            _ => None,
        })?;
    let start = output.find("ResponseValue<")? + "ResponseValue<".len();
    let mut depth = 1;
    let end = output[start..].char_indices().find_map(|(i, c)| {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(start + i)
    })?;
    let ty = &output[start..end];
    (ty != "()" && !ty.contains("ByteStream")).then(|| ty.to_owned())
}

/// `delete_a_user` as progenitor names its builder: `DeleteAUser`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn is_string(ty: &str) -> bool {
    matches!(
        ty,
        "String" | "::std::string::String" | "std::string::String"
    )
}

/// A type as text without spaces, such as `Result<Option<i64>,String>`.
fn compact(ty: &syn::Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

/// Generated types are named `types::X` inside the generated module.
fn qualify(ty: &str) -> String {
    ty.replace("types::", "crate::api::types::")
}
