//! Generates the API client from the one spec in `openapi/`.
//!
//! Reads the YAML, normalises it (the `runalloy-embedded-normalise` crate in
//! `normalise/`), runs progenitor, and writes four files into `$OUT_DIR`:
//! `alloy_api.rs`, the generated client and types; `spec_meta.rs`, the API
//! version and the operation table; `schemas.rs`, each operation's JSON
//! Schemas; and `dispatch.rs`, the call by operation id (`build/dispatch.rs`
//! writes the last two).

#[path = "build/dispatch.rs"]
mod dispatch;
#[path = "build/streams.rs"]
mod streams;
use runalloy_embedded_normalise as normalise;

use std::path::{Path, PathBuf};
use std::{env, fs, panic};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/dispatch.rs");
    println!("cargo::rerun-if-changed=build/streams.rs");
    println!("cargo::rerun-if-changed=openapi");
    if let Err(message) = run() {
        println!("cargo::error={message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let spec_path = find_spec(Path::new("openapi"))?;
    let spec_name = spec_path.display().to_string();
    let text = fs::read_to_string(&spec_path).map_err(|e| format!("{spec_name}: {e}"))?;
    let raw: serde_json::Value =
        serde_norway::from_str(&text).map_err(|e| format!("{spec_name} is not valid YAML: {e}"))?;
    let normalised = normalise::normalise(raw).map_err(|e| format!("{spec_name}: {e}"))?;
    let openapi: openapiv3::OpenAPI = serde_json::from_value(normalised.spec.clone())
        .map_err(|e| format!("{spec_name} is not a valid OpenAPI 3.0 document: {e}"))?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        // Builders: an optional parameter or body field the vendor adds is a
        // new setter, not a new positional argument that breaks every call.
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_derive("schemars::JsonSchema")
        .with_inner_type(quote::quote!(crate::transport::send::Transport))
        .with_hooks(progenitor::HooksMode::Expected);

    // progenitor reports some spec problems by panicking; turn any panic left
    // after normalisation into a build error that names the spec.
    let generated = panic::catch_unwind(panic::AssertUnwindSafe(|| {
        progenitor::Generator::new(&settings).generate_tokens(&openapi)
    }))
    .map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("progenitor cannot generate a client from {spec_name}: {why}")
    })?
    .map_err(|e| format!("progenitor rejected {spec_name}: {e}"))?;
    let mut file: syn::File =
        syn::parse2(generated).map_err(|e| format!("progenitor emitted invalid Rust: {e}"))?;
    mark_types_non_exhaustive(&mut file);
    streams::add(&mut file, &normalised.operations, rust_name)?;

    let code = prettyplease::unparse(&file);
    // The hooks look operations up by the name progenitor gives them; make
    // sure that name is the one `spec_meta.rs` records.
    for op in &normalised.operations {
        if !code.contains(&format!("operation_id: \"{}\"", rust_name(&op.id))) {
            return Err(format!(
                "operation `{}`: progenitor named it differently from `{}`; \
                 update `rust_name` in build.rs",
                op.id,
                rust_name(&op.id)
            ));
        }
    }
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    write(&out.join("alloy_api.rs"), &code)?;
    write(
        &out.join("spec_meta.rs"),
        &spec_meta(&spec_name, &normalised)?,
    )?;
    let generated = dispatch::generate(&file, &normalised.operations, rust_name)?;
    write(&out.join("dispatch.rs"), &generated.dispatch)?;
    write(&out.join("schemas.rs"), &generated.schemas)?;
    for rewrite in &normalised.rewrites {
        // Visible with `cargo build -vv`; the full list is in openapi/README.md.
        println!("normalise: {rewrite}");
    }
    Ok(())
}

/// Marks every struct and enum of the generated `types` module
/// `#[non_exhaustive]` (their builders in `types::builder` excepted, whose
/// fields are private anyway).
///
/// typify emits exhaustive types, so a response field or an enum value the
/// vendor adds would break any caller who builds (in their tests, say) or
/// destructures one. Non-exhaustive, they are built through their builders
/// (`types::X::builder()`) and matched with `..` or `_`, and an addition is
/// not a breaking change. Inside this crate nothing changes.
fn mark_types_non_exhaustive(file: &mut syn::File) {
    fn mark(attrs: &mut Vec<syn::Attribute>) {
        if !attrs.iter().any(|a| a.path().is_ident("non_exhaustive")) {
            attrs.push(syn::parse_quote!(#[non_exhaustive]));
        }
    }
    let types = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
        _ => None,
    });
    for item in types.into_iter().flat_map(|(_, items)| items.iter_mut()) {
        match item {
            syn::Item::Struct(s) => mark(&mut s.attrs),
            syn::Item::Enum(e) => mark(&mut e.attrs),
            _ => {}
        }
    }
}

