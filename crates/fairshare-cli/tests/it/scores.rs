use crate::{fairshare, ok, stderr, stdout};

#[tokio::test]
async fn scores_by_kind_with_caps_impact_and_no_bots() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        fairshare_testkit::make_git_fixture(&dir.join("repo"));
        std::fs::write(dir.join("orgs.csv"), "slug,name,country,website,domains\nacme,Acme,GBR,,acme.com\nglobex,Globex,USA,,globex.io\ninitech,Initech,IND,,\n").unwrap();
        ok(dir, db, "import orgs orgs.csv");
        ok(dir, db, "import git repo --repo-name acme/app");
        std::fs::write(
            dir.join("events.csv"),
            "date,kind,member,name,org,team,url,title\n\
             2026-02-14,talk,carol@globex.io,Carol,,marketing,,Talk one\n\
             2026-02-15,talk,carol@globex.io,Carol,,marketing,,Talk two\n\
             2026-02-16,talk,carol@globex.io,Carol,,marketing,,Talk three\n",
        )
        .unwrap();
        ok(dir, db, "import activities events.csv");
        // Caps and impact from the configuration: two talks per member count, and work
        // in acme/app counts double.
        std::fs::write(
            dir.join("fairshare.toml"),
            "[scoring.caps]\ntalk_given = 2\n[scoring.impact]\n\"acme/app\" = \"2\"\n",
        )
        .unwrap();
        let csv = ok(dir, db, "scores --month 2026-02 --format csv");
        let header = csv.lines().next().unwrap();
        // Only the kinds that earned points have a column, unless all are asked for.
        assert_eq!(
            header, "org,score,members,activities,kind:commit,kind:talk_given",
            "{csv}"
        );
        let every = ok(dir, db, "scores --month 2026-02 --all-kinds --format csv");
        assert!(
            every
                .lines()
                .next()
                .unwrap()
                .starts_with("org,score,members,activities,kind:commit,kind:pr_opened,"),
            "{every}"
        );
        let column = |name: &str| header.split(',').position(|c| c == name).unwrap();
        let row = |org: &str| {
            csv.lines()
                .find(|l| l.starts_with(&format!("{org},")))
                .unwrap()
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let globex = row("globex");
        // 1 commit × 1 × 2 (impact) + 2 talks × 8 (the third capped)
        assert_eq!(globex[1], "18", "{}: {csv}", t.backend);
        assert_eq!(globex[column("kind:talk_given")], "16");
        assert_eq!(row("acme")[1], "6", "3 commits × 2: {csv}");
        assert_eq!(
            csv.lines().nth(1).unwrap().split(',').next(),
            Some("globex"),
            "highest first"
        );
        assert!(
            !ok(dir, db, "scores --month 2026-03 --format csv").contains("dependabot"),
            "bots never score"
        );

        let typo = fairshare(dir, db, "explain --org globx --month 2026-02", &[]);
        assert!(!typo.status.success());
        assert!(
            stderr(&typo).contains("no organisation `globx`; did you mean `globex`?"),
            "{}",
            stderr(&typo)
        );

        let text = ok(dir, db, "explain --org globex --month 2026-02");
        assert!(
            text.starts_with("globex in 2026-02: 18 points from 4 activities by 1 members"),
            "{text}"
        );
        assert!(text.contains("0 (cap of 2 talk_given reached)"), "{text}");
        assert!(text.contains("2 (× 2 impact)"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&ok(
            dir,
            db,
            "explain --org globex --month 2026-02 --format json",
        ))
        .unwrap();
        assert_eq!(json["score"], "18");
        assert_eq!(json["items"].as_array().unwrap().len(), 4);
        let bad = fairshare(dir, db, "explain --org nobody --month 2026-02", &[]);
        assert!(stderr(&bad).contains("no organisation `nobody`"));
        std::fs::write(
            dir.join("fairshare.toml"),
            "[scoring.weights]\njuggling = \"3\"\n",
        )
        .unwrap();
        let bad = fairshare(dir, db, "scores --month 2026-02", &[]);
        assert!(
            stderr(&bad).contains("setting `scoring.weights.juggling`: unknown activity kind"),
            "{}",
            stderr(&bad)
        );
    }
}

