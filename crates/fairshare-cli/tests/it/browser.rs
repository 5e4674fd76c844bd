//! End to end in real Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them), driving a running `fairshare serve`:
//! an organisation signs up and applies with its sponsor account, claims non-code
//! work that a team lead approves, a reviewer approves the application and reviews the
//! month, and the home page's top 3 changes. Screenshots of each step are kept in
//! `$SCREENSHOTS_DIR` (default `target/e2e-screenshots`).

use std::io::{Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::accounts::add_user;
use crate::site::start;
use crate::sponsorship::{OC_HEADER, oc_row};
use crate::{fairshare, stderr, stdout};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session over chromedriver's HTTP API.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn raw_call(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 65536];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed early"));
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(serde_json::from_slice(&buffer[head_end..]).unwrap_or(Value::Null))
}

impl Browser {
    /// A headless Chromium driven over WebDriver; screenshots go to
    /// `$SCREENSHOTS_DIR`, else `e2e-screenshots` in the test target directory.
    fn open() -> Browser {
        let shots = std::env::var_os("SCREENSHOTS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots"));
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is needed: apt-get install -y chromium-driver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while raw_call(port, "GET", "/status", None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": {
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--window-size=1280,1400", format!("--user-data-dir={}", profile.display())]
        }}}});
        let created = raw_call(port, "POST", "/session", Some(&capabilities)).unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            driver,
            port,
            session,
            shots,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let value = raw_call(self.port, method, path, body.as_ref()).unwrap();
        assert!(
            value["value"]["error"].is_null(),
            "{method} {path}: {value}"
        );
        value["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    fn go(&self, url: &str) {
        self.call("POST", &self.at("/url"), Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            &self.at("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        found[ELEMENT].as_str().unwrap().to_string()
    }

    fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/clear")),
            Some(json!({})),
        );
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/value")),
            Some(json!({ "text": text })),
        );
    }

    /// Date inputs take keys in the browser's locale order: set the value directly.
    fn set_date(&self, css: &str, value: &str) {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({
                "script": "document.querySelector(arguments[0]).value = arguments[1];",
                "args": [css, value]
            })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call(
            "POST",
            &self.at(&format!("/element/{element}/click")),
            Some(json!({})),
        );
    }

    fn source(&self) -> String {
        self.call("GET", &self.at("/source"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page once it contains `text` (a submitted form may still be loading).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let source = self.source();
            if source.contains(text) || Instant::now() > deadline {
                return source;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits (up to 10 s) until the page no longer contains `text`: for a change whose
    /// page shows nothing new, only something gone.
    fn wait_without(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let source = self.source();
            if !source.contains(text) || Instant::now() > deadline {
                return source;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn shot(&self, name: &str) {
        let data = self.call("GET", &self.at("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.len() > 10_000, "{name}: the screenshot is nearly empty");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    fn sign_in(&self, base: &str, email: &str) {
        self.go(&format!("{base}/login"));
        self.fill("#email", email);
        self.fill("#password", "a long enough password");
        self.click("form.stack button[type=submit]");
        self.wait_for("Your account");
    }

    /// Resizes the window, as a phone's or a desktop's screen.
    fn resize(&self, width: u32) {
        self.call(
            "POST",
            &self.at("/window/rect"),
            Some(json!({ "width": width, "height": 900 })),
        );
    }

    fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.at("/execute/sync"),
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// How many pixels the page is wider than the window (0 when nothing scrolls
    /// sideways), with the outermost elements that stick out.
    fn overflow(&self) -> (i64, String) {
        let found = self.script(
            r#"const width = document.documentElement.clientWidth;
               const out = [...document.body.querySelectorAll('*')].filter(e =>
                 e.getBoundingClientRect().right > width + 1 &&
                 !(e.parentElement && e.parentElement.getBoundingClientRect().right > width + 1));
               return [document.documentElement.scrollWidth - width,
                 out.slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                   (e.className ? '.' + String(e.className).split(' ').join('.') : '')).join(', ')];"#,
            json!([]),
        );
        (
            found[0].as_i64().unwrap_or_default(),
            found[1].as_str().unwrap_or_default().to_string(),
        )
    }

    /// axe-core's serious and critical violations on the page, one line each.
    fn accessibility_violations(&self, axe: &str) -> Vec<String> {
        self.script(&format!("{axe}\nreturn true;"), json!([]));
        let found = self.call(
            "POST",
            &self.at("/execute/async"),
            Some(json!({ "script": AXE_RUN, "args": [] })),
        );
        found
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|line| line.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn sign_out(&self, base: &str) {
        self.go(&format!("{base}/account"));
        self.click("form[action='/logout'] button");
        self.wait_for("Community partners who fund");
    }
}

/// Runs axe-core on the page and answers its serious and critical violations.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] }).then(result => done(
  result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)
), error => done([`axe failed: ${error}`]));
"#;

/// axe-core's script: `AXE_CORE_JS`, or where `.ci/run` installs it from npm. Missing,
/// the check is skipped — unless `REQUIRE_BROWSER_TESTS` asks for every browser check.
fn axe_core() -> Option<String> {
    let path = std::env::var_os("AXE_CORE_JS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| {
                PathBuf::from(home).join(".cache/fairshare/npm/node_modules/axe-core/axe.min.js")
            })
        })?;
    match std::fs::read_to_string(&path) {
        Ok(script) => Some(script),
        Err(e) => {
            assert!(
                std::env::var_os("REQUIRE_BROWSER_TESTS").is_none(),
                "REQUIRE_BROWSER_TESTS is set but axe-core is missing at {}: {e} \
                 (npm install --prefix ~/.cache/fairshare/npm axe-core)",
                path.display()
            );
            eprintln!(
                "accessibility check skipped: axe-core not found at {}",
                path.display()
            );
            None
        }
    }
}

/// The demo programme as of 2026-11-22 in a fresh SQLite file `file`, and the slug of
/// October's first partner.
fn demo_and_its_first_partner(file: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join(file).display());
    let run = |args: &[&str]| {
        let out = fairshare(
            dir.path(),
            Some(&db),
            args,
            &[("FAIRSHARE_TODAY", "2026-11-22")],
        );
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["demo", "--seed", "9"]);
    let ranking = run(&["ranking", "--month", "2026-10", "--format", "csv"]);
    let slug = ranking
        .lines()
        .nth(1)
        .and_then(|l| l.split(',').nth(1))
        .unwrap()
        .to_string();
    (dir, db, slug)
}

