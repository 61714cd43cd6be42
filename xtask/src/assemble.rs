//! `cargo xtask spec assemble`: one version's vendor documents, merged and
//! completed, into the one spec the build reads.
//!
//! Layout, for version `V`:
//!
//! - `openapi/V/vendor/*.yaml`: the vendor's per-operation documents, as
//!   published (our copies may be cut part way; they are kept as they are);
//! - `openapi/V/completions.overlay.yaml`: our completions and repairs, as
//!   an Overlay 1.0 document;
//! - `openapi/embedded-V.yaml`: the result, which `build.rs` reads.
//!
//! The merge refuses, naming both files: the same `operationId` twice, the
//! same method and path twice, a component defined twice with different
//! content, and documents that disagree on `openapi`, `info`, `servers` or
//! the `x-api-version` default. A copy cut part way leaves an empty (null)
//! value where the cut fell; a definition holding such a hole agrees with
//! one that fills it, and the fuller one is kept.
//!
//! The overlay may fill what the copies lack; replacing what the vendor
//! wrote needs the action to say `x-runalloy-replaces: true` (see
//! [`crate::overlay`]).

use crate::{Problem, overlay, read_yaml};
use runalloy_embedded_normalise::METHODS;
use serde_norway::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Top-level fields every document must agree on.
const SHARED: [&str; 4] = ["openapi", "info", "servers", "security"];

/// Where one version's inputs and output live.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The API version, such as `2025-09`.
    pub version: String,
    /// `openapi/V/vendor/`.
    pub vendor_dir: PathBuf,
    /// `openapi/V/completions.overlay.yaml`.
    pub overlay: PathBuf,
    /// `openapi/embedded-V.yaml`.
    pub output: PathBuf,
}

impl Layout {
    /// The layout of `version` under the folder `openapi`.
    pub fn new(openapi: &Path, version: &str) -> Self {
        let dir = openapi.join(version);
        Self {
            version: version.to_owned(),
            vendor_dir: dir.join("vendor"),
            overlay: dir.join("completions.overlay.yaml"),
            output: openapi.join(format!("embedded-{version}.yaml")),
        }
    }

    /// The version of the one `embedded-V.yaml` in `openapi`.
    pub fn current(openapi: &Path) -> Result<Self, Problem> {
        let entries = std::fs::read_dir(openapi).map_err(|e| Problem::Read {
            file: openapi.display().to_string(),
            why: e.to_string(),
        })?;
        let mut versions: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let version = name.strip_prefix("embedded-")?.strip_suffix(".yaml")?;
                Some(version.to_owned())
            })
            .collect();
        versions.sort();
        match versions.as_slice() {
            [one] => Ok(Self::new(openapi, one)),
            _ => Err(Problem::Read {
                file: openapi.display().to_string(),
                why: format!(
                    "expected exactly one embedded-VERSION.yaml, found {}; name the version with --version",
                    versions.len()
                ),
            }),
        }
    }
}

/// The first line of every assembled spec.
pub fn header(layout: &Layout) -> String {
    format!(
        "# Assembled by `cargo xtask spec assemble` from openapi/{v}/vendor/ and\n\
         # openapi/{v}/completions.overlay.yaml. Edit those, not this file.\n",
        v = layout.version
    )
}

/// The assembled spec, as text.
pub fn assemble(layout: &Layout) -> Result<String, Problem> {
    let mut doc = merge_vendor_documents(&layout.vendor_dir)?;
    overlay::apply(&mut doc, &layout.overlay)?;
    check_examples(layout, &doc)?;
    let body = serde_norway::to_string(&doc).map_err(|e| Problem::Read {
        file: layout.output.display().to_string(),
        why: format!("cannot write the assembled spec: {e}"),
    })?;
    // Vendor text stays text for YAML 1.1 readers (PyYAML, SnakeYAML).
    let body = crate::yaml11::quote_for_yaml_11(&body);
    Ok(format!("{}{body}", header(layout)))
}

