//! Generates `dispatch.rs`: one function that calls any operation of the
//! spec by its id, through the method progenitor generated for it.
//!
//! The arguments come from an `OperationCall` (names as the spec spells
//! them, values as text, the body as JSON). The generated method's own
//! signature says how to convert each one, so the code here reads that
//! signature from progenitor's output instead of guessing progenitor's rules.

use crate::normalise::Operation;
use quote::ToTokens;
use std::fmt::Write as _;

/// How one argument of a generated method is filled.
enum Arg {
    /// `&str`: a required parameter's text.
    Text(String),
    /// `Option<&str>`: an optional parameter's text.
    OptText(String),
    /// Any other type `T`: a required parameter parsed with `FromStr`.
    Parsed(String, String),
    /// `Option<T>`: an optional parameter parsed with `FromStr`.
    OptParsed(String, String),
    /// `&T`: the request body, decoded from JSON.
    Body(String),
}

/// The Rust source of `dispatch`, or a sentence naming the operation whose
/// generated method could not be read.
pub fn generate(
    file: &syn::File,
    operations: &[Operation],
    rust_name: fn(&str) -> String,
) -> Result<String, String> {
    let methods: Vec<&syn::ImplItemFn> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(block) if is_client(&block.self_ty) => Some(block),
            _ => None,
        })
        .flat_map(|block| &block.items)
        .filter_map(|item| match item {
            syn::ImplItem::Fn(f) => Some(f),
            _ => None,
        })
        .collect();

    let mut arms = String::new();
    let mut checks = String::new();
    for op in operations {
        let name = rust_name(&op.id);
        let method = methods
            .iter()
            .find(|m| m.sig.ident == name)
            .ok_or_else(|| format!("operation `{}`: no generated method `{name}`", op.id))?;
        let mut lets = String::new();
        let mut check_lines = String::new();
        let mut call_args = Vec::new();
        for input in method.sig.inputs.iter().skip(1) {
            let syn::FnArg::Typed(arg) = input else {
                continue;
            };
            let ident = arg.pat.to_token_stream().to_string();
            let ty = compact(&arg.ty);
            let spec_name = || {
                op.params
                    .iter()
                    .find(|p| rust_name(&p.name) == ident)
                    .map(|p| p.name.clone())
                    .ok_or_else(|| {
                        format!(
                            "operation `{}`: argument `{ident}` of `{name}` matches no parameter",
                            op.id
                        )
                    })
            };
            let arg = if ident == "body" && ty.starts_with("&'a") {
                Arg::Body(qualify(&ty["&'a".len()..]))
            } else if ty == "&'astr" {
                Arg::Text(spec_name()?)
            } else if ty == "Option<&'astr>" {
                Arg::OptText(spec_name()?)
            } else if let Some(inner) = ty.strip_prefix("Option<").and_then(|t| t.strip_suffix('>'))
            {
                Arg::OptParsed(spec_name()?, qualify(inner))
            } else {
                Arg::Parsed(spec_name()?, qualify(&ty))
            };
            let line = match &arg {
                Arg::Text(n) => format!("let {ident} = call.text({n:?})?;"),
                Arg::OptText(n) => format!("let {ident} = call.opt_text({n:?});"),
                Arg::Parsed(n, t) => format!("let {ident} = call.parsed::<{t}>({n:?})?;"),
                Arg::OptParsed(n, t) => format!("let {ident} = call.opt_parsed::<{t}>({n:?})?;"),
                Arg::Body(t) => format!("let {ident} = call.body_as::<{t}>()?;"),
            };
            lets.push_str(&line);
            lets.push('\n');
            if let Some((_, expr)) = line.split_once(" = ") {
                check_lines.push_str(&format!("let _ = {expr}\n"));
            }
            call_args.push(match arg {
                Arg::Body(_) => format!("&{ident}"),
                _ => ident,
            });
        }
        let raw_bytes = method
            .sig
            .output
            .to_token_stream()
            .to_string()
            .contains("ByteStream");
        let call_it = format!("client.call(|api| api.{name}({}))", call_args.join(", "));
        // Raw bytes are returned as they are; anything decoded (no body
        // included, as `()`) as the API sent it.
        let tail = if raw_bytes {
            format!("to_json_bytes(call.operation().id, {call_it}.await?).await")
        } else {
            format!(
                "let (value, body) = crate::capture_last_body({call_it}).await;\n\
                 as_received(call.operation().id, body, value?)"
            )
        };
        let _ = write!(checks, "{name:?} => {{\n{check_lines}Ok(())\n}}\n");
        let _ = write!(arms, "{name:?} => {{\n{lets}{tail}\n}}\n");
    }
    Ok(format!(
        "/// Calls the operation `call` names through its generated method.\n\
         pub(crate) async fn dispatch(\n\
             client: &crate::Client,\n\
             call: &crate::OperationCall,\n\
         ) -> Result<::serde_json::Value, crate::Error> {{\n\
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
    ))
}

fn is_client(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident("Client"))
}

/// A type as text without spaces, such as `Option<&'astr>`.
fn compact(ty: &syn::Type) -> String {
    ty.to_token_stream().to_string().replace(' ', "")
}

/// Generated types are named `types::X` inside the generated module.
fn qualify(ty: &str) -> String {
    ty.replace("types::", "crate::api::types::")
}