/// Exactly one spec lives in `openapi/`: replacing it is the whole upgrade.
fn find_spec(dir: &Path) -> Result<PathBuf, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut specs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    specs.sort();
    match specs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no OpenAPI spec (*.yaml, *.yml, *.json) in {}",
            dir.display()
        )),
        many => Err(format!(
            "{} holds {} specs ({}); keep exactly one",
            dir.display(),
            many.len(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The `Paging` literal of an operation that declares `x-runalloy-paging`,
/// checked against its parameters: a declaration naming a parameter the
/// operation lacks (after a vendor update, say) stops the build.
fn paging_literal(op: &normalise::Operation) -> Result<String, String> {
    let Some(paging) = &op.paging else {
        return Ok("None".to_owned());
    };
    let bad = |why: String| format!("operation `{}`: {} {why}", op.id, normalise::PAGING);
    let text = |key: &str| -> Result<String, String> {
        paging
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("lacks `{key}`")))
    };
    let param = |key: &str| -> Result<String, String> {
        let name = text(key)?;
        if op
            .params
            .iter()
            .any(|p| p.name == name && p.location == "query")
        {
            Ok(name)
        } else {
            Err(bad(format!(
                "names `{name}` ({key}), which is not a query parameter of it"
            )))
        }
    };
    let number = |key: &str| -> Result<u64, String> {
        paging
            .get(key)
            .and_then(|v| v.as_u64())
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("lacks a positive `{key}`")))
    };
    let style = match text("style")?.as_str() {
        "offset" => format!("PageStyle::Offset {{ param: {:?} }}", param("offset")?),
        "page" => format!(
            "PageStyle::Page {{ param: {:?}, first: {} }}",
            param("page")?,
            paging
                .get("first-page")
                .and_then(|v| v.as_u64())
                .unwrap_or(1)
        ),
        other => return Err(bad(format!("has style `{other}`, not `offset` or `page`"))),
    };
    let total_pages = match paging.get("total-pages") {
        None => "None".to_owned(),
        Some(_) => format!("Some({:?})", text("total-pages")?),
    };
    let page_size = number("page-size")?;
    let max_page_size = match paging.get("max-page-size") {
        None => "None".to_owned(),
        Some(_) => {
            let max = number("max-page-size")?;
            if max < page_size {
                return Err(bad(format!(
                    "has a `max-page-size` ({max}) below its `page-size` ({page_size})"
                )));
            }
            format!("Some({max})")
        }
    };
    Ok(format!(
        "Some(Paging {{ style: {style}, limit_param: {:?}, page_size: {page_size}, max_page_size: {max_page_size}, items: {:?}, total_pages: {total_pages} }})",
        param("limit")?,
        text("items")?,
    ))
}

/// The `format` of a parameter's schema (`int32`), or empty, read from the
/// normalised document: the normaliser's table does not carry it.
fn param_format(
    spec: &serde_json::Value,
    op: &normalise::Operation,
    name: &str,
    location: &str,
) -> String {
    spec.get("paths")
        .and_then(|paths| paths.get(&op.path))
        .and_then(|item| item.get(op.method.to_ascii_lowercase()))
        .and_then(|o| o.get("parameters"))
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("name").and_then(serde_json::Value::as_str) == Some(name)
                && p.get("in").and_then(serde_json::Value::as_str) == Some(location)
        })
        .and_then(|p| p.pointer("/schema/format"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn spec_meta(spec_name: &str, n: &normalise::Normalised) -> Result<String, String> {
    let operations: String = n
        .operations
        .iter()
        .map(|op| {
            let params: String = op
                .params
                .iter()
                .map(|p| {
                    format!(
                        "Param {{ name: {:?}, location: {:?}, required: {}, kind: {:?}, format: {:?}, values: &{:?} }}, ",
                        p.name,
                        p.location,
                        p.required,
                        p.kind,
                        param_format(&n.spec, op, &p.name, &p.location),
                        p.values
                    )
                })
                .collect();
            let body = match &op.body {
                Some(b) => format!(
                    "Some(Body {{ required: {}, schema: {:?} }})",
                    b.required, b.schema
                ),
                None => "None".to_owned(),
            };
            let paging = match paging_literal(op) {
                Ok(paging) => paging,
                Err(why) => return Err(why),
            };
            Ok(format!(
                "    Operation {{ id: {:?}, rust_name: {:?}, method: {:?}, path: {:?}, \
                 summary: {:?}, params: &[{params}], body: {body}, example: {:?}, \
                 also_in_query: &{:?}, paging: {paging} }},\n",
                op.id,
                rust_name(&op.id),
                op.method,
                op.path,
                op.summary,
                op.example,
                op.also_in_query
            ))
        })
        .collect::<Result<String, String>>()?;
    Ok(format!(
        "/// The headers the client sets on every request, whose parameters the\n\
         /// normaliser removes: its `WRAPPER_HEADERS`, lower case.\n\
         pub(crate) const WRAPPER_HEADERS: [&str; 2] = {:?};\n\n\
         /// The header that carries the API version.\n\
         pub(crate) const API_VERSION_HEADER: &str = {:?};\n\n\
         /// The API version sent in `x-api-version`, read from the spec's `xApiVersion` default.\n\
         pub const API_VERSION: &str = {:?};\n\n\
         /// The spec file the client was generated from.\n\
         pub const SPEC_FILE: &str = {:?};\n\n\
         /// Every operation of the spec, sorted by operation id.\n\
         pub const OPERATIONS: &[Operation] = &[\n{operations}];\n",
        normalise::WRAPPER_HEADERS,
        normalise::API_VERSION_HEADER,
        n.api_version,
        spec_name
    ))
}

/// The snake_case method name progenitor derives from an operation id:
/// `delete-a-user` becomes `delete_a_user`, `getInstallation` becomes
/// `get_installation`.
fn rust_name(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + 4);
    let mut prev_lower = false;
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_lowercase());
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}