/// Refuses an assembly in which an example contradicts its schema, naming
/// each such example's operation and pointer.
fn check_examples(layout: &Layout, doc: &Value) -> Result<(), Problem> {
    let json = serde_json::to_value(doc).map_err(|e| Problem::Read {
        file: layout.output.display().to_string(),
        why: format!("cannot be read as JSON: {e}"),
    })?;
    let mismatches = crate::examples::check(&json);
    if mismatches.is_empty() {
        return Ok(());
    }
    Err(Problem::Read {
        file: layout.output.display().to_string(),
        why: format!(
            "{} example(s) contradict their schema; repair them in {} (marked as repairs):\n  {}",
            mismatches.len(),
            layout.overlay.display(),
            mismatches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    })
}

/// Merges every `*.yaml` of `dir`, in file-name order.
pub fn merge_vendor_documents(dir: &Path) -> Result<Value, Problem> {
    let entries = std::fs::read_dir(dir).map_err(|e| Problem::Read {
        file: dir.display().to_string(),
        why: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Problem::Read {
            file: dir.display().to_string(),
            why: "holds no *.yaml document".to_owned(),
        });
    }
    let mut merged = Merged::default();
    for file in &files {
        merged.add(file, read_yaml(file)?)?;
    }
    Ok(merged.finish())
}

/// The merge so far, with the file each piece came from.
#[derive(Default)]
struct Merged {
    shared: Vec<(String, Value, String)>,
    paths: Mapping,
    /// `(path, method)` and operation id, with their files.
    methods: Vec<((String, String), String)>,
    ids: Vec<(String, String)>,
    components: Mapping,
    component_files: Vec<((String, String), String)>,
    api_version: Option<(String, String)>,
}

impl Merged {
    fn add(&mut self, file: &Path, doc: Value) -> Result<(), Problem> {
        let name = file.display().to_string();
        self.add_shared(&doc, &name)?;
        self.add_api_version(&doc, &name)?;
        self.add_paths(&doc, &name)?;
        self.add_components(&doc, &name)
    }

    /// The top-level fields every document shares (`openapi`, `info`...),
    /// which must agree.
    fn add_shared(&mut self, doc: &Value, name: &str) -> Result<(), Problem> {
        for field in SHARED {
            let value = doc.get(field).cloned().unwrap_or(Value::Null);
            match self.shared.iter().find(|(f, _, _)| f == field) {
                Some((_, first, first_file)) if *first != value => {
                    return Err(Problem::Conflict {
                        what: format!("the documents disagree on `{field}`"),
                        first: first_file.clone(),
                        second: name.to_owned(),
                    });
                }
                Some(_) => {}
                None => self.shared.push((field.to_owned(), value, name.to_owned())),
            }
        }
        Ok(())
    }

    /// The document's x-api-version default, which must agree with the
    /// others'.
    fn add_api_version(&mut self, doc: &Value, name: &str) -> Result<(), Problem> {
        let Some(version) = api_version_default(doc) else {
            return Ok(());
        };
        match &self.api_version {
            Some((first, first_file)) if *first != version => Err(Problem::Conflict {
                what: format!(
                    "the documents disagree on the x-api-version default (`{first}` and `{version}`)"
                ),
                first: first_file.clone(),
                second: name.to_owned(),
            }),
            Some(_) => Ok(()),
            None => {
                self.api_version = Some((version, name.to_owned()));
                Ok(())
            }
        }
    }

    /// Each path's operations (each method and operation id once) and its
    /// path-level fields (which must agree).
    fn add_paths(&mut self, doc: &Value, name: &str) -> Result<(), Problem> {
        for (path, item) in mapping(doc, "paths") {
            let path_text = path.as_str().unwrap_or_default().to_owned();
            let Some(slot) = section(&mut self.paths, &path) else {
                continue;
            };
            for (key, value) in item.as_mapping().cloned().unwrap_or_default() {
                let key_text = key.as_str().unwrap_or_default().to_owned();
                if !METHODS.contains(&key_text.as_str()) {
                    // Path-level `parameters`, `summary`...: shared by the
                    // documents of one path, so they must agree.
                    match slot.get(&key) {
                        Some(first) if *first != value => {
                            return Err(Problem::Conflict {
                                what: format!("path `{path_text}` has two different `{key_text}`"),
                                first: self.path_files(&path_text),
                                second: name.to_owned(),
                            });
                        }
                        Some(_) => {}
                        None => {
                            slot.insert(key, value);
                        }
                    }
                    continue;
                }
                let at = (path_text.clone(), key_text.clone());
                if let Some((_, first)) = self.methods.iter().find(|(m, _)| *m == at) {
                    return Err(Problem::Conflict {
                        what: format!("{} {path_text} is defined twice", key_text.to_uppercase()),
                        first: first.clone(),
                        second: name.to_owned(),
                    });
                }
                if let Some(id) = value.get("operationId").and_then(Value::as_str) {
                    if let Some((_, first)) = self.ids.iter().find(|(i, _)| i == id) {
                        return Err(Problem::Conflict {
                            what: format!("operationId `{id}` is used twice"),
                            first: first.clone(),
                            second: name.to_owned(),
                        });
                    }
                    self.ids.push((id.to_owned(), name.to_owned()));
                }
                self.methods.push((at, name.to_owned()));
                slot.insert(key, value);
            }
        }
        Ok(())
    }

    /// Each component once; a second definition must be the same, or fill
    /// the holes a cut left in the first.
    fn add_components(&mut self, doc: &Value, name: &str) -> Result<(), Problem> {
        for (section_name, defs) in mapping(doc, "components") {
            let section_text = section_name.as_str().unwrap_or_default().to_owned();
            let Some(slot) = section(&mut self.components, &section_name) else {
                continue;
            };
            for (def_name, def) in defs.as_mapping().cloned().unwrap_or_default() {
                let def_text = def_name.as_str().unwrap_or_default().to_owned();
                let at = (section_text.clone(), def_text.clone());
                match slot.get(&def_name).cloned() {
                    None => {
                        slot.insert(def_name, def);
                        self.component_files.push((at, name.to_owned()));
                    }
                    Some(first) if first == def => {}
                    Some(first) if has_hole(&first) && fills(&first, &def) => {
                        slot.insert(def_name, def);
                    }
                    Some(first) if has_hole(&def) && fills(&def, &first) => {}
                    Some(_) => {
                        let first_file = self
                            .component_files
                            .iter()
                            .find(|(a, _)| *a == at)
                            .map(|(_, f)| f.clone())
                            .unwrap_or_default();
                        return Err(Problem::Conflict {
                            what: format!(
                                "component `{section_text}.{def_text}` is defined twice with different content"
                            ),
                            first: first_file,
                            second: name.to_owned(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The file of the first operation on `path`.
    fn path_files(&self, path: &str) -> String {
        self.methods
            .iter()
            .find(|((p, _), _)| p == path)
            .map(|(_, file)| file.clone())
            .unwrap_or_default()
    }

    fn finish(self) -> Value {
        let mut out = Mapping::new();
        for (field, value, _) in self.shared {
            if !value.is_null() {
                out.insert(Value::String(field), value);
            }
        }
        out.insert(
            Value::String("paths".to_owned()),
            Value::Mapping(self.paths),
        );
        if !self.components.is_empty() {
            out.insert(
                Value::String("components".to_owned()),
                Value::Mapping(self.components),
            );
        }
        Value::Mapping(out)
    }
}

/// The mapping under `key` of `doc`, or an empty one.
fn mapping(doc: &Value, key: &str) -> Mapping {
    doc.get(key)
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default()
}

/// The mapping under `key` of `parent`, made empty if absent; `None` if
/// something else is there.
fn section<'a>(parent: &'a mut Mapping, key: &Value) -> Option<&'a mut Mapping> {
    match parent
        .entry(key.clone())
        .or_insert_with(|| Value::Mapping(Mapping::new()))
    {
        Value::Mapping(map) => Some(map),
        _ => None,
    }
}

/// Whether a copy was cut inside `value`: it holds an empty (null) value.
fn has_hole(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Mapping(map) => map.values().any(has_hole),
        Value::Sequence(items) => items.iter().any(has_hole),
        _ => false,
    }
}

/// Whether `full` says everything `cut` says, filling its holes.
fn fills(cut: &Value, full: &Value) -> bool {
    match (cut, full) {
        (Value::Null, _) => true,
        (Value::Mapping(cut), Value::Mapping(full)) => cut
            .iter()
            .all(|(k, v)| full.get(k).is_some_and(|f| fills(v, f))),
        (Value::Sequence(cut), Value::Sequence(full)) => {
            cut.len() == full.len() && cut.iter().zip(full).all(|(c, f)| fills(c, f))
        }
        _ => cut == full,
    }
}

/// The `schema.default` of the document's `x-api-version` header parameter,
/// wherever it is declared.
fn api_version_default(doc: &Value) -> Option<String> {
    let is_version = |p: &Value| {
        p.get("in").and_then(Value::as_str) == Some("header")
            && p.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case("x-api-version"))
    };
    let text = |p: &Value| match p.get("schema")?.get("default")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let components = doc
        .get("components")
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flat_map(|m| m.values());
    let inline = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_mapping)
        .flat_map(|item| item.values())
        .filter_map(|op| op.get("parameters").and_then(Value::as_sequence))
        .flatten();
    components
        .chain(inline)
        .filter(|p| is_version(p))
        .find_map(text)
}
