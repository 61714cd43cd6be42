//! `cargo xtask spec assemble`: the checked-in spec is exactly what the
//! vendor's documents and our completions make, and each kind of broken
//! input is refused with one line naming the files, exit 2.

use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::assemble::{Layout, assemble};

fn repo_openapi() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi")
}

#[test]
fn the_checked_in_spec_is_exactly_what_assembly_makes() {
    let layout = Layout::current(&repo_openapi()).unwrap();
    assert_eq!(layout.version, "2025-09");
    let assembled = assemble(&layout).unwrap();
    let checked_in = std::fs::read_to_string(&layout.output).unwrap();
    assert!(
        assembled == checked_in,
        "{} differs from what `cargo xtask spec assemble` makes; run it",
        layout.output.display()
    );
}

/// A one-operation document like the vendor's.
fn doc(id: &str, method: &str, path: &str) -> String {
    format!(
        "openapi: 3.0.1\n\
         info:\n  title: Embedded 2025-09\n  version: '5.0'\n\
         servers:\n  - url: https://production.runalloy.com\n\
         security: []\n\
         paths:\n  {path}:\n    {method}:\n      operationId: {id}\n      parameters:\n        - $ref: '#/components/parameters/xApiVersion'\n      responses:\n        '200':\n          description: '200'\n\
         components:\n  parameters:\n    xApiVersion:\n      name: x-api-version\n      in: header\n      required: true\n      schema:\n        type: string\n        default: 2025-09\n"
    )
}

const EMPTY_OVERLAY: &str = "overlay: 1.0.0\ninfo:\n  title: t\n  version: '1'\nactions: []\n";

/// An openapi/ folder with `docs` as 2025-09's vendor documents.
fn folder(docs: &[(&str, String)], overlay: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let vendor = dir.path().join("2025-09/vendor");
    std::fs::create_dir_all(&vendor).unwrap();
    for (name, text) in docs {
        std::fs::write(vendor.join(name), text).unwrap();
    }
    std::fs::write(dir.path().join("2025-09/completions.overlay.yaml"), overlay).unwrap();
    dir
}

/// Runs the tool on `dir`: exit code and stderr.
fn run(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["spec", "assemble", "--version", "2025-09", "--openapi"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn vendor(dir: &Path, name: &str) -> String {
    dir.join("2025-09/vendor").join(name).display().to_string()
}

#[test]
fn good_documents_assemble_and_the_overlay_applies() {
    let overlay = "overlay: 1.0.0\ninfo:\n  title: t\n  version: '1'\nactions:\n  - target: $.paths['/a'].get\n    description: a summary we completed\n    update:\n      summary: From the rendered page\n      x-runalloy-completed: a rendered page\n  - target: $.paths['/b'].get.parameters\n    update:\n      name: extra\n      in: query\n      schema: {type: string}\n  - target: $.paths['/b'].get.responses\n    remove: true\n";
    let dir = folder(
        &[
            ("a.yaml", doc("a", "get", "/a")),
            ("b.yaml", doc("b", "get", "/b")),
        ],
        overlay,
    );
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 0, "{stderr}");
    let out = std::fs::read_to_string(dir.path().join("embedded-2025-09.yaml")).unwrap();
    let spec: serde_norway::Value = serde_norway::from_str(&out).unwrap();
    assert_eq!(
        spec["paths"]["/a"]["get"]["summary"].as_str(),
        Some("From the rendered page")
    );
    assert_eq!(
        spec["paths"]["/b"]["get"]["parameters"][1]["name"].as_str(),
        Some("extra")
    );
    assert!(spec["paths"]["/b"]["get"].get("responses").is_none());
    // One component, defined identically by both documents.
    assert_eq!(
        spec["components"]["parameters"]
            .as_mapping()
            .map(|m| m.len()),
        Some(1)
    );
    assert!(out.starts_with("# Assembled by `cargo xtask spec assemble`"));
}

#[test]
fn a_copy_cut_inside_a_component_agrees_with_the_full_one() {
    let cut = doc("b", "get", "/b").replace(
        "      schema:\n        type: string\n        default: 2025-09\n",
        "      schema:\n",
    );
    let dir = folder(
        &[("a.yaml", doc("a", "get", "/a")), ("b.yaml", cut)],
        EMPTY_OVERLAY,
    );
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 0, "{stderr}");
    let out = std::fs::read_to_string(dir.path().join("embedded-2025-09.yaml")).unwrap();
    assert!(out.contains("default: 2025-09"), "{out}");
}

