//! Accounts on the demo community: sign-in, the role of every signed-in route, no
//! organisation reading another's standing, anti-forgery tokens, throttling.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::site::{TODAY, start, start_with};
use crate::{fairshare, stderr, stdout};

pub(crate) fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

pub(crate) fn json_of(response: &str) -> serde_json::Value {
    serde_json::from_str(
        response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or(""),
    )
    .unwrap()
}

/// `name=value` of the cookie the response sets under `name`.
fn set_cookie(response: &str, name: &str) -> String {
    response
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {response}"))
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

pub(crate) fn status(response: &str) -> u16 {
    response[9..12].parse().unwrap()
}

/// `fairshare ARGS` on `db` in `dir` on the tests' day: its standard output, or the
/// test fails with its error.
pub(crate) fn run_on(dir: &std::path::Path, db: &str, args: &[&str]) -> String {
    let out = fairshare(dir, Some(db), args, &[TODAY]);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A demo programme in `dir`; its database URL.
fn demo(dir: &std::path::Path) -> String {
    let db = format!("sqlite://{}", dir.join("demo.db").display());
    run_on(dir, &db, &["demo"]);
    db
}

/// The two organisations ranked first in October 2026.
pub(crate) fn top_two(dir: &std::path::Path, db: &str) -> (String, String) {
    let ranking = run_on(
        dir,
        db,
        &["ranking", "--month", "2026-10", "--format", "csv"],
    );
    let mut slugs = ranking
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string());
    (slugs.next().unwrap(), slugs.next().unwrap())
}

/// Adds a user with the test password; `role` may list several, space-separated.
pub fn add_user(dir: &std::path::Path, db: &str, email: &str, role: &str) {
    add_user_with(dir, db, email, role, &[]);
}

/// `add_user` with more arguments for `users add`; what it printed.
fn add_user_with(
    dir: &std::path::Path,
    db: &str,
    email: &str,
    role: &str,
    more: &[&str],
) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fairshare"));
    command
        .current_dir(dir)
        .args(["--database", db, "users", "add", "--email", email])
        .args(more);
    for role in role.split(' ') {
        command.args(["--role", role]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Signs in; the session cookie and the page's anti-forgery token.
pub(crate) fn sign_in(address: &str, email: &str) -> (String, String) {
    let response = request(
        address,
        "POST",
        "/login",
        "",
        &format!(
            "email={}&password=a+long+enough+password&next=%2Fportal",
            email.replace('@', "%40")
        ),
    );
    assert_eq!(status(&response), 303, "{response}");
    let cookie = response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = request(
        address,
        "GET",
        "/account",
        &format!("Cookie: {cookie}\r\n"),
        "",
    );
    assert!(page.contains(email), "{page}");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    (cookie, csrf)
}

#[test]
fn every_role_reaches_only_what_is_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let run = |args: &[&str]| run_on(dir.path(), &db, args);
    let (a, b) = top_two(dir.path(), &db);
    let (a, b) = (a.as_str(), b.as_str());
    let pending = run(&["applications", "list", "--format", "csv"])
        .lines()
        .find(|l| l.contains(",pending,"))
        .map(|l| l.split(',').next().unwrap().to_string())
        .expect("a pending application");
    for (email, role) in [
        ("admin@example.org", "admin".to_string()),
        ("reviewer@example.org", "reviewer".to_string()),
        ("a@example.org", format!("org_admin:{a}")),
        ("b@example.org", format!("org_admin:{b}")),
        ("lead@example.org", "team_lead:product".to_string()),
        ("member@example.org", "member".to_string()),
    ] {
        add_user(dir.path(), &db, email, &role);
    }
    let server = start(dir.path(), &db, TODAY.1);
    let address = server.address.as_str();
    let who = ["admin", "reviewer", "a", "b", "lead", "member"];
    let sessions: Vec<(String, String)> = who
        .iter()
        .map(|w| sign_in(address, &format!("{w}@example.org")))
        .collect();
    let get = |path: &str, session: Option<&(String, String)>| {
        let cookie = session
            .map(|s| format!("Cookie: {}\r\n", s.0))
            .unwrap_or_default();
        request(address, "GET", path, &cookie, "")
    };

    // Which page each role reaches is the in-process matrix of
    // `crates/fairshare-web/tests/it/roles.rs`, on both backends; here the journeys.
    let breakdown_a = format!("/portal/breakdown?org={a}");
    // An organisation admin sees its own standing and not the other's.
    let own = get("/portal", Some(&sessions[2]));
    let name = |slug: &str| run(&["applications", "list", "--format", "csv"]).contains(slug);
    assert!(name(a));
    assert!(own.contains(&format!("id=\"org-{a}\"")) && !own.contains(&format!("id=\"org-{b}\"")));
    assert!(own.contains("How to move up") && own.contains("points to the top 3"));
    assert!(own.contains("Both criteria, month by month") && own.contains("(so far)"));
    assert!(own.contains("room for"), "headroom under the caps");

    // Deciding needs a reviewer and the session's token.
    let decide = format!("/admin/applications/{pending}/decide");
    for (i, session) in sessions.iter().enumerate() {
        let body = format!("csrf={}&decision=defer&comment=more+work", session.1);
        let response = request(
            address,
            "POST",
            &decide,
            &format!("Cookie: {}\r\n", session.0),
            &body,
        );
        let allowed = i < 2;
        if allowed {
            assert_eq!(status(&response), 303, "{} may decide: {response}", who[i]);
        } else {
            assert_eq!(status(&response), 403, "{} may not decide", who[i]);
        }
    }
    let forged = request(
        address,
        "POST",
        &decide,
        &format!("Cookie: {}\r\n", sessions[1].0),
        "csrf=wrong&decision=defer&comment=x",
    );
    assert_eq!(status(&forged), 403, "a forged form is refused");
    let anonymous = request(address, "POST", &decide, "", "decision=defer&comment=x");
    assert_eq!(status(&anonymous), 303, "anonymous: to the sign-in page");
    let audit = run(&["audit", "--subject", "org:", "--limit", "50"]);
    assert!(
        audit.contains("reviewer@example.org"),
        "decisions are audited by user: {audit}"
    );

    // Signing out needs the token too, and ends the session.
    let logout = |s: &(String, String), token: &str| {
        request(
            address,
            "POST",
            "/logout",
            &format!("Cookie: {}\r\n", s.0),
            &format!("csrf={token}"),
        )
    };
    assert_eq!(status(&logout(&sessions[5], "nope")), 403);
    let out = logout(&sessions[5], &sessions[5].1);
    assert_eq!(status(&out), 303, "{:?}", sessions[5]);
    assert_eq!(
        status(&get("/portal", Some(&sessions[5]))),
        303,
        "session closed"
    );

    // Sign-in from another site is refused; repeated failures are throttled.
    let cross = request(
        address,
        "POST",
        "/login",
        "Origin: https://evil.test\r\n",
        "email=a%40example.org&password=x",
    );
    assert_eq!(status(&cross), 403);
    for _ in 0..5 {
        let wrong = request(
            address,
            "POST",
            "/login",
            "",
            "email=b%40example.org&password=wrong",
        );
        assert_eq!(status(&wrong), 401);
    }
    let throttled = request(
        address,
        "POST",
        "/login",
        "",
        "email=b%40example.org&password=a+long+enough+password",
    );
    assert_eq!(status(&throttled), 429, "{throttled}");
    // Claims: the organisation claims non-code work, a lead of that team verifies it,
    // and it scores. Nobody verifies their own claim; no one claims for another.
    add_user(
        dir.path(),
        &db,
        "both@example.org",
        &format!("org_admin:{a}"),
    );
    let claim = |session: &(String, String), org: &str| {
        request(
            address,
            "POST",
            "/portal/claims",
            &format!("Cookie: {}\r\n", session.0),
            &format!(
                "csrf={}&org={org}&person=speaker%40example.net&person_name=Sam+Speaker&kind=talk_given\
                 &day=2026-11-20&team=product&evidence=https%3A%2F%2Fexample.net%2Ftalk&description=Conference+talk",
                session.1
            ),
        )
    };
    assert_eq!(status(&claim(&sessions[3], a)), 403, "b claims for a");
    assert_eq!(status(&claim(&sessions[2], a)), 303);
    let queue = get("/admin/claims", Some(&sessions[4]));
    assert!(
        queue.contains("Sam Speaker"),
        "the product lead sees it: {queue}"
    );
    assert_eq!(
        status(&get("/admin/claims", Some(&sessions[3]))),
        403,
        "an org admin is no verifier"
    );
    let id = queue
        .split("/admin/claims/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let verify = |session: &(String, String)| {
        request(
            address,
            "POST",
            &format!("/admin/claims/{id}/decide"),
            &format!("Cookie: {}\r\n", session.0),
            &format!("csrf={}&decision=approve&comment=seen+it", session.1),
        )
    };
    assert_eq!(
        status(&verify(&sessions[3])),
        403,
        "org admin b may not verify"
    );
    let before = run(&[
        "explain", "--org", a, "--month", "2026-11", "--format", "json",
    ]);
    assert!(!before.contains("Conference talk"));
    assert_eq!(status(&verify(&sessions[4])), 303, "the team lead verifies");
    let after = run(&["explain", "--org", a, "--month", "2026-11"]);
    assert!(
        after.contains("talk_given"),
        "the approved claim scores: {after}"
    );
    assert_eq!(status(&verify(&sessions[4])), 409, "decided once");

    // Console: an exclusion from scoring, and a price decided by someone else.
    let explain = run(&[
        "explain", "--org", a, "--month", "2026-10", "--format", "json",
    ]);
    let explained: serde_json::Value = serde_json::from_str(&explain).unwrap();
    let activity = explained["items"][0]["scored"]["id"].as_i64().unwrap();
    let console_post = |session: &(String, String), path: &str, body: &str| {
        request(
            address,
            "POST",
            path,
            &format!("Cookie: {}\r\n", session.0),
            &format!("csrf={}&{body}", session.1),
        )
    };
    let added = console_post(
        &sessions[1],
        "/admin/corrections/add",
        &format!("activity={activity}&reason=duplicate"),
    );
    assert_eq!(status(&added), 303, "{added}");
    assert!(run(&["corrections", "list", "--format", "csv"]).contains("duplicate"));
    // The organisation sees the correction, and every other activity, in its breakdown.
    let breakdown = get(&format!("{breakdown_a}&month=2026-10"), Some(&sessions[2]));
    assert!(breakdown.contains("By team") && breakdown.contains("Every activity"));
    assert!(
        breakdown.contains(&format!("<li id=\"excluded-{activity}\">"))
            && breakdown.contains("duplicate"),
        "{breakdown}"
    );
    assert!(
        !breakdown.contains(&format!("id=\"activity-{activity}\"")),
        "not scored"
    );
    assert_eq!(
        explained["items"].as_array().unwrap().len() - 1,
        breakdown.matches("<tr id=\"activity-").count(),
        "one row per scored activity"
    );
    assert_eq!(
        status(&get(
            &format!("/portal/breakdown?org={b}"),
            Some(&sessions[2])
        )),
        403,
        "not another organisation's"
    );
    assert_eq!(
        status(&get(
            &format!("{breakdown_a}&month=2026-13"),
            Some(&sessions[2])
        )),
        400
    );
    let refused = console_post(
        &sessions[1],
        "/admin/corrections/add",
        "activity=999999999&reason=x",
    );
    assert_eq!(status(&refused), 404, "an unknown activity is not found");
    assert_eq!(
        status(&console_post(
            &sessions[3],
            "/admin/corrections/add",
            &format!("activity={activity}&reason=x")
        )),
        403,
        "organisation admins do not correct"
    );
    let submitted = fairshare(
        dir.path(),
        Some(&db),
        &[
            "--as",
            "reviewer@example.org",
            "bigmac",
            "submit",
            "KEN",
            "--price",
            "450",
            "--currency",
            "KES",
            "--rate",
            "129",
            "--evidence",
            "https://example.org/ken-receipt",
        ],
        &[TODAY],
    );
    assert!(submitted.status.success(), "{}", stderr(&submitted));
    let prices = get("/admin/prices", Some(&sessions[1]));
    let price = prices
        .split("/admin/prices/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a pending submission")
        .to_string();
    let decide_price = |session: &(String, String)| {
        console_post(
            session,
            &format!("/admin/prices/{price}/decide"),
            "decision=approve&comment=ok",
        )
    };
    assert_eq!(
        status(&decide_price(&sessions[1])),
        403,
        "not one's own submission"
    );
    assert_eq!(
        status(&decide_price(&sessions[0])),
        303,
        "another reviewer decides"
    );
    assert!(
        get("/admin/runs", Some(&sessions[0])).contains("activities"),
        "import runs listed"
    );

    // Members: a reviewer merges two people and undoes it.
    assert!(get("/admin/organisations", Some(&sessions[1])).contains(&format!("<td>{a}</td>")));
    let found = get("/admin/members?q=%231", Some(&sessions[1]));
    assert!(found.contains("(#1"), "{found}");
    let identity_of = |member: &str| -> Vec<String> {
        let shown: serde_json::Value =
            serde_json::from_str(&run(&["members", "show", member, "--format", "json"])).unwrap();
        serde_json::from_value(shown["identities"].clone()).unwrap()
    };
    let second = identity_of("#2");
    let merged = console_post(
        &sessions[1],
        "/admin/members/merge",
        "into=%231&from=%232&reason=same+person",
    );
    assert_eq!(status(&merged), 303, "{merged}");
    assert!(
        second.iter().all(|i| identity_of("#1").contains(i)),
        "#2's identities moved to #1"
    );
    let history = run(&["members", "history", "--format", "csv"]);
    let change = history
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        status(&console_post(
            &sessions[1],
            "/admin/members/undo",
            &format!("change={change}")
        )),
        303
    );
    assert_eq!(identity_of("#2"), second, "undone");
    assert_eq!(
        status(&console_post(
            &sessions[2],
            "/admin/members/merge",
            "into=%231&from=%232"
        )),
        403,
        "organisation admins do not merge people"
    );
    // A manager's dated affiliation, shown with the member and re-crediting their work.
    let affiliate = |org: &str| {
        console_post(
            &sessions[1],
            "/admin/members/affiliate",
            &format!("member=%233&org={org}&valid_from=2026-01-01&reason=contract"),
        )
    };
    assert_eq!(status(&affiliate("no-such-org")), 400);
    assert_eq!(status(&affiliate(b)), 303);
    let audit = get("/admin/audit?subject=member%3A", Some(&sessions[0]));
    assert!(
        audit.contains(">member:") && !audit.contains(">org:"),
        "filtered: {audit}"
    );
    let third = get("/admin/members?q=%233", Some(&sessions[1]));
    assert!(
        third.contains(&format!("<th scope=\"row\">{b}</th><td>2026-01-01</td>"))
            && third.contains("manager"),
        "{third}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&run(&["members", "show", "#3", "--format", "json"])).unwrap();
    assert!(
        shown["activities_by_org"].to_string().contains(b),
        "re-credited to {b}: {shown}"
    );

    // Staff invitations from the portal, answered by each person in their own account.
    let invite = |session: &(String, String)| {
        console_post(
            session,
            "/portal/staff",
            &format!("org={a}&name=Newbie&handle=newbie%40x.org"),
        )
    };
    assert_eq!(status(&invite(&sessions[3])), 403, "b invites for a");
    assert_eq!(status(&invite(&sessions[2])), 303);
    assert_eq!(status(&invite(&sessions[2])), 409, "already invited");
    assert!(get("/portal", Some(&sessions[2])).contains("email:newbie@x.org"));

    // An organisation from a country the Big Mac data lacks submits a price.
    std::fs::write(
        dir.path().join("uga.csv"),
        "slug,name,country,website,domains\nugaco,UgaCo,UGA,,ugaco.example\n",
    )
    .unwrap();
    run(&["import", "orgs", "uga.csv"]);
    add_user(dir.path(), &db, "uga@example.org", "org_admin:ugaco");
    let uga = sign_in(address, "uga@example.org");
    let portal = get("/portal", Some(&uga));
    assert!(
        portal.contains("UGA is not in the Big Mac data"),
        "{portal}"
    );
    let priced = console_post(
        &uga,
        "/portal/price",
        "org=ugaco&price=12000&currency=UGX&rate=3700&evidence=https%3A%2F%2Fugaco.example%2Freceipt",
    );
    assert_eq!(status(&priced), 303, "{priced}");
    let bad = console_post(
        &uga,
        "/portal/price",
        "org=ugaco&price=-1&currency=UGX&rate=3700&evidence=https%3A%2F%2Fx",
    );
    assert_eq!(status(&bad), 400);
    assert!(get("/admin/prices", Some(&sessions[1])).contains("UGA"));

    // Every state-changing route refuses a form without the session's token, even
    // from a user who may otherwise use it.
    let routes = [
        ("/logout", 2, String::new()),
        (
            "/portal/claims",
            2,
            format!(
                "org={a}&person=x%40y.z&person_name=X&kind=talk_given&day=2026-11-01&team=t&evidence=https%3A%2F%2Fx&description=d"
            ),
        ),
        ("/portal/profile", 2, format!("org={a}&description=Forged")),
        (
            "/apply",
            2,
            format!("org={a}&name=A&country=DEU&contact=a%40b.c&description=d"),
        ),
        ("/admin/review", 1, "month=2026-10".to_string()),
        (
            "/admin/applications/1/decide",
            1,
            "decision=defer&comment=x".to_string(),
        ),
        (
            "/admin/claims/1/decide",
            1,
            "decision=reject&comment=x".to_string(),
        ),
        (
            "/admin/corrections/add",
            1,
            "activity=1&reason=x".to_string(),
        ),
        ("/admin/prices/1/decide", 1, "decision=reject".to_string()),
        ("/admin/members/merge", 1, "into=%231&from=%233".to_string()),
        ("/admin/settings", 0, "reason=x&weight.review=9".to_string()),
        (
            "/portal/details",
            2,
            format!("org={a}&country=DEU&domains=new.example.org"),
        ),
        ("/admin/changes/1/decide", 1, "decision=reject".to_string()),
        (
            "/admin/settings/comparable",
            0,
            "action=map&country=BGD&like=IND".to_string(),
        ),
        ("/portal/staff", 2, format!("org={a}&name=X&handle=x%40y.z")),
        (
            "/portal/price",
            2,
            format!("org={a}&price=1&currency=EUR&rate=1&evidence=https%3A%2F%2Fx"),
        ),
    ];
    for (path, who_posts, body) in &routes {
        let session = &sessions[*who_posts];
        let response = request(
            address,
            "POST",
            path,
            &format!("Cookie: {}\r\n", session.0),
            body,
        );
        assert_eq!(status(&response), 403, "{path} without a token");
        let forged = format!("csrf=0000{}&{body}", &session.1[4..]);
        let response = request(
            address,
            "POST",
            path,
            &format!("Cookie: {}\r\n", session.0),
            &forged,
        );
        assert_eq!(status(&response), 403, "{path} with a wrong token");
    }
    // Organisation admins edit only their own profile.
    let edit = |session: &(String, String)| {
        request(
            address,
            "POST",
            "/portal/profile",
            &format!("Cookie: {}\r\n", session.0),
            &format!(
                "csrf={}&org={a}&description=Edited+by+us&services=Hosting%2C+Training",
                session.1
            ),
        )
    };
    let cached = json_of(&request(
        address,
        "GET",
        &format!("/api/v1/partners/{a}"),
        "",
        "",
    ));
    assert_ne!(cached["profile"]["description"], "Edited by us");
    assert_eq!(status(&edit(&sessions[3])), 403, "b edits a's profile");
    assert_eq!(status(&edit(&sessions[2])), 303);
    std::thread::sleep(Duration::from_millis(1100)); // the cache looks again after 1 s
    let profile = json_of(&request(
        address,
        "GET",
        &format!("/api/v1/partners/{a}"),
        "",
        "",
    ));
    assert_eq!(profile["profile"]["description"], "Edited by us");
    assert_eq!(
        profile["profile"]["services"],
        serde_json::json!(["Hosting", "Training"])
    );

    // Every state-changing route × every role, with a valid token: the roles it is
    // not for get 403; the ones it is for get past authorization to the request's own
    // problem (each body is invalid or names nothing, so nothing changes here).
    // Indexes into `who`.
    let reviewers: &[usize] = &[0, 1];
    let admin_only: &[usize] = &[0];
    let own_a: &[usize] = &[2];
    let verifiers: &[usize] = &[0, 1, 4];
    let post_matrix: Vec<(&str, String, &[usize])> = vec![
        (
            "/portal/claims",
            format!(
                "org={a}&person=x%40y.z&person_name=X&kind=bogus&day=2026-11-01&team=t&evidence=https%3A%2F%2Fx&description=d"
            ),
            own_a,
        ),
        (
            "/portal/profile",
            format!("org={a}&logo_url=http%3A%2F%2Fplain.example"),
            own_a,
        ),
        (
            "/portal/staff",
            format!("org={a}&name=X&handle=no+such+form"),
            own_a,
        ),
        (
            "/portal/price",
            format!("org={a}&price=abc&currency=EUR&rate=1&evidence=https%3A%2F%2Fx"),
            own_a,
        ),
        ("/portal/details", format!("org={a}&country=XXXX"), own_a),
        ("/admin/review", "month=bad".into(), reviewers),
        (
            "/admin/applications/999999/decide",
            "decision=defer&comment=x".into(),
            reviewers,
        ),
        (
            "/admin/claims/999999/decide",
            "decision=reject&comment=x".into(),
            verifiers,
        ),
        (
            "/admin/corrections/add",
            "activity=999999999&reason=x".into(),
            reviewers,
        ),
        (
            "/admin/prices/999999/decide",
            "decision=reject".into(),
            reviewers,
        ),
        (
            "/admin/members/merge",
            "into=%23999999&from=%23999998".into(),
            reviewers,
        ),
        (
            "/admin/members/affiliate",
            "member=%23999999&org=x&reason=x".into(),
            reviewers,
        ),
        (
            "/admin/changes/999999/decide",
            "decision=reject".into(),
            reviewers,
        ),
        ("/admin/settings", "reason=x".into(), admin_only),
        (
            "/admin/settings/comparable",
            "action=bogus&country=BGD".into(),
            admin_only,
        ),
        // These accounts never confirmed their addresses: applying needs one (403)
        // before the form is read.
        (
            "/apply",
            "org=not+a+slug!&name=A&country=DEU&contact=a%40b.c&description=d".into(),
            &[],
        ),
    ];
    // The member signed out above: sign in again.
    let mut signed_in = sessions.clone();
    signed_in[5] = sign_in(address, "member@example.org");
    for (path, body, allowed) in &post_matrix {
        for (i, session) in signed_in.iter().enumerate() {
            let answer = status(&console_post(session, path, body));
            if allowed.contains(&i) {
                assert!(
                    answer == 400 || answer == 404,
                    "{} {path}: {answer}, expected the request's own 400/404",
                    who[i]
                );
            } else {
                assert_eq!(answer, 403, "{} {path}", who[i]);
            }
        }
        let anonymous = request(address, "POST", path, "", body);
        assert_eq!(
            status(&anonymous),
            303,
            "anonymous {path} is sent to sign in"
        );
        assert!(anonymous.contains("location: /login"), "{anonymous}");
    }

    // A reviewed month is published again only with a reason, which the audit keeps.
    let again = console_post(&sessions[1], "/admin/review", "month=2026-10");
    assert_eq!(status(&again), 303, "reviewing twice changes nothing");
    assert!(!run(&["audit", "--format", "csv"]).contains("ranking.republish"));
    let republished = console_post(
        &sessions[1],
        "/admin/review",
        "month=2026-10&republish_reason=a+correction+landed+late",
    );
    assert_eq!(status(&republished), 303, "{republished}");
    let audit = run(&["audit", "--format", "csv"]);
    assert!(
        audit.contains("ranking.republish") && audit.contains("a correction landed late"),
        "{audit}"
    );

    let users = run(&["users", "list", "--format", "csv"]);
    assert!(
        users.contains(&format!("a@example.org,org_admin:{a}")),
        "{users}"
    );
}

#[test]
fn an_organisation_changes_what_moves_money_and_credit_only_through_a_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let run = |args: &[&str]| run_on(dir.path(), &db, args);
    let (a, b) = top_two(dir.path(), &db);
    let (a, b) = (a.as_str(), b.as_str());
    add_user(dir.path(), &db, "a@example.org", &format!("org_admin:{a}"));
    add_user(dir.path(), &db, "b@example.org", &format!("org_admin:{b}"));
    add_user(dir.path(), &db, "reviewer@example.org", "reviewer");
    add_user(
        dir.path(),
        &db,
        "dual@example.org",
        &format!("reviewer org_admin:{a}"),
    );
    let server = start(dir.path(), &db, TODAY.1);
    let address = server.address.as_str();
    let [admin_a, admin_b, reviewer, dual] =
        ["a", "b", "reviewer", "dual"].map(|w| sign_in(address, &format!("{w}@example.org")));
    let get = |session: &(String, String), path: &str| {
        request(
            address,
            "GET",
            path,
            &format!("Cookie: {}\r\n", session.0),
            "",
        )
    };
    let post = |session: &(String, String), path: &str, body: &str| {
        request(
            address,
            "POST",
            path,
            &format!("Cookie: {}\r\n", session.0),
            &format!("csrf={}&{body}", session.1),
        )
    };
    let portal = get(&admin_a, "/portal");
    let domains = portal
        .split("<dt>Email domains</dt><dd>")
        .nth(1)
        .and_then(|r| r.split("</dd>").next())
        .expect("the domains are shown")
        .to_string();
    assert!(domains.contains('.'), "{domains}");
    // A country to move to: any other than the one it has.
    let current = portal
        .split("<dt>HQ country</dt><dd>")
        .nth(1)
        .and_then(|r| r.split("</dd>").next())
        .expect("the country is shown")
        .to_string();
    let to = if current == "IND" { "BRA" } else { "IND" };

    // Requests are checked, and only an organisation's admins make them.
    let ask = |session: &(String, String), body: &str| post(session, "/portal/details", body);
    let free_mail = ask(&admin_a, &format!("org={a}&country={to}&domains=gmail.com"));
    assert_eq!(status(&free_mail), 400);
    assert!(free_mail.contains("public email provider"));
    let platform = ask(
        &admin_a,
        &format!("org={a}&country={to}&sponsor_accounts=paypal%3Aacme"),
    );
    assert!(
        platform.contains("opencollective or github_sponsors"),
        "{platform}"
    );
    assert_eq!(
        status(&ask(
            &admin_b,
            &format!("org={a}&country={to}&domains=b.example.org")
        )),
        403,
        "b asks for a"
    );
    let body = format!(
        "org={a}&country={to}&website=https%3A%2F%2Fnew.example.org&domains={}%2C+new-{a}.example.org&sponsor_accounts=opencollective%3A{a}-collective",
        domains.replace(", ", "%2C+")
    );
    assert_eq!(status(&ask(&admin_a, &body)), 303);
    let pending = get(&admin_a, "/portal");
    assert!(pending.contains("Requested changes") && pending.contains(">pending<"));
    assert!(
        !pending.contains(&format!("<dt>HQ country</dt><dd>{to}</dd>")),
        "not applied yet"
    );

    // The console: reviewers only; never the requester; applied whole.
    assert_eq!(status(&get(&admin_a, "/admin/changes")), 403);
    let queue = get(&reviewer, "/admin/changes");
    let id = queue
        .split("/admin/changes/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("a pending change")
        .to_string();
    assert!(queue.contains(&format!("opencollective:{a}-collective")));
    let decide = |session: &(String, String), decision: &str| {
        post(
            session,
            &format!("/admin/changes/{id}/decide"),
            &format!("decision={decision}&comment=checked"),
        )
    };
    assert_eq!(status(&decide(&admin_a, "approve")), 403);
    assert_eq!(status(&decide(&reviewer, "approve")), 303);
    assert_eq!(status(&decide(&reviewer, "reject")), 409, "decided once");
    let applied = get(&admin_a, "/portal");
    assert!(
        applied.contains(&format!("<dt>HQ country</dt><dd>{to}</dd>")),
        "{applied}"
    );
    assert!(applied.contains(&format!("opencollective:{a}-collective")));
    assert!(applied.contains(&format!("new-{a}.example.org")));
    assert!(run(&["audit", "--format", "csv"]).contains("organisations.change_approve"));

    // Whoever asked cannot approve, even as a reviewer.
    assert_eq!(
        status(&ask(
            &dual,
            &format!(
                "org={a}&country=DEU&domains={}",
                domains.replace(", ", "%2C")
            )
        )),
        303
    );
    let own = get(&dual, "/admin/changes");
    let own_id = own
        .split("/admin/changes/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let refused = post(
        &dual,
        &format!("/admin/changes/{own_id}/decide"),
        "decision=approve",
    );
    assert_eq!(status(&refused), 403, "{refused}");
    assert!(refused.contains("someone else must decide it"), "{refused}");

    // The logo is part of the public profile: https only, shown on the partner page.
    let logo = |url: &str| {
        post(
            &admin_a,
            "/portal/profile",
            &format!("org={a}&description=Us&logo_url={url}"),
        )
    };
    assert_eq!(status(&logo("http%3A%2F%2Fexample.org%2Flogo.png")), 400);
    assert_eq!(status(&logo("https%3A%2F%2Fexample.org%2Flogo.png")), 303);
    std::thread::sleep(Duration::from_millis(1100)); // the page cache looks again after 1 s
    let page = request(address, "GET", &format!("/partners/{a}"), "", "");
    assert!(
        page.contains("<img class=\"partner-logo\" src=\"https://example.org/logo.png\""),
        "{page}"
    );
}

/// The `name=value` pairs of a page's text inputs, URL-encoded for a form body.
pub(crate) fn inputs_of(page: &str) -> Vec<(String, String)> {
    page.split("<input ")
        .skip(1)
        .filter_map(|tag| {
            let tag = tag.split('>').next()?;
            let attribute = |name: &str| {
                tag.split(&format!(" {name}=\""))
                    .nth(1)
                    .or_else(|| tag.strip_prefix(&format!("{name}=\"")))
                    .and_then(|rest| rest.split('"').next())
                    .map(str::to_string)
            };
            (!tag.contains("type=\"hidden\"")).then_some(())?;
            Some((attribute("name")?, attribute("value").unwrap_or_default()))
        })
        .collect()
}

#[test]
fn an_admin_records_new_rules_that_the_console_and_the_cli_then_apply() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let run = |args: &[&str]| run_on(dir.path(), &db, args);
    add_user(dir.path(), &db, "admin@example.org", "admin");
    add_user(dir.path(), &db, "reviewer@example.org", "reviewer");
    let scores_before = run(&["scores", "--month", "2026-10", "--format", "csv"]);
    let server = start(dir.path(), &db, TODAY.1);
    let address = server.address.as_str();
    let admin = sign_in(address, "admin@example.org");
    let reviewer = sign_in(address, "reviewer@example.org");
    let get = |session: &(String, String)| {
        request(
            address,
            "GET",
            "/admin/settings",
            &format!("Cookie: {}\r\n", session.0),
            "",
        )
    };
    let post = |session: &(String, String), path: &str, body: &str| {
        request(
            address,
            "POST",
            path,
            &format!("Cookie: {}\r\n", session.0),
            &format!("csrf={}&{body}", session.1),
        )
    };
    // Reviews' status notices: the console lists partners at risk; a lapsed
    // organisation's standing shows what moved it and why.
    let console = request(
        address,
        "GET",
        "/admin",
        &format!("Cookie: {}\r\n", reviewer.0),
        "",
    );
    assert!(console.contains("Partners at risk"));
    let claims = request(
        address,
        "GET",
        "/admin/claims",
        &format!("Cookie: {}\r\n", reviewer.0),
        "",
    );
    assert!(
        claims.contains("Talk about the project at a"),
        "the demo leaves claims to verify: {claims}"
    );
    // The console's list, searched for the status and exported: the slug is its
    // second column.
    let organisations = request(
        address,
        "GET",
        "/admin/organisations?q=lapsed&format=csv",
        &format!("Cookie: {}\r\n", reviewer.0),
        "",
    );
    let lapsed = organisations
        .lines()
        .find(|row| row.contains(",lapsed,"))
        .and_then(|row| row.split(',').nth(1))
        .expect("the demo has a lapsed organisation")
        .to_string();
    let standing = request(
        address,
        "GET",
        &format!("/portal?org={lapsed}"),
        &format!("Cookie: {}\r\n", reviewer.0),
        "",
    );
    assert!(
        standing.contains("Status notices") && standing.contains("at risk → lapsed"),
        "{standing}"
    );
    assert!(standing.contains("still failing after"));

    let read_only = get(&reviewer);
    assert!(read_only.contains("Only an admin changes the settings"));
    assert!(read_only.contains("from the configuration file"));
    let page = get(&admin);
    let form = |overrides: &[(&str, &str)]| {
        let mut fields = inputs_of(&page);
        for (name, value) in overrides {
            fields.retain(|(n, _)| n != name);
            fields.push((name.to_string(), value.to_string()));
        }
        fields.push(("rounding_mode".into(), "nearest".into()));
        fields.push(("euro_area".into(), "single".into()));
        fields.push(("impact".into(), String::new()));
        fields
            .iter()
            .map(|(n, v)| format!("{n}={}", v.replace(' ', "+")))
            .collect::<Vec<_>>()
            .join("&")
    };
    assert!(
        form(&[]).contains("weight.review=2&cap.review=30"),
        "{}",
        form(&[])
    );

    // Reviewers read, admins change; a bad value or a missing reason is refused.
    let change = form(&[("weight.review", "20"), ("reason", "Reviews are scarce")]);
    assert_eq!(status(&post(&reviewer, "/admin/settings", &change)), 403);
    let negative = post(
        &admin,
        "/admin/settings",
        &form(&[("weight.review", "-1"), ("reason", "x")]),
    );
    assert_eq!(status(&negative), 400);
    assert!(negative.contains("scoring.weights.review"), "{negative}");
    let not_a_number = post(
        &admin,
        "/admin/settings",
        &form(&[("cap.commit", "lots"), ("reason", "x")]),
    );
    assert!(not_a_number.contains("`cap.commit`: `lots` is not a whole number"));
    let no_reason = post(&admin, "/admin/settings", &form(&[("weight.review", "20")]));
    assert!(
        no_reason.contains("say why the rules change"),
        "{no_reason}"
    );
    assert_eq!(status(&post(&admin, "/admin/settings", &change)), 303);

    let recorded = get(&admin);
    assert!(recorded.contains("as last recorded here"));
    assert!(
        recorded.contains("<code>scoring.weights.review</code>: 2 → 20"),
        "{recorded}"
    );
    assert!(recorded.contains("Reviews are scarce"));
    assert!(inputs_of(&recorded).contains(&("weight.review".into(), "20".into())));
    let console = request(
        address,
        "GET",
        "/admin",
        &format!("Cookie: {}\r\n", admin.0),
        "",
    );
    assert!(console.contains("rules.change"), "audited");
    // The command line uses the recorded rules too.
    let scores_after = run(&["scores", "--month", "2026-10", "--format", "csv"]);
    assert_ne!(scores_before, scores_after, "review points now weigh 20");

    // Comparable countries: Bangladesh is missing from the data; price it like India.
    let mapped = post(
        &admin,
        "/admin/settings/comparable",
        "action=map&country=BGD&like=IND",
    );
    assert_eq!(status(&mapped), 303, "{mapped}");
    assert!(get(&reviewer).contains("<th scope=\"row\">BGD</th><td>IND</td>"));
    let itself = post(
        &admin,
        "/admin/settings/comparable",
        "action=map&country=IND&like=USA",
    );
    assert_eq!(status(&itself), 400);
    assert!(itself.contains("has its own row"));
    assert_eq!(
        status(&post(
            &reviewer,
            "/admin/settings/comparable",
            "action=unmap&country=BGD"
        )),
        403
    );
    assert_eq!(
        status(&post(
            &admin,
            "/admin/settings/comparable",
            "action=unmap&country=BGD"
        )),
        303
    );
    assert!(get(&admin).contains("No mappings."));
}

pub(crate) fn outbox_links(dir: &std::path::Path, path: &str) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "eml"))
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|mail| {
            mail.split_whitespace()
                .find(|w| w.contains(path))
                .and_then(|w| w.split_once(path).map(|(_, rest)| format!("{path}{rest}")))
        })
        .collect()
}