#[tokio::test]
async fn evaluate_needs_both_money_and_work() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        std::fs::write(dir.join("orgs.csv"), "slug,name,country,website,domains\nglobex,Globex,USA,,globex.io\nnowhere,Nowhere,,,nowhere.io\n").unwrap();
        ok(dir, db, "import orgs orgs.csv");
        let mut events = String::from("date,kind,member,name,org,team,url,title\n");
        for month in ["08", "09", "10"] {
            for day in ["03", "10", "17"] {
                events.push_str(&format!(
                    "2026-{month}-{day},talk,carol@globex.io,Carol,,,,Talk {month}-{day}\n"
                ));
                events.push_str(&format!(
                    "2026-{month}-{day},talk,dan@nowhere.io,Dan,,,,Talk {month}-{day}\n"
                ));
            }
        }
        std::fs::write(dir.join("events.csv"), events).unwrap();
        ok(dir, db, "import activities events.csv");
        let mut ids = Vec::new();
        for month in ["08", "09", "10"] {
            let out = ok(
                dir,
                db,
                &[
                    "payments",
                    "add",
                    "--org",
                    "globex",
                    "--amount",
                    "100",
                    "--currency",
                    "USD",
                    "--date",
                    &format!("2026-{month}-02"),
                    "--reference",
                    "invoice",
                ],
            );
            ids.push(
                out.split('#')
                    .nth(1)
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
        let json: serde_json::Value = serde_json::from_str(&ok(
            dir,
            db,
            "evaluate --org globex --as-of 2026-11-22 --format json",
        ))
        .unwrap();
        assert_eq!(json["eligible"], true, "{}: {json}", t.backend);
        assert_eq!(json["financial"]["months"].as_array().unwrap().len(), 3);
        assert_eq!(json["practical"]["months"][0]["score"], "24");

        ok(
            dir,
            db,
            &["payments", "remove", &ids[1], "--reason", "bounced"],
        );
        let text = ok(dir, db, "evaluate --org globex --as-of 2026-11-22");
        assert!(
            text.starts_with("globex on 2026-11-22: not eligible"),
            "{text}"
        );
        assert!(
            text.contains("because 2026-09: paid USD 0.00 of USD 100.00"),
            "{text}"
        );
        assert!(
            text.contains("practical (score ≥ 20 and ≥ 1 active members each month): pass"),
            "{text}"
        );

        let nowhere = ok(dir, db, "evaluate --org nowhere --as-of 2026-11-22");
        assert!(
            nowhere.contains("because organisation `nowhere` has no headquarters country"),
            "{nowhere}"
        );
        let missing = fairshare(dir, db, "evaluate --org ghost", &[]);
        assert!(stderr(&missing).contains("no organisation `ghost`"));
    }
}

