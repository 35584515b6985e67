use super::*;

fn matches(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
    let template = UriTemplate::parse(template).expect("a valid template");
    template.match_uri(uri).map(|variables| {
        let mut pairs: Vec<(String, String)> = variables
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        pairs.sort();
        pairs
    })
}

fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
    )
}

#[test]
fn a_simple_variable_is_one_segment() {
    let template = "test://template/{id}/data";
    assert_eq!(
        matches(template, "test://template/123/data"),
        pairs(&[("id", "123")])
    );
    assert_eq!(matches(template, "test://template/a/b/data"), None);
    assert_eq!(matches(template, "test://template/123/other"), None);
    assert_eq!(
        matches(template, "test://template/a%2Fb/data"),
        pairs(&[("id", "a/b")])
    );
}

#[test]
fn reserved_expansion_spans_slashes() {
    let template = "file:///data/{+path}";
    assert_eq!(
        matches(template, "file:///data/notes/todo.md"),
        pairs(&[("path", "notes/todo.md")])
    );
    assert_eq!(matches(template, "file:///other/x"), None);
    assert_eq!(matches(template, "file:///data/a#frag"), None);
}

#[test]
fn path_query_and_label_operators() {
    assert_eq!(
        matches(
            "repo://{owner}{/name}{?ref,depth}",
            "repo://me/warden?ref=main&depth=2"
        ),
        pairs(&[
            ("depth", "2"),
            ("name", "warden"),
            ("owner", "me"),
            ("ref", "main")
        ])
    );
    assert_eq!(
        matches("repo://{owner}{/name}{?ref,depth}", "repo://me"),
        pairs(&[("owner", "me")])
    );
    assert_eq!(
        matches("doc://{name}/file{.ext}", "doc://a/file.md"),
        pairs(&[("ext", "md"), ("name", "a")])
    );
    assert_eq!(
        matches("map://{;x,y}", "map://;x=1;y=2"),
        pairs(&[("x", "1"), ("y", "2")])
    );
    assert_eq!(
        matches("a://b{#section}", "a://b#intro"),
        pairs(&[("section", "intro")])
    );
}

#[test]
fn several_variables_in_one_expression_split_on_commas() {
    assert_eq!(
        matches("point://{x,y}", "point://3,4"),
        pairs(&[("x", "3"), ("y", "4")])
    );
    assert_eq!(
        matches("list://{items*}", "list://a,b,c"),
        pairs(&[("items", "a,b,c")])
    );
}

#[test]
fn invalid_templates_say_where_and_why() {
    for (template, reason) in [
        ("file:///{path", "never closed"),
        ("file:///path}", "without a `{`"),
        ("file:///{}", "empty expression"),
        ("file:///{=x}", "reserved"),
        ("file:///{a b}", "not a variable name"),
        ("file:///{a:0}", "not a modifier"),
        ("file:///{a{b}}", "cannot nest"),
        ("file:///a b/{x}", "cannot hold"),
    ] {
        let error = UriTemplate::parse(template).expect_err(template);
        assert!(error.reason.contains(reason), "{template}: {error}");
    }
    let many = format!("x://{}", "{a}".repeat(MAX_EXPRESSIONS + 1));
    assert!(UriTemplate::parse(&many).is_err());
}

#[test]
fn variables_and_prefix_are_reported() {
    let template = UriTemplate::parse("file:///data/{+path}{?rev}").expect("valid");
    assert_eq!(template.variables().collect::<Vec<_>>(), ["path", "rev"]);
    assert_eq!(template.literal_prefix(), "file:///data/");
    assert_eq!(template.to_string(), "file:///data/{+path}{?rev}");
}

#[test]
fn bad_escapes_and_long_uris_do_not_match() {
    assert_eq!(matches("x://{a}", "x://%zz"), None);
    assert_eq!(matches("x://{a}", "x://%ff"), None);
    let long = format!("x://{}", "a".repeat(MAX_LEN));
    assert_eq!(matches("x://{a}", &long), None);
}

#[test]
fn matching_stays_fast_on_hostile_input() {
    let template =
        UriTemplate::parse(&format!("x://{}", "{+a}-".repeat(MAX_EXPRESSIONS))).expect("valid");
    let uri = format!("x://{}", "-".repeat(2000));
    let started = std::time::Instant::now();
    let _ = template.match_uri(&uri);
    // Not a timing assertion: only that it returns at all (the memo bounds
    // the work); a runaway backtracker would not finish this test.
    let _ = started.elapsed();
}