/// A local SMTP server standing in for the mail provider: it speaks enough of RFC
/// 5321 (with AUTH PLAIN) for a client to deliver, and hands each message's
/// envelope and data over the channel.
fn smtp_sink() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sender, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let sender = sender.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut reply = |text: &str| stream.write_all(format!("{text}\r\n").as_bytes());
                reply("220 sink.test ESMTP").unwrap();
                let mut transcript = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let command = line.trim_end().to_string();
                    line.clear();
                    let verb = command.split(' ').next().unwrap_or("").to_uppercase();
                    transcript.push_str(&command);
                    transcript.push('\n');
                    let answer = match verb.as_str() {
                        "EHLO" => "250-sink.test\r\n250 AUTH PLAIN",
                        "AUTH" => "235 2.7.0 accepted",
                        "MAIL" | "RCPT" | "RSET" | "NOOP" => "250 2.0.0 ok",
                        "DATA" => {
                            reply("354 go on").unwrap();
                            let mut data = String::new();
                            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                                if line == ".\r\n" {
                                    line.clear();
                                    break;
                                }
                                data.push_str(&line);
                                line.clear();
                            }
                            transcript.push_str(&data);
                            sender.send(std::mem::take(&mut transcript)).unwrap();
                            "250 2.0.0 queued"
                        }
                        "QUIT" => {
                            let _ = reply("221 2.0.0 bye");
                            return;
                        }
                        _ => "502 5.5.2 not implemented",
                    };
                    if reply(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, received)
}