#[tokio::test]
async fn apply_review_and_confirm_staff() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let mut events = String::from("date,kind,member,name,org,team,url,title\n");
        for month in ["08", "09", "10"] {
            for day in ["03", "10", "17"] {
                events.push_str(&format!(
                    "2026-{month}-{day},talk,carol@globex.io,Carol,,,,Talk {month}-{day}\n"
                ));
            }
        }
        events.push_str("2026-10-20,talk,erin@gmail.com,Erin,,,,Erin's talk\n");
        std::fs::write(dir.join("events.csv"), events).unwrap();
        std::fs::write(
            dir.join("orgs.csv"),
            "slug,name,country,website,domains\nglobex,Globex,USA,,globex.io\n",
        )
        .unwrap();
        ok(dir, db, "import orgs orgs.csv");
        ok(dir, db, "import activities events.csv");
        for month in ["08", "09", "10"] {
            ok(
                dir,
                db,
                &[
                    "payments",
                    "add",
                    "--org",
                    "globex",
                    "--amount",
                    "100",
                    "--currency",
                    "USD",
                    "--date",
                    &format!("2026-{month}-02"),
                    "--reference",
                    "invoice",
                ],
            );
        }
        let form = "org = \"globex\"\nname = \"Globex Corporation\"\ncountry = \"USA\"\nwebsite = \"https://globex.example\"\ncontact = \"carol@globex.io\"\ndescription = \"We build things with it.\"\n\n[sponsorship]\nplatform = \"github_sponsors\"\naccount = \"globex\"\n\n[[staff]]\nname = \"Erin\"\nhandle = \"erin@gmail.com\"\n";
        std::fs::write(dir.join("application.toml"), form).unwrap();
        let out = ok(
            dir,
            db,
            "--as carol apply --org globex --file application.toml",
        );
        assert!(
            out.contains("application #1 for globex submitted; evaluation attached:"),
            "{out}"
        );
        let twice = fairshare(dir, db, "apply --org globex --file application.toml", &[]);
        assert!(
            stderr(&twice).contains("already has application #1 under review"),
            "{}",
            stderr(&twice)
        );

        let listed = ok(dir, db, "applications list --format json");
        let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
        let eligible = listed[0]["eligible"].as_bool().unwrap();
        assert_eq!(listed[0]["evaluation"]["eligible"], eligible);
        let own = fairshare(
            dir,
            db,
            "--as carol applications decide 1 --approve --comment me",
            &[],
        );
        assert!(!own.status.success());
        if eligible {
            ok(
                dir,
                db,
                "--as rita applications decide 1 --approve --comment welcome",
            );
            let again = fairshare(
                dir,
                db,
                "--as rita applications decide 1 --reject --comment oops",
                &[],
            );
            assert!(
                stderr(&again).contains("was already approved"),
                "{}",
                stderr(&again)
            );
        } else {
            let refused = fairshare(
                dir,
                db,
                "--as rita applications decide 1 --approve --comment welcome",
                &[],
            );
            assert!(
                stderr(&refused).contains("its evaluation says not eligible"),
                "{}",
                stderr(&refused)
            );
            ok(
                dir,
                db,
                "--as rita applications decide 1 --defer --comment 'come back next month'",
            );
        }

        // Erin confirms she works for Globex: an affiliation from the day she confirms
        // (her earlier talk stays hers alone: credit follows the date of the work).
        ok(dir, db, "applications confirm 1 --identity erin@gmail.com");
        let erin: serde_json::Value =
            serde_json::from_str(&ok(dir, db, "members show erin@gmail.com --format json"))
                .unwrap();
        assert_eq!(
            erin["affiliations"][0]["org"], "globex",
            "{}: {erin}",
            t.backend
        );
        assert_eq!(erin["affiliations"][0]["source"], "application");
        assert_eq!(
            ok(
                dir,
                db,
                "activities --org globex --from 2026-10-01 --format csv"
            ),
            "activities,members\n3,1\n"
        );
        let again = fairshare(
            dir,
            db,
            "applications confirm 1 --identity erin@gmail.com",
            &[],
        );
        assert!(stderr(&again).contains("is not awaiting confirmation"));
        let audit = ok(dir, db, "audit --subject org:globex --format csv");
        assert!(
            audit.contains("applications.submit") && audit.contains("applications.staff_confirmed"),
            "{audit}"
        );
        let bad = "org = \"globex\"\nname = \"G\"\ncountry = \"XYZ\"\ncontact = \"c\"\ndescription = \"d\"\n";
        std::fs::write(dir.join("bad.toml"), bad).unwrap();
        let out = fairshare(dir, db, "apply --org globex --file bad.toml", &[]);
        assert!(
            stderr(&out).contains("bad.toml")
                && stderr(&out).contains("`XYZ` is not an ISO 3166-1 alpha-3 country code"),
            "{}",
            stderr(&out)
        );
    }
}

