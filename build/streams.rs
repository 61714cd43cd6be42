//! A typed `stream()` on the request builder of every operation the spec
//! declares paged (`x-runalloy-paging`): added to progenitor's `builder`
//! module, beside the builder (whose fields it reads), so that a paged
//! operation of the next spec version gets its stream with no hand-written
//! code. It yields the generated item type of the page's items list, and
//! walks the pages with `crate::workflows::typed_paging::walk`.

use crate::normalise;
use quote::ToTokens;

/// Adds the streams to `file`'s `builder` module.
pub fn add(
    file: &mut syn::File,
    operations: &[normalise::Operation],
    rust_name: fn(&str) -> String,
) -> Result<(), String> {
    let structs: Vec<syn::ItemStruct> = module(file, "types")
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let mut added = Vec::new();
    for op in operations {
        let Some(paging) = &op.paging else {
            continue;
        };
        let text = |key: &str| paging.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let bad = |why: &str| format!("operation `{}`: {why}", op.id);
        let builder = pascal(&rust_name(&op.id));
        let response = response_type(module(file, "builder"), &builder).ok_or_else(|| {
            bad("no `send()` returning `ResponseValue<types::..>` on its builder")
        })?;
        let items = text("items").ok_or_else(|| bad("its paging names no items"))?;
        let item = item_type(&structs, &response, &items).unwrap_or_else(|| {
            // An items list the generated type does not name (nested, or
            // free-form): its items as JSON.
            println!(
                "cargo::warning=operation `{}`: the items `{items}` are not a list of a generated type; its stream yields JSON",
                op.id
            );
            "::serde_json::Value".to_owned()
        });
        let limit = text("limit").ok_or_else(|| bad("its paging names no limit"))?;
        let position = text("offset")
            .or_else(|| text("page"))
            .ok_or_else(|| bad("its paging names no position"))?;
        let (limit_field, position_field) = (rust_name(&limit), rust_name(&position));
        let id = &op.id;
        let method = rust_name(&op.id);
        let source = format!(
            r#"impl<'a> {builder}<'a> {{
    /// Every item of every page, as one stream of the generated item type,
    /// page after page (the spec declares this operation paged). The other
    /// parameters are this builder's; a `{position}` set on it is where the
    /// walk starts, and a `{limit}` the page size (lowered to the maximum
    /// the vendor documents, where it documents one).
    ///
    /// It ends on an empty page, at the answer's page count where it gives
    /// one, or else on a short page. A page that repeats the one before (a
    /// server ignoring the position) ends it with an error, never a loop.
    /// A failure comes after the items of the pages before it, as
    /// [`crate::Error::Page`] naming the page. Errors are the crate's, as
    /// [`crate::Client::call`] maps them.
    ///
    /// ```no_run
    /// # async fn demo(client: runalloy_embedded::Client) -> Result<(), runalloy_embedded::Error> {{
    /// use futures::StreamExt;
    ///
    /// let mut items = std::pin::pin!(client.api().{method}().stream());
    /// while let Some(item) = items.next().await {{
    ///     let item = item?;
    ///     # let _ = item;
    /// }}
    /// # Ok(()) }}
    /// ```
    pub fn stream(
        self,
    ) -> impl ::futures::Stream<Item = ::std::result::Result<{item}, crate::Error>> + 'a {{
        let limit = crate::workflows::typed_paging::given({id:?}, {limit:?}, &self.{limit_field});
        let start = crate::workflows::typed_paging::given({id:?}, {position:?}, &self.{position_field});
        let paging = crate::OPERATIONS
            .iter()
            .find(|o| o.id == {id:?})
            .and_then(|o| o.paging);
        crate::workflows::typed_paging::walk({id:?}, paging, limit, start, move |position, size| {{
            self.clone().{limit_field}(size).{position_field}(position).send()
        }})
    }}
}}"#
        );
        let parsed: syn::Item =
            syn::parse_str(&source).map_err(|e| bad(&format!("its stream does not parse: {e}")))?;
        added.push(parsed);
    }
    let builder = module_mut(file, "builder").ok_or("progenitor emitted no `builder` module")?;
    builder.extend(added);
    Ok(())
}

fn module<'a>(file: &'a syn::File, name: &str) -> &'a [syn::Item] {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == name => {
                m.content.as_ref().map(|(_, items)| items.as_slice())
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn module_mut<'a>(file: &'a mut syn::File, name: &str) -> Option<&'a mut Vec<syn::Item>> {
    file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// The `T` of `ResponseValue<types::T>` that the builder's `send()` returns.
fn response_type(builder_module: &[syn::Item], builder: &str) -> Option<String> {
    builder_module.iter().find_map(|item| {
        let syn::Item::Impl(imp) = item else {
            return None;
        };
        let syn::Type::Path(self_ty) = imp.self_ty.as_ref() else {
            return None;
        };
        if self_ty.path.segments.last()?.ident != builder {
            return None;
        }
        imp.items.iter().find_map(|item| {
            let syn::ImplItem::Fn(f) = item else {
                return None;
            };
            if f.sig.ident != "send" {
                return None;
            }
            let text = f.sig.output.to_token_stream().to_string().replace(' ', "");
            let start = text.find("ResponseValue<types::")? + "ResponseValue<types::".len();
            let rest = &text[start..];
            let end = rest.find(|c: char| !c.is_alphanumeric() && c != '_')?;
            Some(rest[..end].to_owned())
        })
    })
}

/// The item type of the list at `items` (one segment) in struct `response`,
/// as the `builder` module names it.
fn item_type(structs: &[syn::ItemStruct], response: &str, items: &str) -> Option<String> {
    if items.contains('.') {
        return None;
    }
    let s = structs.iter().find(|s| s.ident == response)?;
    let syn::Fields::Named(fields) = &s.fields else {
        return None;
    };
    let field = fields.named.iter().find(|f| {
        serde_name(f).as_deref() == Some(items) || f.ident.as_ref().is_some_and(|i| *i == items)
    })?;
    let syn::Type::Path(ty) = &field.ty else {
        return None;
    };
    let last = ty.path.segments.last()?;
    if last.ident != "Vec" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let syn::GenericArgument::Type(inner) = args.args.first()? else {
        return None;
    };
    let text = inner.to_token_stream().to_string();
    match inner {
        // A type of the `types` module, named from `builder`.
        syn::Type::Path(p) if p.path.leading_colon.is_none() && p.path.segments.len() == 1 => {
            Some(format!("super::types::{text}"))
        }
        syn::Type::Path(p) if p.path.leading_colon.is_some() => Some(text),
        _ => None,
    }
}

/// A field's `#[serde(rename = "...")]`, if it has one.
fn serde_name(field: &syn::Field) -> Option<String> {
    field.attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("serde") {
            return None;
        }
        let text = attr.to_token_stream().to_string();
        let start = text.find("rename =")? + "rename =".len();
        let rest = text[start..].trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    })
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect()
}
