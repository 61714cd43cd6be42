//! Applying an OpenAPI Overlay 1.0 document.
//!
//! Each action selects nodes with an RFC 9535 JSONPath (`target`) and either
//! removes them (`remove: true`) or merges `update` into them. Merging
//! follows the rule Overlay 1.1 (section 4.4.3.1) made explicit: into an
//! object, each property of the update is merged recursively when both
//! sides are objects and replaces the target's otherwise; into an array,
//! the update is appended (its items, if it is an array).
//!
//! The document is a YAML value so that key order survives; JSONPath runs
//! on a JSON copy, and the locations it finds are then followed in the YAML.
//! A target that selects nothing is an error: a completion must never be
//! dropped silently because the vendor's text it completed has changed.
//! And an update that replaces a value the vendor gave (rather than filling
//! a missing or empty one) is an error unless the action is marked
//! `x-runalloy-replaces: true`: a completion must never silently override
//! the vendor's text once a fuller copy of it is imported.

use crate::Problem;
use serde_json_path::JsonPath;
use serde_norway::{Mapping, Value};
use std::path::Path;

/// Applies every action of the overlay at `overlay_file` to `doc`, in order.
pub fn apply(doc: &mut Value, overlay_file: &Path) -> Result<(), Problem> {
    let shown = overlay_file.display().to_string();
    let overlay = crate::read_yaml(overlay_file)?;
    let version = overlay.get("overlay").and_then(Value::as_str).unwrap_or("");
    if !version.starts_with("1.0") {
        return Err(Problem::Overlay {
            file: shown,
            action: 0,
            why: format!("`overlay: {version}` is not an Overlay 1.0 document"),
        });
    }
    let actions = overlay
        .get("actions")
        .and_then(Value::as_sequence)
        .cloned()
        .unwrap_or_default();
    for (i, action) in actions.iter().enumerate() {
        let number = i + 1;
        let fail = |why: String| Problem::Overlay {
            file: shown.clone(),
            action: number,
            why,
        };
        let target = action
            .get("target")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("it has no `target`".to_owned()))?;
        let described = action
            .get("description")
            .and_then(Value::as_str)
            .map_or(String::new(), |d| format!(" ({d})"));
        let path = JsonPath::parse(target)
            .map_err(|e| fail(format!("`{target}` is not a JSONPath: {e}")))?;
        let as_json = serde_json::to_value(&*doc)
            .map_err(|e| fail(format!("the document cannot be read as JSON: {e}")))?;
        let mut locations: Vec<Vec<Step>> = path
            .query_located(&as_json)
            .locations()
            .map(|location| {
                location
                    .iter()
                    .map(|element| match element {
                        serde_json_path::PathElement::Name(name) => Step::Name((*name).to_owned()),
                        serde_json_path::PathElement::Index(index) => Step::Index(*index),
                    })
                    .collect()
            })
            .collect();
        if locations.is_empty() {
            return Err(fail(format!(
                "its target `{target}` selects nothing in the vendor's documents{described}; \
                 the text it completes has changed or gone"
            )));
        }
        let remove = action
            .get("remove")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if remove {
            // From the last, so that removing an array item does not shift
            // the ones still to remove.
            locations.reverse();
            for location in &locations {
                remove_at(doc, location).map_err(&fail)?;
            }
        } else {
            let update = action
                .get("update")
                .ok_or_else(|| fail("it has neither `update` nor `remove: true`".to_owned()))?;
            let replaces = action
                .get(REPLACES)
                .and_then(Value::as_bool)
                .unwrap_or(false);
            for location in &locations {
                let node = follow(doc, location).map_err(&fail)?;
                let mut replaced = Vec::new();
                merge_into(node, update, String::new(), &mut replaced).map_err(&fail)?;
                if let (Some(first), false) = (replaced.first(), replaces) {
                    return Err(fail(format!(
                        "it would replace the vendor's own value at `{target}{first}`{described}; \
                         if that is a repair, mark the action `{REPLACES}: true`"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// One step of a location: a property name or an array index.
#[derive(Debug, Clone)]
enum Step {
    Name(String),
    Index(usize),
}

fn key(name: &str) -> Value {
    Value::String(name.to_owned())
}

fn follow<'a>(doc: &'a mut Value, location: &[Step]) -> Result<&'a mut Value, String> {
    let mut node = doc;
    for step in location {
        node = match (step, node) {
            (Step::Name(name), Value::Mapping(map)) => map
                .get_mut(key(name))
                .ok_or_else(|| format!("`{name}` vanished while applying"))?,
            (Step::Index(i), Value::Sequence(items)) => items
                .get_mut(*i)
                .ok_or_else(|| format!("index {i} vanished while applying"))?,
            _ => return Err("the document changed shape while applying".to_owned()),
        };
    }
    Ok(node)
}

fn remove_at(doc: &mut Value, location: &[Step]) -> Result<(), String> {
    let Some((last, parent)) = location.split_last() else {
        return Err("the whole document cannot be removed".to_owned());
    };
    match (last, follow(doc, parent)?) {
        (Step::Name(name), Value::Mapping(map)) => {
            map.shift_remove(key(name));
        }
        (Step::Index(i), Value::Sequence(items)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => return Err("the node to remove vanished while applying".to_owned()),
    }
    Ok(())
}

/// The action extension that allows an update to replace what the vendor
/// wrote (a repair), rather than only fill what its copy lacks.
pub const REPLACES: &str = "x-runalloy-replaces";

/// Merges `update` into `node`, recording in `replaced` where it replaced a
/// value the vendor gave: anything but an empty value (null, `""`, `[]` or
/// `{}`, which is where a cut copy ends) or the same value.
fn merge_into(
    node: &mut Value,
    update: &Value,
    at: String,
    replaced: &mut Vec<String>,
) -> Result<(), String> {
    match (node, update) {
        (Value::Mapping(target), Value::Mapping(update)) => {
            merge_mappings(target, update, at, replaced);
            Ok(())
        }
        (Value::Sequence(items), Value::Sequence(more)) => {
            items.extend(more.iter().cloned());
            Ok(())
        }
        (Value::Sequence(items), one) => {
            items.push(one.clone());
            Ok(())
        }
        (Value::Mapping(_), _) => Err("an object can only be updated with an object".to_owned()),
        _ => Err("its target selects a value that is neither an object nor an array".to_owned()),
    }
}

fn merge_mappings(target: &mut Mapping, update: &Mapping, at: String, replaced: &mut Vec<String>) {
    for (k, v) in update {
        let here = format!("{at}['{}']", k.as_str().unwrap_or_default());
        match (target.get_mut(k), v) {
            (Some(Value::Mapping(inner)), Value::Mapping(more)) => {
                merge_mappings(inner, more, here, replaced)
            }
            (Some(slot), _) => {
                if !is_empty(slot) && slot != v {
                    replaced.push(here);
                }
                *slot = v.clone();
            }
            (None, _) => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(map) => map.is_empty(),
        _ => false,
    }
}