#[test]
fn mail_goes_through_an_smtp_server_when_one_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("smtp.db").display());
    add_user(dir.path(), &db, "ana@x.org", "member");
    let (port, received) = smtp_sink();
    let port = port.to_string();
    let server = start_with(
        dir.path(),
        &db,
        TODAY.1,
        &[
            ("FAIRSHARE_MAIL__SMTP_HOST", "127.0.0.1"),
            ("FAIRSHARE_MAIL__SMTP_PORT", &port),
            ("FAIRSHARE_MAIL__SMTP_SECURITY", "none"),
            ("FAIRSHARE_MAIL__SMTP_USERNAME", "fairshare"),
            ("FAIRSHARE_MAIL__SMTP_PASSWORD", "relay secret"),
            (
                "FAIRSHARE_MAIL__FROM",
                "Partners <partners@project.example>",
            ),
            (
                "FAIRSHARE_MAIL__BASE_URL",
                "https://partners.project.example",
            ),
        ],
    );
    let address = server.address.as_str();
    let asked = request(address, "POST", "/forgot", "", "email=ana%40x.org");
    assert_eq!(status(&asked), 200, "{asked}");
    let message = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the server delivered a message");
    assert!(
        message.contains("MAIL FROM:<partners@project.example>"),
        "{message}"
    );
    assert!(message.contains("RCPT TO:<ana@x.org>"), "{message}");
    assert!(message.contains("AUTH PLAIN"), "credentials are used");
    assert!(message.contains("Subject: Reset your password"));
    assert!(
        message.contains("Content-Transfer-Encoding: 7bit"),
        "{message}"
    );
    let link = message
        .split_whitespace()
        .find(|w| w.starts_with("https://partners.project.example/reset?token="))
        .expect("a whole reset link");
    let path = link.trim_start_matches("https://partners.project.example");
    let done = request(
        address,
        "POST",
        "/reset",
        "",
        &format!(
            "token={}&password=another+long+password",
            path.trim_start_matches("/reset?token=")
        ),
    );
    assert_eq!(status(&done), 200, "the emailed link works: {done}");

    // Both transports at once is a configuration error, named before serving.
    let both = fairshare(
        dir.path(),
        Some(&db),
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("FAIRSHARE_MAIL__SMTP_HOST", "127.0.0.1"),
            ("FAIRSHARE_MAIL__OUTBOX", "outbox"),
        ],
    );
    assert!(!both.status.success());
    assert!(
        stderr(&both).contains("either smtp_host or outbox"),
        "{}",
        stderr(&both)
    );
}

