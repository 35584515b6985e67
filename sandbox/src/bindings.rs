//! Host bindings generated from the project's one WIT source, `wit/`.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "tool-component",
    imports: { default: trappable },
    exports: { default: async },
});