#[test]
fn each_kind_of_broken_input_is_one_line_naming_the_files_exit_2() {
    let a = || ("a.yaml", doc("a", "get", "/a"));
    let mut cases: Vec<(Vec<(&str, String)>, String)> = vec![
        (
            vec![a(), ("b.yaml", doc("a", "get", "/b"))],
            "operationId `a` is used twice: in {a} and in {b}".into(),
        ),
        (
            vec![a(), ("b.yaml", doc("b", "get", "/a"))],
            "GET /a is defined twice: in {a} and in {b}".into(),
        ),
        (
            vec![a(), ("b.yaml", doc("b", "get", "/b").replace("required: true", "required: false"))],
            "component `parameters.xApiVersion` is defined twice with different content: in {a} and in {b}".into(),
        ),
        (
            vec![a(), ("b.yaml", doc("b", "get", "/b").replace("title: Embedded 2025-09", "title: Connectivity"))],
            "the documents disagree on `info`: in {a} and in {b}".into(),
        ),
        (
            vec![a(), ("b.yaml", doc("b", "get", "/b").replace("production.runalloy.com", "embedded.runalloy.com/2025-09"))],
            "the documents disagree on `servers`: in {a} and in {b}".into(),
        ),
        (
            vec![a(), ("b.yaml", doc("b", "get", "/b").replace("default: 2025-09", "default: 2026-03").replace("required: true", "required: true\n      description: v"))],
            "the documents disagree on the x-api-version default (`2025-09` and `2026-03`): in {a} and in {b}".into(),
        ),
    ];
    let with_shared = |id: &str, method: &str, kind: &str| {
        doc(id, method, "/a").replace(
            "  /a:\n",
            &format!(
                "  /a:\n    parameters:\n      - {{name: q, in: query, schema: {{type: {kind}}}}}\n"
            ),
        )
    };
    cases.push((
        vec![
            ("a.yaml", with_shared("a", "get", "string")),
            ("b.yaml", with_shared("b", "put", "integer")),
        ],
        "path `/a` has two different `parameters`: in {a} and in {b}".into(),
    ));
    for (docs, expected) in cases {
        let dir = folder(&docs, EMPTY_OVERLAY);
        let (code, stderr) = run(dir.path());
        let expected = expected
            .replace("{a}", &vendor(dir.path(), "a.yaml"))
            .replace("{b}", &vendor(dir.path(), "b.yaml"));
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stderr, format!("error: {expected}\n"));
        assert!(!dir.path().join("embedded-2025-09.yaml").exists());
    }
}

#[test]
fn a_completion_whose_target_is_gone_is_an_error_naming_the_overlay() {
    let overlay = "overlay: 1.0.0\ninfo:\n  title: t\n  version: '1'\nactions:\n  - target: $.paths['/a'].get\n    update: {summary: s}\n  - target: $.paths['/gone'].get\n    description: 'gone: completed from its rendered page'\n    update: {summary: s}\n";
    let dir = folder(&[("a.yaml", doc("a", "get", "/a"))], overlay);
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 2);
    let file = dir.path().join("2025-09/completions.overlay.yaml");
    assert_eq!(
        stderr,
        format!(
            "error: {}: action 2: its target `$.paths['/gone'].get` selects nothing in the vendor's documents \
             (gone: completed from its rendered page); the text it completes has changed or gone\n",
            file.display()
        )
    );
}

