-- The reference for the scoring benchmark: one month's scores (default weights and
-- caps, no impact factors) as a plain SQL query in the sqlite3 shell.
--   sqlite3 /tmp/p.db < bench/month-scores.sql
WITH rules (kind, weight, cap) AS (VALUES
    ('commit', 1, 30), ('pr_opened', 2, 20), ('pr_merged', 3, 20), ('review', 2, 30),
    ('issue_opened', 1, 15), ('issue_closed', 1, 15), ('comment', 0.5, 30),
    ('docs_change', 2, 20), ('translation', 2, 20), ('forum_post', 1, 30),
    ('forum_solution', 3, 15), ('chat_help', 1, 30), ('chat_message', 0, 0),
    ('event_organised', 10, 2), ('talk_given', 8, 3), ('meetup_hosted', 8, 2),
    ('team_leadership', 10, 1), ('release_management', 10, 2), ('design', 5, 5),
    ('marketing', 5, 5), ('other_task', 3, 5)),
counts AS (
    SELECT a.org_id, a.member_id, a.kind, COUNT(*) AS n
    FROM activities a JOIN members m ON m.id = a.member_id
    WHERE a.occurred_at >= '2026-10-01T00:00:00Z' AND a.occurred_at < '2026-11-01T00:00:00Z'
      AND a.org_id IS NOT NULL AND NOT m.is_bot
      AND NOT EXISTS (SELECT 1 FROM corrections c WHERE c.activity_id = a.id AND c.removed_at IS NULL)
    GROUP BY a.org_id, a.member_id, a.kind)
SELECT o.slug, SUM(r.weight * MIN(c.n, r.cap)) AS score, COUNT(DISTINCT c.member_id) AS members,
       SUM(c.n) AS activities
FROM counts c JOIN rules r ON r.kind = c.kind JOIN organisations o ON o.id = c.org_id
GROUP BY o.slug ORDER BY score DESC, members DESC, o.slug
LIMIT 3;
