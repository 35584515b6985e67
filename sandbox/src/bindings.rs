//! Host bindings generated from the project's one WIT source, `wit/`.
#![allow(missing_docs)]

// The widest world: every interface a component may export. Warden looks
// each export up on its own (`exports.rs`), so a component of the narrower
// `tool-component` world, or of 0.1.0, loads too.
wasmtime::component::bindgen!({
    path: "../wit",
    world: "server-component",
    // Requests to the client wait for its answer without blocking a thread.
    imports: {
        "warden:tool/host.ask-client": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

#[cfg(test)]
mod tests {
    #[test]
    fn wit_package_constant_matches_the_wit_source() {
        let wit = include_str!("../../wit/tool.wit");
        assert!(
            wit.contains(&format!("package {};", crate::WIT_PACKAGE)),
            "wit/tool.wit does not declare package {}",
            crate::WIT_PACKAGE
        );
    }
}
