//! Running jq filters with jaq.

use jaq_core::compile::Undefined;
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use warden_tool::ToolError;

use crate::value::{MAX_DEPTH, within_depth};

/// Most results one query may produce.
pub const MAX_RESULTS: usize = 10_000;

/// Runs the jq filter `query` on `input` and collects its outputs.
///
/// Fails with a tool error when the filter does not parse or compile (every
/// problem is listed, with its byte offset in the filter), when it raises an
/// error while running, when it yields more than [`MAX_RESULTS`] values, or
/// when a value nests deeper than [`MAX_DEPTH`].
pub fn run(query: &str, input: Val) -> Result<Vec<Val>, ToolError> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());

    let arena = Arena::default();
    let program = File {
        code: query,
        path: (),
    };
    let modules = Loader::new(defs)
        .load(&arena, program)
        .map_err(|errors| syntax_error(query, errors))?;
    let filter = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| compile_error(query, errors))?;

    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut results = Vec::new();
    for output in filter.id.run((ctx, input)).map(unwrap_valr) {
        let output =
            output.map_err(|error| ToolError::new(format!("the query failed: {error}")))?;
        if results.len() == MAX_RESULTS {
            return Err(ToolError::new(format!(
                "the query produced more than {MAX_RESULTS} results; narrow it, \
                 for example with `limit(n; f)` or `first(f)`"
            )));
        }
        if !within_depth(&output, MAX_DEPTH) {
            return Err(ToolError::new(format!(
                "result {} nests arrays or objects deeper than {MAX_DEPTH} levels",
                results.len() + 1
            )));
        }
        results.push(output);
    }
    Ok(results)
}

fn syntax_error(query: &str, errors: load::Errors<&str, ()>) -> ToolError {
    let mut problems = Vec::new();
    for (_file, error) in errors {
        match error {
            load::Error::Io(errors) => {
                for (path, message) in errors {
                    problems.push(format!("cannot load module `{path}`: {message}"));
                }
            }
            load::Error::Lex(errors) => {
                for (expected, found) in errors {
                    let expected = match expected {
                        load::lex::Expect::Delim(open) => format!("closing delimiter for `{open}`"),
                        other => other.as_str().to_owned(),
                    };
                    problems.push(format!("expected {expected} {}", at(query, found)));
                }
            }
            load::Error::Parse(errors) => {
                for (expected, found) in errors {
                    problems.push(format!(
                        "expected {} {}",
                        expected.as_str(),
                        at(query, found)
                    ));
                }
            }
        }
    }
    ToolError::new(format!("the query does not parse: {}", problems.join("; ")))
}

fn compile_error(query: &str, errors: jaq_core::compile::Errors<&str, ()>) -> ToolError {
    let mut problems = Vec::new();
    for (_file, errors) in errors {
        for (name, undefined) in errors {
            let what = match undefined {
                Undefined::Filter(arity) => format!("filter `{name}/{arity}`"),
                other => format!("{} `{name}`", other.as_str()),
            };
            problems.push(format!("undefined {what} {}", at(query, name)));
        }
    }
    ToolError::new(format!(
        "the query does not compile: {}",
        problems.join("; ")
    ))
}

/// Describes where `part`, a slice of `query`, starts.
fn at(query: &str, part: &str) -> String {
    let offset = (part.as_ptr() as usize)
        .checked_sub(query.as_ptr() as usize)
        .filter(|offset| *offset <= query.len());
    let found = match part.chars().take(20).collect::<String>() {
        shown if shown.is_empty() => "the end of the query".to_owned(),
        shown if shown.len() < part.len() => format!("`{shown}...`"),
        shown => format!("`{shown}`"),
    };
    match offset {
        Some(offset) => format!("at byte {offset}, found {found}"),
        None => format!("near {found}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> Val {
        jaq_json::read::parse_single(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn texts(query: &str, json: &str) -> Result<Vec<String>, String> {
        run(query, input(json))
            .map(|vals| vals.iter().map(ToString::to_string).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn runs_filters_with_the_standard_library() {
        let doc = r#"{"users": [{"name": "ada", "age": 36}, {"name": "bob", "age": 17}]}"#;
        assert_eq!(
            texts(".users[].name", doc),
            Ok(vec![r#""ada""#.into(), r#""bob""#.into()])
        );
        assert_eq!(
            texts(
                "[.users[] | select(.age >= 18) | .name | ascii_upcase]",
                doc
            ),
            Ok(vec![r#"["ADA"]"#.into()])
        );
        assert_eq!(
            texts(".users | map(.age) | add", doc),
            Ok(vec!["53".into()])
        );
        assert_eq!(texts("empty", doc), Ok(vec![]));
        assert_eq!(
            texts(r#""a-b" | test("a.b")"#, "null"),
            Ok(vec!["true".into()])
        );
    }

    #[test]
    fn parse_errors_say_where() {
        let error = texts(".a | | .b", "null").err().unwrap_or_default();
        assert!(
            error.starts_with("the query does not parse: expected"),
            "{error}"
        );
        assert!(error.contains("at byte"), "{error}");

        let error = texts("[1, 2", "null").err().unwrap_or_default();
        assert!(error.contains("the query does not parse"), "{error}");
    }

    #[test]
    fn undefined_names_do_not_compile() {
        let error = texts(".a | frobnicate", "null").err().unwrap_or_default();
        assert_eq!(
            error,
            "the query does not compile: undefined filter `frobnicate/0` at byte 5, found `frobnicate`"
        );
        let error = texts("$nope", "null").err().unwrap_or_default();
        assert!(error.contains("undefined variable"), "{error}");
    }

    #[test]
    fn runtime_errors_are_tool_errors() {
        let error = texts(".a + 1", r#"{"a": "text"}"#)
            .err()
            .unwrap_or_default();
        assert!(error.starts_with("the query failed:"), "{error}");
        let error = texts(r#"error("boom")"#, "null").err().unwrap_or_default();
        assert!(error.contains("boom"), "{error}");
    }

    #[test]
    fn results_are_capped() {
        let ok = texts("range(10000)", "null").map(|r| r.len());
        assert_eq!(ok, Ok(10_000));
        let error = texts("range(10001)", "null").err().unwrap_or_default();
        assert!(error.contains("more than 10000 results"), "{error}");
        let error = texts("repeat(1)", "null").err().unwrap_or_default();
        assert!(error.contains("more than 10000 results"), "{error}");
    }

    #[test]
    fn deep_results_are_refused() {
        let error = texts("reduce range(200) as $i (0; [.])", "null")
            .err()
            .unwrap_or_default();
        assert!(error.contains("deeper than 128"), "{error}");
    }
}