#[test]
fn addresses_are_proven_and_passwords_reset_by_email() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("mail.db").display());
    let outbox = dir.path().join("outbox");
    let server = start_with(
        dir.path(),
        &db,
        TODAY.1,
        &[("FAIRSHARE_MAIL__OUTBOX", outbox.to_str().unwrap())],
    );
    let address = server.address.as_str();
    let signup = request(
        address,
        "POST",
        "/signup",
        "",
        "email=new%40x.org&password=short",
    );
    assert_eq!(status(&signup), 400, "passwords need 12 characters");
    let signup = request(
        address,
        "POST",
        "/signup",
        "",
        "email=new%40x.org&password=a+long+enough+password",
    );
    assert_eq!(status(&signup), 200, "{signup}");
    assert!(signup.contains("Check your email"));
    assert!(
        !signup.contains("fairshare_session="),
        "signing up opens no session"
    );
    // The same answer when the address has an account; its owner is told instead.
    let again = request(
        address,
        "POST",
        "/signup",
        "",
        "email=new%40x.org&password=someone+else+entirely",
    );
    assert_eq!(status(&again), 200);
    let body = |r: &str| r.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    assert_eq!(body(&again), body(&signup), "no way to tell the two apart");
    assert!(
        std::fs::read_dir(&outbox)
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .any(|m| m.contains("Someone tried to create a Fairshare account")),
        "the owner hears of it"
    );
    let (cookie, _) = sign_in(address, "new@x.org");
    let account = request(
        address,
        "GET",
        "/account",
        &format!("Cookie: {cookie}\r\n"),
        "",
    );
    assert!(account.contains("not confirmed yet"));
    let verify = outbox_links(&outbox, "/verify?token=");
    assert_eq!(verify.len(), 1, "one confirmation mail");
    assert_eq!(status(&request(address, "GET", &verify[0], "", "")), 200);
    assert_eq!(
        status(&request(address, "GET", &verify[0], "", "")),
        400,
        "single use"
    );
    let account = request(
        address,
        "GET",
        "/account",
        &format!("Cookie: {cookie}\r\n"),
        "",
    );
    assert!(!account.contains("not confirmed yet"));

    // A reset link only for addresses with an account, with the same answer for both.
    let known = request(address, "POST", "/forgot", "", "email=new%40x.org");
    let unknown = request(address, "POST", "/forgot", "", "email=nobody%40x.org");
    assert_eq!(status(&known), 200);
    let message = |r: &str| {
        r.split("role=\"status\">")
            .nth(1)
            .map(|m| m[..40].to_string())
    };
    assert_eq!(message(&known), message(&unknown));
    let reset = outbox_links(&outbox, "/reset?token=");
    assert_eq!(reset.len(), 1, "no mail for an unknown address");
    let token = reset[0].trim_start_matches("/reset?token=");
    assert_eq!(status(&request(address, "GET", &reset[0], "", "")), 200);
    let short = request(
        address,
        "POST",
        "/reset",
        "",
        &format!("token={token}&password=short"),
    );
    assert_eq!(status(&short), 400);
    let done = request(
        address,
        "POST",
        "/reset",
        "",
        &format!("token={token}&password=another+long+password"),
    );
    assert_eq!(status(&done), 200, "{done}");
    assert_eq!(
        status(&request(
            address,
            "GET",
            "/account",
            &format!("Cookie: {cookie}\r\n"),
            ""
        )),
        303,
        "sessions end with a reset"
    );
    let again = request(
        address,
        "POST",
        "/reset",
        "",
        &format!("token={token}&password=yet+another+password"),
    );
    assert_eq!(status(&again), 400, "single use");
    let old = request(
        address,
        "POST",
        "/login",
        "",
        "email=new%40x.org&password=a+long+enough+password",
    );
    assert_eq!(status(&old), 401);
    let new = request(
        address,
        "POST",
        "/login",
        "",
        "email=new%40x.org&password=another+long+password",
    );
    assert_eq!(status(&new), 303);
}