#[test]
fn unreadable_inputs_are_refused_with_a_sentence() {
    let dir = folder(
        &[("a.yaml", "openapi: [unclosed".to_owned())],
        EMPTY_OVERLAY,
    );
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with(&format!(
            "error: {}: not valid YAML: ",
            vendor(dir.path(), "a.yaml")
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let (code, stderr) = run(empty.path());
    assert_eq!(code, 2);
    assert!(stderr.contains("2025-09/vendor"), "{stderr}");
}

#[test]
fn replacing_the_vendors_own_text_needs_the_action_to_say_so() {
    let overlay = |mark: &str| {
        format!(
            "overlay: 1.0.0\ninfo:\n  title: t\n  version: '1'\nactions:\n  - target: $.paths['/a'].get\n    description: a repair\n{mark}    update:\n      operationId: renamed\n      summary: filled\n"
        )
    };
    // Without the mark: refused, naming where.
    let dir = folder(&[("a.yaml", doc("a", "get", "/a"))], &overlay(""));
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 2);
    let file = dir.path().join("2025-09/completions.overlay.yaml");
    assert_eq!(
        stderr,
        format!(
            "error: {}: action 1: it would replace the vendor's own value at \
             `$.paths['/a'].get['operationId']` (a repair); if that is a repair, mark the action \
             `x-runalloy-replaces: true`\n",
            file.display()
        )
    );
    // Marked: applied. Filling what the copy lacks never needs the mark.
    let dir = folder(
        &[("a.yaml", doc("a", "get", "/a"))],
        &overlay("    x-runalloy-replaces: true\n"),
    );
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 0, "{stderr}");
    let out = std::fs::read_to_string(dir.path().join("embedded-2025-09.yaml")).unwrap();
    assert!(
        out.contains("operationId: renamed") && out.contains("summary: filled"),
        "{out}"
    );
}

#[test]
fn an_example_that_contradicts_its_schema_fails_assembly_naming_the_operation_and_pointer() {
    // The vendor's habit: the JSON body written as a string.
    let with_example = doc("a", "get", "/a").replace(
        "          description: '200'\n",
        "          description: '200'\n          content:\n            application/json:\n              examples:\n                Result:\n                  value: '{\"ok\": true}'\n              schema:\n                type: object\n                properties:\n                  ok:\n                    type: boolean\n",
    );
    let dir = folder(&[("a.yaml", with_example.clone())], EMPTY_OVERLAY);
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("1 example(s) contradict their schema; repair them in ")
            && stderr.contains(
                "  operation `a` (GET /a): the example at \
             `/paths/~1a/get/responses/200/content/application~1json/examples/Result/value` \
             does not match its schema: \"{\\\"ok\\\": true}\" is not of type \"object\"\n"
            ),
        "{stderr}"
    );

    // Repaired in the overlay, marked as a repair, it assembles.
    let repair = "overlay: 1.0.0\ninfo:\n  title: t\n  version: '1'\nactions:\n  - target: $.paths['/a'].get.responses['200'].content['application/json'].examples.Result\n    description: 'a: a repair: the example is JSON written as a string'\n    x-runalloy-replaces: true\n    update:\n      value:\n        ok: true\n";
    let dir = folder(&[("a.yaml", with_example)], repair);
    let (code, stderr) = run(dir.path());
    assert_eq!(code, 0, "{stderr}");
}

/// The document at `path` as a YAML 1.1 reader (PyYAML) reads it, as JSON;
/// anything that is not JSON (a date) becomes `["NOT JSON", type, text]`.
fn read_by_pyyaml(path: &Path) -> serde_json::Value {
    let script = "import json, sys, yaml\n\
                  doc = yaml.safe_load(open(sys.argv[1]))\n\
                  print(json.dumps(doc, default=lambda o: ['NOT JSON', type(o).__name__, str(o)]))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "PyYAML could not read {}: {} (install it with `pip install pyyaml`)",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_yaml_1_1_reader_reads_the_assembled_spec_as_the_build_does() {
    let layout = Layout::current(&repo_openapi()).unwrap();
    let ours = xtask::read_yaml_as_json(&layout.output).unwrap();
    let theirs = read_by_pyyaml(&layout.output);
    // Compare where they differ, for a readable failure.
    let mut differences = Vec::new();
    compare(&ours, &theirs, "", &mut differences);
    assert!(differences.is_empty(), "{differences:#?}");
    // The vendor's quoted timestamps are among them.
    let example = &theirs["paths"]["/credentials/users/{userId}"]["get"]["responses"]["200"]["content"]
        ["application/json"]["examples"]["Result"]["value"]["data"][0];
    assert_eq!(example["createdAt"], "2024-09-30T20:13:32.491Z");
}

fn compare(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                compare(
                    v,
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{at}/{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                compare(v, w, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: YAML 1.2 reads {a}, YAML 1.1 reads {b}")),
        _ => {}
    }
}
