//! The front page and the docs hold up: every relative link resolves to a
//! file (and an `#anchor` to one of its headings), every `scripts/…` command
//! they show exists, and the README stays a front page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::repo_root;

/// README.md, ARCHITECTURE.md and every Markdown file under docs/.
fn documents() -> Vec<PathBuf> {
    let root = repo_root();
    let mut found = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut folders = vec![root.join("docs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found
}

/// A document split into its prose and its code (fenced blocks and inline
/// spans): links live in the prose, commands in the code.
struct Parts {
    prose: String,
    code: String,
    headings: Vec<String>,
}

fn parts(text: &str) -> Parts {
    let mut parts = Parts {
        prose: String::new(),
        code: String::new(),
        headings: Vec::new(),
    };
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            parts.code.push_str(line);
            parts.code.push('\n');
            continue;
        }
        if let Some(heading) = line.trim_start_matches('#').strip_prefix(' ')
            && line.starts_with('#')
        {
            parts.headings.push(heading.trim().to_owned());
        }
        // Inline code spans alternate with prose between backticks.
        for (i, piece) in line.split('`').enumerate() {
            let target = if i % 2 == 0 {
                &mut parts.prose
            } else {
                &mut parts.code
            };
            target.push_str(piece);
            target.push(' ');
        }
        parts.prose.push('\n');
    }
    parts
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens; a repeated heading gets `-1`, `-2`, …
fn anchors(headings: &[String]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for heading in headings {
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut anchor = slug.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{slug}-{n}");
        }
    }
    seen
}

/// The targets of inline links and images, `[text](target "title")`, and of
/// reference definitions, `[label]: target`.
fn link_targets(prose: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = prose;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        targets.push(
            rest[..end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned(),
        );
        rest = &rest[end..];
    }
    for line in prose.lines() {
        let line = line.trim_start();
        if let Some(close) = line.strip_prefix('[').and_then(|l| l.find("]: ")) {
            targets.push(
                line[close + 4..]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    targets
}

/// Every `scripts/…` path shown in code, as written.
fn script_commands(code: &str) -> Vec<String> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
    let mut commands = Vec::new();
    for (at, _) in code.match_indices("scripts/") {
        if code[..at].chars().next_back().is_some_and(is_path) {
            continue;
        }
        let path: String = code[at..].chars().take_while(|&c| is_path(c)).collect();
        let path = path.trim_end_matches('.');
        // `scripts/…` names the folder, not a command.
        if path != "scripts/" {
            commands.push(path.to_owned());
        }
    }
    commands
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut broken = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        let own = parts(&text);
        for target in link_targets(&own.prose) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if file.is_empty() {
                document.clone()
            } else {
                document.parent().unwrap().join(file)
            };
            if !resolved.exists() {
                broken.push(format!("{}: {target} (no such file)", relative(&document)));
                continue;
            }
            let is_markdown = resolved.extension().is_some_and(|e| e == "md");
            if anchor.is_empty() || !is_markdown {
                continue;
            }
            let headings = parts(&std::fs::read_to_string(&resolved).unwrap()).headings;
            if !anchors(&headings).contains(anchor) {
                broken.push(format!(
                    "{}: {target} (no such heading)",
                    relative(&document)
                ));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_script_the_docs_show_exists() {
    let mut missing = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        for command in script_commands(&parts(&text).code) {
            if !repo_root().join(&command).is_file() {
                missing.push(format!("{}: {command}", relative(&document)));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "missing scripts:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_readme_is_a_front_page_with_the_two_commands() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(readme.lines().count() <= 200, "README.md over 200 lines");
    let commands: BTreeSet<String> = script_commands(&parts(&readme).code).into_iter().collect();
    for command in ["scripts/dev", "scripts/test"] {
        assert!(
            commands.contains(command),
            "README.md does not show {command}"
        );
    }
}

#[test]
fn the_link_reader_sees_what_markdown_means() {
    let sample = "# Deploy\n## 6. The dashboard (`web/`)\nSee [it](a.md#x \"t\") and ![p](b.png).\n\
                  `[not](code.md)` run `scripts/dev` (`scripts/…`)\n```sh\nscripts/test # ../scripts/no\n```\n\
                  [ref]: c.md\n## Deploy\n";
    let parsed = parts(sample);
    assert_eq!(link_targets(&parsed.prose), ["a.md#x", "b.png", "c.md"]);
    assert_eq!(
        script_commands(&parsed.code),
        ["scripts/dev", "scripts/test"]
    );
    assert_eq!(
        anchors(&parsed.headings),
        BTreeSet::from([
            "deploy".to_owned(),
            "6-the-dashboard-web".to_owned(),
            "deploy-1".to_owned()
        ])
    );
}

/// A deployer finds every knob: each variable the template gives a function
/// in docs/configuration.md, each parameter somewhere in the docs.
#[test]
fn every_template_variable_and_parameter_is_documented() {
    let template = adsconnect_dev::template::load_template().unwrap();
    let configuration = std::fs::read_to_string(repo_root().join("docs/configuration.md")).unwrap();
    let docs: String = documents()
        .iter()
        .map(|document| std::fs::read_to_string(document).unwrap())
        .collect();
    let mut missing = BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        for name in variables.as_mapping().into_iter().flat_map(|v| v.keys()) {
            let name = name.as_str().unwrap();
            if !configuration.contains(name) {
                missing.insert(format!("docs/configuration.md: {name}"));
            }
        }
    }
    for name in template["Parameters"].as_mapping().unwrap().keys() {
        let name = name.as_str().unwrap();
        if !docs.contains(name) {
            missing.insert(format!("docs: parameter {name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "undocumented:\n{}",
        missing.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}
