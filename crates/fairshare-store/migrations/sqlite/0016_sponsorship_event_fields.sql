-- What a GitHub Sponsors delivery says about the charges it implies, read from its
-- payload by the importer when it arrives: whether the tier is one-time, and the day
-- the sponsorship started. Deliveries stored before are read here, once.
ALTER TABLE sponsorship_events ADD COLUMN one_time TEXT;
ALTER TABLE sponsorship_events ADD COLUMN started_on TEXT;
UPDATE sponsorship_events
SET one_time = CASE json_extract(payload, '$.sponsorship.tier.is_one_time')
                 WHEN 1 THEN 'true' WHEN 0 THEN 'false' END,
    started_on = date(json_extract(payload, '$.sponsorship.created_at'))
WHERE platform = 'github_sponsors' AND json_valid(payload);
