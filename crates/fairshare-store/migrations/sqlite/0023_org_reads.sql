-- An organisation's own reads (the portal, its breakdown, a single evaluation) answered
-- from indexes alone: its months' counts, and its latest status changes.
-- SQLite keeps a WITHOUT ROWID table's key columns in every index, so adding the two
-- counts makes the index cover the query.
DROP INDEX rollup_months_org;
CREATE INDEX rollup_months_org ON rollup_months (org_id, month, n, corrected);
CREATE INDEX status_changes_org ON status_changes (org_id, id);