#[tokio::test]
async fn monthly_review_moves_statuses_and_freezes_rankings() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let on = |today: &'static str| vec![("FAIRSHARE_TODAY", today)];
        let run = |args: &[&str], today: &'static str| {
            let out = fairshare(dir, db, args, &on(today));
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            crate::stdout(&out)
        };
        std::fs::write(dir.join("orgs.csv"), "slug,name,country,website,domains\nglobex,Globex,USA,,globex.io\ninitech,Initech,IND,,initech.in\n").unwrap();
        run(&["import", "orgs", "orgs.csv"], "2026-11-22");
        let mut events = String::from("date,kind,member,name,org,team,url,title\n");
        for month in ["08", "09", "10"] {
            for day in ["03", "10", "17"] {
                events.push_str(&format!(
                    "2026-{month}-{day},talk,carol@globex.io,Carol,,,,G {month}-{day}\n"
                ));
                events.push_str(&format!(
                    "2026-{month}-{day},talk,dan@initech.in,Dan,,,,I {month}-{day}\n"
                ));
            }
        }
        events.push_str("2026-10-21,forum_solution,dan@initech.in,Dan,,,,Answer\n");
        std::fs::write(dir.join("events.csv"), events).unwrap();
        run(&["import", "activities", "events.csv"], "2026-11-22");
        for month in ["08", "09", "10"] {
            let date = format!("2026-{month}-02");
            run(
                &[
                    "payments",
                    "add",
                    "--org",
                    "globex",
                    "--amount",
                    "100",
                    "--currency",
                    "USD",
                    "--date",
                    &date,
                    "--reference",
                    "i",
                ],
                "2026-11-22",
            );
            run(
                &[
                    "payments",
                    "add",
                    "--org",
                    "initech",
                    "--amount",
                    "4000",
                    "--currency",
                    "INR",
                    "--date",
                    &date,
                    "--reference",
                    "i",
                ],
                "2026-11-22",
            );
        }
        for (org, country, staff) in [
            ("globex", "USA", "carol@globex.io"),
            ("initech", "IND", "dan@initech.in"),
        ] {
            let form = format!(
                "org = \"{org}\"\nname = \"{org}\"\ncountry = \"{country}\"\ncontact = \"{staff}\"\ndescription = \"d\"\n"
            );
            std::fs::write(dir.join(format!("{org}.toml")), form).unwrap();
            let out = run(
                &[
                    "--as",
                    org,
                    "apply",
                    "--org",
                    org,
                    "--file",
                    &format!("{org}.toml"),
                ],
                "2026-11-22",
            );
            assert!(
                out.contains("evaluation attached: eligible"),
                "{}: {out}",
                t.backend
            );
        }
        run(
            &[
                "--as",
                "rita",
                "applications",
                "decide",
                "1",
                "--approve",
                "--comment",
                "welcome",
            ],
            "2026-11-22",
        );
        run(
            &[
                "--as",
                "rita",
                "applications",
                "decide",
                "2",
                "--approve",
                "--comment",
                "welcome",
            ],
            "2026-11-22",
        );

        // Two instances review the month at once: one publishes, the other waits and
        // finds it reviewed; every notice is written once.
        let (first, second) = std::thread::scope(|s| {
            let a = s.spawn(|| run(&["review-month", "--month", "2026-10"], "2026-11-22"));
            let b = s.spawn(|| run(&["review-month", "--month", "2026-10"], "2026-11-22"));
            (a.join().unwrap(), b.join().unwrap())
        });
        let outs = [first, second];
        assert_eq!(
            outs.iter()
                .filter(|o| o.contains("ranking of 2026-10 published: 2 partners"))
                .count(),
            1,
            "{}: {outs:?}",
            t.backend
        );
        assert_eq!(
            outs.iter()
                .filter(|o| o.contains("was reviewed already"))
                .count(),
            1,
            "{}: {outs:?}",
            t.backend
        );
        let published = t
            .store
            .audit_log(None, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "ranking.publish")
            .count();
        assert_eq!(published, 1, "{}: published once", t.backend);
        let ranking = run(
            &["ranking", "--month", "2026-10", "--format", "csv"],
            "2026-11-22",
        );
        assert_eq!(
            ranking,
            "rank,org,score,members,previous_rank\n1,initech,27,1,\n2,globex,24,1,\n"
        );
        assert!(
            run(&["review-month", "--month", "2026-10"], "2026-11-22")
                .contains("was reviewed already")
        );
        // Later data never changes a published ranking.
        std::fs::write(dir.join("late.csv"), "date,kind,member,name,org,team,url,title\n2026-10-30,event_organised,carol@globex.io,Carol,,,,Meetup\n").unwrap();
        run(&["import", "activities", "late.csv"], "2026-11-22");
        assert_eq!(
            run(
                &["ranking", "--month", "2026-10", "--format", "csv"],
                "2026-11-22"
            ),
            ranking
        );
        let bare = fairshare(
            dir,
            db,
            "review-month --month 2026-10 --republish",
            &on("2026-11-22"),
        );
        assert!(!bare.status.success(), "republishing needs a reason");
        run(
            &[
                "review-month",
                "--month",
                "2026-10",
                "--republish",
                "--reason",
                "late meetup report",
            ],
            "2026-11-22",
        );
        assert!(
            run(
                &["ranking", "--month", "2026-10", "--format", "csv"],
                "2026-11-22"
            )
            .contains("1,globex,34,1,")
        );

        // No payments in November: both at risk; still none in December: lapsed.
        let november = run(&["review-month", "--month", "2026-11"], "2026-12-05");
        assert!(november.contains("globex: partner → at_risk"), "{november}");
        assert!(
            november.contains("initech: partner → at_risk"),
            "{november}"
        );
        let ranking = run(
            &["ranking", "--month", "2026-11", "--format", "csv"],
            "2026-12-05",
        );
        // At-risk partners are still ranked; ties on score and members go to the
        // earlier month's score.
        assert_eq!(
            ranking,
            "rank,org,score,members,previous_rank\n1,globex,0,0,1\n2,initech,0,0,2\n"
        );
        let december = run(&["review-month", "--month", "2026-12"], "2027-01-05");
        assert!(december.contains("globex: at_risk → lapsed"), "{december}");
        assert_eq!(
            run(
                &["ranking", "--month", "2026-12", "--format", "csv"],
                "2027-01-05"
            ),
            "rank,org,score,members,previous_rank\n"
        );
        let early = fairshare(dir, db, "review-month --month 2027-01", &on("2027-01-05"));
        assert!(stderr(&early).contains("is not complete yet"));
        let audit = run(
            &["audit", "--subject", "ranking:", "--format", "csv"],
            "2027-01-05",
        );
        assert!(
            audit.contains("ranking.republish") && audit.contains("late meetup report"),
            "{audit}"
        );
    }
}