#[test]
fn a_contributor_answers_for_themselves_once_their_address_is_proven() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let run = |args: &[&str]| run_on(dir.path(), &db, args);
    let (application, org) = run(&["applications", "list", "--format", "csv"])
        .lines()
        .find(|l| l.contains(",pending,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].to_string())
        })
        .unwrap();
    let outbox = dir.path().join("outbox");
    let server = start_with(
        dir.path(),
        &db,
        TODAY.1,
        &[("FAIRSHARE_MAIL__OUTBOX", outbox.to_str().unwrap())],
    );
    let address = server.address.as_str();
    let email = format!("lead@{org}.example");
    let signup = request(
        address,
        "POST",
        "/signup",
        "",
        &format!(
            "email={}&password=a+long+enough+password",
            email.replace('@', "%40")
        ),
    );
    assert_eq!(status(&signup), 200, "{signup}");
    let (cookie, csrf) = sign_in(address, &email);
    let with = format!("Cookie: {cookie}\r\n");
    let me = request(address, "GET", "/me", &with, "");
    assert!(me.contains("Confirm your email address first"));
    let early = request(
        address,
        "POST",
        &format!("/me/staff/{application}"),
        &with,
        &format!("csrf={csrf}&decision=confirm"),
    );
    assert_eq!(status(&early), 403, "not before the address is proven");
    let link = outbox_links(&outbox, "/verify?token=");
    assert_eq!(status(&request(address, "GET", &link[0], "", "")), 200);

    let me = request(address, "GET", "/me", &with, "");
    assert!(me.contains(&format!("application #{application}")), "{me}");
    let answer = |decision: &str| {
        request(
            address,
            "POST",
            &format!("/me/staff/{application}"),
            &with,
            &format!("csrf={csrf}&decision={decision}"),
        )
    };
    assert_eq!(status(&answer("confirm")), 303);
    assert_eq!(
        status(&answer("confirm")),
        404,
        "nothing awaits a second answer"
    );
    let shown = run(&["applications", "show", &application]);
    assert!(shown.contains("confirmed"), "{shown}");
    let me = request(address, "GET", "/me", &with, "");
    assert!(me.contains("You are not named anywhere public."), "{me}");
    let listing = request(
        address,
        "POST",
        "/me/listing",
        &with,
        &format!("csrf={csrf}&listed=yes"),
    );
    assert_eq!(status(&listing), 303);
    let member: serde_json::Value =
        serde_json::from_str(&run(&["members", "show", &email, "--format", "json"])).unwrap();
    assert_eq!(member["listed"], true, "{member}");
    assert!(
        member["affiliations"].to_string().contains(&org),
        "confirming started an affiliation: {member}"
    );
}

