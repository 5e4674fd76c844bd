-- What a GitHub Sponsors delivery says about the charges it implies, read from its
-- payload by the importer when it arrives: whether the tier is one-time, and the day
-- the sponsorship started. Deliveries stored before are read here, once (every stored
-- payload was parsed as JSON before it was stored).
ALTER TABLE sponsorship_events ADD COLUMN one_time TEXT;
ALTER TABLE sponsorship_events ADD COLUMN started_on DATE;
UPDATE sponsorship_events
SET one_time = payload::jsonb #>> '{sponsorship,tier,is_one_time}',
    started_on = ((payload::jsonb #>> '{sponsorship,created_at}')::timestamptz AT TIME ZONE 'UTC')::date
WHERE platform = 'github_sponsors';