#[test]
fn rules_are_shown_recorded_from_a_file_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("rules.db").display());
    let shown = crate::ok(dir.path(), Some(&db), &["rules", "show", "--format", "csv"]);
    assert!(
        shown.contains("scoring.weights.review,2,configuration"),
        "{shown}"
    );
    let json = crate::ok(
        dir.path(),
        Some(&db),
        &["rules", "show", "--format", "json"],
    );
    let mut rules: serde_json::Value = serde_json::from_str(&json).unwrap();
    rules["eligibility"]["min_monthly_score"] = "30".into();
    std::fs::write(dir.path().join("rules.json"), rules.to_string()).unwrap();
    let recorded = crate::ok(
        dir.path(),
        Some(&db),
        &[
            "rules",
            "record",
            "--file",
            "rules.json",
            "--reason",
            "a higher bar",
        ],
    );
    assert!(
        recorded.contains("eligibility.min_monthly_score: 20 → 30"),
        "{recorded}"
    );
    let again = crate::ok(
        dir.path(),
        Some(&db),
        &[
            "rules",
            "record",
            "--file",
            "rules.json",
            "--reason",
            "again",
        ],
    );
    assert!(again.contains("nothing recorded"), "{again}");
    let shown = crate::ok(dir.path(), Some(&db), &["rules", "show", "--format", "csv"]);
    assert!(
        shown.contains("eligibility.min_monthly_score,30,recorded #1"),
        "{shown}"
    );
    let history = crate::ok(
        dir.path(),
        Some(&db),
        &["rules", "history", "--format", "csv"],
    );
    assert!(history.contains("a higher bar") && history.contains("20 → 30"));
    // A setting out of range is refused, naming it; nothing is recorded.
    rules["eligibility"]["months"] = 0.into();
    std::fs::write(dir.path().join("bad.json"), rules.to_string()).unwrap();
    let refused = crate::fairshare(
        dir.path(),
        Some(&db),
        &["rules", "record", "--file", "bad.json", "--reason", "x"],
        &[],
    );
    assert!(!refused.status.success());
    assert!(
        crate::stderr(&refused).contains("eligibility.months"),
        "{}",
        crate::stderr(&refused)
    );
    let history = crate::ok(
        dir.path(),
        Some(&db),
        &["rules", "history", "--format", "csv"],
    );
    assert_eq!(history.lines().count(), 2, "one version: {history}");
}