/// Sign-in with GitHub against a local mock of GitHub's OAuth and API endpoints.
#[tokio::test]
async fn github_sign_in_links_or_creates_the_account() {
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .and(body_partial_json(serde_json::json!({ "client_id": "app-id", "code": "good-code" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a", "token_type": "bearer", "scope": "read:user,user:email"
        })))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path("/login/oauth/access_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."
        })))
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .and(header("authorization", "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjE=", "type": "User", "name": "The Octocat"
        })))
        .mount(&github)
        .await;
    Mock::given(method("GET"))
        .and(path("/user/emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            { "email": "octo@old.example", "primary": false, "verified": true, "visibility": null },
            { "email": "Octo@Example.org", "primary": true, "verified": true, "visibility": "public" }
        ])))
        .mount(&github)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("gh.db").display());
    add_user(dir.path(), &db, "octo@example.org", "reviewer");
    let base = github.uri();
    let server = start_with(
        dir.path(),
        &db,
        TODAY.1,
        &[
            ("FAIRSHARE_GITHUB_LOGIN__CLIENT_ID", "app-id"),
            ("FAIRSHARE_GITHUB_LOGIN__CLIENT_SECRET", "app-secret"),
            (
                "FAIRSHARE_GITHUB_LOGIN__AUTHORIZE_URL",
                &format!("{base}/login/oauth/authorize"),
            ),
            (
                "FAIRSHARE_GITHUB_LOGIN__TOKEN_URL",
                &format!("{base}/login/oauth/access_token"),
            ),
            ("FAIRSHARE_GITHUB_LOGIN__API_URL", &base),
        ],
    );
    let address = server.address.clone();
    let sign_in = move |code: &'static str, tamper: bool| {
        let address = address.clone();
        std::thread::spawn(move || {
            let start = request(&address, "GET", "/login/github", "", "");
            assert_eq!(status(&start), 303, "{start}");
            let location = start
                .lines()
                .find_map(|l| l.strip_prefix("location: "))
                .unwrap()
                .to_string();
            assert!(
                location.contains("client_id=app-id") && location.contains("scope=read%3Auser")
            );
            let state = location.split("state=").nth(1).unwrap().trim().to_string();
            let cookie = set_cookie(&start, "fairshare_oauth_state");
            let given = if tamper {
                "x".repeat(state.len())
            } else {
                state
            };
            request(
                &address,
                "GET",
                &format!("/login/github/callback?code={code}&state={given}"),
                &format!("Cookie: {cookie}\r\n"),
                "",
            )
        })
        .join()
        .unwrap()
    };
    assert_eq!(
        status(&sign_in("good-code", true)),
        403,
        "a forged state is refused"
    );
    assert_eq!(
        status(&sign_in("bad-code", false)),
        400,
        "GitHub's refusal is shown"
    );
    let signed = sign_in("good-code", false);
    assert_eq!(status(&signed), 303, "{signed}");
    let session = set_cookie(&signed, "fairshare_session");
    let address = server.address.clone();
    let account = std::thread::spawn(move || {
        request(
            &address,
            "GET",
            "/account",
            &format!("Cookie: {session}\r\n"),
            "",
        )
    })
    .join()
    .unwrap();
    assert!(
        account.contains("octo@example.org") && account.contains("reviewer"),
        "linked to the existing account: {account}"
    );
    assert!(
        !account.contains("not confirmed yet"),
        "GitHub proved the address"
    );
    assert_eq!(
        status(&sign_in("good-code", false)),
        303,
        "again: the same account"
    );
    let out = fairshare(
        dir.path(),
        Some(&db),
        &["users", "list", "--format", "csv"],
        &[TODAY],
    );
    assert_eq!(
        stdout(&out).lines().count(),
        2,
        "one user: {}",
        stdout(&out)
    );
}

