use std::fs::{self, File};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use warden_tool::{
    CompletionRequest, CompletionTarget, Content, EmbeddedResource, PromptError, ResourceContents,
    ResourceError, ResourceInfo, ResourcePart, Role, Toolbox,
};

use super::*;
use crate::test_dir;

fn write(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A directory of a few files, a symlink and an empty directory.
fn fixture(name: &str) -> PathBuf {
    let dir = test_dir(name);
    write(&dir, "b.txt", "bee\n");
    write(&dir, "a b.md", "# A and B\n");
    write(&dir, "odd #1?%.csv", "x,y\n");
    write(&dir, "sub/c.json", "{}");
    write(
        &dir,
        "sub/deeper/d.PNG",
        [0x89, b'P', b'N', b'G', 0xff, 0x00],
    );
    fs::create_dir_all(dir.join("sub/empty")).expect("create sub/empty");
    std::os::unix::fs::symlink(dir.join("b.txt"), dir.join("link.txt")).expect("symlink");
    dir
}

/// What the toolbox lists for `resources`.
fn infos(resources: Vec<Resource>) -> Vec<ResourceInfo> {
    resources
        .into_iter()
        .fold(Toolbox::new(), Toolbox::resource)
        .list_resources()
}

/// A toolbox serving the template and the prompt over `dir`.
fn served(dir: &Path) -> Toolbox {
    Toolbox::new()
        .resource_template(template_under(dir.to_path_buf()))
        .prompt(prompt_under(dir.to_path_buf()))
}

fn read(dir: &Path, uri: &str) -> Result<Vec<ResourcePart>, ResourceError> {
    served(dir).read_resource(uri)
}

fn complete(dir: &Path, target: CompletionTarget, typed: &str) -> Vec<String> {
    served(dir)
        .complete(&CompletionRequest {
            target,
            argument: "path".to_owned(),
            value: typed.to_owned(),
            context: Vec::new(),
        })
        .values
}

fn summarize(dir: &Path, arguments: &[(&str, &str)]) -> Result<Vec<PromptMessage>, PromptError> {
    let arguments: Vec<(String, String)> = arguments
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    served(dir)
        .get_prompt("files.summarize", &arguments)
        .map(|result| result.messages)
}

fn error_message(error: &ResourceError) -> &str {
    match error {
        ResourceError::NotFound(message)
        | ResourceError::Invalid(message)
        | ResourceError::Failed(message) => message,
    }
}

#[test]
fn lists_regular_files_in_path_order() {
    let dir = fixture("resources-list");
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    File::options()
        .write(true)
        .open(dir.join("b.txt"))
        .and_then(|file| file.set_modified(time))
        .expect("set mtime");

    let listed = infos(list_under(&dir));
    let uris: Vec<&str> = listed.iter().map(|info| info.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "file:///data/a%20b.md",
            "file:///data/b.txt",
            "file:///data/odd%20%231%3F%25.csv",
            "file:///data/sub/c.json",
            "file:///data/sub/deeper/d.PNG",
        ]
    );
    let names: Vec<&str> = listed.iter().map(|info| info.name.as_str()).collect();
    assert_eq!(
        names,
        ["a b.md", "b.txt", "odd #1?%.csv", "c.json", "d.PNG"]
    );
    let mimes: Vec<Option<&str>> = listed
        .iter()
        .map(|info| info.mime_type.as_deref())
        .collect();
    assert_eq!(
        mimes,
        [
            Some("text/markdown"),
            Some("text/plain"),
            Some("text/csv"),
            Some("application/json"),
            Some("image/png"),
        ]
    );
    let sizes: Vec<Option<u64>> = listed.iter().map(|info| info.size).collect();
    assert_eq!(sizes, [Some(10), Some(4), Some(4), Some(2), Some(6)]);
    assert_eq!(
        listed[1].annotations.last_modified.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    for info in &listed {
        let time = info
            .annotations
            .last_modified
            .as_deref()
            .unwrap_or_default();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn listed_uris_read_back_through_the_template() {
    let dir = fixture("resources-round-trip");
    for info in infos(list_under(&dir)) {
        let parts = read(&dir, &info.uri).unwrap_or_else(|e| panic!("{}: {e:?}", info.uri));
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].uri, info.uri);
        assert_eq!(parts[0].mime_type, info.mime_type);
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn listing_stops_at_the_cap() {
    let dir = test_dir("resources-cap");
    for index in 0..MAX_LISTED_RESOURCES + 5 {
        write(&dir, &format!("f{index:03}.txt"), "x");
    }
    let listed = infos(list_under(&dir));
    assert_eq!(listed.len(), MAX_LISTED_RESOURCES);
    assert_eq!(listed[0].uri, "file:///data/f000.txt");
    assert_eq!(listed[99].uri, "file:///data/f099.txt");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn a_missing_directory_lists_nothing() {
    let dir = test_dir("resources-missing").join("nowhere");
    assert!(list_under(&dir).is_empty());
    assert!(complete_under(&dir, "").is_empty());
}

#[test]
fn reads_text_and_binary_files() {
    let dir = fixture("resources-read");
    let text = read(&dir, "file:///data/a%20b.md").expect("read a b.md");
    assert_eq!(
        text,
        [ResourcePart::text(
            "file:///data/a%20b.md",
            Some("text/markdown"),
            "# A and B\n"
        )]
    );
    let blob = read(&dir, "file:///data/sub/deeper/d.PNG").expect("read d.PNG");
    assert_eq!(
        blob,
        [ResourcePart::blob(
            "file:///data/sub/deeper/d.PNG",
            Some("image/png"),
            [0x89, b'P', b'N', b'G', 0xff, 0x00]
        )]
    );
    let odd = read(&dir, "file:///data/odd%20%231%3F%25.csv").expect("read odd");
    assert_eq!(odd[0].contents, ResourceContents::Text("x,y\n".to_owned()));
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn read_errors() {
    let dir = fixture("resources-read-errors");
    let missing = read(&dir, "file:///data/nope.txt");
    assert!(
        matches!(&missing, Err(ResourceError::NotFound(m)) if m.contains("nope.txt")),
        "{missing:?}"
    );
    let directory = read(&dir, "file:///data/sub");
    assert!(
        matches!(&directory, Err(ResourceError::Invalid(m)) if m.ends_with("sub` is a directory")),
        "{directory:?}"
    );
    for uri in [
        "file:///data/",
        "file:///data/sub/../b.txt",
        "file:///data/./b.txt",
        "file:///data/%2e%2e/etc/passwd",
        "file:///data/sub/..",
        "file:///data//etc/passwd",
    ] {
        let refused = read(&dir, uri);
        assert!(
            matches!(&refused, Err(ResourceError::Invalid(_))),
            "{uri}: {refused:?}"
        );
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_toolbox_refuses_dot_segments_before_touching_data() {
    // Through the real toolbox (over /data): refused before any read.
    let refused = crate::toolbox().read_resource("file:///data/notes/../../etc/passwd");
    assert!(
        matches!(&refused, Err(ResourceError::Invalid(_))),
        "{refused:?}"
    );
}

#[test]
fn files_over_four_mib_are_refused() {
    let dir = test_dir("resources-large");
    File::create(dir.join("big.bin"))
        .and_then(|file| file.set_len(MAX_RESOURCE_BYTES + 1))
        .expect("create big.bin");
    let error = read(&dir, "file:///data/big.bin").expect_err("too large");
    assert!(matches!(error, ResourceError::Failed(_)), "{error:?}");
    let message = error_message(&error);
    assert!(message.contains("big.bin` is 4194305 bytes"), "{message}");
    assert!(
        message.ends_with("use files.read with an offset"),
        "{message}"
    );
    let prompt = summarize(&dir, &[("path", "big.bin")]);
    assert!(matches!(prompt, Err(PromptError::Failed(_))), "{prompt:?}");

    File::create(dir.join("limit.txt"))
        .and_then(|file| file.set_len(MAX_RESOURCE_BYTES))
        .expect("create limit.txt");
    let parts = read(&dir, "file:///data/limit.txt").expect("exactly 4 MiB");
    match &parts[0].contents {
        ResourceContents::Text(text) => assert_eq!(text.len(), 4 << 20),
        ResourceContents::Blob(_) => panic!("NUL bytes are UTF-8 text"),
    }
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn completes_paths_one_directory_at_a_time() {
    let dir = fixture("resources-complete");
    let template = || CompletionTarget::ResourceTemplate(FILE_TEMPLATE.to_owned());
    assert_eq!(
        complete(&dir, template(), ""),
        ["a b.md", "b.txt", "link.txt", "odd #1?%.csv", "sub/"]
    );
    assert_eq!(
        complete(&dir, template(), "sub/"),
        ["sub/c.json", "sub/deeper/", "sub/empty/"]
    );
    assert_eq!(complete(&dir, template(), "sub/d"), ["sub/deeper/"]);
    assert_eq!(
        complete(&dir, template(), "sub/deeper/"),
        ["sub/deeper/d.PNG"]
    );
    assert_eq!(complete(&dir, template(), "b"), ["b.txt"]);
    assert!(complete(&dir, template(), "nowhere/").is_empty());
    assert!(complete(&dir, template(), "../").is_empty());
    assert!(complete(&dir, template(), "/etc/").is_empty());
    let prompt = CompletionTarget::Prompt("files.summarize".to_owned());
    assert_eq!(complete(&dir, prompt, "s"), ["sub/"]);
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_prompt_embeds_the_file_and_asks_for_a_summary() {
    let dir = fixture("resources-prompt");
    let messages = summarize(&dir, &[("path", "a b.md")]).expect("summarize");
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|message| message.role == Role::User));
    assert_eq!(
        messages[0].content,
        Content::Resource(EmbeddedResource {
            uri: "file:///data/a%20b.md".to_owned(),
            mime_type: Some("text/markdown".to_owned()),
            contents: ResourceContents::Text("# A and B\n".to_owned()),
        })
    );
    assert_eq!(
        messages[1].content,
        Content::text("Summarize the file above.")
    );

    let focused = summarize(&dir, &[("path", "sub/c.json"), ("focus", "the keys")])
        .expect("summarize with focus");
    assert_eq!(
        focused[1].content,
        Content::text("Summarize the file above focusing on the keys.")
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_prompt_refuses_bad_paths_and_binary_files() {
    let dir = fixture("resources-prompt-errors");
    for path in ["nope.md", "sub", "../b.txt", "", "/data/b.txt"] {
        let refused = summarize(&dir, &[("path", path)]);
        assert!(
            matches!(&refused, Err(PromptError::Invalid(_))),
            "{path}: {refused:?}"
        );
    }
    let binary = summarize(&dir, &[("path", "sub/deeper/d.PNG")]);
    assert!(
        matches!(&binary, Err(PromptError::Invalid(m)) if m.contains("is not text")),
        "{binary:?}"
    );
    let missing_argument = summarize(&dir, &[]);
    assert!(
        matches!(&missing_argument, Err(PromptError::Invalid(m)) if m.contains("path")),
        "{missing_argument:?}"
    );
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn the_toolbox_serves_the_template_and_the_prompt() {
    let toolbox = crate::toolbox();
    let templates = toolbox.list_resource_templates();
    assert_eq!(templates.len(), 1);
    assert_eq!(templates[0].uri_template, FILE_TEMPLATE);
    assert_eq!(templates[0].name, "file");
    assert!(templates[0].title.is_some() && templates[0].description.is_some());

    let prompts = toolbox.list_prompts();
    assert_eq!(prompts.len(), 1);
    let prompt = &prompts[0];
    assert_eq!(prompt.name, "files.summarize");
    assert_eq!(prompt.title.as_deref(), Some("Summarize a file"));
    assert_eq!(
        prompt.description.as_deref(),
        Some(
            "Asks the model to summarize a file from the granted directory, with the file \
             embedded."
        )
    );
    let argument = |name: &str| {
        prompt
            .arguments
            .iter()
            .find(|argument| argument.name == name)
            .map(|argument| (argument.required, argument.description.clone()))
    };
    assert_eq!(
        argument("path"),
        Some((true, Some("The file, relative to /data.".to_owned())))
    );
    assert_eq!(
        argument("focus"),
        Some((false, Some("What to focus on (optional).".to_owned())))
    );
}

#[test]
fn encodes_paths_and_guesses_mime_types() {
    assert_eq!(encode_path("a b/c%d#e?f"), "a%20b/c%25d%23e%3Ff");
    assert_eq!(encode_path("Az09-._~/x"), "Az09-._~/x");
    assert_eq!(encode_path("é"), "%C3%A9");
    assert_eq!(mime_type("x/Photo.JPEG"), "image/jpeg");
    assert_eq!(mime_type("drawing.svg"), "image/svg+xml");
    assert_eq!(mime_type("Cargo.toml"), "application/toml");
    assert_eq!(mime_type("README"), "application/octet-stream");
    assert_eq!(mime_type("archive.tar.gz"), "application/octet-stream");
}

#[test]
fn formats_rfc3339_timestamps() {
    assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
    assert_eq!(
        rfc3339(951_782_400).as_deref(),
        Some("2000-02-29T00:00:00Z")
    );
    assert_eq!(
        rfc3339(1_700_000_000).as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    assert_eq!(rfc3339(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
    assert_eq!(
        rfc3339(253_402_300_799).as_deref(),
        Some("9999-12-31T23:59:59Z")
    );
    assert_eq!(rfc3339(253_402_300_800), None);
    assert_eq!(rfc3339(i64::MIN), None);
    assert_eq!(
        unix_seconds(UNIX_EPOCH - Duration::from_millis(1500)),
        Some(-2)
    );
    assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_secs(7)), Some(7));
}