#[tokio::test]
async fn a_deferred_application_is_approved_once_today_it_meets_both_criteria() {
    for t in fairshare_testkit::stores().await {
        let dir = tempfile::tempdir().unwrap();
        let (dir, db) = (dir.path(), Some(t.url.as_str()));
        let on = |args: &str| fairshare(dir, db, args, &[("FAIRSHARE_TODAY", "2026-11-22")]);
        let run = |args: &str| {
            let out = on(args);
            assert!(out.status.success(), "{args}: {}", stderr(&out));
        };
        // Work in each of August to October; sponsorship in August and September only.
        let mut events = String::from("date,kind,member,name,org,team,url,title\n");
        for month in ["08", "09", "10"] {
            for day in ["03", "10", "17"] {
                events.push_str(&format!(
                    "2026-{month}-{day},talk,carol@globex.io,Carol,,,,Talk {month}-{day}\n"
                ));
            }
        }
        std::fs::write(dir.join("events.csv"), events).unwrap();
        std::fs::write(
            dir.join("orgs.csv"),
            "slug,name,country,website,domains\nglobex,Globex,USA,,globex.io\n",
        )
        .unwrap();
        run("import orgs orgs.csv");
        run("import activities events.csv");
        let pay = |day: &str| {
            run(&format!(
                "payments add --org globex --amount 1000 --currency USD --date {day} --reference invoice"
            ))
        };
        pay("2026-08-02");
        pay("2026-09-02");
        let form = "org = \"globex\"\nname = \"Globex\"\ncountry = \"USA\"\ncontact = \"carol@globex.io\"\ndescription = \"We build things with it.\"\n";
        std::fs::write(dir.join("application.toml"), form).unwrap();
        run("--as carol apply --org globex --file application.toml");
        run("--as rita applications decide 1 --defer --comment 'pay October first'");
        let early = on("--as rita applications decide 1 --approve --comment welcome");
        assert!(
            stderr(&early).contains("its evaluation says not eligible"),
            "{}: {}",
            t.backend,
            stderr(&early)
        );
        // October is paid late: judged on today's facts, the application passes.
        pay("2026-10-20");
        run("--as rita applications decide 1 --approve --comment welcome");
        let audit = stdout(&on("audit --subject org:globex --format csv"));
        assert!(
            audit.contains("applications.reevaluate") && audit.contains("applications.approved"),
            "{}: {audit}",
            t.backend
        );
    }
}