#[tokio::test]
async fn an_address_vouched_for_by_an_administrator_is_confirmed_and_audited() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), t.url.as_str());
        add_user(dir, db, "later@example.org", "reviewer");
        let added = add_user_with(dir, db, "known@example.org", "admin", &["--confirmed"]);
        assert!(added.contains("address confirmed"), "{added}");
        let confirmed = |email: &str| {
            let list: serde_json::Value = serde_json::from_str(&stdout(&fairshare(
                dir,
                Some(db),
                "users list --format json",
                &[],
            )))
            .unwrap();
            list.as_array()
                .unwrap()
                .iter()
                .find(|u| u["email"] == email)
                .unwrap()["verified"]
                .as_bool()
                .unwrap()
        };
        assert!(confirmed("known@example.org"), "{}", t.backend);
        assert!(!confirmed("later@example.org"));
        let confirm = fairshare(
            dir,
            Some(db),
            "users confirm --email Later@Example.org",
            &[],
        );
        assert!(confirm.status.success(), "{}", stderr(&confirm));
        assert!(confirmed("later@example.org"));
        let unknown = fairshare(
            dir,
            Some(db),
            "users confirm --email nobody@example.org",
            &[],
        );
        assert!(!unknown.status.success());
        assert!(stderr(&unknown).contains("nobody@example.org"));
        let audit = stdout(&fairshare(dir, Some(db), "audit --format csv", &[]));
        assert_eq!(audit.matches("users.confirm_email").count(), 2, "{audit}");
    }
}