#[test]
fn every_page_fits_a_phone_and_passes_the_accessibility_check() {
    if !crate::browser_tests_can_run(true) {
        return;
    }
    let axe = axe_core();
    let (dir, db, slug) = demo_and_its_first_partner("pages.db");
    add_user(dir.path(), &db, "admin@example.org", "admin");
    add_user(
        dir.path(),
        &db,
        "boss@example.org",
        &format!("org_admin:{slug}"),
    );
    let server = start(dir.path(), &db, "2026-11-22");
    let base = format!("http://{}", server.address);
    let browser = Browser::open();
    let public = [
        "/".to_string(),
        "/partners".into(),
        format!("/partners/{slug}"),
        "/thresholds".into(),
        "/thresholds?country=NPL".into(),
        "/become-a-partner".into(),
        "/recognition".into(),
        "/report".into(),
        "/login".into(),
        "/signup".into(),
        "/forgot".into(),
    ];
    let organisation = [
        "/account".to_string(),
        "/me".into(),
        "/apply".into(),
        "/portal".into(),
        format!("/portal/breakdown?org={slug}"),
    ];
    let console = [
        "/admin",
        "/admin/claims",
        "/admin/corrections",
        "/admin/prices",
        "/admin/runs",
        "/admin/audit",
        "/admin/changes",
        "/admin/settings",
        "/admin/organisations",
        "/admin/members",
        "/admin/sources",
    ]
    .map(String::from);
    let mut problems = Vec::new();
    let mut check = |pages: &[String]| {
        for (width, screen) in [(1280, "desktop"), (360, "phone")] {
            browser.resize(width);
            for page in pages {
                browser.go(&format!("{base}{page}"));
                let (overflow, culprits) = browser.overflow();
                if overflow > 0 {
                    problems.push(format!(
                        "{page} at {width} px scrolls sideways by {overflow} px ({culprits})"
                    ));
                }
                if width == 360 {
                    let name = page.trim_matches('/').replace(['/', '?', '=', '&'], "-");
                    browser.shot(&format!(
                        "phone-{}",
                        if name.is_empty() { "home" } else { &name }
                    ));
                }
                if let Some(axe) = &axe {
                    for violation in browser.accessibility_violations(axe) {
                        problems.push(format!("{page} ({screen}): {violation}"));
                    }
                }
            }
        }
    };
    check(&public);
    browser.resize(1280);
    browser.sign_in(&base, "boss@example.org");
    check(&organisation);
    browser.resize(1280);
    browser.sign_out(&base);
    browser.sign_in(&base, "admin@example.org");
    check(&console);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_organisation_joins_and_reaches_the_home_page() {
    if !crate::browser_tests_can_run(true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("e2e.db").display());
    let run = |today: &str, args: &[&str]| {
        let out = fairshare(dir.path(), Some(&db), args, &[("FAIRSHARE_TODAY", today)]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    // The programme so far, reviewed up to October 2026.
    run("2026-11-22", &["demo", "--seed", "9"]);
    // NewCo's people have been contributing (work emails), and it has sponsored on
    // Open Collective for three months, not yet linked to any organisation.
    std::fs::write(
        dir.path().join("orgs.csv"),
        "slug,name,country,website,domains\nnewco,NewCo Analytics,DEU,https://newco.example,newco.example\n",
    )
    .unwrap();
    run("2026-11-22", &["import", "orgs", "orgs.csv"]);
    let mut activities = String::from("date,kind,member,name,org,team,url,title\n");
    for month in ["2026-09", "2026-10", "2026-11"] {
        for person in 0..8 {
            // Work up to the day of the import: later dates are refused.
            for day in 1..=22 {
                activities.push_str(&format!(
                    "{month}-{day:02},review,dev{person}@newco.example,Dev {person},,product,,Review {day}\n"
                ));
            }
        }
    }
    std::fs::write(dir.path().join("work.csv"), activities).unwrap();
    run("2026-11-22", &["import", "activities", "work.csv"]);
    let oc: Vec<String> = std::iter::once(OC_HEADER.to_string())
        .chain(
            ["2026-09-02", "2026-10-02", "2026-11-02"]
                .iter()
                .enumerate()
                .map(|(i, day)| {
                    oc_row(
                        &format!("{day}T08:00:00"),
                        &format!("newco{i}"),
                        "Monthly contribution",
                        "CONTRIBUTION",
                        "400",
                        "EUR",
                        "newco-oc",
                    )
                }),
        )
        .collect();
    std::fs::write(dir.path().join("oc.csv"), oc.join("\n")).unwrap();
    run("2026-11-22", &["import", "opencollective", "oc.csv"]);
    add_user(dir.path(), &db, "reviewer@example.org", "reviewer");
    add_user(dir.path(), &db, "lead@example.org", "team_lead:events");

    // December: November is complete and can be reviewed. The reviewer publishes it by
    // hand, before the scheduler's day for it (the 28th here).
    let outbox = dir.path().join("outbox");
    let server = crate::site::start_with(
        dir.path(),
        &db,
        "2026-12-05",
        &[
            ("FAIRSHARE_MAIL__OUTBOX", outbox.to_str().unwrap()),
            ("FAIRSHARE_REVIEW__DAY", "28"),
        ],
    );
    let base = format!("http://{}", server.address);
    let browser = Browser::open();

    // NewCo's founder finds the way on a phone, from the home page alone: no address
    // is typed but the one the confirmation mail carries. Nothing scrolls sideways.
    browser.resize(360);
    let fits = |step: &str| {
        let (overflow, culprits) = browser.overflow();
        assert_eq!(overflow, 0, "{step} scrolls sideways at 360 px: {culprits}");
    };
    browser.go(&format!("{base}/"));
    let before = browser.source();
    assert!(
        !before.contains("NewCo Analytics"),
        "not on the home page yet"
    );
    fits("the home page");
    browser.shot("01-home-before");

    // It signs up, confirms the address (which signs them in) and applies, asking to
    // link its Open Collective account.
    browser.click("main a.button[href='/become-a-partner']");
    browser.wait_for("Next steps");
    fits("the policy page");
    browser.click(".next-steps a[href='/signup']");
    browser.wait_for("Create");
    fits("sign-up");
    browser.fill("#email", "founder@newco.example");
    browser.fill("#password", "a long enough password");
    browser.click("form.stack button[type=submit]");
    browser.wait_for("Check your email");
    let link = crate::accounts::outbox_links(&outbox, "/verify?token=");
    assert_eq!(link.len(), 1, "one confirmation mail");
    browser.go(&format!("{base}{}", link[0]));
    let confirmed = browser.wait_for("Address confirmed");
    assert!(confirmed.contains("you are signed in"), "{confirmed}");
    browser.click("main a[href='/account']");
    browser.wait_for("Apply for your organisation");
    fits("the account page");
    browser.click("main a[href='/apply']");
    browser.wait_for("id=\"org\"");
    fits("the application form");
    browser.fill("#org", "newco");
    browser.fill("#name", "NewCo Analytics");
    browser.click("#country option[value='DEU']");
    browser.fill("#website", "https://newco.example");
    browser.fill(
        "#description",
        "NewCo builds analytics on the project and reviews its code.",
    );
    browser.click("#platform option[value='opencollective']");
    browser.fill("#account", "newco-oc");
    browser.fill("#staff", "Dev Zero <dev0@newco.example>");
    browser.shot("02-application");
    browser.click("form.stack button[type=submit]");
    // The account link waits for a reviewer: no payment counts before.
    let portal = browser.wait_for("opencollective:newco-oc");
    assert!(portal.contains("pending"), "{portal}");
    fits("the portal");
    browser.shot("03-portal");
    browser.resize(1280);

    // It claims a talk; the events team's lead approves it.
    browser.fill("input[name=person]", "dev0@newco.example");
    browser.fill("input[name=person_name]", "Dev Zero");
    browser.click("select[name=kind] option[value='talk_given']");
    browser.set_date("input[name=day]", "2026-11-20");
    browser.click("select[name=team] option[value='events']");
    browser.fill("input[name=evidence]", "https://newco.example/talk");
    browser.fill("input[name=description]", "Talk at the user conference");
    browser.click("form[action='/portal/claims'] button");
    // The form holds the description too: wait for the confirmation, not the text.
    let claimed = browser.wait_for("Your claim is sent");
    assert!(claimed.contains("Talk at the user conference"), "{claimed}");
    assert!(
        claimed.contains("Your claim is sent; the lead of its team verifies it."),
        "every action is confirmed: {claimed}"
    );
    browser.sign_out(&base);
    browser.sign_in(&base, "lead@example.org");
    browser.go(&format!("{base}/admin/claims"));
    assert!(browser.source().contains("Dev Zero"));
    browser.shot("04-claims-queue");
    browser.fill("input[name=comment]", "Recording checked");
    browser.click("form[action^='/admin/claims/'] button");
    assert!(browser.wait_for("None waiting.").contains("None waiting."));
    browser.sign_out(&base);

    // A reviewer links the account, approves the application and reviews November,
    // from the console's own navigation.
    browser.sign_in(&base, "reviewer@example.org");
    browser.click("header a[href='/admin']");
    browser.wait_for("Organisation changes");
    browser.click("nav.console a[href='/admin/changes']");
    assert!(browser.source().contains("newco-oc"));
    browser.fill(
        "form[action^='/admin/changes/'] input[name=comment]",
        "Receipts match",
    );
    browser.click("form[action^='/admin/changes/'] button");
    browser.wait_for("None waiting.");
    browser.click("nav.console a[href='/admin']");
    browser.wait_for("NewCo Analytics");
    browser.shot("05-console");
    browser.click("#application-newco option[value='approve']");
    browser.fill("#application-newco input[name=comment]", "Welcome aboard");
    browser.click("#application-newco button");
    // The demo approved others before: wait for NewCo's application to leave the queue.
    let approved = browser.wait_without("id=\"application-newco\"");
    assert!(approved.contains("applications.approved"), "{approved}");
    browser.fill("#month", "2026-11");
    browser.click("form[action='/admin/review'] button");
    // The demo published October already: wait for November's own entry, not any
    // publication, before looking at the home page.
    let console = browser.wait_for("ranking:2026-11");
    assert!(
        console.contains("ranking:2026-11"),
        "the audit log shows November's publication"
    );
    browser.sign_out(&base);

    // The home page's top 3 now shows NewCo (its pages are refreshed within a second).
    std::thread::sleep(Duration::from_millis(1100));
    browser.go(&format!("{base}/"));
    let after = browser.source();
    assert!(after.contains("Top partners of November 2026"), "{after}");
    assert!(
        after.contains("NewCo Analytics"),
        "NewCo is in the top 3: {after}"
    );
    browser.shot("06-home-after");
    let ranking = run(
        "2026-12-05",
        &["ranking", "--month", "2026-11", "--format", "csv"],
    );
    assert!(
        ranking
            .lines()
            .skip(1)
            .take(3)
            .any(|l| l.contains(",newco,")),
        "{ranking}"
    );
}

#[test]
fn managers_and_organisations_manage_in_the_browser() {
    if !crate::browser_tests_can_run(true) {
        return;
    }
    let (dir, db, slug) = demo_and_its_first_partner("manage.db");
    add_user(dir.path(), &db, "admin@example.org", "admin");
    add_user(dir.path(), &db, "reviewer@example.org", "reviewer");
    add_user(
        dir.path(),
        &db,
        "boss@example.org",
        &format!("org_admin:{slug}"),
    );
    let server = start(dir.path(), &db, "2026-11-22");
    let base = format!("http://{}", server.address);
    let browser = Browser::open();

    // An admin makes reviews weigh more, saying why.
    browser.sign_in(&base, "admin@example.org");
    browser.go(&format!("{base}/admin/settings"));
    browser.fill("input[name='weight.review']", "3");
    browser.fill("#reason", "Reviews are the bottleneck");
    browser.click("form[action='/admin/settings'] button[type=submit]");
    let settings = browser.wait_for("Reviews are the bottleneck");
    assert!(
        settings.contains("The rules are recorded and in force from now on."),
        "{settings}"
    );
    assert!(
        settings.contains("<code>scoring.weights.review</code>: 2 → 3"),
        "{settings}"
    );
    browser.shot("07-settings");
    browser.sign_out(&base);

    // The organisation reads its breakdown and asks for another email domain.
    browser.sign_in(&base, "boss@example.org");
    browser.go(&format!("{base}/portal/breakdown?org={slug}"));
    let breakdown = browser.source();
    assert!(breakdown.contains("Every activity") && breakdown.contains("By team"));
    assert!(
        breakdown.contains("<tr id=\"activity-"),
        "activities listed"
    );
    browser.shot("08-breakdown");
    browser.go(&format!("{base}/portal"));
    browser.fill(
        &format!("#ddomains-{slug}"),
        &format!("{slug}.example, labs.{slug}.example"),
    );
    browser.click("form[action='/portal/details'] button");
    let asked = browser.wait_for("Requested changes");
    assert!(asked.contains(">pending<"), "{asked}");
    browser.sign_out(&base);

    // A reviewer approves it; the organisation sees it applied.
    browser.sign_in(&base, "reviewer@example.org");
    browser.go(&format!("{base}/admin/changes"));
    assert!(browser.source().contains(&format!("labs.{slug}.example")));
    browser.shot("09-changes");
    browser.fill("input[name=comment]", "Domain checked");
    browser.click("form[action^='/admin/changes/'] button");
    assert!(browser.wait_for("None waiting.").contains("None waiting."));
    browser.sign_out(&base);
    browser.sign_in(&base, "boss@example.org");
    browser.go(&format!("{base}/portal"));
    let portal = browser.source();
    // Listed in order, whatever the slug.
    let mut domains = [format!("labs.{slug}.example"), format!("{slug}.example")];
    domains.sort();
    assert!(
        portal.contains(&format!("<dd>{}</dd>", domains.join(", "))),
        "{portal}"
    );
    assert!(portal.contains(">approved"), "{portal}");
}
