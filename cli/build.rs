//! Reads the codes' names from include/bgcopy.h (`#define NAME -123`) into a table the CLI
//! prints next to each HRESULT. Without the header (a crate built outside the repository) the
//! table is empty and only numbers and messages are printed.
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let header = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("..")
        .join("include")
        .join("bgcopy.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = std::fs::read_to_string(&header).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    let mut out =
        String::from("/// Code → name, from include/bgcopy.h (first name wins for aliases).\n");
    out.push_str("pub static HRESULT_NAMES: &[(i32, &str)] = &[\n");
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        if parts.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let is_code = ["S_", "E_", "BG_S_", "BG_E_", "RPC_X_", "CRYPT_E_"]
            .iter()
            .any(|p| name.starts_with(p));
        if !is_code {
            continue;
        }
        if let Ok(v) = value.parse::<i32>() {
            if seen.insert(v) {
                writeln!(out, "    ({v}, \"{name}\"),").unwrap();
            }
        }
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("hresult_names.rs");
    std::fs::write(dest, out).unwrap();
}
