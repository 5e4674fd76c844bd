//! The public site and API on the demo community, through a running `fairshare serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::serve::{http_get, http_get_with};
use crate::{fairshare, stderr, stdout};

pub const TODAY: (&str, &str) = ("FAIRSHARE_TODAY", "2026-11-22");

pub struct Server {
    child: Child,
    pub address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(dir: &std::path::Path, db: &str, today: &str) -> Server {
    start_with(dir, db, today, &[])
}

/// `start` with more environment variables (settings) for the server.
pub fn start_with(dir: &std::path::Path, db: &str, today: &str, env: &[(&str, &str)]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fairshare"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("FAIRSHARE_")) {
        command.env_remove(key);
    }
    let mut child = command
        .current_dir(dir)
        .env(TODAY.0, today)
        .envs(env.iter().copied())
        .args(["--database", db, "serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let mut address = None;
    for _ in 0..50 {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.strip_prefix("Fairshare is serving on http://") {
            address = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.lines() {});
    Server {
        child,
        address: address.expect("server address"),
    }
}

fn body(response: &str) -> &str {
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
}

fn json(response: &str) -> serde_json::Value {
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Bodies are small: chunked encoding is not used for cached pages.
    serde_json::from_str(body(response)).unwrap_or_else(|e| panic!("{e}: {response}"))
}

#[test]
fn public_pages_and_api_show_the_published_programme() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let run = |args: &[&str]| {
        let out = fairshare(dir.path(), Some(&db), args, &[TODAY]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["demo", "--seed", "3"]);
    let ranking = run(&["ranking", "--month", "2026-10", "--format", "csv"]);
    let top: Vec<Vec<String>> = ranking
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert!(top.len() >= 3, "{ranking}");
    let server = start(dir.path(), &db, TODAY.1);
    let get = |path: &str| http_get(&server.address, path);

    // Home: the top three of the latest ranking, linked, with the CLI's scores.
    let home = get("/");
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    for row in &top[..3] {
        assert!(
            home.contains(&format!("href=\"/partners/{}\"", row[1])),
            "{}",
            row[1]
        );
        assert!(
            home.contains(&format!("<strong>{}</strong> points", row[2])),
            "{row:?}"
        );
    }
    assert!(home.contains("Top partners of October 2026"));

    // Directory: every partner, in rank order; filters narrow it.
    let partners = get("/partners");
    let positions: Vec<usize> = top
        .iter()
        .map(|row| {
            partners
                .find(&format!("href=\"/partners/{}\"", row[1]))
                .expect("listed")
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "rank order");
    let api = json(&get("/api/v1/partners"));
    assert_eq!(api["total"].as_u64().unwrap() as usize, top.len());
    for (item, row) in api["items"].as_array().unwrap().iter().zip(&top) {
        assert_eq!(item["slug"], row[1].as_str());
        assert_eq!(item["score"], row[2].as_str(), "the API and the CLI agree");
        assert_eq!(item["rank"].to_string(), row[0]);
    }
    let country = api["items"][0]["country"].as_str().unwrap().to_string();
    let filtered = get(&format!("/partners?country={country}"));
    assert!(filtered.contains(&format!("href=\"/partners/{}\"", top[0][1])));
    assert!(filtered.contains("Clear filters"));
    // One page holds them all here; pages past it and pages that are not numbers say so.
    assert!(!partners.contains("Next page"));
    let beyond = get(&format!("/partners?page=2&country={country}"));
    assert!(
        beyond.starts_with("HTTP/1.1 404") && beyond.contains("past the last page of partners (1)"),
        "{beyond}"
    );
    let nonsense = get("/partners?page=first");
    assert!(
        nonsense.starts_with("HTTP/1.1 400") && nonsense.contains("`page` must be a whole number"),
        "{nonsense}"
    );

    // A partner page with its charts; unknown partners are a friendly 404.
    let page = get(&format!("/partners/{}", top[0][1]));
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("<svg class=\"chart line\"") && page.contains("<svg class=\"chart bars\"")
    );
    let missing = get("/partners/nobody-at-all");
    assert!(missing.starts_with("HTTP/1.1 404") && missing.contains("not a community partner"));
    let badge = get(&format!("/badges/{}.svg", top[0][1]));
    assert!(
        badge.contains("image/svg+xml") && badge.contains("#1 in October 2026"),
        "{badge}"
    );

    // Become a partner: the policy and the visitor's amount.
    let become_page = get("/become-a-partner?country=IND");
    assert!(become_page.contains("What a Community Partner is"));
    assert!(become_page.contains("India: <strong>INR "), "{become_page}");

    // Report: the page, the API and `fairshare report` say the same.
    let report = get("/report?from=2026-08-01&to=2026-10-31");
    assert!(report.starts_with("HTTP/1.1 200") && report.contains("<svg"));
    let api_report = json(&get("/api/v1/report?from=2026-08-01&to=2026-10-31"));
    let cli_report: serde_json::Value = serde_json::from_str(&run(&[
        "report",
        "--from",
        "2026-08-01",
        "--to",
        "2026-10-31",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(api_report, cli_report);
    assert!(cli_report["activities"].as_i64().unwrap() > 1000);
    assert!(report.contains(&format!(
        "<strong>{}</strong> contributions",
        fairshare_engine::money::grouped(cli_report["activities"].as_i64().unwrap().into())
    )));
    let html = run(&["report", "--days", "30", "--format", "html"]);
    assert!(
        html.contains("<style>") && !html.contains("/assets/style.css"),
        "self-contained"
    );
    assert!(get("/report?days=abc").starts_with("HTTP/1.1 400"));

    // No private data: unconfirmed staff and people who did not opt in are never named.
    let recognition = get("/recognition");
    assert!(
        recognition.contains("<li>Ada Okafor <"),
        "listed people are named"
    );
    for path in [
        "/",
        "/partners",
        "/recognition",
        "/report",
        "/api/v1/report",
    ] {
        let text = get(path);
        assert!(
            !text.contains("lead@"),
            "{path} shows an unconfirmed staff handle"
        );
        assert!(
            !text.contains("<li>Chen Okafor <") && !text.contains("\"Chen Okafor\""),
            "{path}"
        );
    }
    let staff = json(&get(&format!("/api/v1/partners/{}", top[0][1])));
    assert!(
        staff["staff"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n != "Lead")
    );

    // Rankings: frozen, with an ETag, readable from other sites.
    let first = get("/api/v1/rankings/2026-10");
    assert!(first.contains("access-control-allow-origin: *"), "{first}");
    let etag = first
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("etag")
        .trim()
        .to_string();
    let again = http_get_with(
        &server.address,
        "/api/v1/rankings/2026-10",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert!(again.starts_with("HTTP/1.1 304"), "{again}");
    assert!(get("/api/v1/rankings/2026-13").starts_with("HTTP/1.1 400"));
    assert!(get("/api/v1/rankings/1999-01").starts_with("HTTP/1.1 404"));

    // A republished ranking reaches the cached pages within a second.
    let before = json(&get("/api/v1/rankings/2026-10"))["published_at"].clone();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    run(&[
        "review-month",
        "--month",
        "2026-10",
        "--republish",
        "--reason",
        "test",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let after = json(&get("/api/v1/rankings/2026-10"))["published_at"].clone();
    assert_ne!(before, after, "the cache followed the new publication");
}

#[test]
fn openapi_documents_exactly_the_api_routes() {
    let doc: serde_json::Value = serde_json::from_str(fairshare_web::OPENAPI).unwrap();
    let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut served: Vec<String> = fairshare_web::api_routes()
        .into_iter()
        .map(|(path, _)| path.to_string())
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);

    // Every documented path answers as documented on the demo community.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = fairshare(dir.path(), Some(&db), &["demo"], &[TODAY]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = start(dir.path(), &db, TODAY.1);
    let partner = json(&http_get(&server.address, "/api/v1/partners"))["items"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    for (path, spec) in doc["paths"].as_object().unwrap() {
        let url = path
            .replace("{slug}", &partner)
            .replace("{month}", "2026-10")
            .replace("{iso_a3}", "USA");
        let value = json(&http_get(&server.address, &url));
        let schema = &spec["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let schema = match schema["$ref"].as_str() {
            Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
            None => schema,
        };
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap();
            assert!(value.get(field).is_some(), "{url}: `{field}` missing");
        }
    }
}

/// Headless Chromium (Debian's `chromium`; `.ci/run` installs it) renders the main
/// public pages; each screenshot must show a page, not a blank or error screen.
#[test]
fn pages_render_in_a_real_browser() {
    if !crate::browser_tests_can_run(false) {
        return;
    }
    let browser = "chromium";
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = fairshare(dir.path(), Some(&db), &["demo"], &[TODAY]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = start(dir.path(), &db, TODAY.1);
    let partner = json(&http_get(&server.address, "/api/v1/partners"))["items"][0]["slug"]
        .as_str()
        .unwrap()
        .to_string();
    let shots = std::env::var_os("SCREENSHOTS_DIR").map(std::path::PathBuf::from);
    for (name, path) in [
        ("home", "/".to_string()),
        ("partners", "/partners".to_string()),
        ("partner", format!("/partners/{partner}")),
        ("report", "/report".to_string()),
    ] {
        let file = dir.path().join(format!("{name}.png"));
        let output = Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--window-size=1280,1400",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg(format!("--screenshot={}", file.display()))
            .arg(format!("http://{}{path}", server.address))
            .output()
            .unwrap();
        assert!(
            file.exists(),
            "{name}: no screenshot: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&file).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let channels = info.color_type.samples();
        let mut colours = std::collections::HashSet::new();
        let mut inked = 0usize;
        for px in pixels[..info.buffer_size()].chunks(channels) {
            colours.insert(px[..3].to_vec());
            if px[..3].iter().any(|c| *c < 200) {
                inked += 1;
            }
        }
        let total = (info.width * info.height) as usize;
        assert!(colours.len() > 20, "{name}: only {} colours", colours.len());
        assert!(
            inked * 100 > total * 3,
            "{name}: nearly blank ({inked} of {total} pixels inked)"
        );
        if let Some(to) = &shots {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(&file, to.join(format!("{name}.png"))).unwrap();
        }
    }
}
