use crate::{fairshare, stderr, stdout};

#[tokio::test]
async fn the_demo_is_a_living_programme_and_deterministic() {
    let mut outputs = Vec::new();
    for _ in 0..2 {
        let t = fairshare_testkit::sqlite().await;
        let dir = tempfile::tempdir().unwrap();
        let today = [("FAIRSHARE_TODAY", "2026-11-22")];
        let run = |args: &[&str]| {
            let out = fairshare(dir.path(), Some(&t.url), args, &today);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            stdout(&out)
        };
        let summary = run(&[
            "demo",
            "--orgs",
            "12",
            "--members",
            "120",
            "--months",
            "14",
            "--seed",
            "7",
        ]);
        assert!(
            summary.contains("12 organisations, 120 members"),
            "{summary}"
        );
        let ranking = run(&["ranking", "--month", "2026-10", "--format", "csv"]);
        assert!(
            ranking.lines().count() > 3,
            "partners are ranked: {ranking}"
        );
        let statuses = run(&["applications", "list", "--format", "csv"]);
        for status in ["approved", "pending"] {
            assert!(
                statuses.contains(&format!(",{status},")),
                "{status}: {statuses}"
            );
        }
        // A month's scores come from counts aggregated in SQL; explain scores the same
        // organisation activity by activity: every total must agree.
        let scores = run(&["scores", "--month", "2026-09", "--format", "csv"]);
        for line in scores.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let explained: serde_json::Value = serde_json::from_str(&run(&[
                "explain", "--org", fields[0], "--month", "2026-09", "--format", "json",
            ]))
            .unwrap();
            assert_eq!(explained["score"], fields[1], "{line}");
            assert_eq!(explained["members"].to_string(), fields[2], "{line}");
            assert_eq!(explained["activities"].to_string(), fields[3], "{line}");
        }
        outputs.push((ranking, scores));
    }
    assert_eq!(
        outputs[0], outputs[1],
        "the same seed gives the same programme"
    );
}
