//! The operation table the build generated agrees with what the normaliser
//! reads from the checked-in spec, the file `SPEC_FILE` names.

use runalloy_embedded::{API_VERSION, OPERATIONS, SPEC_FILE};

#[test]
fn the_generated_table_is_what_the_normaliser_reads_from_the_spec() {
    let path = format!("{}/{SPEC_FILE}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let n = runalloy_embedded_normalise::normalise(serde_norway::from_str(&text).unwrap()).unwrap();
    assert_eq!(API_VERSION, n.api_version);
    let generated: Vec<(&str, &str, &str)> = OPERATIONS
        .iter()
        .map(|o| (o.id, o.method, o.path))
        .collect();
    let normalised: Vec<(&str, &str, &str)> = n
        .operations
        .iter()
        .map(|o| (o.id.as_str(), o.method.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(generated, normalised);
}

#[test]
fn camel_case_operation_ids_get_snake_case_methods() {
    let names: Vec<(&str, &str)> = OPERATIONS
        .iter()
        .filter(|o| o.id.chars().any(|c| c.is_ascii_uppercase()))
        .map(|o| (o.id, o.rust_name))
        .collect();
    assert_eq!(
        names,
        [
            ("getAllInstallations", "get_all_installations"),
            ("getInstallation", "get_installation")
        ]
    );
}
