//! Paths of the example tool components, built for `wasm32-wasip2` by this
//! crate's build script.
//!
//! Building this crate runs a nested `cargo build --release --target
//! wasm32-wasip2` of the `text`, `json`, `files`, `web`, `misbehave`
//! and `conformance` tool crates (into `<target>/tools`) and copies each
//! component to `<target>/components/<name>.wasm`, where `<target>` is
//! `$CARGO_TARGET_DIR` or the workspace's `target/`. The constants below are
//! those absolute paths, for tests and benchmarks that load the components.
//!
//! The build needs the wasm target: `rustup target add wasm32-wasip2` (the
//! repository's `rust-toolchain.toml` asks rustup for it).
//!
//! # Examples
//!
//! ```
//! for (name, path) in warden_tool_artifacts::ALL {
//!     let bytes = std::fs::read(path).unwrap_or_default();
//!     // A component's header: magic, then version 0x0d and layer 1.
//!     assert_eq!(bytes.get(..8), Some(&b"\0asm\x0d\0\x01\0"[..]), "{name}");
//! }
//! ```

include!(concat!(env!("OUT_DIR"), "/components.rs"));
